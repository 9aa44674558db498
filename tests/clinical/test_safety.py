"""Clinical safety: a dermal-LMS group and plan only where the findings support dermal LMS.

Each test pins one reproduction of the clinical review (issue 10), named after the
seed rule it enforces; the properties at the end guard the invariants.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.clinical import assess, evidence, parse_findings
from leiosurv.exceptions import FindingsError

D = dt.date(2024, 3, 1)
AS_OF = dt.date(2024, 4, 1)
SM_POS = {"sma": "positive", "desmin": "positive", "h_caldesmon": "positive"}
SM_NEG = {"sma": "negative", "desmin": "negative", "h_caldesmon": "negative"}
ABSENT4 = {"necrosis": "absent", "perineural_invasion": "absent", "intravascular_invasion": "absent",
           "margins": "negative", "mitoses": {"count": 3}}
# 'low' also needs the prior-LMS history recorded (issue 21: never GP-only until it is)
NO_PRIOR = {"history": {"prior_leiomyosarcoma": "absent"}}


def _a(**kw):
    return assess(parse_findings({"excision_date": D.isoformat(), **kw}), as_of=AS_OF)


def test_seed002_leiomyoma_has_no_atypia():
    """1. Dermal leiomyoma: no atypia -> AISMN cannot lead, no dermal-LMS group or plan."""
    a = _a(depth="dermal", atypia="none", smooth_muscle_morphology="present", immunohistochemistry=SM_POS, **ABSENT4)
    assert a.diagnosis.top.category.id == "leiomyoma"
    assert a.diagnosis.candidate("aismn").excluded
    assert a.risk.group == "not_applicable" and a.plan.encounters == ()
    assert a.applicability.pathway == "other"


def test_seed002_smooth_muscle_markers_essential_melanoma():
    """2. S100+/SOX10+ with SMA, desmin, caldesmon negative -> melanoma leads, no group, no chest CT."""
    a = _a(depth="dermal", atypia="moderate", immunohistochemistry={**SM_NEG, "s100": "positive", "sox10": "positive"},
           necrosis="present")
    assert a.diagnosis.top.category.id == "desmoplastic_melanoma"
    # issue 21: no "if dermal LMS were confirmed" line when the smooth-muscle stains contradict dermal LMS
    assert a.risk.group == "not_applicable" and a.risk.conditional_group is None
    assert not any(e.kind == "imaging" for e in a.plan.encounters)
    assert "conditional" not in a.risk.reason and "melanoma" in a.applicability.reason.lower()


def test_seed002_smooth_muscle_markers_essential_cd34():
    """3. All smooth-muscle markers negative, CD34 positive -> no LMS category leads, no group."""
    a = _a(depth="dermal", atypia="mild", immunohistochemistry={**SM_NEG, "cd34": "positive"}, **ABSENT4)
    assert a.diagnosis.top.category.id not in ("aismn", "lms_nos", "ilms", "metastatic_lms")
    assert a.risk.group == "not_applicable"


def test_seed002_limited_subcutis_extensive_is_subcutaneous_lms():
    """4. Extensive subcutis -> AISMN excluded, leiomyosarcoma NOS with the sarcoma guideline plan."""
    a = _a(depth="dermal", atypia="moderate", subcutis_involvement="extensive", subcutis_involvement_mm=15,
           smooth_muscle_morphology="present", immunohistochemistry=SM_POS, **ABSENT4)
    assert a.diagnosis.candidate("aismn").excluded
    assert a.diagnosis.top.category.id == "lms_nos"
    assert a.applicability.pathway == "soft_tissue_sarcoma" and a.risk.group == "not_applicable"
    assert a.plan.encounters and all(e.provider == evidence.ESMO_PROVIDER for e in a.plan.encounters)
    reasons = [r.text for r in a.diagnosis.top.supporting + a.diagnosis.top.against]
    assert not any("confined" in t.lower() for t in reasons)


@pytest.mark.parametrize("distant", ["unknown", "absent"])
def test_seed000_prior_lms_new_nodule_is_never_low(distant):
    """5. New dermal nodule after a prior LMS, factors absent -> metastasis first, never LOW/GP-only."""
    a = _a(depth="dermal", atypia="moderate", immunohistochemistry=SM_POS, distant_lesion=distant,
           history={"prior_leiomyosarcoma": "present", "prior_leiomyosarcoma_date": "1997-06-01"}, **ABSENT4)
    assert a.risk.group != "low" and a.applicability.pathway == "exclude_metastasis"
    assert not any("general practitioner" in e.provider for e in a.plan.encounters)
    assert any(w.rule_id == "warn.prior-lms.new-lesion" for w in a.warnings)
    assert a.plan.recommendations[0].id == "exclude_metastasis"


def test_seed000_prior_lms_excluded_metastasis_allows_group():
    a = _a(depth="dermal", atypia="moderate", immunohistochemistry=SM_POS, metastasis_workup="excluded",
           history={"prior_leiomyosarcoma": "present"}, **ABSENT4)
    assert a.applicability.pathway in ("dermal_lms", "metastatic", "undetermined", "soft_tissue_sarcoma")


@pytest.mark.parametrize("case", [
    {"depth": "deep_soft_tissue", "prominent_inflammatory_infiltrate": "present",
     "immunohistochemistry": {"alk": "positive", "sma": "positive", "desmin": "positive"}},
    {"depth": "deep_soft_tissue", "atypia": "none", "smooth_muscle_morphology": "present",
     "immunohistochemistry": SM_POS, "necrosis": "absent", "mitoses": {"count": 0}},
    {"depth": "deep_soft_tissue", "pleomorphism": "marked", "atypia": "marked", "mitoses": {"count": 40},
     "immunohistochemistry": {"myod1": "positive", "myogenin": "positive", "desmin": "positive"}},
], ids=["imt", "deep-leiomyoma", "pleomorphic-rms"])
def test_seed003_mimics_of_deep_lms(case):
    """6. IMT (ALK+), deep leiomyoma, pleomorphic RMS: no LMS NOS and no sarcoma plan by depth alone."""
    a = _a(**case)
    assert a.diagnosis.top.category.id in ("imt", "leiomyoma", "rhabdomyosarcoma")
    assert a.applicability.pathway == "other" and a.plan.encounters == ()


def test_seed002_prior_aismn_visceral_lesion_revision():
    """7. Lung nodules after a prior AISMN, distant_lesion blank -> revision warning, no primary plan."""
    a = _a(depth="retroperitoneal_visceral", site="lung", pleomorphism="marked", atypia="marked", necrosis="present",
           immunohistochemistry={"sma": "positive", "desmin": "positive"}, history={"prior_aismn": "present"})
    assert any(w.rule_id == "warn.prior-aismn.metastasis" for w in a.warnings)
    assert a.diagnosis.top.category.id == "metastatic_lms" and a.applicability.pathway == "metastatic"
    assert a.plan.encounters == () and any(r.id == "revise_prior_aismn" for r in a.plan.recommendations)


def test_seed002_leading_mimic_no_dermal_plan_in_any_export():
    """8. A dermal lesion led by spindle SCC: no dermal-LMS wording in text, .ics or FHIR."""
    from leiosurv.interfaces.fhir import assessment_to_fhir

    a = _a(depth="dermal", atypia="marked", pleomorphism="marked",
           immunohistochemistry={"p40": "positive", "ck903": "positive", "sma": "negative", "desmin": "negative",
                                 "h_caldesmon": "negative"}, **ABSENT4)
    assert a.diagnosis.top.category.id == "spindle_scc"
    assert a.risk.group == "not_applicable"
    fhir = str(assessment_to_fhir(a))
    assert "dermal leiomyosarcoma, high" not in fhir.lower() and "dermal leiomyosarcoma, low" not in fhir.lower()
    assert "dermal leiomyosarcoma, " not in str(a.plan).lower()


def test_plan_as_of_marks_past_encounters():
    """9. Excised in 1997: every encounter past, said so, FHIR completed plan with unknown activities."""
    from leiosurv.interfaces.fhir import care_plan

    f = parse_findings({"excision_date": "1997-03-01", "depth": "dermal", "confirmed_diagnosis": "aismn", **ABSENT4,
                        **NO_PRIOR})
    a = assess(f, as_of=dt.date(2026, 11, 29))
    assert a.plan.all_past and all(e.status == "past" for e in a.plan.encounters)
    assert "history" in a.plan.notes[0]
    cp = care_plan(a)
    assert cp["status"] == "completed" and {x["detail"]["status"] for x in cp["activity"]} == {"unknown"}
    b = assess(f, as_of=dt.date(1998, 3, 10))
    assert [e.status for e in b.plan.encounters][:1] == ["due"] and b.plan.encounters[-1].status == "upcoming"


def test_seed002_positive_margins_re_excision_first():
    """10. Positive margins -> re-excision recommended first (seed 002), group kept high and said so."""
    a = _a(depth="dermal", confirmed_diagnosis="aismn", margins="positive", necrosis="absent", **NO_PRIOR)
    assert a.plan.recommendations[0].id == "re_excision"
    assert a.risk.group == "high" and any("re-excision" in n for n in a.risk.notes)


def test_seed002_brisk_warning_only_above_aismn_range():
    """11. Mitotic grade 3 (20-28/10 HPF) is not 'brisk'; above 28 it is. The count is printed."""
    a = _a(depth="dermal", confirmed_diagnosis="aismn", mitoses={"count": 22}, necrosis="absent")
    assert not any(w.rule_id == "warn.dermal.aggressive-features" for w in a.warnings)
    assert "22 per 10 HPF" in str(a.risk)
    b = _a(depth="dermal", confirmed_diagnosis="aismn", mitoses={"count": 35}, necrosis="absent")
    assert any(w.rule_id == "warn.dermal.aggressive-features" for w in b.warnings)


def test_seed001_certainty_wording_and_rd_cis_in_text():
    """12. 'proposed, exploratory (seed 001)' with every dermal-LMS group; RD CIs in the text."""
    a = _a(depth="dermal", confirmed_diagnosis="aismn", necrosis="present")
    text = str(a)
    assert "proposed, exploratory (seed 001)" in text and "RD 7.8% (95% CI -1 to 17)" in text  # as printed (issue 21)


def test_seed001_after_month_48_statement():
    """13. After month 48: seed 001's statement and the advice to report new nodules (seed 000)."""
    a = _a(depth="dermal", confirmed_diagnosis="aismn", **ABSENT4)
    assert any("4 years" in n and "new nodule" in n for n in a.plan.notes)


def test_incomplete_wording_and_low_risk_consistency():
    """14. Incomplete: 'planned as high risk until <missing> is known'; low risk: annual visits only."""
    a = _a(depth="dermal", confirmed_diagnosis="aismn", necrosis="absent", margins="negative",
           perineural_invasion="absent", intravascular_invasion="absent")
    assert a.risk.group == "incomplete"
    assert all("planned as high risk until Mitotic grade 3" in e.reason for e in a.plan.encounters)
    low = _a(depth="dermal", confirmed_diagnosis="aismn", **ABSENT4, **NO_PRIOR)
    assert [e.month for e in low.plan.encounters] == list(evidence.DLMS_LOW_RISK_VISIT_MONTHS)
    assert all(e.month % 12 == 0 for e in low.plan.encounters)


@pytest.mark.parametrize("bad, field", [
    ({"atypia": "none", "pleomorphism": "marked"}, "cons.atypia-pleomorphism"),
    ({"subcutis_involvement": "none", "subcutis_involvement_mm": 25}, "cons.subcutis-none-mm"),
    ({"history": {"prior_leiomyosarcoma": "absent", "prior_leiomyosarcoma_site": "forearm"}}, "cons.prior-lms-details"),
    ({"margins": "negative", "margin_distance_mm": 0}, "cons.negative-margin-zero"),
    ({"fnclcc_grade": "G1", "mitoses": {"count": 30}}, "cons.grade1-mitoses"),
])
def test_impossible_combinations_are_errors(bad, field):
    """15. Impossible combinations are errors naming the rule and fields."""
    with pytest.raises(FindingsError, match=field):
        parse_findings({"excision_date": "2024-01-01", **bad})


def test_unlikely_combination_is_a_warning():
    a = _a(depth="dermal", subcutis_involvement="focal", subcutis_involvement_mm=9)
    assert any(w.rule_id == "cons.focal-subcutis-mm" for w in a.consistency_warnings)


def test_icd10_uterine_primary_coded_to_uterus():
    """16. A uterine LMS is coded C55 (uterus), not C49.9."""
    a = _a(depth="uterine", immunohistochemistry=SM_POS, atypia="marked", confirmed_diagnosis="lms_nos")
    assert a.diagnosis.candidate("lms_nos").icd_10 == "C55"


def test_fhir_condition_and_ics_case_id():
    """17. FHIR: coded Condition addressed by the CarePlan; preliminary when incomplete; ICS names the case."""
    from leiosurv.interfaces.fhir import assessment_to_fhir
    from leiosurv.interfaces.ics import plan_to_ics

    a = _a(case_id="c-17", depth="dermal", confirmed_diagnosis="aismn", necrosis="absent")
    b = assessment_to_fhir(a)
    res = {e["resource"]["resourceType"]: e["resource"] for e in b["entry"]}
    cond_url = next(e["fullUrl"] for e in b["entry"] if e["resource"]["resourceType"] == "Condition")
    assert res["CarePlan"]["addresses"][0]["reference"] == cond_url  # the entry's fullUrl (issue 21)
    assert res["RiskAssessment"]["status"] == "preliminary"
    codes = {c["system"]: c["code"] for c in res["Condition"]["code"]["coding"]}
    assert codes["http://terminology.hl7.org/CodeSystem/icd-o-3"] == "8897/1"
    assert res["RiskAssessment"]["prediction"][0]["qualitativeRisk"]["coding"]
    assert b"SUMMARY:[c-17]" in plan_to_ics(a)


def test_confirmed_diagnosis_is_followed():
    a = _a(depth="dermal", atypia="none", immunohistochemistry=SM_POS, confirmed_diagnosis="aismn", **ABSENT4,
           **NO_PRIOR)
    assert a.applicability.confirmed and a.applicability.pathway == "dermal_lms"
    # issue 21: atypia 'none' contradicts AISMN's essential criterion: warned, and never low while it stands
    assert any(w.rule_id == "warn.confirmed.contradicted" and "atypia = none" in w.message for w in a.warnings)
    assert a.risk.group == "incomplete"
    ok = _a(depth="dermal", atypia="mild", immunohistochemistry=SM_POS, confirmed_diagnosis="aismn", **ABSENT4,
            **NO_PRIOR)
    assert ok.applicability.confirmed and ok.applicability.pathway == "dermal_lms" and ok.risk.group == "low"


def test_ties_are_broken_by_severity_and_reported():
    a = _a()
    assert a.diagnosis.top.tied_with or not a.diagnosis.top.excluded
    for c in a.diagnosis.candidates:
        for t in c.tied_with:
            assert a.diagnosis.candidate(t).score == c.score


# ---- properties ---------------------------------------------------------------------------------
PRES = st.sampled_from(["present", "absent", "unknown"])
STAIN = st.sampled_from(["positive", "focal", "negative", "not_done", "unknown"])
findings_st = st.fixed_dictionaries({
    "excision_date": st.just("2024-01-01"),
    "depth": st.sampled_from(["dermal", "subcutaneous", "deep_soft_tissue", "unknown"]),
    "atypia": st.sampled_from(["mild", "moderate", "marked", "unknown"]),
    "necrosis": PRES, "perineural_invasion": PRES, "intravascular_invasion": PRES,
    "margins": st.sampled_from(["negative", "positive", "unknown"]),
    "subcutis_involvement": st.sampled_from(["none", "focal", "extensive", "unknown"]),
    "immunohistochemistry": st.fixed_dictionaries({k: STAIN for k in ("sma", "desmin", "h_caldesmon", "s100", "alk")}),
    "history": st.fixed_dictionaries({"prior_leiomyosarcoma": PRES}),
    "confirmed_diagnosis": st.sampled_from([None, "aismn", "lms_nos", "leiomyoma"]),
})


@settings(max_examples=150, deadline=None)
@given(findings_st)
def test_property_smooth_muscle_negative_never_lms(data):
    data = {**data, "immunohistochemistry": {**data["immunohistochemistry"], **SM_NEG}, "confirmed_diagnosis": None}
    a = assess(parse_findings(data), as_of=AS_OF)
    assert a.diagnosis.top.category.id not in ("aismn", "lms_nos", "metastatic_lms") or a.diagnosis.top.excluded
    assert a.risk.group == "not_applicable"


@settings(max_examples=150, deadline=None)
@given(findings_st)
def test_property_prior_lms_never_low(data):
    data = {**data, "history": {"prior_leiomyosarcoma": "present"}}
    assert assess(parse_findings(data), as_of=AS_OF).risk.group != "low"


@settings(max_examples=150, deadline=None)
@given(findings_st, st.sampled_from(["necrosis", "perineural_invasion", "intravascular_invasion"]))
def test_property_positive_factor_never_lowers_and_unknown_never_low(data, factor):
    order = {"not_applicable": -1, "low": 0, "incomplete": 1, "high": 2}
    a = assess(parse_findings(data), as_of=AS_OF)
    b = assess(parse_findings({**data, factor: "present"}), as_of=AS_OF)
    if a.risk.applies and b.risk.applies:
        assert order[b.risk.group] >= order[a.risk.group]
    if "unknown" in (data["necrosis"], data["perineural_invasion"], data["intravascular_invasion"], data["margins"]):
        assert a.risk.group != "low" and a.risk.conditional_group != "low"


def test_metastatic_disease_recorded_stops_the_primary_plan():
    """A metastasis recorded after the tumour (registry event): metastatic pathway, no primary schedule."""
    f = parse_findings({"excision_date": D.isoformat(), "depth": "dermal", "confirmed_diagnosis": "aismn",
                        "necrosis": "present"})
    a = assess(f, as_of=AS_OF, metastatic_disease=True)
    assert a.applicability.pathway == "metastatic" and a.risk.group == "not_applicable"
    assert a.plan.encounters == () and evidence.text("metastatic") in a.plan.notes
