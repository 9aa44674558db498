"""Alerts as of a date: overdue encounters, encounters coming due, surveillance gaps.

* **overdue**: a planned encounter whose window closed within ``lookback_days``
  before ``as_of`` and that is neither done, missed nor cancelled; planned
  encounters overdue for longer (patients lost to follow-up, or records never
  completed) are not listed one by one but counted in one ``lost`` alert per
  registry (:func:`alerts` with ``lookback_days=None`` lists them all);
* **due**: a planned encounter due within ``due_within`` days whose window is
  still open (including one inside its window today);
* **gap**: no imaging for longer than allowed

  - for a lesion under observation: longer than its ``max_interval_days``
    between two imaging studies (or from first seen), or from the last one to
    ``as_of`` (an open gap); a past gap is reported when the imaging that
    closed it lies within ``lookback_days`` before ``as_of`` (so seed 000's
    2019-2023 gap shows as soon as the 2023 PET is entered);
  - for a plan with imaging: ``as_of`` lies within the plan's imaging period
    and the last imaging of the tumour (or the plan's start) is older than the
    plan allows (its longest imaging spacing plus both windows).

Dead patients have no alerts after their death.  Every query is indexed
(``ix_encounter_open``, ``ix_encounter_due``, ``ix_assessment_current_imaging``,
``ix_encounter_tumour_imaging``, ``ix_encounter_observation``).  The first two
are partial indexes of the planned encounters (migration 0005): a query uses
them only when its text says ``status = 'planned'`` (a bound parameter could be
any status), hence ``_PLANNED``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.registry import _tables as T
from leiosurv.registry._records import OUT

__all__ = ["Alert", "alerts", "observation_gaps"]

_PLANNED = T.encounter.c.status == sa.literal_column("'planned'")  # as the partial indexes say it


@dataclass(frozen=True)
class Alert:
    """One alert: what, for whom, which date and why (the web API's schema of an alert too)."""

    # a plain dataclass (alerts are made by the thousand); pydantic reads it as a schema with this config
    __pydantic_config__ = OUT
    kind: Literal["overdue", "due", "gap", "lost"]  # lost: a count of long-overdue encounters
    patient: str
    tumour: str | None
    date: _dt.date
    item: str
    detail: str
    days: int
    synthetic: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        return d


def _death_subq():
    return (sa.select(T.event.c.patient_id, T.event.c.date.label("death"))
            .where(T.event.c.kind == "death").subquery())


def alerts(conn: Connection, as_of: _dt.date, *, due_within: int = 30, lookback_days: int | None = 365,
           patient_ids: list[int] | None = None) -> list[Alert]:
    """All alerts as of *as_of*, overdue first, then gaps, then due; see the module docstring."""
    out: list[Alert] = []
    e, p, t = T.encounter, T.patient, T.tumour
    horizon = as_of + _dt.timedelta(days=due_within)

    def scope(q, col):
        return q.where(col.in_(patient_ids)) if patient_ids is not None else q

    since = None if lookback_days is None else as_of - _dt.timedelta(days=lookback_days)
    q = (sa.select(p.c.pseudonym, t.c.label, e.c.plan_item, e.c.kind, e.c.modality, e.c.due, e.c.window_end,
                   p.c.synthetic)
         .select_from(e.join(p, p.c.id == e.c.patient_id).outerjoin(t, t.c.id == e.c.tumour_id))
         .where(_PLANNED, e.c.window_end < as_of).order_by(e.c.window_end, p.c.pseudonym))
    if since is not None:
        q = q.where(e.c.window_end >= since)
        old = sa.select(sa.func.count()).where(_PLANNED, e.c.window_end < since)
        n_old = conn.execute(scope(old, e.c.patient_id)).scalar_one()
        if n_old:
            out.append(Alert("lost", "(several)", None, since, "overdue > lookback",
                             f"{n_old} planned encounters whose window closed before {since.isoformat()} were never "
                             "recorded (lost to follow-up?); list them with lookback_days=None / --lookback-all",
                             n_old, False))
    for r in conn.execute(scope(q, e.c.patient_id)):
        out.append(Alert("overdue", r.pseudonym, r.label, r.due, r.plan_item,
                         f"{r.kind}: {r.modality}; window closed {r.window_end.isoformat()}",
                         (as_of - r.window_end).days, bool(r.synthetic)))
    out += observation_gaps(conn, as_of, lookback_days=lookback_days, patient_ids=patient_ids)
    out += _plan_gaps(conn, as_of, patient_ids=patient_ids)
    q = (sa.select(p.c.pseudonym, t.c.label, e.c.plan_item, e.c.kind, e.c.modality, e.c.due, e.c.window_start,
                   e.c.window_end, p.c.synthetic)
         .select_from(e.join(p, p.c.id == e.c.patient_id).outerjoin(t, t.c.id == e.c.tumour_id))
         .where(_PLANNED, e.c.due <= horizon, e.c.window_end >= as_of)
         .order_by(e.c.due, p.c.pseudonym))
    for r in conn.execute(scope(q, e.c.patient_id)):
        out.append(Alert("due", r.pseudonym, r.label, r.due, r.plan_item,
                         f"{r.kind}: {r.modality}; window {r.window_start.isoformat()} to {r.window_end.isoformat()}",
                         (r.due - as_of).days, bool(r.synthetic)))
    return out


def observation_gaps(conn: Connection, as_of: _dt.date, *, lookback_days: int | None = 365,
                     patient_ids: list[int] | None = None) -> list[Alert]:
    """Surveillance gaps of lesions under observation (``lookback_days=None``: every past gap)."""
    o, e, p = T.observation, T.encounter, T.patient
    d = _death_subq()
    q = (sa.select(o.c.id, o.c.label, o.c.description, o.c.first_seen, o.c.max_interval_days, o.c.status,
                   o.c.closed_on, p.c.pseudonym, p.c.synthetic, d.c.death)
         .select_from(o.join(p, p.c.id == o.c.patient_id).outerjoin(d, d.c.patient_id == o.c.patient_id))
         .where(o.c.first_seen <= as_of))
    if patient_ids is not None:
        q = q.where(o.c.patient_id.in_(patient_ids))
    obs = conn.execute(q).all()
    if not obs:
        return []
    img = conn.execute(sa.select(e.c.observation_id, e.c.done_on).where(
        e.c.observation_id.in_([r.id for r in obs]), e.c.modality_class == "imaging", e.c.done_on <= as_of)
        .order_by(e.c.observation_id, e.c.done_on)).all()
    by_obs: dict[int, list[_dt.date]] = {}
    for r in img:
        by_obs.setdefault(r.observation_id, []).append(r.done_on)
    out: list[Alert] = []
    for r in obs:
        end = min(x for x in (as_of, r.closed_on, r.death) if x is not None)
        dates = [r.first_seen] + [x for x in by_obs.get(r.id, []) if x <= end]
        for a, b in zip(dates[:-1], dates[1:]):
            gap = (b - a).days
            if gap > r.max_interval_days and (lookback_days is None or (as_of - b).days <= lookback_days):
                out.append(Alert("gap", r.pseudonym, None, b, r.label,
                                 f"no imaging of {r.description} from {a.isoformat()} to {b.isoformat()} "
                                 f"({gap} days; allowed {r.max_interval_days})", gap, bool(r.synthetic)))
        active = r.status == "active" or (r.closed_on is not None and r.closed_on > as_of)
        if active and (r.death is None or r.death > as_of):
            gap = (as_of - dates[-1]).days
            if gap > r.max_interval_days:
                out.append(Alert("gap", r.pseudonym, None, dates[-1], r.label,
                                 f"no imaging of {r.description} since {dates[-1].isoformat()} ({gap} days "
                                 f"as of {as_of.isoformat()}; allowed {r.max_interval_days}): OPEN GAP",
                                 gap, bool(r.synthetic)))
    return out


def _plan_gaps(conn: Connection, as_of: _dt.date, *, patient_ids: list[int] | None = None) -> list[Alert]:
    a, t, p, e = T.assessment, T.tumour, T.patient, T.encounter
    d = _death_subq()
    last = (sa.select(sa.func.max(e.c.done_on)).where(
        e.c.tumour_id == a.c.tumour_id, e.c.modality_class == "imaging", e.c.done_on <= as_of)
        .scalar_subquery())
    q = (sa.select(p.c.pseudonym, p.c.synthetic, t.c.label, a.c.plan_start, a.c.imaging_interval_days,
                   a.c.imaging_until, a.c.plan_basis, last.label("last"), d.c.death)
         .select_from(a.join(t, t.c.id == a.c.tumour_id).join(p, p.c.id == t.c.patient_id)
                      .outerjoin(d, d.c.patient_id == t.c.patient_id))
         .where(a.c.current, a.c.imaging_until >= as_of, a.c.plan_start <= as_of,
                a.c.imaging_interval_days.is_not(None)))
    if patient_ids is not None:
        q = q.where(t.c.patient_id.in_(patient_ids))
    out = []
    for r in conn.execute(q):
        if r.death is not None and r.death <= as_of:
            continue
        since = max(x for x in (r.plan_start, r.last) if x is not None)
        gap = (as_of - since).days
        if gap > r.imaging_interval_days:
            what = f"last imaging {r.last.isoformat()}" if r.last else f"no imaging since the plan began {since}"
            out.append(Alert("gap", r.pseudonym, r.label, since, "plan imaging",
                             f"{what}: {gap} days as of {as_of.isoformat()}; the plan ({r.plan_basis}) allows "
                             f"{r.imaging_interval_days}", gap, bool(r.synthetic)))
    return out


def alerts_frame(items: list[Alert]) -> pd.DataFrame:
    """The alerts as a table (one row each)."""
    cols = ["kind", "patient", "tumour", "date", "item", "days", "detail", "synthetic"]
    return pd.DataFrame([{k: a.to_dict()[k] for k in cols} for a in items], columns=cols)
