"""API schemas by role: what a clinician, a researcher and an admin send and get.

Assessment results are the clinical core's own model (:class:`leiosurv.clinical.Assessment`); records the
registry answers with are its own public, frozen models, used here as they are (the patient record,
timeline, alerts, missed encounters, patient summaries, the history, the research cohort:
:class:`leiosurv.registry.PatientRecord`, :class:`~leiosurv.registry.Timeline`,
:class:`~leiosurv.registry.Alert`, ...); this module only composes them (:class:`DashboardOut`,
:class:`PatientListOut`) and states what clients send.  A study run carries the study's own result
(:class:`StudyRunOut`).
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leiosurv.clinical import Findings
from leiosurv.registry import Alert, MissedEncounter, PatientSummary
from leiosurv.study import StudyResult

_CFG = ConfigDict(extra="forbid")
# a response holds every field, those with a default too: the schema says so (the registry's models have defaults)
_OUT = ConfigDict(json_schema_serialization_defaults_required=True)
#: the pseudonyms the app registers (and a correction may give): part of every patient URL
PSEUDONYM_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
Pseudonym = Field(min_length=1, max_length=64, pattern=rf"^{PSEUDONYM_PATTERN}$")
Label = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# the days a request may name as "today" (as_of): wide enough for any record, narrow enough that the date
# arithmetic of plans and alerts (years ahead and behind) never leaves the calendar (a 422, never a 500)
FIRST_DAY, LAST_DAY = _dt.date(1900, 1, 1), _dt.date(2199, 12, 31)


class LoginIn(BaseModel):
    model_config = _CFG
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class SessionOut(BaseModel):
    username: str
    role: Literal["clinician", "researcher", "admin"]
    csrf_token: str


class AssessIn(BaseModel):
    """Findings to assess (nothing is stored)."""

    model_config = _CFG
    findings: Findings
    as_of: _dt.date | None = Field(None, ge=FIRST_DAY, le=LAST_DAY,
                                   description="Date the plan's status refers to; default today.")
    mitotic_definition: Literal["fnclcc", "danish-3b"] | None = None


class DashboardOut(BaseModel):
    """Each list holds at most ``limit`` items (the most urgent first); ``totals`` counts them all."""

    as_of: _dt.date
    totals: dict[str, int]
    overdue: list[Alert]
    due: list[Alert]
    gaps: list[Alert]
    lost: list[Alert]
    missed: list[MissedEncounter]


class PatientListOut(BaseModel):
    model_config = _OUT
    total: int
    offset: int
    patients: list[PatientSummary]  # clinicians: identified


class PatientCreate(BaseModel):
    model_config = _CFG
    pseudonym: str = Pseudonym
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    name: str | None = Field(None, max_length=200)
    birth_date: _dt.date | None = None


class TumourCreate(BaseModel):
    model_config = _CFG
    label: str = Label
    findings: Findings
    confirmed_diagnosis: str | None = Field(None, max_length=60)


class EncounterCreate(BaseModel):
    """A planned encounter done or missed (``plan_item``), or an ad hoc one (done)."""

    model_config = _CFG
    date: _dt.date
    status: Literal["done", "missed", "cancelled"] = "done"
    tumour: str | None = Field(None, max_length=64)
    plan_item: str | None = Field(None, max_length=64)
    modality_class: Literal["clinical", "imaging", "biopsy", "other"] = "clinical"
    kind: str | None = Field(None, max_length=200)
    modality: str | None = Field(None, max_length=200)
    findings: str | None = Field(None, max_length=2000)


class EventCreate(BaseModel):
    model_config = _CFG
    kind: Literal["local_recurrence", "metastasis", "new_primary", "death"]
    date: _dt.date
    tumour: str | None = Field(None, max_length=64)
    site: Literal["lung", "liver", "skin", "bone_spine", "adrenal", "kidney", "other"] | None = None
    cause: str | None = Field(None, max_length=500)
    note: str | None = Field(None, max_length=2000)


class CreatedOut(BaseModel):
    id: int | str
    message: str


class StudyIn(BaseModel):
    model_config = _CFG
    horizon: str = Field("5y", max_length=16, description="e.g. 5y, 60m, 1826d")


class StudyRunOut(BaseModel):
    """A cohort study run on the registry: its size, whether it is synthetic, and the result.

    ``study`` is the study's own result (:class:`leiosurv.study.StudyResult`), the JSON of
    ``leiosurv study``'s results.json (``leiosurv schema --output study``); aggregates only.
    """

    model_config = _OUT
    synthetic: bool
    n: int
    study: StudyResult


class UserOut(BaseModel):
    username: str
    role: Literal["clinician", "researcher", "admin"]
    active: bool
    created: _dt.datetime


class UserCreate(BaseModel):
    model_config = _CFG
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    password: str = Field(min_length=8, max_length=256)
    role: Literal["clinician", "researcher", "admin"]


class UserUpdate(BaseModel):
    model_config = _CFG
    active: bool | None = None
    role: Literal["clinician", "researcher", "admin"] | None = None
    password: str | None = Field(None, min_length=8, max_length=256,
                                 description="A new password (an admin's reset); the user's sessions end.")


class PasswordChange(BaseModel):
    model_config = _CFG
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)
