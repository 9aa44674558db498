"""Issue 21: decisive criteria, the pathologist's word checked, prior LMS and the work-up, advice on every path.

Each test pins one finding of the clinical review (issue 21, A-E and the further findings), named after the
seed rule it enforces; the hypothesis properties at the end guard the invariants.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.clinical import assess, evidence, parse_findings

D = dt.date(2024, 3, 1)
AS_OF = dt.date(2024, 4, 1)
SM_POS = {"sma": "positive", "desmin": "positive", "h_caldesmon": "positive"}
SM_NEG = {"sma": "negative", "desmin": "negative", "h_caldesmon": "negative"}
ABSENT4 = {"necrosis": "absent", "perineural_invasion": "absent", "intravascular_invasion": "absent",
           "margins": "negative", "mitoses": {"count": 3}}
NO_PRIOR = {"history": {"prior_leiomyosarcoma": "absent", "prior_aismn": "absent"}}
DERMAL_AISMN = {"depth": "dermal", "atypia": "mild", "smooth_muscle_morphology": "present",
                "growth_pattern": "infiltrative", "subcutis_involvement": "none"}


def _a(**kw):
    return assess(parse_findings({"excision_date": D.isoformat(), **kw}), as_of=AS_OF)


def _warn(a, rule_id):
    return [w for w in a.warnings if w.rule_id == rule_id]


# ---- A. the pathologist's word, checked (seed 002, Diagnosis; Practice answer #1) ---------------------------
def test_seed002_essential_sm_ihc_contradicts_confirmed_aismn():
    """A: confirmed AISMN with SMA, desmin and h-caldesmon negative and S100/SOX10 positive: the warning names
    the finding and the seed sentence, the confirmed category is printed, and no GP-only plan."""
    a = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, confirmed_diagnosis="aismn",
           immunohistochemistry={**SM_NEG, "s100": "positive", "sox10": "positive"})
    assert a.applicability.pathway == "dermal_lms" and a.applicability.confirmed  # the confirmed word decides
    ws = _warn(a, "warn.confirmed.contradicted")
    assert any("smooth_muscle_ihc = negative" in w.message
               and '"Immunohistochemical expression of SMA, desmin or caldesmon"' in w.message for w in ws)
    assert any("melanocytic_ihc = positive" in w.message and "Positive for S100, SOX10" in w.message for w in ws)
    assert a.risk.group != "low" and not any("general practitioner" in e.provider for e in a.plan.encounters)
    text = str(a)
    assert "[CONFIRMED by the pathologist]" in text and "Atypical intradermal smooth muscle neoplasm" in text
    assert "warn.confirmed.contradicted" in a.model_dump_json()


def test_seed002_leiomyoma_atypia_contradicts_confirmed_leiomyoma():
    """A: confirmed leiomyoma with moderate atypia, necrosis and 25 mitoses: each contradiction warned
    ("leiomyoma should not have this degree of cytologic atypia"; "...with associated mitoses or necrosis")."""
    a = _a(depth="dermal", atypia="moderate", necrosis="present", mitoses={"count": 25},
           immunohistochemistry=SM_POS, confirmed_diagnosis="leiomyoma")
    msgs = " ".join(w.message for w in _warn(a, "warn.confirmed.contradicted"))
    assert "atypia = moderate" in msgs and "this degree of cytologic atypia" in msgs
    assert "necrosis = present" in msgs and "associated mitoses or necrosis" in msgs
    assert a.applicability.pathway == "other" and a.applicability.category == "leiomyoma"


def test_seed002_agreeing_confirmed_diagnosis_raises_no_warning():
    a = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, confirmed_diagnosis="aismn",
           immunohistochemistry={**SM_POS, "s100": "negative", "sox10": "negative"})
    assert not _warn(a, "warn.confirmed.contradicted") and a.risk.group == "low"


# ---- B. decisive stains of the mimics (seed 002 and 003, differential diagnosis) ---------------------------
def test_seed002_desmoplastic_melanoma_s100_gates_aismn_with_sox10_advised():
    """B: S100 positive, SOX10 not done, SMA positive: undetermined, SOX10 advised, no dermal-LMS group."""
    a = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR,
           immunohistochemistry={"sma": "positive", "s100": "positive", "sox10": "not_done"})
    assert a.applicability.pathway == "undetermined" and a.risk.group == "not_applicable"
    assert a.applicability.reason.startswith("undetermined: S100 positive (Desmoplastic melanoma) - SOX10, Melan-A "
                                             "and HMB45 advised")
    assert a.applicability.interim_sarcoma_schedule and a.plan.encounters  # never GP-only
    assert not any("general practitioner" in e.provider for e in a.plan.encounters)
    assert _warn(a, "warn.gate.mimic-stain")


def test_seed003_imt_alk_positive_gates_smooth_muscle():
    """B: ALK positive with prominent inflammation and focal SMA ("is ALK positive instead"): undetermined."""
    a = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, prominent_inflammatory_infiltrate="present",
           immunohistochemistry={"sma": "focal", "alk": "positive"})
    assert a.applicability.pathway == "undetermined" and a.risk.group == "not_applicable"
    assert "ALK positive" in a.applicability.reason
    assert any(g.rule_id == "gate.alk" for g in a.diagnosis.candidate("aismn").gated_by)
    assert "MyoD1" in a.applicability.reason  # the skeletal muscle markers not reported are advised


def test_seed002_negative_mimic_stains_and_unknown_never_gate():
    """Partial panels are judged on what is reported: unknown or negative mimic stains gate nothing."""
    a = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, immunohistochemistry={"sma": "positive", "s100": "negative"})
    assert a.applicability.pathway == "dermal_lms" and a.risk.group == "low"
    assert not a.diagnosis.candidate("aismn").gated_by and not a.diagnosis.candidate("leiomyoma").gated_by


# ---- C. prior LMS and the work-up (seed 000, Conclusion) ---------------------------------------------------
def test_seed000_workup_excluded_dermal_lesion_is_a_new_primary():
    """C: prior LMS, new dermal lesion, metastasis_workup excluded: the dermal-LMS pathway on its own findings,
    and no warning "until the work-up records metastasis as excluded"."""
    a = _a(**DERMAL_AISMN, **ABSENT4, immunohistochemistry=SM_POS, distant_lesion="present",
           metastasis_workup="excluded", history={"prior_leiomyosarcoma": "present", "prior_aismn": "absent"})
    assert a.applicability.pathway == "dermal_lms" and a.diagnosis.top.category.id == "aismn"
    assert a.applicability.reason.startswith(evidence.text("workup_excluded"))
    assert not _warn(a, "warn.prior-lms.new-lesion")
    assert a.diagnosis.candidate("metastatic_lms").excluded


def test_seed000_workup_excluded_retroperitoneal_lms_after_thigh_lms():
    """C: a new retroperitoneal LMS after a thigh LMS, work-up excluded, distant_lesion unset: soft-tissue sarcoma."""
    a = _a(depth="retroperitoneal_visceral", site_region="retroperitoneum", atypia="marked", pleomorphism="marked",
           smooth_muscle_morphology="present", immunohistochemistry=SM_POS, metastasis_workup="excluded",
           history={"prior_leiomyosarcoma": "present", "prior_leiomyosarcoma_site": "thigh"})
    assert a.applicability.pathway == "soft_tissue_sarcoma" and a.diagnosis.top.category.id == "lms_nos"
    assert a.diagnosis.top.icd_10 == "C48.0" and a.plan.encounters


def test_seed000_workup_pending_is_the_first_dated_item():
    """C: work-up pending: the exclude-metastasis pathway dates the work-up as the plan's first item."""
    a = _a(depth="dermal", history={"prior_leiomyosarcoma": "present"}, margins="positive")
    assert a.applicability.pathway == "exclude_metastasis"
    first = a.plan.encounters[0]
    assert first.kind == "metastasis work-up" and first.due == D and first.month == 0 and first.status == "due"
    years_later = assess(a.findings, as_of=dt.date(2030, 1, 1))  # not recorded: still due, the plan not history
    assert years_later.plan.encounters[0].status == "due" and not years_later.plan.all_past
    assert [r.id for r in a.plan.recommendations] == ["exclude_metastasis", "re_excision"]


def test_seed000_history_unknown_asked_first_never_gp_only():
    """Prior-LMS history unknown on a skin lesion: asked for first; never GP-only until recorded."""
    a = _a(**DERMAL_AISMN, **ABSENT4, immunohistochemistry=SM_POS, confirmed_diagnosis="aismn")
    assert a.plan.recommendations[0].id == "record_history"
    assert a.risk.group == "incomplete" and "history of a prior leiomyosarcoma" in a.risk.missing
    assert not any("general practitioner" in e.provider for e in a.plan.encounters)
    recorded = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, immunohistochemistry=SM_POS, confirmed_diagnosis="aismn")
    assert recorded.risk.group == "low" and "record_history" not in [r.id for r in recorded.plan.recommendations]


# ---- D. codes (WHO ICD-10 C40-C41; ICD-11 cluster syntax) -------------------------------------------------
@pytest.mark.parametrize("bone_site, region, code", [
    ("lower_limb_long", "lower_extremity", "C40.2"),  # femur
    ("upper_limb_long", "upper_extremity", "C40.0"),  # humerus, radius, ulna, scapula
    ("upper_limb_short", "upper_extremity", "C40.1"),
    ("lower_limb_short", "lower_extremity", "C40.3"),
    ("skull_face", "head_neck", "C41.0"),
    ("mandible", "head_neck", "C41.1"),
    ("vertebral_column", "trunk", "C41.2"),
    ("rib_sternum_clavicle", "trunk", "C41.3"),
    ("pelvis_sacrum_coccyx", "trunk", "C41.4"),
    ("unknown", "lower_extremity", "C40.9"),
    ("unknown", "trunk", "C41.9"),
])
def test_icd10_bone_primary_coded_c40_c41(bone_site, region, code):
    a = _a(depth="bone", bone_site=bone_site, site_region=region, atypia="marked", immunohistochemistry=SM_POS,
           confirmed_diagnosis="lms_nos")
    assert a.diagnosis.candidate("lms_nos").icd_10 == code
    assert not a.diagnosis.candidate("lms_nos").icd_10.startswith("C49")


def test_seed002_icd11_cluster_syntax_and_no_code_known():
    a = _a(**DERMAL_AISMN, immunohistochemistry=SM_POS)
    c = a.diagnosis.candidate("aismn")
    assert c.category.icd_11 == "2F9C&XH1EN1" and " & " not in c.codes_text()
    assert "ICD-10 no code known" in c.codes_text()
    assert a.diagnosis.candidate("leiomyoma").codes_text().startswith("no code known")


# ---- E. advice on every pathway (seed 002, Practice answer #2; Sample pathology report) --------------------
def test_seed002_revise_prior_aismn_on_undetermined_pathway():
    """E: prior AISMN, distant lesion, findings fitting no category: the revision is in plan, .ics and CarePlan."""
    from leiosurv.interfaces.fhir import assessment_to_fhir
    from leiosurv.interfaces.ics import plan_to_ics

    a = _a(case_id="e-1", depth="deep_soft_tissue", distant_lesion="present", immunohistochemistry=SM_NEG,
           history={"prior_aismn": "present", "prior_leiomyosarcoma": "absent"})
    assert a.applicability.pathway == "undetermined"
    assert _warn(a, "warn.prior-aismn.metastasis")
    assert "revise_prior_aismn" in [r.id for r in a.plan.recommendations]
    assert "revision of the earlier diagnosis" in str(a.plan)
    ics = plan_to_ics(a, stamp=dt.datetime(2024, 4, 1, tzinfo=dt.UTC)).decode()
    assert "revision of the earlier" in ics.replace("\r\n ", "")
    cp = next(e["resource"] for e in assessment_to_fhir(a)["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert any("revision of the earlier diagnosis" in act["detail"]["description"] for act in cp["activity"])


def test_seed002_re_excision_on_exclude_metastasis_pathway():
    a = _a(depth="dermal", margins="positive", history={"prior_leiomyosarcoma": "present"})
    assert a.applicability.pathway == "exclude_metastasis"
    assert "re_excision" in [r.id for r in a.plan.recommendations]


# ---- the further findings ---------------------------------------------------------------------------------
def test_seed002_conditional_group_not_shown_when_dermal_lms_contradicted():
    a = _a(depth="dermal", subcutis_involvement="extensive", necrosis="present", immunohistochemistry=SM_POS)
    assert a.diagnosis.candidate("aismn").excluded
    assert a.risk.conditional_group is None and "If dermal leiomyosarcoma were confirmed" not in str(a)


def test_seed002_brisk_without_count_is_mitotic_grade_3():
    """'brisk' is above 28 per 10 HPF (seed 002's highest AISMN count), above every grade-3 threshold."""
    for definition in evidence.MITOTIC_DEFINITIONS:
        a = assess(parse_findings({"excision_date": D.isoformat(), **DERMAL_AISMN, **NO_PRIOR,
                                   "confirmed_diagnosis": "aismn", "necrosis": "absent", "margins": "negative",
                                   "perineural_invasion": "absent", "intravascular_invasion": "absent",
                                   "mitoses": {"description": "brisk"}}),
                   as_of=AS_OF, mitotic_definition=definition)
        assert a.risk.group == "high" and "Mitotic grade 3" in a.risk.reason
    increased = _a(**DERMAL_AISMN, confirmed_diagnosis="aismn", mitoses={"description": "increased"})
    assert next(f for f in increased.risk.factors if f.factor == "mitotic_grade_3").status == "unknown"


def test_seed002_confirmed_lms_nos_at_dermal_depth_warns_of_the_alternative_term():
    a = _a(**DERMAL_AISMN, immunohistochemistry=SM_POS, confirmed_diagnosis="lms_nos")
    w = _warn(a, "warn.confirmed.lms-dermal")
    assert w and "accepted alternative term" in w[0].citation.quote
    assert a.applicability.pathway == "soft_tissue_sarcoma"


def test_seed002_confirmed_aismn_unknown_depth_not_low():
    a = _a(**ABSENT4, **NO_PRIOR, confirmed_diagnosis="aismn", immunohistochemistry=SM_POS)
    assert a.applicability.pathway == "dermal_lms"
    assert a.risk.group == "incomplete" and "depth of origin (dermal)" in a.risk.missing
    assert not any("general practitioner" in e.provider for e in a.plan.encounters)


def test_seed001_low_risk_reading_printed_with_the_plan():
    a = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, immunohistochemistry=SM_POS, confirmed_diagnosis="aismn")
    assert a.risk.group == "low" and evidence.DLMS_LOW_RISK_READING in a.plan.notes
    assert "Project's reading of seed 001" in str(a.plan)


def test_danish_3b_prints_no_fnclcc_score():
    a = assess(parse_findings({"excision_date": D.isoformat(), **DERMAL_AISMN, "confirmed_diagnosis": "aismn",
                               "mitoses": {"count": 20}}), as_of=AS_OF, mitotic_definition="danish-3b")
    text = str(a.risk)
    assert "score 1" not in text and "mitotic grade 3 (Danish grade 3B (more than 20 per 10 HPF)): absent" in text
    f = _a(**DERMAL_AISMN, confirmed_diagnosis="aismn", mitoses={"count": 20})
    assert "FNCLCC mitotic score 3" in str(f.risk)


def test_seed001_figures_printed_in_their_precision():
    """'RD: 23%; 95% CI: -20-65' prints as 23% (95% CI -20 to 65), not 23.0% (-20.0 to 65.0)."""
    r = evidence.DLMS_FACTOR_RISKS[("invasion", "metastasis")]
    assert r.difference.format() == "23% (95% CI -20 to 65)"
    assert r.present.format() == "25.0% (95% CI 0 to 67)"
    assert evidence.DLMS_FACTOR_RISKS[("necrosis", "metastasis")].present.format() == "9.3% (95% CI 0.6 to 18.0)"
    a = _a(**DERMAL_AISMN, confirmed_diagnosis="aismn", perineural_invasion="present")
    assert "RD 23% (95% CI -20 to 65)" in str(a) and "23.0%" not in str(a)


# ---- properties -------------------------------------------------------------------------------------------
PRES = st.sampled_from(["present", "absent", "unknown"])
STAIN = st.sampled_from(["positive", "focal", "negative", "not_done", "unknown"])
STAINS = ("sma", "desmin", "h_caldesmon", "s100", "sox10", "alk", "p40", "ae1_ae3", "myod1", "myogenin")
findings_st = st.fixed_dictionaries({
    "excision_date": st.just(D.isoformat()),
    "depth": st.sampled_from(["dermal", "subcutaneous", "deep_soft_tissue", "bone", "unknown"]),
    "atypia": st.sampled_from(["none", "mild", "moderate", "unknown"]),
    "smooth_muscle_morphology": PRES, "necrosis": PRES, "perineural_invasion": PRES,
    "intravascular_invasion": PRES, "distant_lesion": PRES, "prominent_inflammatory_infiltrate": PRES,
    "margins": st.sampled_from(["negative", "positive", "unknown"]),
    "subcutis_involvement": st.sampled_from(["none", "focal", "extensive", "unknown"]),
    "immunohistochemistry": st.fixed_dictionaries({k: STAIN for k in STAINS}),
    "history": st.fixed_dictionaries({"prior_leiomyosarcoma": PRES, "prior_aismn": PRES}),
    "metastasis_workup": st.sampled_from(["unknown", "excluded", "confirmed"]),
    "confirmed_diagnosis": st.sampled_from([None, *evidence.CATEGORIES]),
})


@settings(max_examples=200, deadline=None)
@given(findings_st, st.sampled_from([g for g in evidence.GATES if "aismn" in g.blocks]),
       st.sampled_from(["positive", "focal"]))
def test_property_positive_mimic_stain_never_unconfirmed_dermal_group(data, gate, value):
    stain = gate.stains[0]
    data = {**data, "confirmed_diagnosis": None,
            "immunohistochemistry": {**data["immunohistochemistry"], stain: value}}
    a = assess(parse_findings(data), as_of=AS_OF)
    assert a.applicability.pathway != "dermal_lms"
    assert a.risk.group == "not_applicable"


@settings(max_examples=200, deadline=None)
@given(findings_st)
def test_property_confirmed_with_contradicted_essential_always_warns(data):
    if data["confirmed_diagnosis"] is None:
        data = {**data, "confirmed_diagnosis": "aismn"}
    a = assess(parse_findings(data), as_of=AS_OF)
    c = a.diagnosis.candidate(data["confirmed_diagnosis"])
    ws = _warn(a, "warn.confirmed.contradicted")
    for x in c.contradicted:
        assert any(f"{x.finding} = {x.value}" in w.message and w.inputs["rule"] == x.rule_id for w in ws)
    assert len(ws) == len(c.contradicted) + len(c.gated_by)
    if ws and a.risk.applies:
        assert a.risk.group != "low"


@settings(max_examples=200, deadline=None)
@given(findings_st)
def test_property_workup_excluded_never_metastatic_by_itself(data):
    data = {**data, "metastasis_workup": "excluded"}
    if data["confirmed_diagnosis"] == "metastatic_lms":
        data["confirmed_diagnosis"] = None
    a = assess(parse_findings(data), as_of=AS_OF)
    assert a.applicability.pathway not in ("metastatic", "exclude_metastasis")
    assert not _warn(a, "warn.prior-lms.new-lesion")


def test_bone_site_outside_bone_is_a_consistency_warning():
    a = _a(depth="deep_soft_tissue", bone_site="lower_limb_long")
    assert [w.rule_id for w in a.consistency_warnings] == ["cons.bone-site-not-bone"]
    assert not _a(depth="bone", bone_site="lower_limb_long").consistency_warnings


def test_conditional_group_is_what_a_confirmation_would_give():
    """The "if dermal LMS were confirmed" line never says low where a confirmation would not give low:
    a mimic's stain positive (the confirmed diagnosis would be contradicted) or the history not recorded."""
    gated = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, immunohistochemistry={"sma": "positive", "s100": "positive"})
    assert gated.risk.conditional_group == "incomplete"
    confirmed = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, confirmed_diagnosis="aismn",
                   immunohistochemistry={"sma": "positive", "s100": "positive"})
    assert confirmed.risk.group == "incomplete"


def test_seed000_workup_due_from_its_window_start():
    """The work-up is upcoming the day before its window opens and due from that day on, however late."""
    f = parse_findings({"excision_date": D.isoformat(), "depth": "dermal",
                        "history": {"prior_leiomyosarcoma": "present"}})
    start = D - dt.timedelta(days=evidence.DEFAULT_WINDOW_DAYS)
    assert assess(f, as_of=start - dt.timedelta(days=1)).plan.encounters[0].status == "upcoming"
    assert assess(f, as_of=start).plan.encounters[0].status == "due"
    assert assess(f, as_of=D + dt.timedelta(days=evidence.DEFAULT_WINDOW_DAYS + 1)).plan.encounters[0].status == "due"


@pytest.mark.parametrize("alk, gated", [("positive", True), ("focal", True), ("negative", False),
                                        ("not_done", False), ("unknown", False)])
def test_seed003_alk_gate_fires_on_positive_or_focal_only(alk, gated):
    a = _a(**DERMAL_AISMN, **ABSENT4, **NO_PRIOR, immunohistochemistry={**SM_POS, "alk": alk})
    assert bool(a.diagnosis.candidate("aismn").gated_by) is gated
    assert (a.applicability.pathway == "dermal_lms") is not gated


def test_seed002_smooth_muscle_ihc_gates_afx_from_deciding():
    """Seed 002, Practice answer #1: smooth muscle differentiation by IHC speaks against AFX: an SMA-positive
    pleomorphic lesion where AFX/PDS leads is undetermined with the interim schedule, not 'not a leiomyosarcoma'."""
    a = _a(depth="dermal", pleomorphism="marked", solar_elastosis="present", mitoses={"count": 40},
           immunohistochemistry={"sma": "positive", "cd10": "positive", "cd68": "positive"}, **NO_PRIOR)
    assert a.diagnosis.top.category.id == "afx_pds"
    assert a.applicability.pathway == "undetermined" and a.applicability.interim_sarcoma_schedule
    assert "SMA positive" in a.applicability.reason and "Desmin and h-Caldesmon advised" in a.applicability.reason
    negative = _a(depth="dermal", pleomorphism="marked", solar_elastosis="present", mitoses={"count": 40},
                  immunohistochemistry={**SM_NEG, "cd10": "positive", "cd68": "positive"}, **NO_PRIOR)
    assert negative.applicability.pathway == "other" and negative.diagnosis.top.category.id == "afx_pds"


def test_gate_sources_are_in_the_provenance():
    a = _a(**DERMAL_AISMN, immunohistochemistry={"sma": "positive", "alk": "positive"})
    assert "gate.alk" in a.provenance.fired_rules and "seed-003" in a.provenance.evidence_sources
