"""The findings model: what the pathologist and clinician report about one lesion.

Every field that may not have been reported defaults to ``"unknown"`` (or
``None`` for a number that was not given).  ``"unknown"`` is never read as
negative; ``"not_done"`` (a stain that was not performed) is kept apart from
``"unknown"`` (not reported).  The model round-trips JSON losslessly::

    Findings.model_validate_json(f.model_dump_json()) == f

Validation happens once, here, at the boundary: :func:`parse_findings` turns any
validation failure into one :class:`~leiosurv.exceptions.FindingsError` that names
every field path and value.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leiosurv.clinical import evidence
from leiosurv.exceptions import FieldIssue, FindingsError

__all__ = [
    "Presence",
    "Degree",
    "StainResult",
    "Depth",
    "Findings",
    "Patient",
    "Mitoses",
    "Immunohistochemistry",
    "History",
    "parse_findings",
    "impossible_combinations",
    "consistency_warnings",
    "EARLIEST_DATE",
]

Presence = Literal["present", "absent", "unknown"]
Degree = Literal["none", "mild", "moderate", "marked", "unknown"]
StainResult = Literal["positive", "focal", "negative", "not_done", "unknown"]
Depth = Literal[
    "dermal", "subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone", "unknown"
]
BoneSite = Literal[
    "upper_limb_long", "upper_limb_short", "lower_limb_long", "lower_limb_short", "skull_face", "mandible",
    "vertebral_column", "rib_sternum_clavicle", "pelvis_sacrum_coccyx", "unknown",
]
Region = Literal["head_neck", "trunk", "upper_extremity", "lower_extremity", "retroperitoneum", "other", "unknown"]

_CFG = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

EARLIEST_DATE = _dt.date(1900, 1, 1)
"""Dates before this are refused as implausible (a typo, or a number read as a date)."""


def _strict_date(v: Any) -> Any:
    """Accept a date or an ISO ``YYYY-MM-DD`` text only (no numbers, no datetimes), from 1900 on."""
    if isinstance(v, _dt.datetime) or isinstance(v, (bool, int, float)):
        raise ValueError("must be a date written YYYY-MM-DD")
    if isinstance(v, str):
        if len(v) != 10 or v[4] != "-" or v[7] != "-":
            raise ValueError("must be a date written YYYY-MM-DD")
        try:
            v = _dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError("is not a valid calendar date") from None
    if isinstance(v, _dt.date) and v < EARLIEST_DATE:
        raise ValueError(f"is before {EARLIEST_DATE.isoformat()}: not a plausible date")
    return v


def _no_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(v, str):
        raise ValueError("must be a number, not text")
    return v


Date = Annotated[_dt.date, BeforeValidator(_strict_date)]
Number = Annotated[float, BeforeValidator(_no_bool)]
Whole = Annotated[int, BeforeValidator(_no_bool)]


class Patient(BaseModel):
    """The patient at the time of excision."""

    model_config = _CFG
    age_years: Whole | None = Field(None, ge=0, le=130, description="Age at excision; None if not given.")
    sex: Literal["female", "male", "other", "unknown"] = "unknown"


class Mitoses(BaseModel):
    """Mitotic activity: a count (per 10 HPF or per mm2) and/or a description.

    A count per 10 HPF with ``hpf_area_mm2`` is converted to the HPF of the
    mitotic-grade definition in use; without it the count is taken as given.
    """

    model_config = _CFG
    count: Number | None = Field(None, ge=0, le=1000, description="Mitotic count; None if not counted.")
    unit: Literal["per_10_hpf", "per_mm2"] = "per_10_hpf"
    hpf_area_mm2: Number | None = Field(None, gt=0, le=1, description="Area of one HPF of the microscope used.")
    description: Literal["unknown", "scant", "increased", "brisk"] = Field(
        "unknown", description="The report's words when no count is given ('numerous', 'abundant' = brisk)."
    )

    def per_10_hpf(self, hpf_area_mm2: float) -> float | None:
        """The count per 10 HPF of area *hpf_area_mm2* (None if not counted)."""
        if self.count is None:
            return None
        if self.unit == "per_mm2":
            return self.count * 10 * hpf_area_mm2
        if self.hpf_area_mm2 is not None:
            return self.count / self.hpf_area_mm2 * hpf_area_mm2
        return self.count

    @model_validator(mode="after")
    def _area_only_with_hpf(self) -> Mitoses:
        if self.hpf_area_mm2 is not None and self.unit != "per_10_hpf":
            raise ValueError("hpf_area_mm2 is only meaningful for a count per 10 HPF")
        return self


class Immunohistochemistry(BaseModel):
    """The stain panel; each stain positive, focal, negative, not_done or unknown (not reported)."""

    model_config = _CFG
    sma: StainResult = "unknown"
    desmin: StainResult = "unknown"
    h_caldesmon: StainResult = "unknown"
    msa: StainResult = "unknown"
    fxiiia: StainResult = "unknown"
    s100: StainResult = "unknown"
    sox10: StainResult = "unknown"
    melan_a: StainResult = "unknown"
    hmb45: StainResult = "unknown"
    p40: StainResult = "unknown"
    ck903: StainResult = "unknown"
    ae1_ae3: StainResult = "unknown"
    cd34: StainResult = "unknown"
    erg: StainResult = "unknown"
    cd10: StainResult = "unknown"
    cd68: StainResult = "unknown"
    cd163: StainResult = "unknown"
    myod1: StainResult = "unknown"
    myogenin: StainResult = "unknown"
    alk: StainResult = "unknown"


assert set(Immunohistochemistry.model_fields) == set(evidence.STAIN_NAMES), "stain panel out of sync with evidence"


class History(BaseModel):
    """Earlier tumours of the patient."""

    model_config = _CFG
    prior_leiomyosarcoma: Presence = "unknown"
    prior_leiomyosarcoma_date: Date | None = None
    prior_leiomyosarcoma_depth: Depth = "unknown"
    prior_leiomyosarcoma_site: str | None = None
    prior_aismn: Presence = Field(
        "unknown", description="Prior diagnosis of atypical intradermal smooth muscle neoplasm.")
    prior_aismn_date: Date | None = None

    @model_validator(mode="after")
    def _details_need_history(self) -> History:
        if self.prior_leiomyosarcoma == "absent":
            for name in ("prior_leiomyosarcoma_date", "prior_leiomyosarcoma_depth", "prior_leiomyosarcoma_site"):
                if getattr(self, name) not in (None, "unknown"):
                    raise ValueError(_check_text("cons.prior-lms-details", field=name))
        if self.prior_aismn_date is not None and self.prior_aismn == "absent":
            raise ValueError(_check_text("cons.prior-aismn-details"))
        return self


class Findings(BaseModel):
    """Findings of one excised (or biopsied) lesion, with the patient's history.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 3, 1), depth="dermal", necrosis="absent")
    >>> f.necrosis, f.perineural_invasion
    ('absent', 'unknown')
    >>> Findings.model_validate_json(f.model_dump_json()) == f
    True
    """

    model_config = _CFG
    case_id: str | None = Field(None, max_length=200, description="Identifier used for stable export ids.")
    patient: Patient = Patient()
    excision_date: Date = Field(description="Date of the excision (or biopsy) of the presenting lesion.")
    site: str | None = Field(None, max_length=200, description="Anatomical site in words.")
    site_region: Region = "unknown"
    depth: Depth = Field("unknown", description="Depth of origin of the presenting lesion.")
    bone_site: BoneSite = Field(
        "unknown", description="For a primary of bone: the bone (ICD-10 C40-C41 by site; limb long/short bones).")
    size_mm: Number | None = Field(None, gt=0, le=2000)
    subcutis_involvement: Literal["none", "focal", "extensive", "unknown"] = "unknown"
    subcutis_involvement_mm: Number | None = Field(None, ge=0, le=2000)
    growth_pattern: Literal["infiltrative", "circumscribed", "unknown"] = "unknown"
    smooth_muscle_morphology: Presence = Field(
        "unknown", description="Fascicles of eosinophilic spindle cells with cigar shaped / blunt ended nuclei."
    )
    atypia: Degree = "unknown"
    pleomorphism: Degree = "unknown"
    mitoses: Mitoses = Mitoses()
    necrosis: Presence = "unknown"
    perineural_invasion: Presence = "unknown"
    intravascular_invasion: Presence = "unknown"
    margins: Literal["negative", "positive", "unknown"] = "unknown"
    margin_distance_mm: Number | None = Field(None, ge=0, le=2000)
    prominent_inflammatory_infiltrate: Presence = "unknown"
    solar_elastosis: Presence = "unknown"
    near_haploidization: Presence = Field("unknown", description="Molecular finding (seed 003).")
    fnclcc_grade: Literal["G1", "G2", "G3", "unknown"] = Field(
        "unknown", description="Reported FNCLCC histological grade.")
    immunohistochemistry: Immunohistochemistry = Immunohistochemistry()
    history: History = History()
    distant_lesion: Presence = Field(
        "unknown", description="The lesion lies at a site distant from a prior tumour (a possible metastasis)."
    )
    metastasis_workup: Literal["unknown", "excluded", "confirmed"] = Field(
        "unknown", description="With a prior leiomyosarcoma: the result of the work-up for metastasis of this lesion."
    )
    confirmed_diagnosis: str | None = Field(
        None, max_length=60,
        description="The pathologist's diagnosis (a category id, e.g. 'aismn'); when set, risk and plan follow it.",
    )

    @field_validator("confirmed_diagnosis")
    @classmethod
    def _known_category(cls, v: str | None) -> str | None:
        if v is not None and v not in evidence.CATEGORIES:
            known = ", ".join(evidence.CATEGORIES)
            raise ValueError(f"unknown diagnosis category (known: {known})")
        return v

    @field_validator("excision_date")
    @classmethod
    def _not_in_future(cls, v: _dt.date, info: ValidationInfo) -> _dt.date:
        today = (info.context or {}).get("today") or _dt.date.today()
        if v > today:
            raise ValueError(f"excision date {v.isoformat()} is in the future (today is {today.isoformat()})")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Findings:
        for check_id in impossible_combinations(self):
            raise ValueError(_check_text(check_id, **_values(self)))
        h = self.history
        for name in ("prior_leiomyosarcoma_date", "prior_aismn_date"):
            d = getattr(h, name)
            if d is not None and d > self.excision_date:
                raise ValueError(f"history.{name} {d.isoformat()} is after the excision date")
            if d is not None and self.patient.age_years is not None:
                born_by = self.excision_date.year - self.patient.age_years - 1
                if d.year < born_by:
                    raise ValueError(f"history.{name} {d.isoformat()} is before the patient's birth "
                                     f"(aged {self.patient.age_years} at excision)")
        return self


def _values(f: Findings) -> dict[str, Any]:
    return {"pleomorphism": f.pleomorphism, "subcutis_involvement_mm": f.subcutis_involvement_mm,
            "margin_distance_mm": f.margin_distance_mm, "depth": f.depth, "bone_site": f.bone_site}


def _check_text(check_id: str, **values: Any) -> str:
    c = evidence.CONSISTENCY_CHECKS[check_id]
    return f"{c.text.format_map(_Default(values))} [{c.id}; {c.citation.short()}]"


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _mitotic_score_3(f: Findings) -> bool:
    d = evidence.MITOTIC_DEFINITIONS["fnclcc"]
    n = f.mitoses.per_10_hpf(d.hpf_area_mm2)
    return n is not None and d.score(n) >= 3


def impossible_combinations(f: Findings) -> list[str]:
    """Ids of the consistency checks (level ``error``) that *f* fails; see ``consistency.yaml``."""
    out = []
    if f.atypia == "none" and f.pleomorphism in ("mild", "moderate", "marked"):
        out.append("cons.atypia-pleomorphism")
    if f.subcutis_involvement == "none" and (f.subcutis_involvement_mm or 0) > 0:
        out.append("cons.subcutis-none-mm")
    if f.margins == "negative" and f.margin_distance_mm == 0:
        out.append("cons.negative-margin-zero")
    if f.margins == "positive" and (f.margin_distance_mm or 0) > 0:
        out.append("cons.positive-margin-distance")
    if f.fnclcc_grade == "G1" and _mitotic_score_3(f):
        out.append("cons.grade1-mitoses")
    return out


def consistency_warnings(f: Findings) -> list[tuple[str, str]]:
    """Unlikely combinations in *f*: ``(check id, message)`` for each warning-level check that fires."""
    h = f.history
    hits = []
    if f.metastasis_workup != "unknown" and h.prior_leiomyosarcoma != "present":
        hits.append("cons.workup-without-history")
    if f.distant_lesion == "present" and h.prior_leiomyosarcoma == "absent" and h.prior_aismn == "absent":
        hits.append("cons.distant-without-history")
    if f.subcutis_involvement == "focal" and (f.subcutis_involvement_mm or 0) > 4:
        hits.append("cons.focal-subcutis-mm")
    if f.depth == "dermal" and f.subcutis_involvement == "extensive":
        hits.append("cons.dermal-extensive-subcutis")
    if f.confirmed_diagnosis == "aismn" and f.depth not in ("dermal", "unknown"):
        hits.append("cons.confirmed-deep-aismn")
    if f.bone_site != "unknown" and f.depth != "bone":
        hits.append("cons.bone-site-not-bone")
    return [(i, _check_text(i, **_values(f))) for i in hits]


def _issue(err: Any) -> FieldIssue:
    from leiosurv.files import short

    path = ".".join(str(p) for p in err.get("loc", ())) or "(findings)"
    msg = err.get("msg", "invalid")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err.get("type") == "extra_forbidden":
        msg = "unknown field"
    if "input" in err and err.get("type") not in {"missing"} and not isinstance(err["input"], (dict, list)):
        v = err["input"]
        return FieldIssue(short(path), short(msg), short(v) if isinstance(v, str) else v)
    return FieldIssue(short(path), short(msg))


def parse_findings(data: dict[str, Any] | str | bytes, *, source: str | None = None,
                   today: _dt.date | None = None) -> Findings:
    """Validate findings from a mapping or a JSON string.

    Parameters
    ----------
    data : dict or str or bytes
        The findings (a parsed case file, or JSON text).
    source : str, optional
        Where the data came from (a file name), shown in the error message.
    today : datetime.date, optional
        The date against which "in the future" is checked; default today.

    Returns
    -------
    Findings
        The validated, frozen findings.

    Raises
    ------
    FindingsError
        Listing every problem with its field path and value.

    Examples
    --------
    >>> parse_findings({"excision_date": "2024-03-01", "depth": "dermal"}).depth
    'dermal'
    >>> parse_findings({"excision_date": "2024-03-01", "necrosis": "maybe"})
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.FindingsError: necrosis: Input should be 'present', 'absent' or 'unknown' (got 'maybe')
    """
    ctx = {"today": today} if today else None
    try:
        if isinstance(data, (str, bytes)):
            return Findings.model_validate_json(data, context=ctx)
        if not isinstance(data, dict):
            issue = FieldIssue("(findings)", "must be a mapping of fields", type(data).__name__)
            raise FindingsError([issue], source=source)
        return Findings.model_validate(data, context=ctx)
    except ValidationError as exc:
        raise FindingsError([_issue(e) for e in exc.errors()], source=source) from None
