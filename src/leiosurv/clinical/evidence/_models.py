"""Pydantic models that validate the evidence data files at import.

Each model is frozen; a citation always points to a source registered in
``sources.yaml`` (checked by :func:`leiosurv.clinical.evidence` at load).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Source",
    "Citation",
    "PublishedRisk",
    "FactorRisk",
    "MitoticDefinition",
    "Category",
    "Criterion",
    "Essential",
    "WarningRule",
    "EncounterSpec",
    "GuidelinePhase",
    "GuidelineGrade",
    "Recommendation",
    "ConsistencyCheck",
    "KeyStains",
    "Gate",
    "LowRequirement",
    "Decision",
    "Pathway",
]

_CFG = ConfigDict(extra="forbid", frozen=True)

Pathway = Literal["dermal_lms", "soft_tissue_sarcoma", "metastatic", "other"]


class Source(BaseModel):
    """A document the project's clinical knowledge comes from."""

    model_config = _CFG
    id: str
    title: str
    reference: str
    file: str | None = None

    def __str__(self) -> str:
        return self.reference


class Citation(BaseModel):
    """A place in a source: the section, and a short quote when helpful."""

    model_config = _CFG
    source: Source
    section: str
    quote: str | None = None

    def __str__(self) -> str:
        where = f"{self.source.file}, " if self.source.file else ""
        return f"{self.source.reference} [{where}{self.section}]"

    def short(self) -> str:
        """Compact form for listings: ``seed-002, Diagnosis``."""
        return f"{self.source.id}, {self.section}"

    def to_dict(self) -> dict[str, str | None]:
        return {"source_id": self.source.id, "reference": self.source.reference, "file": self.source.file,
                "section": self.section, "quote": self.quote}


def _pct(text: str | None) -> float | None:
    return None if text is None else float(Decimal(text) / 100)


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


class PublishedRisk(BaseModel):
    """A published 5-year absolute risk (or risk difference) with its 95 % CI, as printed.

    ``estimate``, ``lower`` and ``upper`` are fractions; ``printed`` keeps the
    percent text of the source, so the rounding it allows is known
    (:meth:`rounding_interval`).  ``lower``/``upper`` are ``None`` where the
    source gives no interval.
    """

    model_config = _CFG
    estimate: float
    lower: float | None
    upper: float | None
    citation: Citation
    printed: dict[str, str] = Field(default_factory=dict, description="Percent text as printed: estimate/lower/upper.")

    @classmethod
    def from_printed(cls, data: dict[str, str], citation: Citation) -> PublishedRisk:
        for k, v in data.items():
            if k not in ("estimate", "lower", "upper"):
                raise ValueError(f"unknown key {k!r} in a published figure")
            try:
                Decimal(v)  # must be a number as printed
            except (ArithmeticError, TypeError):
                raise ValueError(f"published figure {k}={v!r} is not a number") from None
        estimate = _pct(data["estimate"])
        assert estimate is not None
        return cls(estimate=estimate, lower=_pct(data.get("lower")), upper=_pct(data.get("upper")),
                   citation=citation, printed=dict(data))

    def contains(self, value: float) -> bool:
        if self.lower is None or self.upper is None:
            raise ValueError("this published figure has no confidence interval")
        return self.lower <= value <= self.upper

    def rounding_interval(self, which: str = "estimate") -> tuple[float, float]:
        """The half-open interval [lo, hi) of fractions that print as the published text.

        >>> from leiosurv.clinical import evidence
        >>> evidence.DLMS_FACTOR_RISKS[("positive_margins", "local_recurrence")].difference.rounding_interval()
        (0.175, 0.185)
        """
        text = self.printed.get(which)
        if text is None:
            raise ValueError(f"no printed {which} for this figure")
        half = Decimal(1).scaleb(-_decimals(text)) / 2
        v = Decimal(text)
        return float((v - half) / 100), float((v + half) / 100)

    def format(self, digits: int | None = None) -> str:
        """The figure as the source prints it (``printed``), e.g. ``23% (95% CI -20 to 65)``.

        With *digits*, or for a figure without printed text, the fractions are formatted with that many
        decimals (default 1) instead.
        """
        def pct(which: str, value: float) -> str:
            text = self.printed.get(which)
            if digits is None and text is not None:
                return text
            return f"{100 * value:.{1 if digits is None else digits}f}"

        out = f"{pct('estimate', self.estimate)}%"
        if self.lower is None or self.upper is None:
            return out
        return f"{out} (95% CI {pct('lower', self.lower)} to {pct('upper', self.upper)})"


class FactorRisk(BaseModel):
    """5-year risk with the factor present and absent, and their difference (seed 001)."""

    model_config = _CFG
    factor: str
    outcome: str
    present: PublishedRisk
    absent: PublishedRisk
    difference: PublishedRisk


class MitoticDefinition(BaseModel):
    """How a mitotic count becomes a score, and which score counts as 'grade 3'.

    ``bands`` lists ``(score, lowest count per 10 HPF)``; a count gets the highest
    score whose lower bound it reaches (``inclusive``) or exceeds (not inclusive).
    """

    model_config = _CFG
    id: str
    name: str
    hpf_area_mm2: float = Field(gt=0, le=1)
    bands: tuple[tuple[int, float], ...]
    grade_3_score: int
    inclusive: bool
    score_name: str | None = Field(None, description="Name of the score (printed with it); None: the definition "
                                                     "has no score of its own, only 'grade 3' or not.")
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

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "hpf_area_mm2": self.hpf_area_mm2, "text": self.text,
                "citations": [c.to_dict() for c in self.citations]}


class Category(BaseModel):
    """A diagnostic category with its pathway, tie-break severity and the codes its source gives."""

    model_config = _CFG
    id: str
    name: str
    pathway: Pathway
    severity: int = Field(ge=0, le=9)
    icd_o: str | None
    icd_10: str | None
    icd_11: str | None
    codes_citation: Citation | None = None
    codes_note: str | None = None

    @property
    def note(self) -> str | None:
        return self.codes_note


class Criterion(BaseModel):
    """A finding value that speaks for (weight > 0) or against (< 0) a category; unknown never matches."""

    model_config = _CFG
    id: str
    category: str
    feature: str
    values: frozenset[str]
    weight: int

    text: str
    citation: Citation

    @field_validator("weight")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("a criterion's weight must not be 0")
        return v


class Essential(BaseModel):
    """An essential criterion: a value in ``contradicted_by`` means the category cannot lead."""

    model_config = _CFG
    id: str
    category: str
    feature: str
    contradicted_by: frozenset[str]
    text: str
    citation: Citation


class WarningRule(BaseModel):
    """A warning of the diagnosis support, with its stable id and source."""

    model_config = _CFG
    id: str
    text: str
    citation: Citation


class EncounterSpec(BaseModel):
    """What an encounter of a schedule is, who provides it, why, and the source."""

    model_config = _CFG
    kind: str
    provider: str
    modality: str
    reason: str
    citation: Citation


class GuidelinePhase(BaseModel):
    """Visits every ``interval_months`` until ``until_month`` (None: to the end of the plan)."""

    model_config = _CFG
    interval_months: int = Field(gt=0)
    until_month: int | None


class GuidelineGrade(BaseModel):
    """A guideline schedule for one grade."""

    model_config = _CFG
    text: str
    phases: tuple[GuidelinePhase, ...]
    citation: Citation


class Recommendation(BaseModel):
    """An action the plan recommends before the schedule (e.g. re-excision), with its sources."""

    model_config = _CFG
    id: str
    text: str
    citations: tuple[Citation, ...]


class ConsistencyCheck(BaseModel):
    """A consistency check of a case file: an impossible (error) or unlikely (warning) combination."""

    model_config = _CFG
    id: str
    level: Literal["error", "warning"]
    fields: tuple[str, ...]
    text: str
    citation: Citation


class KeyStains(BaseModel):
    """A group of stains without which a differential cannot be excluded."""

    model_config = _CFG
    label: str
    stains: tuple[str, ...]
    citation: Citation


class Gate(BaseModel):
    """A discriminating stain of a mimic: positive, it keeps the ``blocks`` categories from deciding unconfirmed.

    ``stains`` are the stains of the gate's finding; those not reported are advised (with ``advice``) to settle it.
    """

    model_config = _CFG
    id: str
    feature: str
    values: frozenset[str]
    mimic: str
    blocks: tuple[str, ...]
    finding: str
    stains: tuple[str, ...]
    advice: str
    citation: Citation


class LowRequirement(BaseModel):
    """What must be recorded (``field`` equal to ``value``) before the dermal-LMS rule may give 'low'."""

    model_config = _CFG
    field: str
    value: str
    label: str
    citation: Citation


class Decision(BaseModel):
    """A debatable case the sources leave open, decided by the project, with its reasoning and sources."""

    model_config = _CFG
    id: str
    case: str
    decision: str
    reasoning: str
    citations: tuple[Citation, ...]
