"""Every clinical figure, threshold and rule of leiosurv, each with its source.

Nothing clinical is hard-coded anywhere else: the rules in :mod:`diagnosis`,
:mod:`risk` and :mod:`surveillance`, the synthetic cohort and the cohort study
read their numbers from here.  Each item carries a :class:`Citation` naming the
source document (a seed file in ``shared/seeds`` and its section, or a named
publication) so that every result can show where its numbers come from.

Identifiers (``Source.id``, ``Citation`` targets, factor and outcome keys, rule
ids) are stable: the registry and the web app store them.

Proportions are stored as fractions (0.093 is 9.3 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Source",
    "Citation",
    "PublishedRisk",
    "FactorRisk",
    "SOURCES",
    "SEED_001",
    "DLMS_COHORT",
    "DLMS_OUTCOMES",
    "DLMS_FACTORS",
    "DLMS_OVERALL_5Y",
    "DLMS_FACTOR_RISKS",
    "DLMS_DERIVATION_THRESHOLDS",
    "DLMS_HIGH_RISK_FACTORS",
    "DLMS_RULE_ID",
    "DLMS_METHOD",
    "SEED_000",
    "SEED_002",
    "SEED_003",
    "SEED_004",
    "ESMO_2021",
    "FNCLCC_TROJANI_1984",
    "FNCLCC_COINDRE_2006",
    "DANISH_GRADING_NOTE",
    "ICD10_2019",
    "PROJECT_DEFAULT",
    "cite",
    "DISCLAIMER",
    "MitoticDefinition",
    "FNCLCC_HPF_AREA_MM2",
    "MITOTIC_DEFINITIONS",
    "DEFAULT_MITOTIC_DEFINITION",
    "STAIN_NAMES",
    "SMOOTH_MUSCLE_STAINS",
    "KEY_STAINS",
    "Category",
    "CATEGORIES",
    "ICD10_BY_SITE",
    "ICD10_RETROPERITONEUM",
    "ICD10_CITATION",
    "Criterion",
    "DIAGNOSIS_CRITERIA",
    "WarningRule",
    "WARNING_RULES",
    "BRISK_MITOTIC_SCORE",
    "DLMS_VISIT_MONTHS",
    "DLMS_IMAGING_YEARS",
    "DEFAULT_IMAGING_INTERVAL_MONTHS",
    "DEFAULT_WINDOW_DAYS",
    "DLMS_SCHEDULE",
    "INCOMPLETE_NOTE",
    "LIFELONG_NOTE",
    "GuidelinePhase",
    "ESMO_FOLLOW_UP",
    "ESMO_PROVIDER",
    "ESMO_MODALITY",
    "DEFAULT_GUIDELINE_PLAN_YEARS",
    "METASTATIC_NOTE",
    "DLMS_RULE_CATEGORIES",
    "DLMS_RULE_CATEGORY_CITATION",
    "PRIOR_LMS_RISK_NOTE",
]


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """A document the project's clinical knowledge comes from."""

    id: str
    title: str
    reference: str
    file: str | None = None  # seed file name in shared/seeds, when it is one

    def __str__(self) -> str:
        return self.reference


@dataclass(frozen=True)
class Citation:
    """A place in a source: the section (and a short quote when helpful)."""

    source: Source
    section: str
    quote: str | None = None

    def __str__(self) -> str:
        where = f"{self.source.file}, " if self.source.file else ""
        return f"{self.source.reference} [{where}{self.section}]"

    def short(self) -> str:
        """Compact form for listings: ``seed-002, Diagnosis``."""
        return f"{self.source.id}, {self.section}"

    def to_dict(self) -> dict:
        return {
            "source_id": self.source.id,
            "reference": self.source.reference,
            "file": self.source.file,
            "section": self.section,
            "quote": self.quote,
        }


SEED_001 = Source(
    id="seed-001",
    title=(
        "Classification of High- and Low-Risk Groups in Patients with Dermal "
        "Leiomyosarcoma: An Exploratory Register-Based Nationwide Cohort Study"
    ),
    reference="Abebe K et al. EMJ Dermatol. 2025;13[1]:55-57 (EADV 2025 abstract P0824)",
    file="001_6c2ac2c83588ff64.txt",
)

SOURCES: dict[str, Source] = {SEED_001.id: SEED_001}

_RESULTS = Citation(SEED_001, "Results")
_METHODS = Citation(SEED_001, "Materials and Methods")
_CONCLUSION = Citation(SEED_001, "Conclusion")


# ---------------------------------------------------------------------------
# Seed 001: the Danish dermal-LMS cohort, its risks and its rule
# ---------------------------------------------------------------------------
Outcome = Literal["metastasis", "local_recurrence"]
Factor = Literal["necrosis", "mitotic_grade_3", "invasion", "positive_margins"]

DLMS_OUTCOMES: tuple[str, ...] = ("metastasis", "local_recurrence")
"""Outcomes of seed 001, each analysed with all-cause death as competing risk."""

DLMS_FACTORS: dict[str, str] = {
    "necrosis": "Tumour necrosis",
    "mitotic_grade_3": "Mitotic grade 3 (vs grades 1-2)",
    "invasion": "Perineural or intravascular invasion",
    "positive_margins": "Positive surgical margins",
}
"""Candidate risk factors with a published univariable result (seed 001, Results)."""


@dataclass(frozen=True)
class PublishedRisk:
    """A published 5-year absolute risk (or risk difference) with its 95 % CI.

    ``lower``/``upper`` are ``None`` where the source gives no interval.
    """

    estimate: float
    lower: float | None
    upper: float | None
    citation: Citation

    def contains(self, value: float) -> bool:
        if self.lower is None or self.upper is None:
            raise ValueError("this published figure has no confidence interval")
        return self.lower <= value <= self.upper

    def format(self, digits: int = 1) -> str:
        pct = f"{100 * self.estimate:.{digits}f}%"
        if self.lower is None or self.upper is None:
            return pct
        return f"{pct} (95% CI {100 * self.lower:.{digits}f} to {100 * self.upper:.{digits}f})"


@dataclass(frozen=True)
class FactorRisk:
    """5-year risk with the factor present and absent, and their difference."""

    factor: str
    outcome: str
    present: PublishedRisk
    absent: PublishedRisk
    difference: PublishedRisk


def _r(est: float, lo: float | None = None, hi: float | None = None) -> PublishedRisk:
    return PublishedRisk(est / 100, None if lo is None else lo / 100, None if hi is None else hi / 100, _RESULTS)


DLMS_COHORT = {
    "n": 381,
    "median_age_years": 66,
    "male_fraction": 0.71,
    "period": (1980, 2022),
    "country": "Denmark",
    "registers": "Danish National Health Registers; Danish Sarcoma Database",
    "citation": _RESULTS,
}
"""The published cohort (seed 001, Materials and Methods and Results)."""

DLMS_METHOD = {
    "estimator": "Aalen-Johansen",
    "competing_risk": "all-cause mortality",
    "horizon_years": 5,
    "ci_level": 0.95,
    "text": (
        "Absolute 5-year risks were estimated with the Aalen-Johansen method, treating "
        "all-cause mortality as a competing risk. The results were presented as 5-year "
        "absolute risks and risk differences (RD) with 95% CIs."
    ),
    "citation": _METHODS,
}

DLMS_OVERALL_5Y: dict[str, PublishedRisk] = {
    # "the 5-year risks of metastasis and local recurrence were 2.4% and 10.0%"
    "metastasis": _r(2.4),
    "local_recurrence": _r(10.0),
}
"""Overall 5-year risks in the 381 patients (no CI published)."""

DLMS_FACTOR_RISKS: dict[tuple[str, str], FactorRisk] = {
    ("necrosis", "metastasis"): FactorRisk(
        "necrosis", "metastasis", _r(9.3, 0.6, 18.0), _r(1.5, 0.2, 2.8), _r(7.8, -1, 17)
    ),
    ("mitotic_grade_3", "metastasis"): FactorRisk(
        "mitotic_grade_3", "metastasis", _r(6.5, 1, 12), _r(1.4, 0, 2.8), _r(5.1, -0.6, 11.0)
    ),
    ("invasion", "metastasis"): FactorRisk(
        "invasion", "metastasis", _r(25.0, 0, 67), _r(2.1, 0.7, 3.6), _r(23, -20, 65)
    ),
    ("positive_margins", "local_recurrence"): FactorRisk(
        "positive_margins", "local_recurrence", _r(26.0, 11, 41), _r(8.4, 5.5, 11.0), _r(18, 3, 33)
    ),
    ("invasion", "local_recurrence"): FactorRisk(
        "invasion", "local_recurrence", _r(50.0, 0, 100), _r(9.6, 6.6, 13.0), _r(40, -11, 92)
    ),
}
"""Published univariable 5-year risks (seed 001, Results).

Only these five factor-outcome pairs are published in the abstract's text; the
forest plot (Figure 1) is not reproduced in the seed.
"""

DLMS_DERIVATION_THRESHOLDS: dict[str, float] = {
    # "risk factors associated with a 5-year RD of >5% for metastasis and >10% for local recurrence"
    "metastasis": 0.05,
    "local_recurrence": 0.10,
}
"""A factor enters the rule when its 5-year RD *exceeds* this (strictly), per outcome."""

DLMS_RULE_ID = "dlms-risk-abebe-2025"
"""Stable identifier of the published high/low-risk rule."""

DLMS_HIGH_RISK_FACTORS: dict[str, tuple[str, ...]] = {
    # "high-risk dLMS could be defined by the presence of necrosis, mitotic Grade 3,
    #  perineural/intravascular invasion, or positive surgical margins"
    "metastasis": ("necrosis", "mitotic_grade_3", "invasion"),
    "local_recurrence": ("positive_margins", "invasion"),
}
"""The factors that define high risk, by the outcome they were derived for (seed 001, Conclusion).

Any one present makes the tumour high risk; the union is the published rule.
"""


# ---------------------------------------------------------------------------
# Further sources: the other seeds, the guideline and the grading system
# ---------------------------------------------------------------------------
SEED_000 = Source(
    id="seed-000",
    title="Eruptive Cutaneous Metastases of Leiomyosarcoma Following a 26-Year Latency",
    reference="McCaffrey T et al. Eruptive cutaneous metastases of leiomyosarcoma following a 26-year latency (case report, 2026)",
    file="000_61bbd5e768f34582.txt",
)
SEED_002 = Source(
    id="seed-002",
    title="Atypical intradermal smooth muscle neoplasm",
    reference="Gustafson DM, Chung CG. Atypical intradermal smooth muscle neoplasm. PathologyOutlines.com (accessed 2025-08-21)",
    file="002_40670f591d86e1e0.txt",
)
SEED_003 = Source(
    id="seed-003",
    title="Inflammatory leiomyosarcoma",
    reference="Montoya-Cerrillo DM, Velez-Torres JM. Inflammatory leiomyosarcoma. PathologyOutlines.com (accessed 2024-04-24)",
    file="003_84a12a3a6530e696.txt",
)
SEED_004 = Source(
    id="seed-004",
    title="A rare presentation of leiomyosarcoma metastasis to the cervical spine: a case report and a brief review",
    reference="Koruga N et al. Surg Neurol Int. 2024;15:1-4. doi:10.25259/SNI_66_2024",
    file="004_786e932152739f8b.txt",
)
ESMO_2021 = Source(
    id="esmo-2021-sts",
    title=(
        "Soft tissue and visceral sarcomas: ESMO-EURACAN-GENTURIS Clinical Practice "
        "Guidelines for diagnosis, treatment and follow-up"
    ),
    reference="Gronchi A et al. Ann Oncol. 2021;32(11):1348-1365",
)
FNCLCC_TROJANI_1984 = Source(
    id="fnclcc-trojani-1984",
    title="Soft-tissue sarcomas of adults; study of pathological prognostic variables and definition of a histopathological grading system",
    reference="Trojani M et al. Int J Cancer. 1984;33:37-42",
)
FNCLCC_COINDRE_2006 = Source(
    id="fnclcc-coindre-2006",
    title="Grading of soft tissue sarcomas: review and update",
    reference="Coindre JM. Arch Pathol Lab Med. 2006;130:1448-1453",
)
DANISH_GRADING_NOTE = Source(
    id="danish-grade-3b-project-reading",
    title="Older Danish soft-tissue sarcoma grading, grade 3B (project reading)",
    reference=(
        "Older Danish grading as stated in the project's issue 2 (grade 3B: more than 20 "
        "mitoses per 10 HPF); primary publication not verified by the project"
    ),
)
ICD10_2019 = Source(
    id="icd10-who-2019",
    title="International Statistical Classification of Diseases and Related Health Problems, 10th revision",
    reference="WHO. ICD-10, 2019 version, chapter II (C48-C49)",
)
PROJECT_DEFAULT = Source(
    id="leiosurv-project-default",
    title="leiosurv project default",
    reference="leiosurv project default (no published source; configurable; see docs/clinical.md)",
)

SOURCES.update(
    {
        s.id: s
        for s in (
            SEED_000,
            SEED_002,
            SEED_003,
            SEED_004,
            ESMO_2021,
            FNCLCC_TROJANI_1984,
            FNCLCC_COINDRE_2006,
            DANISH_GRADING_NOTE,
            ICD10_2019,
            PROJECT_DEFAULT,
        )
    }
)


def cite(source: Source, section: str, quote: str | None = None) -> Citation:
    """Build a :class:`Citation`; the source must be registered in :data:`SOURCES`."""
    if SOURCES.get(source.id) is not source:
        raise ValueError(f"source {source.id!r} is not registered in evidence.SOURCES")
    return Citation(source, section, quote)


DISCLAIMER = (
    "Decision support only: leiosurv shows rules and published figures with their sources; "
    "it supports, and does not replace, the pathologist's diagnosis and the clinician's judgement."
)


# ---------------------------------------------------------------------------
# Mitotic grade: the definitions in use for seed 001's "mitotic grade 3"
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MitoticDefinition:
    """How a mitotic count becomes a mitotic score, and which score counts as "grade 3".

    ``bands`` lists ``(score, lowest count per 10 HPF)``; a count gets the highest
    score whose lower bound it reaches (``inclusive=True``) or exceeds
    (``inclusive=False``, for a "more than" definition).
    """

    id: str
    name: str
    hpf_area_mm2: float
    bands: tuple[tuple[int, float], ...]
    grade_3_score: int
    inclusive: bool
    text: str
    citations: tuple[Citation, ...]

    def score(self, per_10_hpf: float) -> int:
        """Mitotic score of a count per 10 HPF (of this definition's HPF area)."""
        if per_10_hpf < 0:
            raise ValueError(f"mitotic count must be >= 0, got {per_10_hpf!r}")
        out = self.bands[0][0]
        for score, low in self.bands:
            if per_10_hpf >= low if self.inclusive else per_10_hpf > low:
                out = score
        return out

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "hpf_area_mm2": self.hpf_area_mm2,
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
        }


FNCLCC_HPF_AREA_MM2 = 0.1734
"""Area of one FNCLCC high-power field (Trojani 1984; Coindre 2006)."""

MITOTIC_DEFINITIONS: dict[str, MitoticDefinition] = {
    "fnclcc": MitoticDefinition(
        id="fnclcc",
        name="FNCLCC mitotic score 3",
        hpf_area_mm2=FNCLCC_HPF_AREA_MM2,
        bands=((1, 0.0), (2, 10.0), (3, 20.0)),
        grade_3_score=3,
        inclusive=True,
        text=(
            "FNCLCC mitotic score: 1 = 0-9, 2 = 10-19, 3 = >= 20 mitoses per 10 HPF "
            "(HPF 0.1734 mm2); 'mitotic grade 3' read as score 3. Seed 001 does not define "
            "its mitotic grade; this is the project's default reading."
        ),
        citations=(
            Citation(FNCLCC_TROJANI_1984, "Grading system"),
            Citation(FNCLCC_COINDRE_2006, "FNCLCC grading, mitotic count"),
        ),
    ),
    "danish-3b": MitoticDefinition(
        id="danish-3b",
        name="Danish grade 3B (more than 20 per 10 HPF)",
        hpf_area_mm2=FNCLCC_HPF_AREA_MM2,
        bands=((1, 0.0), (3, 20.0)),
        grade_3_score=3,
        inclusive=False,
        text=(
            "Older Danish grading: 'mitotic grade 3' read as grade 3B, more than 20 mitoses "
            "per 10 HPF. The HPF area is not stated; counts per mm2 are converted with the "
            "FNCLCC HPF (0.1734 mm2)."
        ),
        citations=(Citation(DANISH_GRADING_NOTE, "Grade 3B"),),
    ),
}
"""Selectable definitions of seed 001's 'mitotic grade 3' (by id)."""

DEFAULT_MITOTIC_DEFINITION = "fnclcc"


# ---------------------------------------------------------------------------
# Immunohistochemistry: the panel and the key stains
# ---------------------------------------------------------------------------
STAIN_NAMES: dict[str, str] = {
    "sma": "SMA",
    "desmin": "Desmin",
    "h_caldesmon": "h-Caldesmon",
    "msa": "MSA (muscle-specific actin)",
    "fxiiia": "FXIIIa",
    "s100": "S100",
    "sox10": "SOX10",
    "melan_a": "Melan-A",
    "hmb45": "HMB45",
    "p40": "p40",
    "ck903": "CK903",
    "ae1_ae3": "AE1/AE3",
    "cd34": "CD34",
    "erg": "ERG",
    "cd10": "CD10",
    "cd68": "CD68",
    "cd163": "CD163",
    "myod1": "MyoD1",
    "myogenin": "Myogenin",
    "alk": "ALK",
}
"""The immunohistochemistry panel of the findings model (field name -> label)."""

SMOOTH_MUSCLE_STAINS: tuple[str, ...] = ("sma", "desmin", "h_caldesmon")
"""WHO essential criterion: expression of SMA, desmin or caldesmon (seed 002, Diagnosis)."""

KEY_STAINS: dict[str, tuple[tuple[str, ...], Citation]] = {
    # group label -> (stains, any of which counts as done; why it matters)
    "smooth muscle (SMA, desmin or h-caldesmon)": (
        SMOOTH_MUSCLE_STAINS,
        Citation(SEED_002, "Diagnosis", "Immunohistochemical expression of SMA, desmin or caldesmon"),
    ),
    "melanocytic (S100 or SOX10)": (
        ("s100", "sox10"),
        Citation(SEED_002, "Differential diagnosis", "Desmoplastic malignant melanoma ... Positive for S100, SOX10"),
    ),
    "epithelial (p40, CK903 or AE1/AE3)": (
        ("p40", "ck903", "ae1_ae3"),
        Citation(SEED_000, "Clinical and Diagnostic Findings", "negative for p40/Sox10/CK903/CD34/ERG"),
    ),
    "CD10 (atypical fibroxanthoma / pleomorphic dermal sarcoma)": (
        ("cd10",),
        Citation(SEED_002, "Practice answer #1", "CD10 (nonspecific) was negative"),
    ),
}
"""Stains without which the main differentials cannot be excluded; a warning names the missing ones."""


# ---------------------------------------------------------------------------
# Diagnosis support: categories, codes and criteria
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Category:
    """A diagnostic category with the codes its source gives (``None`` where none is given)."""

    id: str
    name: str
    icd_o: str | None
    icd_10: str | None
    icd_11: str | None
    codes_citation: Citation | None
    note: str | None = None


_C002_ICD = Citation(SEED_002, "ICD coding")
_C003_ICD = Citation(SEED_003, "ICD coding")

CATEGORIES: dict[str, Category] = {
    c.id: c
    for c in (
        Category(
            "aismn",
            "Atypical intradermal smooth muscle neoplasm (dermal / cutaneous leiomyosarcoma)",
            "8897/1",
            None,
            "2F9C & XH1EN1",
            _C002_ICD,
            "Seed 002 gives no ICD-10 code.",
        ),
        Category(
            "lms_nos",
            "Leiomyosarcoma, NOS (subcutaneous or deep)",
            "8890/3",
            "C49.9",
            "2B58 & XH7ED4",
            _C003_ICD,
            "ICD-10 is refined by site (C49.x, C48.0) from the findings where the site is known.",
        ),
        Category(
            "metastatic_lms",
            "Metastatic leiomyosarcoma",
            None,
            None,
            None,
            None,
            "The seeds give no code for the metastatic lesion; code the primary tumour.",
        ),
        Category("ilms", "Inflammatory leiomyosarcoma", "8890/3", "C49.9", "2B58 & XH7ED4", _C003_ICD),
        Category("leiomyoma", "Leiomyoma", None, None, None, None, "The seeds give no code."),
        Category(
            "afx_pds",
            "Atypical fibroxanthoma / pleomorphic dermal sarcoma",
            None,
            None,
            None,
            None,
            "The seeds give no code.",
        ),
        Category("spindle_scc", "Spindle cell squamous cell carcinoma", None, None, None, None, "The seeds give no code."),
        Category("desmoplastic_melanoma", "Desmoplastic melanoma", None, None, None, None, "The seeds give no code."),
        Category(
            "cellular_neurofibroma",
            "Cellular neurofibroma",
            None,
            None,
            None,
            None,
            "Seed 002 names it as a differential without criteria; only the smooth-muscle stains speak against it.",
        ),
        Category("dermatofibroma", "Dermatofibroma / cellular dermatofibroma", None, None, None, None, "The seeds give no code."),
        Category("imt", "Inflammatory myofibroblastic tumour", None, None, None, None, "The seeds give no code."),
        Category("rhabdomyosarcoma", "Rhabdomyosarcoma", None, None, None, None, "The seeds give no code."),
    )
}
"""Diagnostic categories (stable ids) with the codes their sources give."""

ICD10_BY_SITE: dict[str, str] = {
    "head_neck": "C49.0",
    "upper_extremity": "C49.1",
    "lower_extremity": "C49.2",
    "trunk": "C49.6",
}
"""ICD-10 C49.x by anatomical region for a soft-tissue leiomyosarcoma (WHO ICD-10, C49)."""
ICD10_RETROPERITONEUM = "C48.0"
ICD10_CITATION = Citation(ICD10_2019, "C48.0, C49.0-C49.9")


@dataclass(frozen=True)
class Criterion:
    """One diagnostic criterion: a finding value that speaks for or against a category.

    ``feature`` names a findings field (dotted path, e.g. ``immunohistochemistry.sma``)
    or a derived feature (``mitoses.brisk``, ``smooth_muscle_ihc``); the criterion
    matches when the value is in ``values``.  ``weight`` is positive for and negative
    against.  An unknown value never matches either way.
    """

    id: str
    category: str
    feature: str
    values: frozenset[str]
    weight: int
    text: str
    citation: Citation


def _crit(id, category, feature, values, weight, text, citation) -> Criterion:  # noqa: A002
    return Criterion(id, category, feature, frozenset(values), weight, text, citation)


_002_DX = Citation(SEED_002, "Diagnosis")
_002_ESS = Citation(SEED_002, "Essential features")
_002_DEF = Citation(SEED_002, "Definition / general")
_002_PROG = Citation(SEED_002, "Prognostic factors")
_002_DDX = Citation(SEED_002, "Differential diagnosis")
_002_Q1 = Citation(SEED_002, "Practice answer #1")
_002_Q2 = Citation(SEED_002, "Practice answer #2")
_003_DEF = Citation(SEED_003, "Definition / general")
_003_SITES = Citation(SEED_003, "Sites")
_003_MICRO = Citation(SEED_003, "Microscopic (histologic) description")
_003_Q1 = Citation(SEED_003, "Board review style answer #1")
_003_Q2 = Citation(SEED_003, "Board review style answer #2")
_003_REPORT = Citation(SEED_003, "Sample pathology report")
_000_CASE = Citation(SEED_000, "Clinical and Diagnostic Findings")
_000_CONCL = Citation(SEED_000, "Conclusion")
_004_CASE = Citation(SEED_004, "Case report")

_DEEP = ("subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone")
_POS = ("positive", "focal")
_ANY_ATYPIA = ("mild", "moderate", "marked")

DIAGNOSIS_CRITERIA: tuple[Criterion, ...] = (
    # -- atypical intradermal smooth muscle neoplasm (seed 002)
    _crit("dx.aismn.dermal-based", "aismn", "depth", ["dermal"], 3, "Dermal based tumour", _002_DX),
    _crit("dx.aismn.infiltrative", "aismn", "growth_pattern", ["infiltrative"], 1, "Infiltrative growth", _002_DX),
    _crit("dx.aismn.fascicles", "aismn", "smooth_muscle_morphology", ["present"], 2,
          "Fascicles of uniform eosinophilic spindled cells with cigar shaped nuclei", _002_DX),
    _crit("dx.aismn.sm-ihc", "aismn", "smooth_muscle_ihc", ["positive"], 2,
          "Expression of SMA, desmin or caldesmon", _002_DX),
    _crit("dx.aismn.sm-ihc-negative", "aismn", "smooth_muscle_ihc", ["negative"], -3,
          "SMA, desmin and caldesmon all negative", _002_DX),
    _crit("dx.aismn.atypia", "aismn", "atypia", ["mild", "moderate"], 1, "Mild to moderate atypia", _002_DEF),
    _crit("dx.aismn.limited-subcutis", "aismn", "subcutis_involvement", ["none", "focal"], 1,
          "At most focal involvement of the subcutis", _002_DX),
    _crit("dx.aismn.extensive-subcutis", "aismn", "subcutis_involvement", ["extensive"], -2,
          "More than limited involvement of the subcutis", _002_DX),
    _crit("dx.aismn.deep-origin", "aismn", "depth", _DEEP, -3, "Origin deeper than the dermis", _002_DDX),
    _crit("dx.aismn.marked-pleomorphism", "aismn", "pleomorphism", ["marked"], -2,
          "Marked pleomorphism is rare; consider other diagnoses", _002_ESS),
    _crit("dx.aismn.necrosis", "aismn", "necrosis", ["present"], -1, "Necrosis is rare; consider other diagnoses", _002_ESS),
    _crit("dx.aismn.brisk-mitoses", "aismn", "mitoses.brisk", ["present"], -1,
          "Brisk mitoses are rare; consider other diagnoses", _002_ESS),
    _crit("dx.aismn.distant-lesion", "aismn", "distant_lesion", ["present"], -3,
          "Metastasis is extremely unlikely; pursue other diagnoses for a metastatic lesion", _002_PROG),
    _crit("dx.aismn.prior-lms", "aismn", "history.prior_leiomyosarcoma", ["present"], -2,
          "Prior leiomyosarcoma: a skin lesion may be a metastasis", _000_CONCL),
    # -- leiomyosarcoma NOS, subcutaneous or deep (seeds 002, 003)
    _crit("dx.lms.deep-origin", "lms_nos", "depth", _DEEP, 3,
          "Soft tissue involvement beyond the dermis (architecture is key)", _002_DDX),
    _crit("dx.lms.extensive-subcutis", "lms_nos", "subcutis_involvement", ["extensive"], 2,
          "Extensive involvement of the subcutis", _002_DDX),
    _crit("dx.lms.fascicles", "lms_nos", "smooth_muscle_morphology", ["present"], 2,
          "Fascicles of eosinophilic spindled cells with blunt ended nuclei", _002_DDX),
    _crit("dx.lms.sm-ihc", "lms_nos", "smooth_muscle_ihc", ["positive"], 2, "Smooth muscle differentiation by IHC", _002_Q1),
    _crit("dx.lms.sm-ihc-negative", "lms_nos", "smooth_muscle_ihc", ["negative"], -3,
          "SMA, desmin and caldesmon all negative", _002_DX),
    _crit("dx.lms.pleomorphism", "lms_nos", "pleomorphism", ["moderate", "marked"], 1, "Variable pleomorphism", _002_DDX),
    _crit("dx.lms.necrosis", "lms_nos", "necrosis", ["present"], 1, "Necrosis points beyond a dermal neoplasm", _002_ESS),
    _crit("dx.lms.confined-to-dermis", "lms_nos", "depth", ["dermal"], -2,
          "Lesion confined to the dermis speaks against deep leiomyosarcoma", _002_Q1),
    # -- metastatic leiomyosarcoma (seeds 000, 002, 004)
    _crit("dx.met.distant-lesion", "metastatic_lms", "distant_lesion", ["present"], 3,
          "Lesion distant from a prior tumour", _002_Q2),
    _crit("dx.met.prior-lms", "metastatic_lms", "history.prior_leiomyosarcoma", ["present"], 3,
          "Prior leiomyosarcoma, whatever the interval (26 years in seed 000)", _000_CONCL),
    _crit("dx.met.prior-aismn", "metastatic_lms", "history.prior_aismn", ["present"], 1,
          "Prior 'atypical intradermal smooth muscle neoplasm': the earlier diagnosis may need revision", _002_Q2),
    _crit("dx.met.sm-ihc", "metastatic_lms", "smooth_muscle_ihc", ["positive"], 2,
          "Smooth muscle markers positive", _004_CASE),
    _crit("dx.met.sm-ihc-negative", "metastatic_lms", "smooth_muscle_ihc", ["negative"], -3,
          "SMA, desmin and caldesmon all negative", _002_DX),
    _crit("dx.met.fascicles", "metastatic_lms", "smooth_muscle_morphology", ["present"], 1,
          "Smooth muscle morphology", _000_CASE),
    _crit("dx.met.pleomorphism", "metastatic_lms", "pleomorphism", ["marked"], 1,
          "Marked pleomorphism: consider metastasis", _002_ESS),
    _crit("dx.met.necrosis", "metastatic_lms", "necrosis", ["present"], 1, "Necrosis: consider metastasis", _002_ESS),
    _crit("dx.met.brisk-mitoses", "metastatic_lms", "mitoses.brisk", ["present"], 1, "Brisk mitoses: consider metastasis", _002_ESS),
    _crit("dx.met.no-history", "metastatic_lms", "known_primary", ["absent"], -3,
          "No distant lesion and no prior leiomyosarcoma or smooth muscle neoplasm", _002_Q2),
    # -- inflammatory leiomyosarcoma (seed 003)
    _crit("dx.ilms.inflammation", "ilms", "prominent_inflammatory_infiltrate", ["present"], 3,
          "Prominent inflammatory infiltrate", _003_DEF),
    _crit("dx.ilms.no-inflammation", "ilms", "prominent_inflammatory_infiltrate", ["absent"], -3,
          "No prominent inflammatory infiltrate", _003_DEF),
    _crit("dx.ilms.near-haploidization", "ilms", "near_haploidization", ["present"], 3,
          "Near haploidization, the most common genetic finding", _003_Q2),
    _crit("dx.ilms.desmin", "ilms", "immunohistochemistry.desmin", _POS, 1, "Desmin positive", _003_REPORT),
    _crit("dx.ilms.myod1", "ilms", "immunohistochemistry.myod1", _POS, 1, "MyoD1 positive", _003_Q1),
    _crit("dx.ilms.deep", "ilms", "depth", ["deep_soft_tissue", "retroperitoneal_visceral"], 1,
          "Deep soft tissue", _003_SITES),
    _crit("dx.ilms.circumscribed", "ilms", "growth_pattern", ["circumscribed"], 1, "Well circumscribed", _003_MICRO),
    _crit("dx.ilms.alk", "ilms", "immunohistochemistry.alk", _POS, -2, "ALK positive points to IMT", _003_Q1),
    # -- leiomyoma (seed 002)
    _crit("dx.leiomyoma.sm-ihc", "leiomyoma", "smooth_muscle_ihc", ["positive"], 2, "Smooth muscle differentiation", _002_Q1),
    _crit("dx.leiomyoma.fascicles", "leiomyoma", "smooth_muscle_morphology", ["present"], 2, "Smooth muscle morphology", _002_Q1),
    _crit("dx.leiomyoma.sm-ihc-negative", "leiomyoma", "smooth_muscle_ihc", ["negative"], -3,
          "SMA, desmin and caldesmon all negative: no smooth muscle differentiation", _002_Q1),
    _crit("dx.leiomyoma.no-atypia", "leiomyoma", "atypia", ["none"], 2, "No cytologic atypia", _002_Q1),
    _crit("dx.leiomyoma.atypia", "leiomyoma", "atypia", _ANY_ATYPIA, -2,
          "Leiomyoma should not have cytologic atypia throughout the lesion", _002_Q1),
    _crit("dx.leiomyoma.pleomorphism", "leiomyoma", "pleomorphism", ["moderate", "marked"], -3,
          "Leiomyoma should not have significant pleomorphism", _002_Q2),
    _crit("dx.leiomyoma.necrosis", "leiomyoma", "necrosis", ["present"], -2, "Leiomyoma should not have necrosis", _002_Q2),
    _crit("dx.leiomyoma.mitoses", "leiomyoma", "mitoses.brisk", ["present"], -2, "Leiomyoma should not have brisk mitoses", _002_Q2),
    _crit("dx.leiomyoma.distant", "leiomyoma", "distant_lesion", ["present"], -2, "Distant lesion", _002_Q2),
    # -- atypical fibroxanthoma / pleomorphic dermal sarcoma (seed 002)
    _crit("dx.afx.pleomorphism", "afx_pds", "pleomorphism", ["marked"], 2, "Pleomorphic epithelioid and spindle cells", _002_DDX),
    _crit("dx.afx.mitoses", "afx_pds", "mitoses.brisk", ["present"], 1, "Abundant mitoses", _002_DDX),
    _crit("dx.afx.elastosis", "afx_pds", "solar_elastosis", ["present"], 1, "Background of solar elastosis", _002_DDX),
    _crit("dx.afx.cd10", "afx_pds", "immunohistochemistry.cd10", _POS, 1, "Nonspecific CD10 positivity", _002_DDX),
    _crit("dx.afx.cd68", "afx_pds", "immunohistochemistry.cd68", _POS, 1, "Nonspecific CD68 positivity", _002_Q2),
    _crit("dx.afx.cd10-negative", "afx_pds", "immunohistochemistry.cd10", ["negative"], -1, "CD10 negative", _002_Q1),
    _crit("dx.afx.no-elastosis", "afx_pds", "solar_elastosis", ["absent"], -1, "Little solar elastosis", _002_Q1),
    _crit("dx.afx.no-pleomorphism", "afx_pds", "pleomorphism", ["none", "mild"], -2,
          "AFX typically has a greater degree of pleomorphism", _002_Q1),
    _crit("dx.afx.desmin", "afx_pds", "immunohistochemistry.desmin", _POS, -1,
          "Smooth muscle differentiation by IHC (desmin)", _002_Q1),
    # -- spindle cell squamous cell carcinoma (seeds 002, 000)
    _crit("dx.sscc.p40", "spindle_scc", "immunohistochemistry.p40", _POS, 3, "p40 positive", _000_CASE),
    _crit("dx.sscc.keratin", "spindle_scc", "keratin", ["positive"], 3, "Cytokeratin (CK903 or AE1/AE3) positive", _000_CASE),
    _crit("dx.sscc.p40-negative", "spindle_scc", "immunohistochemistry.p40", ["negative"], -2, "p40 negative", _000_CASE),
    _crit("dx.sscc.keratin-negative", "spindle_scc", "keratin", ["negative"], -2, "Cytokeratins negative", _000_CASE),
    # -- desmoplastic melanoma (seed 002)
    _crit("dx.dm.s100", "desmoplastic_melanoma", "immunohistochemistry.s100", _POS, 3, "S100 positive", _002_DDX),
    _crit("dx.dm.sox10", "desmoplastic_melanoma", "immunohistochemistry.sox10", _POS, 3, "SOX10 positive", _002_DDX),
    _crit("dx.dm.s100-negative", "desmoplastic_melanoma", "immunohistochemistry.s100", ["negative"], -2, "S100 negative", _002_DDX),
    _crit("dx.dm.sox10-negative", "desmoplastic_melanoma", "immunohistochemistry.sox10", ["negative"], -2, "SOX10 negative", _002_DDX),
    # -- cellular neurofibroma (seed 002 names it; no criteria given)
    _crit("dx.cnf.sm-ihc", "cellular_neurofibroma", "smooth_muscle_ihc", ["positive"], -1,
          "Smooth muscle differentiation by IHC", _002_DX),
    # -- dermatofibroma (seed 002)
    _crit("dx.df.fxiiia", "dermatofibroma", "immunohistochemistry.fxiiia", _POS, 1,
          "FXIIIa positive (also seen in AISMN)", _002_DDX),
    _crit("dx.df.bland", "dermatofibroma", "atypia", ["none"], 1, "Bland spindled cells", _002_DDX),
    _crit("dx.df.sm-ihc", "dermatofibroma", "smooth_muscle_ihc", ["positive"], -1,
          "Smooth muscle differentiation by IHC", _002_DX),
    # -- inflammatory myofibroblastic tumour (seed 003)
    _crit("dx.imt.alk", "imt", "immunohistochemistry.alk", _POS, 3, "ALK positive", _003_Q1),
    _crit("dx.imt.inflammation", "imt", "prominent_inflammatory_infiltrate", ["present"], 1, "Inflammatory infiltrate", _003_Q1),
    _crit("dx.imt.alk-negative", "imt", "immunohistochemistry.alk", ["negative"], -2, "ALK negative", _003_Q1),
    _crit("dx.imt.skeletal-muscle", "imt", "skeletal_muscle_ihc", ["positive"], -2,
          "IMT does not express skeletal muscle markers", _003_Q1),
    # -- rhabdomyosarcoma (seed 003)
    _crit("dx.rms.skeletal-muscle", "rhabdomyosarcoma", "skeletal_muscle_ihc", ["positive"], 2,
          "MyoD1 or myogenin positive", _003_Q1),
    _crit("dx.rms.pleomorphism", "rhabdomyosarcoma", "pleomorphism", ["marked"], 1,
          "Pleomorphic rhabdomyosarcoma: marked pleomorphism", _003_Q1),
    _crit("dx.rms.brisk-mitoses", "rhabdomyosarcoma", "mitoses.brisk", ["present"], 1,
          "Pleomorphic rhabdomyosarcoma: increased mitotic activity", _003_Q1),
    _crit("dx.rms.low-grade", "rhabdomyosarcoma", "mitoses.brisk", ["absent"], -1,
          "Pleomorphic rhabdomyosarcoma is high grade with increased mitotic activity", _003_Q1),
    _crit("dx.rms.inflammation", "rhabdomyosarcoma", "prominent_inflammatory_infiltrate", ["present"], -1,
          "Prominent inflammation points to ILMS / inflammatory rhabdomyoblastic tumour", _003_Q1),
)
"""Every diagnostic criterion with its stable id, weight and source."""


@dataclass(frozen=True)
class WarningRule:
    """A warning the diagnosis support raises, with its stable id and source."""

    id: str
    text: str
    citation: Citation


WARNING_RULES: dict[str, WarningRule] = {
    w.id: w
    for w in (
        WarningRule(
            "warn.dermal.aggressive-features",
            "Marked pleomorphism, necrosis or brisk mitoses in a dermal lesion: consider metastasis "
            "or extension from a deep leiomyosarcoma before diagnosing an atypical intradermal smooth muscle neoplasm.",
            _002_ESS,
        ),
        WarningRule(
            "warn.prior-lms.new-lesion",
            "New lesion in a patient with a prior leiomyosarcoma: metastasis must be excluded, whatever the "
            "interval (late metastases occur decades after the primary).",
            _000_CONCL,
        ),
        WarningRule(
            "warn.prior-aismn.metastasis",
            "Metastatic lesion in a patient previously diagnosed with an atypical intradermal smooth muscle "
            "neoplasm: these essentially never metastasise; a revision of the earlier diagnosis should be considered.",
            _002_Q2,
        ),
        WarningRule(
            "warn.stains.missing",
            "Key stains not done or not reported; the differentials they exclude remain open.",
            _002_DX,
        ),
        WarningRule(
            "warn.depth.unknown",
            "Depth of origin unknown: the dermal-LMS risk rule (seed 001) applies only to dermal tumours; "
            "architecture and soft tissue involvement need an excisional specimen.",
            _002_DDX,
        ),
    )
}
"""Warnings of the diagnosis support (by stable id)."""

BRISK_MITOTIC_SCORE = 3
"""A counted mitotic rate is 'brisk' (for the warnings) at this score of the definition in use (grade 3)."""


# ---------------------------------------------------------------------------
# Follow-up schedules
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleItem:
    """Encounters of one kind at the given months after excision."""

    id: str
    kind: str
    provider: str
    modality: str
    months: tuple[int, ...]
    reason: str
    citation: Citation


_001_CONCL = Citation(
    SEED_001,
    "Conclusion",
    "clinical visits twice in the first year, followed by annual visits for 3 years",
)

DLMS_VISIT_MONTHS: tuple[int, ...] = (6, 12, 24, 36, 48)
"""dLMS clinical visits: twice in year 1, then annually for 3 years (seed 001, Conclusion)."""

DLMS_IMAGING_YEARS = 2
"""High-risk dLMS: chest CT or PET/CT during the first 2 years (seed 001, Conclusion)."""

DEFAULT_IMAGING_INTERVAL_MONTHS = 6
"""Interval of the high-risk imaging: a project default; seed 001 gives no interval."""

DEFAULT_WINDOW_DAYS = 30
"""Acceptable window (+/- days) around each due date: a project default."""

DLMS_SCHEDULE: dict[str, dict[str, str | Citation]] = {
    "visit_high": {
        "kind": "clinical visit",
        "provider": "treating specialist (sarcoma centre or dermatology)",
        "modality": "clinical examination",
        "reason": "High-risk dermal leiomyosarcoma: clinical visits twice in year 1, then annually for 3 years",
        "citation": _001_CONCL,
    },
    "visit_low": {
        "kind": "clinical visit",
        "provider": "general practitioner or dermatologist",
        "modality": "clinical examination",
        "reason": (
            "Low-risk dermal leiomyosarcoma: examinations by a general practitioner or dermatologist "
            "(visits twice in year 1, then annually for 3 years)"
        ),
        "citation": Citation(
            SEED_001,
            "Conclusion",
            "follow-up of patients with low-risk dLMS could be limited to annual examinations with a general "
            "practitioner or dermatologist",
        ),
    },
    "imaging_high": {
        "kind": "imaging",
        "provider": "treating specialist (sarcoma centre)",
        "modality": "chest CT or PET/CT",
        "reason": "High-risk dermal leiomyosarcoma: chest imaging in the first 2 years (risk of distant and pulmonary metastases)",
        "citation": Citation(
            SEED_001,
            "Conclusion",
            "extended to also include either PET/CT or CT of the chest in the first 2 years",
        ),
    },
}
"""What each dLMS encounter is, who provides it, and why (seed 001, Conclusion)."""

INCOMPLETE_NOTE = (
    "Risk group INCOMPLETE: planned as high risk until the missing factors are known "
    "({missing}); the published rule never allows 'low' while a factor is unknown."
)

LIFELONG_NOTE = Citation(
    SEED_000,
    "Conclusion",
    "Lifelong clinical surveillance is warranted, as leiomyosarcoma metastases may manifest decades after apparent cure.",
)


@dataclass(frozen=True)
class GuidelinePhase:
    """Visits every ``interval_months`` until ``until_month`` (after excision)."""

    interval_months: int
    until_month: int | None  # None: to the end of the plan


ESMO_FOLLOW_UP: dict[str, dict] = {
    "intermediate_high": {
        "text": (
            "Intermediate/high grade: every 3-4 months in the first 2-3 years, then twice a year "
            "up to year 5, then once a year"
        ),
        # project reading: the shorter interval and the longer first phase of each range
        "phases": (GuidelinePhase(3, 36), GuidelinePhase(6, 60), GuidelinePhase(12, None)),
        "citation": Citation(ESMO_2021, "Follow-up"),
    },
    "low": {
        "text": "Low grade: every 4-6 months for 3-5 years, then once a year",
        "phases": (GuidelinePhase(4, 60), GuidelinePhase(12, None)),
        "citation": Citation(ESMO_2021, "Follow-up"),
    },
}
"""ESMO-EURACAN-GENTURIS 2021 follow-up for soft-tissue sarcoma; each range read at its
more intensive end (a project reading, documented in docs/clinical.md)."""

ESMO_PROVIDER = "sarcoma multidisciplinary team"
ESMO_MODALITY = "clinical examination; imaging of the primary site and chest as the sarcoma team decides"
DEFAULT_GUIDELINE_PLAN_YEARS = 10
"""Length of the non-dermal (guideline) plan: a project default; the follow-up is lifelong."""

METASTATIC_NOTE = (
    "Metastatic or distant leiomyosarcoma: the dermal-LMS rule (seed 001) and the primary-tumour "
    "follow-up schedules do not apply; follow-up is set by the treating sarcoma team."
)

DLMS_RULE_CATEGORIES: tuple[str, ...] = ("aismn",)
"""Diagnostic categories the dermal-LMS rule is meant for: the atypical intradermal smooth
muscle neoplasm is the former 'cutaneous leiomyosarcoma' (seed 002, Terminology)."""
DLMS_RULE_CATEGORY_CITATION = Citation(SEED_002, "Terminology", "Formerly referred to as cutaneous leiomyosarcoma")
PRIOR_LMS_RISK_NOTE = (
    "Prior leiomyosarcoma: the dermal-LMS rule assumes a primary dermal tumour; exclude a "
    "metastasis first (late metastases occur decades after the primary)."
)
