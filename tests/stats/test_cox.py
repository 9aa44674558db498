"""leiosurv.stats.cause_specific_cox against survival::coxph and riskRegression::CSC.

R values:

* ``shared/reference/melanoma_finegray.json`` (R 4.2.2, survival 3.5-3):
  ``survival::coxph(Surv(time, status == k) ~ covariates, data, ties = "breslow" | "efron")``
  for k = 1, 2 and the models ``ulcer_only``, ``main``, ``main_months_ties``;
* ``tests/stats/data/extra_regression.json`` (``extra_regression.R``): the same
  call on synth_ties, mgus2 (rows with a missing covariate removed, as R's
  ``na.omit``) and melanoma with rows at time 0;
* ``tests/stats/data/melanoma_csc.json`` (``melanoma_csc.R``, riskRegression
  2022.11.28): ``riskRegression::predictRisk(CSC(Hist(time, status) ~ ulcer +
  thick + sex + age, data, cause = 1, ties = ties), newdata = profiles,
  times = horizons, cause = k)`` and ``predictCox(fit$models[[k]], times,
  centered = FALSE, type = "cumhazard")``; jsonlite wrote 15 significant
  digits, hence rtol 1e-12 there.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from leiosurv.exceptions import DataError, StatisticalWarning
from leiosurv.stats import CauseSpecificCox, cause_specific_cox

from ._regression_data import DATA, MODELS, REF, RTOL, reference


def model_data(name: str) -> tuple[pd.DataFrame, dict]:
    d, ref = reference()
    d = d.copy()
    if name == "main_months_ties":
        d["time"] = (d["time"] + 29) // 30
    return d, ref["models"][name]


@cache
def fitted(name: str, ties: str) -> CauseSpecificCox:
    d, m = model_data(name)
    return cause_specific_cox(d, "time", "status", m["covariates"], ties=ties)


def values(mapping: dict, names: list[str]) -> np.ndarray:
    return np.array([mapping[c] for c in names], dtype=np.float64)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("name", MODELS)
def test_each_cause_matches_coxph(name, ties):
    """coxph(Surv(time, status == k) ~ ..., ties = ties): coef, se, var, z, p, logliks, score test, iterations."""
    _, m = model_data(name)
    covs = m["covariates"]
    fit = fitted(name, ties)
    assert sorted(fit.models) == [1, 2]
    for k in (1, 2):
        r = m["coxph"][f"cause{k}"][ties]
        mk = fit.models[k]
        assert_allclose(mk.coef.to_numpy(), values(r["coef"], covs), rtol=RTOL)
        assert_allclose(mk.se.to_numpy(), values(r["se"], covs), rtol=RTOL)
        assert_allclose(mk.var, np.array(r["var"]), rtol=RTOL, atol=1e-16)
        assert_allclose(mk.table["z"], values(r["z"], covs), rtol=RTOL)
        assert_allclose(mk.table["p_value"], values(r["p_value"], covs), rtol=1e-8)
        assert_allclose(mk.loglik, r["loglik"], rtol=RTOL)
        assert_allclose(mk.loglik_null, r["loglik_null"], rtol=RTOL)
        assert_allclose(mk.score_test, r["score_test"], rtol=RTOL)
        assert mk.iterations == r["iterations"]
        assert (mk.n, mk.n_events) == (r["n"], r["nevent"])


def test_breslow_and_efron_agree_without_ties_and_differ_with_them():
    """melanoma's days have no tied deaths (the two coincide); 30-day months do (they differ)."""
    assert_allclose(fitted("main", "breslow").models[1].coef, fitted("main", "efron").models[1].coef, rtol=1e-13)
    diff = fitted("main_months_ties", "breslow").models[1].coef - fitted("main_months_ties", "efron").models[1].coef
    assert np.max(np.abs(diff)) > 1e-4


# -- extra cases ------------------------------------------------------------------------
@cache
def extra() -> dict:
    return json.loads((DATA / "extra_regression.json").read_text())


def extra_data(label: str) -> pd.DataFrame:
    covs = extra()[label]["covariates"]
    if label.startswith("synth_ties"):
        return pd.read_csv(REF / "synth_ties.csv")
    if label.startswith("mgus2"):
        return pd.read_csv(REF / "mgus2.csv").dropna(subset=covs)
    d = pd.read_csv(REF / "melanoma.csv")
    d.loc[[2, 7, 39, 40], "time"] = 0
    d.loc[[2, 7], "status"] = [0, 2]
    return d


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("label", ["synth_ties_cause1", "synth_ties_cause2", "mgus2_cause1", "melanoma_time_zero"])
def test_extra_cases_match_coxph(label, ties):
    """coxph(Surv(time, status == k) ~ X, ties = ties) on heavily tied and larger data."""
    r = extra()[label]
    rc = r["coxph"][ties]
    fit = cause_specific_cox(extra_data(label), "time", "status", r["covariates"], causes=[r["cause"]], ties=ties)
    mk = fit.models[r["cause"]]
    assert_allclose(mk.coef.to_numpy(), [float(v) for v in rc["coef"]], rtol=RTOL)
    assert_allclose(mk.var.ravel(order="F"), [float(v) for v in rc["var"]], rtol=RTOL, atol=1e-18)
    assert_allclose([mk.loglik_null, mk.loglik], [float(v) for v in rc["loglik"]], rtol=RTOL)
    assert mk.iterations == rc["iterations"]


# -- absolute risks (riskRegression::CSC) ----------------------------------------------------
@cache
def csc() -> dict:
    return json.loads((DATA / "melanoma_csc.json").read_text())


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("name", ["main", "main_months_ties"])
def test_absolute_risk_matches_riskregression_csc(name, ties):
    """predictRisk(CSC(...), newdata = profiles, times, cause = k), and predictCox's baseline cumulative hazards."""
    r = csc()[name][ties]
    fit = fitted(name, ties)
    for k in (1, 2):
        assert_allclose(fit.models[k].coef.to_numpy(), list(r[f"coef_cause{k}"].values()), rtol=1e-12)
    profiles = pd.DataFrame([csc()["profiles"]["A"], csc()["profiles"]["B"]], index=["A", "B"])
    for k in (1, 2):
        at = fit.predict(profiles, r["horizons"], cause=k)
        for label in ("A", "B"):
            assert_allclose(at[label], r[f"cause{k}"][label], rtol=1e-12)
    curve = fit.predict(profiles, r["curve_time"], cause=1)
    for label in ("A", "B"):
        assert_allclose(curve[label], r["curve_cause1"][label], rtol=1e-12, atol=1e-16)
    ut = np.array(r["curve_time"])
    for k in (1, 2):
        m = fit.models[k]
        mine = np.concatenate(([0.0], np.cumsum(m.jumps)))[np.searchsorted(m.times, ut, side="right")]
        assert_allclose(mine, r[f"baseline_cumhazard_cause{k}"], rtol=1e-12, atol=1e-16)


@st.composite
def small(draw):
    n = draw(st.integers(6, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    status = rng.integers(0, 3, n)
    status[:2] = [1, 2]
    return pd.DataFrame({"time": rng.integers(1, 8, n).astype(float), "status": status, "x": rng.normal(size=n)})


@settings(max_examples=40, deadline=None)
@given(small())
def test_absolute_risks_and_survival_add_to_one(df):
    """F_1 + F_2 + S = 1 at every time, each F_k non-decreasing (when no summed hazard jump exceeds 1)."""
    try:
        fit = cause_specific_cox(df, "time", "status", ["x"], ties="efron")
    except DataError:
        return  # a random covariate may separate the events; that is reported, tested below
    prof = {"x": [-1.0, 0.0, 1.0]}
    grid = np.unique(df["time"][df["status"] > 0])
    total = np.zeros((grid.size, 3))
    for m in fit.models.values():
        dl = np.zeros(grid.size)
        dl[np.searchsorted(grid, m.times)] = m.jumps
        total += np.outer(dl, np.exp(np.array([-1.0, 0.0, 1.0]) * m.coef.iloc[0]))
    if np.any(total > 1):  # tiny risk sets and a large effect: not a probability, and said so
        with pytest.warns(StatisticalWarning, match="summed hazard jumps exceed 1"):
            fit.predict(prof, cause=1)
        return
    f1, f2 = fit.predict(prof, cause=1).to_numpy(), fit.predict(prof, cause=2).to_numpy()
    surv = np.cumprod(1 - total, axis=0)
    assert_allclose(f1 + f2 + surv, 1.0, rtol=0, atol=1e-12)
    for f in (f1, f2):
        assert np.all(np.diff(f, axis=0) >= -1e-15)


def test_serialises_and_prints():
    import jsonschema_rs

    fit = fitted("main_months_ties", "efron")
    jsonschema_rs.validator_for(CauseSpecificCox.json_schema()).validate(json.loads(fit.to_json()))
    assert CauseSpecificCox.from_json(fit.to_json()).to_dict() == fit.to_dict()
    back = CauseSpecificCox.from_json(fit.to_json())
    pd.testing.assert_frame_equal(back.table, fit.table)
    prof = {"ulcer": 1, "thick": 0, "sex": 1, "age": 70}
    assert_allclose(back.predict(prof, [12, 60]), fit.predict(prof, [12, 60]), rtol=0)
    assert CauseSpecificCox.json_schema()["type"] == "object"
    text = str(fit)
    assert "cause 1" in text and "cause 2" in text and "ties='efron'" in text


# -- bad input -------------------------------------------------------------------------------
def test_bad_input_is_one_clear_line():
    d, _ = reference()
    cases = [
        (dict(covariates=["ulcer"], causes=[3]), r"no row has an event of cause 3"),
        (dict(covariates=["ulcer"], ties="exact"), r"ties must be 'efron' or 'breslow', but was 'exact'"),
        (dict(covariates=[]), r"give at least one covariate"),
        (dict(covariates=["ulcer", "ulcer2"]), r"covariate 'ulcer2' is a linear combination of \['ulcer'\]"),
        (dict(covariates=["ulcer"], causes=["1"]), r"causes must be positive event codes \(ints\), got \['1'\]"),
        (dict(covariates=["ulcer"], level=0), r"level must be in \(0, 1\), but was 0"),
        (dict(covariates=["ulcer"], maxiter=0), r"maxiter must be >= 1, but was 0"),
        (dict(covariates=["ulcer", "thick"], maxiter=2), r"the Cox model for cause 1 did not converge in 2 iterations"),
        (dict(covariates=["sex"], ties="breslow", causes=[2], event_map={0: 0, 1: 2, 2: 0}), None),
    ]
    data = d.assign(ulcer2=d["ulcer"] * 3 + 1)
    for kwargs, match in cases:
        if match is None:  # event_map recodes: melanoma deaths as cause 2, other deaths censored
            fit = cause_specific_cox(data, "time", "status", **kwargs)
            assert fit.models[2].n_events == 57
            continue
        with pytest.raises(DataError, match=match) as info:
            cause_specific_cox(data, "time", "status", **kwargs)
        assert "\n" not in str(info.value)


def test_covariate_constant_in_every_risk_set():
    """A covariate that varies only among rows censored before the first event of the cause: no information."""
    d, _ = reference()
    d = d.copy()
    assert d.loc[d["status"] > 0, "time"].min() > 2
    d.loc[[0, 1], ["time", "status"]] = [[1, 0], [2, 0]]
    d["early"] = 0.0
    d.loc[[0, 1], "early"] = 1.0
    with pytest.raises(DataError, match=r"covariate 'early' does not vary within the risk sets at the cause-1"):
        cause_specific_cox(d, "time", "status", ["ulcer", "early"])


def test_separating_covariate_is_an_infinite_coefficient():
    """A covariate that marks the cause-2 deaths: for cause 1 its coefficient runs to -inf, for cause 2 to +inf.

    R: coxph(Surv(time, status == k) ~ ulcer + marker) warns "Loglik converged before variable 2;
    coefficient may be infinite" for k = 1 and k = 2 (checked with survival 3.5-3); here an error.
    """
    d, _ = reference()
    d = d.assign(marker=(d["status"] == 2).astype(float))
    for k in (1, 2):
        with pytest.raises(DataError, match=rf"cause {k}: the coefficient of 'marker' may be infinite"):
            cause_specific_cox(d, "time", "status", ["ulcer", "marker"], causes=[k])


def test_docstring_example_runs():
    """The cause_specific_cox docstring's example (its coefficient is coxph's on the same ten rows)."""
    import doctest

    from leiosurv.stats import _cox

    result = doctest.testmod(_cox, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
