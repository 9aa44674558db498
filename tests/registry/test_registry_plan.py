"""The plan state machine and the alerts at their edges: moving a boundary by one day fails a test here.

* death: an item whose window closed *before* the death is missed, every other planned item cancelled
  (``window_end < death``), whichever was entered first, the tumour or the death;
* a dead patient has no planned item and no alert, even for a tumour registered after the death;
* alerts: *due* from ``due - due_within`` days, still due on the window's last day, *overdue* from the day
  after the window's end (not after the due date), listed for ``lookback_days`` after that, then counted.
"""

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.registry import _plan
from leiosurv.registry import _tables as T
from leiosurv.registry._service import add_event, add_tumour, new_patient

D = dt.date
DAY = dt.timedelta(days=1)
HIGH = {"excision_date": "2020-01-15", "depth": "dermal", "margins": "positive"}
AS_OF = D(2020, 2, 1)


def _items(reg, patient="P"):
    with reg.engine.connect() as c:
        return c.execute(sa.select(T.encounter).join(T.patient, T.patient.c.id == T.encounter.c.patient_id)
                         .where(T.patient.c.pseudonym == patient, T.encounter.c.origin == "planned")
                         .order_by(T.encounter.c.due, T.encounter.c.plan_item)).all()


@pytest.fixture
def first(reg):
    """A patient with a high-risk plan; its first item (due, window start, window end)."""
    reg.add_patient("P", sex="female")
    reg.add_tumour("P", "T", HIGH, as_of=AS_OF)
    it = _items(reg)[0]
    assert (it.due, it.window_start, it.window_end) == (D(2020, 7, 15), D(2020, 6, 15), D(2020, 8, 14))
    return it


# --- death ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset, status", [(0, "cancelled"), (1, "missed")])
def test_death_on_and_after_the_window_end(reg, first, offset, status):
    """Death on the window's last day: the item was still open (cancelled); the day after: missed."""
    death = first.window_end + offset * DAY
    reg.record_event("P", "death", death, as_of=death)
    it = _items(reg)[0]
    assert (it.plan_item, it.status) == (first.plan_item, status)
    assert it.status_reason == {"cancelled": "patient died", "missed": "window closed before death"}[status]
    for i in _items(reg):
        assert i.status == ("missed" if i.window_end < death else "cancelled")


@pytest.mark.parametrize("offset, status", [(0, "cancelled"), (1, "missed")])
def test_tumour_registered_after_the_death_is_closed_alike(reg, offset, status):
    """The death entered first, then a tumour diagnosed before it: its items are closed as the death closes
    them (never left planned: a dead patient is not alerted)."""
    reg.add_patient("P", sex="female")
    death = D(2020, 8, 14) + offset * DAY  # the first item's window end (see ``first``) + offset
    reg.record_event("P", "death", death, as_of=death)
    reg.add_tumour("P", "T", HIGH, as_of=D(2021, 2, 1))
    items = _items(reg)
    assert items[0].window_end == D(2020, 8, 14) and items[0].status == status
    for i in items:
        assert i.status == ("missed" if i.window_end < death else "cancelled")
    assert reg.alerts(D(2021, 6, 1)) == [] and reg.alerts(D(2020, 8, 1)) == []


def test_a_dead_patient_is_not_alerted(reg):
    """The reported case: death recorded, then a tumour diagnosed before it; no overdue item after the death."""
    reg.add_patient("P", sex="female")
    reg.record_event("P", "death", D(2022, 3, 1), as_of=D(2022, 3, 1))
    reg.add_tumour("P", "T", HIGH, as_of=D(2022, 4, 1))
    assert [i for i in _items(reg) if i.status == "planned"] == []
    for day in (D(2022, 3, 2), D(2022, 6, 1), D(2023, 1, 1)):
        assert [a for a in reg.alerts(day, lookback_days=None) if a.patient == "P"] == []


def _chart_statuses(chart):
    return sorted((e.plan_item, e.due, e.status, e.status_reason) for e in chart.encounters)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2000))
def test_death_and_registration_commute(days):
    """Pure state machine: the plan after (tumour, death) equals the plan after (death, tumour), for any death
    date from the diagnosis on."""
    death = D(2020, 1, 15) + days * DAY
    as_of = max(death, D(2020, 2, 1))
    base = new_patient("P", sex="female")
    a = add_event(add_tumour(base, "T", HIGH, as_of=as_of), "death", death, as_of=as_of)
    b = add_tumour(add_event(base, "death", death, as_of=as_of), "T", HIGH, as_of=as_of)
    assert _chart_statuses(a) == _chart_statuses(b)
    assert all(e.status != "planned" for e in a.encounters)
    for e in a.encounters:
        assert e.status == ("missed" if e.window_end < death else "cancelled")


def test_voided_death_reopens_what_it_closed_and_a_re_dated_one_closes_again(reg, first):
    death = first.window_end + DAY
    eid = reg.record_event("P", "death", death, as_of=death)
    assert _items(reg)[0].status == "missed"
    reg.correct("P", "event", eid, date=first.window_end, reason="date typo", by="dr a", as_of=D(2021, 1, 1))
    assert [i.status for i in _items(reg)] == ["cancelled"] * len(_items(reg))
    reg.void("P", "event", eid, reason="wrong patient", by="dr a", as_of=D(2021, 1, 1))
    assert [i.status for i in _items(reg)] == ["planned"] * len(_items(reg))
    assert [(h.action, h.previous["date"]) for h in reg.history_of("P")] == [
        ("corrected", death.isoformat()), ("voided", first.window_end.isoformat())]


# --- alerts at their edges ------------------------------------------------------------------------------------


def _kinds(reg, as_of, **kw):
    return {(a.kind, a.item) for a in reg.alerts(as_of, **kw) if a.patient == "P"}


@pytest.mark.parametrize("due_within", [30, 7, 0])
def test_due_horizon_to_the_day(reg, first, due_within):
    """Due from exactly *due_within* days before the due date; not a day earlier."""
    on = first.due - due_within * DAY
    kw = {} if due_within == 30 else {"due_within": due_within}
    assert ("due", first.plan_item) in _kinds(reg, on, **kw)
    assert ("due", first.plan_item) not in _kinds(reg, on - DAY, **kw)
    a = next(a for a in reg.alerts(on, **kw) if a.item == first.plan_item)
    assert a.days == due_within


def test_overdue_from_the_day_after_the_window_end_not_the_due_date(reg, first):
    for day in (first.due, first.due + DAY, first.window_end):  # due and still open: due, not overdue
        k = _kinds(reg, day)
        assert ("due", first.plan_item) in k and ("overdue", first.plan_item) not in k, day
    k = _kinds(reg, first.window_end + DAY)
    assert ("overdue", first.plan_item) in k and ("due", first.plan_item) not in k
    a = next(a for a in reg.alerts(first.window_end + DAY) if a.item == first.plan_item)
    assert a.days == 1


def test_overdue_listed_for_the_lookback_then_counted(reg, first):
    last = first.window_end + 365 * DAY  # the window closed exactly lookback_days before
    assert ("overdue", first.plan_item) in _kinds(reg, last)
    assert ("overdue", first.plan_item) not in _kinds(reg, last + DAY)
    lost = [a for a in reg.alerts(last + DAY) if a.kind == "lost"]
    assert lost and lost[0].date == first.window_end + DAY
    assert ("overdue", first.plan_item) in _kinds(reg, last + DAY, lookback_days=None)


def test_done_item_is_neither_due_nor_overdue(reg, first):
    reg.record_encounter("P", date=first.due, plan_item=first.plan_item, tumour="T", as_of=first.due)
    for day in (first.due, first.window_end + DAY):
        assert first.plan_item not in {i for _k, i in _kinds(reg, day)}


def test_chart_records_are_frozen():
    chart = new_patient("P")
    with pytest.raises(dataclasses.FrozenInstanceError):
        chart.patient.sex = "male"  # type: ignore[misc]
    assert isinstance(chart.patient.id, _plan.New)
