"""iCalendar and FHIR exports: parse back, stable UIDs, R4B round-trip."""

import datetime as dt
import json
from pathlib import Path

import icalendar
import pytest
import yaml
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.riskassessment import RiskAssessment

from leiosurv.clinical import Findings, assess, parse_findings
from leiosurv.interfaces.fhir import assessment_to_fhir
from leiosurv.interfaces.ics import case_key, plan_to_ics

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _case(name):
    return assess(parse_findings(yaml.safe_load((EXAMPLES / name).read_text())))


HIGH = "teaching_dermal_lms_high.yaml"


def test_ics_one_allday_event_per_encounter():
    a = _case(HIGH)
    cal = icalendar.Calendar.from_ical(plan_to_ics(a))
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(a.plan.encounters)
    for ev, enc in zip(events, a.plan.encounters):
        start = ev.decoded("dtstart")
        assert isinstance(start, dt.date) and not isinstance(start, dt.datetime) and start == enc.due
        assert ev.decoded("dtend") == enc.due + dt.timedelta(days=1)
        assert str(ev["uid"]) == f"teaching-dermal-high-{enc.id}@leiosurv"
        desc = str(ev["description"])
        assert enc.reason in desc and "001_6c2ac2c83588ff64.txt" in desc


def test_ics_uids_stable_across_runs():
    a = _case(HIGH)
    stamp = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert plan_to_ics(a, stamp=stamp) == plan_to_ics(_case(HIGH), stamp=stamp)


def test_ics_refuses_a_plan_without_encounters():
    from leiosurv.exceptions import ExportError

    a = _case("seed004_cervical_spine_metastasis.yaml")
    assert a.plan.encounters == ()
    with pytest.raises(ExportError, match="nothing to export"):
        plan_to_ics(a)


def test_case_key_without_id_is_hash_of_findings():
    f = Findings(excision_date=dt.date(2024, 1, 1), depth="dermal")
    k1, k2 = case_key(assess(f)), case_key(assess(f.model_copy(update={"necrosis": "present"})))
    assert k1.startswith("case-") and k1 != k2 and k1 == case_key(assess(f))


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_fhir_bundle_roundtrips_with_r4b(name):
    a = _case(name)
    b = assessment_to_fhir(a)
    parsed = Bundle.model_validate(b)
    again = Bundle.model_validate_json(parsed.model_dump_json())
    assert again == parsed and json.loads(again.model_dump_json(exclude_none=True)) == b
    cond, ra, cp = (e["resource"] for e in b["entry"])
    Condition.model_validate(cond)
    r = RiskAssessment.model_validate(ra)
    assert r.prediction[0].qualitativeRisk.text == a.risk.group.replace("_", " ")
    # issue 21: final only for a known group on a confirmed Condition (a provisional one gets a preliminary risk)
    final = a.risk.group != "incomplete" and a.applicability.confirmed
    assert r.status == ("final" if final else "preliminary")
    assert r.prediction[0].outcome.coding[0].code == "metastasis-or-local-recurrence"
    assert {c.code for c in r.prediction[0].qualitativeRisk.coding} >= {a.risk.group}
    c = CarePlan.model_validate(cp)
    acts = [x for x in c.activity or [] if x.detail.kind == "Appointment"]
    assert len(acts) == len(a.plan.encounters)
    for act, enc in zip(acts, a.plan.encounters):
        assert act.detail.scheduledPeriod.start.isoformat()[:10] == enc.window_start.isoformat()
        assert enc.id in act.detail.description
    # issue 21: references resolve inside the Bundle: they are the Condition entry's fullUrl
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in b["entry"]}
    assert urls["Condition"].startswith("urn:uuid:")
    assert cp["addresses"][0]["reference"] == urls["Condition"] == ra["condition"]["reference"]
    assert ra["basis"][0]["reference"] == urls["Condition"]


def test_fhir_keeps_notes_and_published_risks():
    b = assessment_to_fhir(_case(HIGH))
    ra = b["entry"][1]["resource"]
    text = " ".join(n["text"] for n in ra["note"])
    assert "9.3%" in text and "FNCLCC" in text and ra["identifier"][0]["value"] == "dlms-risk-abebe-2025"


def test_fhir_subject_reference_and_probability_predictions():
    """Issue 21: a subject reference with a patient id; the published 5-year risks as probabilityDecimal with the
    outcome coded (one per known factor status); a provisional Condition's RiskAssessment is preliminary."""
    a = _case(HIGH)
    b = assessment_to_fhir(a, patient_id="p-42")
    for e in b["entry"]:
        assert e["resource"]["subject"] == {"reference": "Patient/p-42"}
    ra = RiskAssessment.model_validate(b["entry"][1]["resource"])
    probs = [p for p in ra.prediction if p.probabilityDecimal is not None]
    known = [f for f in a.risk.factors if f.status != "unknown"]
    assert len(probs) == sum(len(f.published) for f in known) > 0
    for p in probs:
        assert p.outcome.coding[0].code in ("metastasis", "local-recurrence")
        assert p.whenRange.high.value == 5 and p.whenRange.high.code == "a"
    necrosis = next(f for f in a.risk.factors if f.factor == "necrosis")
    fig = necrosis.published[0].present if necrosis.status == "present" else necrosis.published[0].absent
    assert any(float(p.probabilityDecimal) == fig.estimate for p in probs)
    assert "display" in assessment_to_fhir(a)["entry"][0]["resource"]["subject"]
    provisional = assess(Findings(excision_date=dt.date(2024, 1, 1), depth="dermal", atypia="mild",
                                  necrosis="present", immunohistochemistry={"sma": "positive"}))
    assert not provisional.applicability.confirmed and provisional.risk.group == "high"
    pra = assessment_to_fhir(provisional)["entry"][1]["resource"]
    cond = assessment_to_fhir(provisional)["entry"][0]["resource"]
    assert cond["verificationStatus"]["coding"][0]["code"] == "provisional" and pra["status"] == "preliminary"


def test_fhir_condition_carries_the_confirmed_contradiction_and_missing_codes():
    f = Findings(excision_date=dt.date(2024, 1, 1), depth="dermal", confirmed_diagnosis="aismn",
                 immunohistochemistry={"sma": "negative", "desmin": "negative", "h_caldesmon": "negative"})
    cond = assessment_to_fhir(assess(f))["entry"][0]["resource"]
    notes = " ".join(n["text"] for n in cond["note"])
    assert "warn.confirmed.contradicted" in notes and "smooth_muscle_ihc = negative" in notes
    assert "ICD-10 no code known" in notes
    codes = {c["system"]: c["code"] for c in cond["code"]["coding"]}
    assert codes["http://id.who.int/icd/release/11/mms"] == "2F9C&XH1EN1"
