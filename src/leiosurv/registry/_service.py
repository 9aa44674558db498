"""Registry services: register, re-assess, record, re-plan, correct.

Every public method runs in one transaction: it loads the patient's chart,
applies one transition of the plan state machine (:mod:`leiosurv.registry._plan`,
where every write rule lives: registration, re-plans, death, encounters,
corrections) and saves the difference (:mod:`leiosurv.registry._save`); it
writes everything or nothing.  The module-level functions ``add_tumour``,
``add_event``, ... validate a record and apply its transition to a chart: the
import (``_import``) applies the same ones.  Dates default to today; ``as_of``
is "the day this is entered", against which "in the future" is judged.

Re-planning after events (through the clinical core, see ``_clinical_adapter``):

* a **re-excision** after a local recurrence restarts the plan from the re-excision;
* a **metastasis** stops the dermal-LMS / guideline plan: the tumour is re-assessed
  with ``distant_lesion: present`` (metastatic pathway, the sarcoma team decides);
* a **death**: nothing is due any more; planned encounters whose window had closed
  are marked missed, the rest cancelled.

A re-plan is dated by the event (or re-excision) that caused it.  Replaced plan
items that were still planned are cancelled with the reason; done
and missed encounters are never changed (a correction may re-open what a voided
death closed).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from leiosurv.clinical import Findings
from leiosurv.exceptions import NotFoundError, RegistryError
from leiosurv.registry import _db, _plan, _repo, _save, _values
from leiosurv.registry import _tables as T
from leiosurv.registry._clinical_adapter import StoredAssessment, plan_window_days, run_assessment
from leiosurv.registry._plan import Chart
from leiosurv.registry._records import CohortRow, HistoryEntry, PatientRecord, ResearchCohort
from leiosurv.registry._study_runs import StudyRunInfo

__all__ = ["Registry", "AssessmentRecord"]


@dataclass(frozen=True)
class AssessmentRecord:
    """One stored assessment of a tumour (its history entry)."""

    seq: int
    assessed_on: _dt.date
    reason: str
    ruleset_version: str
    ruleset_hash: str
    risk_group: str
    top_diagnosis: str | None
    plan_basis: str
    plan_start: _dt.date
    current: bool
    n_planned: int


def _date(value, name: str, latest: _dt.date | None = None) -> _dt.date:
    """An ISO date from 1900 on (not after *latest* if given): :func:`_values.iso_date`."""
    return _values.iso_date(value, name, latest=latest)


def _opt_date(value, name: str, latest: _dt.date | None = None) -> _dt.date | None:
    return None if value is None or value == "" else _date(value, name, latest)


def _text(value, field: str, name: str) -> str | None:
    """A text within the documented maximum of ``table.column`` *field*, no control characters (None passes)."""
    return _values.text(value, field, name=name)


def _choice(value, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise RegistryError(f"{name}: must be one of {', '.join(allowed)} (got {str(value)[:40]!r})", field=name)
    return value


class Registry:
    """The patient registry on one database (SQLite file or PostgreSQL).

    Parameters
    ----------
    target : str or path, optional
        A SQLite path, ``sqlite:///PATH`` or ``postgresql://...`` URL; default
        ``$LEIOSURV_REGISTRY_URL`` or ``registry.sqlite`` in the user data directory.
    create : bool, default False
        Create (or migrate) the schema; otherwise an uninitialised database is an error.

    Examples
    --------
    >>> import tempfile, os, datetime
    >>> reg = Registry(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
    >>> reg.add_patient("P1", sex="female")
    'P1'
    >>> reg.add_tumour("P1", "T1", {"excision_date": "2024-01-15", "depth": "dermal", "margins": "positive"},
    ...                as_of=datetime.date(2024, 2, 1)).risk_group
    'high'
    """

    def __init__(self, target: str | os.PathLike | None = None, *, create: bool = False) -> None:
        self.url = _db.resolve_url(target)
        u = sa.engine.make_url(self.url)
        if u.get_backend_name() == "sqlite" and not create and u.database not in (None, "", ":memory:") \
                and not os.path.exists(u.database):
            raise RegistryError(f"registry {_db.redact(self.url)}: does not exist; run 'leiosurv registry init' first")
        self.engine: Engine = _db.make_engine(self.url)
        try:
            if create:
                _db.upgrade(self.engine)
                return
            rev = _db.current_revision(self.engine)
        except sa.exc.OperationalError as exc:
            raise RegistryError(f"registry {_db.redact(self.url)}: cannot connect "
                                f"({str(exc.orig).strip().splitlines()[0][:160]})") from None
        if rev is None:
            raise RegistryError(f"registry {_db.redact(self.url)}: not initialised; run 'leiosurv registry init'")
        if rev != _db.head_revision():
            raise RegistryError(f"registry {_db.redact(self.url)}: schema {rev} is not the newest "
                                f"({_db.head_revision()}); run 'leiosurv registry init' to migrate")

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Registry({_db.redact(self.url)!r})"

    # --- patients -------------------------------------------------------------------------------------

    def add_patient(self, pseudonym: str, *, sex: str = "unknown", name: str | None = None,
                    birth_date: _dt.date | str | None = None, synthetic: bool = False,
                    note: str | None = None, conn: Connection | None = None) -> str:
        """Register a patient under a pseudonym; name and birth date go to the identity table only.

        Returns
        -------
        str
            The pseudonym.
        """
        born = _opt_date(birth_date, "birth_date", _dt.date.today())
        chart = new_patient(pseudonym, sex=sex, name=name, birth_date=born, synthetic=synthetic, note=note)
        with self._tx(conn) as c:
            _save.save(c, [(None, chart)], where=f"patient {pseudonym!r}")
        return pseudonym

    # --- tumours and assessments ----------------------------------------------------------------------

    def add_tumour(self, patient: str, label: str, findings: dict | Findings, *,
                   confirmed_diagnosis: str | None = None, as_of: _dt.date | None = None,
                   track_from: _dt.date | None = None, conn: Connection | None = None) -> AssessmentRecord:
        """Register a tumour: validate the findings, assess them (once), store the assessment and its plan.

        Parameters
        ----------
        patient, label : str
            The patient's pseudonym and a label for the tumour, unique per patient.
        findings : dict or leiosurv.clinical.Findings
            Findings as in a case file, or the clinical core's parsed ``Findings``; ``excision_date`` is
            the diagnosis date.
        confirmed_diagnosis : str, optional
            The pathologist's confirmed diagnosis as a category id (e.g. ``aismn``; ``leiosurv schema``
            lists them); the clinical core's pathway follows it.
        as_of : datetime.date, optional
            The day of entry (default today).
        track_from : datetime.date, optional
            For a tumour entered retrospectively: plan items whose window closed
            before this date are not stored (nothing is known about them).
        """
        as_of = as_of or _dt.date.today()
        return self._change(patient, conn, lambda ch: add_tumour(
            ch, label, findings, confirmed_diagnosis=confirmed_diagnosis, as_of=as_of, track_from=track_from),
            where=f"tumour {label!r} of patient {patient!r}", tumour=label)

    def reassess(self, patient: str, tumour: str | None = None, *, findings: dict | None = None,
                 confirmed_diagnosis: str | None = None, as_of: _dt.date | None = None,
                 conn: Connection | None = None) -> AssessmentRecord:
        """Re-assess a tumour after its findings or confirmed diagnosis changed; the history is kept.

        The new assessment becomes current; plan items from ``as_of`` on that were
        still planned are replaced by the new plan's.
        """
        as_of = as_of or _dt.date.today()
        with self._tx(conn) as c:
            before = _save.load_one(c, patient)
            t = before.tumour(tumour, "")
            after = reassess_tumour(before, t, findings=findings, confirmed_diagnosis=confirmed_diagnosis, as_of=as_of)
            _save.save(c, [(before, after)], where=f"tumour {t.label!r} of patient {patient!r}")
            return _assessment_record(after, t.label)

    def history(self, patient: str, tumour: str | None = None) -> list[AssessmentRecord]:
        """Every assessment of a tumour, oldest first: which rule-set version said what, when."""
        with self.engine.connect() as c:
            pid = _repo.patient_id(c, patient)
            t = _repo.tumour_row(c, pid, tumour, patient)
            rows = c.execute(sa.select(T.assessment).where(T.assessment.c.tumour_id == t.id)
                             .order_by(T.assessment.c.seq)).all()
            return [_record(c, r) for r in rows]

    def assessment_result(self, patient: str, tumour: str | None = None, seq: int | None = None) -> dict:
        """The stored JSON of an assessment (default the current one)."""
        with self.engine.connect() as c:
            pid = _repo.patient_id(c, patient)
            t = _repo.tumour_row(c, pid, tumour, patient)
            q = sa.select(T.assessment.c.result).where(T.assessment.c.tumour_id == t.id)
            q = q.where(T.assessment.c.current) if seq is None else q.where(T.assessment.c.seq == seq)
            r = c.execute(q).scalar()
            if r is None:
                raise RegistryError(f"tumour {t.label!r} of patient {patient!r}: no assessment {seq}", field="seq",
                                    patient=patient)
            out: dict = json.loads(r)
            return out

    # --- treatments, events, observations, encounters --------------------------------------------------

    def record_treatment(self, patient: str, kind: str, date, *, tumour: str | None = None,
                         margin_status: str | None = None, agent: str | None = None, end_date=None,
                         note: str | None = None, as_of: _dt.date | None = None,
                         conn: Connection | None = None) -> int:
        """Record a treatment; a re-excision after a local recurrence restarts the plan from it."""
        return self._record(patient, conn, "treatments", lambda ch: add_treatment(
            ch, kind, date, tumour=tumour, margin_status=margin_status, agent=agent, end_date=end_date, note=note,
            as_of=as_of), where=f"{kind} of patient {patient!r}")

    def record_event(self, patient: str, kind: str, date, *, tumour: str | None = None, site: str | None = None,
                     cause: str | None = None, note: str | None = None, as_of: _dt.date | None = None,
                     conn: Connection | None = None) -> int:
        """Record a local recurrence, metastasis (with site), new primary or death (with cause), and re-plan."""
        return self._record(patient, conn, "events", lambda ch: add_event(
            ch, kind, date, tumour=tumour, site=site, cause=cause, note=note, as_of=as_of),
            where=f"{str(kind).replace('_', ' ')} of patient {patient!r}")

    def add_observation(self, patient: str, label: str, description: str, first_seen, max_interval_days: int, *,
                        site: str | None = None, tumour: str | None = None, as_of: _dt.date | None = None,
                        conn: Connection | None = None) -> int:
        """Put a known lesion under watch: imaging is due at least every *max_interval_days*."""
        return self._record(patient, conn, "observations", lambda ch: add_observation(
            ch, label, description, first_seen, max_interval_days, site=site, tumour=tumour, as_of=as_of),
            where=f"observation {label!r} of patient {patient!r}")

    def close_observation(self, patient: str, label: str, status: str, closed_on, *,
                          conn: Connection | None = None) -> None:
        """End the watch on a lesion: ``resolved`` or ``diagnosed`` (e.g. as a metastasis)."""
        _choice(status, ("resolved", "diagnosed"), "status")
        d = _date(closed_on, "closed_on")
        self._change(patient, conn, lambda ch: _plan.close_observation(ch, ch.observation(label), status, d),
                     where=f"observation {label!r}")

    def record_encounter(self, patient: str, *, date, modality_class: str = "clinical", kind: str | None = None,
                         status: str = "done", tumour: str | None = None, observation: str | None = None,
                         plan_item: str | None = None, modality: str | None = None, findings: str | None = None,
                         provider: str | None = None, as_of: _dt.date | None = None,
                         conn: Connection | None = None) -> int:
        """Record an encounter: a planned one (``plan_item``, e.g. ``visit-m012``) done or missed, or an ad hoc one.

        Returns
        -------
        int
            The encounter's id.
        """
        fn = lambda ch: add_encounter(  # noqa: E731
            ch, date=date, modality_class=modality_class, kind=kind, status=status, tumour=tumour,
            observation=observation, plan_item=plan_item, modality=modality, findings=findings, provider=provider,
            as_of=as_of)
        if not plan_item:
            return self._record(patient, conn, "encounters", fn, where=f"encounter of patient {patient!r}")
        with self._tx(conn) as c:
            before = _save.load_one(c, patient)
            after = fn(before)
            _save.save(c, [(before, after)], where=f"encounter of patient {patient!r}")
            old = {e.id: e for e in before.encounters}
            return next(int(e.id) for e in after.encounters if isinstance(e.id, int) and old.get(e.id) is not e)

    def reschedule(self, patient: str, item: str, new_date, *, reason: str, by: str, tumour: str | None = None,
                   as_of: _dt.date | None = None, conn: Connection | None = None) -> int:
        """Give a still-planned plan item a new due date; its previous version goes to the history.

        Parameters
        ----------
        patient : str
            The patient's pseudonym.
        item : str
            The plan item, e.g. ``visit-m012`` (its newest still-planned row).
        new_date : str or datetime.date
            The new due date (ISO ``YYYY-MM-DD``), on or after the tumour's diagnosis, at most
            :data:`leiosurv.registry._values.LATEST`; it may lie ahead or behind the day of entry.
        reason, by : str
            Why, and who reschedules it (both required; the history keeps them).
        tumour : str, optional
            The tumour's label (default the first diagnosed).
        as_of : datetime.date, optional
            The day of entry (default today).

        The new window is the one the clinical core gives a plan item due on the new date, as wide as the
        windows of the item's plan.  Refused (``RegistryError`` naming the field and the patient) for a
        deceased patient, an item done, missed or cancelled, or a date before the diagnosis.

        Returns
        -------
        int
            The encounter's id.
        """
        as_of = as_of or _dt.date.today()
        try:
            d = _values.plan_date(new_date, "date")
            _text(item, "encounter.plan_item", "plan_item")
        except RegistryError as exc:
            raise RegistryError(str(exc), field=exc.field, patient=patient) from None
        with self._tx(conn) as c:
            before = _save.load_one(c, patient)
            row = _plan.planned_item(before, item, before.tumour(tumour, ""))
            days = _plan_window_days(c, row.assessment)
            after = _plan.reschedule(before, row, d, window_days=days, reason=reason, by=by, on=as_of)
            _save.save(c, [(before, after)], where=f"{item} of patient {patient!r}")
            return int(row.id)  # type: ignore[arg-type]  # a loaded row has its id

    # --- corrections ----------------------------------------------------------------------------------

    def correct(self, patient: str, table: str, record: int | None = None, *, reason: str, by: str,
                as_of: _dt.date | None = None, conn: Connection | None = None, **changes) -> None:
        """Correct one record; its previous version goes to the append-only history (:meth:`history_of`).

        Parameters
        ----------
        patient : str
            The patient's pseudonym.
        table : str
            ``patient`` (pseudonym, sex, note), ``identity`` (name, birth_date), ``tumour`` (a tumour's label, by
            *record* id), ``treatment``, ``event``, ``observation`` or ``encounter``.
        record : int, optional
            The record's id (as :meth:`timeline` and :meth:`patient_record` show it); not for
            ``patient`` and ``identity``.
        reason, by : str
            Why, and who corrects it (both required).
        **changes
            The corrected fields, e.g. ``date="2024-03-01"`` (dates as ISO text or dates).

        A corrected death re-opens the plan items it closed and closes them at the new date; a corrected
        metastasis re-plans from its new date.  A tumour's findings are corrected with :meth:`reassess`.
        """
        as_of = as_of or _dt.date.today()
        self._change(patient, conn, lambda ch: correct_record(ch, table, record, changes, reason=reason, by=by,
                                                                as_of=as_of), where=f"{table} of patient {patient!r}")

    def void(self, patient: str, table: str, record: int, *, reason: str, by: str, as_of: _dt.date | None = None,
             conn: Connection | None = None) -> None:
        """Mark a record entered in error: it leaves the patient's record, its last version stays in the history.

        A voided encounter of a plan item re-opens the item; a voided death re-opens the items it closed;
        a voided metastasis re-plans its tumour off the metastatic pathway; a voided tumour takes its
        assessments (current and earlier), treatments, events, observations and encounters with it, and a
        voided observation its encounters: each of them gets its own entry in the history (an assessment's
        is its stored row, the clinical core's result included), so nothing leaves the registry.
        """
        as_of = as_of or _dt.date.today()
        self._change(patient, conn, lambda ch: _plan.void(ch, _find(ch, table, record), reason=reason, by=by,
                                                            on=as_of, as_of=as_of),
                     where=f"{table} {record} of patient {patient!r}", every_assessment=True)

    def preview(self, patient: str, action: str, table: str, record: int | None = None, *, reason: str, by: str,
                as_of: _dt.date | None = None, **changes) -> PatientRecord:
        """The patient's record as :meth:`correct` (*action* ``correct``), :meth:`void` (``void``) or
        :meth:`reschedule` (``reschedule``, *table* ``encounter``, *changes* ``plan_item``, ``date`` and
        optionally ``tumour``) would leave it, a :class:`PatientRecord` as :meth:`patient_record` gives the record
        before; nothing is written (the change is made and rolled back, so the same rules and the same plan state
        machine decide)."""
        if action not in ("correct", "void", "reschedule"):
            raise RegistryError(f"action: must be correct, void or reschedule (got {str(action)[:20]!r})",
                                field="action")
        if action == "reschedule" and (table != "encounter" or set(changes) - {"plan_item", "date", "tumour"}
                                       or not {"plan_item", "date"} <= set(changes)):
            raise RegistryError("a reschedule previews table 'encounter' with plan_item, date and optionally "
                                "tumour", field="action", patient=patient)
        out: PatientRecord | None = None
        try:
            with _db.write_transaction(self.engine) as c:
                if action == "reschedule":
                    self.reschedule(patient, changes["plan_item"], changes["date"], reason=reason, by=by,
                                    tumour=changes.get("tumour"), as_of=as_of, conn=c)
                elif action == "correct":
                    self.correct(patient, table, record, reason=reason, by=by, as_of=as_of, conn=c, **changes)
                else:
                    if record is None:
                        raise RegistryError("record: which record to void", field="record", patient=patient)
                    self.void(patient, table, record, reason=reason, by=by, as_of=as_of, conn=c)
                from leiosurv.registry._export import patient_record

                renamed = changes.get("pseudonym") if action == "correct" and table == "patient" else None
                out = PatientRecord.model_validate(patient_record(c, renamed or patient))
                raise _RolledBack()
        except _RolledBack:
            assert out is not None
            return out

    def history_of(self, patient: str) -> list[HistoryEntry]:
        """Every correction and void of the patient's records, oldest first (the previous versions)."""
        with self.engine.connect() as c:
            pid = _repo.patient_id(c, patient)
            h = T.record_history
            out = [HistoryEntry(table=r.table_name, record=r.record_id, action=r.action, reason=r.reason,
                                by=r.by_user, at=r.at, entered_on=r.entered_on,
                                previous=r.previous if isinstance(r.previous, dict) else json.loads(r.previous))
                   for r in c.execute(sa.select(h).where(h.c.patient_id == pid).order_by(h.c.id))]
            ih = T.identity_history
            out += [HistoryEntry(table="identity", record=pid, action="corrected", reason=r.reason, by=r.by_user,
                                 at=r.at, entered_on=r.at.date(), previous={})
                    for r in c.execute(sa.select(ih.c.reason, ih.c.by_user, ih.c.at).where(ih.c.patient_id == pid)
                                       .order_by(ih.c.id))]
            return sorted(out, key=lambda e: e.at)

    def _change(self, patient: str, conn: Connection | None, fn, *, where: str, tumour: str | None = None,
                every_assessment: bool = False):
        """Load the patient's chart, apply *fn*, save the difference (one transaction)."""
        with self._tx(conn) as c:
            before = _save.load_one(c, patient, every_assessment=every_assessment)
            after = fn(before)
            _save.save(c, [(before, after)], where=where)
            if tumour is not None:
                return _assessment_record(after, tumour)
            return None

    def _record(self, patient: str, conn: Connection | None, slot: str, fn, *, where: str) -> int:
        """As :meth:`_change`, for a transition that adds one row to *slot*; returns its id."""
        with self._tx(conn) as c:
            before = _save.load_one(c, patient)
            after = fn(before)
            ids = _save.save(c, [(before, after)], where=where)
            added = getattr(after, slot)[len(getattr(before, slot))]
            return int(ids(added.id))

    # --- reading: timeline, alerts, cohort, exports ----------------------------------------------------

    def timeline(self, patient: str, *, include_planned: bool = False):
        """The patient's course in date order with latencies (:class:`~leiosurv.registry.Timeline`)."""
        from leiosurv.registry._timeline import timeline

        with self.engine.connect() as c:
            return timeline(c, patient, include_planned=include_planned)

    def alerts(self, as_of: _dt.date | None = None, *, due_within: int = 30, lookback_days: int | None = 365,
               patient: str | None = None) -> list:
        """Overdue encounters, encounters due within *due_within* days, and surveillance gaps, as of a date.

        See :mod:`leiosurv.registry._alerts` for the definitions.
        """
        from leiosurv.registry._alerts import alerts

        if not isinstance(due_within, int) or due_within < 0:
            raise RegistryError(f"due_within: must be a whole number of days >= 0 (got {due_within!r})",
                                field="due_within")
        with self.engine.connect() as c:
            ids = [_repo.patient_id(c, patient)] if patient else None
            return alerts(c, as_of or _dt.date.today(), due_within=due_within, lookback_days=lookback_days,
                          patient_ids=ids)

    def cohort(self):
        """The registry as a cohort in the study's format (:class:`~leiosurv.registry.CohortExport`)."""
        from leiosurv.registry._cohort import cohort_frame

        with self.engine.connect() as c:
            return cohort_frame(c)

    def research_export(self) -> dict:
        """The de-identified research tables (no names, birth dates, pseudonyms or calendar dates)."""
        from leiosurv.registry._cohort import research_tables

        with self.engine.connect() as c:
            return research_tables(c)

    def research_cohort(self) -> ResearchCohort:
        """The research export's cohort (:meth:`research_export`'s ``cohort`` table) as typed rows."""
        df = self.research_export()["cohort"]
        rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
        return ResearchCohort(n=len(df), columns=tuple(str(c) for c in df.columns),
                              rows=tuple(CohortRow.model_validate(r) for r in rows))

    def patient_record(self, patient: str) -> PatientRecord:
        """Everything the registry holds on one patient (identity included), as frozen typed records;
        ``.to_dict()`` gives the JSON form."""
        from leiosurv.registry._export import patient_record

        with self.engine.connect() as c:
            return PatientRecord.model_validate(patient_record(c, patient))

    # --- helpers --------------------------------------------------------------------------------------

    def patients(self) -> list[str]:
        """Every pseudonym, sorted."""
        with self.engine.connect() as c:
            return list(c.execute(sa.select(T.patient.c.pseudonym).order_by(T.patient.c.pseudonym)).scalars())

    def counts(self) -> dict[str, int]:
        """Row counts per table."""
        with self.engine.connect() as c:
            return {t.name: c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in T.metadata.sorted_tables}

    # --- the web app: users, the audit trail, patient search (see ``_access``) -------------------------

    def find_patients(self, query: str = "", *, limit: int = 50, offset: int = 0, identified: bool = False,
                      synthetic: bool | None = None):
        """Patients whose pseudonym (or, *identified*, name) contains *query*: ``(total, [PatientSummary])``."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.find_patients(c, query, limit=limit, offset=offset, identified=identified,
                                         synthetic=synthetic)

    # --- runs of the cohort study kept with their files (see ``_study_runs``) -------------------------------

    def add_study_run(self, **run) -> int:
        """Store a run of the cohort study and its report files (see :func:`_study_runs.add_run`)."""
        from leiosurv.registry import _study_runs

        with self.engine.begin() as c:
            return _study_runs.add_run(c, **run)

    def study_runs(self, *, limit: int = 50) -> list[StudyRunInfo]:
        """Stored study runs, latest first (metadata and file names)."""
        from leiosurv.registry import _study_runs

        with self.engine.connect() as c:
            return _study_runs.list_runs(c, limit=limit)

    def study_run(self, run_id: int | None = None) -> StudyRunInfo | None:
        """A stored study run with its result JSON (the latest when *run_id* is None; None if none)."""
        from leiosurv.registry import _study_runs

        with self.engine.connect() as c:
            return _study_runs.get_run(c, run_id)

    def study_run_file(self, run_id: int, name: str) -> bytes:
        """One report file of a stored study run."""
        from leiosurv.registry import _study_runs

        with self.engine.connect() as c:
            return _study_runs.get_file(c, run_id, name)

    def identities(self, pseudonyms) -> dict:
        """``{pseudonym: (name, birth_date)}`` of the registered ones among *pseudonyms* (clinicians' lists)."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.identities(c, list(pseudonyms))

    def add_user(self, username: str, password_hash: str, role: str):
        """Create a web-app user with an argon2 *password_hash* (:class:`~leiosurv.registry.User`)."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            return _access.add_user(c, username, password_hash, role)

    def get_user(self, username: str):
        """The user *username* or None."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.get_user(c, username)

    def users(self) -> list:
        """Every web-app user."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.list_users(c)

    def set_user(self, username: str, *, active: bool | None = None, password_hash: str | None = None,
                 role: str | None = None, end_sessions: bool = False):
        """Change a user's active flag, password hash or role; deactivation, a new role or password, and
        *end_sessions* (sign-out) end every session issued before.  Returns the :class:`User` as changed."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            return _access.set_user(c, username, active=active, password_hash=password_hash, role=role,
                                    end_sessions=end_sessions)

    def audit(self, *, username: str | None, role: str | None, action: str, resource: str,
              patient: str | None = None, remote_addr: str | None = None, outcome: str = "ok",
              patients: list[str] | None = None) -> None:
        """Append one row to the append-only, hash-chained audit trail (*patients*: the pseudonyms shown)."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            _access.append_audit(c, username=username, role=role, action=action, resource=resource,
                                 patient=patient, remote_addr=remote_addr, outcome=outcome, patients=patients)

    def audit_events(self, *, limit: int = 200, offset: int = 0, patient: str | None = None,
                     username: str | None = None) -> list:
        """The audit trail, newest first (:class:`~leiosurv.registry.AuditEvent`)."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.audit_events(c, limit=limit, offset=offset, patient=patient, username=username)

    def verify_audit(self):
        """Check the audit trail's hash chain (:class:`~leiosurv.registry.AuditCheck`)."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.verify_audit(c)

    def last_write(self) -> int:
        """The id of the newest audited write: changes whenever any server process writes."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.last_write(c)

    def login_failures(self, keys: list[str]) -> dict:
        """Failed sign-ins recorded under *keys*: ``{key: (failures, first, last)}``."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.login_failures(c, keys)

    def login_failure(self, keys: list[str], *, now: _dt.datetime, window: _dt.timedelta,
                      forget: _dt.timedelta) -> None:
        """Count one failed sign-in under each of *keys* (see :func:`_access.login_failure`)."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            _access.login_failure(c, keys, now=now, window=window, forget=forget)

    def anonymous_attempt(self, *, address: str | None, action: str, resource: str, patient: str | None = None,
                          now: _dt.datetime | None = None) -> int:
        """Count one request without a session on a patient URL: the first per address, minute and action is
        audited at once, the others as one audit row with their number once the minute is over (see
        :func:`_access.anonymous_attempt`).  Returns the request's number in its minute."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            return _access.anonymous_attempt(c, address=address, action=action, resource=resource,
                                             patient=patient, now=now or _dt.datetime.now(_dt.UTC))

    def close_anonymous_windows(self, now: _dt.datetime | None = None) -> int:
        """Write the counts of the anonymous requests of every minute that is over to the audit trail (one row
        each, saying how many); returns the number of rows written."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            return _access.close_anonymous_windows(c, now=now or _dt.datetime.now(_dt.UTC))

    def login_clear(self, keys: list[str]) -> None:
        """Forget the failed sign-ins under *keys*."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            _access.login_clear(c, keys)

    def missed(self, since: _dt.date, *, limit: int = 100) -> list:
        """Planned encounters recorded as missed, due on or after *since* (latest first)."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.missed_encounters(c, since, limit=limit)

    def has_patient(self, pseudonym: str) -> bool:
        """Whether *pseudonym* is registered."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.patient_exists(c, pseudonym)

    def _tx(self, conn: Connection | None):
        import contextlib

        if conn is not None:
            return contextlib.nullcontext(conn)
        return _db.write_transaction(self.engine)


# --- the records' transitions, shared by the commands above and the import ---------------------------------
# Each validates its arguments, builds the record and applies the plan state machine (``_plan``) to a chart.


class _RolledBack(Exception):
    """Ends :meth:`Registry.preview`'s transaction without writing."""


def new_patient(pseudonym: str, *, sex: str = "unknown", name: str | None = None,
                birth_date: _dt.date | None = None, synthetic: bool = False, note: str | None = None) -> Chart:
    """The chart of a new patient (validated)."""
    _choice(sex, T.SEXES, "sex")
    _text(pseudonym, "patient.pseudonym", "patient")
    _text(name, "patient_identity.name", "name")
    _text(note, "patient.note", "note")
    return _plan.new_chart(pseudonym, sex=sex, synthetic=bool(synthetic), note=note, name=name,
                           birth_date=birth_date)


def assess_findings(findings: dict | Findings, *, as_of: _dt.date, confirmed_diagnosis: str | None = None,
                    ) -> StoredAssessment:
    """Parse and assess *findings* once (a dict from a file or the core's ``Findings``)."""
    return run_assessment(findings, as_of=as_of, confirmed_diagnosis=confirmed_diagnosis)


def add_tumour(chart: Chart, label: str, findings: dict | Findings | StoredAssessment, *,
               confirmed_diagnosis: str | None = None, as_of: _dt.date,
               track_from: _dt.date | None = None) -> Chart:
    """Register tumour *label* (findings, or an assessment already made of them)."""
    if not isinstance(label, str) or not label.strip():
        raise RegistryError("tumour: the label must be a non-empty text", field="tumour",
                            patient=chart.patient.pseudonym)
    _text(label, "tumour.label", "label")
    _text(confirmed_diagnosis, "tumour.confirmed_diagnosis", "confirmed_diagnosis")
    track_from = _opt_date(track_from, "track_from")
    s = findings if isinstance(findings, StoredAssessment) else assess_findings(
        findings, as_of=as_of, confirmed_diagnosis=confirmed_diagnosis)
    dx = _date(s.findings["excision_date"], "findings.excision_date", as_of)
    if chart.birth_date is not None and dx < chart.birth_date:
        raise RegistryError("findings.excision_date: before the patient's birth date", field="findings.excision_date",
                            patient=chart.patient.pseudonym)
    return _plan.register(chart, label, s, as_of=as_of, track_from=track_from)


def reassess_tumour(chart: Chart, t: _plan.Tumour, *, findings: dict | None, confirmed_diagnosis: str | None,
                    as_of: _dt.date) -> Chart:
    """Re-assess tumour *t* after its findings or confirmed diagnosis changed."""
    new = dict(t.findings)
    if findings:
        new = _merge(new, findings)
    reason = "findings_changed" if findings else "diagnosis_changed" if confirmed_diagnosis else "reassessment"
    cur = chart.current(t.id)
    s = run_assessment(new, as_of=as_of, plan_start=cur.plan_start if cur and cur.plan_start != t.diagnosis_date
                       else None, metastatic=chart.metastasis(t.id) is not None,
                       confirmed_diagnosis=confirmed_diagnosis)
    confirmed = s.findings.get("confirmed_diagnosis") or t.confirmed_diagnosis
    return _plan.reassess(chart, t, s, reason, on=as_of, cutoff=as_of, confirmed=confirmed, findings_changed=True)


def add_treatment(chart: Chart, kind: str, date, *, tumour: str | None = None, margin_status: str | None = None,
                  agent: str | None = None, end_date=None, note: str | None = None,
                  as_of: _dt.date | None = None) -> Chart:
    """Add a treatment (a re-excision after a local recurrence re-plans)."""
    kind, d, as_of = _dated_kind(kind, T.TREATMENT_KINDS, date, as_of,
                                 ("margin_status", margin_status, T.MARGIN_STATUSES))
    _text(agent, "treatment.agent", "agent")
    _text(note, "treatment.note", "note")
    t = chart.tumour(tumour, "")
    row = _plan.Treatment(_plan.New(), t.id, kind, d, _opt_date(end_date, "end_date"), margin_status, agent, note)
    return _plan.treatment(chart, row, as_of=as_of)


def add_event(chart: Chart, kind: str, date, *, tumour: str | None = None, site: str | None = None,
              cause: str | None = None, note: str | None = None, as_of: _dt.date | None = None) -> Chart:
    """Add an event (a metastasis re-plans, a death closes the plan)."""
    kind, d, as_of = _dated_kind(kind, T.EVENT_KINDS, date, as_of, ("site", site, T.METASTASIS_SITES))
    _text(cause, "event.cause", "cause")
    _text(note, "event.note", "note")
    tid = None
    if kind not in ("death", "new_primary") or tumour is not None:
        tid = chart.tumour(tumour, "").id
    if kind == "death" and chart.death is not None:
        raise RegistryError(f"death of patient {chart.patient.pseudonym!r}: the patient already has a death "
                            "recorded", field="kind", patient=chart.patient.pseudonym)
    return _plan.event(chart, _plan.Event(_plan.New(), tid, kind, d, site, cause, note), as_of=as_of)


def add_observation(chart: Chart, label: str, description: str, first_seen, max_interval_days: int, *,
                    site: str | None = None, tumour: str | None = None, as_of: _dt.date | None = None) -> Chart:
    """Put a lesion under watch."""
    as_of = as_of or _dt.date.today()
    d = _date(first_seen, "first_seen")
    _not_future(d, as_of, "first_seen")
    _text(label, "observation.label", "label")
    _text(site, "observation.site", "site")
    _text(description, "observation.description", "description")
    if not isinstance(max_interval_days, int) or isinstance(max_interval_days, bool) or max_interval_days <= 0:
        raise RegistryError(f"max_interval_days: must be a positive integer (got {max_interval_days!r})",
                            field="max_interval_days")
    tid = chart.tumour(tumour, "").id if tumour else None
    return _plan.observation(chart, _plan.Observation(_plan.New(), tid, label, description, d, max_interval_days,
                                                      site))


def add_encounter(chart: Chart, *, date, modality_class: str = "clinical", kind: str | None = None,
                  status: str = "done", tumour: str | None = None, observation: str | None = None,
                  plan_item: str | None = None, modality: str | None = None, findings: str | None = None,
                  provider: str | None = None, as_of: _dt.date | None = None) -> Chart:
    """Record an encounter of a plan item, or an ad hoc one."""
    as_of = as_of or _dt.date.today()
    status = _choice(status, ("done", "missed", "cancelled"), "status")
    modality_class = _choice(modality_class, T.MODALITY_CLASSES, "modality_class")
    d = _date(date, "date")
    if status == "done":
        _not_future(d, as_of, "date")
    for v, f in ((kind, "kind"), (modality, "modality"), (provider, "provider"), (findings, "findings"),
                 (plan_item, "plan_item")):
        _text(v, f"encounter.{f}", f)
    tid = chart.tumour(tumour, "").id if (tumour or plan_item) else None
    oid = chart.observation(observation).id if observation else None
    where = f"encounter of patient {chart.patient.pseudonym!r} on {d.isoformat()}"
    if not plan_item and status != "done":
        raise RegistryError("status: an ad hoc encounter is recorded when done (missed needs --plan-item)",
                            field="status")
    row = _plan.Encounter(_plan.New(), tid, "ad_hoc", status, modality_class, kind or modality_class,
                          observation=oid, modality=modality, provider=provider,
                          done_on=d if status == "done" else None, findings=findings,
                          status_reason=None if status == "done" else f"{status} on {d.isoformat()}")
    return _plan.encounter(chart, row, plan_item=plan_item or None, where=where)


_CORRECTABLE = {
    "patient": ("pseudonym", "sex", "note"),
    "tumour": ("label",),
    "treatment": ("kind", "date", "end_date", "margin_status", "agent", "note"),
    "event": ("kind", "date", "site", "cause", "note"),
    "observation": ("label", "description", "site", "first_seen", "max_interval_days", "status", "closed_on"),
    "encounter": ("date", "modality_class", "kind", "modality", "provider", "findings", "status"),
}
#: What :meth:`Registry.correct` accepts, by table (the identity: name and birth date).
CORRECTABLE: dict[str, tuple[str, ...]] = {"identity": ("name", "birth_date"), **_CORRECTABLE}
_DATE_FIELDS = {"date", "end_date", "first_seen", "closed_on", "birth_date"}


def _find(chart: Chart, table: str, record: int | None):
    """The record *record* of *table* in *chart*."""
    slots = {"tumour": "tumours", "treatment": "treatments", "event": "events", "observation": "observations",
             "encounter": "encounters"}
    if table not in slots:
        raise RegistryError(f"table: must be one of {', '.join(slots)} (got {str(table)[:40]!r})", field="table")
    for r in getattr(chart, slots[table]):
        if r.id == record:
            return r
    raise NotFoundError(f"{table} {record} of patient {chart.patient.pseudonym!r}: no such record",
                        field="record", patient=chart.patient.pseudonym)


def correct_record(chart: Chart, table: str, record: int | None, changes: dict, *, reason: str, by: str,
                   as_of: _dt.date) -> Chart:
    """Apply a correction of *changes* to one record of *chart* (see :meth:`Registry.correct`)."""
    if table == "identity":
        bad = set(changes) - {"name", "birth_date"}
        if bad:
            raise RegistryError(f"{sorted(bad)[0]}: not a field of the identity (name, birth_date)",
                                field=sorted(bad)[0])
        # a field not named keeps its value (correcting the name leaves the birth date)
        return _plan.correct_identity(chart, name=changes["name"] if "name" in changes else chart.name,
                                      birth_date=(_opt_date(changes["birth_date"], "birth_date")
                                                  if "birth_date" in changes else chart.birth_date),
                                      reason=reason, by=by, on=as_of)
    allowed = _CORRECTABLE.get(table)
    if allowed is None:
        raise RegistryError(f"table: must be one of identity, {', '.join(_CORRECTABLE)} (got {str(table)[:40]!r})",
                            field="table")
    if not changes:
        raise RegistryError("a correction changes at least one field", field="record")
    bad = set(changes) - set(allowed)
    if bad:
        raise RegistryError(f"{sorted(bad)[0]}: cannot be corrected on a {table} (correctable: {', '.join(allowed)})",
                            field=sorted(bad)[0])
    vals = {k: (_opt_date(v, k) if k in _DATE_FIELDS else v) for k, v in changes.items()}
    for k in ("date", "first_seen"):
        if vals.get(k) is not None:
            _not_future(vals[k], as_of, k)
    if table == "patient":
        if "sex" in vals:
            _choice(vals["sex"], T.SEXES, "sex")
        if "pseudonym" in vals:
            if not isinstance(vals["pseudonym"], str) or not vals["pseudonym"].strip():
                raise RegistryError("pseudonym: must be a non-empty text", field="pseudonym")
            _text(vals["pseudonym"], "patient.pseudonym", "pseudonym")
        if "note" in vals:
            _text(vals["note"], "patient.note", "note")
        old = chart.patient
        return _plan.correct(chart, old, dataclasses.replace(old, **vals), reason=reason, by=by, on=as_of,
                             as_of=as_of)
    old = _find(chart, table, record)
    if table == "encounter":
        status = vals.pop("status", old.status)
        if "date" in vals or "status" in changes:
            d = vals.pop("date", old.done_on) or as_of
            if status == "done":
                vals.update(status="done", done_on=d, status_reason=None)
            elif status in ("missed", "cancelled") and old.origin == "planned":
                vals.update(status=status, done_on=None, status_reason=f"{status} on {d.isoformat()}")
            else:
                raise RegistryError("status: an encounter is corrected to done, or (of a plan item) missed or "
                                    "cancelled", field="status")
        if "modality_class" in vals:
            _choice(vals["modality_class"], T.MODALITY_CLASSES, "modality_class")
    if table == "treatment":
        _choice(vals.get("kind", old.kind), T.TREATMENT_KINDS, "kind")
    if table == "event":
        _choice(vals.get("kind", old.kind), T.EVENT_KINDS, "kind")
        if vals.get("kind", old.kind) == "death" and old.kind != "death" and chart.death is not None:
            raise RegistryError("kind: the patient already has a death recorded", field="kind",
                                patient=chart.patient.pseudonym)
    new = dataclasses.replace(old, **vals)
    return _plan.correct(chart, old, new, reason=reason, by=by, on=as_of, as_of=as_of)


def _assessment_record(chart: Chart, label: str) -> AssessmentRecord:
    """The new current assessment of tumour *label* in *chart*."""
    t = next(x for x in chart.tumours if x.label == label)
    a = chart.current(t.id)
    assert a is not None and a.stored is not None  # just assessed
    s = a.stored
    n = sum(1 for e in chart.encounters if e.assessment is a.id and e.status == "planned")
    return AssessmentRecord(a.seq, a.assessed_on, a.reason, s.ruleset_version, s.ruleset_hash, s.risk_group,
                            s.top_diagnosis, s.plan_basis, s.plan_start, True, n)


def _dated_kind(kind: str, kinds: tuple[str, ...], date, as_of: _dt.date | None,
                optional: tuple[str, str | None, tuple[str, ...]]) -> tuple[str, _dt.date, _dt.date]:
    """Validate a record's kind, date (not after *as_of*, default today) and one optional choice field."""
    as_of = as_of or _dt.date.today()
    kind = _choice(kind, kinds, "kind")
    name, value, allowed = optional
    if value is not None:
        _choice(value, allowed, name)
    d = _date(date, "date")
    _not_future(d, as_of, "date")
    return kind, d, as_of


def _not_future(d: _dt.date, as_of: _dt.date, name: str) -> None:
    if d > as_of:
        raise RegistryError(f"{name}: {d.isoformat()} is in the future (today is {as_of.isoformat()})", field=name)


def _merge(base: dict, upd: dict) -> dict:
    out = dict(base)
    for k, v in upd.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _plan_window_days(c: Connection, assessment: _plan.Key | None) -> int:
    """The window width of the plan of stored assessment *assessment* (read from its stored result)."""
    result = c.execute(sa.select(T.assessment.c.result).where(T.assessment.c.id == assessment)).scalar_one()
    return plan_window_days(result)


def _record(c: Connection, r) -> AssessmentRecord:
    n = c.execute(sa.select(sa.func.count()).select_from(T.encounter).where(
        T.encounter.c.assessment_id == r.id, T.encounter.c.status == "planned")).scalar_one()
    return AssessmentRecord(r.seq, r.assessed_on, r.reason, r.ruleset_version, r.ruleset_hash, r.risk_group,
                            r.top_diagnosis, r.plan_basis, r.plan_start, bool(r.current), n)
