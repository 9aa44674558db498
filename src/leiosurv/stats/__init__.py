"""Competing-risks statistics: exact against R, vectorised, no I/O.

* :func:`cumulative_incidence` — Aalen–Johansen CIF per cause and group, with
  the delta-method variance of ``prodlim`` / ``survival::survfit`` or the
  Aalen-type variance of ``cmprsk::cuminc``;
* :func:`conditional_incidence` — the same given event-free beyond a landmark
  (``prodlim`` on ``subset(time > s)`` with time ``time - s``);
* :func:`kaplan_meier` — all-cause survival, Greenwood SE (``survfit``);
* :func:`risk_difference` — group minus reference at horizons, Wald CI;
* :func:`gray_test` — Gray's K-sample test (``cmprsk::cuminc``);
* :func:`fine_gray` — Fine–Gray subdistribution hazard regression (``cmprsk::crr``);
* :func:`cause_specific_cox` — Cox model per cause (``survival::coxph``), absolute
  risks as ``riskRegression::CSC``.
* :func:`score` — time-dependent AUC and Brier score of predicted risks at a
  horizon, IPCW with a Kaplan–Meier censoring model (``riskRegression::Score``).

``cumulative_incidence`` and ``kaplan_meier`` take delayed entry (``entry=``,
left truncation) and case weights (``weights=``) as ``survival::survfit``.

Every estimator reads its data through :func:`count_events`, whose result
(:class:`EventCounts`) is the sufficient statistic; results are frozen objects
that print themselves and serialise as every leiosurv result does
(:mod:`leiosurv.serial`: ``to_dict()``, ``from_dict()``, ``json_schema()``; their
JSON forms are the dataclasses of lists in ``_serialize.py``).  Shared by every layer:
:data:`DAYS_PER_YEAR` (365.25) and the SQL quoting helpers
:func:`quote_identifier` and :func:`quote_literal`.

Importing this package loads numpy only; pandas, scipy, matplotlib, DuckDB
and Narwhals are imported where they are first used.

Examples
--------
>>> from leiosurv.stats import cumulative_incidence, gray_test, risk_difference
>>> data = {"time": [2, 3, 5, 6, 8, 1, 2, 4, 4, 7], "event": [1, 0, 2, 1, 0, 1, 1, 2, 0, 1],
...         "necrosis": [0] * 5 + [1] * 5}
>>> res = cumulative_incidence(data, group="necrosis")
>>> res.at(5)[["group", "cause", "estimate"]].round(3).to_numpy().tolist()
[[0, 1, 0.2], [0, 2, 0.267], [1, 1, 0.4], [1, 2, 0.2]]
>>> rd = risk_difference(res, 5, cause=1)
>>> round(float(rd.table["rd"].iat[0]), 3)
0.2
>>> gray_test(res).table["df"].tolist()
[1, 1]
"""

from leiosurv.stats._aalen_johansen import IntervalOptions, cumulative_incidence
from leiosurv.stats._ci import (
    EDGE_TOLERANCE,
    EXACT_BOUND_METHOD,
    at_zero_or_one,
    exact_band,
    exact_bound,
    exact_bounds,
    n_known,
    n_known_at,
)
from leiosurv.stats._conditional import ConditionalIncidence, conditional_incidence
from leiosurv.stats._counts import EventCounts, GroupCounts
from leiosurv.stats._cox import cause_specific_cox
from leiosurv.stats._engines import count_events
from leiosurv.stats._estimators import AalenJohansenEstimator, KaplanMeierEstimator
from leiosurv.stats._fine_gray import fine_gray
from leiosurv.stats._gray import gray_test
from leiosurv.stats._kaplan_meier import kaplan_meier
from leiosurv.stats._regression_results import CauseSpecificCox, CoxModel, FineGray
from leiosurv.stats._results import CumulativeIncidence, GrayTest, KaplanMeier, RiskDifference
from leiosurv.stats._risk_difference import risk_difference
from leiosurv.stats._score import Score, score
from leiosurv.stats._sql import quote_identifier, quote_literal
from leiosurv.stats._units import DAYS_PER_MONTH, DAYS_PER_YEAR

__all__ = [
    "cumulative_incidence",
    "conditional_incidence",
    "kaplan_meier",
    "risk_difference",
    "gray_test",
    "fine_gray",
    "cause_specific_cox",
    "FineGray",
    "CauseSpecificCox",
    "CoxModel",
    "score",
    "Score",
    "exact_bound",
    "exact_bounds",
    "exact_band",
    "at_zero_or_one",
    "EDGE_TOLERANCE",
    "n_known",
    "n_known_at",
    "EXACT_BOUND_METHOD",
    "CumulativeIncidence",
    "ConditionalIncidence",
    "KaplanMeier",
    "RiskDifference",
    "GrayTest",
    "IntervalOptions",
    "EventCounts",
    "GroupCounts",
    "count_events",
    "AalenJohansenEstimator",
    "KaplanMeierEstimator",
    "DAYS_PER_YEAR",
    "DAYS_PER_MONTH",
    "quote_identifier",
    "quote_literal",
]
