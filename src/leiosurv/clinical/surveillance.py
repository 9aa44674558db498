"""Dated surveillance plan from the excision date and the risk group.

* dermal LMS (seed 001, Conclusion): clinical visits at 6, 12, 24, 36 and 48
  months; high risk adds chest CT or PET/CT during the first 2 years (every
  ``imaging_interval_months``, a project default of 6); low risk: examinations by
  a general practitioner or dermatologist;
* ``"incomplete"``: planned as high risk, with a prominent note naming what is missing;
* non-dermal leiomyosarcoma (or unknown depth): ESMO-EURACAN-GENTURIS 2021 schedule
  for ``plan_years`` (default 10) plus the lifelong-vigilance note (seed 000);
* distant / metastatic lesion: no schedule from these sources; a note says so.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from dataclasses import dataclass

from leiosurv.clinical import evidence
from leiosurv.clinical.evidence import Citation
from leiosurv.clinical.findings import Findings
from leiosurv.clinical.risk import RiskResult
from leiosurv.exceptions import InputError

__all__ = ["Encounter", "SurveillancePlan", "plan_surveillance", "add_months"]


def add_months(day: _dt.date, months: int) -> _dt.date:
    """*day* plus *months* calendar months, clamped to the month's last day.

    Examples
    --------
    >>> add_months(_dt.date(2024, 8, 31), 6)
    datetime.date(2025, 2, 28)
    """
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Encounter:
    """One planned encounter: stable id, due date with its window, what, who, why, and the source."""

    id: str
    due: _dt.date
    window_start: _dt.date
    window_end: _dt.date
    month: int
    kind: str
    provider: str
    modality: str
    reason: str
    citation: Citation

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "due": self.due.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "month": self.month,
            "kind": self.kind,
            "provider": self.provider,
            "modality": self.modality,
            "reason": self.reason,
            "citation": self.citation.to_dict(),
        }


@dataclass(frozen=True)
class SurveillancePlan:
    """The dated plan: encounters sorted by due date, the basis, notes and parameters."""

    excision_date: _dt.date
    basis: str
    encounters: tuple[Encounter, ...]
    notes: tuple[str, ...]
    parameters: dict

    def to_dict(self) -> dict:
        return {
            "excision_date": self.excision_date.isoformat(),
            "basis": self.basis,
            "encounters": [e.to_dict() for e in self.encounters],
            "notes": list(self.notes),
            "parameters": self.parameters,
        }

    def __str__(self) -> str:
        lines = [f"Surveillance plan ({self.basis}), from excision on {self.excision_date.isoformat()}:"]
        lines += [f"  ! {n}" for n in self.notes]
        for e in self.encounters:
            lines.append(
                f"  {e.due.isoformat()}  (window {e.window_start.isoformat()} to {e.window_end.isoformat()})  "
                f"{e.kind}: {e.modality} - {e.provider}"
            )
        if not self.encounters:
            lines.append("  (no scheduled encounters)")
        return "\n".join(lines)


def _enc(prefix: str, month: int, start: _dt.date, window: int, spec: dict) -> Encounter:
    due = add_months(start, month)
    w = _dt.timedelta(days=window)
    return Encounter(
        f"{prefix}-m{month:03d}", due, due - w, due + w, month,
        str(spec["kind"]), str(spec["provider"]), str(spec["modality"]), str(spec["reason"]), spec["citation"],  # type: ignore[arg-type]
    )


def _guideline_months(phases, plan_months: int) -> list[int]:
    months, m = [], 0
    for ph in phases:
        end = plan_months if ph.until_month is None else min(ph.until_month, plan_months)
        while m + ph.interval_months <= end:
            m += ph.interval_months
            months.append(m)
    return months


def plan_surveillance(
    findings: Findings,
    risk: RiskResult,
    *,
    imaging_interval_months: int = evidence.DEFAULT_IMAGING_INTERVAL_MONTHS,
    window_days: int = evidence.DEFAULT_WINDOW_DAYS,
    plan_years: int = evidence.DEFAULT_GUIDELINE_PLAN_YEARS,
) -> SurveillancePlan:
    """Date the follow-up of *findings* given its *risk* result.

    Parameters
    ----------
    findings : Findings
        The validated findings (the excision date anchors the plan).
    risk : RiskResult
        From :func:`leiosurv.clinical.classify_risk`.
    imaging_interval_months : int, default 6
        High-risk chest imaging interval in the first 2 years (project default; seed 001 gives none).
    window_days : int, default 30
        Acceptable window +/- days around each due date (project default).
    plan_years : int, default 10
        Length of a guideline (non-dermal) plan; the follow-up itself is lifelong.

    Returns
    -------
    SurveillancePlan
        Encounters sorted by due date, all after the excision date.

    Examples
    --------
    >>> import datetime
    >>> from leiosurv.clinical.risk import classify_risk
    >>> f = Findings(excision_date=datetime.date(2024, 1, 15), depth="dermal", necrosis="absent",
    ...              mitoses={"count": 3}, perineural_invasion="absent", intravascular_invasion="absent",
    ...              margins="negative")
    >>> [e.due.isoformat() for e in plan_surveillance(f, classify_risk(f)).encounters]
    ['2024-07-15', '2025-01-15', '2026-01-15', '2027-01-15', '2028-01-15']
    """
    for name, value, lo in (("imaging_interval_months", imaging_interval_months, 1),
                            ("window_days", window_days, 0), ("plan_years", plan_years, 1)):
        if not isinstance(value, int) or value < lo:
            raise InputError(f"{name} must be an integer >= {lo}, but was {value!r}")
    start = findings.excision_date
    params = {"imaging_interval_months": imaging_interval_months, "window_days": window_days, "plan_years": plan_years}
    notes: list[str] = []
    encs: list[Encounter] = []
    sched = evidence.DLMS_SCHEDULE
    lifelong = evidence.LIFELONG_NOTE.quote or ""

    if risk.group in ("high", "low") or (risk.group == "incomplete" and findings.depth == "dermal"):
        visit = sched["visit_low"] if risk.group == "low" else sched["visit_high"]
        encs += [_enc("visit", m, start, window_days, visit) for m in evidence.DLMS_VISIT_MONTHS]
        if risk.group != "low":
            last = 12 * evidence.DLMS_IMAGING_YEARS
            encs += [
                _enc("imaging", m, start, window_days, sched["imaging_high"])
                for m in range(imaging_interval_months, last + 1, imaging_interval_months)
            ]
        basis = f"dermal leiomyosarcoma, {risk.group} risk (seed 001)"
        if risk.group == "incomplete":
            notes.append(evidence.INCOMPLETE_NOTE.format(missing=", ".join(risk.missing)))
            basis = "dermal leiomyosarcoma, risk INCOMPLETE: planned as high risk (seed 001)"
        if risk.group == "low":
            notes.append(str(evidence.DLMS_SCHEDULE["visit_low"]["citation"].quote))  # type: ignore[union-attr]
    elif findings.distant_lesion == "present":
        basis = "distant / metastatic lesion"
        notes += [evidence.METASTATIC_NOTE, lifelong]
    else:
        grade = "low" if findings.fnclcc_grade == "G1" else "intermediate_high"
        g = evidence.ESMO_FOLLOW_UP[grade]
        spec = {
            "kind": "follow-up visit",
            "provider": evidence.ESMO_PROVIDER,
            "modality": evidence.ESMO_MODALITY,
            "reason": f"Soft-tissue sarcoma follow-up. {g['text']}",
            "citation": g["citation"],
        }
        encs += [_enc("guideline", m, start, window_days, spec) for m in _guideline_months(g["phases"], 12 * plan_years)]
        basis = f"soft-tissue sarcoma guideline (ESMO 2021), {grade.replace('_', '/')} grade, {plan_years} years"
        if risk.group == "incomplete":
            notes.append(evidence.INCOMPLETE_NOTE.format(missing=", ".join(risk.missing)))
        notes.append(f"{lifelong} The plan lists {plan_years} years; follow-up continues for life.")
    encs.sort(key=lambda e: (e.due, e.kind, e.id))
    return SurveillancePlan(start, basis, tuple(encs), tuple(notes), params)
