"""Dated surveillance plan (seed 001 Conclusion; ESMO 2021 for non-dermal LMS)."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.clinical import (
    Findings,
    add_months,
    classify_risk,
    decide_pathway,
    diagnose,
    evidence,
    plan_surveillance,
)
from leiosurv.exceptions import InputError

D = dt.date(2024, 1, 31)
LOW = dict(depth="dermal", confirmed_diagnosis="aismn", necrosis="absent", mitoses={"count": 3},
           perineural_invasion="absent",
           intravascular_invasion="absent", margins="negative", history={"prior_leiomyosarcoma": "absent"})


def plan(**kw):
    opts = {k: kw.pop(k) for k in ("imaging_interval_months", "window_days", "plan_years") if k in kw}
    as_of = kw.pop("as_of", dt.date(2024, 2, 1))
    f = Findings(excision_date=kw.pop("excision_date", D), **kw)
    app = decide_pathway(f, diagnose(f))
    return plan_surveillance(f, app, classify_risk(f, app), as_of=as_of, **opts)


def test_low_risk_annual_visits_only():
    """Seed 001: low risk 'could be limited to annual examinations with a general practitioner or dermatologist'."""
    p = plan(**LOW)
    assert [e.month for e in p.encounters] == [12, 24, 36, 48]
    assert [e.due.isoformat() for e in p.encounters] == ["2025-01-31", "2026-01-31", "2027-01-31", "2028-01-31"]
    assert all(e.kind == "clinical visit" and "general practitioner" in e.provider for e in p.encounters)


def test_high_risk_adds_chest_imaging_first_two_years():
    p = plan(**{**LOW, "necrosis": "present"})
    imaging = [e for e in p.encounters if e.kind == "imaging"]
    assert [e.month for e in imaging] == [6, 12, 18, 24]
    assert all(e.modality == "chest CT or PET/CT" for e in imaging)
    assert [e.month for e in p.encounters if e.kind == "clinical visit"] == [6, 12, 24, 36, 48]


def test_imaging_interval_configurable():
    p = plan(**{**LOW, "margins": "positive"}, imaging_interval_months=4)
    assert [e.month for e in p.encounters if e.kind == "imaging"] == [4, 8, 12, 16, 20, 24]


def test_incomplete_is_planned_as_high_with_note():
    p = plan(**{**LOW, "necrosis": "unknown"})
    assert any(e.kind == "imaging" for e in p.encounters)
    assert "incomplete" in p.basis and any("Tumour necrosis" in n for n in p.notes)


def test_window_default_and_configurable():
    e = plan(**LOW).encounters[0]
    assert (e.due - e.window_start).days == evidence.DEFAULT_WINDOW_DAYS == (e.window_end - e.due).days
    e = plan(**LOW, window_days=7).encounters[0]
    assert (e.window_end - e.due).days == 7


def test_non_dermal_guideline_schedule_and_lifelong_note():
    p = plan(depth="deep_soft_tissue", fnclcc_grade="G3", confirmed_diagnosis="lms_nos")
    months = [e.month for e in p.encounters]
    assert months[:4] == [3, 6, 9, 12] and 36 in months and 42 in months and 48 in months and 60 in months
    assert 72 in months and months[-1] == 120 and 66 not in months
    assert any("decades" in n for n in p.notes)
    assert all(e.citation.source is evidence.ESMO_2021 for e in p.encounters)
    low = plan(depth="deep_soft_tissue", fnclcc_grade="G1", plan_years=6, confirmed_diagnosis="lms_nos")
    assert [e.month for e in low.encounters][:3] == [4, 8, 12] and [e.month for e in low.encounters][-2:] == [60, 72]


def test_metastatic_lesion_has_no_invented_schedule():
    p = plan(depth="dermal", distant_lesion="present", confirmed_diagnosis="metastatic_lms")
    assert p.encounters == () and evidence.text("metastatic") in p.notes


def test_stable_ids():
    ids = [e.id for e in plan(**{**LOW, "necrosis": "present"}).encounters]
    assert len(ids) == len(set(ids)) and "visit-m006" in ids and "imaging-m018" in ids


@pytest.mark.parametrize("bad", [{"imaging_interval_months": 0}, {"window_days": -1}, {"plan_years": 0}])
def test_bad_parameters(bad):
    with pytest.raises(InputError, match=next(iter(bad))):
        plan(**LOW, **bad)


def test_add_months_clamps():
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2023, 11, 30), 3) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)


status = st.sampled_from(["present", "absent", "unknown"])


@settings(max_examples=300, deadline=None)
@given(
    st.dates(dt.date(1980, 1, 1), dt.date(2025, 12, 31)),
    st.sampled_from(["dermal", "subcutaneous", "deep_soft_tissue", "uterine", "unknown"]),
    status, status, st.sampled_from(["positive", "negative", "unknown"]), status,
    st.integers(1, 12), st.integers(0, 60), st.integers(1, 20),
)
def test_plan_dates_after_excision_and_sorted(day, depth, nec, pni, margins, distant, interval, window, years):
    p = plan(excision_date=day, as_of=day, depth=depth, necrosis=nec, perineural_invasion=pni, margins=margins,
             distant_lesion=distant, imaging_interval_months=interval, window_days=window, plan_years=years)
    dues = [e.due for e in p.encounters]
    assert all(d > day for d in dues) and dues == sorted(dues)
    assert all(e.window_start <= e.due <= e.window_end for e in p.encounters)
    assert len({e.id for e in p.encounters}) == len(p.encounters)
    assert all(e.status in ("due", "upcoming") for e in p.encounters if e.window_start > day)


@settings(max_examples=100, deadline=None)
@given(st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1)))
def test_status_follows_as_of(as_of):
    p = plan(**{**LOW, "necrosis": "present"}, as_of=as_of)
    for e in p.encounters:
        want = "past" if e.window_end < as_of else ("due" if e.window_start <= as_of else "upcoming")
        assert e.status == want
    assert p.all_past == all(e.status == "past" for e in p.encounters)


def test_add_months_equals_the_calendar_formula_on_every_day():
    """add_months skips the calendar look-up for days 1-28; every day of 1999-2001 and 2023-2025 (leap years
    among them), by every shift a plan uses, against the calendar formula."""
    import calendar

    def reference(day: dt.date, months: int) -> dt.date:
        y, m = divmod(day.month - 1 + months, 12)
        year, month = day.year + y, m + 1
        return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

    for start in (dt.date(1999, 1, 1), dt.date(2023, 1, 1)):
        for k in range(3 * 366):
            day = start + dt.timedelta(days=k)
            for months in (0, 1, 3, 6, 11, 12, 13, 18, 24, 36, 48, 60, 120):
                assert add_months(day, months) == reference(day, months), (day, months)
