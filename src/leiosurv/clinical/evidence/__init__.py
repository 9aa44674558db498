"""Every clinical figure, threshold, rule and display text of leiosurv, each with its source.

The knowledge lives in versioned data files (``evidence/data/*.yaml``, shipped
with the package) and is validated by the pydantic models of
:mod:`leiosurv.clinical.evidence._models` when this module is imported: a
citation must name a registered source, a criterion a known category, and so
on.  Nothing clinical is written anywhere else; the rules in the clinical core,
the synthetic cohort and the cohort study read their numbers from here.

:data:`RULESET` carries the rule-set version and a SHA-256 of the data files;
every result records both in its provenance (the registry stores them).

Proportions are fractions (0.093 is 9.3 %); published figures also keep the
text as printed (``PublishedRisk.printed``), so the rounding it allows is known.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from leiosurv.clinical.evidence._models import (
    Category,
    Citation,
    ConsistencyCheck,
    Criterion,
    Decision,
    EncounterSpec,
    Essential,
    FactorRisk,
    Gate,
    GuidelineGrade,
    GuidelinePhase,
    KeyStains,
    LowRequirement,
    MitoticDefinition,
    Pathway,
    PublishedRisk,
    Recommendation,
    Source,
    WarningRule,
)

__all__ = [
    "Source", "Citation", "PublishedRisk", "FactorRisk", "MitoticDefinition", "Category", "Criterion",
    "Essential", "WarningRule", "EncounterSpec", "GuidelinePhase", "GuidelineGrade", "Recommendation",
    "ConsistencyCheck", "KeyStains", "Gate", "LowRequirement", "Decision", "Pathway",
    "RuleSet", "RULESET", "SOURCES", "cite", "TEXTS", "text",
    "SEED_000", "SEED_001", "SEED_002", "SEED_003", "SEED_004", "ESMO_2021", "PROJECT_DEFAULT",
    "DISCLAIMER", "DLMS_COHORT", "DLMS_METHOD", "DLMS_OUTCOMES", "DLMS_FACTORS", "DLMS_OVERALL_5Y",
    "DLMS_FACTOR_RISKS", "DLMS_DERIVATION_THRESHOLDS", "DLMS_DERIVATION_CITATION", "DLMS_RULE_ID",
    "DLMS_RULE_STATUS", "DLMS_RULE_TEXT", "DLMS_RULE_CITATIONS", "DLMS_HIGH_RISK_FACTORS", "DLMS_RE_EXCISION_NOTE",
    "FNCLCC_HPF_AREA_MM2", "MITOTIC_DEFINITIONS", "DEFAULT_MITOTIC_DEFINITION", "BRISK_ABOVE_PER_10_HPF",
    "BRISK_CITATION", "STAIN_NAMES", "MARKER_GROUPS", "MARKER_GROUPS_CITATION", "SMOOTH_MUSCLE_STAINS",
    "KEY_STAINS", "CATEGORIES", "DIAGNOSIS_CRITERIA", "ESSENTIALS", "WARNING_RULES", "SCORE_LOGIC",
    "ICD10_BY_SITE", "ICD10_RETROPERITONEUM", "ICD10_UTERUS", "ICD10_UTERUS_NOTE", "ICD10_CITATION",
    "DLMS_VISIT_MONTHS", "DLMS_LOW_RISK_VISIT_MONTHS", "DLMS_IMAGING_YEARS", "DLMS_LAST_MONTH", "DLMS_SCHEDULE",
    "DLMS_AFTER_LAST", "DLMS_AFTER_LAST_CITATIONS", "DEFAULT_IMAGING_INTERVAL_MONTHS", "DEFAULT_WINDOW_DAYS",
    "DEFAULT_GUIDELINE_PLAN_YEARS", "PLAN_DEFAULTS_CITATION", "ESMO_FOLLOW_UP", "ESMO_PROVIDER", "ESMO_MODALITY",
    "RECOMMENDATIONS", "CONSISTENCY_CHECKS", "LIFELONG_NOTE", "DATA_FILES", "GATES", "ICD10_BONE_BY_SITE",
    "ICD10_BONE_BY_REGION", "ICD10_BONE_UNSPECIFIED", "ICD10_BONE_CITATION", "DLMS_LOW_REQUIRES",
    "BRISK_DESCRIBED_IS_GRADE_3", "DLMS_LOW_RISK_READING", "DLMS_LOW_RISK_READING_CITATIONS", "METASTASIS_WORKUP",
    "DECISIONS",
]

DATA_FILES: tuple[str, ...] = (
    "ruleset.yaml", "sources.yaml", "dermal_lms.yaml", "mitoses.yaml", "diagnosis.yaml", "schedules.yaml",
    "texts.yaml", "consistency.yaml",
)
"""The evidence data files, in the order they are hashed."""


YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""The safe YAML loader of the evidence files: libyaml's when PyYAML has it (10x faster at import; the
same data, tests/clinical/test_evidence.py checks it against the pure-Python one)."""


def _load() -> tuple[dict[str, Any], str]:
    folder = resources.files(__package__).joinpath("data")
    digest = hashlib.sha256()
    data: dict[str, Any] = {}
    for name in DATA_FILES:
        raw = folder.joinpath(name).read_bytes()
        digest.update(name.encode() + b"\0" + raw + b"\0")
        data[name.removesuffix(".yaml")] = yaml.load(raw, Loader=YAML_LOADER)  # a safe loader (YAML_LOADER)
    return data, digest.hexdigest()


_DATA, _SHA256 = _load()


class RuleSet(BaseModel):
    """The version of the clinical rule set and the SHA-256 of its data files."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    sha256: str
    released: str


RULESET = RuleSet(version=str(_DATA["ruleset"]["version"]), sha256=_SHA256,
                  released=str(_DATA["ruleset"]["released"]))
"""Rule-set version and content hash; recorded in every result's provenance."""

SOURCES: dict[str, Source] = {s["id"]: Source.model_validate(s) for s in _DATA["sources"]["sources"]}


def cite(source: Source | str, section: str, quote: str | None = None) -> Citation:
    """Build a :class:`Citation`; the source must be registered in :data:`SOURCES`."""
    sid = source if isinstance(source, str) else source.id
    if sid not in SOURCES or (not isinstance(source, str) and SOURCES[sid] != source):
        raise ValueError(f"source {sid!r} is not registered in evidence.SOURCES")
    return Citation(source=SOURCES[sid], section=section, quote=quote)


def _cit(d: dict[str, str]) -> Citation:
    extra = set(d) - {"source", "section", "quote"}
    if extra:
        raise ValueError(f"unknown citation keys {sorted(extra)}")
    return cite(d["source"], d["section"], d.get("quote"))


SEED_000, SEED_001, SEED_002, SEED_003, SEED_004 = (SOURCES[f"seed-00{i}"] for i in range(5))
ESMO_2021 = SOURCES["esmo-2021-sts"]
PROJECT_DEFAULT = SOURCES["leiosurv-project-default"]

# ---- display texts ---------------------------------------------------------
TEXTS: dict[str, str] = {k: " ".join(str(v).split()) for k, v in _DATA["texts"].items() if isinstance(v, str)}
LIFELONG_NOTE = _cit(_DATA["texts"]["lifelong_citation"])
DISCLAIMER = TEXTS["disclaimer"]


def text(key: str, **values: Any) -> str:
    """A display text of ``texts.yaml`` with its ``{placeholders}`` filled."""
    return TEXTS[key].format(**values) if values else TEXTS[key]


# ---- seed 001 ------------------------------------------------------------------
_D = _DATA["dermal_lms"]
DLMS_COHORT: dict[str, Any] = {
    "n": int(_D["cohort"]["n"]),
    "median_age_years": int(_D["cohort"]["median_age_years"]),
    "male_fraction": float(_D["cohort"]["male_fraction"]) / 100,
    "period": tuple(_D["cohort"]["period"]),
    "country": _D["cohort"]["country"],
    "registers": _D["cohort"]["registers"],
    "citation": _cit(_D["cohort"]["citation"]),
}
DLMS_METHOD: dict[str, Any] = {**{k: v for k, v in _D["method"].items() if k != "citation"},
                               "text": " ".join(_D["method"]["text"].split()),
                               "citation": _cit(_D["method"]["citation"])}
DLMS_OUTCOMES: tuple[str, ...] = tuple(_D["outcomes"])
DLMS_FACTORS: dict[str, str] = dict(_D["factors"])
_OVERALL_CIT = _cit(_D["overall_citation"])
DLMS_OVERALL_5Y: dict[str, PublishedRisk] = {
    k: PublishedRisk.from_printed(v, _OVERALL_CIT) for k, v in _D["overall_5y"].items()
}
_FR_CIT = _cit(_D["factor_risks_citation"])
DLMS_FACTOR_RISKS: dict[tuple[str, str], FactorRisk] = {
    (r["factor"], r["outcome"]): FactorRisk(
        factor=r["factor"], outcome=r["outcome"],
        present=PublishedRisk.from_printed(r["present"], _FR_CIT),
        absent=PublishedRisk.from_printed(r["absent"], _FR_CIT),
        difference=PublishedRisk.from_printed(r["difference"], _FR_CIT),
    )
    for r in _D["factor_risks"]
}
DLMS_DERIVATION_THRESHOLDS: dict[str, float] = {k: float(v) / 100 for k, v in _D["derivation_thresholds"].items()}
"""A factor enters the rule when its 5-year RD *exceeds* this (strictly), per outcome."""
DLMS_DERIVATION_CITATION = _cit(_D["derivation_citation"])
DLMS_RULE_ID: str = _D["rule"]["id"]
DLMS_RULE_STATUS: str = _D["rule"]["status"]
DLMS_RULE_TEXT: str = " ".join(_D["rule"]["text"].split())
DLMS_RULE_CITATIONS: tuple[Citation, ...] = tuple(_cit(c) for c in _D["rule"]["citations"])
DLMS_HIGH_RISK_FACTORS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _D["rule"]["high_risk_factors"].items()}
DLMS_RE_EXCISION_NOTE: str = " ".join(_D["rule"]["re_excision_note"].split())
DLMS_LOW_REQUIRES: tuple[LowRequirement, ...] = tuple(
    LowRequirement.model_validate({**r, "citation": _cit(r["citation"])}) for r in _D["rule"]["low_requires"])
"""What must be recorded, besides the four factors known and absent, before the rule gives 'low'."""

# ---- mitoses -------------------------------------------------------------------
_M = _DATA["mitoses"]
FNCLCC_HPF_AREA_MM2: float = float(_M["fnclcc_hpf_area_mm2"])
MITOTIC_DEFINITIONS: dict[str, MitoticDefinition] = {
    d["id"]: MitoticDefinition.model_validate({**d, "citations": [_cit(c) for c in d["citations"]]})
    for d in _M["definitions"]
}
DEFAULT_MITOTIC_DEFINITION: str = _M["default_definition"]
BRISK_ABOVE_PER_10_HPF: float = float(_M["brisk"]["above_per_10_hpf"])
BRISK_CITATION = _cit(_M["brisk"]["citation"])
BRISK_DESCRIBED_IS_GRADE_3: bool = bool(_M["brisk"]["described_brisk_is_grade_3"])
"""A report of brisk mitoses without a count is read as mitotic grade 3 (above every grade-3 threshold)."""

# ---- diagnosis -----------------------------------------------------------------
_X = _DATA["diagnosis"]
STAIN_NAMES: dict[str, str] = dict(_X["stains"])
MARKER_GROUPS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _X["marker_groups"].items()}
MARKER_GROUPS_CITATION = _cit(_X["marker_groups_citation"])
SMOOTH_MUSCLE_STAINS: tuple[str, ...] = MARKER_GROUPS["smooth_muscle"]
KEY_STAINS: tuple[KeyStains, ...] = tuple(
    KeyStains(label=k["label"], stains=tuple(k["stains"]), citation=_cit(k["citation"])) for k in _X["key_stains"]
)
CATEGORIES: dict[str, Category] = {
    c["id"]: Category.model_validate(
        {**c, "codes_citation": _cit(c["codes_citation"]) if c.get("codes_citation") else None})
    for c in _X["categories"]
}
DIAGNOSIS_CRITERIA: tuple[Criterion, ...] = tuple(
    Criterion.model_validate({**c, "values": frozenset(c["values"]), "citation": _cit(c["citation"])})
    for c in _X["criteria"]
)
ESSENTIALS: tuple[Essential, ...] = tuple(
    Essential.model_validate({**e, "contradicted_by": frozenset(e["contradicted_by"]), "citation": _cit(e["citation"])})
    for e in _X["essentials"]
)
WARNING_RULES: dict[str, WarningRule] = {
    w["id"]: WarningRule(id=w["id"], text=" ".join(w["text"].split()), citation=_cit(w["citation"]))
    for w in _X["warnings"]
}
SCORE_LOGIC: str = " ".join(_X["score_logic"].split())
ICD10_CITATION = _cit(_X["icd10"]["citation"])
ICD10_BY_SITE: dict[str, str] = dict(_X["icd10"]["by_region"])
ICD10_RETROPERITONEUM: str = _X["icd10"]["retroperitoneum"]
ICD10_UTERUS: str = _X["icd10"]["uterus"]
ICD10_UTERUS_NOTE: str = _X["icd10"]["uterus_note"]
ICD10_BONE_CITATION = _cit(_X["icd10"]["bone_citation"])
ICD10_BONE_BY_SITE: dict[str, str] = dict(_X["icd10"]["bone_by_site"])
ICD10_BONE_BY_REGION: dict[str, str] = dict(_X["icd10"]["bone_by_region"])
ICD10_BONE_UNSPECIFIED: str = _X["icd10"]["bone_unspecified"]
GATES: tuple[Gate, ...] = tuple(
    Gate.model_validate({**g, "values": frozenset(g["values"]), "citation": _cit(g["citation"])})
    for g in _X["gates"]
)
"""The discriminating stains of the mimics (positive: an unconfirmed smooth muscle category does not decide)."""

# ---- schedules -----------------------------------------------------------------
_S = _DATA["schedules"]
DEFAULT_IMAGING_INTERVAL_MONTHS: int = int(_S["defaults"]["imaging_interval_months"])
DEFAULT_WINDOW_DAYS: int = int(_S["defaults"]["window_days"])
DEFAULT_GUIDELINE_PLAN_YEARS: int = int(_S["defaults"]["guideline_plan_years"])
PLAN_DEFAULTS_CITATION = _cit(_S["defaults"]["citation"])
DLMS_VISIT_MONTHS: tuple[int, ...] = tuple(_S["dermal_lms"]["visit_months"])
DLMS_LOW_RISK_VISIT_MONTHS: tuple[int, ...] = tuple(_S["dermal_lms"]["low_risk_visit_months"])
DLMS_IMAGING_YEARS: int = int(_S["dermal_lms"]["imaging_years"])
DLMS_LAST_MONTH: int = int(_S["dermal_lms"]["last_month"])
DLMS_SCHEDULE: dict[str, EncounterSpec] = {
    k: EncounterSpec.model_validate({**v, "citation": _cit(v["citation"])})
    for k, v in _S["dermal_lms"]["encounters"].items()
}
DLMS_AFTER_LAST: str = " ".join(_S["dermal_lms"]["after_last"].split())
DLMS_AFTER_LAST_CITATIONS: tuple[Citation, ...] = tuple(_cit(c) for c in _S["dermal_lms"]["after_last_citations"])
DLMS_LOW_RISK_READING: str = " ".join(_S["dermal_lms"]["low_risk_reading"].split())
DLMS_LOW_RISK_READING_CITATIONS: tuple[Citation, ...] = tuple(
    _cit(c) for c in _S["dermal_lms"]["low_risk_reading_citations"])
METASTASIS_WORKUP = EncounterSpec.model_validate(
    {**_S["metastasis_workup"], "citation": _cit(_S["metastasis_workup"]["citation"])})
ESMO_PROVIDER: str = _S["esmo"]["provider"]
ESMO_MODALITY: str = _S["esmo"]["modality"]
ESMO_FOLLOW_UP: dict[str, GuidelineGrade] = {
    k: GuidelineGrade(text=v["text"], citation=_cit(v["citation"]),
                      phases=tuple(GuidelinePhase(interval_months=a, until_month=b) for a, b in v["phases"]))
    for k, v in _S["esmo"]["grades"].items()
}
RECOMMENDATIONS: dict[str, Recommendation] = {
    k: Recommendation(id=k, text=" ".join(v["text"].split()), citations=tuple(_cit(c) for c in v["citations"]))
    for k, v in _S["recommendations"].items()
}

DECISIONS: tuple[Decision, ...] = tuple(
    Decision.model_validate({**{k: " ".join(str(v).split()) for k, v in d.items() if k != "citations"},
                             "citations": tuple(_cit(c) for c in d["citations"])})
    for d in _DATA["texts"]["decisions"]
)
"""The debatable cases the sources leave open, with the project's decision and its reasoning."""

# ---- consistency checks ----------------------------------------------------------
CONSISTENCY_CHECKS: dict[str, ConsistencyCheck] = {
    c["id"]: ConsistencyCheck.model_validate({**c, "citation": _cit(c["citation"])})
    for c in _DATA["consistency"]["checks"]
}


def _check_references() -> None:
    """Cross-references between the files (a failure here is a broken rule set)."""
    for cr in DIAGNOSIS_CRITERIA:
        if cr.category not in CATEGORIES:
            raise ValueError(f"criterion {cr.id}: unknown category {cr.category!r}")
    for e in ESSENTIALS:
        if e.category not in CATEGORIES:
            raise ValueError(f"essential {e.id}: unknown category {e.category!r}")
    ids = [c.id for c in DIAGNOSIS_CRITERIA] + [e.id for e in ESSENTIALS]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate rule ids: {sorted(dup)}")
    for stains in MARKER_GROUPS.values():
        unknown = set(stains) - set(STAIN_NAMES)
        if unknown:
            raise ValueError(f"marker group names unknown stains {sorted(unknown)}")
    for factors in DLMS_HIGH_RISK_FACTORS.values():
        if set(factors) - set(DLMS_FACTORS):
            raise ValueError("rule names a factor that is not in dermal_lms.factors")
    for g in GATES:
        if g.mimic not in CATEGORIES or set(g.blocks) - set(CATEGORIES):
            raise ValueError(f"gate {g.id}: unknown category")
        if set(g.stains) - set(STAIN_NAMES):
            raise ValueError(f"gate {g.id}: unknown stains")
    if DEFAULT_MITOTIC_DEFINITION not in MITOTIC_DEFINITIONS:
        raise ValueError("default mitotic definition is not defined")


_check_references()
