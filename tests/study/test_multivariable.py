"""The study's optional multivariable Fine–Gray table (issue 24, item 5).

The fit is :func:`leiosurv.stats.fine_gray` (tested against ``cmprsk::crr`` in
tests/stats/test_fine_gray.py); here: the covariates (age, male sex, the four
factors of seed 001's rule), complete cases with the excluded rows counted,
the events-per-variable flag at its threshold (10, Peduzzi et al. 1995), and a
model that cannot be estimated reported with a note instead of stopping.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.testing import assert_allclose

from leiosurv.clinical import evidence
from leiosurv.stats import fine_gray
from leiosurv.study import (
    MIN_EVENTS_PER_VARIABLE,
    MultivariableFineGray,
    multivariable_fine_gray,
    read_cohort,
    synthesize_cohort,
)


@cache
def cohort(n: int = 3000, seed: int = 2, missing: float = 0.0):
    return read_cohort(synthesize_cohort(n, seed=seed, missing=missing))


def test_covariates_and_coefficients_are_fine_gray_on_complete_cases():
    """Each outcome's rows equal fine_gray(complete cases, time, status, [age, male, four factors])."""
    c = cohort(3000, 2, 0.05)
    tables = multivariable_fine_gray(c)
    assert [t.outcome for t in tables] == ["metastasis", "local_recurrence"]
    covs = ["age", "male", *evidence.DLMS_FACTORS]
    df = c.factor_frame(list(evidence.DLMS_FACTORS))
    df = df.assign(male=np.where(df["sex"].isna(), np.nan, (df["sex"] == "male").astype(float)))
    for t, (tcol, scol) in zip(tables, (("met_time", "met_status"), ("lr_time", "lr_status"))):
        complete = df[[tcol, scol, *covs]].notna().all(axis=1)
        assert t.n_excluded_missing == int((~complete).sum()) > 0  # missing factors are counted, not coded 0
        assert t.n_used + t.n_excluded_missing == c.n
        used = df.loc[complete, [tcol, scol, *covs]].astype({k: float for k in covs})
        fit = fine_gray(used, tcol, scol, covs)
        assert [r.covariate for r in t.rows] == covs
        assert_allclose([r.coef for r in t.rows], fit.coef.to_numpy(), rtol=1e-12)
        assert_allclose([r.hr_upper for r in t.rows], fit.table["hr_upper"], rtol=1e-12)
        assert t.n_events == int((used[scol] == 1).sum())
        assert t.events_per_variable == t.n_events / 6


def test_exploratory_flag_at_the_events_per_variable_threshold():
    """Exploratory exactly when events / 6 < the threshold: moving the threshold by one event per variable flips it."""
    assert MIN_EVENTS_PER_VARIABLE == 10
    c = cohort()
    t = multivariable_fine_gray(c)[0]
    epv = t.events_per_variable
    at = int(np.floor(epv))
    assert not multivariable_fine_gray(c, min_events_per_variable=at)[0].exploratory
    assert multivariable_fine_gray(c, min_events_per_variable=at + 1)[0].exploratory
    assert t.exploratory == (epv < 10)


def test_small_cohort_is_exploratory_and_a_separating_factor_is_a_note():
    """381 synthetic patients: few events per variable; a factor with no local recurrence cannot be estimated."""
    tables = multivariable_fine_gray(cohort(381, 1))
    assert all(t.exploratory for t in tables)
    lr = tables[1]
    assert lr.rows == () and "did not converge" in lr.note and "invasion=" in lr.note
    assert "not estimable" in str(lr) and "EXPLORATORY" in str(lr)
    back = MultivariableFineGray.from_json(tables[0].to_json())
    assert back == tables[0]
