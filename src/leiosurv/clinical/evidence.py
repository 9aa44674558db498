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
