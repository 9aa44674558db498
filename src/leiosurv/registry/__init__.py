"""The patient registry: every leiomyosarcoma patient followed over time.

SQLite by default (a per-user file, WAL mode, foreign keys on), PostgreSQL for
a team, through the same code.  Layers: this package is a service (it uses the
clinical core through one adapter module and the study's cohort format); the
CLI (``leiosurv registry ...``) and the FHIR export live in
:mod:`leiosurv.interfaces`.

* :class:`Registry` — register patients and tumours (assessed, plan stored),
  re-assess with history, record treatments, events, observations and
  encounters, re-plan after events (one write path: the plan state machine of
  ``_plan``); correct or void any record with a reason, the previous versions
  kept (:meth:`Registry.history_of`);
* :meth:`Registry.timeline`, :meth:`Registry.alerts` — the course of a patient,
  and who is overdue, due, or in a surveillance gap as of a date;
* :meth:`Registry.cohort`, :meth:`Registry.research_export` — the learn loop;
* :func:`import_files`, :func:`backup`, :func:`restore` — import (the same transitions, saved in
  batches) and durability;
* :func:`load_published_cases`, :func:`load_synthetic` — demo data.

Needs the ``registry`` extra (``pip install leiosurv[registry]``).
"""

from leiosurv.registry._access import AuditCheck, AuditEvent, MissedEncounter, PatientSummary, User
from leiosurv.registry._alerts import Alert, alerts_frame
from leiosurv.registry._backup import backup, restore
from leiosurv.registry._clinical_adapter import live_assessment
from leiosurv.registry._cohort import RESEARCH_COLUMNS, CohortExport, research_readme
from leiosurv.registry._db import default_url, head_revision, make_engine, redact, resolve_url, upgrade
from leiosurv.registry._demo import APPROXIMATED, load_published_cases, load_synthetic
from leiosurv.registry._import import KINDS, ImportReport, import_files
from leiosurv.registry._records import (
    AssessmentEntry,
    CohortRow,
    EncounterRecord,
    EventRecord,
    HistoryEntry,
    Identity,
    ObservationRecord,
    PatientInfo,
    PatientRecord,
    ResearchCohort,
    TreatmentRecord,
    TumourRecord,
)
from leiosurv.registry._service import CORRECTABLE, AssessmentRecord, Registry
from leiosurv.registry._study_runs import StudyRunInfo
from leiosurv.registry._timeline import Timeline, TimelineEntry

__all__ = [
    "Registry",
    "User",
    "AuditEvent",
    "AuditCheck",
    "PatientSummary",
    "MissedEncounter",
    "AssessmentRecord",
    "HistoryEntry",
    "PatientRecord",
    "PatientInfo",
    "Identity",
    "TumourRecord",
    "AssessmentEntry",
    "TreatmentRecord",
    "EventRecord",
    "ObservationRecord",
    "EncounterRecord",
    "ResearchCohort",
    "StudyRunInfo",
    "CohortRow",
    "CORRECTABLE",
    "Alert",
    "alerts_frame",
    "Timeline",
    "TimelineEntry",
    "CohortExport",
    "RESEARCH_COLUMNS",
    "research_readme",
    "import_files",
    "ImportReport",
    "KINDS",
    "live_assessment",
    "backup",
    "restore",
    "load_published_cases",
    "load_synthetic",
    "APPROXIMATED",
    "default_url",
    "resolve_url",
    "redact",
    "make_engine",
    "upgrade",
    "head_revision",
]
