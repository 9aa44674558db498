"""FHIR export: a Bundle (collection) with a ``RiskAssessment`` and a ``CarePlan``.

FHIR version: R4 content built and validated with the **R4B** models of
``fhir.resources`` 8 (``fhir.resources.R4B``): the installed package has no plain
R4 module, and its default models are R5, where ``CarePlan.activity.detail`` no
longer exists.  CarePlan and RiskAssessment did not change between R4 and R4B.
Every resource is round-tripped (build -> JSON -> parse -> compare) before it
is returned.  The subject is a display-only reference (no Patient resource: the
case file carries no identity).
"""

from __future__ import annotations

import json

from leiosurv.clinical import Assessment
from leiosurv.exceptions import ExportError
from leiosurv.interfaces.ics import case_key

__all__ = ["FHIR_VERSION", "assessment_to_fhir", "risk_assessment", "care_plan"]

FHIR_VERSION = "4.3.0"
"""R4B, the FHIR version of the models used (see the module docstring)."""


def _subject(a: Assessment) -> dict:
    return {"display": f"Patient of case {case_key(a)}"}


def risk_assessment(a: Assessment) -> dict:
    """The risk group as a FHIR R4B ``RiskAssessment`` (a JSON-ready dict)."""
    r = a.risk
    key = case_key(a)
    notes = [f"{f.label}: {f.status}" for f in r.factors]
    for f in r.factors:
        for p in f.published:
            notes.append(
                f"5-year {p.outcome.replace('_', ' ')} with {f.label.lower()}: {p.present.format()} present, "
                f"{p.absent.format()} absent ({p.present.citation})"
            )
    if r.applies:
        o = r.overall_5y
        notes.append(f"Overall 5-year risks: metastasis {o['metastasis'].format()}, local recurrence "
                     f"{o['local_recurrence'].format()}")
    notes.append(f"Mitotic grade 3 read as: {r.mitotic_definition.name}")
    notes += list(r.notes) + [f"Source: {c}" for c in r.citations]
    return {
        "resourceType": "RiskAssessment",
        "id": f"{key}-risk",
        "identifier": [{"system": "urn:leiosurv:rule", "value": r.rule_id}],
        "status": "final",
        "method": {"text": f"{r.rule_id} (mitotic definition {r.mitotic_definition.id})"},
        "code": {"text": "Dermal leiomyosarcoma risk group (seed 001 rule)"},
        "subject": _subject(a),
        "occurrenceDateTime": a.findings.excision_date.isoformat(),
        "prediction": [
            {
                "outcome": {"text": "Metastasis or local recurrence within 5 years"},
                "qualitativeRisk": {"text": r.group},
                "rationale": r.reason,
            }
        ],
        "mitigation": a.plan.basis,
        "note": [{"text": n} for n in notes if n],
    }


def care_plan(a: Assessment) -> dict:
    """The dated plan as a FHIR R4B ``CarePlan`` (a JSON-ready dict)."""
    p = a.plan
    key = case_key(a)
    acts = []
    for e in p.encounters:
        acts.append(
            {
                "detail": {
                    "kind": "Appointment",
                    "code": {"text": f"{e.kind}: {e.modality}"},
                    "reasonCode": [{"text": e.reason}],
                    "status": "scheduled",
                    "scheduledPeriod": {"start": e.window_start.isoformat(), "end": e.window_end.isoformat()},
                    "performer": [{"display": e.provider}],
                    "description": f"{e.id}: due {e.due.isoformat()}. Source: {e.citation}",
                }
            }
        )
    out = {
        "resourceType": "CarePlan",
        "id": f"{key}-plan",
        "status": "active",
        "intent": "plan",
        "title": f"Leiomyosarcoma follow-up: {p.basis}",
        "description": " ".join(p.notes) or p.basis,
        "subject": _subject(a),
        "period": {"start": p.excision_date.isoformat()},
        "addresses": [{"display": f"Risk group {a.risk.group}"}],
        "activity": acts,
        "note": [{"text": n} for n in p.notes] + [{"text": "Decision support only; it does not replace clinical judgement."}],
    }
    if not acts:  # FHIR has no empty lists: a plan without scheduled encounters omits ``activity``
        del out["activity"]
    return out


def _roundtrip(resource: dict):
    from fhir.resources.R4B import get_fhir_model_class

    cls = get_fhir_model_class(resource["resourceType"])
    try:
        obj = cls.model_validate(resource)
        again = cls.model_validate_json(obj.model_dump_json())
    except Exception as exc:  # pydantic ValidationError and fhir.resources errors alike
        raise ExportError(f"FHIR {resource['resourceType']} is not valid R4B: {exc}") from exc
    if again != obj or json.loads(again.model_dump_json()) != json.loads(obj.model_dump_json()):
        raise ExportError(f"FHIR {resource['resourceType']} does not round-trip")
    return obj


def assessment_to_fhir(a: Assessment) -> dict:
    """A FHIR R4B ``Bundle`` (type collection) with the RiskAssessment and the CarePlan.

    Each resource and the bundle are validated with ``fhir.resources.R4B`` and round-tripped.

    Examples
    --------
    >>> import datetime
    >>> from leiosurv.clinical import Findings, assess
    >>> a = assess(Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", margins="positive"))
    >>> [e["resource"]["resourceType"] for e in assessment_to_fhir(a)["entry"]]
    ['RiskAssessment', 'CarePlan']
    """
    ra, cp = risk_assessment(a), care_plan(a)
    cp["addresses"] = [{"reference": f"RiskAssessment/{ra['id']}", "display": f"Risk group {a.risk.group}"}]
    entries = []
    for res in (ra, cp):
        _roundtrip(res)
        entries.append({"fullUrl": f"urn:leiosurv:{res['resourceType']}/{res['id']}", "resource": res})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    obj = _roundtrip(bundle)
    return json.loads(obj.model_dump_json(exclude_none=True))
