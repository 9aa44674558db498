"""Diagnosis support on the practice cases of seeds 002 and 003, and the warnings."""

import datetime as dt

import pytest

from leiosurv.clinical import Findings, diagnose, evidence, parse_findings

D = dt.date(2024, 3, 1)


def test_seed002_practice_question_1_aismn():
    """Seed 002, Practice question #1: 1 cm nodule on the arm of a 50 year old man; residual identical
    lesion with focal involvement of the subcutis; atypia throughout; SMA and desmin strongly positive,
    all other markers negative including CD10.  Answer: atypical intradermal smooth muscle neoplasm."""
    negative = {k: "negative" for k in evidence.STAIN_NAMES if k not in ("sma", "desmin")}
    f = parse_findings({
        "patient": {"age_years": 50, "sex": "male"}, "excision_date": "2024-03-01", "site": "arm",
        "site_region": "upper_extremity", "size_mm": 10, "depth": "dermal", "subcutis_involvement": "focal",
        "atypia": "moderate", "solar_elastosis": "absent",
        "immunohistochemistry": {"sma": "positive", "desmin": "positive", **negative},
    })
    dx = diagnose(f)
    assert dx.top.category.id == "aismn"
    # ICD-11 cluster syntax (issue 21)
    assert dx.top.category.icd_o == "8897/1" and dx.top.category.icd_11 == "2F9C&XH1EN1"
    ranked = [c.category.id for c in dx.candidates]
    # the distractors of the question rank below
    for other in ("afx_pds", "lms_nos", "leiomyoma"):
        assert ranked.index(other) > 0
    assert "dx.aismn.dermal-based" in dx.fired_rules
    assert not any(w.rule_id == "warn.stains.missing" for w in dx.warnings)


def test_seed002_practice_question_2_metastatic_lms_and_revision_warning():
    """Seed 002, Practice question #2: 65 year old man, multiple lung nodules; pleomorphic spindle cell
    neoplasm, abundant mitoses, tumoral necrosis; only SMA and desmin positive (CD10 and CD68, named in the
    answer, read as negative); history of an excised 'atypical intradermal smooth muscle neoplasm' with
    positive deep margins.  Answer: metastatic leiomyosarcoma; revise the earlier diagnosis."""
    f = parse_findings({
        "patient": {"age_years": 65, "sex": "male"}, "excision_date": "2024-03-01", "site": "lung",
        "depth": "retroperitoneal_visceral", "smooth_muscle_morphology": "present", "pleomorphism": "marked",
        "mitoses": {"description": "brisk"}, "necrosis": "present",
        "immunohistochemistry": {"sma": "positive", "desmin": "positive", "cd10": "negative", "cd68": "negative"},
        "history": {"prior_aismn": "present"}, "distant_lesion": "present",
    })
    dx = diagnose(f)
    assert dx.top.category.id == "metastatic_lms"
    ids = [w.rule_id for w in dx.warnings]
    assert "warn.prior-aismn.metastasis" in ids
    w = next(w for w in dx.warnings if w.rule_id == "warn.prior-aismn.metastasis")
    assert "revision" in w.message and w.citation.source is evidence.SEED_002
    aismn = next(c for c in dx.candidates if c.category.id == "aismn")
    assert aismn.score < 0 and "dx.aismn.distant-lesion" in [r.rule_id for r in aismn.against]


def test_seed003_question_1_inflammatory_lms():
    """Seed 003, Board review question #1: 35 year old man, slowly growing 6 cm well circumscribed deep
    thigh mass; spindle/epithelioid cells with moderate pleomorphism, no mitotic activity, admixed
    inflammatory cells; desmin and MyoD1 diffusely positive.  Answer: inflammatory leiomyosarcoma."""
    f = parse_findings({
        "patient": {"age_years": 35, "sex": "male"}, "excision_date": "2024-03-01", "site": "right thigh",
        "site_region": "lower_extremity", "size_mm": 60, "depth": "deep_soft_tissue",
        "growth_pattern": "circumscribed", "pleomorphism": "moderate", "mitoses": {"count": 0},
        "prominent_inflammatory_infiltrate": "present",
        "immunohistochemistry": {"desmin": "positive", "myod1": "positive"},
    })
    dx = diagnose(f)
    assert dx.top.category.id == "ilms"
    # ICD-11 cluster syntax (issue 21)
    assert dx.top.category.icd_o == "8890/3" and dx.top.category.icd_11 == "2B58&XH7ED4"
    assert dx.top.icd_10 == "C49.2"  # by site (ICD-10 C49.2, lower limb); seed 003 gives C49.9
    ranked = [c.category.id for c in dx.candidates]
    assert ranked.index("imt") > ranked.index("ilms") and ranked.index("rhabdomyosarcoma") > ranked.index("ilms")


def test_seed003_question_2_near_haploidization_supports_ilms():
    """Seed 003, Board review question #2: near haploidization is the most common genetic finding of ILMS."""
    base = Findings(excision_date=D, depth="deep_soft_tissue", immunohistochemistry={"desmin": "positive"})
    with_hap = base.model_copy(update={"near_haploidization": "present"})
    score = {c.category.id: c.score for c in diagnose(base).candidates}
    score_hap = {c.category.id: c.score for c in diagnose(with_hap).candidates}
    assert score_hap["ilms"] == score["ilms"] + 3
    assert "dx.ilms.near-haploidization" in diagnose(with_hap).fired_rules


def test_dermal_aggressive_features_warning():
    f = Findings(excision_date=D, depth="dermal", pleomorphism="marked")
    assert "warn.dermal.aggressive-features" in [w.rule_id for w in diagnose(f).warnings]
    f2 = Findings(excision_date=D, depth="dermal", mitoses={"count": 30})
    assert "warn.dermal.aggressive-features" in [w.rule_id for w in diagnose(f2).warnings]
    # mitotic grade 3 within the AISMN range of seed 002 (1-28 per 10 HPF) is not 'brisk'
    f25 = Findings(excision_date=D, depth="dermal", mitoses={"count": 25})
    assert "warn.dermal.aggressive-features" not in [w.rule_id for w in diagnose(f25).warnings]
    f3 = Findings(excision_date=D, depth="dermal", pleomorphism="mild", necrosis="absent", mitoses={"count": 2})
    assert "warn.dermal.aggressive-features" not in [w.rule_id for w in diagnose(f3).warnings]


@pytest.mark.parametrize("years", [1, 26, 40])
def test_prior_lms_warns_whatever_the_interval(years):
    prior = dt.date(D.year - years, D.month, D.day)
    f = Findings(excision_date=D, depth="dermal",
                 history={"prior_leiomyosarcoma": "present", "prior_leiomyosarcoma_date": prior})
    w = [w for w in diagnose(f).warnings if w.rule_id == "warn.prior-lms.new-lesion"]
    assert w and f"{years}.0 years" in w[0].message


def test_unknown_prior_lms_does_not_warn_and_does_not_count_as_absent():
    f = Findings(excision_date=D, depth="dermal")
    dx = diagnose(f)
    assert "warn.prior-lms.new-lesion" not in [w.rule_id for w in dx.warnings]
    met = next(c for c in dx.candidates if c.category.id == "metastatic_lms")
    assert "history.prior_leiomyosarcoma" in met.not_known
    assert not met.against  # unknown history is not read as 'no history'


def test_missing_stains_warning_lists_groups():
    dx = diagnose(Findings(excision_date=D, immunohistochemistry={"sma": "positive", "s100": "not_done"}))
    w = next(w for w in dx.warnings if w.rule_id == "warn.stains.missing")
    assert "melanocytic" in w.message and "smooth muscle" not in w.inputs["missing"][0]


def test_every_category_ranked_with_explained_score():
    dx = diagnose(Findings(excision_date=D))
    assert {c.category.id for c in dx.candidates} == set(evidence.CATEGORIES)
    assert [c.rank for c in dx.candidates] == list(range(1, len(evidence.CATEGORIES) + 1))
    scores = [c.score for c in dx.candidates]
    assert scores == sorted(scores, reverse=True)
    for c in dx.candidates:
        assert c.score == sum(r.weight for r in c.supporting + c.against)
    assert "not a probability" in dx.score_logic and "does not replace" in dx.disclaimer


def test_non_lms_top_candidate_gets_no_dermal_group():
    from leiosurv.clinical import assess

    f = Findings(excision_date=D, depth="dermal", margins="positive", atypia="none",
                 immunohistochemistry={"fxiiia": "positive", "sma": "negative", "desmin": "negative",
                                       "h_caldesmon": "negative"})
    a = assess(f)
    assert a.diagnosis.top.category.id == "dermatofibroma"
    # issue 21: the smooth-muscle stains contradict dermal LMS: no "if dermal LMS were confirmed" group
    assert a.risk.group == "not_applicable" and a.risk.conditional_group is None
    assert a.applicability.pathway == "other" and "Dermatofibroma" in a.applicability.reason
    lms = assess(Findings(excision_date=D, depth="dermal", margins="positive", atypia="mild",
                          immunohistochemistry={"sma": "positive"}))
    assert lms.diagnosis.top.category.id == "aismn"
    assert lms.applicability.pathway == "dermal_lms" and lms.risk.group == "high"


def test_prior_lms_dermal_lesion_goes_to_metastasis_work_up():
    from leiosurv.clinical import assess

    a = assess(Findings(excision_date=D, depth="dermal", necrosis="present",
                        history={"prior_leiomyosarcoma": "present"}))
    assert a.applicability.pathway == "exclude_metastasis" and a.risk.group == "not_applicable"
    assert a.plan.recommendations[0].id == "exclude_metastasis"
