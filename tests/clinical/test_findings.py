"""Findings model: validation at the boundary, unknown stays unknown, lossless JSON."""

import datetime as dt

import pytest
from findings_strategies import literal, valid_or_none
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.clinical import Findings, Immunohistochemistry, evidence, parse_findings
from leiosurv.clinical.findings import Degree, Depth, Presence, StainResult
from leiosurv.exceptions import FindingsError

D = dt.date(2024, 3, 1)


def test_defaults_are_unknown_not_negative():
    f = Findings(excision_date=D)
    assert f.necrosis == f.perineural_invasion == f.intravascular_invasion == "unknown"
    assert f.margins == "unknown" and f.depth == "unknown" and f.mitoses.count is None
    assert all(v == "unknown" for _, v in f.immunohistochemistry)


def test_not_done_and_unknown_stay_distinct():
    f = parse_findings({"excision_date": "2024-03-01", "immunohistochemistry": {"sma": "not_done"}})
    assert f.immunohistochemistry.sma == "not_done" and f.immunohistochemistry.desmin == "unknown"
    assert Findings.model_validate_json(f.model_dump_json()) == f


def test_panel_matches_evidence():
    assert set(Immunohistochemistry.model_fields) == set(evidence.STAIN_NAMES)


@pytest.mark.parametrize(
    "data, match",
    [
        ({"excision_date": "2024-03-01", "mitoses": {"count": -3}},
         r"mitoses\.count: .*greater than or equal to 0 \(got -3\)"),
        ({"excision_date": "2024-03-01", "colour": "red"}, r"colour: unknown field \(got 'red'\)"),
        ({"excision_date": "2024-03-01", "immunohistochemistry": {"cd99": "positive"}},
         r"immunohistochemistry\.cd99: unknown field"),
        ({"excision_date": "2099-01-01"}, r"excision_date: excision date 2099-01-01 is in the future"),
        ({"excision_date": "2024-03-01", "necrosis": "maybe"}, r"necrosis: .*\(got 'maybe'\)"),
        ({}, r"excision_date: Field required"),
        ({"excision_date": "2024-03-01", "history": {"prior_leiomyosarcoma_date": "2025-01-01",
                                                     "prior_leiomyosarcoma": "present"}}, r"after the excision date"),
        ({"excision_date": "2024-03-01", "mitoses": {"count": 3, "unit": "per_mm2", "hpf_area_mm2": 0.2}},
         r"hpf_area_mm2 is only meaningful"),
    ],
)
def test_bad_input_names_field_and_value(data, match):
    with pytest.raises(FindingsError, match=match) as info:
        parse_findings(data, today=dt.date(2026, 1, 1))
    assert info.value.errors and all(e.path for e in info.value.errors)


def test_non_mapping_rejected():
    with pytest.raises(FindingsError, match="must be a mapping"):
        parse_findings([1, 2])  # type: ignore[arg-type]


def test_mitoses_conversion():
    f = parse_findings({"excision_date": "2024-03-01", "mitoses": {"count": 1, "unit": "per_mm2"}})
    assert f.mitoses.per_10_hpf(0.1734) == pytest.approx(1.734)
    g = parse_findings({"excision_date": "2024-03-01", "mitoses": {"count": 10, "hpf_area_mm2": 0.3468}})
    assert g.mitoses.per_10_hpf(0.1734) == pytest.approx(5.0)




findings_strategy = st.fixed_dictionaries(dict(
    case_id=st.none() | st.text(max_size=20),
    excision_date=st.dates(dt.date(1980, 1, 1), dt.date(2025, 12, 31)),
    site=st.none() | st.text(max_size=30),
    depth=literal(Depth),
    size_mm=st.none() | st.floats(0.1, 500, allow_nan=False),
    atypia=literal(Degree),
    pleomorphism=literal(Degree),
    mitoses=st.fixed_dictionaries(
        {"count": st.none() | st.floats(0, 200, allow_nan=False), "unit": st.sampled_from(["per_10_hpf", "per_mm2"])}
    ),
    necrosis=literal(Presence),
    perineural_invasion=literal(Presence),
    intravascular_invasion=literal(Presence),
    margins=st.sampled_from(["negative", "positive", "unknown"]),
    immunohistochemistry=st.fixed_dictionaries({k: literal(StainResult) for k in list(evidence.STAIN_NAMES)[:8]}),
    distant_lesion=literal(Presence),
    patient=st.fixed_dictionaries({"age_years": st.none() | st.integers(0, 130),
                                   "sex": st.sampled_from(["female", "male", "other", "unknown"])}),
    history=st.fixed_dictionaries({
        "prior_leiomyosarcoma": st.sampled_from(["present", "unknown"]),
        "prior_leiomyosarcoma_date": st.none() | st.dates(dt.date(1950, 1, 1), dt.date(1979, 12, 31)),
        "prior_leiomyosarcoma_depth": literal(Depth),
        "prior_aismn": literal(Presence),
    }),
    fnclcc_grade=st.sampled_from(["G1", "G2", "G3", "unknown"]),
    margin_distance_mm=st.none() | st.just(0.0),
)).map(valid_or_none).filter(lambda f: f is not None)


@settings(max_examples=200, deadline=None)
@given(findings_strategy)
def test_json_round_trip_is_lossless(f):
    assert Findings.model_validate_json(f.model_dump_json()) == f
    assert parse_findings(f.model_dump(mode="json")) == f
