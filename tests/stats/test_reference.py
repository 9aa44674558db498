"""leiosurv.stats against R, value by value (shared/reference, rtol 1e-9).

R 4.2.2, survival 3.5-3, cmprsk 2.2-11, prodlim 2019.11.13; the exact calls
are in each JSON's ``methods`` and repeated in the test docstrings.  Every
curve point, horizon estimate, risk difference, Gray's test and Kaplan–Meier
value of the three data sets is compared.  The only documented departure is
prodlim's ``NA`` standard error at a last time where everyone at risk has an
event (mgus2); see ``test_delta_se_where_prodlim_gives_na``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from leiosurv.stats import cumulative_incidence, gray_test, kaplan_meier, risk_difference

REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
DATASETS = ("melanoma", "mgus2", "synth_ties")
RTOL, ATOL = 1e-9, 1e-15  # atol only lets exact zeros meet ~1e-17 rounding
METHOD_VARIANCE = {"survfit": "delta", "prodlim": "delta", "cuminc": "aalen"}


def _require_reference() -> None:
    if not REF.is_dir():
        pytest.fail(f"R reference directory missing: {REF} (clone shared/ beside the repository)")


@cache
def load(name: str) -> tuple[pd.DataFrame, dict]:
    _require_reference()
    return pd.read_csv(REF / f"{name}.csv"), json.loads((REF / f"{name}.json").read_text())


def arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def close(actual, expected) -> None:
    assert_allclose(np.asarray(actual, dtype=np.float64), arr(expected), rtol=RTOL, atol=ATOL)


def _strata():
    out = []
    for name in DATASETS:
        _, ref = load(name)
        out += [(name, s) for s in ref["curves"]]
    return out


def _grouping():
    out = []
    for name in DATASETS:
        _, ref = load(name)
        out += [(name, var) for var in ref["risk_differences"]]
    return out


STRATA = _strata()
GROUPINGS = _grouping()


def _split(stratum: str) -> tuple[str | None, int | None]:
    if stratum == "overall":
        return None, None
    var, value = stratum.split("=")
    return var, int(value)


@cache
def fit(name: str, var: str | None, variance: str, ci: str, z: float | None):
    df, _ = load(name)
    return cumulative_incidence(df, "time", "status", var, causes=(1, 2), variance=variance, ci=ci, z=z)


def rows_of(res, label, times) -> pd.DataFrame:
    """The result's rows of one group on the reference grid (distinct event times)."""
    t = res.table
    block = t[[g == label for g in t["group"]]]
    events = block[(block["n_event_1"] + block["n_event_2"]) > 0]
    assert_array_equal(events["time"].to_numpy(), arr(times))
    return events


# ---------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "stratum"), STRATA)
def test_curve_counts(name, stratum):
    """Grid, n_risk, n_event1, n_event2, n_censor of R's curves.

    survival::survfit(Surv(time, factor(status, levels = 0:2)) ~ group):
    distinct event times, number at risk, events per cause and censorings at
    that exact time (events before censorings at ties).
    """
    _, ref = load(name)
    var, label = _split(stratum)
    c = ref["curves"][stratum]
    ev = rows_of(fit(name, var, "delta", "plain", None), label, c["time"])
    assert_array_equal(ev["n_risk"].to_numpy(), arr(c["n_risk"]))
    assert_array_equal(ev["n_event_1"].to_numpy(), arr(c["n_event1"]))
    assert_array_equal(ev["n_event_2"].to_numpy(), arr(c["n_event2"]))
    assert_array_equal(ev["n_censored"].to_numpy(), arr(c["n_censor"]))
    res = fit(name, var, "delta", "plain", None)
    g = res.counts[label]
    assert (g.n, int(g.events[:, 0].sum()), int(g.events[:, 1].sum()), int(g.censored.sum())) == (
        c["n"], c["n_cause1"], c["n_cause2"], c["n_censored"])
    assert g.time[-1] == c["max_time"]


@pytest.mark.parametrize(("name", "stratum"), STRATA)
def test_curve_delta_vs_prodlim(name, stratum):
    """CIF, SE and native plain CI against prodlim.

    prodlim::prodlim(Hist(time, status) ~ group): Aalen-Johansen; se.cuminc =
    delta-method SE (Marubini & Valsecchi 1995, p. 341); native CI plain: est
    +/- z*se truncated to [0, 1], z = qnorm(0.975).
    """
    _, ref = load(name)
    var, label = _split(stratum)
    c = ref["curves"][stratum]
    ev = rows_of(fit(name, var, "delta", "plain", None), label, c["time"])
    p = c["prodlim"]
    for k in (1, 2):
        close(ev[f"cif_{k}"], p[f"cif{k}"])
        se = arr(p[f"se{k}"])
        na = np.isnan(se)  # prodlim's NA where d = n at the last time; see the test below
        assert na.sum() <= 1 and (not na.any() or na[-1])
        close(ev[f"se_{k}"].to_numpy()[~na], se[~na])
        close(ev[f"lower_{k}"].to_numpy()[~na], arr(p[f"lower{k}"])[~na])
        close(ev[f"upper_{k}"].to_numpy()[~na], arr(p[f"upper{k}"])[~na])


@pytest.mark.parametrize(("name", "stratum"), STRATA)
def test_curve_delta_vs_survfit(name, stratum):
    """CIF, SE and native log CI against survfit; event-free survival against KM.

    survival::survfit(Surv(time, factor(status, levels = 0:2)) ~ group):
    Aalen-Johansen; std.err = infinitesimal-jackknife SE; native CI conf.type =
    'log' (exp(log(p) +/- z*se/p), upper truncated at 1, NA when p = 0), z =
    qnorm(0.975).  efs = 1 - cif1 - cif2 = Kaplan-Meier of any event.
    """
    _, ref = load(name)
    var, label = _split(stratum)
    c = ref["curves"][stratum]
    ev = rows_of(fit(name, var, "delta", "log", None), label, c["time"])
    s = c["survfit"]
    for k in (1, 2):
        close(ev[f"cif_{k}"], s[f"cif{k}"])
        close(ev[f"se_{k}"], s[f"se{k}"])
        close(ev[f"lower_{k}"], s[f"lower{k}"])
        close(ev[f"upper_{k}"], s[f"upper{k}"])
    df, _ = load(name)
    km = kaplan_meier(df, "time", "status", var)
    kt = km.table[[g == label for g in km.table["group"]]]
    kt = kt[kt["n_event"] > 0]
    close(kt["surv"], s["efs"])
    close(1.0 - ev["cif_1"].to_numpy() - ev["cif_2"].to_numpy(), s["efs"])


@pytest.mark.parametrize(("name", "stratum"), STRATA)
def test_curve_aalen_vs_cuminc(name, stratum):
    """CIF and variance against cmprsk.

    cmprsk::cuminc(time, status, group, cencode = 0): Aalen-Johansen; var =
    Gray's delta-method (Aalen-type) variance with ties factor
    (1 - (d - 1)/(n - 1)); read on the grid of all event times as a step
    function (it changes only where the cause's CIF jumps).
    """
    _, ref = load(name)
    var, label = _split(stratum)
    c = ref["curves"][stratum]
    ev = rows_of(fit(name, var, "aalen", "plain", None), label, c["time"])
    cu = c["cuminc"]
    for k in (1, 2):
        close(ev[f"cif_{k}"], cu[f"cif{k}"])
        close(ev[f"se_{k}"].to_numpy() ** 2, cu[f"var{k}"])


def test_delta_se_where_prodlim_gives_na():
    """Finding: prodlim's se.cuminc is NA at a last time with d = n (mgus2).

    prodlim's formula multiplies the Greenwood sum (infinite there) by F^2 and
    cancels it against two other infinite terms.  Those terms cancel exactly,
    so leiosurv leaves them out and returns the finite limit, which equals
    survival::survfit's infinitesimal-jackknife std.err (matched to 1e-9 in
    test_curve_delta_vs_survfit); here we pin that prodlim's value is NA at
    exactly those points and ours is survfit's.
    """
    _, ref = load("mgus2")
    res = fit("mgus2", None, "delta", "plain", None)
    c = ref["curves"]["overall"]
    ev = rows_of(res, None, c["time"])
    for k in (1, 2):
        se = arr(c["prodlim"][f"se{k}"])
        assert np.isnan(se[-1]) and not np.isnan(se[:-1]).any()
        assert c["n_risk"][-1] == c["n_event1"][-1] + c["n_event2"][-1]
        assert_allclose(ev[f"se_{k}"].iloc[-1], c["survfit"][f"se{k}"][-1], rtol=RTOL)


# ---------------------------------------------------------------------------
# horizons
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "stratum"), STRATA)
@pytest.mark.parametrize("method", ["survfit", "prodlim", "cuminc"])
def test_horizon_estimates(name, stratum, method):
    """Estimates at the horizons: est, se, var, Wald, log-log and native bounds.

    survfit / prodlim: delta-method SE; cuminc: Aalen-type variance (calls as
    in the curve tests).  lower_wald/upper_wald = est -/+ 1.96*se (not
    truncated); lower_loglog/upper_loglog = est^exp(+/- 1.96*se/(est*|log
    est|)); native: survfit log CI, prodlim plain CI truncated to [0, 1], both
    with z = qnorm(0.975).
    """
    _, ref = load(name)
    var, label = _split(stratum)
    h = ref["horizons"]
    he = ref["horizon_estimates"][stratum]
    variance = METHOD_VARIANCE[method]

    def at(ci, z):
        out = fit(name, var, variance, ci, z).at(h, beyond="nan")
        return out[[g == label for g in out["group"]]]

    base = at("log-log", ref["z_wald"])
    assert base["beyond_follow_up"].tolist()[:3] == he["beyond_follow_up"]
    for k in (1, 2):
        e = he[method][f"cause{k}"]
        r = base[base["cause"] == k]
        close(r["estimate"], e["est"])
        close(r["se"], e["se"])
        close(r["se"] ** 2, e["var"])
        close(r["estimate"] - ref["z_wald"] * r["se"], e["lower_wald"])
        close(r["estimate"] + ref["z_wald"] * r["se"], e["upper_wald"])
        close(r["lower"], e["lower_loglog"])
        close(r["upper"], e["upper_loglog"])
        if method != "cuminc":
            native = at("log" if method == "survfit" else "plain", None)
            n = native[native["cause"] == k]
            assert_allclose(fit(name, var, variance, "plain", None).z, ref["z_native"], rtol=1e-15)
            close(n["lower"], e["lower_native"])
            close(n["upper"], e["upper_native"])


@pytest.mark.parametrize(("name", "stratum"), STRATA)
def test_km_overall_survival(name, stratum):
    """Kaplan-Meier of any event at the horizons.

    survival::survfit(Surv(time, status > 0) ~ 1) per stratum; se = Greenwood SE
    of S(t) (summary.survfit std.err); CI conf.type = 'log', z = qnorm(0.975).
    """
    df, ref = load(name)
    var, label = _split(stratum)
    km = kaplan_meier(df, "time", "status", var).at(ref["horizons"])
    r = km[[g == label for g in km["group"]]]
    e = ref["km_overall_survival"][stratum]
    close(r["estimate"], e["surv"])
    close(r["se"], e["se"])
    close(r["lower"], e["lower"])
    close(r["upper"], e["upper"])


# ---------------------------------------------------------------------------
# between groups
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "var"), GROUPINGS)
@pytest.mark.parametrize("method", ["survfit", "prodlim", "cuminc"])
def test_risk_differences(name, var, method):
    """GROUP=1 minus GROUP=0 at each horizon: rd, se, lower, upper.

    rd = est1 - est0, se = sqrt(se1^2 + se0^2), lower/upper = rd -/+ 1.96*se
    (not truncated), with the SE of survfit/prodlim (delta) or cuminc (Aalen).
    """
    _, ref = load(name)
    res = fit(name, var, METHOD_VARIANCE[method], "plain", ref["z_wald"])
    rd = risk_difference(res, ref["horizons"], reference=0).table
    for k in (1, 2):
        e = ref["risk_differences"][var][f"cause{k}"][method]
        r = rd[(rd["cause"] == k) & (rd["group"] == 1)]
        assert (r["reference"] == 0).all()
        close(r["rd"], e["rd"])
        close(r["se"], e["se"])
        close(r["lower"], e["lower"])
        close(r["upper"], e["upper"])


@pytest.mark.parametrize(("name", "var"), GROUPINGS)
def test_gray_test(name, var):
    """Gray's K-sample test per cause.

    cmprsk::cuminc(time, status, group, cencode = 0), rho = 0: Tests[, c("stat",
    "pv", "df")].
    """
    df, ref = load(name)
    e = ref["gray_test"][var]
    gt = gray_test(df, "time", "status", var, rho=e["rho"]).table
    for k in (1, 2):
        r = gt[gt["cause"] == k].iloc[0]
        close([r["stat"]], [e[f"cause{k}"]["stat"]])
        close([r["pv"]], [e[f"cause{k}"]["pv"]])
        assert r["df"] == e[f"cause{k}"]["df"]


@pytest.mark.parametrize(("name", "var"), GROUPINGS)
def test_gray_test_reuses_result_counts(name, var):
    """gray_test(CumulativeIncidence) equals gray_test(data): same counts, same numbers."""
    df, _ = load(name)
    a = gray_test(df, "time", "status", var).table
    b = gray_test(fit(name, var, "delta", "plain", None)).table
    assert_allclose(a[["stat", "pv"]].to_numpy(), b[["stat", "pv"]].to_numpy(), rtol=0, atol=0)
