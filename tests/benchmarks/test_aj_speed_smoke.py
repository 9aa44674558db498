"""Smoke test of the Aalen–Johansen speed benchmark (benchmarks/aj_speed.py).

Checks that the harness produces rows and that every contender computes the
same estimate; never asserts a time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _aj_data  # noqa: E402
from _aj_contenders import CONTENDERS, by_name  # noqa: E402
from _aj_report import goals, render  # noqa: E402
from aj_speed import HORIZONS, Row, run_benchmark  # noqa: E402

ESTIMATORS = [c for c in CONTENDERS if c.extract is not None]


@pytest.mark.parametrize("kind", _aj_data.KINDS)
def test_contenders_agree_at_horizons(kind):
    """All contenders give the same CIF of both causes in both groups at 1, 5, 10 years.

    lifelines jitters tied times, so it is compared on continuous data only.
    """
    d = _aj_data.generate(1000, kind)
    h = np.asarray(HORIZONS)
    ref = by_name("leiosurv")
    expected = ref.extract(ref.run(d["time"], d["event"], d["group"]), h)
    assert expected.shape == (2, 2, 3)
    assert (expected > 0).all() and (expected < 1).all()
    compared = 0
    for c in ESTIMATORS:
        if c.name == "leiosurv" or (kind == "days" and not c.exact_on_ties):
            continue
        got = c.extract(c.run(d["time"], d["event"], d["group"]), h)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=c.name)
        compared += 1
    assert compared >= (5 if kind == "continuous" else 3)


def test_numpy_floor_is_sorted_cumsums():
    d = _aj_data.generate(1000, "continuous")
    c1, c2, g1 = by_name("numpy floor").run(d["time"], d["event"], d["group"])
    assert c1[-1] == (d["event"] == 1).sum() and c2[-1] == (d["event"] == 2).sum()
    assert g1[-1] == (d["group"] == 1).sum()
    first = np.argmin(d["time"])
    assert c1[0] == (d["event"][first] == 1)


def test_data_shape_and_proportions():
    d = _aj_data.generate(100_000, "days")
    assert _aj_data.input_bytes(d) == 10 * 100_000
    share = np.bincount(d["event"], minlength=3) / d["event"].size
    assert share[1] == pytest.approx(0.10, abs=0.015)
    assert share[2] == pytest.approx(0.20, abs=0.02)
    assert np.array_equal(d["time"], np.ceil(d["time"]))
    assert np.unique(d["time"]).size <= _aj_data.FOLLOW_UP_DAYS
    cont = _aj_data.generate(100_000, "continuous")
    assert np.array_equal(np.ceil(cont["time"]), d["time"])
    assert np.unique(cont["time"]).size == cont["time"].size


def test_parquet_stream_equals_in_memory(tmp_path, monkeypatch):
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(_aj_data, "CHUNK", 1000)
    path = _aj_data.write_parquet(tmp_path / "x.parquet", 2500, "days")
    tab = pq.read_table(path)
    d = _aj_data.generate(2500, "days")
    for k in ("time", "event", "group"):
        np.testing.assert_array_equal(tab.column(k).to_numpy(), d[k])


def test_harness_produces_rows():
    """End to end, one fresh subprocess per contender, n = 1000."""
    rows = run_benchmark([1000], ["days"], ["leiosurv", "numpy floor", "statsmodels"], quick=True, log=lambda s: None)
    assert [r.contender for r in rows] == ["leiosurv", "numpy floor", "statsmodels"]
    for r in rows:
        assert r.status == "ok", r.status
        assert r.median_s > 0 and r.peak_extra is not None and r.input_bytes == 10_000
    assert rows[2].max_abs_diff is not None and rows[2].max_abs_diff < 1e-6
    text = render(rows, {"date": "d", "cpu": "c"}, "cmd", 1.0)
    assert text.startswith("## Aalen–Johansen engine: speed and memory")
    assert "| 10^3 |" in text


def _row(name, n, s, kind="days", extra=0):
    return Row(name, kind, n, "ok", 10 * n, median_s=s, peak_extra=extra)


def test_goal_verdicts_follow_the_numbers():
    ok = [_row("leiosurv", 10**7, 1.0, extra=10**8), _row("numpy floor", 10**7, 0.6),
          _row("statsmodels", 10**7, 2.0), _row("leiosurv", 10**5, 0.01), _row("lifelines", 10**5, 0.6)]
    v = {g: verdict for g, verdict, _ in goals(ok)}
    assert list(v.values()) == ["met", "met", "met", "met"]
    bad = [_row("leiosurv", 10**7, 1.0, extra=4 * 10**8), _row("numpy floor", 10**7, 0.4),
           _row("statsmodels", 10**7, 0.9), _row("leiosurv", 10**5, 0.01), _row("lifelines", 10**5, 0.4)]
    v = {g: verdict for g, verdict, _ in goals(bad)}
    assert list(v.values()) == ["NOT met"] * 4
