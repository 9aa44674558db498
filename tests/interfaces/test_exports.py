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
    assert r.status == ("preliminary" if a.risk.group == "incomplete" else "final")
    assert {c.code for c in r.prediction[0].qualitativeRisk.coding} >= {a.risk.group}
    c = CarePlan.model_validate(cp)
    acts = [x for x in c.activity or [] if x.detail.kind == "Appointment"]
    assert len(acts) == len(a.plan.encounters)
    for act, enc in zip(acts, a.plan.encounters):
        assert act.detail.scheduledPeriod.start.isoformat()[:10] == enc.window_start.isoformat()
        assert enc.id in act.detail.description
    assert cp["addresses"][0]["reference"] == f"Condition/{cond['id']}"
    assert ra["condition"]["reference"] == f"Condition/{cond['id']}"


def test_fhir_keeps_notes_and_published_risks():
    b = assessment_to_fhir(_case(HIGH))
    ra = b["entry"][1]["resource"]
    text = " ".join(n["text"] for n in ra["note"])
    assert "9.3%" in text and "FNCLCC" in text and ra["identifier"][0]["value"] == "dlms-risk-abebe-2025"
