"""What :meth:`Registry.patient_record` returns: a patient's whole record as frozen, typed models.

``PatientRecord.to_dict()`` is its JSON form (ISO dates), the format of
``leiosurv registry export --patient P --format json`` (``leiosurv-registry-patient/1``)
and the input of the FHIR export.  The record holds identifying data (the
``identity``): share with care.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["PatientRecord", "PatientInfo", "Identity", "TumourRecord", "AssessmentEntry", "TreatmentRecord",
           "EventRecord", "ObservationRecord", "EncounterRecord"]


class _Frozen(BaseModel):
    # a column added to a table reaches the record before its model names it: kept, never dropped
    model_config = ConfigDict(frozen=True, extra="allow")


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
