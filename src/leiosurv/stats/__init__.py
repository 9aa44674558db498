"""Competing-risks statistics: exact against R, vectorised, no I/O.

* :func:`cumulative_incidence` — Aalen–Johansen CIF per cause and group, with
  the delta-method variance of ``prodlim`` / ``survival::survfit`` or the
  Aalen-type variance of ``cmprsk::cuminc``;
* :func:`kaplan_meier` — all-cause survival, Greenwood SE (``survfit``);
* :func:`risk_difference` — group minus reference at horizons, Wald CI;
* :func:`gray_test` — Gray's K-sample test (``cmprsk::cuminc``).

Every estimator reads its data through :func:`count_events`, whose result
(:class:`EventCounts`) is the sufficient statistic; results are frozen objects
that print themselves and serialise with ``to_dict()``.
"""

from leiosurv.stats._aalen_johansen import cumulative_incidence
from leiosurv.stats._counts import EventCounts, GroupCounts
from leiosurv.stats._engines import count_events
from leiosurv.stats._gray import GrayTest, gray_test
from leiosurv.stats._kaplan_meier import kaplan_meier
from leiosurv.stats._results import CumulativeIncidence, KaplanMeier
from leiosurv.stats._risk_difference import RiskDifference, risk_difference

__all__ = [
    "cumulative_incidence",
    "kaplan_meier",
    "risk_difference",
    "gray_test",
    "CumulativeIncidence",
    "KaplanMeier",
    "RiskDifference",
    "GrayTest",
    "EventCounts",
    "GroupCounts",
    "count_events",
]
