"""What :class:`Registry` returns, as frozen, typed models: the web API's response schemas too.

* :class:`PatientRecord` (:meth:`Registry.patient_record`, :meth:`Registry.preview`): a patient's
  whole record.  ``PatientRecord.to_dict()`` is its JSON form (ISO dates), the format of
  ``leiosurv registry export --patient P --format json`` (``leiosurv-registry-patient/1``)
  and the input of the FHIR export.  The record holds identifying data (the ``identity``):
  share with care.
* :class:`HistoryEntry` (:meth:`Registry.history_of`): one correction or void and the previous version.
* :class:`ResearchCohort` of :class:`CohortRow` (:meth:`Registry.research_cohort`): the de-identified
  cohort, one row per tumour, the columns of ``RESEARCH_COLUMNS["cohort"]``.

Every field is in every answer (those with a default too): the JSON schema says so
(``json_schema_serialization_defaults_required``), so the web API's OpenAPI document
promises what the answers hold.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["PatientRecord", "PatientInfo", "Identity", "TumourRecord", "AssessmentEntry", "TreatmentRecord",
           "EventRecord", "ObservationRecord", "EncounterRecord", "HistoryEntry", "CohortRow", "ResearchCohort"]

#: every field is in every answer, those with a default too (the JSON schema of a response says so)
OUT = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class _Frozen(BaseModel):
    # a column added to a table reaches the record before its model names it: kept, never dropped
    model_config = ConfigDict(OUT, extra="allow")


class PatientInfo(_Frozen):
    pseudonym: str
    sex: str
    synthetic: bool
    note: str | None = None


class Identity(_Frozen):
    name: str | None = None
    birth_date: _dt.date | None = None


class AssessmentEntry(_Frozen):
    id: int
    seq: int
    assessed_on: _dt.date
    reason: str
    ruleset_version: str
    ruleset_hash: str
    risk_group: str
    top_diagnosis: str | None = None
    plan_basis: str
    plan_start: _dt.date
    imaging_interval_days: int | None = None
    imaging_until: _dt.date | None = None
    current: bool
    result: dict[str, Any]


class TumourRecord(_Frozen):
    id: int
    label: str
    diagnosis_date: _dt.date
    site: str | None = None
    depth: str
    age_at_diagnosis: int | None = None
    findings: dict[str, Any]
    confirmed_diagnosis: str | None = None
    necrosis: int | None = None
    mitotic_grade: int | None = None
    invasion: int | None = None
    margins: str | None = None
    assessments: tuple[AssessmentEntry, ...]


class TreatmentRecord(_Frozen):
    id: int
    tumour: str | None = None
    kind: str
    date: _dt.date
    end_date: _dt.date | None = None
    margin_status: str | None = None
    agent: str | None = None
    note: str | None = None


class EventRecord(_Frozen):
    id: int
    tumour: str | None = None
    kind: str
    date: _dt.date
    site: str | None = None
    cause: str | None = None
    note: str | None = None


class ObservationRecord(_Frozen):
    id: int
    tumour: str | None = None
    label: str
    description: str
    site: str | None = None
    first_seen: _dt.date
    max_interval_days: int
    status: str
    closed_on: _dt.date | None = None


class EncounterRecord(_Frozen):
    id: int
    tumour: str | None = None
    observation: str | None = None
    assessment_id: int | None = None
    plan_item: str | None = None
    origin: str
    status: str
    modality_class: str
    kind: str
    modality: str | None = None
    provider: str | None = None
    due: _dt.date | None = None
    window_start: _dt.date | None = None
    window_end: _dt.date | None = None
    done_on: _dt.date | None = None
    findings: str | None = None
    status_reason: str | None = None


class PatientRecord(_Frozen):
    """Everything the registry holds on one patient (identity included)."""

    format: str
    patient: PatientInfo
    identity: Identity | None = None
    tumours: tuple[TumourRecord, ...]
    treatments: tuple[TreatmentRecord, ...]
    events: tuple[EventRecord, ...]
    observations: tuple[ObservationRecord, ...]
    encounters: tuple[EncounterRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (ISO dates): the JSON export's format."""
        out: dict[str, Any] = self.model_dump(mode="json")
        return out


class HistoryEntry(BaseModel):
    """One correction or void: which record, what was done, why, by whom, when, and its previous version.

    ``previous`` is the record as it was (JSON-ready: ISO dates, ``tumour`` for the tumour's id); an
    assessment's is its stored row whole, the clinical core's result included; an identity's is empty
    (a previous name or birth date is kept apart, in ``identity_history``).
    """

    model_config = OUT
    table: Literal["identity", "patient", "tumour", "assessment", "treatment", "event", "observation", "encounter"]
    record: int
    action: Literal["corrected", "voided"]
    reason: str
    by: str
    at: _dt.datetime
    entered_on: _dt.date
    previous: dict[str, Any]


class CohortRow(BaseModel):
    """One tumour of the de-identified research cohort (see ``RESEARCH_COLUMNS["cohort"]``): no name, birth date,
    pseudonym or calendar date; times are days since the diagnosis."""

    model_config = ConfigDict(OUT, extra="forbid")
    id: str
    age: float | None
    sex: str
    diagnosis_year: int
    necrosis: int | None
    mitotic_grade: int | None
    invasion: int | None
    margins: str | None
    met_time: float
    met_status: int
    lr_time: float
    lr_status: int
    synthetic: bool


class ResearchCohort(BaseModel):
    """The de-identified research cohort: its size, its columns in order, and its rows."""

    model_config = OUT
    n: int
    columns: tuple[str, ...]
    rows: tuple[CohortRow, ...]
