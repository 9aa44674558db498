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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

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
]

Presence = Literal["present", "absent", "unknown"]
Degree = Literal["none", "mild", "moderate", "marked", "unknown"]
StainResult = Literal["positive", "focal", "negative", "not_done", "unknown"]
Depth = Literal[
    "dermal", "subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone", "unknown"
]
Region = Literal["head_neck", "trunk", "upper_extremity", "lower_extremity", "retroperitoneum", "other", "unknown"]

_CFG = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Patient(BaseModel):
    """The patient at the time of excision."""

    model_config = _CFG
    age_years: int | None = Field(None, ge=0, le=130, description="Age at excision; None if not given.")
    sex: Literal["female", "male", "other", "unknown"] = "unknown"


class Mitoses(BaseModel):
    """Mitotic activity: a count (per 10 HPF or per mm2) and/or a description.

    A count per 10 HPF with ``hpf_area_mm2`` is converted to the HPF of the
    mitotic-grade definition in use; without it the count is taken as given.
    """

    model_config = _CFG
    count: float | None = Field(None, ge=0, description="Mitotic count; None if not counted.")
    unit: Literal["per_10_hpf", "per_mm2"] = "per_10_hpf"
    hpf_area_mm2: float | None = Field(None, gt=0, le=1, description="Area of one HPF of the microscope used.")
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
    prior_leiomyosarcoma_date: _dt.date | None = None
    prior_leiomyosarcoma_depth: Depth = "unknown"
    prior_leiomyosarcoma_site: str | None = None
    prior_aismn: Presence = Field("unknown", description="Prior diagnosis of atypical intradermal smooth muscle neoplasm.")
    prior_aismn_date: _dt.date | None = None

    @model_validator(mode="after")
    def _dates_need_history(self) -> History:
        if self.prior_leiomyosarcoma_date is not None and self.prior_leiomyosarcoma == "absent":
            raise ValueError("prior_leiomyosarcoma_date given but prior_leiomyosarcoma is 'absent'")
        if self.prior_aismn_date is not None and self.prior_aismn == "absent":
            raise ValueError("prior_aismn_date given but prior_aismn is 'absent'")
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
    excision_date: _dt.date = Field(description="Date of the excision (or biopsy) of the presenting lesion.")
    site: str | None = Field(None, max_length=200, description="Anatomical site in words.")
    site_region: Region = "unknown"
    depth: Depth = Field("unknown", description="Depth of origin of the presenting lesion.")
    size_mm: float | None = Field(None, gt=0)
    subcutis_involvement: Literal["none", "focal", "extensive", "unknown"] = "unknown"
    subcutis_involvement_mm: float | None = Field(None, ge=0)
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
    margin_distance_mm: float | None = Field(None, ge=0)
    prominent_inflammatory_infiltrate: Presence = "unknown"
    solar_elastosis: Presence = "unknown"
    near_haploidization: Presence = Field("unknown", description="Molecular finding (seed 003).")
    fnclcc_grade: Literal["G1", "G2", "G3", "unknown"] = Field("unknown", description="Reported FNCLCC histological grade.")
    immunohistochemistry: Immunohistochemistry = Immunohistochemistry()
    history: History = History()
    distant_lesion: Presence = Field(
        "unknown", description="The lesion lies at a site distant from a prior tumour (a possible metastasis)."
    )

    @field_validator("excision_date")
    @classmethod
    def _not_in_future(cls, v: _dt.date, info: ValidationInfo) -> _dt.date:
        today = (info.context or {}).get("today") or _dt.date.today()
        if v > today:
            raise ValueError(f"excision date {v.isoformat()} is in the future (today is {today.isoformat()})")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Findings:
        if self.margin_distance_mm is not None and self.margins == "positive" and self.margin_distance_mm > 0:
            raise ValueError("margin_distance_mm > 0 contradicts positive margins")
        h = self.history
        for name in ("prior_leiomyosarcoma_date", "prior_aismn_date"):
            d = getattr(h, name)
            if d is not None and d > self.excision_date:
                raise ValueError(f"history.{name} {d.isoformat()} is after the excision date")
        return self


def _issue(err: dict) -> FieldIssue:
    path = ".".join(str(p) for p in err.get("loc", ())) or "(findings)"
    msg = err.get("msg", "invalid")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err.get("type") == "extra_forbidden":
        msg = "unknown field"
    if "input" in err and err.get("type") not in {"missing"} and not isinstance(err["input"], dict):
        return FieldIssue(path, msg, err["input"])
    return FieldIssue(path, msg)


def parse_findings(data: dict | str | bytes, *, source: str | None = None, today: _dt.date | None = None) -> Findings:
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
            raise FindingsError([FieldIssue("(findings)", "must be a mapping of fields", type(data).__name__)], source=source)
        return Findings.model_validate(data, context=ctx)
    except ValidationError as exc:
        raise FindingsError([_issue(e) for e in exc.errors()], source=source) from None
