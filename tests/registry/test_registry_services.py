"""Services: registration with assessment and plan, re-assessment history, re-planning after events."""

import datetime as dt

import pytest
import sqlalchemy as sa

from leiosurv.exceptions import InputError, IntegrityError, NotFoundError
from leiosurv.registry import _tables as T

D = dt.date
HIGH = {"excision_date": "2020-01-15", "depth": "dermal", "margins": "positive"}


def _planned(reg, status="planned"):
    with reg.engine.connect() as c:
        return c.execute(sa.select(T.encounter.c.plan_item, T.encounter.c.due, T.encounter.c.assessment_id)
                         .where(T.encounter.c.status == status).order_by(T.encounter.c.due,
                                                                         T.encounter.c.plan_item)).all()


def test_register_stores_assessment_plan_and_factors(reg):
    reg.add_patient("P1", sex="female")
    rec = reg.add_tumour("P1", "T1", {**HIGH, "necrosis": "absent", "mitoses": {"count": 25}},
                         as_of=D(2020, 2, 1))
    assert (rec.seq, rec.reason, rec.risk_group, rec.current) == (1, "registration", "high", True)
    assert rec.ruleset_version and len(rec.ruleset_hash) == 64
    planned = _planned(reg)
    assert len(planned) == rec.n_planned == 9  # 5 visits + 4 chest imaging (seed 001, high risk)
    assert planned[0].due == D(2020, 7, 15)
    result = reg.assessment_result("P1", "T1")
    assert result["risk"]["group"] == "high" and result["findings"]["excision_date"] == "2020-01-15"
    with reg.engine.connect() as c:
        t = c.execute(sa.select(T.tumour)).one()
    assert (t.necrosis, t.mitotic_grade, t.invasion, t.margins) == (0, 3, None, "positive")


def test_reassess_keeps_history(reg):
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    reg.reassess("P1", "T1", findings={"margins": "negative", "necrosis": "absent", "mitoses": {"count": 2},
                                        "perineural_invasion": "absent", "intravascular_invasion": "absent",
                                        # 'low' needs the prior-LMS history recorded (seed 000, Conclusion)
                                        "history": {"prior_leiomyosarcoma": "absent"}},
                 as_of=D(2020, 3, 1))
    reg.reassess("P1", "T1", confirmed_diagnosis="aismn", as_of=D(2020, 3, 2))
    h = reg.history("P1", "T1")
    assert [(x.seq, x.reason, x.risk_group, x.current) for x in h] == [
        (1, "registration", "high", False), (2, "findings_changed", "low", False),
        (3, "diagnosis_changed", "low", True)]
    assert h[1].assessed_on == D(2020, 3, 1)
    assert reg.assessment_result("P1", "T1", seq=1)["risk"]["group"] == "high"
    assert reg.assessment_result("P1")["registry"]["confirmed_diagnosis"] == "aismn"
    assert reg.assessment_result("P1")["applicability"]["confirmed"] is True
    # the low-risk plan replaced the high-risk items from the re-assessment on; no imaging remains planned
    assert all(not p.plan_item.startswith("imaging") for p in _planned(reg))


def test_re_excision_after_local_recurrence_restarts_the_plan(reg):
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    reg.record_event("P1", "local_recurrence", D(2021, 3, 1), as_of=D(2021, 3, 1))
    reg.record_treatment("P1", "re_excision", D(2021, 4, 1), margin_status="negative", as_of=D(2021, 4, 2))
    h = reg.history("P1")
    assert h[-1].reason == "replan_re_excision" and h[-1].plan_start == D(2021, 4, 1)
    due = [p.due for p in _planned(reg)]
    assert min(d for d in due if d >= D(2021, 4, 1)) == D(2021, 10, 1)  # 6 months after the re-excision
    cancelled = _planned(reg, "cancelled")
    assert cancelled and all(c.due >= D(2021, 4, 1) for c in cancelled)


def test_re_excision_without_recurrence_does_not_replan(reg):
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    reg.record_treatment("P1", "re_excision", D(2020, 2, 15), margin_status="negative", as_of=D(2020, 2, 15))
    assert len(reg.history("P1")) == 1


def test_metastasis_stops_the_plan_and_death_leaves_nothing_due(reg):
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    reg.record_event("P1", "metastasis", D(2021, 1, 10), site="lung", as_of=D(2021, 1, 10))
    h = reg.history("P1")[-1]
    assert h.reason == "replan_metastasis" and h.n_planned == 0 and "metastatic" in h.plan_basis
    assert "sarcoma" in " ".join(reg.assessment_result("P1")["plan"]["notes"])
    assert reg.assessment_result("P1")["applicability"]["pathway"] == "metastatic"
    assert all(p.due < D(2021, 1, 10) for p in _planned(reg))  # earlier items are still open (overdue)
    reg.record_event("P1", "death", D(2021, 6, 1), cause="leiomyosarcoma", as_of=D(2021, 6, 1))
    assert _planned(reg) == []
    assert _planned(reg, "missed")  # the ones whose window had closed before death
    assert reg.alerts(D(2021, 7, 1)) == []


def test_identity_is_kept_apart_and_out_of_messages(reg):
    reg.add_patient("P1", sex="female", name="Jane Q. Example", birth_date="1950-02-03")
    with reg.engine.connect() as c:
        row = c.execute(sa.select(T.patient)).one()
        assert "Jane" not in str(tuple(row))
        assert c.execute(sa.select(T.patient_identity.c.name)).scalar() == "Jane Q. Example"
    reg.add_tumour("P1", "T1", {"excision_date": "2020-01-15", "depth": "dermal"}, as_of=D(2020, 2, 1))
    with reg.engine.connect() as c:
        assert c.execute(sa.select(T.tumour.c.age_at_diagnosis)).scalar() == 69  # from the birth date
    with pytest.raises(IntegrityError) as e:
        reg.add_patient("P1", name="Jane Q. Example", birth_date="1950-02-03")
    assert "Jane" not in str(e.value) and "1950" not in str(e.value)
    assert "already exists" in str(e.value)


@pytest.mark.parametrize("call, match", [
    (lambda r: r.record_event("P1", "metastasis", "2021-01-01", site="brain"), "site: must be one of"),
    (lambda r: r.record_event("P1", "relapse", "2021-01-01"), "kind: must be one of"),
    (lambda r: r.record_event("P1", "death", "2021-13-01"), "date: not a date"),
    (lambda r: r.record_event("P1", "death", "2099-01-01"), "is in the future"),
    (lambda r: r.record_event("NOPE", "death", "2021-01-01"), "no such patient"),
    (lambda r: r.record_treatment("P1", "systemic", "2021-01-01"), "needs its agent"),
    (lambda r: r.record_event("P1", "local_recurrence", "2019-01-01"), "before the diagnosis"),
    (lambda r: r.record_encounter("P1", date="2021-01-01", plan_item="visit-m999"), "no planned encounter"),
    (lambda r: r.record_encounter("P1", date="2020-07-20", plan_item="imaging-m006", modality="liver ultrasound",
                                  as_of=D(2020, 7, 20)), "contradicts the planned item imaging-m006"),
    (lambda r: r.add_tumour("P1", "T2", {"excision_date": "2020-01-01", "necrosis": "maybe"}), "necrosis"),
    (lambda r: r.add_observation("P1", "o", "d", "2021-01-01", 0), "max_interval_days"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(reg, call, match):
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    before = reg.counts()
    with pytest.raises((InputError, NotFoundError), match=match):
        call(reg)
    assert reg.counts() == before


def test_planned_encounter_done_and_missed(reg):
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    reg.record_encounter("P1", date=D(2020, 7, 20), plan_item="visit-m006", findings="no evidence of disease",
                         as_of=D(2020, 7, 20))
    reg.record_encounter("P1", date=D(2020, 8, 20), plan_item="imaging-m006", status="missed", as_of=D(2020, 8, 20))
    with reg.engine.connect() as c:
        rows = dict(c.execute(sa.select(T.encounter.c.plan_item, T.encounter.c.status)
                              .where(T.encounter.c.status != "planned")).all())
    assert rows == {"visit-m006": "done", "imaging-m006": "missed"}


def test_findings_enter_as_the_cores_findings_or_a_dict_and_are_assessed_once(reg, monkeypatch):
    """A registration parses its findings once (none when given the core's ``Findings``) and assesses once."""
    from leiosurv.clinical import parse_findings
    from leiosurv.registry import _clinical_adapter

    calls = {"parse": 0, "assess": 0}
    parse, assess = _clinical_adapter.parse_findings, _clinical_adapter.assess

    def counted_parse(*a, **k):
        calls["parse"] += 1
        return parse(*a, **k)

    def counted_assess(*a, **k):
        calls["assess"] += 1
        return assess(*a, **k)

    monkeypatch.setattr(_clinical_adapter, "parse_findings", counted_parse)
    monkeypatch.setattr(_clinical_adapter, "assess", counted_assess)
    reg.add_patient("P1", sex="female")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    assert calls == {"parse": 1, "assess": 1}
    f = parse_findings(HIGH, today=D(2020, 2, 1))
    reg.add_tumour("P1", "T2", f, as_of=D(2020, 2, 1))
    assert calls == {"parse": 1, "assess": 2}
    a, b = (reg.assessment_result("P1", t) for t in ("T1", "T2"))
    assert a["plan"] == b["plan"] and a["risk"] == b["risk"]


def test_registry_error_names_field_and_patient(reg):
    from leiosurv.exceptions import RegistryError

    reg.add_patient("P1", sex="female")
    reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    with pytest.raises(RegistryError) as e:
        reg.add_tumour("P1", "T1", HIGH, as_of=D(2020, 2, 1))
    assert (e.value.field, e.value.patient) == ("tumour", "P1") and "already exists" in str(e.value)
    with pytest.raises(RegistryError) as e:
        reg.record_event("P1", "metastasis", "2020-03-01", tumour="T9", site="lung", as_of=D(2020, 4, 1))
    assert (e.value.field, e.value.patient) == ("tumour", "P1")
    with pytest.raises(RegistryError) as e:
        reg.record_event("P1", "local_recurrence", "2019-03-01", tumour="T1", as_of=D(2020, 4, 1))
    assert e.value.field == "date" and "before the diagnosis" in str(e.value)
    with pytest.raises(RegistryError) as e:
        reg.record_event("P1", "death", "2030-03-01", as_of=D(2020, 4, 1))
    assert e.value.field == "date" and "in the future" in str(e.value)
