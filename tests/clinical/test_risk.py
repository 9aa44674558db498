"""Dermal-LMS risk rule (seed 001, Conclusion) and its invariants."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.clinical import Findings, classify_risk, evidence, mitotic_score
from leiosurv.exceptions import InputError

D = dt.date(2024, 3, 1)
ALL_ABSENT = dict(depth="dermal", necrosis="absent", mitoses={"count": 3}, perineural_invasion="absent",
                  intravascular_invasion="absent", margins="negative")
ORDER = {"low": 0, "incomplete": 1, "high": 2}


def F(**kw):
    return Findings(excision_date=D, **kw)


def test_low_only_when_all_known_and_absent():
    r = classify_risk(F(**ALL_ABSENT))
    assert r.group == "low" and r.missing == () and r.rule_id == evidence.DLMS_RULE_ID


@pytest.mark.parametrize(
    "change",
    [{"necrosis": "present"}, {"mitoses": {"count": 25}}, {"perineural_invasion": "present"},
     {"intravascular_invasion": "present"}, {"margins": "positive"}],
)
def test_any_factor_makes_high(change):
    assert classify_risk(F(**{**ALL_ABSENT, **change})).group == "high"


def test_present_factor_wins_over_unknowns():
    r = classify_risk(F(depth="dermal", margins="positive"))
    assert r.group == "high" and "Tumour necrosis" in r.missing


@pytest.mark.parametrize("field", ["necrosis", "perineural_invasion", "margins"])
def test_unknown_factor_is_incomplete_never_low(field):
    r = classify_risk(F(**{**ALL_ABSENT, field: "unknown"}))
    assert r.group == "incomplete" and r.missing
    assert any("planned as high risk" in n for n in r.notes)


def test_mitotic_definitions_differ_at_20():
    f = F(**{**ALL_ABSENT, "mitoses": {"count": 20}})
    assert mitotic_score(f, "fnclcc") == 3 and classify_risk(f, mitotic_definition="fnclcc").group == "high"
    assert mitotic_score(f, "danish-3b") == 1 and classify_risk(f, mitotic_definition="danish-3b").group == "low"
    assert classify_risk(f).mitotic_definition.id == evidence.DEFAULT_MITOTIC_DEFINITION


@pytest.mark.parametrize("count, score", [(0, 1), (9, 1), (9.99, 1), (10, 2), (19, 2), (20, 3), (100, 3)])
def test_fnclcc_bands(count, score):
    assert evidence.MITOTIC_DEFINITIONS["fnclcc"].score(count) == score


def test_per_mm2_is_converted_with_hpf_area():
    # 1.2 per mm2 * 10 HPF * 0.1734 mm2 = 2.08 per 10 HPF -> score 1; 12 per mm2 -> 20.8 -> score 3
    assert mitotic_score(F(mitoses={"count": 1.2, "unit": "per_mm2"})) == 1
    assert mitotic_score(F(mitoses={"count": 12, "unit": "per_mm2"})) == 3


def test_unknown_definition_is_input_error():
    with pytest.raises(InputError, match="mitotic_definition: unknown definition 'who'"):
        classify_risk(F(), mitotic_definition="who")


def _assess(**kw):
    from leiosurv.clinical import assess

    return assess(F(**kw), as_of=dt.date(2024, 4, 1))


@pytest.mark.parametrize("depth", ["subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone"])
def test_non_dermal_is_not_applicable_with_guideline(depth):
    a = _assess(depth=depth, necrosis="present", atypia="marked", immunohistochemistry={"sma": "positive"})
    assert a.risk.group == "not_applicable" and not a.risk.applies and a.risk.conditional_group is None
    assert a.applicability.pathway == "soft_tissue_sarcoma"
    assert a.plan.encounters and all(e.citation.source == evidence.ESMO_2021 for e in a.plan.encounters)
    assert any("decades" in n for n in a.plan.notes)


def test_distant_lesion_not_applicable():
    a = _assess(depth="dermal", distant_lesion="present", history={"prior_aismn": "present"},
                immunohistochemistry={"sma": "positive"})
    assert a.risk.group == "not_applicable" and evidence.text("metastatic") in a.plan.notes


def test_unknown_depth_is_not_a_dermal_group_and_gets_interim_schedule():
    a = _assess(**{**ALL_ABSENT, "depth": "unknown"})
    assert a.risk.group == "not_applicable" and a.applicability.pathway == "undetermined"
    assert a.applicability.interim_sarcoma_schedule and a.plan.encounters
    assert evidence.text("depth_unknown") in a.plan.notes


def test_result_shows_published_risks():
    d = classify_risk(F(**ALL_ABSENT)).model_dump(mode="json")
    assert d["overall_5y"]["metastasis"]["estimate"] == pytest.approx(0.024)
    assert d["overall_5y"]["local_recurrence"]["estimate"] == pytest.approx(0.10)
    nec = d["factors"][0]["published"][0]
    assert d["factors"][0]["factor"] == "necrosis"
    assert nec["present"]["estimate"] == pytest.approx(0.093) and nec["absent"]["upper"] == pytest.approx(0.028)
    assert d["mitotic_definition"]["id"] == "fnclcc" and d["certainty"] == "proposed, exploratory (seed 001)"
    assert "9.3%" in str(classify_risk(F(**ALL_ABSENT)))


def test_rule_implemented_once_vectorised_equals_scalar():
    import numpy as np

    from leiosurv.clinical import rule_group, rule_groups

    codes = {"present": 1.0, "absent": 0.0, "unknown": np.nan}
    rows = [(a, b, c) for a in codes for b in codes for c in codes]
    got = rule_groups(np.array([[codes[x] for x in r] for r in rows]))
    assert list(got) == [rule_group(r) for r in rows]


status = st.sampled_from(["present", "absent", "unknown"])
factor_findings = st.fixed_dictionaries(
    {
        "necrosis": status,
        "perineural_invasion": status,
        "intravascular_invasion": status,
        "margins": st.sampled_from(["positive", "negative", "unknown"]),
        "mitoses": st.one_of(st.just({}), st.builds(lambda c: {"count": c}, st.floats(0, 60, allow_nan=False))),
    }
)


@settings(max_examples=300, deadline=None)
@given(factor_findings,
       st.sampled_from(["necrosis", "perineural_invasion", "intravascular_invasion", "margins", "mitoses"]),
       st.sampled_from(sorted(evidence.MITOTIC_DEFINITIONS)))
def test_adding_a_positive_factor_never_lowers_the_group(kw, factor, definition):
    before = classify_risk(F(depth="dermal", **kw), mitotic_definition=definition).group
    value = {"margins": "positive", "mitoses": {"count": 50}}.get(factor, "present")
    after = classify_risk(F(depth="dermal", **{**kw, factor: value}), mitotic_definition=definition).group
    assert after == "high" and ORDER[after] >= ORDER[before]


@settings(max_examples=300, deadline=None)
@given(factor_findings)
def test_unknown_factor_never_low(kw):
    r = classify_risk(F(depth="dermal", **kw))
    unknown = [f for f in r.factors if f.status == "unknown"]
    if unknown:
        assert r.group != "low"
    if r.group == "low":
        assert all(f.status == "absent" for f in r.factors)


def test_published_dermal_risks_not_shown_where_rule_does_not_apply():
    r = classify_risk(F(depth="subcutaneous", necrosis="present"))
    assert all(f.published == () for f in r.factors) and r.overall_5y == {}
    assert "9.3%" not in str(r)
    assert all(f.published for f in classify_risk(F(depth="dermal")).factors)
