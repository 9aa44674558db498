"""The provenance record every estimator attaches to its result.

One builder, so that every result says the same things in the same keys:
which function, with which arguments, on how many rows and groups, counted
by which engine, with which leiosurv version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leiosurv.stats._counts import EventCounts
from leiosurv.stats._serialize import jsonable

__all__ = ["provenance", "data_kind"]


def data_kind(data: Any) -> str:
    """Short name of the input's type, as recorded under ``arguments["data"]``."""
    return "EventCounts" if isinstance(data, EventCounts) else type(data).__name__


def provenance(function: str, arguments: Mapping[str, Any], counts: EventCounts | None = None,
               *, source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Provenance of a result of ``leiosurv.stats.<function>``.

    Parameters
    ----------
    function : str
        Public name of the estimator, e.g. ``"cumulative_incidence"``.
    arguments : mapping
        The call's arguments (made JSON-safe here).
    counts : EventCounts, optional
        The counts the estimate was computed from: adds ``n``, ``groups``
        (label and size), ``causes`` and ``engine`` (the counting engine's
        ``meta``).
    source : mapping, optional
        The provenance of the result this one was derived from (a risk
        difference records its cumulative incidence's).

    Examples
    --------
    >>> sorted(provenance("gray_test", {"rho": 0.0}))
    ['arguments', 'function', 'leiosurv_version']
    """
    import leiosurv

    out: dict[str, Any] = {"function": f"leiosurv.stats.{function}", "arguments": jsonable(dict(arguments))}
    if counts is not None:
        out["n"] = counts.n
        out["groups"] = [{"label": jsonable(g.label), "n": g.n} for g in counts.groups]
        out["causes"] = list(counts.causes)
        out["engine"] = jsonable(counts.meta)
    if source is not None:
        out["source"] = dict(source)
    out["leiosurv_version"] = leiosurv.__version__
    return out
