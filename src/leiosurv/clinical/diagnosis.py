"""Rule-based, transparent diagnosis support.

Every criterion lives in the evidence data (``diagnosis.yaml``) with a stable
id, a weight and its source.  A category's score is the sum of the weights of
its criteria that match the findings; a finding that is unknown or not done
matches nothing and is listed as "not known".  A category whose *essential*
criterion is contradicted by a finding (seed 002, Diagnosis, for AISMN) cannot
lead: it is ranked after every uncontradicted one.  Ties on score are broken by
the category's severity (the pathway that asks for more first) and reported;
never by list order.  See ``evidence.SCORE_LOGIC``.

The support does not replace the pathologist (``evidence.DISCLAIMER``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from leiosurv.clinical import evidence
from leiosurv.clinical.evidence import Category, Citation, MitoticDefinition
from leiosurv.clinical.findings import Findings
from leiosurv.clinical.mitoses import get_mitotic_definition, per_10_hpf
from leiosurv.serial import Serialisable

__all__ = [
    "Reason", "Contradiction", "GateHit", "Candidate", "DxWarning", "Diagnosis", "diagnose", "derived_features",
    "codes_for", "prior_aismn_revision_due", "history_unknown_on_skin",
]

_UNKNOWN = {"unknown", "not_done"}
_CFG = ConfigDict(extra="forbid", frozen=True)
_DEEP = {"subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone"}
_DISTANT_DEPTHS = {"deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone"}


class Reason(BaseModel):
    """A criterion that matched: the finding, its value, the weight and the source."""

    model_config = _CFG
    rule_id: str
    finding: str
    value: str
    weight: int
    text: str
    citation: Citation


class Contradiction(BaseModel):
    """An essential criterion of a category that a finding contradicts."""

    model_config = _CFG
    rule_id: str
    finding: str
    value: str
    text: str
    citation: Citation


class GateHit(BaseModel):
    """A discriminating stain of a mimic that is positive: the candidate cannot decide the pathway unconfirmed.

    ``settle`` names the stains (not reported) and the advice that would settle it.
    """

    model_config = _CFG
    rule_id: str
    finding: str
    value: str
    text: str
    mimic: str
    settle: str
    citation: Citation


class Candidate(BaseModel):
    """A ranked diagnostic candidate: codes, score, reasons for and against, contradictions, gates, unknowns."""

    model_config = _CFG
    rank: int
    category: Category
    icd_10: str | None
    codes_note: str | None
    score: int
    supporting: tuple[Reason, ...]
    against: tuple[Reason, ...]
    contradicted: tuple[Contradiction, ...]
    not_known: tuple[str, ...]
    tied_with: tuple[str, ...] = ()
    gated_by: tuple[GateHit, ...] = ()

    @property
    def excluded(self) -> bool:
        """True when an essential criterion is contradicted: the candidate cannot lead."""
        return bool(self.contradicted)

    def codes_text(self) -> str:
        """The codes, each system named; a system without a code says so ("ICD-10 no code known")."""
        codes = (("ICD-O", self.category.icd_o), ("ICD-10", self.icd_10), ("ICD-11", self.category.icd_11))
        if not any(v for _, v in codes):
            return "no code known (the sources give none)"
        return ", ".join(f"{k} {v}" if v else f"{k} no code known" for k, v in codes)


class DxWarning(BaseModel):
    """A warning that fired: its stable id, the message, the findings behind it and the source."""

    model_config = _CFG
    rule_id: str
    message: str
    inputs: dict[str, str | list[str] | None]
    citation: Citation

    def __str__(self) -> str:
        return f"[{self.rule_id}] {self.message} ({self.citation.short()})"


class Diagnosis(Serialisable, BaseModel):
    """Ranked candidates, warnings, the ids of the rules that fired, and the disclaimer."""

    model_config = _CFG
    candidates: tuple[Candidate, ...]
    warnings: tuple[DxWarning, ...]
    fired_rules: tuple[str, ...]
    score_logic: str
    disclaimer: str = evidence.DISCLAIMER
    confirmed: str | None = None

    @property
    def top(self) -> Candidate:
        return self.candidates[0]

    @property
    def leads_alone(self) -> bool:
        """The first candidate is uncontradicted, not gated by a mimic's stain and not tied with another."""
        return not self.top.excluded and not self.top.gated_by and not self.top.tied_with

    def candidate(self, category_id: str) -> Candidate:
        return next(c for c in self.candidates if c.category.id == category_id)

    def __str__(self) -> str:
        lines = ["Diagnosis support (ranked by score = sum of weights for minus against; contradicted last):"]
        for c in self.candidates:
            confirmed = c.category.id == self.confirmed
            if (c.score <= 0 or c.excluded) and c.rank > 3 and not confirmed:
                continue
            tag = "  [CONFIRMED by the pathologist]" if confirmed else ""
            tag += "  [cannot lead: essential criterion contradicted]" if c.excluded else ""
            tag += "".join(f"  [gated: {g.text}]" for g in c.gated_by)
            tie = f"  [tied with {', '.join(c.tied_with)}]" if c.tied_with else ""
            lines.append(f"  {c.rank}. {c.category.name} [score {c.score:+d}]  ({c.codes_text()}){tag}{tie}")
            lines += [f"       + {r.text}: {r.finding} = {r.value} ({r.citation.short()})" for r in c.supporting]
            lines += [f"       - {r.text}: {r.finding} = {r.value} ({r.citation.short()})" for r in c.against]
            lines += [f"       x contradicts '{x.text}': {x.finding} = {x.value} ({x.citation.short()})"
                      for x in c.contradicted]
            lines += [f"       x {g.text} points to {evidence.CATEGORIES[g.mimic].name}; to settle: {g.settle} "
                      f"({g.citation.short()})" for g in c.gated_by]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)


def _any(values: list[str]) -> str:
    if any(v in ("positive", "focal") for v in values):
        return "positive"
    if values and all(v == "negative" for v in values):
        return "negative"
    return "unknown"


def _flatten(prefix: str, obj: dict[str, Any], flat: dict[str, str]) -> None:
    """Every leaf of *obj* (the findings' ``model_dump()``: nested models as dicts, values as they are) into
    *flat* under its dotted path (a module function: a recursive closure would be a reference cycle, left for the
    garbage collector, on every assessment)."""
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(key + ".", v, flat)
        else:
            flat[key] = "unknown" if v is None else str(v)


def derived_features(findings: Findings, definition: str | MitoticDefinition | None = None) -> dict[str, str]:
    """All findings as a flat ``{dotted path: value}`` mapping plus the derived features.

    Derived (marker groups from ``evidence.MARKER_GROUPS``; any positive -> positive, all
    negative -> negative, else unknown):

    * ``smooth_muscle_ihc``: SMA, desmin or h-caldesmon; desmin counts only while MyoD1
      and myogenin are not positive (then it may be skeletal muscle);
    * ``smooth_muscle_ihc_or_desmin``, ``skeletal_muscle_ihc``, ``melanocytic_ihc``,
      ``epithelial_ihc`` (alias ``keratin`` for CK903/AE1-AE3);
    * ``afx_pattern``: CD10 or CD68 positive with marked pleomorphism;
    * ``mitoses.brisk``: a count above the AISMN range of seed 002, or a report of brisk mitoses;
    * ``lesion_distant``: a possible metastasis: ``distant_lesion`` present, or a deep/visceral/bone/uterine
      lesion in a patient with a prior leiomyosarcoma or AISMN; absent once ``metastasis_workup`` is
      ``excluded`` (the lesion is then a new primary, assessed on its own findings);
    * ``prior_lms_open``: a prior leiomyosarcoma whose metastasis work-up of this lesion is not recorded
      as excluded (absent when there is no prior leiomyosarcoma or the work-up excluded metastasis);
    * ``confined_to_dermis``: dermal with at most focal subcutis involvement;
    * ``known_primary``: absent only when no distant lesion and no prior LMS or AISMN are all known.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), immunohistochemistry={"sma": "focal"})
    >>> derived_features(f)["smooth_muscle_ihc"]
    'positive'
    """
    flat: dict[str, str] = {}
    _flatten("", findings.model_dump(), flat)  # pydantic's own walk: ~4x faster than iterating the models
    ihc = findings.immunohistochemistry
    groups = {k: [getattr(ihc, s) for s in v] for k, v in evidence.MARKER_GROUPS.items()}
    skeletal = _any(groups["skeletal_muscle"])
    sm = list(groups["smooth_muscle"])
    if skeletal == "positive" and ihc.desmin in ("positive", "focal"):
        sm = [v for s, v in zip(evidence.MARKER_GROUPS["smooth_muscle"], sm) if s != "desmin"] + ["unknown"]
    flat["smooth_muscle_ihc"] = _any(sm)
    flat["smooth_muscle_ihc_or_desmin"] = _any(groups["smooth_muscle"])
    flat["skeletal_muscle_ihc"] = skeletal
    flat["melanocytic_ihc"] = _any(groups["melanocytic"])
    flat["epithelial_ihc"] = _any(groups["epithelial"])
    flat["keratin"] = _any([ihc.ck903, ihc.ae1_ae3])
    nonspecific = _any(groups["afx_nonspecific"])
    if nonspecific == "positive" and findings.pleomorphism == "marked":
        flat["afx_pattern"] = "present"
    elif nonspecific == "negative" or findings.pleomorphism in ("none", "mild", "moderate"):
        flat["afx_pattern"] = "absent"
    else:
        flat["afx_pattern"] = "unknown"
    d = get_mitotic_definition(definition)
    n10 = per_10_hpf(findings, d)
    if findings.mitoses.description == "brisk":
        flat["mitoses.brisk"] = "present"
    elif n10 is not None:
        flat["mitoses.brisk"] = "present" if n10 > evidence.BRISK_ABOVE_PER_10_HPF else "absent"
    else:
        flat["mitoses.brisk"] = "absent" if findings.mitoses.description == "scant" else "unknown"
    h = findings.history
    flat["lesion_distant"] = _lesion_distant(findings)
    excluded = findings.metastasis_workup == "excluded"
    flat["prior_lms_open"] = "absent" if excluded else h.prior_leiomyosarcoma
    if findings.depth == "dermal" and findings.subcutis_involvement in ("none", "focal"):
        flat["confined_to_dermis"] = "present"
    elif findings.depth in _DEEP or findings.subcutis_involvement == "extensive":
        flat["confined_to_dermis"] = "absent"
    else:
        flat["confined_to_dermis"] = "unknown"
    hist = [flat["lesion_distant"], h.prior_leiomyosarcoma, h.prior_aismn]
    known = "absent" if all(v == "absent" for v in hist) else "unknown"
    flat["known_primary"] = "present" if "present" in hist else known
    return flat


def _lesion_distant(findings: Findings) -> str:
    """``lesion_distant`` of :func:`derived_features`: the lesion may be a metastasis of an earlier tumour."""
    if findings.metastasis_workup == "excluded":
        return "absent"
    h = findings.history
    prior = "present" if "present" in (h.prior_leiomyosarcoma, h.prior_aismn) else "not present"
    if findings.distant_lesion == "present" or (prior == "present" and findings.depth in _DISTANT_DEPTHS):
        return "present"
    return "absent" if findings.distant_lesion == "absent" else "unknown"


def history_unknown_on_skin(findings: Findings) -> bool:
    """The prior-LMS history is not recorded for a skin lesion (dermal, subcutaneous or depth unknown).

    The one condition behind ``warn.history.unknown`` and the plan's ``record_history`` (seed 000).
    """
    return findings.history.prior_leiomyosarcoma == "unknown" and findings.depth in ("dermal", "subcutaneous",
                                                                                     "unknown")


def prior_aismn_revision_due(findings: Findings) -> bool:
    """A prior AISMN and a lesion that may be its metastasis: the earlier diagnosis should be revised.

    The one condition behind ``warn.prior-aismn.metastasis`` and the plan's ``revise_prior_aismn``
    (seed 002, Practice answer #2).
    """
    return findings.history.prior_aismn == "present" and _lesion_distant(findings) == "present"


def codes_for(category: Category, findings: Findings) -> tuple[str | None, str | None]:
    """ICD-10 code of *category* for these findings and the note on how it was chosen.

    A soft-tissue leiomyosarcoma's ICD-10 code is refined by region (C49.x, C48.0);
    a uterine primary is coded to the uterus (C55), a primary of bone to the bone (C40-C41, by
    ``bone_site``, else the limb or bone unspecified), not to connective tissue.
    """
    if category.id not in ("lms_nos", "ilms") or not category.icd_10:
        return category.icd_10, category.codes_note
    if findings.depth == "bone":
        bc = evidence.ICD10_BONE_CITATION.short()
        code = evidence.ICD10_BONE_BY_SITE.get(findings.bone_site)
        if code:
            return code, f"ICD-10 by bone site ({bc}): a primary of bone is coded to the bone, not to soft tissue."
        code = evidence.ICD10_BONE_BY_REGION.get(findings.site_region, evidence.ICD10_BONE_UNSPECIFIED)
        return code, (f"ICD-10 of a primary of bone ({bc}); bone_site not recorded, so {code} (unspecified); "
                      "record bone_site for the exact code.")
    cit = evidence.ICD10_CITATION
    if findings.depth == "uterine":
        return evidence.ICD10_UTERUS, f"{evidence.ICD10_UTERUS_NOTE} ({cit.short()})"
    if findings.depth == "retroperitoneal_visceral" and findings.site_region == "retroperitoneum":
        return evidence.ICD10_RETROPERITONEUM, f"ICD-10 by site ({cit.short()})"
    by_site = evidence.ICD10_BY_SITE.get(findings.site_region)
    if by_site:
        return by_site, f"ICD-10 by site ({cit.short()}); the seed gives {category.icd_10} (unspecified)."
    return category.icd_10, category.codes_note


def _quoted(c: Citation) -> str:
    return f'{c.short()}: "{c.quote}"' if c.quote else c.short()


def _warnings(findings: Findings, feats: dict[str, str], tied: tuple[str, ...],
              cands: list[Candidate]) -> list[DxWarning]:
    out: list[DxWarning] = []
    W = evidence.WARNING_RULES

    def add(rule_id: str, inputs: Mapping[str, str | list[str] | None], extra: str = "") -> None:
        w = W[rule_id]
        out.append(DxWarning(rule_id=rule_id, message=w.text + extra, inputs=dict(inputs), citation=w.citation))

    if findings.depth == "dermal":
        hits = {k: feats[k] for k in ("pleomorphism", "necrosis", "mitoses.brisk") if feats[k] in ("marked", "present")}
        if hits:
            extra = ""
            if "mitoses.brisk" in hits:
                extra = (f" Brisk: above {evidence.BRISK_ABOVE_PER_10_HPF:g} per 10 HPF, the highest count seed 002 "
                         f"reports for AISMN ({evidence.BRISK_CITATION.short()}), or reported as brisk.")
            add("warn.dermal.aggressive-features", hits, extra)
    conf = findings.confirmed_diagnosis
    if conf is not None:
        cand = next(c for c in cands if c.category.id == conf)
        for x in cand.contradicted:
            add("warn.confirmed.contradicted",
                {"confirmed_diagnosis": conf, "rule": x.rule_id, "finding": x.finding, "value": x.value},
                f" Confirmed {cand.category.name}: {x.finding} = {x.value} contradicts the essential criterion "
                f"'{x.text}' ({_quoted(x.citation)}).")
        for g in cand.gated_by:
            add("warn.confirmed.contradicted",
                {"confirmed_diagnosis": conf, "rule": g.rule_id, "finding": g.finding, "value": g.value},
                f" Confirmed {cand.category.name}: {g.text} ({g.finding} = {g.value}) points to "
                f"{evidence.CATEGORIES[g.mimic].name} ({_quoted(g.citation)}); to settle: {g.settle}.")
        if conf == "lms_nos" and findings.depth == "dermal":
            add("warn.confirmed.lms-dermal", {"confirmed_diagnosis": conf, "depth": findings.depth})
    for gate in evidence.GATES:
        if feats[gate.feature] in gate.values and conf not in gate.blocks and any(
                not c.excluded for c in cands if c.category.id in gate.blocks):
            hit = next(h for c in cands for h in c.gated_by if h.rule_id == gate.id)
            add("warn.gate.mimic-stain", {"rule": gate.id, "finding": gate.feature, "value": hit.value},
                f" {hit.text} ({gate.feature} = {hit.value}) points to "
                f"{evidence.CATEGORIES[gate.mimic].name} ({_quoted(gate.citation)}). To settle: {hit.settle}.")
    h = findings.history
    if h.prior_leiomyosarcoma == "present" and findings.metastasis_workup != "excluded":
        extra = ""
        if h.prior_leiomyosarcoma_date is not None:
            years = (findings.excision_date - h.prior_leiomyosarcoma_date).days / 365.25
            extra = f" Interval since the prior leiomyosarcoma: {years:.1f} years."
        add("warn.prior-lms.new-lesion", {
            "history.prior_leiomyosarcoma": "present",
            "history.prior_leiomyosarcoma_date": None if h.prior_leiomyosarcoma_date is None
            else h.prior_leiomyosarcoma_date.isoformat(),
            "distant_lesion": findings.distant_lesion,
            "metastasis_workup": findings.metastasis_workup,
        }, extra)
    elif history_unknown_on_skin(findings):
        add("warn.history.unknown", {"history.prior_leiomyosarcoma": "unknown"})
    if prior_aismn_revision_due(findings):
        add("warn.prior-aismn.metastasis", {"history.prior_aismn": "present", "distant_lesion": findings.distant_lesion,
                                            "depth": findings.depth})
    missing = [k.label for k in evidence.KEY_STAINS
               if all(feats[f"immunohistochemistry.{s}"] in _UNKNOWN for s in k.stains)]
    if missing:
        add("warn.stains.missing", {"missing": missing}, " Missing: " + "; ".join(missing) + ".")
    if findings.depth == "unknown":
        add("warn.depth.unknown", {"depth": "unknown"})
    if tied:
        add("warn.leading.tie", {"tied": list(tied)}, " Tied: " + ", ".join(tied) + ".")
    return out


def diagnose(findings: Findings, *, mitotic_definition: str | MitoticDefinition | None = None) -> Diagnosis:
    """Rank the diagnostic categories for *findings* and raise the warnings.

    Parameters
    ----------
    findings : Findings
        The validated findings.
    mitotic_definition : str or MitoticDefinition, optional
        Used for the converted mitotic count.

    Returns
    -------
    Diagnosis
        Every category ranked (contradicted ones last, ties by severity and reported),
        warnings and the ids of the rules that fired.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", atypia="mild",
    ...              immunohistochemistry={"sma": "positive", "desmin": "positive"})
    >>> diagnose(f).top.category.id
    'aismn'
    """
    feats = derived_features(findings, mitotic_definition)
    hits: dict[str, list[Reason]] = {c: [] for c in evidence.CATEGORIES}
    unknown: dict[str, list[str]] = {c: [] for c in evidence.CATEGORIES}
    contra: dict[str, list[Contradiction]] = {c: [] for c in evidence.CATEGORIES}
    for cr in evidence.DIAGNOSIS_CRITERIA:
        v = feats[cr.feature]
        if v in _UNKNOWN:
            if cr.feature not in unknown[cr.category]:
                unknown[cr.category].append(cr.feature)
        elif v in cr.values:
            hits[cr.category].append(Reason(rule_id=cr.id, finding=cr.feature, value=v, weight=cr.weight,
                                            text=cr.text, citation=cr.citation))
    for es in evidence.ESSENTIALS:
        v = feats[es.feature]
        if v in es.contradicted_by:
            contra[es.category].append(Contradiction(rule_id=es.id, finding=es.feature, value=v, text=es.text,
                                                     citation=es.citation))
        elif v in _UNKNOWN and es.feature not in unknown[es.category]:
            unknown[es.category].append(es.feature)
    scored = []
    for cid, cat in evidence.CATEGORIES.items():
        score = sum(r.weight for r in hits[cid])
        scored.append((bool(contra[cid]), -score, -cat.severity, cid))
    scored.sort()
    # ties: equal score among uncontradicted candidates at the top
    top_key = scored[0]
    tied = tuple(cid for ex, s, _sev, cid in scored if not ex and not top_key[0] and s == top_key[1])
    tied = tied if len(tied) > 1 else ()
    gates = _gate_hits(feats)
    cands = []
    for i, (_ex, _s, _sev, cid) in enumerate(scored):
        cat = evidence.CATEGORIES[cid]
        icd10, note = codes_for(cat, findings)
        rs = hits[cid]
        cands.append(Candidate(
            rank=i + 1, category=cat, icd_10=icd10, codes_note=note, score=sum(r.weight for r in rs),
            supporting=tuple(r for r in rs if r.weight > 0), against=tuple(r for r in rs if r.weight < 0),
            contradicted=tuple(contra[cid]), not_known=tuple(unknown[cid]),
            tied_with=tuple(t for t in tied if t != cid) if cid in tied else (), gated_by=tuple(gates.get(cid, ())),
        ))
    warns = tuple(_warnings(findings, feats, tied, cands))
    fired = tuple(r.rule_id for c in cands for r in c.supporting + c.against)
    fired += tuple(x.rule_id for c in cands for x in c.contradicted)
    fired += tuple(dict.fromkeys(g.rule_id for c in cands for g in c.gated_by)) + tuple(w.rule_id for w in warns)
    return Diagnosis(candidates=tuple(cands), warnings=warns, fired_rules=fired, score_logic=evidence.SCORE_LOGIC,
                     confirmed=findings.confirmed_diagnosis)


def _names(stains: list[str]) -> str:
    """``SOX10, Melan-A and HMB45``: the stains' labels as a list in words."""
    labels = [evidence.STAIN_NAMES[s] for s in stains]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _gate_stains(feature: str) -> tuple[str, ...]:
    """The stains behind a gate's finding: one stain, or a marker group (``melanocytic_ihc``: S100, SOX10)."""
    if feature.startswith("immunohistochemistry."):
        return (feature.split(".", 1)[1],)
    return evidence.MARKER_GROUPS[feature.removesuffix("_ihc")]


def _gate_hits(feats: dict[str, str]) -> dict[str, list[GateHit]]:
    """The gates that fire on these findings, per category they block (see ``evidence.GATES``).

    Each hit names the stains that are positive ("S100 positive") and, to settle it, those of the gate's
    stains not reported with the gate's advice ("SOX10, Melan-A and HMB45 advised; ...").
    """
    out: dict[str, list[GateHit]] = {}
    for g in evidence.GATES:
        v = feats[g.feature]
        if v not in g.values:
            continue
        positive = [s for s in _gate_stains(g.feature) if feats[f"immunohistochemistry.{s}"] in ("positive", "focal")]
        missing = [s for s in g.stains if feats[f"immunohistochemistry.{s}"] in _UNKNOWN]
        settle = evidence.text("settle_stains", stains=_names(missing), advice=g.advice) if missing else g.advice
        hit = GateHit(rule_id=g.id, finding=g.feature, value=v, text=f"{_names(positive)} positive", mimic=g.mimic,
                      settle=settle, citation=g.citation)
        for cid in g.blocks:
            out.setdefault(cid, []).append(hit)
    return out
