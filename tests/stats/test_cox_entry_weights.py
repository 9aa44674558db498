"""cause_specific_cox with delayed entry and case weights against survival::coxph, rtol 1e-9.

R values: ``tests/stats/data/cox_entry_weights.json``, made by ``cox_entry_weights.R`` (R 4.2.2,
survival 3.5-3) on ``shared/reference/melanoma.csv`` with the shared entry rule (row i, 1-based,
enters at (3 * time) %/% 10 when i %% 3 == 0) and weight rule (w = 0.5 + 0.25 * ((i - 1) %% 4)):

* ``coxph(Surv(time, status == k) ~ ulcer + thick + sex + age, weights = w, ties = ties)``,
* ``coxph(Surv(entry, time, status == k) ~ ..., ties = ties)``,
* ``coxph(Surv(entry, time, status == k) ~ ..., weights = w, ties = ties)``,

for k = 1, 2, Breslow and Efron, on days and on months (time = (time + 29) %/% 30: heavy ties).
With non-integer weights coxph's ``var`` is its robust sandwich (``robust`` defaults to TRUE there)
and ``naive.var`` the model-based one; the file stores both, and both are matched.
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

from leiosurv.exceptions import DataError
from leiosurv.stats import cause_specific_cox

from ._regression_data import DATA, REF

RTOL = 1e-9
COVS = ["ulcer", "thick", "sex", "age"]


@cache
def ref() -> dict:
    return json.loads((DATA / "cox_entry_weights.json").read_text())


@cache
def rows(unit: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "melanoma.csv")
    i = np.arange(1, len(d) + 1)
    if unit == "months":
        d["time"] = (d["time"] + 29) // 30
    d["entry"] = np.where(i % 3 == 0, (3 * d["time"]) // 10, 0)
    d.loc[d["entry"] >= d["time"], "entry"] = 0
    d["w"] = 0.5 + 0.25 * ((i - 1) % 4)
    return d


def _f(x) -> np.ndarray:
    return np.array(x, dtype=np.float64)


FITS = sorted(json.loads((DATA / "cox_entry_weights.json").read_text())["fits"])


@pytest.mark.parametrize("key", FITS)
def test_coxph_with_entry_and_weights(key):
    """Each stored coxph fit: coef, var (the robust sandwich by default with these non-integer weights,
    as coxph), the model-based naive.var with robust=False, loglik (null and final), score test, and the
    baseline cumulative hazard (basehaz(fit, centered = FALSE)) on every event time."""
    r = ref()["fits"][key]
    unit, kind, cause, ties = key.split("/")
    kw = {"entry": "entry"} if "entry" in kind else {}
    if "weights" in kind:
        kw["weights"] = "w"
    fit = cause_specific_cox(rows(unit), "time", "status", COVS, causes=[int(cause)], ties=ties, **kw)
    m = fit.models[int(cause)]
    assert_allclose(m.table["coef"].to_numpy(), _f(r["coef"]), rtol=RTOL)
    assert_allclose(m.var, _f(r["var"]).reshape(4, 4), rtol=RTOL)
    assert_allclose(m.table["se"].to_numpy(), np.sqrt(np.diag(_f(r["var"]).reshape(4, 4))), rtol=RTOL)
    if r.get("naive_var"):  # {} (R NULL) without weights: var is the model-based one there
        naive = cause_specific_cox(rows(unit), "time", "status", COVS, causes=[int(cause)], ties=ties,
                                   robust=False, **kw).models[int(cause)]
        assert_allclose(naive.var, _f(r["naive_var"]).reshape(4, 4), rtol=RTOL)
    assert_allclose([m.loglik_null, m.loglik], _f(r["loglik"]), rtol=RTOL)
    assert_allclose(m.score_test, float(r["score"]), rtol=RTOL)
    cum = np.cumsum(m.jumps)
    bt, bh = _f(r["basehaz_time"]), _f(r["basehaz"])
    pos = np.searchsorted(m.times, bt, side="right") - 1
    assert_allclose(np.where(pos >= 0, cum[np.maximum(pos, 0)], 0.0), bh, rtol=RTOL, atol=1e-15)


def test_the_file_covers_both_data_sets_kinds_causes_and_ties():
    assert len(FITS) == 2 * 3 * 2 * 2


_rows = st.lists(st.tuples(st.integers(1, 20), st.integers(0, 2), st.integers(0, 1), st.floats(-1, 1)),
                 min_size=12, max_size=40)


@settings(max_examples=40, deadline=None)
@given(_rows, st.sampled_from(["breslow", "efron"]))
def test_weights_of_one_and_entry_at_zero_change_nothing(data, ties):
    """Weights of 1 and every entry at 0 give the plain fit (coef, var, loglik, baseline)."""
    d = pd.DataFrame(data, columns=["time", "status", "x1", "x2"])
    d["one"], d["zero"] = 1.0, 0.0
    if (d["status"] == 1).sum() < 2 or d["x1"].nunique() < 2:
        return
    try:
        plain = cause_specific_cox(d, "time", "status", ["x1", "x2"], causes=[1], ties=ties).models[1]
    except DataError:
        return
    other = cause_specific_cox(d, "time", "status", ["x1", "x2"], causes=[1], ties=ties, weights="one",
                               entry="zero").models[1]
    assert_allclose(other.table["coef"], plain.table["coef"], rtol=1e-9, atol=1e-12)
    assert_allclose(other.var, plain.var, rtol=1e-9, atol=1e-12)
    assert_allclose(other.jumps, plain.jumps, rtol=1e-9)


def test_whole_weights_equal_replicated_rows_with_breslow_ties_only():
    """With Breslow ties a weight of 2 is two copies of the row (coef, var, baseline).  With Efron ties it
    is not, in coxph either: the d tied events of a time share d terms at their mean weight, while two
    copies make 2d terms (on months, the coefficients differ by 0.2 %)."""
    d = rows("months").copy()
    d["two"] = 1 + (np.arange(len(d)) % 2)
    rep = d.loc[d.index.repeat(d["two"])].reset_index(drop=True)
    a = cause_specific_cox(d, "time", "status", COVS, causes=[1], ties="breslow", weights="two").models[1]
    b = cause_specific_cox(rep, "time", "status", COVS, causes=[1], ties="breslow").models[1]
    assert_allclose(a.table["coef"], b.table["coef"], rtol=1e-9)
    assert_allclose(a.var, b.var, rtol=1e-9)
    assert_allclose(a.jumps, b.jumps, rtol=1e-9)
    a = cause_specific_cox(d, "time", "status", COVS, causes=[1], ties="efron", weights="two").models[1]
    b = cause_specific_cox(rep, "time", "status", COVS, causes=[1], ties="efron").models[1]
    assert not np.allclose(a.table["coef"], b.table["coef"], rtol=1e-4)


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("entry", lambda d: d["time"], r"column 'entry' \(entry\): 205 row\(s\) have an entry at or after their 'time'"),
        ("entry", lambda d: -1.0 + 0 * d["time"], r"column 'entry' \(entry\): 205 row\(s\) have a negative entry time"),
        ("w", lambda d: -d["w"], r"column 'w' \(weights\): 205 row\(s\) have a weight <= 0"),
        ("w", lambda d: np.where(np.arange(len(d)) == 4, np.nan, d["w"]),
         r"column 'w' \(weights\): 1 row\(s\) have a missing or infinite weight \(first at position 4"),
    ],
)
def test_bad_entries_and_weights_are_one_clear_line(column, values, match):
    d = rows("days").copy()
    d[column] = values(d)
    with pytest.raises(DataError, match=match):
        cause_specific_cox(d, "time", "status", COVS, entry="entry", weights="w")


def test_entry_and_weights_are_read_from_files_too(tmp_path):
    """A CSV path: DuckDB reads the entry and weight columns with the rest (the same fit)."""
    d = rows("days")
    path = tmp_path / "m.csv"
    d.to_csv(path, index=False)
    a = cause_specific_cox(d, "time", "status", COVS, entry="entry", weights="w").models[1]
    b = cause_specific_cox(str(path), "time", "status", COVS, entry="entry", weights="w").models[1]
    assert_allclose(a.table["coef"], b.table["coef"], rtol=1e-12)


def test_provenance_names_the_r_call():
    fit = cause_specific_cox(rows("days"), "time", "status", COVS, entry="entry", weights="w")
    assert fit.provenance["r_equivalent"] == (
        "survival::coxph(Surv(entry, time, status == k) ~ covariates, ties = ties, weights = w, robust = TRUE)")
    plain = cause_specific_cox(rows("days"), "time", "status", COVS, entry="entry")
    assert plain.provenance["r_equivalent"] == "survival::coxph(Surv(entry, time, status == k) ~ covariates, ties = ties)"


def test_robust_is_coxphs_default_choice_and_checked():
    """robust=None: the sandwich only when some weight is not a whole number (coxph's has.rwt); whole
    weights keep the model-based variance unless robust=True; robust must be a bool."""
    d = rows("days").copy()
    d["two"] = 1 + (np.arange(len(d)) % 2)
    whole = cause_specific_cox(d, "time", "status", COVS, causes=[1], weights="two").models[1]
    model = cause_specific_cox(d, "time", "status", COVS, causes=[1], weights="two", robust=False).models[1]
    sandwich = cause_specific_cox(d, "time", "status", COVS, causes=[1], weights="two", robust=True).models[1]
    assert_allclose(whole.var, model.var, rtol=0)
    assert not np.allclose(sandwich.var, model.var, rtol=1e-3)
    with pytest.raises(DataError, match=r"^robust must be True, False or None, but was 'yes'$"):
        cause_specific_cox(d, "time", "status", COVS, robust="yes")
