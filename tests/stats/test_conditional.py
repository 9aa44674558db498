"""conditional_incidence: landmark Aalen–Johansen against R prodlim, and its invariants."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from leiosurv.exceptions import DataError, InputError
from leiosurv.stats import ConditionalIncidence, conditional_incidence, count_events, cumulative_incidence

REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
RTOL, ATOL = 1e-9, 1e-15


@cache
def melanoma() -> tuple[pd.DataFrame, list[dict]]:
    if not REF.is_dir():
        pytest.fail(f"R reference directory missing: {REF}")
    ref = json.loads((REF / "melanoma_landmark.json").read_text())
    return pd.read_csv(REF / "melanoma.csv"), ref["values"]


def _cases():
    _, values = melanoma()
    return [pytest.param(v, id=f"{v['stratum']}-s{v['landmark']:g}-cause{v['cause']}") for v in values]


@pytest.mark.parametrize("ref", _cases())
def test_matches_prodlim_landmark(ref):
    """R: for s in 365.25 * 1:4,
    ``prodlim(Hist(time - s, status) ~ 1, data = subset(d, time > s))`` on melanoma.csv
    (overall, and on each ``ulcer`` subset); cuminc and se.cuminc at h - s, h = 1826.25."""
    d, _ = melanoma()
    grouped = ref["stratum"] != "overall"
    res = conditional_incidence(d, time="time", event="status", group="ulcer" if grouped else None,
                                landmark=ref["landmark"])
    label = int(ref["stratum"].split("=")[1]) if grouped else None
    assert res.n_at_landmark[label] == ref["n_at_landmark"]
    tab = res.at(ref["horizon"])
    row = tab[(tab["cause"] == ref["cause"]).to_numpy() & np.array([g == label for g in tab["group"]])]
    assert len(row) == 1
    assert_allclose(row["estimate"].iat[0], ref["est"], rtol=RTOL, atol=ATOL)
    assert_allclose(row["se"].iat[0], ref["se"], rtol=RTOL, atol=ATOL)
    assert row["horizon"].iat[0] == ref["horizon"] and row["landmark"].iat[0] == ref["landmark"]
    # prodlim's plain CI, truncated to [0, 1], from the same SE
    z = res.incidence.z
    assert_allclose(row["lower"].iat[0], max(0.0, ref["est"] - z * ref["se"]), rtol=RTOL, atol=1e-12)


def test_grouped_equals_fit_on_each_subset():
    d, _ = melanoma()
    s = 730.5
    both = conditional_incidence(d, "time", "status", "ulcer", landmark=s).at([1000, 1826.25])
    for g in (0, 1):
        one = conditional_incidence(d[d["ulcer"] == g], "time", "status", landmark=s).at([1000, 1826.25])
        mine = both[both["group"] == g].reset_index(drop=True)
        assert_array_equal(mine["estimate"].to_numpy(), one["estimate"].to_numpy())
        assert_array_equal(mine["se"].to_numpy(), one["se"].to_numpy())


def test_is_cumulative_incidence_on_the_shifted_subset():
    """Bit-identical to the unconditional estimator on subset(time > s) with time - s, for both variances."""
    d, _ = melanoma()
    s = 1095.75
    sub = d[d["time"] > s].assign(time=lambda x: x["time"] - s)
    for variance in ("delta", "aalen"):
        for ci in ("plain", "log-log"):
            cond = conditional_incidence(d, "time", "status", landmark=s, variance=variance, ci=ci)
            ref = cumulative_incidence(sub, "time", "status", variance=variance, ci=ci)
            h = np.array([0.0, 100.0, 400.0, 731.0])
            a, b = cond.at(h + s), ref.at(h)
            for col in ("estimate", "se", "lower", "upper", "n_risk_at_horizon"):
                assert_array_equal(a[col].to_numpy(), b[col].to_numpy())


def test_landmark_zero_is_the_unconditional_estimate():
    d, _ = melanoma()
    a = conditional_incidence(d, "time", "status", landmark=0).at([365.25, 1826.25])
    b = cumulative_incidence(d, "time", "status").at([365.25, 1826.25])
    assert_array_equal(a["estimate"].to_numpy(), b["estimate"].to_numpy())


def test_rows_ending_at_the_landmark_are_excluded():
    data = {"time": [1, 2, 2, 3, 4], "event": [1, 1, 0, 2, 1]}
    res = conditional_incidence(data, landmark=2)
    assert res.n_at_landmark == {None: 2}
    assert res.at(2)["estimate"].tolist() == [0.0, 0.0]  # nothing happens in no time
    assert res.at(4)["estimate"].tolist() == [0.5, 0.5]


def test_group_with_nobody_beyond_the_landmark():
    data = {"time": [1, 2, 5, 6, 1, 2], "event": [1, 0, 1, 0, 2, 0], "g": ["a"] * 4 + ["b"] * 2}
    res = conditional_incidence(data, group="g", landmark=3)
    assert res.n_at_landmark == {"a": 2, "b": 0}
    with pytest.raises(DataError, match="group 'b': nobody is followed beyond the landmark 3"):
        res.at(6)
    tab = res.at(6, beyond="nan")
    b = tab[tab["group"] == "b"]
    assert b["beyond_follow_up"].all() and b["estimate"].isna().all() and (b["n_at_landmark"] == 0).all()
    assert tab[tab["group"] == "a"]["estimate"].tolist() == [0.5, 0.0]
    nobody = conditional_incidence(data, group="g", landmark=10)
    assert nobody.incidence is None and nobody.at(12, beyond="nan")["estimate"].isna().all()


def test_works_on_counts_and_round_trips():
    d, _ = melanoma()
    counts = count_events(d, "time", "status", "ulcer")
    a = conditional_incidence(counts, landmark=365.25)
    b = conditional_incidence(d, "time", "status", "ulcer", landmark=365.25)
    assert_array_equal(a.at(1826.25)["se"].to_numpy(), b.at(1826.25)["se"].to_numpy())
    back = ConditionalIncidence.from_dict(json.loads(json.dumps(b.to_dict())))
    assert_array_equal(back.at(1826.25)["estimate"].to_numpy(), b.at(1826.25)["estimate"].to_numpy())
    assert back.n_at_landmark == b.n_at_landmark
    assert "landmark 365.25" in str(b) and "n_at_landmark" in repr(b)


@pytest.mark.parametrize("kwargs, message", [
    ({"landmark": -1}, "landmark must be a finite number >= 0, but was -1"),
    ({"landmark": "two"}, "landmark must be a number >= 0, but was 'two'"),
    ({"landmark": float("nan")}, "landmark must be a finite number"),
    ({"landmark": 1, "variance": "greenwood"}, "variance must be one of"),
    ({"landmark": 1, "ci": "logit"}, "ci must be one of"),
    ({"landmark": 100, "level": 2}, "level must be in"),
])
def test_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(InputError, match=message):
        conditional_incidence({"time": [1, 2, 3], "event": [1, 0, 2]}, **kwargs)


def test_interval_options_are_passed_on_and_recorded():
    """variance/ci/level/z reach cumulative_incidence with its defaults; the provenance records what was used."""
    d, _ = melanoma()
    res = conditional_incidence(d, "time", "status", landmark=365.25, ci="log-log", z=1.96)
    fit = cumulative_incidence(res.incidence.counts, ci="log-log", z=1.96)
    assert_array_equal(res.at(1826.25)["lower"].to_numpy(), fit.at(1826.25 - 365.25)["lower"].to_numpy())
    args = res.provenance["arguments"]
    assert (args["variance"], args["ci"], args["level"], args["z"], args["landmark"]) == (
        "delta", "log-log", 0.95, 1.96, 365.25)
    assert res.provenance["function"] == "leiosurv.stats.conditional_incidence"
    assert res.provenance["n"] == len(d) and res.provenance["r_equivalent"].startswith("prodlim::prodlim")
    with pytest.raises(TypeError, match="conditional_incidence.. got an unexpected keyword argument 'varience'"):
        conditional_incidence(d, "time", "status", landmark=1, varience="aalen")


def test_horizon_before_the_landmark_is_refused():
    res = conditional_incidence({"time": [1, 2, 3, 4], "event": [1, 0, 2, 1]}, landmark=2)
    with pytest.raises(InputError, match="horizons must be >= the landmark 2 .*but was 1"):
        res.at([1, 3])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.integers(0, 2)), min_size=2, max_size=60),
    st.integers(0, 25),
)
def test_landmark_invariants(rows, s):
    """n at the landmark counts time > s; total CIF <= 1 and equals 1 - KM of the subset; s=0 is unconditional."""
    time = np.array([r[0] for r in rows], dtype=float)
    event = np.array([r[1] for r in rows])
    if not (event > 0).any():
        event[0] = 1  # count_events refuses data without any event
    data = {"time": time, "event": event}
    res = conditional_incidence(data, landmark=s, causes=(1, 2))
    left = int((time > s).sum())
    assert res.n_at_landmark == {None: left}
    if left == 0:
        assert res.incidence is None
        return
    h = np.unique(s + np.array([0.0, min(3.0, float(time.max() - s)), float(time.max() - s)]))
    tab = res.at(h)
    total = tab.groupby("horizon")["estimate"].sum().to_numpy()
    assert np.all(total <= 1 + 1e-12) and np.all(tab["estimate"] >= 0)
    assert tab[tab["horizon"] == s]["estimate"].tolist() == [0.0, 0.0]
    sub_t, sub_e = time[time > s] - s, event[time > s]
    # one minus the Kaplan-Meier of any event on the subset, at the last horizon
    surv = 1.0
    for t in np.unique(sub_t):
        at_risk = (sub_t >= t).sum()
        d = ((sub_t == t) & (sub_e > 0)).sum()
        surv *= 1 - d / at_risk
    assert_allclose(total[-1], 1 - surv, rtol=1e-12, atol=1e-14)


def test_docstring_examples_run():
    import doctest

    from leiosurv.stats import _conditional

    failed, tried = doctest.testmod(_conditional)
    assert tried >= 4 and failed == 0
