"""The registry's write rules as a pure, typed state machine on one patient's chart.

A :class:`Chart` is everything the registry holds on one patient (its rows, as
frozen records); every change the registry makes is a transition here, a
function ``(chart, ...) -> chart`` that neither reads nor writes a database.
The single-record commands of :class:`~leiosurv.registry.Registry` and the
import both load a chart (an empty one for a new patient), apply transitions,
and hand the old and new chart to :mod:`leiosurv.registry._save`, which writes
the difference (in batches, for the import).  So each rule exists once:

* **register** a tumour: its assessment's plan items are stored (a retrospective
  tumour's items whose window closed before ``track_from`` are left out); a
  patient already dead gets them closed as a death closes them (below);
* **re-plan** (a re-excision after a local recurrence, a metastasis, a
  re-assessment): the tumour's still-planned items due on or after the cut-off
  are cancelled ("replaced: ..."), the new assessment's items due on or after it
  are added;
* **death**: each still-planned item whose window closed *before* the death
  (``window_end < death``) is missed, every other is cancelled ("patient
  died"); active observations are resolved on the death's date;
* **encounter**: the newest still-planned row of a plan item is recorded done,
  missed or cancelled; an ad hoc encounter is added done;
* **reschedule**: the newest still-planned row of a plan item of a living
  patient gets a new due date, on or after its tumour's diagnosis, and the
  window the core gives a plan item due then (the width of its plan's windows);
  its previous version goes to the history ("rescheduled from ... to ...: reason");
* **correction**: a row is replaced by its corrected version, or removed as
  entered in error; either way its previous version goes to the append-only
  history.  A death voided or re-dated re-opens the items it closed (and closes
  them again at the new date); a metastasis voided re-plans the tumour off the
  metastatic pathway from the metastasis's date; a re-excision voided or
  re-dated undoes its re-plan (and re-plans from its new date); an encounter of
  a plan item voided re-opens the item.

Rows not stored yet have a :class:`New` key; :mod:`~leiosurv.registry._save`
gives them their ids.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from leiosurv.exceptions import NotFoundError, RegistryError
from leiosurv.registry._clinical_adapter import StoredAssessment, is_metastatic_pathway, item_window, run_assessment
from leiosurv.registry._values import history_text

__all__ = ["New", "Key", "Patient", "Tumour", "Assessment", "Treatment", "Event", "Observation", "Encounter",
           "Change", "Chart", "new_chart", "register", "reassess", "treatment", "event", "observation",
           "close_observation", "encounter", "planned_item", "reschedule", "correct", "void", "DIED",
           "CLOSED_BEFORE_DEATH"]

DIED = "patient died"
CLOSED_BEFORE_DEATH = "window closed before death"


class New:
    """The key of a row not stored yet (unique by identity)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "New()"


Key = int | New


@dataclass(frozen=True, slots=True)
class Patient:
    id: Key
    pseudonym: str
    sex: str = "unknown"
    synthetic: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Tumour:
    id: Key
    label: str
    diagnosis_date: _dt.date
    findings: dict
    site: str | None = None
    depth: str = "unknown"
    age_at_diagnosis: int | None = None
    confirmed_diagnosis: str | None = None
    necrosis: int | None = None
    mitotic_grade: int | None = None
    invasion: int | None = None
    margins: str | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """An assessment of a tumour; ``stored`` is the core's result for one not stored yet (None when loaded)."""

    id: Key
    tumour: Key
    seq: int
    assessed_on: _dt.date
    reason: str
    plan_basis: str
    plan_start: _dt.date
    current: bool
    stored: StoredAssessment | None = None
    result: dict | None = None  # the stored result with the registry's note (a confirmed diagnosis)


@dataclass(frozen=True, slots=True)
class Treatment:
    id: Key
    tumour: Key
    kind: str
    date: _dt.date
    end_date: _dt.date | None = None
    margin_status: str | None = None
    agent: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: Key
    tumour: Key | None
    kind: str
    date: _dt.date
    site: str | None = None
    cause: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    id: Key
    tumour: Key | None
    label: str
    description: str
    first_seen: _dt.date
    max_interval_days: int
    site: str | None = None
    status: str = "active"
    closed_on: _dt.date | None = None


@dataclass(frozen=True, slots=True)
class Encounter:
    id: Key
    tumour: Key | None
    origin: str  # planned / ad_hoc
    status: str
    modality_class: str
    kind: str
    observation: Key | None = None
    assessment: Key | None = None
    plan_item: str | None = None
    modality: str | None = None
    provider: str | None = None
    due: _dt.date | None = None
    window_start: _dt.date | None = None
    window_end: _dt.date | None = None
    done_on: _dt.date | None = None
    findings: str | None = None
    status_reason: str | None = None


Row = Patient | Tumour | Assessment | Treatment | Event | Observation | Encounter
R = TypeVar("R", Tumour, Assessment, Treatment, Event, Observation, Encounter)

#: the table of each record type (and the name a correction gives it)
TABLE = {Patient: "patient", Tumour: "tumour", Assessment: "assessment", Treatment: "treatment", Event: "event",
         Observation: "observation", Encounter: "encounter"}


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the append-only history: a record's previous version, replaced or voided."""

    table: str
    record: Key
    action: str  # corrected / voided
    reason: str
    by: str
    on: _dt.date
    previous: Row


@dataclass(frozen=True, slots=True)
class Chart:
    """One patient's records.  ``name`` and ``birth_date`` are the identity (kept in their own table)."""

    patient: Patient
    name: str | None = None
    birth_date: _dt.date | None = None
    tumours: tuple[Tumour, ...] = ()
    # loaded charts: the current assessment of each tumour only, unless loaded with every assessment (a void)
    assessments: tuple[Assessment, ...] = ()
    treatments: tuple[Treatment, ...] = ()
    events: tuple[Event, ...] = ()
    observations: tuple[Observation, ...] = ()
    encounters: tuple[Encounter, ...] = ()
    history: tuple[Change, ...] = ()  # new history entries (not stored yet)

    @property
    def death(self) -> _dt.date | None:
        """The date of death, or None."""
        return next((e.date for e in self.events if e.kind == "death"), None)

    def tumour(self, label: str | None, where: str) -> Tumour:
        """The tumour *label* (None: the first diagnosed)."""
        if label is not None:
            for t in self.tumours:
                if t.label == label:
                    return t
            raise NotFoundError(f"tumour {label!r} of patient {self.patient.pseudonym!r}: no such tumour",
                                field="tumour", patient=self.patient.pseudonym)
        if not self.tumours:
            raise NotFoundError(f"patient {self.patient.pseudonym!r} has no tumour registered", field="tumour",
                                patient=self.patient.pseudonym)
        return min(self.tumours, key=lambda t: (t.diagnosis_date, _order(t.id)))

    def observation(self, label: str) -> Observation:
        for o in self.observations:
            if o.label == label:
                return o
        raise NotFoundError(f"observation {label!r} of patient {self.patient.pseudonym!r}: no such observation",
                            field="observation", patient=self.patient.pseudonym)

    def current(self, tumour: Key) -> Assessment | None:
        """The tumour's current assessment (None: not assessed yet)."""
        return next((a for a in self.assessments if _same(a.tumour, tumour) and a.current), None)

    def metastasis(self, tumour: Key) -> _dt.date | None:
        """The tumour's first metastasis, or None."""
        return min((e.date for e in self.events if e.kind == "metastasis" and _same(e.tumour, tumour)), default=None)


def _same(a: Key | None, b: Key | None) -> bool:
    return a is b if isinstance(a, New) or isinstance(b, New) else a == b


def _order(k: Key) -> float:
    return float("inf") if isinstance(k, New) else k


def new_chart(pseudonym: str, *, sex: str = "unknown", synthetic: bool = False, note: str | None = None,
              name: str | None = None, birth_date: _dt.date | None = None) -> Chart:
    """The chart of a patient being registered."""
    if not isinstance(pseudonym, str) or not pseudonym.strip():
        raise RegistryError("patient: the pseudonym must be a non-empty text", field="patient")
    if len(pseudonym) > 64:
        raise RegistryError("patient: the pseudonym must have at most 64 characters", field="patient")
    return Chart(Patient(New(), pseudonym, sex, bool(synthetic), note), name=name, birth_date=birth_date)


# --- the plan ------------------------------------------------------------------------------------------------


def _items(s: StoredAssessment, tumour: Key, assessment: Key, keep: Callable[[Any], bool]) -> list[Encounter]:
    return [Encounter(New(), tumour, "planned", "planned", i.modality_class, i.kind, assessment=assessment,
                      plan_item=i.id, modality=i.modality, provider=i.provider, due=i.due,
                      window_start=i.window_start, window_end=i.window_end) for i in s.plan if keep(i)]


def _closed_at_death(e: Encounter, death: _dt.date) -> Encounter:
    """A still-planned item as a death on *death* leaves it: missed if its window closed before, else cancelled."""
    if e.status != "planned":
        return e
    assert e.window_end is not None  # a planned item has its window
    if e.window_end < death:
        return replace(e, status="missed", status_reason=CLOSED_BEFORE_DEATH)
    return replace(e, status="cancelled", status_reason=DIED)


def _reopened(e: Encounter) -> Encounter:
    """An item a death closed, planned again."""
    if e.origin == "planned" and e.status in ("missed", "cancelled") and e.status_reason in (DIED, CLOSED_BEFORE_DEATH):
        return replace(e, status="planned", status_reason=None)
    return e


def _assess(chart: Chart, t: Tumour, s: StoredAssessment, reason: str, on: _dt.date, cutoff: _dt.date | None,
            *, first: bool, confirmed: str | None = None) -> Chart:
    """Make *s* the tumour's current assessment and re-plan from *cutoff* (see the module docstring)."""
    cur = chart.current(t.id)
    seq = 1 if first else (cur.seq if cur is not None else max(
        (a.seq for a in chart.assessments if _same(a.tumour, t.id)), default=0)) + 1
    result = None
    if confirmed is not None:
        result = {**s.result, "registry": {"confirmed_diagnosis": confirmed}}
    a = Assessment(New(), t.id, seq, on, reason, s.plan_basis, s.plan_start, True, s, result)
    assessments = tuple(replace(x, current=False) if x is cur else x for x in chart.assessments) + (a,)
    encounters = chart.encounters
    if first:
        new = _items(s, t.id, a.id, lambda i: cutoff is None or i.window_end >= cutoff)
    else:
        label = f"replaced: {reason.replace('_', ' ')} on {on.isoformat()}"
        encounters = tuple(replace(e, status="cancelled", status_reason=label)
                           if _same(e.tumour, t.id) and e.status == "planned" and e.origin == "planned"
                           and (cutoff is None or e.due >= cutoff) else e for e in encounters)  # type: ignore[operator]
        new = _items(s, t.id, a.id, lambda i: cutoff is None or i.due >= cutoff)
    death = chart.death
    if death is not None:
        new = [_closed_at_death(e, death) for e in new]
    return replace(chart, assessments=assessments, encounters=encounters + tuple(new))


# --- transitions ---------------------------------------------------------------------------------------------


def register(chart: Chart, label: str, s: StoredAssessment, *, as_of: _dt.date,
             track_from: _dt.date | None = None) -> Chart:
    """Register tumour *label* assessed as *s* (``s.findings`` validated) with its plan."""
    if any(t.label == label for t in chart.tumours):
        raise RegistryError(f"tumour {label!r} of patient {chart.patient.pseudonym!r}: a tumour with this label "
                            "already exists", field="tumour", patient=chart.patient.pseudonym)
    f = s.findings
    dx = _dt.date.fromisoformat(f["excision_date"])
    age = (f.get("patient") or {}).get("age_years")
    bd = chart.birth_date
    if age is None and bd is not None:
        age = dx.year - bd.year - ((dx.month, dx.day) < (bd.month, bd.day))
    t = Tumour(New(), label, dx, f, site=f.get("site"), depth=f.get("depth") or "unknown", age_at_diagnosis=age,
               confirmed_diagnosis=f.get("confirmed_diagnosis"), **s.factors)
    chart = replace(chart, tumours=chart.tumours + (t,))
    return _assess(chart, t, s, "registration", as_of, track_from, first=True)


def reassess(chart: Chart, t: Tumour, s: StoredAssessment, reason: str, *, on: _dt.date, cutoff: _dt.date | None,
             confirmed: str | None = None, findings_changed: bool = False) -> Chart:
    """Re-plan tumour *t* with assessment *s* (a re-assessment, a re-excision, a metastasis)."""
    if findings_changed:
        f = s.findings
        upd = dict(findings=f, diagnosis_date=_dt.date.fromisoformat(f["excision_date"]), site=f.get("site"),
                   depth=f.get("depth") or "unknown", **s.factors)
        if f.get("confirmed_diagnosis") is not None:
            upd["confirmed_diagnosis"] = f["confirmed_diagnosis"]
        nt = replace(t, **upd)
        chart = replace(chart, tumours=tuple(nt if x is t else x for x in chart.tumours))
        t = nt
    return _assess(chart, t, s, reason, on, cutoff, first=False, confirmed=confirmed)


def treatment(chart: Chart, row: Treatment, *, as_of: _dt.date) -> Chart:
    """Add a treatment; a re-excision after a local recurrence (no metastasis, alive) re-plans from it."""
    chart = replace(chart, treatments=chart.treatments + (row,))
    return _treatment_effects(chart, row, as_of)


def _treatment_effects(chart: Chart, row: Treatment, as_of: _dt.date) -> Chart:
    t = next(x for x in chart.tumours if _same(x.id, row.tumour))
    if row.kind == "re_excision" and _replans_at(chart, t, row.date):
        f = dict(t.findings)
        if row.margin_status in ("positive", "negative"):
            f["margins"] = row.margin_status
        s = run_assessment(f, as_of=as_of, plan_start=row.date)
        chart = _assess(chart, t, s, "replan_re_excision", row.date, row.date, first=False)
    return chart


def _undo_treatment(chart: Chart, old: Treatment, as_of: _dt.date) -> Chart:
    """Undo the re-plan of re-excision *old* (no longer in *chart*): the tumour is re-assessed from its
    excision, its plan re-made from the re-excision's date."""
    cur = chart.current(old.tumour)
    t = next((x for x in chart.tumours if _same(x.id, old.tumour)), None)
    if old.kind != "re_excision" or t is None or cur is None or cur.reason != "replan_re_excision" \
            or cur.plan_start != old.date:
        return chart
    s = run_assessment(dict(t.findings), as_of=as_of, metastatic=chart.metastasis(t.id) is not None)
    return _assess(chart, t, s, "reassessment", old.date, old.date, first=False)


def _replans_at(chart: Chart, t: Tumour, d: _dt.date) -> bool:
    recurred = any(e.kind == "local_recurrence" and _same(e.tumour, t.id) and e.date <= d for e in chart.events)
    return recurred and chart.metastasis(t.id) is None and chart.death is None


def event(chart: Chart, row: Event, *, as_of: _dt.date) -> Chart:
    """Add an event: a metastasis re-plans its tumour on the metastatic pathway; a death closes the plan."""
    chart = replace(chart, events=chart.events + (row,))
    return _effects(chart, row, as_of)


def _effects(chart: Chart, row: Event, as_of: _dt.date) -> Chart:
    if row.kind == "metastasis" and row.tumour is not None:
        t = next(x for x in chart.tumours if _same(x.id, row.tumour))
        cur = chart.current(t.id)
        if cur is not None and not is_metastatic_pathway(cur.plan_basis):
            s = run_assessment(dict(t.findings), as_of=as_of, metastatic=True)
            chart = _assess(chart, t, s, "replan_metastasis", row.date, row.date, first=False)
    if row.kind == "death":
        chart = replace(chart, encounters=tuple(_closed_at_death(e, row.date) for e in chart.encounters),
                        observations=tuple(replace(o, status="resolved", closed_on=row.date)
                                           if o.status == "active" else o for o in chart.observations))
    return chart


def observation(chart: Chart, row: Observation) -> Chart:
    """Put a lesion under watch."""
    if any(o.label == row.label for o in chart.observations):
        raise RegistryError(f"observation {row.label!r} of patient {chart.patient.pseudonym!r}: an observation with "
                            "this label already exists", field="observation", patient=chart.patient.pseudonym)
    return replace(chart, observations=chart.observations + (row,))


def close_observation(chart: Chart, o: Observation, status: str, closed_on: _dt.date) -> Chart:
    """End the watch on a lesion."""
    return replace(chart, observations=tuple(replace(x, status=status, closed_on=closed_on) if x is o else x
                                             for x in chart.observations))


def encounter(chart: Chart, row: Encounter, *, plan_item: str | None, where: str) -> Chart:
    """Record an encounter: the newest still-planned row of *plan_item* of its tumour, or an ad hoc one."""
    if plan_item is None:
        return replace(chart, encounters=chart.encounters + (row,))
    k = next((i for i in range(len(chart.encounters) - 1, -1, -1)
              if (e := chart.encounters[i]).status == "planned" and e.plan_item == plan_item
              and _same(e.tumour, row.tumour)), None)
    if k is None:
        raise RegistryError(f"{where}: no planned encounter {plan_item!r} is open for this tumour", field="plan_item",
                            patient=chart.patient.pseudonym)
    e = chart.encounters[k]
    if row.modality and e.modality and row.modality != e.modality:
        raise RegistryError(f"modality: {row.modality!r} contradicts the planned item {plan_item} ({e.modality}); "
                            "record another examination as an ad hoc encounter", field="modality",
                            patient=chart.patient.pseudonym)
    d = row.done_on
    upd = replace(e, status=row.status, done_on=d, findings=row.findings, observation=row.observation,
                  status_reason=row.status_reason, modality=row.modality or e.modality)
    return replace(chart, encounters=chart.encounters[:k] + (upd,) + chart.encounters[k + 1:])


def planned_item(chart: Chart, plan_item: str, tumour: Tumour) -> Encounter:
    """The row of *plan_item* of *tumour* that can be rescheduled: the newest still-planned one, of a living
    patient (a RegistryError naming the field and the patient otherwise)."""
    p = chart.patient.pseudonym
    if chart.death is not None:
        raise RegistryError(f"patient {p!r}: recorded as deceased on {chart.death.isoformat()}; nothing of the "
                            "plan is rescheduled", field="patient", patient=p)
    rows = [e for e in chart.encounters
            if e.origin == "planned" and e.plan_item == plan_item and _same(e.tumour, tumour.id)]
    if not rows:
        raise NotFoundError(f"plan_item: tumour {tumour.label!r} of patient {p!r} has no plan item {plan_item!r}",
                            field="plan_item", patient=p)
    open_ = [e for e in rows if e.status == "planned"]
    if not open_:
        last = rows[-1]
        why = f" ({last.status_reason})" if last.status_reason else ""
        raise RegistryError(f"plan_item: {plan_item!r} of tumour {tumour.label!r} is {last.status}{why}, not "
                            "planned: only a planned item is rescheduled", field="plan_item", patient=p)
    return open_[-1]


def reschedule(chart: Chart, item: Encounter, due: _dt.date, *, window_days: int, reason: str, by: str,
               on: _dt.date) -> Chart:
    """Move plan item *item* (from :func:`planned_item`) to *due*, its window made around it as the core
    makes a plan's windows (*window_days*: its plan's); the previous version goes to the history."""
    _who(reason, by, "reschedule")
    assert item.status == "planned" and item.due is not None  # planned_item chose it
    p = chart.patient.pseudonym
    t = next(x for x in chart.tumours if _same(x.id, item.tumour))
    if due < t.diagnosis_date:
        raise RegistryError(f"date: {due.isoformat()} is before the diagnosis of tumour {t.label!r} "
                            f"({t.diagnosis_date.isoformat()})", field="date", patient=p)
    if due == item.due:
        raise RegistryError(f"date: {item.plan_item!r} of tumour {t.label!r} is already due on {due.isoformat()}",
                            field="date", patient=p)
    start, end = item_window(due, window_days)
    new = replace(item, due=due, window_start=start, window_end=end)
    entry = Change("encounter", item.id, "corrected",
                   f"rescheduled from {item.due.isoformat()} to {due.isoformat()}: {reason.strip()}", by, on, item)
    return replace(chart, encounters=tuple(new if e is item else e for e in chart.encounters),
                   history=chart.history + (entry,))


# --- corrections ---------------------------------------------------------------------------------------------

_FIELD = {"tumours": Tumour, "treatments": Treatment, "events": Event, "observations": Observation,
          "encounters": Encounter}


def _slot(row: Row) -> str:
    return {Tumour: "tumours", Treatment: "treatments", Event: "events", Observation: "observations",
            Encounter: "encounters"}[type(row)]


def correct(chart: Chart, old: Row, new: Row, *, reason: str, by: str, on: _dt.date, as_of: _dt.date) -> Chart:
    """Replace *old* by its corrected version *new* (same key); the previous version goes to the history.

    A corrected death re-opens the items the old one closed and closes them at the new date; a corrected
    metastasis is undone and recorded again (re-plan at its new date).
    """
    _who(reason, by)
    entry = Change(TABLE[type(old)], old.id, "corrected", reason, by, on, old)
    if isinstance(old, Patient):
        assert isinstance(new, Patient)
        return replace(chart, patient=new, history=chart.history + (entry,))
    slot = _slot(old)
    rows = tuple(new if r is old else r for r in getattr(chart, slot))
    chart = replace(chart, **{slot: rows}, history=chart.history + (entry,))
    if isinstance(old, Event) and isinstance(new, Event):
        chart = _undo(chart, old, as_of)
        chart = _effects(chart, new, as_of)
    if isinstance(old, Treatment) and isinstance(new, Treatment):
        chart = _undo_treatment(chart, old, as_of)
        chart = _treatment_effects(chart, new, as_of)
    return chart


def correct_identity(chart: Chart, *, name: str | None, birth_date: _dt.date | None, reason: str, by: str,
                     on: _dt.date) -> Chart:
    """Correct the patient's name and birth date (the previous identity goes to the history, kept apart)."""
    _who(reason, by)
    prev = Patient(chart.patient.id, chart.patient.pseudonym)  # the identity itself is kept by the writer
    entry = Change("patient_identity", chart.patient.id, "corrected", reason, by, on, prev)
    return replace(chart, name=name, birth_date=birth_date, history=chart.history + (entry,))


def void(chart: Chart, old: Row, *, reason: str, by: str, on: _dt.date, as_of: _dt.date) -> Chart:
    """Mark *old* entered in error: it leaves the record (its last version stays in the history).

    Voiding a tumour voids what hangs on it (every assessment, current and earlier: the chart must hold them
    all, see ``_save.load``; treatments, events, observations, encounters), each with its own history entry;
    voiding an observation voids its encounters; voiding an encounter of a plan item re-opens the item; a
    voided death (alone or with its tumour) re-opens what it closed; a voided metastasis re-plans its tumour off
    the metastatic pathway.
    """
    _who(reason, by)
    if isinstance(old, Patient):
        raise RegistryError("a patient is not voided; void or correct its records", field="record")
    if isinstance(old, Encounter) and old.origin == "planned":
        # the plan item stays: what was recorded of it is voided
        entry = Change("encounter", old.id, "voided", reason, by, on, old)
        reopened = replace(old, status="planned", done_on=None, findings=None, status_reason=None)
        return replace(chart, encounters=tuple(reopened if e is old else e for e in chart.encounters),
                       history=chart.history + (entry,))
    gone: list[Row] = [old]
    if isinstance(old, Tumour):
        for slot in ("assessments", "treatments", "events", "observations", "encounters"):
            gone += [r for r in getattr(chart, slot) if _same(r.tumour, old.id)]
    # encounters of a voided observation go with it (those of no tumour too)
    obs = [r.id for r in gone if isinstance(r, Observation)]
    ids = {id(r) for r in gone}
    gone += [e for e in chart.encounters if id(e) not in ids and e.observation is not None
             and any(_same(e.observation, o) for o in obs)]
    ids = {id(r) for r in gone}
    entries = tuple(Change(TABLE[type(r)], r.id, "voided", reason, by, on, r) for r in gone)
    upd: dict[str, Any] = {slot: tuple(r for r in getattr(chart, slot) if id(r) not in ids)
                           for slot in ("assessments", *_FIELD)}
    chart = replace(chart, **upd, history=chart.history + entries)
    for r in gone:  # a death voided with its tumour re-opens the other tumours' items it closed
        if isinstance(r, Event):
            chart = _undo(chart, r, as_of)
    if isinstance(old, Treatment):
        chart = _undo_treatment(chart, old, as_of)
    return chart


def _undo(chart: Chart, old: Event, as_of: _dt.date) -> Chart:
    """Undo the plan effects of event *old*, no longer in *chart* (or replaced there)."""
    if old.kind == "death":
        death = chart.death
        encs = tuple(_reopened(e) for e in chart.encounters)
        if death is not None:
            encs = tuple(_closed_at_death(e, death) for e in encs)
        obs = tuple(replace(o, status="active", closed_on=None) if o.status == "resolved" and o.closed_on == old.date
                    else o for o in chart.observations)
        return replace(chart, encounters=encs, observations=obs)
    if old.kind == "metastasis" and old.tumour is not None:
        t = next((x for x in chart.tumours if _same(x.id, old.tumour)), None)
        cur = chart.current(old.tumour)
        if t is not None and chart.metastasis(t.id) is None and cur is not None \
                and is_metastatic_pathway(cur.plan_basis):
            s = run_assessment(dict(t.findings), as_of=as_of)
            chart = _assess(chart, t, s, "reassessment", old.date, old.date, first=False)
    return chart


def _who(reason: str, by: str, what: str = "correction") -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise RegistryError(f"reason: a {what} needs its reason", field="reason")
    if not isinstance(by, str) or not by.strip():
        raise RegistryError(f"by: a {what} names who makes it", field="by")
    history_text(reason, "reason")
    history_text(by, "by")


def rows(chart: Chart) -> Iterable[Row]:
    """Every row of the chart but the patient's."""
    for slot in ("tumours", "assessments", "treatments", "events", "observations", "encounters"):
        yield from getattr(chart, slot)

