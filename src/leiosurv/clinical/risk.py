"""Dermal-LMS risk group (seed 001) with its evidence.

The published rule (``evidence.DLMS_RULE_ID``): high risk if any of necrosis,
mitotic grade 3, perineural/intravascular invasion or positive margins is
present; low risk only when all four are known and absent; otherwise
``"incomplete"`` (never low).  It applies to dermal leiomyosarcoma only; for a
subcutaneous or deeper leiomyosarcoma the group is ``"not_applicable"`` and the
soft-tissue-sarcoma guideline (ESMO 2021) is named instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from leiosurv.clinical import evidence
from leiosurv.clinical.evidence import Citation, FactorRisk, MitoticDefinition, PublishedRisk
from leiosurv.clinical.findings import Findings

__all__ = ["RiskGroup", "FactorStatus", "RiskResult", "classify_risk", "mitotic_score", "get_mitotic_definition"]

RiskGroup = Literal["high", "low", "incomplete", "not_applicable"]
Status = Literal["present", "absent", "unknown"]

_DEEP = {"subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone"}


def get_mitotic_definition(definition: str | MitoticDefinition | None = None) -> MitoticDefinition:
    """Look up a mitotic-grade definition by id (default ``evidence.DEFAULT_MITOTIC_DEFINITION``).

    Examples
    --------
    >>> get_mitotic_definition("fnclcc").score(20)
    3
    """
    if isinstance(definition, MitoticDefinition):
        return definition
    key = definition or evidence.DEFAULT_MITOTIC_DEFINITION
    try:
        return evidence.MITOTIC_DEFINITIONS[key]
    except KeyError:
        from leiosurv.exceptions import InputError

        known = ", ".join(sorted(evidence.MITOTIC_DEFINITIONS))
        raise InputError(f"mitotic_definition: unknown definition {key!r} (known: {known})") from None


def mitotic_score(findings: Findings, definition: str | MitoticDefinition | None = None) -> int | None:
    """Mitotic score of the counted mitoses under *definition*; ``None`` if not counted.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), mitoses={"count": 20})
    >>> mitotic_score(f, "fnclcc"), mitotic_score(f, "danish-3b")
    (3, 1)
    """
    d = get_mitotic_definition(definition)
    n = findings.mitoses.per_10_hpf(d.hpf_area_mm2)
    return None if n is None else d.score(n)


@dataclass(frozen=True)
class FactorStatus:
    """One risk factor of the rule: its status, the inputs that decided it, and its published risks."""

    factor: str
    label: str
    status: Status
    inputs: dict
    published: tuple[FactorRisk, ...]

    def to_dict(self) -> dict:
        return {
            "factor": self.factor,
            "label": self.label,
            "status": self.status,
            "inputs": self.inputs,
            "published_5y": [
                {
                    "outcome": r.outcome,
                    "present": _risk(r.present),
                    "absent": _risk(r.absent),
                    "difference": _risk(r.difference),
                    "citation": r.present.citation.to_dict(),
                }
                for r in self.published
            ],
        }


def _risk(p: PublishedRisk) -> dict:
    return {"estimate": p.estimate, "lower": p.lower, "upper": p.upper, "text": p.format()}


@dataclass(frozen=True)
class RiskResult:
    """The risk group with its factors, decisive inputs, published risks and citations."""

    group: RiskGroup
    rule_id: str
    applies: bool
    reason: str
    factors: tuple[FactorStatus, ...]
    missing: tuple[str, ...]
    mitotic_definition: MitoticDefinition
    guideline_schedule: str | None
    notes: tuple[str, ...]
    citations: tuple[Citation, ...] = field(default=())

    @property
    def overall_5y(self) -> dict[str, PublishedRisk]:
        """Published overall 5-year risks of the dermal-LMS cohort (seed 001)."""
        return dict(evidence.DLMS_OVERALL_5Y)

    def to_dict(self) -> dict:
        return {
            "group": self.group,
            "rule_id": self.rule_id,
            "applies": self.applies,
            "reason": self.reason,
            "factors": {f.factor: f.to_dict() for f in self.factors},
            "missing": list(self.missing),
            "overall_5y": {k: _risk(v) for k, v in self.overall_5y.items()} if self.applies else {},
            "mitotic_definition": self.mitotic_definition.to_dict(),
            "guideline_schedule": self.guideline_schedule,
            "notes": list(self.notes),
            "citations": [c.to_dict() for c in self.citations],
        }

    def __str__(self) -> str:
        lines = [f"Risk group: {self.group.upper()}  ({self.reason})"]
        for f in self.factors:
            lines.append(f"  {f.label}: {f.status}")
            for r in f.published:
                lines.append(
                    f"    5-year {r.outcome.replace('_', ' ')}: {r.present.format()} if present, "
                    f"{r.absent.format()} if absent"
                )
        if self.applies:
            o = self.overall_5y
            lines.append(
                f"  Overall 5-year risks ({evidence.DLMS_COHORT['n']} patients): metastasis {o['metastasis'].format()}, "
                f"local recurrence {o['local_recurrence'].format()}"
            )
        lines.append(f"  Mitotic grade 3 read as: {self.mitotic_definition.name}")
        if self.guideline_schedule:
            lines.append(f"  Guideline follow-up: {self.guideline_schedule}")
        lines += [f"  Note: {n}" for n in self.notes]
        lines += [f"  Source: {c}" for c in self.citations]
        return "\n".join(lines)


def _either(a: str, b: str) -> Status:
    if "present" in (a, b):
        return "present"
    if a == b == "absent":
        return "absent"
    return "unknown"


def _factor_statuses(f: Findings, d: MitoticDefinition) -> list[FactorStatus]:
    score = mitotic_score(f, d)
    n10 = f.mitoses.per_10_hpf(d.hpf_area_mm2)
    mit: Status = "unknown" if score is None else ("present" if score >= d.grade_3_score else "absent")
    margins: Status = {"positive": "present", "negative": "absent"}.get(f.margins, "unknown")
    rows: list[tuple[str, Status, dict]] = [
        ("necrosis", f.necrosis, {"necrosis": f.necrosis}),
        (
            "mitotic_grade_3",
            mit,
            {
                "mitoses.count": f.mitoses.count,
                "mitoses.unit": f.mitoses.unit,
                "per_10_hpf_of_definition": n10,
                "score": score,
                "definition": d.id,
            },
        ),
        (
            "invasion",
            _either(f.perineural_invasion, f.intravascular_invasion),
            {"perineural_invasion": f.perineural_invasion, "intravascular_invasion": f.intravascular_invasion},
        ),
        ("positive_margins", margins, {"margins": f.margins, "margin_distance_mm": f.margin_distance_mm}),
    ]
    return [
        FactorStatus(
            factor,
            evidence.DLMS_FACTORS[factor],
            status,
            inputs,
            tuple(r for (fa, _), r in evidence.DLMS_FACTOR_RISKS.items() if fa == factor),
        )
        for factor, status, inputs in rows
    ]


def _rule_factors() -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for factors in evidence.DLMS_HIGH_RISK_FACTORS.values():
        seen.update(dict.fromkeys(factors))
    return tuple(seen)


def classify_risk(findings: Findings, *, mitotic_definition: str | MitoticDefinition | None = None) -> RiskResult:
    """Classify a tumour by the dermal-LMS rule of seed 001.

    Parameters
    ----------
    findings : Findings
        The validated findings of the presenting lesion.
    mitotic_definition : str or MitoticDefinition, optional
        How 'mitotic grade 3' is read (``"fnclcc"``, default, or ``"danish-3b"``).

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
    rule_cit = (
        Citation(evidence.SEED_001, "Conclusion", "high-risk dLMS could be defined by the presence of necrosis, "
                 "mitotic Grade 3, perineural/intravascular invasion, or positive surgical margins"),
        Citation(evidence.SEED_001, "Results"),
    )
    factors = _factor_statuses(findings, d)
    rule = set(_rule_factors())
    factors = [fs for fs in factors if fs.factor in rule]
    lifelong = evidence.LIFELONG_NOTE.quote or ""
    # the published dermal-LMS risks are not shown where the rule does not apply
    unpublished = tuple(replace(fs, published=()) for fs in factors)

    if findings.distant_lesion == "present":
        return RiskResult(
            "not_applicable", evidence.DLMS_RULE_ID, False,
            "distant lesion (possible metastasis): the dermal-LMS rule classifies primary tumours only",
            unpublished, (), d, None, (evidence.METASTATIC_NOTE, lifelong),
            (rule_cit[0], evidence.LIFELONG_NOTE),
        )
    if findings.depth in _DEEP:
        grade = "low" if findings.fnclcc_grade == "G1" else "intermediate_high"
        g = evidence.ESMO_FOLLOW_UP[grade]
        notes = [f"The dermal-LMS rule of seed 001 does not apply to a {findings.depth.replace('_', ' ')} tumour."]
        if findings.fnclcc_grade == "unknown":
            notes.append("FNCLCC grade unknown: the intermediate/high-grade schedule is used until it is known.")
        notes.append(lifelong)
        return RiskResult(
            "not_applicable", evidence.DLMS_RULE_ID, False,
            f"{findings.depth.replace('_', ' ')} leiomyosarcoma: soft-tissue-sarcoma guideline follow-up",
            unpublished, (), d, g["text"], tuple(notes), (g["citation"], evidence.LIFELONG_NOTE),
        )

    present = [fs.factor for fs in factors if fs.status == "present"]
    unknown = [fs.factor for fs in factors if fs.status == "unknown"]
    missing = tuple(evidence.DLMS_FACTORS[x] for x in unknown)
    notes: list[str] = []
    if findings.depth == "unknown":
        missing = ("depth of origin",) + missing
        notes.append(
            "Depth of origin unknown: the rule applies only to dermal tumours; planned on the "
            "soft-tissue-sarcoma (intermediate/high grade) schedule until the depth is known."
        )
        group: RiskGroup = "incomplete"
        reason = "depth of origin unknown"
    elif present:
        group, reason = "high", "present: " + ", ".join(evidence.DLMS_FACTORS[x] for x in present)
    elif unknown:
        group, reason = "incomplete", "not known: " + ", ".join(missing)
    else:
        group, reason = "low", "all four factors known and absent"
    if group == "incomplete":
        notes.insert(0, evidence.INCOMPLETE_NOTE.format(missing=", ".join(missing)))
    if findings.history.prior_leiomyosarcoma == "present":
        notes.append(evidence.PRIOR_LMS_RISK_NOTE)
    cits = rule_cit + tuple(d.citations)
    guideline = evidence.ESMO_FOLLOW_UP["intermediate_high"]["text"] if findings.depth == "unknown" else None
    return RiskResult(group, evidence.DLMS_RULE_ID, findings.depth == "dermal", reason, tuple(factors),
                      missing, d, guideline, tuple(notes), cits)
