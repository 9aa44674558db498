"""An optional multivariable Fine–Gray table for the cohort study (issue 24, item 5).

Seed 001's analysis is univariable.  This table adjusts the four factors of
the published rule for each other, age and sex.  For each outcome it fits a
Fine–Gray model (:func:`leiosurv.stats.fine_gray`, as ``cmprsk::crr``) with
death without the outcome as the competing event.  The fit uses complete
cases, and the excluded rows are counted and reported (unknown is never
coded as absent).

The table is marked **exploratory** when the events per variable fall below
:data:`MIN_EVENTS_PER_VARIABLE`.  Six variables need at least 60 events of the
outcome among the complete cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from leiosurv.clinical import evidence
from leiosurv.serial import JSONFloat, Serialisable
from leiosurv.study._schema import OUTCOME_COLUMNS

__all__ = ["MIN_EVENTS_PER_VARIABLE", "MultivariableRow", "MultivariableFineGray", "multivariable_fine_gray"]

MIN_EVENTS_PER_VARIABLE = 10
"""Below this many events of the outcome per covariate, the multivariable table is flagged exploratory.

This is a statistical reporting choice, not a clinical rule.  With fewer than
about 10 events per variable, proportional hazards regression coefficients are
biased and their Wald intervals do not keep their coverage.  Source: Peduzzi
P, Concato J, Feinstein AR, Holford TR. Importance of events per independent
variable in proportional hazards regression analysis. II. Accuracy and
precision of regression estimates. *J Clin Epidemiol* 1995;48:1503–1510; and,
for logistic regression, Peduzzi et al. *J Clin Epidemiol* 1996;49:1373–1379."""

#: the covariates besides the rule's factors: age in years, sex as male = 1
_AGE_SEX = ("age", "male")


@dataclass(frozen=True)
class MultivariableRow(Serialisable):
    """One covariate of one outcome's model: subdistribution hazard ratio with its Wald interval."""

    covariate: str
    label: str
    coef: JSONFloat
    se: JSONFloat
    hr: JSONFloat
    hr_lower: JSONFloat
    hr_upper: JSONFloat
    p_value: JSONFloat


@dataclass(frozen=True)
class MultivariableFineGray(Serialisable):
    """The multivariable Fine–Gray model of one outcome (complete cases).

    ``exploratory`` is true when ``events_per_variable`` is below
    ``min_events_per_variable`` (:data:`MIN_EVENTS_PER_VARIABLE`, Peduzzi et al.).
    """

    outcome: str
    rows: tuple[MultivariableRow, ...]
    n_used: int
    n_excluded_missing: int
    n_events: int
    n_competing: int
    events_per_variable: JSONFloat
    min_events_per_variable: int
    exploratory: bool
    level: JSONFloat
    r_equivalent: str
    note: str = ""
    """Why there are no rows, when the model cannot be estimated (e.g. a factor separates the events)."""

    def __str__(self) -> str:
        from leiosurv.study._results import OUTCOME_LABELS  # here: _results imports this module

        head = (f"Multivariable Fine-Gray, {OUTCOME_LABELS.get(self.outcome, self.outcome).lower()} "
                f"(competing: death without it): n={self.n_used} complete cases "
                f"({self.n_excluded_missing} excluded for missing values), {self.n_events} events, "
                f"{self.events_per_variable:.1f} events per variable")
        if self.exploratory:
            head += f" - EXPLORATORY (< {self.min_events_per_variable} events per variable, Peduzzi et al. 1995)"
        lines = [head]
        if self.note:
            lines.append(f"  not estimable: {self.note}")
        for r in self.rows:
            lines.append(f"  {r.label:<40} sHR {r.hr:6.2f} ({r.hr_lower:.2f} to {r.hr_upper:.2f}), "
                         f"p = {r.p_value:.3g}")
        return "\n".join(lines)


def multivariable_fine_gray(cohort: Any, *, level: float = 0.95,
                            min_events_per_variable: int = MIN_EVENTS_PER_VARIABLE
                            ) -> tuple[MultivariableFineGray, ...]:
    """Fine–Gray models of each outcome on age, sex and the rule's four factors.

    Parameters
    ----------
    cohort : Cohort
        As read by :func:`leiosurv.study.read_cohort`.
    level : float, default 0.95
    min_events_per_variable : int, default :data:`MIN_EVENTS_PER_VARIABLE` (10)
        Below this, the table of that outcome is flagged ``exploratory``.

    Returns
    -------
    tuple of MultivariableFineGray
        One per outcome (metastasis, local recurrence).

    A model that cannot be estimated on these data (no event, a constant or
    collinear covariate, or a factor that separates the events so that its
    coefficient is infinite) has no rows and a ``note`` that says why; the
    study is not stopped by it.
    """
    from leiosurv.exceptions import DataError
    from leiosurv.stats import fine_gray

    factors = tuple(evidence.DLMS_FACTORS)
    labels = {"age": "Age (per year)", "male": "Male sex", **evidence.DLMS_FACTORS}
    df = cohort.factor_frame(list(factors))
    df = df.assign(male=np.where(df["sex"].isna(), np.nan, (df["sex"] == "male").astype(float)))
    covariates = [*_AGE_SEX, *factors]
    out = []
    for outcome, (tcol, scol) in OUTCOME_COLUMNS.items():
        cols = [tcol, scol, *covariates]
        complete = df[cols].notna().all(axis=1)
        used = df.loc[complete, cols].astype({c: float for c in covariates})
        n_events = int((used[scol] == 1).sum())
        note = ""
        rows: tuple[MultivariableRow, ...] = ()
        try:
            fit = fine_gray(used, tcol, scol, covariates, cause=1, level=level)
        except DataError as exc:
            note = str(exc)
        else:
            t = fit.table
            rows = tuple(MultivariableRow(c, labels.get(c, c), *(float(t[k].iat[i]) for k in
                                          ("coef", "se", "hr", "hr_lower", "hr_upper", "p_value")))
                         for i, c in enumerate(covariates))
        epv = n_events / len(covariates)
        out.append(MultivariableFineGray(
            outcome, rows, int(complete.sum()), int((~complete).sum()), n_events, int((used[scol] == 2).sum()),
            epv, int(min_events_per_variable), bool(epv < min_events_per_variable or math.isnan(epv)), level,
            f"cmprsk::crr({tcol}, {scol}, cov1 = cbind({', '.join(covariates)}), failcode = 1, cencode = 0)", note))
    return tuple(out)
