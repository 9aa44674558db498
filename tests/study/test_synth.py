"""The synthetic cohort: deterministic, chunk-independent, streamed, labelled, plausible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from leiosurv.clinical import evidence as ev
from leiosurv.exceptions import InputError
from leiosurv.interfaces import cli as cli_mod
from leiosurv.study import (
    SYNTH_CALIBRATION,
    check_synth_size,
    expected_risks,
    read_cohort,
    synth_capacity,
    synthesize_cohort,
)
from leiosurv.study._synth import BLOCK_SIZE, BYTES_PER_ROW_IN_MEMORY, BYTES_PER_ROW_ON_DISK, event_before_death

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "synthetic_cohort_n381_seed1.parquet"


def _rows(x) -> pd.DataFrame:
    df = pq.read_table(x).to_pandas() if isinstance(x, Path) else x.copy()
    for c in ("necrosis", "mitotic_grade", "invasion"):
        df[c] = df[c].astype("Int8")
    df.attrs = {}
    return df.reset_index(drop=True)


def test_deterministic_and_seed_dependent():
    a, b = synthesize_cohort(500, seed=7), synthesize_cohort(500, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not synthesize_cohort(500, seed=8)["age"].equals(a["age"])


def test_prefix_property_across_blocks():
    n = BLOCK_SIZE + 1000
    big = synthesize_cohort(n, seed=2)
    small = synthesize_cohort(BLOCK_SIZE + 10, seed=2)
    pd.testing.assert_frame_equal(_rows(big.iloc[: BLOCK_SIZE + 10]), _rows(small))
    assert big["id"].is_unique and big["id"].tolist() == list(range(1, n + 1))


def test_streamed_file_equals_frame_whatever_the_chunk_size(tmp_path):
    n = BLOCK_SIZE + 777
    frame = synthesize_cohort(n, seed=5)
    calls = []
    p1 = synthesize_cohort(n, seed=5, out=tmp_path / "a.parquet", chunk_size=1000, progress=calls.append)
    p2 = synthesize_cohort(n, seed=5, out=tmp_path / "b.parquet", chunk_size=10**7)
    pd.testing.assert_frame_equal(_rows(p1), _rows(frame))
    pd.testing.assert_frame_equal(_rows(p2), _rows(frame))
    assert calls == [BLOCK_SIZE, n]
    assert pq.ParquetFile(p1).metadata.num_row_groups == 2
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.parquet", "b.parquet"]  # no temp files left


def test_labelled_synthetic_in_rows_and_metadata(tmp_path):
    path = synthesize_cohort(100, seed=3, out=tmp_path / "s.parquet")
    meta = {k.decode(): v.decode() for k, v in pq.read_schema(path).metadata.items()}
    assert meta["leiosurv.synthetic"] == "true"
    assert meta["leiosurv.seed"] == "3" and meta["leiosurv.n"] == "100"
    assert json.loads(meta["leiosurv.calibration"])["prevalence"] == SYNTH_CALIBRATION.prevalence
    cohort = read_cohort(path)
    assert cohort.synthetic and cohort.data["synthetic"].all()


def test_valid_against_the_schema_with_and_without_missing():
    for missing in (0.0, 0.2, {"margins": 0.5}):
        df = synthesize_cohort(3000, seed=11, missing=missing)
        cohort = read_cohort(df)  # raises on any invalid row
        counts = cohort.missing_counts()
        if missing == 0.0:
            assert sum(counts.values()) == 0
        elif isinstance(missing, dict):
            assert counts["necrosis"] == 0 and 1300 < counts["margins"] < 1700
        else:
            assert all(450 < v < 750 for v in counts.values())
    # missingness is drawn from its own stream: the true values do not move
    a, b = synthesize_cohort(1000, seed=4), synthesize_cohort(1000, seed=4, missing=0.3)
    known = b["necrosis"].notna()
    assert (a.loc[known, "necrosis"] == b.loc[known, "necrosis"]).all()
    pd.testing.assert_series_equal(a["met_time"], b["met_time"])


def test_bad_arguments():
    for kw in ({"n": 0}, {"n": 2.5}, {"n": 10, "seed": -1}, {"n": 10, "missing": 1.0},
               {"n": 10, "missing": {"ulcer": 0.1}}, {"n": 10, "chunk_size": 0}):
        with pytest.raises(InputError):
            synthesize_cohort(**kw)


def test_marginals_match_the_published_cohort():
    df = synthesize_cohort(200_000, seed=9)
    assert abs(df["age"].median() - ev.DLMS_COHORT["median_age_years"]) < 0.2
    assert abs((df["sex"] == "male").mean() - ev.DLMS_COHORT["male_fraction"]) < 0.005
    assert df["diagnosis_year"].between(*ev.DLMS_COHORT["period"]).all()
    for key, col, val in (("necrosis", "necrosis", 1), ("mitotic_grade_3", "mitotic_grade", 3),
                          ("invasion", "invasion", 1)):
        assert abs((df[col] == val).mean() - SYNTH_CALIBRATION.prevalence[key]) < 0.004
    assert abs((df["margins"] == "positive").mean() - SYNTH_CALIBRATION.prevalence["positive_margins"]) < 0.004
    # no event after 4 years (seed 001, Conclusion), none after the end of 2022
    for t, s in (("met_time", "met_status"), ("lr_time", "lr_status")):
        assert df.loc[df[s] == 1, t].max() <= np.ceil(4 * 365.25)
    end = (ev.DLMS_COHORT["period"][1] + 1 - df["diagnosis_year"]) * 365.25 + 1
    assert (df["met_time"] <= end).all() and (df["lr_time"] <= end).all()
    # both outcomes share death and censoring: a death seen in one is the end of the other
    both = (df["met_status"] == 2) & (df["lr_status"] == 2)
    assert (df.loc[both, "met_time"] == df.loc[both, "lr_time"]).all()


def test_model_expectations_equal_published_points():
    t = expected_risks()
    assert len(t) == 2 + 3 * len(ev.DLMS_FACTOR_RISKS)
    assert (abs(t["model"] - t["published"]) <= 0.005).all()
    exact = t[t["factor"].isin(["necrosis", "mitotic_grade_3", "positive_margins", "(all)"])
              & (t["quantity"] != "difference")]
    np.testing.assert_allclose(exact["model"], exact["published"], rtol=1e-12)
    rd = {(f, o): v for f, o, q, v in t[t["quantity"] == "difference"][["factor", "outcome", "quantity", "model"]]
          .itertuples(index=False)}
    for outcome, factors in ev.DLMS_HIGH_RISK_FACTORS.items():
        above = {f for f in ev.DLMS_FACTORS
                 if SYNTH_CALIBRATION.outcomes[outcome].risk_differences[f] > ev.DLMS_DERIVATION_THRESHOLDS[outcome]}
        assert above == set(factors)
    assert rd[("mitotic_grade_3", "metastasis")] == pytest.approx(0.051, abs=1e-15)
    assert 0.9 < event_before_death("metastasis") < 1.0


def test_shipped_example_is_a_fresh_cohort():
    fresh = synthesize_cohort(381, seed=1)
    pd.testing.assert_frame_equal(_rows(EXAMPLE), _rows(fresh))
    meta = {k.decode(): v.decode() for k, v in pq.read_schema(EXAMPLE).metadata.items()}
    assert meta["leiosurv.seed"] == "1" and meta["leiosurv.n"] == "381" and meta["leiosurv.synthetic"] == "true"


def test_cli_synth(tmp_path, capsys):
    out = tmp_path / "cohort.parquet"
    assert cli_mod.main(["synth", "--n", "381", "--seed", "1", "--out", str(out)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    pd.testing.assert_frame_equal(_rows(out), _rows(synthesize_cohort(381, seed=1)))
    before = out.read_bytes()
    assert cli_mod.main(["synth", "--n", "50", "--out", str(out)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert cli_mod.main(["synth", "--n", "50", "--out", str(out), "--force", "--progress"]) == 0
    assert pq.read_metadata(out).num_rows == 50
    assert cli_mod.main(["synth", "--n", "50", "--out", str(tmp_path / "x.csv")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.parquet"]


# ---------------------------------------------------------------------------
# bounded by the machine; nothing left behind (issue 14)
# ---------------------------------------------------------------------------
def test_size_bound_from_free_disk_and_memory(tmp_path, monkeypatch):
    import leiosurv.study._synth as synth_mod

    monkeypatch.setattr(synth_mod, "_free_disk", lambda out: 1_000_000)
    monkeypatch.setattr(synth_mod, "_available_memory", lambda: 4_000_000_000)
    assert synth_capacity(tmp_path / "c.parquet") == 1_000_000 // BYTES_PER_ROW_ON_DISK
    assert synth_capacity() == 4_000_000_000 // BYTES_PER_ROW_IN_MEMORY
    limit = 1_000_000 // BYTES_PER_ROW_ON_DISK
    check_synth_size(limit, out=tmp_path / "c.parquet")  # exactly at the bound: accepted
    with pytest.raises(InputError, match=rf"^n: {limit + 1:,} rows need about .* on disk .* at most {limit:,} rows"):
        synthesize_cohort(limit + 1, out=tmp_path / "c.parquet")
    with pytest.raises(InputError, match=r"^--n: "):
        check_synth_size(10**9, out=tmp_path / "c.parquet", names=("--n", "--chunk-size"))
    with pytest.raises(InputError, match=r"^n: .* of memory .* stream larger cohorts to a file"):
        synthesize_cohort(10**7 + 1)
    monkeypatch.setattr(synth_mod, "_free_disk", lambda out: 10**15)
    with pytest.raises(InputError, match=r"^chunk_size: 100,000,000 rows a row group need about"):
        check_synth_size(10**8, chunk_size=10**8, out=tmp_path / "c.parquet")
    assert list(tmp_path.iterdir()) == []


def test_real_capacity_is_positive_and_refuses_absurd_n(tmp_path):
    assert synth_capacity(tmp_path / "c.parquet") > 1000 and synth_capacity() > 1000
    with pytest.raises(InputError, match="on disk"):
        synthesize_cohort(10**15, out=tmp_path / "c.parquet")
    assert list(tmp_path.iterdir()) == []


def test_failure_while_streaming_leaves_no_file(tmp_path):
    def boom(rows: int) -> None:
        raise RuntimeError("stop")

    target = tmp_path / "c.parquet"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="stop"):
        synthesize_cohort(BLOCK_SIZE + 5, out=target, progress=boom)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet"] and target.read_bytes() == b"previous"


def test_file_schema_is_the_cohort_arrow_schema(tmp_path):
    from leiosurv.study import cohort_arrow_schema

    path = synthesize_cohort(20, out=tmp_path / "s.parquet")
    assert pq.read_schema(path).remove_metadata() == cohort_arrow_schema()
