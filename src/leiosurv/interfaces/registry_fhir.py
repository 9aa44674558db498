"""FHIR R4 export of one registry patient: Patient, Condition, the assessments, CarePlan, Encounter.

The RiskAssessment and CarePlan of each tumour's current assessment come from
the clinical core's exporters (:func:`leiosurv.interfaces.fhir.risk_assessment`,
:func:`~leiosurv.interfaces.fhir.care_plan`), on the assessment rebuilt from
the stored result (:func:`leiosurv.registry.live_assessment`); their subject is
re-pointed at the Patient resource.  The Patient is pseudonymous (identifier =
the registry pseudonym); ``identify=True`` adds the name and birth date.

Like :mod:`leiosurv.interfaces.fhir`, content is R4 built and validated with the
R4B models of ``fhir.resources`` (see that module for why); every resource and
the bundle are round-tripped before they are returned.

Every entry's ``fullUrl`` is a stable ``urn:uuid:`` (:func:`entry_url`) and every
reference (subject, condition, addresses, reasonReference) is that fullUrl, so
the references resolve inside the Bundle wherever it is sent.
"""

from __future__ import annotations

import json
import uuid

from leiosurv.exceptions import ExportError
from leiosurv.interfaces.fhir import care_plan, risk_assessment
from leiosurv.interfaces.fhir import condition as fhir_condition

__all__ = ["patient_bundle"]

_GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def _validate(resource: dict) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    cls = get_fhir_model_class(resource["resourceType"])
    try:
        obj = cls.model_validate(resource)
        again = cls.model_validate_json(obj.model_dump_json())
    except Exception as exc:  # noqa: BLE001 - pydantic and fhir.resources errors alike
        raise ExportError(f"FHIR {resource['resourceType']} is not valid R4B: {str(exc).splitlines()[0]}") from None
    if again != obj:
        raise ExportError(f"FHIR {resource['resourceType']} does not round-trip")


_NAMESPACE = uuid.UUID("6f1d8f1e-3c1b-5d0a-9a51-6c6575696f73")  # leiosurv's registry bundles


def entry_url(resource_type: str, resource_id: str) -> str:
    """The stable ``urn:uuid:`` fullUrl of a registry resource in its Bundle; references use it.

    A relative reference (``Condition/x``) resolves inside a Bundle only when the entries' fullUrls are
    RESTful server URLs; these Bundles leave the server, so every reference is the entry's fullUrl
    (FHIR R4B, Bundle, "Resolving references in Bundles").
    """
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{resource_type}/{resource_id}')}"


def patient_bundle(record: dict, *, identify: bool = False) -> dict:
    """A FHIR ``Bundle`` (collection) for one patient record (:meth:`Registry.patient_record`, its ``to_dict()``).

    Parameters
    ----------
    record : dict
        The patient's record.
    identify : bool, default False
        Include the name and birth date in the Patient resource.
    """
    from leiosurv.registry import live_assessment

    p = record["patient"]
    pid = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in p["pseudonym"])[:64]
    patient = {"resourceType": "Patient", "id": pid,
               "identifier": [{"system": "urn:leiosurv:pseudonym", "value": p["pseudonym"]}],
               "gender": _GENDER[p["sex"]]}
    if p["synthetic"]:
        patient["meta"] = {"tag": [{"system": "urn:leiosurv:provenance", "code": "synthetic",
                                    "display": "SYNTHETIC DATA"}]}
    ident = record.get("identity")
    if identify and ident:
        if ident.get("name"):
            patient["name"] = [{"text": ident["name"]}]
        if ident.get("birth_date"):
            patient["birthDate"] = ident["birth_date"]
    subject = {"reference": entry_url("Patient", pid)}
    resources = [patient]
    for t in record["tumours"]:
        cid = f"{pid}-{t['id']}"
        cur = next((a for a in t["assessments"] if a["current"]), None)
        live = live_assessment(cur["result"]) if cur is not None else None
        condition = {
            "resourceType": "Condition", "id": cid,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                               "condition-ver-status",
                                               "code": "confirmed" if t["confirmed_diagnosis"] else "provisional"}]},
            "code": {"text": t["confirmed_diagnosis"] or (cur or {}).get("top_diagnosis") or "leiomyosarcoma"},
            "subject": subject, "onsetDateTime": t["diagnosis_date"],
        }
        if t.get("site"):
            condition["bodySite"] = [{"text": t["site"]}]
        if live is not None:  # the clinical core's coded Condition (ICD-O-3, ICD-10, ICD-11 where known)
            coded = fhir_condition(live)
            condition.update(code=coded["code"], verificationStatus=coded["verificationStatus"],
                             note=coded["note"])
        resources.append(condition)
        if cur is not None:
            a = live
            ra, cp = risk_assessment(a), care_plan(a)
            ra["id"], cp["id"] = f"{cid}-risk", f"{cid}-plan"
            ra["subject"] = cp["subject"] = subject
            ra["condition"] = {"reference": entry_url("Condition", cid)}
            cp["addresses"] = [{"reference": entry_url("Condition", cid)}]
            cp["note"] = cp.get("note", []) + [{"text": f"Assessment {cur['seq']} ({cur['reason']}), rule set "
                                                        f"{cur['ruleset_version']} {cur['ruleset_hash'][:12]}"}]
            resources += [ra, cp]
    for e in record["encounters"]:
        if e["status"] != "done":
            continue
        enc = {"resourceType": "Encounter", "id": f"{pid}-enc-{e['id']}", "status": "finished",
               "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                         "display": "ambulatory"},
               "type": [{"text": e["kind"]}], "subject": subject,
               "period": {"start": e["done_on"], "end": e["done_on"]}}
        if e.get("tumour"):
            tid = next(t["id"] for t in record["tumours"] if t["label"] == e["tumour"])
            enc["reasonReference"] = [{"reference": entry_url("Condition", f"{pid}-{tid}")}]
        resources.append(enc)
    for r in resources:
        _validate(r)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": entry_url(r["resourceType"], r["id"]), "resource": r}
                        for r in resources]}
    _validate(bundle)
    return json.loads(json.dumps(bundle))
