"""Alerts (overdue, due, surveillance gaps) and timelines, on the published cases and constructed ones."""

import datetime as dt

from leiosurv.registry import alerts_frame

D = dt.date
HIGH = {"excision_date": "2020-01-15", "depth": "dermal", "margins": "positive"}


def test_seed000_gap_flagged_as_of_2023(demo):
    a = demo.alerts(D(2023, 1, 1))
    gaps = [x for x in a if x.kind == "gap"]
    assert len(gaps) == 1
    g = gaps[0]
    assert (g.patient, g.item, g.date) == ("SEED-000", "hepatic-mass", D(2019, 7, 1))
    assert g.days == (D(2023, 1, 1) - D(2019, 7, 1)).days and "OPEN GAP" in g.detail
    assert [x for x in a if x.kind != "gap"] == []  # the retrospective plans are not tracked before 2018/2023


def test_no_gap_while_imaging_is_on_time(demo):
    assert [x for x in demo.alerts(D(2019, 12, 1)) if x.kind == "gap"] == []


def test_seed000_gap_flagged_as_soon_as_the_2023_pet_is_entered(reg):
    reg.add_patient("P")
    reg.add_observation("P", "liver", "hepatic mass", D(2018, 7, 1), 365, as_of=D(2018, 7, 1))
    reg.record_encounter("P", date=D(2019, 7, 1), modality_class="imaging", observation="liver", as_of=D(2019, 7, 1))
    assert [x for x in reg.alerts(D(2019, 7, 2)) if x.kind == "gap"] == []
    reg.record_encounter("P", date=D(2023, 8, 15), modality_class="imaging", observation="liver",
                         as_of=D(2023, 8, 15))
    gaps = [x for x in reg.alerts(D(2023, 8, 15)) if x.kind == "gap"]
    assert len(gaps) == 1 and "from 2019-07-01 to 2023-08-15" in gaps[0].detail
    assert "OPEN" not in gaps[0].detail


def test_overdue_and_due(reg):
    reg.add_patient("P")
    reg.add_tumour("P", "T", HIGH, as_of=D(2020, 2, 1))
    # first items due 2020-07-15, window +/- 30 days
    a = reg.alerts(D(2020, 7, 1), due_within=30)
    assert {(x.kind, x.item) for x in a} == {("due", "visit-m006"), ("due", "imaging-m006")}
    assert reg.alerts(D(2020, 6, 1), due_within=30) == []
    a = reg.alerts(D(2020, 8, 20), due_within=0)
    assert {(x.kind, x.item) for x in a} == {("overdue", "visit-m006"), ("overdue", "imaging-m006")}
    reg.record_encounter("P", date=D(2020, 7, 10), plan_item="visit-m006", as_of=D(2020, 7, 10))
    a = reg.alerts(D(2020, 8, 20), due_within=0)
    assert {(x.kind, x.item) for x in a} == {("overdue", "imaging-m006")}
    assert list(alerts_frame(a).columns)[:3] == ["kind", "patient", "tumour"]


def test_plan_imaging_gap(reg):
    reg.add_patient("P")
    reg.add_tumour("P", "T", HIGH, as_of=D(2020, 2, 1))
    reg.record_encounter("P", date=D(2020, 7, 15), plan_item="imaging-m006", as_of=D(2020, 7, 15))
    assert not [x for x in reg.alerts(D(2020, 12, 1)) if x.kind == "gap"]
    # the plan allows its longest imaging spacing (6 months) plus both 30-day windows
    late = D(2020, 7, 15) + dt.timedelta(days=184 + 60 + 1)
    gaps = [x for x in reg.alerts(late) if x.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].item == "plan imaging" and gaps[0].tumour == "T"


def test_timeline_seed000_in_order_with_26_year_latency(demo):
    tl = demo.timeline("SEED-000")
    dates = list(tl.table["date"])
    assert dates == sorted(dates)
    assert tl.primary == D(1997, 7, 1)
    lat = tl.latencies()
    first_met = lat[lat["what"] == "metastasis"].iloc[0]
    assert first_met["date"] == D(2023, 7, 1) and round(first_met["latency_years"]) == 26
    assert lat.iloc[-1]["what"] == "death"
    text = str(tl)
    assert text.index("1997-07-01") < text.index("2018-07-01") < text.index("2019-07-01") < text.index("2023-07-01")
    assert "gemcitabine" in text


def test_timeline_seed004(demo):
    tl = demo.timeline("SEED-004")
    lat = tl.latencies()
    assert list(lat["latency_years"]) == [2.0, 3.0]
    assert "docetaxel and gemcitabine" in str(tl)


def test_timeline_figure(demo, tmp_path):
    fig = demo.timeline("SEED-000").plot()
    out = tmp_path / "t.png"
    fig.savefig(out)
    assert out.stat().st_size > 5000


def test_timeline_planned(reg):
    reg.add_patient("P")
    reg.add_tumour("P", "T", HIGH, as_of=D(2020, 2, 1))
    assert len(reg.timeline("P").table) == 2
    assert len(reg.timeline("P", include_planned=True).table) == 2 + 9


def test_long_overdue_encounters_are_counted_not_listed(reg):
    reg.add_patient("P")
    reg.add_tumour("P", "T", HIGH, as_of=D(2020, 2, 1))  # 9 items, the last window closes 2024-02-14
    a = reg.alerts(D(2025, 1, 1), lookback_days=365)
    lost = [x for x in a if x.kind == "lost"]
    assert len(lost) == 1 and lost[0].days == 8 and "8 planned encounters" in lost[0].detail
    assert {x.item for x in a if x.kind == "overdue"} == {"visit-m048"}
    every = reg.alerts(D(2025, 1, 1), lookback_days=None)
    assert sum(x.kind == "overdue" for x in every) == 9 and not [x for x in every if x.kind == "lost"]
