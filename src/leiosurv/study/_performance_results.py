"""Result objects of the rule's prediction performance in ``validate_rule`` (issue 24, item 5).

Kept apart from :mod:`leiosurv.study._results` so that this module imports
nothing of the study package; :class:`~leiosurv.study.RuleValidation` holds a
:class:`RulePerformance`.  The computation is in :mod:`leiosurv.study._performance`.
"""

from __future__ import annotations

from dataclasses import dataclass

from leiosurv.serial import JSONFloat, Serialisable

__all__ = ["Discrimination", "CalibrationPoint", "RulePerformance"]


@dataclass(frozen=True)
class Discrimination(Serialisable):
    """Time-dependent AUC at the horizon of one marker for one outcome (``leiosurv.stats.score``).

    ``marker`` is ``"rule_group"`` (high = 1, low = 0; tumours with incomplete
    factor data left out) or ``"factor_count"`` (the number of the rule's
    factors present; tumours with every rule factor recorded).  ``n_cases``
    are the outcomes by the horizon, ``n_competing`` the deaths without it,
    ``n_censored`` the censorings before the horizon and ``n_event_free`` those
    followed beyond it.  ``note`` says why there is no AUC when it is NaN.
    """

    outcome: str
    marker: str
    label: str
    horizon_days: JSONFloat
    auc: JSONFloat
    se: JSONFloat
    lower: JSONFloat
    upper: JSONFloat
    n: int
    n_cases: int
    n_competing: int
    n_censored: int
    n_event_free: int
    note: str = ""


@dataclass(frozen=True)
class CalibrationPoint(Serialisable):
    """One stratum's predicted (published) risk against the cohort's observed Aalen–Johansen risk.

    ``kind`` is ``"overall"``, ``"factor"`` (``arm`` present / absent) or
    ``"group"`` (``arm`` high / low).  ``predicted`` is the published 5-year
    risk of the same stratum, NaN where seed 001 publishes none (the rule's
    groups): ``predicted_source`` then says so instead of citing.
    ``observed*``, ``n``, ``n_events`` and ``flags`` are the study's own
    :class:`~leiosurv.study.Risk` of that stratum.
    """

    outcome: str
    kind: str
    factor: str
    arm: str
    label: str
    predicted: JSONFloat
    predicted_lower: JSONFloat
    predicted_upper: JSONFloat
    predicted_text: str
    predicted_source: str
    observed: JSONFloat
    observed_se: JSONFloat
    observed_lower: JSONFloat
    observed_upper: JSONFloat
    n: int
    n_events: int
    flags: tuple[str, ...] = ()

    @property
    def published(self) -> bool:
        """Whether a published risk exists for this stratum."""
        return self.predicted == self.predicted  # not NaN


@dataclass(frozen=True)
class RulePerformance(Serialisable):
    """Discrimination and calibration of the published rule on a cohort, at the study's horizon."""

    horizon_days: JSONFloat
    level: JSONFloat
    discrimination: tuple[Discrimination, ...]
    calibration: tuple[CalibrationPoint, ...]
