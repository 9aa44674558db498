"""Dated surveillance plan from the excision date, the pathway and the risk group.

* dermal LMS (seed 001, Conclusion): high risk and incomplete (planned as high) -
  clinical visits at 6, 12, 24, 36 and 48 months and chest CT or PET/CT during the
  first 2 years (every ``imaging_interval_months``, a project default of 6); low
  risk - annual examinations by a general practitioner or dermatologist through
  month 48; after month 48 seed 001's statement and seed 000's advice;
* soft-tissue sarcoma (confirmed or leading LMS NOS, or interim while depth or
  diagnosis is open): the ESMO-EURACAN-GENTURIS 2021 schedule for ``plan_years``;
* metastasis to exclude: the metastasis work-up, dated at the excision (month 0), is the
  first item of the plan, due until its result is recorded (never ``past``: a work-up not
  recorded is overdue, not history); no schedule until then;
* metastatic, or not a leiomyosarcoma: no schedule from these sources; the plan says
  which pathway applies instead.

Every encounter has a status as of a date (``past``, ``due``, ``upcoming``).  Recommendations
come before the schedule, wherever they apply, in this order: record the prior-LMS history
(unknown on a skin lesion; seed 000), exclude metastasis (prior LMS, work-up not recorded;
seed 000), revise a prior AISMN diagnosis (a possible metastasis of it; seed 002), re-excision
after positive margins (every pathway but metastatic and non-leiomyosarcoma; seed 002).
"""

from __future__ import annotations

import calendar
import datetime as _dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from leiosurv.clinical import evidence
from leiosurv.clinical.diagnosis import history_unknown_on_skin, prior_aismn_revision_due
from leiosurv.clinical.evidence import Citation, EncounterSpec, GuidelinePhase, Recommendation
from leiosurv.clinical.findings import Findings
from leiosurv.clinical.pathway import Applicability
from leiosurv.clinical.risk import RiskResult
from leiosurv.exceptions import InputError
from leiosurv.serial import Serialisable

__all__ = ["Encounter", "SurveillancePlan", "plan_surveillance", "add_months", "encounter_window"]

_CFG = ConfigDict(extra="forbid", frozen=True)


def add_months(day: _dt.date, months: int) -> _dt.date:
    """*day* plus *months* calendar months, clamped to the month's last day.

    Examples
    --------
    >>> add_months(_dt.date(2024, 8, 31), 6)
    datetime.date(2025, 2, 28)
    """
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    if day.day <= 28:  # every month has the day
        return _dt.date(year, month, day.day)
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class Encounter(BaseModel):
    """One planned encounter: stable id, due date with its window, status, what, who, why, and the source."""

    model_config = _CFG
    id: str
    due: _dt.date
    window_start: _dt.date
    window_end: _dt.date
    month: int
    status: Literal["past", "due", "upcoming"]
    kind: str
    provider: str
    modality: str
    reason: str
    citation: Citation


class SurveillancePlan(Serialisable, BaseModel):
    """The dated plan: recommendations first, encounters sorted by due date, the basis, notes and parameters."""

    model_config = _CFG
    excision_date: _dt.date
    as_of: _dt.date
    pathway: str
    basis: str
    recommendations: tuple[Recommendation, ...]
    encounters: tuple[Encounter, ...]
    all_past: bool
    notes: tuple[str, ...]
    parameters: dict[str, int]

    def __str__(self) -> str:
        lines = [f"Surveillance plan ({self.basis}), from excision on {self.excision_date.isoformat()}, "
                 f"status as of {self.as_of.isoformat()}:"]
        lines += [f"  >> {r.text} ({'; '.join(c.short() for c in r.citations)})" for r in self.recommendations]
        lines += [f"  ! {n}" for n in self.notes]
        for e in self.encounters:
            lines.append(f"  {e.due.isoformat()}  [{e.status:8s}] (window {e.window_start.isoformat()} to "
                         f"{e.window_end.isoformat()})  {e.kind}: {e.modality} - {e.provider}")
            lines.append(f"      why: {e.reason}")
        if not self.encounters:
            lines.append("  (no scheduled encounters)")
        return "\n".join(lines)


def _status(due_start: _dt.date, due_end: _dt.date, as_of: _dt.date) -> Literal["past", "due", "upcoming"]:
    if due_end < as_of:
        return "past"
    if due_start <= as_of:
        return "due"
    return "upcoming"


def encounter_window(due: _dt.date, window_days: int = evidence.DEFAULT_WINDOW_DAYS) -> tuple[_dt.date, _dt.date]:
    """The acceptable window of an encounter due on *due*: ``(due - window_days, due + window_days)``.

    The one rule for every planned encounter's window (the plan's own, and a rescheduled item's).

    Examples
    --------
    >>> encounter_window(_dt.date(2024, 3, 1), 30)
    (datetime.date(2024, 1, 31), datetime.date(2024, 3, 31))
    """
    w = _dt.timedelta(days=window_days)
    return due - w, due + w


def _enc(prefix: str, month: int, start: _dt.date, window: int, spec: EncounterSpec, reason: str,
         as_of: _dt.date) -> Encounter:
    due = add_months(start, month)
    ws, we = encounter_window(due, window)
    return Encounter(id=f"{prefix}-m{month:03d}", due=due, window_start=ws, window_end=we, month=month,
                     status=_status(ws, we, as_of), kind=spec.kind, provider=spec.provider,
                     modality=spec.modality, reason=reason, citation=spec.citation)


def _guideline_months(phases: tuple[GuidelinePhase, ...], plan_months: int) -> list[int]:
    months, m = [], 0
    for ph in phases:
        end = plan_months if ph.until_month is None else min(ph.until_month, plan_months)
        while m + ph.interval_months <= end:
            m += ph.interval_months
            months.append(m)
    return months


def _group_text(risk: RiskResult) -> str:
    if risk.group == "high":
        return f"high risk ({risk.reason}; {risk.certainty})"
    return f"risk incomplete: planned as high risk until {', '.join(risk.missing)} is known ({risk.certainty})"


def plan_surveillance(
    findings: Findings,
    applicability: Applicability,
    risk: RiskResult,
    *,
    as_of: _dt.date | None = None,
    imaging_interval_months: int = evidence.DEFAULT_IMAGING_INTERVAL_MONTHS,
    window_days: int = evidence.DEFAULT_WINDOW_DAYS,
    plan_years: int = evidence.DEFAULT_GUIDELINE_PLAN_YEARS,
) -> SurveillancePlan:
    """Date the follow-up of *findings* on its pathway.

    Parameters
    ----------
    findings : Findings
        The validated findings (the excision date anchors the plan).
    applicability : Applicability
        From :func:`leiosurv.clinical.decide_pathway`.
    risk : RiskResult
        From :func:`leiosurv.clinical.classify_risk`.
    as_of : date, optional
        The date the encounters' status refers to; default today.
    imaging_interval_months : int, default 6
        High-risk chest imaging interval in the first 2 years (project default; seed 001 gives none).
    window_days : int, default 30
        Acceptable window +/- days around each due date (project default).
    plan_years : int, default 10
        Length of a guideline plan; the follow-up itself is lifelong.

    Returns
    -------
    SurveillancePlan
        Encounters sorted by due date, all after the excision date.
    """
    for name, value, lo in (("imaging_interval_months", imaging_interval_months, 1),
                            ("window_days", window_days, 0), ("plan_years", plan_years, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < lo:
            raise InputError(f"{name} must be an integer >= {lo}, but was {value!r}")
    as_of = as_of or _dt.date.today()
    start = findings.excision_date
    params = {"imaging_interval_months": imaging_interval_months, "window_days": window_days, "plan_years": plan_years}
    notes: list[str] = []
    recs: list[Recommendation] = []
    encs: list[Encounter] = []
    p = applicability.pathway
    applies = {
        "record_history": history_unknown_on_skin(findings),
        "exclude_metastasis": p == "exclude_metastasis",
        "revise_prior_aismn": prior_aismn_revision_due(findings),
        "re_excision": findings.margins == "positive" and p not in ("metastatic", "other"),
    }
    recs += [r for rid, r in evidence.RECOMMENDATIONS.items() if applies[rid]]
    if p == "exclude_metastasis":
        spec = evidence.METASTASIS_WORKUP
        workup = _enc("workup", 0, start, window_days, spec, spec.reason, as_of)
        # its result is not recorded (that is this pathway): due from its window on, never 'past'
        encs.append(workup.model_copy(update={"status": "upcoming" if as_of < workup.window_start else "due"}))
    if p == "dermal_lms":
        S = evidence.DLMS_SCHEDULE
        if risk.group == "low":
            spec = S["visit_low"]
            encs += [_enc("visit", m, start, window_days, spec, spec.reason, as_of)
                     for m in evidence.DLMS_LOW_RISK_VISIT_MONTHS]
        else:
            gt = _group_text(risk)
            why = S["visit_high"].reason.format(group_text=gt)
            encs += [_enc("visit", m, start, window_days, S["visit_high"], why, as_of)
                     for m in evidence.DLMS_VISIT_MONTHS]
            last = 12 * evidence.DLMS_IMAGING_YEARS
            why = S["imaging_high"].reason.format(group_text=gt)
            encs += [_enc("imaging", m, start, window_days, S["imaging_high"], why, as_of)
                     for m in range(imaging_interval_months, last + 1, imaging_interval_months)]
        if risk.group == "incomplete":
            notes.append(risk.notes[0])  # the risk's own account: factors unknown, or what 'low' still needs
        if risk.group == "low":
            notes.append(evidence.DLMS_LOW_RISK_READING)
        basis = f"dermal leiomyosarcoma, {risk.group} risk, {risk.certainty}"
        if risk.group == "incomplete":
            basis = f"dermal leiomyosarcoma, risk incomplete: planned as high risk, {risk.certainty}"
        notes.append(evidence.DLMS_AFTER_LAST)
    elif p == "soft_tissue_sarcoma" or applicability.interim_sarcoma_schedule:
        grade = "low" if findings.fnclcc_grade == "G1" else "intermediate_high"
        g = evidence.ESMO_FOLLOW_UP[grade]
        spec = EncounterSpec(kind="follow-up visit", provider=evidence.ESMO_PROVIDER, modality=evidence.ESMO_MODALITY,
                             reason=f"Soft-tissue sarcoma follow-up ({applicability.reason}). {g.text}",
                             citation=g.citation)
        encs += [_enc("guideline", m, start, window_days, spec, spec.reason, as_of)
                 for m in _guideline_months(g.phases, 12 * plan_years)]
        what = "interim " if p != "soft_tissue_sarcoma" else ""
        basis = (f"{what}soft-tissue sarcoma guideline (ESMO 2021), {grade.replace('_', '/')} grade, "
                 f"{plan_years} years")
        if findings.fnclcc_grade == "unknown":
            notes.append(evidence.text("grade_unknown"))
        if findings.depth == "unknown":
            notes.append(evidence.text("depth_unknown"))
        notes.append(f"{evidence.text('lifelong')} The plan lists {plan_years} years; follow-up continues for life.")
    elif p in ("metastatic", "exclude_metastasis"):
        basis = "metastatic leiomyosarcoma" if p == "metastatic" else "metastasis to be excluded first"
        notes += [evidence.text("metastatic"), evidence.text("lifelong")]
    elif p == "other":
        basis = f"not a leiomyosarcoma pathway: {applicability.category_name}"
        notes.append(evidence.text("other_pathway", name=applicability.category_name))
    else:
        basis = "undetermined: the findings fit no category"
        notes.append(applicability.reason)
    encs.sort(key=lambda e: (e.due, e.kind, e.id))
    all_past = bool(encs) and all(e.status == "past" for e in encs)
    if all_past:
        notes.insert(0, evidence.text("all_past", as_of=as_of.isoformat()))
    return SurveillancePlan(excision_date=start, as_of=as_of, pathway=p, basis=basis, recommendations=tuple(recs),
                            encounters=tuple(encs), all_past=all_past, notes=tuple(notes), parameters=params)
