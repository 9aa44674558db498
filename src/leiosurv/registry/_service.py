"""Registry services: register, re-assess, record, re-plan.

Every public method runs in one transaction: it writes everything or nothing.
Dates default to today; ``as_of`` is "the day this is entered", against which
"in the future" is judged.

Re-planning after events (through the clinical core, see ``_clinical_adapter``):

* a **re-excision** after a local recurrence restarts the plan from the re-excision;
* a **metastasis** stops the dermal-LMS / guideline plan: the tumour is re-assessed
  with ``distant_lesion: present`` (metastatic pathway, the sarcoma team decides);
* a **death**: nothing is due any more; planned encounters whose window had closed
  are marked missed, the rest cancelled.

A re-plan is dated by the event (or re-excision) that caused it.  Replaced plan
items that were still planned are cancelled with the reason; done
and missed encounters are never changed.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from leiosurv.exceptions import InputError, RegistryError
from leiosurv.registry import _db, _repo, _results
from leiosurv.registry import _tables as T
from leiosurv.registry._clinical_adapter import StoredAssessment, is_metastatic_pathway, run_assessment

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


def _date(value, name: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{name}: not a date YYYY-MM-DD (got {str(value)[:40]!r})") from None


def _opt_date(value, name: str) -> _dt.date | None:
    return None if value is None or value == "" else _date(value, name)


def _choice(value, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise InputError(f"{name}: must be one of {', '.join(allowed)} (got {str(value)[:40]!r})")
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
        with self._tx(conn) as c:
            _add_patient(c, pseudonym, sex=sex, name=name, birth_date=_opt_date(birth_date, "birth_date"),
                         synthetic=synthetic, note=note)
        return pseudonym

    # --- tumours and assessments ----------------------------------------------------------------------

    def add_tumour(self, patient: str, label: str, findings: dict, *, confirmed_diagnosis: str | None = None,
                   as_of: _dt.date | None = None, track_from: _dt.date | None = None,
                   conn: Connection | None = None) -> AssessmentRecord:
        """Register a tumour: validate the findings, assess them, store the assessment and its plan.

        Parameters
        ----------
        patient, label : str
            The patient's pseudonym and a label for the tumour, unique per patient.
        findings : dict
            Findings as in a case file; ``excision_date`` is the diagnosis date.
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
        with self._tx(conn) as c:
            pid = _repo.patient_id(c, patient)
            sa_ = run_assessment(findings, as_of=as_of, confirmed_diagnosis=confirmed_diagnosis)
            dx = _date(sa_.findings["excision_date"], "findings.excision_date")
            age = sa_.findings.get("patient", {}).get("age_years")
            if age is None:
                bd = c.execute(sa.select(T.patient_identity.c.birth_date).where(
                    T.patient_identity.c.patient_id == pid)).scalar()
                if bd is not None:
                    age = dx.year - bd.year - ((dx.month, dx.day) < (bd.month, bd.day))
            tid = _repo.insert(
                c, T.tumour, f"tumour {label!r} of patient {patient!r}", patient_id=pid, label=label,
                diagnosis_date=dx, site=sa_.findings.get("site"), depth=sa_.findings.get("depth", "unknown"),
                age_at_diagnosis=age, findings=sa_.findings,
                confirmed_diagnosis=sa_.findings.get("confirmed_diagnosis"),
                **sa_.factors)
            return _store(c, pid, tid, sa_, "registration", as_of, cutoff=track_from)

    def reassess(self, patient: str, tumour: str | None = None, *, findings: dict | None = None,
                 confirmed_diagnosis: str | None = None, as_of: _dt.date | None = None,
                 conn: Connection | None = None) -> AssessmentRecord:
        """Re-assess a tumour after its findings or confirmed diagnosis changed; the history is kept.

        The new assessment becomes current; plan items from ``as_of`` on that were
        still planned are replaced by the new plan's.
        """
        as_of = as_of or _dt.date.today()
        with self._tx(conn) as c:
            pid = _repo.patient_id(c, patient)
            t = _repo.tumour_row(c, pid, tumour, patient)
            new = dict(t.findings)
            if findings:
                new = _merge(new, findings)
            reason = "findings_changed" if findings else "diagnosis_changed" if confirmed_diagnosis else "reassessment"
            cur = _current(c, t.id)
            sa_ = run_assessment(new, as_of=as_of, plan_start=cur.plan_start if cur and cur.plan_start !=
                                 t.diagnosis_date else None, metastatic=_has_metastasis(c, t.id),
                                 confirmed_diagnosis=confirmed_diagnosis)
            upd = {"findings": sa_.findings, **sa_.factors,
                   "diagnosis_date": _date(sa_.findings["excision_date"], "findings.excision_date"),
                   "site": sa_.findings.get("site"), "depth": sa_.findings.get("depth", "unknown")}
            if sa_.findings.get("confirmed_diagnosis") is not None:
                upd["confirmed_diagnosis"] = sa_.findings["confirmed_diagnosis"]
            with _repo.translate_errors(f"tumour {t.label!r} of patient {patient!r}"):
                c.execute(sa.update(T.tumour).where(T.tumour.c.id == t.id).values(**upd))
            return _store(c, pid, t.id, sa_, reason, as_of, cutoff=as_of, confirmed=upd.get(
                "confirmed_diagnosis", t.confirmed_diagnosis))

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
            q = _repo.assessment_query().where(T.assessment.c.tumour_id == t.id)
            q = q.where(T.assessment.c.current) if seq is None else q.where(T.assessment.c.seq == seq)
            r = c.execute(q).first()
            if r is None:
                raise RegistryError(f"tumour {t.label!r} of patient {patient!r}: no assessment {seq}")
            return _results.join_result(r.body, r.dates)

    # --- treatments, events, observations, encounters --------------------------------------------------

    def record_treatment(self, patient: str, kind: str, date, *, tumour: str | None = None,
                         margin_status: str | None = None, agent: str | None = None, end_date=None,
                         note: str | None = None, as_of: _dt.date | None = None,
                         conn: Connection | None = None) -> int:
        """Record a treatment; a re-excision after a local recurrence restarts the plan from it."""
        kind, d, as_of = _dated_kind(kind, T.TREATMENT_KINDS, date, as_of,
                                     ("margin_status", margin_status, T.MARGIN_STATUSES))
        with self._tx(conn) as c:
            pid = _repo.patient_id(c, patient)
            t = _repo.tumour_row(c, pid, tumour, patient)
            rid = _repo.insert(c, T.treatment, f"{kind} of patient {patient!r}", patient_id=pid, tumour_id=t.id,
                               kind=kind, date=d, end_date=_opt_date(end_date, "end_date"),
                               margin_status=margin_status, agent=agent, note=note)
            if kind == "re_excision" and _first_event(c, t.id, "local_recurrence", d) is not None \
                    and not _has_metastasis(c, t.id) and _repo.death_date(c, pid) is None:
                findings = dict(t.findings)
                if margin_status in ("positive", "negative"):
                    findings["margins"] = margin_status
                sa_ = run_assessment(findings, as_of=as_of, plan_start=d)
                _store(c, pid, t.id, sa_, "replan_re_excision", d, cutoff=d)
            return rid

    def record_event(self, patient: str, kind: str, date, *, tumour: str | None = None, site: str | None = None,
                     cause: str | None = None, note: str | None = None, as_of: _dt.date | None = None,
                     conn: Connection | None = None) -> int:
        """Record a local recurrence, metastasis (with site), new primary or death (with cause), and re-plan."""
        kind, d, as_of = _dated_kind(kind, T.EVENT_KINDS, date, as_of, ("site", site, T.METASTASIS_SITES))
        with self._tx(conn) as c:
            pid = _repo.patient_id(c, patient)
            tid = None
            if kind not in ("death", "new_primary") or tumour is not None:
                t = _repo.tumour_row(c, pid, tumour, patient)
                tid = t.id
            eid = _repo.insert(c, T.event, f"{kind.replace('_', ' ')} of patient {patient!r}", patient_id=pid,
                               tumour_id=tid, kind=kind, date=d, site=site, cause=cause, note=note)
            cur = _current(c, tid)
            if kind == "metastasis" and cur is not None and not is_metastatic_pathway(cur.plan_basis):
                sa_ = run_assessment(dict(t.findings), as_of=as_of, metastatic=True)
                _store(c, pid, tid, sa_, "replan_metastasis", d, cutoff=d)
            if kind == "death":
                c.execute(sa.update(T.encounter).where(
                    T.encounter.c.patient_id == pid, T.encounter.c.status == "planned",
                    T.encounter.c.window_end < d).values(status="missed", status_reason="window closed before death"))
                c.execute(sa.update(T.encounter).where(
                    T.encounter.c.patient_id == pid, T.encounter.c.status == "planned").values(
                    status="cancelled", status_reason="patient died"))
                c.execute(sa.update(T.observation).where(
                    T.observation.c.patient_id == pid, T.observation.c.status == "active").values(
                    status="resolved", closed_on=d))
            return eid

    def add_observation(self, patient: str, label: str, description: str, first_seen, max_interval_days: int, *,
                        site: str | None = None, tumour: str | None = None, as_of: _dt.date | None = None,
                        conn: Connection | None = None) -> int:
        """Put a known lesion under watch: imaging is due at least every *max_interval_days*."""
        as_of = as_of or _dt.date.today()
        d = _date(first_seen, "first_seen")
        _not_future(d, as_of, "first_seen")
        if not isinstance(max_interval_days, int) or max_interval_days <= 0:
            raise InputError(f"max_interval_days: must be a positive integer (got {max_interval_days!r})")
        with self._tx(conn) as c:
            pid = _repo.patient_id(c, patient)
            tid = _repo.tumour_row(c, pid, tumour, patient).id if tumour else None
            return _repo.insert(c, T.observation, f"observation {label!r} of patient {patient!r}", patient_id=pid,
                                tumour_id=tid, label=label, description=description, site=site, first_seen=d,
                                max_interval_days=max_interval_days)

    def close_observation(self, patient: str, label: str, status: str, closed_on, *,
                          conn: Connection | None = None) -> None:
        """End the watch on a lesion: ``resolved`` or ``diagnosed`` (e.g. as a metastasis)."""
        _choice(status, ("resolved", "diagnosed"), "status")
        d = _date(closed_on, "closed_on")
        with self._tx(conn) as c:
            pid = _repo.patient_id(c, patient)
            oid = _repo.observation_id(c, pid, label, patient)
            with _repo.translate_errors(f"observation {label!r}"):
                c.execute(sa.update(T.observation).where(T.observation.c.id == oid).values(status=status, closed_on=d))

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
        as_of = as_of or _dt.date.today()
        status = _choice(status, ("done", "missed", "cancelled"), "status")
        modality_class = _choice(modality_class, T.MODALITY_CLASSES, "modality_class")
        d = _date(date, "date")
        if status == "done":
            _not_future(d, as_of, "date")
        with self._tx(conn) as c:
            pid = _repo.patient_id(c, patient)
            tid = _repo.tumour_row(c, pid, tumour, patient).id if (tumour or plan_item) else None
            oid = _repo.observation_id(c, pid, observation, patient) if observation else None
            where = f"encounter of patient {patient!r} on {d.isoformat()}"
            if plan_item:
                row = c.execute(sa.select(T.encounter.c.id).where(
                    T.encounter.c.tumour_id == tid, T.encounter.c.plan_item == plan_item,
                    T.encounter.c.status == "planned").order_by(T.encounter.c.id.desc())).first()
                if row is None:
                    raise RegistryError(f"{where}: no planned encounter {plan_item!r} is open for this tumour")
                with _repo.translate_errors(where):
                    c.execute(sa.update(T.encounter).where(T.encounter.c.id == row.id).values(
                        status=status, done_on=d if status == "done" else None, findings=findings,
                        status_reason=None if status == "done" else f"{status} on {d.isoformat()}",
                        observation_id=oid, **({"modality": modality} if modality else {})))
                return row.id
            if status != "done":
                raise InputError("status: an ad hoc encounter is recorded when done (missed needs --plan-item)")
            return _repo.insert(c, T.encounter, where, patient_id=pid, tumour_id=tid, observation_id=oid,
                                origin="ad_hoc", status="done", modality_class=modality_class,
                                kind=kind or modality_class, modality=modality, provider=provider, done_on=d,
                                findings=findings)

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
            raise InputError(f"due_within: must be a whole number of days >= 0 (got {due_within!r})")
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

    def patient_record(self, patient: str) -> dict:
        """Everything the registry holds on one patient, as JSON-ready data (identity included)."""
        from leiosurv.registry._export import patient_record

        with self.engine.connect() as c:
            return patient_record(c, patient)

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

    def study_runs(self, *, limit: int = 50) -> list:
        """Stored study runs, latest first (metadata and file names)."""
        from leiosurv.registry import _study_runs

        with self.engine.connect() as c:
            return _study_runs.list_runs(c, limit=limit)

    def study_run(self, run_id: int | None = None):
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
                 role: str | None = None, sessions_after: _dt.datetime | None = None) -> None:
        """Change a user's active flag, password hash or role, or void the sessions issued before a time."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            _access.set_user(c, username, active=active, password_hash=password_hash, role=role,
                             sessions_after=sessions_after)

    def audit(self, *, username: str | None, role: str | None, action: str, resource: str,
              patient: str | None = None, remote_addr: str | None = None, outcome: str = "ok") -> None:
        """Append one row to the append-only audit trail."""
        from leiosurv.registry import _access

        with self.engine.begin() as c:
            _access.append_audit(c, username=username, role=role, action=action, resource=resource,
                                 patient=patient, remote_addr=remote_addr, outcome=outcome)

    def audit_events(self, *, limit: int = 200, offset: int = 0, patient: str | None = None,
                     username: str | None = None) -> list:
        """The audit trail, newest first (:class:`~leiosurv.registry.AuditEvent`)."""
        from leiosurv.registry import _access

        with self.engine.connect() as c:
            return _access.audit_events(c, limit=limit, offset=offset, patient=patient, username=username)

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
        return self.engine.begin()


# --- module-level helpers (shared with the bulk import) --------------------------------------------------


def _add_patient(c: Connection, pseudonym: str, *, sex: str, name, birth_date, synthetic: bool, note) -> int:
    if not isinstance(pseudonym, str) or not pseudonym.strip():
        raise InputError("patient: the pseudonym must be a non-empty text")
    if len(pseudonym) > 64:
        raise InputError("patient: the pseudonym must have at most 64 characters")
    _choice(sex, T.SEXES, "sex")
    pid = _repo.insert(c, T.patient, f"patient {pseudonym!r}", pseudonym=pseudonym, sex=sex,
                       synthetic=bool(synthetic), note=note)
    if name is not None or birth_date is not None:
        _repo.insert(c, T.patient_identity, f"patient {pseudonym!r}", patient_id=pid, name=name,
                     birth_date=birth_date)
    return pid


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
        raise InputError(f"{name}: {d.isoformat()} is in the future (today is {as_of.isoformat()})")


def _merge(base: dict, upd: dict) -> dict:
    out = dict(base)
    for k, v in upd.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _current(c: Connection, tid: int | None):
    if tid is None:
        return None
    return c.execute(sa.select(T.assessment).where(T.assessment.c.tumour_id == tid, T.assessment.c.current)).first()


def _first_event(c: Connection, tid: int, kind: str, until: _dt.date | None = None) -> _dt.date | None:
    q = sa.select(sa.func.min(T.event.c.date)).where(T.event.c.tumour_id == tid, T.event.c.kind == kind)
    if until is not None:
        q = q.where(T.event.c.date <= until)
    return c.execute(q).scalar()


def _has_metastasis(c: Connection, tid: int) -> bool:
    return _first_event(c, tid, "metastasis") is not None


def _store(c: Connection, pid: int, tid: int, s: StoredAssessment, reason: str, as_of: _dt.date, *,
           cutoff: _dt.date | None, confirmed: str | None = None) -> AssessmentRecord:
    """Make *s* the tumour's current assessment; replace still-planned items from *cutoff* on."""
    seq = _repo.next_seq(c, tid)
    c.execute(sa.update(T.assessment).where(T.assessment.c.tumour_id == tid, T.assessment.c.current)
              .values(current=False))
    result: dict | str = s.result_json
    if confirmed is not None:
        result = {**s.result, "registry": {"confirmed_diagnosis": confirmed}}
    sha, body, dates = _results.split_result(result)
    _repo.store_contents(c, {sha: body})
    aid = _repo.insert(c, T.assessment, "assessment", tumour_id=tid, seq=seq, assessed_on=as_of, reason=reason,
                       ruleset_version=s.ruleset_version, ruleset_hash=s.ruleset_hash, risk_group=s.risk_group,
                       top_diagnosis=s.top_diagnosis, plan_basis=s.plan_basis, plan_start=s.plan_start,
                       imaging_interval_days=s.imaging_interval_days, imaging_until=s.imaging_until, current=True,
                       content=sha, dates=dates)
    if seq > 1:
        q = sa.update(T.encounter).where(T.encounter.c.tumour_id == tid, T.encounter.c.status == "planned")
        if cutoff is not None:
            q = q.where(T.encounter.c.due >= cutoff)
        c.execute(q.values(status="cancelled", status_reason=f"replaced: {reason.replace('_', ' ')} on "
                                                             f"{as_of.isoformat()}"))
    death = _repo.death_date(c, pid)
    rows = [dict(patient_id=pid, tumour_id=tid, assessment_id=aid, plan_item=i.id, origin="planned",
                 status="planned", modality_class=i.modality_class, kind=i.kind, modality=i.modality,
                 provider=i.provider, due=i.due, window_start=i.window_start, window_end=i.window_end)
            for i in s.plan
            if (cutoff is None or (i.window_end >= cutoff if seq == 1 else i.due >= cutoff))
            and (death is None or i.due <= death)]
    if rows:
        with _repo.translate_errors("plan"):
            c.execute(sa.insert(T.encounter), rows)
    return AssessmentRecord(seq, as_of, reason, s.ruleset_version, s.ruleset_hash, s.risk_group, s.top_diagnosis,
                            s.plan_basis, s.plan_start, True, len(rows))


def _record(c: Connection, r) -> AssessmentRecord:
    n = c.execute(sa.select(sa.func.count()).select_from(T.encounter).where(
        T.encounter.c.assessment_id == r.id, T.encounter.c.status == "planned")).scalar_one()
    return AssessmentRecord(r.seq, r.assessed_on, r.reason, r.ruleset_version, r.ruleset_hash, r.risk_group,
                            r.top_diagnosis, r.plan_basis, r.plan_start, bool(r.current), n)
