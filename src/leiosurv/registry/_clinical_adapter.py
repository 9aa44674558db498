"""Every call from the registry into the clinical core, in one place.

``assess`` returns a frozen pydantic model (``model_dump(mode="json")`` is what
is stored) whose provenance carries the rule-set version and SHA-256.  Only this
module knows the core's shape; the registry stores and uses
:class:`StoredAssessment` and :class:`PlanItem`.

Re-planning goes through the core as well: a re-excision re-assesses the same
findings with the re-excision as the plan's start; a metastasis re-assesses them
with ``metastatic_disease=True``, which gives the metastatic pathway (no schedule
from the sources; the sarcoma team decides).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any

from leiosurv.clinical import Findings, assess, mitotic_score, parse_findings
from leiosurv.clinical.surveillance import encounter_window

__all__ = ["PlanItem", "StoredAssessment", "run_assessment", "validate_findings", "is_metastatic_pathway",
           "pathway_of_basis", "live_assessment", "plan_window_days", "item_window"]


@dataclass(frozen=True)
class PlanItem:
    """One planned encounter of a stored plan."""

    id: str
    due: _dt.date
    window_start: _dt.date
    window_end: _dt.date
    kind: str
    provider: str
    modality: str
    reason: str

    @property
    def modality_class(self) -> str:
        """``imaging`` for an imaging item, else ``clinical``."""
        return "imaging" if self.kind == "imaging" else "clinical"


@dataclass(frozen=True)
class StoredAssessment:
    """What the registry keeps of one assessment.

    Attributes
    ----------
    result_json : str
        The whole assessment as compact JSON text (diagnosis, warnings, risk, plan, input,
        provenance), written by pydantic; ``result`` is it parsed.
    ruleset_version, ruleset_hash : str
        Which rule set produced it.
    risk_group, top_diagnosis, plan_basis : str
        For listings without parsing ``result``.
    plan_start : datetime.date
        The date the plan counts from (excision, or re-excision after a local recurrence).
    plan : tuple of PlanItem
        The dated encounters.
    imaging_interval_days : int or None
        The longest interval without imaging the plan allows (longest spacing of
        its imaging items plus both windows); ``None`` if the plan has no imaging.
    imaging_until : datetime.date or None
        The end of the window of the plan's last imaging item.
    findings : dict
        The validated findings as JSON.
    factors : dict
        The cohort study's candidate factors (``necrosis``, ``mitotic_grade``,
        ``invasion``, ``margins``), ``None`` where unknown.
    """

    result_json: str
    ruleset_version: str
    ruleset_hash: str
    risk_group: str
    top_diagnosis: str
    plan_basis: str
    plan_start: _dt.date
    plan: tuple[PlanItem, ...]
    imaging_interval_days: int | None
    imaging_until: _dt.date | None
    findings: dict
    factors: dict

    @property
    def result(self) -> dict:
        """:attr:`result_json` parsed."""
        out: dict = json.loads(self.result_json)
        return out


def _ruleset(a: Any) -> tuple[str, str]:
    return a.provenance.ruleset_version, a.provenance.ruleset_sha256


def _factors(f: Any) -> dict:
    def presence(v: str) -> int | None:
        return {"present": 1, "absent": 0}.get(v)

    inv = (f.perineural_invasion, f.intravascular_invasion)
    invasion = 1 if "present" in inv else 0 if inv == ("absent", "absent") else None
    return {
        "necrosis": presence(f.necrosis),
        "mitotic_grade": mitotic_score(f),
        "invasion": invasion,
        "margins": f.margins if f.margins in ("positive", "negative") else None,
    }


def live_assessment(result: dict):
    """Rebuild the clinical core's assessment object from a stored result (for the core's exporters).

    The stored ``input`` is re-assessed with the stored mitotic definition; if the
    plan differs from the stored one, the rule set has changed since, and the
    stored result cannot be exported through the core.

    Raises
    ------
    RegistryError
        The current rule set gives another plan than the stored one.
    """
    from leiosurv.exceptions import RegistryError

    inp = result["findings"]
    params = result["provenance"]["parameters"]
    f = parse_findings(inp, today=_dt.date.fromisoformat(inp["excision_date"]))
    a = assess(f, mitotic_definition=params.get("mitotic_definition"),
               as_of=_dt.date.fromisoformat(params["as_of"]),
               metastatic_disease=params.get("metastatic_disease") == "true")
    if a.provenance.ruleset_sha256 != result["provenance"]["ruleset_sha256"] or \
            a.to_dict()["plan"] != result["plan"] or a.risk.group != result["risk"]["group"]:
        raise RegistryError("the stored assessment was made by another rule set; re-assess the tumour first")
    return a


def plan_window_days(result_json: str | dict) -> int:
    """The half-width in days of the windows of a stored assessment's plan (the core's ``window_days``
    parameter, from the evidence package's defaults when the plan was made)."""
    result = json.loads(result_json) if isinstance(result_json, str) else result_json
    return int(result["plan"]["parameters"]["window_days"])


def item_window(due: _dt.date, window_days: int) -> tuple[_dt.date, _dt.date]:
    """The window of a plan item due on *due*, made as the core makes its plan's windows."""
    return encounter_window(due, window_days)


# the core's plan basis texts (``clinical.surveillance``) by pathway: the start of the text names the pathway
_BASIS_PATHWAYS = (
    ("dermal leiomyosarcoma", "dermal_lms"),
    ("soft-tissue sarcoma guideline", "soft_tissue_sarcoma"),
    ("interim soft-tissue sarcoma guideline", "undetermined"),
    ("metastatic leiomyosarcoma", "metastatic"),
    ("metastasis to be excluded first", "exclude_metastasis"),
    ("not a leiomyosarcoma pathway", "other"),
    ("undetermined", "undetermined"),
)


def pathway_of_basis(plan_basis: str) -> str:
    """The core's pathway (``dermal_lms``, ``soft_tissue_sarcoma``, ``metastatic``, ``exclude_metastasis``,
    ``other``, ``undetermined``) of a stored plan basis; a test checks it against the core's own decision."""
    for prefix, pathway in _BASIS_PATHWAYS:
        if plan_basis.startswith(prefix):
            return pathway
    raise ValueError(f"plan basis {plan_basis[:60]!r}: not one the clinical core writes")


def is_metastatic_pathway(plan_basis: str) -> bool:
    """Whether a stored plan basis is the core's metastatic pathway (no schedule; the sarcoma team decides)."""
    return plan_basis == "metastatic leiomyosarcoma"


def validate_findings(findings: dict, *, as_of: _dt.date, source: str | None = None) -> dict:
    """Validate *findings* with the clinical core; return them as normalised JSON.

    Raises
    ------
    FindingsError
        Naming every field and value at fault.
    """
    return parse_findings(findings, source=source, today=as_of).model_dump(mode="json")


def run_assessment(findings: dict | Findings, *, as_of: _dt.date, plan_start: _dt.date | None = None,
                   metastatic: bool = False, mitotic_definition: str | None = None,
                   confirmed_diagnosis: str | None = None) -> StoredAssessment:
    """Assess *findings* and date its plan.

    Parameters
    ----------
    findings : dict or Findings
        Findings as in a case file (``excision_date`` is the diagnosis date), or the core's parsed
        ``Findings`` (used as they are unless *plan_start* or *confirmed_diagnosis* changes them).
    as_of : datetime.date
        The day of the assessment (nothing may lie after it).
    plan_start : datetime.date, optional
        Re-plan from this date (a re-excision) instead of the excision date.
    metastatic : bool, default False
        The patient has metastatic disease: the metastatic pathway applies.
    mitotic_definition : str, optional
        Passed to the core (``"fnclcc"`` default, or ``"danish-3b"``).
    confirmed_diagnosis : str, optional
        The pathologist's diagnosis as a category id (``leiosurv schema`` lists them); it is part
        of the findings, and the pathway follows it.

    Raises
    ------
    FindingsError
        The findings are invalid (every field named).
    """
    if isinstance(findings, Findings) and confirmed_diagnosis is None and plan_start is None:
        f = findings  # parsed once, by the caller
        base: dict = {}
    else:
        base = findings.model_dump(mode="json") if isinstance(findings, Findings) else dict(findings)
        if confirmed_diagnosis is not None:
            base["confirmed_diagnosis"] = confirmed_diagnosis
        data = dict(base)
        if plan_start is not None:
            data["excision_date"] = plan_start.isoformat()
        f = parse_findings(data, today=as_of)
    a = assess(f, mitotic_definition=mitotic_definition, as_of=as_of, metastatic_disease=metastatic)
    # pydantic writes the JSON text itself: ~3x faster than to_dict() + json.dumps, and the same text
    result_json = a.model_dump_json(warnings=False)
    version, digest = _ruleset(a)
    items = tuple(PlanItem(e.id, e.due, e.window_start, e.window_end, e.kind, e.provider, e.modality, e.reason)
                  for e in a.plan.encounters)
    imaging = [i for i in items if i.modality_class == "imaging"]
    interval = until = None
    if imaging:
        window = int(a.plan.parameters.get("window_days", 0))
        dues = [a.plan.excision_date] + [i.due for i in imaging]
        interval = max((b - c).days for b, c in zip(dues[1:], dues[:-1])) + 2 * window
        until = imaging[-1].window_end
    return StoredAssessment(
        result_json=result_json, ruleset_version=version, ruleset_hash=digest, risk_group=a.risk.group,
        top_diagnosis=a.diagnosis.top.category.name, plan_basis=a.plan.basis, plan_start=a.plan.excision_date,
        plan=items, imaging_interval_days=interval, imaging_until=until,
        findings=parse_findings(base, today=as_of).model_dump(mode="json") if plan_start
        else f.model_dump(mode="json"),
        factors=_factors(f),
    )
