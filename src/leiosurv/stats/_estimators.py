"""Thin estimator objects over the pure functions (scikit-learn style).

The functions (:func:`~leiosurv.stats.cumulative_incidence`,
:func:`~leiosurv.stats.kaplan_meier`) compute; an estimator only holds the
options (``__init__`` stores them, nothing else), ``fit`` computes and returns
``self``, fitted values end in ``_``, and anything that needs a fit raises
:class:`~leiosurv.exceptions.NotFittedError` before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from leiosurv.exceptions import NotFittedError
from leiosurv.stats._aalen_johansen import cumulative_incidence
from leiosurv.stats._kaplan_meier import kaplan_meier
from leiosurv.stats._results import CumulativeIncidence, KaplanMeier

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AalenJohansenEstimator", "KaplanMeierEstimator"]


class _Estimator:
    result_: Any

    def _fitted(self) -> Any:
        result = self.__dict__.get("result_")
        if result is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data, time=..., event=...) first"
            )
        return result

    def predict(self, horizons: Any, *, beyond: str = "raise") -> pd.DataFrame:
        """Estimates at ``horizons`` (see the result's ``at``); needs :meth:`fit` first."""
        return self._fitted().at(horizons, beyond=beyond)

    def __getattr__(self, name: str) -> Any:
        # fitted attributes (ending in "_") read before fit: say so, not just "no attribute"
        if name.endswith("_") and not name.startswith("__"):
            raise NotFittedError(
                f"{type(self).__name__}.{name} is set by fit(); call fit(data, time=..., event=...) first"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.endswith("_"))
        return f"{type(self).__name__}({opts})"


class AalenJohansenEstimator(_Estimator):
    """Aalen–Johansen cumulative incidence as an estimator object.

    Parameters
    ----------
    variance, ci, level, z
        As in :func:`~leiosurv.stats.cumulative_incidence`.

    Attributes
    ----------
    result_ : CumulativeIncidence
        The fitted result.
    causes_ : tuple of int
    groups_ : list

    Examples
    --------
    >>> est = AalenJohansenEstimator(ci="log-log")
    >>> est.predict(1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.NotFittedError: this AalenJohansenEstimator is not fitted yet; call fit(...) first
    >>> est.fit({"time": [1, 2, 3, 4], "event": [1, 0, 2, 1]}).causes_
    (1, 2)
    """

    def __init__(self, *, variance: str = "delta", ci: str = "plain", level: float = 0.95,
                 z: float | None = None) -> None:
        self.variance = variance
        self.ci = ci
        self.level = level
        self.z = z

    def fit(self, data: Any, time: str = "time", event: str = "event", group: str | None = None, *,
            causes: Sequence[int] | None = None, event_map: Mapping[Any, int] | None = None,
            entry: str | None = None, weights: str | None = None) -> AalenJohansenEstimator:
        """Estimate on ``data`` (any input of :func:`~leiosurv.stats.cumulative_incidence`, with its
        ``entry`` and ``weights``); returns self."""
        res = cumulative_incidence(data, time, event, group, causes=causes, event_map=event_map,
                                   variance=self.variance, ci=self.ci, level=self.level, z=self.z,
                                   entry=entry, weights=weights)
        self.result_: CumulativeIncidence = res
        self.causes_ = res.causes
        self.groups_ = res.groups
        return self


class KaplanMeierEstimator(_Estimator):
    """Kaplan–Meier all-cause survival as an estimator object.

    Parameters
    ----------
    ci, level, z
        As in :func:`~leiosurv.stats.kaplan_meier`.

    Attributes
    ----------
    result_ : KaplanMeier
    groups_ : list
    """

    def __init__(self, *, ci: str = "log", level: float = 0.95, z: float | None = None) -> None:
        self.ci = ci
        self.level = level
        self.z = z

    def fit(self, data: Any, time: str = "time", event: str = "event", group: str | None = None, *,
            event_map: Mapping[Any, int] | None = None, entry: str | None = None,
            weights: str | None = None) -> KaplanMeierEstimator:
        """Estimate on ``data`` (with :func:`~leiosurv.stats.kaplan_meier`'s ``entry`` and ``weights``);
        returns self."""
        res = kaplan_meier(data, time, event, group, event_map=event_map, ci=self.ci, level=self.level, z=self.z,
                           entry=entry, weights=weights)
        self.result_: KaplanMeier = res
        self.groups_ = res.groups
        return self
