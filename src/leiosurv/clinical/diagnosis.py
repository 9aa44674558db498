"""Rule-based, transparent diagnosis support.

Every criterion lives in ``evidence.DIAGNOSIS_CRITERIA`` with a stable id, a
weight and its source.  A category's score is the sum of the weights of its
criteria that match the findings (positive for, negative against); a finding
that is unknown or not done matches nothing, and is listed as "not known" so
the reader sees what could still change the ranking.  Candidates are ranked by
score (ties in the order of ``evidence.CATEGORIES``).

The support does not replace the pathologist (``evidence.DISCLAIMER``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from leiosurv.clinical import evidence
from leiosurv.clinical.evidence import Category, Citation, Criterion, MitoticDefinition
from leiosurv.clinical.findings import Findings
from leiosurv.clinical.risk import get_mitotic_definition, mitotic_score

__all__ = ["Reason", "Candidate", "DxWarning", "Diagnosis", "diagnose", "derived_features"]

_UNKNOWN = {"unknown", "not_done"}


@dataclass(frozen=True)
class Reason:
    """A criterion that matched: the finding, its value, the weight and the source."""

    rule_id: str
    finding: str
    value: str
    weight: int
    text: str
    citation: Citation

    def to_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "finding": self.finding,
            "value": self.value,
            "weight": self.weight,
            "text": self.text,
            "citation": self.citation.to_dict(),
        }


@dataclass(frozen=True)
class Candidate:
    """A ranked diagnostic candidate with its codes and reasons for and against."""

    rank: int
    category: Category
    score: int
    supporting: tuple[Reason, ...]
    against: tuple[Reason, ...]
    not_known: tuple[str, ...]

    def to_dict(self) -> dict:
        c = self.category
        icd_10 = c.icd_10
        return {
            "rank": self.rank,
            "category": c.id,
            "name": c.name,
            "icd_o": c.icd_o,
            "icd_10": icd_10,
            "icd_11": c.icd_11,
            "codes_citation": c.codes_citation.to_dict() if c.codes_citation else None,
            "codes_note": c.note,
            "score": self.score,
            "supporting": [r.to_dict() for r in self.supporting],
            "against": [r.to_dict() for r in self.against],
            "not_known": list(self.not_known),
        }


@dataclass(frozen=True)
class DxWarning:
    """A warning that fired: its stable id, the message, the findings behind it and the source."""

    rule_id: str
    message: str
    inputs: dict
    citation: Citation

    def to_dict(self) -> dict:
        return {"rule_id": self.rule_id, "message": self.message, "inputs": self.inputs, "citation": self.citation.to_dict()}

    def __str__(self) -> str:
        return f"[{self.rule_id}] {self.message} ({self.citation.short()})"


@dataclass(frozen=True)
class Diagnosis:
    """Ranked candidates, warnings, the ids of the rules that fired, and the disclaimer."""

    candidates: tuple[Candidate, ...]
    warnings: tuple[DxWarning, ...]
    fired_rules: tuple[str, ...]
    score_logic: str
    disclaimer: str = evidence.DISCLAIMER

    @property
    def top(self) -> Candidate:
        return self.candidates[0]

    def to_dict(self) -> dict:
        return {
            "candidates": [c.to_dict() for c in self.candidates],
            "warnings": [w.to_dict() for w in self.warnings],
            "fired_rules": list(self.fired_rules),
            "score_logic": self.score_logic,
            "disclaimer": self.disclaimer,
        }

    def __str__(self) -> str:
        lines = ["Diagnosis support (ranked by score = sum of weights for minus against):"]
        for c in self.candidates:
            if c.score <= 0 and c.rank > 3:
                continue
            codes = ", ".join(
                f"{k} {v}" for k, v in (("ICD-O", c.category.icd_o), ("ICD-10", c.category.icd_10),
                                        ("ICD-11", c.category.icd_11)) if v
            )
            lines.append(f"  {c.rank}. {c.category.name} [score {c.score:+d}]" + (f"  ({codes})" if codes else ""))
            lines += [f"       + {r.text}: {r.finding} = {r.value} ({r.citation.short()})" for r in c.supporting]
            lines += [f"       - {r.text}: {r.finding} = {r.value} ({r.citation.short()})" for r in c.against]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  ! {w}" for w in self.warnings]
        lines.append(self.disclaimer)
        return "\n".join(lines)


SCORE_LOGIC = (
    "Each category's score is the sum of the weights of its criteria that match the findings "
    "(positive weights support, negative weights speak against; evidence.DIAGNOSIS_CRITERIA). "
    "Unknown or not-done findings match no criterion and are listed under not_known. Candidates "
    "are ranked by score; ties keep the order of evidence.CATEGORIES. The score ranks; it is not a probability."
)


def _any(values: list[str]) -> str:
    if any(v in ("positive", "focal") for v in values):
        return "positive"
    if values and all(v == "negative" for v in values):
        return "negative"
    return "unknown"


def derived_features(findings: Findings, definition: str | MitoticDefinition | None = None) -> dict[str, str]:
    """All findings as a flat ``{dotted path: value}`` mapping plus the derived features.

    Derived: ``mitoses.brisk`` (present if the counted score reaches
    ``evidence.BRISK_MITOTIC_SCORE`` or the report says brisk), ``smooth_muscle_ihc``,
    ``skeletal_muscle_ihc``, ``keratin`` (positive if any is positive, negative if
    all are negative) and ``known_primary`` (absent only when no distant lesion and
    no prior leiomyosarcoma or AISMN are all known).

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), immunohistochemistry={"sma": "focal"})
    >>> derived_features(f)["smooth_muscle_ihc"]
    'positive'
    """
    flat: dict[str, str] = {}

    def walk(prefix: str, obj) -> None:
        for k, v in obj:
            key = f"{prefix}{k}"
            if isinstance(v, BaseModel):
                walk(key + ".", v)
            else:
                flat[key] = "unknown" if v is None else str(v)

    walk("", findings)
    ihc = findings.immunohistochemistry
    score = mitotic_score(findings, definition)
    if score is not None:
        flat["mitoses.brisk"] = "present" if score >= evidence.BRISK_MITOTIC_SCORE else "absent"
    else:
        flat["mitoses.brisk"] = {"brisk": "present", "scant": "absent"}.get(findings.mitoses.description, "unknown")
    if findings.mitoses.description == "brisk":
        flat["mitoses.brisk"] = "present"
    flat["smooth_muscle_ihc"] = _any([getattr(ihc, s) for s in evidence.SMOOTH_MUSCLE_STAINS])
    flat["skeletal_muscle_ihc"] = _any([ihc.myod1, ihc.myogenin])
    flat["keratin"] = _any([ihc.ck903, ihc.ae1_ae3])
    h = findings.history
    hist = [findings.distant_lesion, h.prior_leiomyosarcoma, h.prior_aismn]
    flat["known_primary"] = "present" if "present" in hist else ("absent" if all(v == "absent" for v in hist) else "unknown")
    return flat


def _warnings(findings: Findings, feats: dict[str, str]) -> list[DxWarning]:
    out: list[DxWarning] = []
    W = evidence.WARNING_RULES

    def add(rule_id: str, inputs: dict, extra: str = "") -> None:
        w = W[rule_id]
        out.append(DxWarning(rule_id, w.text + extra, inputs, w.citation))

    if findings.depth == "dermal":
        hits = {k: feats[k] for k in ("pleomorphism", "necrosis", "mitoses.brisk")
                if feats[k] in ("marked", "present")}
        if hits:
            add("warn.dermal.aggressive-features", hits)
    h = findings.history
    if h.prior_leiomyosarcoma == "present":
        extra = ""
        if h.prior_leiomyosarcoma_date is not None:
            years = (findings.excision_date - h.prior_leiomyosarcoma_date).days / 365.25
            extra = f" Interval since the prior leiomyosarcoma: {years:.1f} years."
        add("warn.prior-lms.new-lesion", {
            "history.prior_leiomyosarcoma": "present",
            "history.prior_leiomyosarcoma_date": None if h.prior_leiomyosarcoma_date is None else h.prior_leiomyosarcoma_date.isoformat(),
            "distant_lesion": findings.distant_lesion,
        }, extra)
    if h.prior_aismn == "present" and findings.distant_lesion == "present":
        add("warn.prior-aismn.metastasis", {"history.prior_aismn": "present", "distant_lesion": "present"})
    missing = []
    for label, (stains, _cit) in evidence.KEY_STAINS.items():
        if all(feats[f"immunohistochemistry.{s}"] in _UNKNOWN for s in stains):
            missing.append(label)
    if missing:
        add("warn.stains.missing", {"missing": missing}, " Missing: " + "; ".join(missing) + ".")
    if findings.depth == "unknown":
        add("warn.depth.unknown", {"depth": "unknown"})
    return out


def _icd10_for_site(findings: Findings) -> str | None:
    if findings.depth == "retroperitoneal_visceral" and findings.site_region == "retroperitoneum":
        return evidence.ICD10_RETROPERITONEUM
    return evidence.ICD10_BY_SITE.get(findings.site_region)


def diagnose(findings: Findings, *, mitotic_definition: str | MitoticDefinition | None = None) -> Diagnosis:
    """Rank the diagnostic categories for *findings* and raise the warnings.

    Parameters
    ----------
    findings : Findings
        The validated findings.
    mitotic_definition : str or MitoticDefinition, optional
        Used to decide whether a counted mitotic rate is brisk.

    Returns
    -------
    Diagnosis
        Candidates (every category, ranked), warnings and the ids of the rules that fired.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", atypia="mild",
    ...              immunohistochemistry={"sma": "positive", "desmin": "positive"})
    >>> diagnose(f).top.category.id
    'aismn'
    """
    d = get_mitotic_definition(mitotic_definition)
    feats = derived_features(findings, d)
    by_cat: dict[str, list[tuple[Criterion, str]]] = {c: [] for c in evidence.CATEGORIES}
    unknown: dict[str, list[str]] = {c: [] for c in evidence.CATEGORIES}
    for cr in evidence.DIAGNOSIS_CRITERIA:
        v = feats[cr.feature]
        if v in _UNKNOWN:
            if cr.feature not in unknown[cr.category]:
                unknown[cr.category].append(cr.feature)
        elif v in cr.values:
            by_cat[cr.category].append((cr, v))
    site_code = _icd10_for_site(findings)
    scored = []
    for order, (cid, cat) in enumerate(evidence.CATEGORIES.items()):
        hits = by_cat[cid]
        reasons = [Reason(cr.id, cr.feature, v, cr.weight, cr.text, cr.citation) for cr, v in hits]
        if cid in ("lms_nos", "ilms") and site_code and cat.icd_10:
            cat = Category(cat.id, cat.name, cat.icd_o, site_code, cat.icd_11, cat.codes_citation,
                           f"ICD-10 by site from {evidence.ICD10_CITATION}; seed 003 gives {cat.icd_10} (unspecified).")
        score = sum(r.weight for r in reasons)
        scored.append((-score, order, cat, reasons, score, cid))
    scored.sort(key=lambda t: (t[0], t[1]))
    cands = tuple(
        Candidate(i + 1, cat, score, tuple(r for r in rs if r.weight > 0), tuple(r for r in rs if r.weight < 0),
                  tuple(unknown[cid]))
        for i, (_, _, cat, rs, score, cid) in enumerate(scored)
    )
    warns = tuple(_warnings(findings, feats))
    fired = tuple(r.rule_id for c in cands for r in c.supporting + c.against) + tuple(w.rule_id for w in warns)
    return Diagnosis(cands, warns, fired, SCORE_LOGIC)
