"""The dermal-LMS risk rule of seed 001, implemented once, and the risk result of a case.

The published rule (``evidence.DLMS_RULE_ID``, *proposed, exploratory*): high
risk if any of necrosis, mitotic grade 3, perineural/intravascular invasion or
positive margins is present; low risk only when all four are known and absent;
otherwise ``"incomplete"`` (never low).  :func:`rule_group` and
:func:`rule_groups` (vectorised, used by the cohort study) are the only
implementations.

A case gets a dermal-LMS group only on the dermal-LMS pathway
(:mod:`leiosurv.clinical.pathway`); otherwise the group is ``"not_applicable"``
with the reason, and ``conditional_group`` says, clearly labelled, what the
group would be if dermal LMS were confirmed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from leiosurv.clinical import evidence
from leiosurv.clinical.diagnosis import Diagnosis
from leiosurv.clinical.evidence import Citation, FactorRisk, MitoticDefinition, PublishedRisk
from leiosurv.clinical.findings import Findings
from leiosurv.clinical.mitoses import get_mitotic_definition, per_10_hpf
from leiosurv.clinical.pathway import Applicability
from leiosurv.serial import Serialisable

if TYPE_CHECKING:  # numpy is imported by rule_groups, where it is used (the CLI starts without it)
    import numpy as np

__all__ = ["RiskGroup", "RuleGroup", "FactorStatus", "RiskResult", "classify_risk", "rule_group", "rule_groups",
           "rule_factors"]

RuleGroup = Literal["high", "low", "incomplete"]
RiskGroup = Literal["high", "low", "incomplete", "not_applicable"]
Status = Literal["present", "absent", "unknown"]
_CFG = ConfigDict(extra="forbid", frozen=True)


def rule_factors() -> tuple[str, ...]:
    """The factors of the published rule (the union over outcomes), in order."""
    seen: dict[str, None] = {}
    for factors in evidence.DLMS_HIGH_RISK_FACTORS.values():
        seen.update(dict.fromkeys(factors))
    return tuple(seen)


def rule_group(statuses: Iterable[Status]) -> RuleGroup:
    """The rule on one tumour's factor statuses: any present -> high; all absent -> low; else incomplete.

    >>> rule_group(["absent", "unknown", "present"]), rule_group(["absent", "absent"])
    ('high', 'low')
    >>> rule_group(["absent", "unknown"])
    'incomplete'
    """
    s = list(statuses)
    if "present" in s:
        return "high"
    if s and all(v == "absent" for v in s):
        return "low"
    return "incomplete"


def rule_groups(values: np.ndarray) -> np.ndarray:
    """The same rule on a table: rows are tumours, columns factors, 1 present, 0 absent, NaN unknown.

    Returns an object array of ``"high"``, ``"low"`` or ``"incomplete"`` (one per row).

    >>> import numpy as np
    >>> rule_groups(np.array([[1, np.nan], [0, 0], [0, np.nan]])).tolist()
    ['high', 'low', 'incomplete']
    """
    import numpy as np

    v = np.asarray(values, dtype=float)
    high = (v == 1).any(axis=1)
    low = (v == 0).all(axis=1) & ~high
    out = np.full(v.shape[0], "incomplete", dtype=object)
    out[high] = "high"
    out[low] = "low"
    return out


class PublishedFactorRisk(BaseModel):
    """The published 5-year risks of one factor for one outcome, as shown with a result."""

    model_config = _CFG
    outcome: str
    present: PublishedRisk
    absent: PublishedRisk
    difference: PublishedRisk

    @classmethod
    def of(cls, r: FactorRisk) -> PublishedFactorRisk:
        return cls(outcome=r.outcome, present=r.present, absent=r.absent, difference=r.difference)


class FactorStatus(BaseModel):
    """One factor of the rule: its status, the inputs that decided it, and its published risks."""

    model_config = _CFG
    factor: str
    label: str
    status: Status
    inputs: dict[str, str | float | int | None]
    published: tuple[PublishedFactorRisk, ...]


class RiskResult(Serialisable, BaseModel):
    """The risk group with its factors, decisive inputs, published risks, certainty and citations."""

    model_config = _CFG
    group: RiskGroup
    applies: bool
    conditional_group: RuleGroup | None
    certainty: str
    rule_id: str
    reason: str
    factors: tuple[FactorStatus, ...]
    missing: tuple[str, ...]
    mitotic_definition: MitoticDefinition
    mitoses_per_10_hpf: float | None
    mitotic_score: int | None
    notes: tuple[str, ...]
    citations: tuple[Citation, ...]
    overall_5y: dict[str, PublishedRisk]

    def __str__(self) -> str:
        if self.applies:
            lines = [f"Risk group: {self.group.upper()}  ({self.reason}) - {self.certainty}"]
        else:
            lines = [f"Risk group: NOT APPLICABLE  ({self.reason})"]
            if self.conditional_group:
                lines.append("  " + evidence.text("conditional", group=self.conditional_group.upper()))
        for f in self.factors:
            lines.append(f"  {f.label}: {f.status}")
            for r in f.published:
                lines.append(
                    f"    5-year {r.outcome.replace('_', ' ')}: {r.present.format()} if present, "
                    f"{r.absent.format()} if absent; RD {r.difference.format()}"
                    + ("  (RD CI includes 0)" if (r.difference.lower or 0) <= 0 <= (r.difference.upper or 0) else "")
                )
        if self.overall_5y:
            o = self.overall_5y
            lines.append(f"  Overall 5-year risks ({evidence.DLMS_COHORT['n']} patients): metastasis "
                         f"{o['metastasis'].format()}, local recurrence {o['local_recurrence'].format()}")
        d = self.mitotic_definition
        grade3 = next((f.status for f in self.factors if f.factor == "mitotic_grade_3"), "unknown")
        score = f", {d.score_name} {self.mitotic_score}" if d.score_name and self.mitotic_score is not None else ""
        count = "not counted" if self.mitoses_per_10_hpf is None else (
            f"{self.mitoses_per_10_hpf:.4g} per 10 HPF of {d.hpf_area_mm2} mm2{score}")
        lines.append(f"  Mitoses: {count}; mitotic grade 3 ({d.name}): {grade3}")
        lines += [f"  Note: {n}" for n in self.notes]
        lines += [f"  Source: {c}" for c in self.citations]
        return "\n".join(lines)


def _either(a: str, b: str) -> Status:
    if "present" in (a, b):
        return "present"
    if a == b == "absent":
        return "absent"
    return "unknown"


@functools.cache
def _published(factor: str) -> tuple[PublishedFactorRisk, ...]:
    """The published risks of *factor*, made once (frozen, shared by every result)."""
    return tuple(PublishedFactorRisk.of(r) for (fa, _), r in evidence.DLMS_FACTOR_RISKS.items() if fa == factor)


@functools.cache
def _rule_factor_set() -> frozenset[str]:
    return frozenset(rule_factors())


def _factor_statuses(f: Findings, d: MitoticDefinition, n10: float | None, score: int | None) -> list[FactorStatus]:
    mit: Status = "unknown" if score is None else ("present" if score >= d.grade_3_score else "absent")
    described = f.mitoses.description
    if score is None and described == "brisk" and evidence.BRISK_DESCRIBED_IS_GRADE_3:
        mit = "present"  # brisk: above the brisk count, itself above every grade-3 threshold (mitoses.yaml)
    margins: Status = {"positive": "present", "negative": "absent"}.get(f.margins, "unknown")  # type: ignore[assignment]
    rows: list[tuple[str, Status, dict[str, str | float | int | None]]] = [
        ("necrosis", f.necrosis, {"necrosis": f.necrosis}),
        ("mitotic_grade_3", mit, {"mitoses.count": f.mitoses.count, "mitoses.unit": f.mitoses.unit,
                                  "mitoses.description": described,
                                  "per_10_hpf_of_definition": n10, "score": score, "definition": d.id}),
        ("invasion", _either(f.perineural_invasion, f.intravascular_invasion),
         {"perineural_invasion": f.perineural_invasion, "intravascular_invasion": f.intravascular_invasion}),
        ("positive_margins", margins, {"margins": f.margins, "margin_distance_mm": f.margin_distance_mm}),
    ]
    rule = _rule_factor_set()
    return [
        FactorStatus(factor=factor, label=evidence.DLMS_FACTORS[factor], status=status, inputs=inputs,
                     published=_published(factor))
        for factor, status, inputs in rows if factor in rule
    ]


def _low_blocked(findings: Findings) -> tuple[str, ...]:
    """Labels of what must still be recorded before the rule may give 'low' (``evidence.DLMS_LOW_REQUIRES``)."""
    out = []
    for req in evidence.DLMS_LOW_REQUIRES:
        obj: object = findings
        for part in req.field.split("."):
            obj = getattr(obj, part)
        if obj != req.value:
            out.append(req.label)
    return tuple(out)


def classify_risk(findings: Findings, applicability: Applicability | None = None, *,
                  mitotic_definition: str | MitoticDefinition | None = None,
                  diagnosis: Diagnosis | None = None) -> RiskResult:
    """Classify a tumour by the dermal-LMS rule of seed 001, where it applies.

    Parameters
    ----------
    findings : Findings
        The validated findings of the presenting lesion.
    applicability : Applicability, optional
        The pathway from :func:`leiosurv.clinical.decide_pathway`; without it the rule is
        applied to a dermal tumour as if dermal LMS were confirmed (for the rule alone).
    mitotic_definition : str or MitoticDefinition, optional
        How 'mitotic grade 3' is read (``"fnclcc"``, default, or ``"danish-3b"``).
    diagnosis : Diagnosis, optional
        The ranked diagnosis; with it, the conditional group ("if dermal LMS were confirmed") is given
        only while no dermal-LMS category has an essential criterion contradicted.

    Returns
    -------
    RiskResult
        ``group`` is ``"high"``, ``"low"``, ``"incomplete"`` or ``"not_applicable"``.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", necrosis="present")
    >>> classify_risk(f).group
    'high'
    >>> classify_risk(f.model_copy(update={"necrosis": "absent"})).group
    'incomplete'
    """
    d = get_mitotic_definition(mitotic_definition)
    n10 = per_10_hpf(findings, d)
    score = None if n10 is None else d.score(n10)
    factors = _factor_statuses(findings, d, n10, score)
    base = rule_group(fs.status for fs in factors)
    present = [fs.label for fs in factors if fs.status == "present"]
    missing = tuple(fs.label for fs in factors if fs.status == "unknown")
    cits = tuple(evidence.DLMS_RULE_CITATIONS) + tuple(d.citations)
    notes: list[str] = []
    if applicability is None:
        applies = findings.depth == "dermal"
        why = "" if applies else f"depth {findings.depth}: the rule applies only to dermal tumours"
    else:
        applies = applicability.dermal_rule_applies
        why = applicability.reason
    if findings.margins == "positive":
        notes.append(evidence.DLMS_RE_EXCISION_NOTE)
    if not applies:
        # what the group would be if dermal LMS were confirmed: shown only for a lesion that may be dermal LMS
        dermal = [] if diagnosis is None else [c for c in diagnosis.candidates if c.category.pathway == "dermal_lms"]
        possible = diagnosis is None or any(not c.excluded for c in dermal)
        conditional: RuleGroup | None = base if findings.depth in ("dermal", "unknown") and possible else None
        if conditional == "low" and (_low_blocked(findings) or any(c.gated_by for c in dermal)):
            conditional = "incomplete"  # what a confirmation would give: never low while 'low' is held back
        return RiskResult(
            group="not_applicable", applies=False, conditional_group=conditional, certainty=evidence.DLMS_RULE_STATUS,
            rule_id=evidence.DLMS_RULE_ID, reason=why, factors=tuple(fs.model_copy(update={"published": ()})
                                                                     for fs in factors),
            missing=missing, mitotic_definition=d, mitoses_per_10_hpf=n10,
            mitotic_score=score, notes=tuple(notes), citations=cits, overall_5y={},
        )
    blocked = _low_blocked(findings) if base == "low" and applicability is not None else ()
    conf = diagnosis.candidate(diagnosis.confirmed) if diagnosis is not None and diagnosis.confirmed else None
    contradicted = base == "low" and conf is not None and bool(conf.contradicted or conf.gated_by)
    if blocked or contradicted:
        causes = [f"not recorded: {', '.join(blocked)}"] if blocked else []
        if contradicted:
            causes.append("the findings contradict the confirmed diagnosis (warn.confirmed.contradicted)")
        base, missing = "incomplete", blocked + ((evidence.text("low_contradicted_label"),) if contradicted else ())
        reason = "; ".join(causes)
        if contradicted:
            notes.insert(0, evidence.text("low_contradicted"))
        if blocked:
            notes.insert(0, evidence.text("low_blocked", missing=", ".join(blocked)))
    elif base == "high":
        reason = "present: " + ", ".join(present)
    elif base == "incomplete":
        reason = "not known: " + ", ".join(missing)
        notes.insert(0, evidence.text("incomplete", missing=", ".join(missing)))
    else:
        reason = "all four factors known and absent"
    return RiskResult(
        group=base, applies=True, conditional_group=None, certainty=evidence.DLMS_RULE_STATUS,
        rule_id=evidence.DLMS_RULE_ID, reason=reason, factors=tuple(factors), missing=missing, mitotic_definition=d,
        mitoses_per_10_hpf=n10, mitotic_score=score, notes=tuple(notes),
        citations=cits, overall_5y=dict(evidence.DLMS_OVERALL_5Y),
    )
