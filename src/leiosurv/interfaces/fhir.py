"""FHIR export: a Bundle (collection) with a coded ``Condition``, a ``RiskAssessment`` and a ``CarePlan``.

FHIR version: R4 content built and validated with the **R4B** models of
``fhir.resources`` 8 (``fhir.resources.R4B``): the installed package has no plain
R4 module, and its default models are R5, where ``CarePlan.activity.detail`` no
longer exists.  Every resource is round-tripped (build -> JSON -> parse ->
compare) before it is returned.

* ``Condition``: the diagnosis the plan follows (confirmed, or the leading
  candidate with verificationStatus ``provisional``), coded with ICD-O-3
  morphology, ICD-10 and ICD-11 where the sources give codes (a note says which
  system has no code known); its notes carry the diagnosis warnings (the confirmed
  diagnosis checked, the mimics' stains); ``CarePlan.addresses`` and
  ``RiskAssessment.condition``/``basis`` reference it by its entry's ``fullUrl``
  (``urn:uuid:``, stable per case), so the references resolve inside the Bundle.
* ``RiskAssessment``: status ``final`` only for a known group (high, low, not
  applicable) on a confirmed Condition, else ``preliminary``; the first
  ``prediction`` is the group (``qualitativeRisk`` coded: HL7 risk-probability for
  high/low, the leiosurv risk-group code system for every group); where the rule
  applies, one ``prediction`` per published 5-year risk matching a known factor
  status (seed 001), with ``probabilityDecimal``, the outcome coded and
  ``whenRange`` of 5 years.
* ``subject``: a reference ``Patient/<id>`` when a patient id is given, else a display.
* ``CarePlan``: activity status from the plan's as-of status (past -> unknown,
  due/upcoming -> scheduled); a plan wholly in the past is ``completed``.
"""

from __future__ import annotations

import json
import uuid

from leiosurv.clinical import Assessment, evidence
from leiosurv.exceptions import ExportError
from leiosurv.interfaces.ics import case_key

__all__ = ["FHIR_VERSION", "assessment_to_fhir", "condition", "risk_assessment", "care_plan", "full_url"]

FHIR_VERSION = "4.3.0"
"""R4B, the FHIR version of the models used (see the module docstring)."""

ICD_O_3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD_10 = "http://hl7.org/fhir/sid/icd-10"
ICD_11 = "http://id.who.int/icd/release/11/mms"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
LEIOSURV_RISK = "urn:leiosurv:risk-group"
LEIOSURV_CATEGORY = "urn:leiosurv:diagnosis-category"
LEIOSURV_OUTCOME = "urn:leiosurv:outcome"
UCUM = "http://unitsofmeasure.org"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:leiosurv:fhir")


def full_url(a: Assessment, resource_type: str) -> str:
    """The stable ``urn:uuid:`` fullUrl of a resource of this case in the Bundle (references use it)."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{case_key(a)}/{resource_type}')}"


def _subject(a: Assessment, patient_id: str | None = None) -> dict:
    if patient_id:
        return {"reference": f"Patient/{patient_id}"}
    return {"display": f"Patient of case {case_key(a)}"}


def _verification(a: Assessment) -> str:
    app = a.applicability
    return "confirmed" if app.confirmed else ("provisional" if app.category else "differential")


def condition(a: Assessment, *, patient_id: str | None = None) -> dict:
    """The diagnosis the plan follows as a coded FHIR R4B ``Condition``."""
    key = case_key(a)
    app = a.applicability
    cid = app.category or a.diagnosis.top.category.id
    cand = a.diagnosis.candidate(cid)
    cat = cand.category
    codings = [{"system": LEIOSURV_CATEGORY, "code": cat.id, "display": cat.name}]
    if cat.icd_o:
        codings.append({"system": ICD_O_3, "code": cat.icd_o, "display": cat.name})
    if cand.icd_10:
        codings.append({"system": ICD_10, "code": cand.icd_10})
    if cat.icd_11:
        codings.append({"system": ICD_11, "code": cat.icd_11})
    verification = _verification(a)
    notes = [f"Pathway: {app.pathway} ({app.reason})", f"Codes: {cand.codes_text()}"]
    if cand.codes_note:
        notes.append(f"Codes: {cand.codes_note}")
    notes += [f"Warning [{w.rule_id}]: {w.message} ({w.citation.short()})" for w in a.warnings]
    out = {
        "resourceType": "Condition",
        "id": f"{key}-condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": verification}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "encounter-diagnosis"}]}],
        "code": {"coding": codings, "text": cat.name},
        "subject": _subject(a, patient_id),
        "recordedDate": a.findings.excision_date.isoformat(),
        "note": [{"text": n} for n in notes],
    }
    if a.findings.site:
        out["bodySite"] = [{"text": a.findings.site}]
    return out


def _predictions(a: Assessment) -> list[dict]:
    """The group, then each published 5-year risk that matches a known factor status (where the rule applies)."""
    r = a.risk
    coding = [{"system": LEIOSURV_RISK, "code": r.group, "display": r.group.replace("_", " ")}]
    if r.group in ("high", "low"):
        coding.insert(0, {"system": RISK_PROBABILITY, "code": r.group})
    five_years = {"high": {"value": 5, "unit": "years", "system": UCUM, "code": "a"}}
    out = [{
        "outcome": {"coding": [{"system": LEIOSURV_OUTCOME, "code": "metastasis-or-local-recurrence",
                                "display": "Metastasis or local recurrence"}],
                    "text": "Metastasis or local recurrence within 5 years"},
        "qualitativeRisk": {"coding": coding, "text": r.group.replace("_", " ")},
        "whenRange": five_years,
        "rationale": r.reason,
    }]
    if not r.applies:
        return out
    for f in r.factors:
        if f.status == "unknown":
            continue
        for p in f.published:
            fig = p.present if f.status == "present" else p.absent
            outcome = p.outcome.replace("_", " ")
            out.append({
                "outcome": {"coding": [{"system": LEIOSURV_OUTCOME, "code": p.outcome.replace("_", "-"),
                                        "display": outcome.capitalize()}],
                            "text": f"{outcome.capitalize()} within 5 years"},
                "probabilityDecimal": fig.estimate,
                "whenRange": five_years,
                "rationale": evidence.text("published_risk", label=f.label, status=f.status, outcome=outcome,
                                           figure=fig.format(), citation=fig.citation.short()),
            })
    return out


def risk_assessment(a: Assessment, *, patient_id: str | None = None) -> dict:
    """The risk group as a FHIR R4B ``RiskAssessment`` (a JSON-ready dict)."""
    r = a.risk
    key = case_key(a)
    notes = [f"{f.label}: {f.status}" for f in r.factors]
    for f in r.factors:
        for p in f.published:
            notes.append(f"5-year {p.outcome.replace('_', ' ')} with {f.label.lower()}: {p.present.format()} present, "
                         f"{p.absent.format()} absent, RD {p.difference.format()} ({p.present.citation})")
    if r.overall_5y:
        o = r.overall_5y
        notes.append(f"Overall 5-year risks: metastasis {o['metastasis'].format()}, local recurrence "
                     f"{o['local_recurrence'].format()}")
    if not r.applies and r.conditional_group:
        notes.append("Conditional: if dermal leiomyosarcoma were confirmed, the rule would give "
                     f"{r.conditional_group}.")
    notes.append(f"Mitotic grade 3 read as: {r.mitotic_definition.name}")
    notes += list(r.notes) + [f"Source: {c}" for c in r.citations]
    final = r.group in ("high", "low", "not_applicable") and _verification(a) == "confirmed"
    return {
        "resourceType": "RiskAssessment",
        "id": f"{key}-risk",
        "identifier": [{"system": "urn:leiosurv:rule", "value": r.rule_id}],
        "status": "final" if final else "preliminary",
        "method": {"text": f"{r.rule_id} ({r.certainty}; mitotic definition {r.mitotic_definition.id}; rule set "
                           f"{a.provenance.ruleset_version})"},
        "code": {"text": "Dermal leiomyosarcoma risk group (seed 001 rule, proposed, exploratory)"},
        "subject": _subject(a, patient_id),
        "occurrenceDateTime": a.findings.excision_date.isoformat(),
        "prediction": _predictions(a),
        "mitigation": a.plan.basis,
        "note": [{"text": n} for n in notes if n],
    }


def care_plan(a: Assessment, *, patient_id: str | None = None) -> dict:
    """The dated plan as a FHIR R4B ``CarePlan`` (a JSON-ready dict)."""
    p = a.plan
    key = case_key(a)
    acts = [{
        "detail": {
            "kind": "ServiceRequest",
            "code": {"text": rec.id.replace("_", " ")},
            "status": "not-started",
            "description": rec.text + " Source: " + "; ".join(str(c) for c in rec.citations),
        }
    } for rec in p.recommendations]
    for e in p.encounters:
        acts.append({
            "detail": {
                "kind": "Appointment",
                "code": {"text": f"{e.kind}: {e.modality}"},
                "reasonCode": [{"text": e.reason}],
                "status": "unknown" if e.status == "past" else "scheduled",
                "scheduledPeriod": {"start": e.window_start.isoformat(), "end": e.window_end.isoformat()},
                "performer": [{"display": e.provider}],
                "description": f"{e.id}: due {e.due.isoformat()} ({e.status} as of {p.as_of.isoformat()}). "
                               f"Source: {e.citation}",
            }
        })
    period = {"start": p.excision_date.isoformat()}
    if p.encounters:
        period["end"] = p.encounters[-1].window_end.isoformat()
    out = {
        "resourceType": "CarePlan",
        "id": f"{key}-plan",
        "status": "completed" if p.all_past else "active",
        "intent": "plan",
        "title": f"Leiomyosarcoma follow-up ({key}): {p.basis}",
        "description": " ".join(p.notes) or p.basis,
        "subject": _subject(a, patient_id),
        "period": period,
        "activity": acts,
        "note": [{"text": n} for n in p.notes] + [{"text": a.disclaimer}],
    }
    if not acts:  # FHIR has no empty lists: a plan without activities omits ``activity``
        del out["activity"]
    return out


def _roundtrip(resource: dict):
    from fhir.resources.R4B import get_fhir_model_class

    cls = get_fhir_model_class(resource["resourceType"])
    try:
        obj = cls.model_validate(resource)
        again = cls.model_validate_json(obj.model_dump_json())
    except Exception as exc:  # pydantic ValidationError and fhir.resources errors alike
        raise ExportError(f"FHIR {resource['resourceType']} is not valid R4B: {str(exc)[:200]}") from exc
    if again != obj or json.loads(again.model_dump_json()) != json.loads(obj.model_dump_json()):
        raise ExportError(f"FHIR {resource['resourceType']} does not round-trip")
    return obj


def assessment_to_fhir(a: Assessment, *, patient_id: str | None = None) -> dict:
    """A FHIR R4B ``Bundle`` (type collection) with the Condition, the RiskAssessment and the CarePlan.

    The CarePlan and the RiskAssessment reference the Condition by its entry's ``fullUrl``; with
    *patient_id*, every ``subject`` is ``Patient/<patient_id>``.  Each resource and the bundle are
    validated with ``fhir.resources.R4B`` and round-tripped.

    Examples
    --------
    >>> import datetime
    >>> from leiosurv.clinical import Findings, assess
    >>> a = assess(Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", margins="positive"))
    >>> [e["resource"]["resourceType"] for e in assessment_to_fhir(a)["entry"]]
    ['Condition', 'RiskAssessment', 'CarePlan']
    """
    cond, ra, cp = (make(a, patient_id=patient_id) for make in (condition, risk_assessment, care_plan))
    ref = {"reference": full_url(a, "Condition"), "display": cond["code"]["text"]}
    cp["addresses"] = [ref]
    ra["condition"] = ref
    ra["basis"] = [{"reference": full_url(a, "Condition")}]
    entries = []
    for res in (cond, ra, cp):
        _roundtrip(res)
        entries.append({"fullUrl": full_url(a, res["resourceType"]), "resource": res})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    obj = _roundtrip(bundle)
    return json.loads(obj.model_dump_json(exclude_none=True))
