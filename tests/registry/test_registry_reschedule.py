"""Rescheduling a plan item: a still-planned item of a living patient gets a new due date and the window the
clinical core makes around it; the previous version is kept in the history; the alerts see the new date.
Each test runs on SQLite and on PostgreSQL."""

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.clinical import evidence
from leiosurv.exceptions import NotFoundError, RegistryError
from leiosurv.registry import _tables as T

D = dt.date
HIGH = {"excision_date": "2020-01-15", "depth": "dermal", "margins": "positive"}
DX = D(2020, 1, 15)
TODAY = D(2020, 6, 1)
W = dt.timedelta(days=evidence.DEFAULT_WINDOW_DAYS)


def _items(reg, p="P"):
    return {e["plan_item"]: e for e in reg.patient_record(p).to_dict()["encounters"] if e["origin"] == "planned"}


@pytest.fixture
def patient(reg):
    reg.add_patient("P", sex="female", name="Ann Example", birth_date="1950-01-02")
    reg.add_tumour("P", "T", HIGH, as_of=D(2020, 2, 1))
    return reg


def _nothing_written(reg, before):
    assert reg.patient_record("P").to_dict() == before
    assert reg.history_of("P") == []


def test_reschedule_moves_the_due_date_and_the_window_and_keeps_the_previous_version(patient):
    reg = patient
    old = _items(reg)["visit-m006"]
    assert (D.fromisoformat(old["due"]) - D.fromisoformat(old["window_start"])) == W  # the plan's window width
    eid = reg.reschedule("P", "visit-m006", "2020-09-01", reason="patient abroad in July", by="dr. a",
                         tumour="T", as_of=TODAY)
    assert eid == old["id"]
    new = _items(reg)["visit-m006"]
    assert (new["status"], new["due"], new["window_start"], new["window_end"]) == (
        "planned", "2020-09-01", (D(2020, 9, 1) - W).isoformat(), (D(2020, 9, 1) + W).isoformat())
    # nothing else of the item or the plan changed
    assert {k: v for k, v in new.items() if k not in ("due", "window_start", "window_end")} == \
        {k: v for k, v in old.items() if k not in ("due", "window_start", "window_end")}
    others = {k: v for k, v in _items(reg).items() if k != "visit-m006"}
    h = reg.history_of("P")
    assert [(x.table, x.record, x.action, x.reason, x.by, x.entered_on) for x in h] == [
        ("encounter", eid, "corrected", "rescheduled from 2020-07-15 to 2020-09-01: patient abroad in July", "dr. a",
         TODAY)]
    assert (h[0].previous["due"], h[0].previous["window_start"], h[0].previous["window_end"]) == (
        old["due"], old["window_start"], old["window_end"])
    # a second reschedule keeps both previous versions, in order; the first tumour is the default
    reg.reschedule("P", "visit-m006", D(2020, 8, 1), reason="earlier slot", by="nurse b", as_of=TODAY)
    assert [x.previous["due"] for x in reg.history_of("P")] == ["2020-07-15", "2020-09-01"]
    assert _items(reg)["visit-m006"]["due"] == "2020-08-01"
    assert {k: v for k, v in _items(reg).items() if k != "visit-m006"} == others


def test_the_window_is_as_wide_as_the_windows_of_the_items_plan(patient):
    """The width comes from the stored plan's parameters (the evidence's value when it was made), not from a
    number in the registry: a plan stored with 14-day windows gives a rescheduled item a 14-day window."""
    reg = patient
    with reg.engine.begin() as c:
        a = c.execute(sa.select(T.assessment.c.id, T.assessment.c.result)).one()
        assert '"window_days":30' in a.result
        c.execute(sa.update(T.assessment).where(T.assessment.c.id == a.id)
                  .values(result=a.result.replace('"window_days":30', '"window_days":14')))
    reg.reschedule("P", "visit-m006", "2020-09-01", reason="r", by="b", as_of=TODAY)
    e = _items(reg)["visit-m006"]
    assert (e["window_start"], e["window_end"]) == ("2020-08-18", "2020-09-15")
    reg.reschedule("P", "visit-m006", "2020-09-02", reason="x" * 1999 + "\n", by="b" * 64, as_of=TODAY)  # maxima


def test_alerts_see_the_new_date_at_the_edges_of_its_window(patient):
    reg = patient
    overdue = lambda day: [a.item for a in reg.alerts(day) if a.kind == "overdue"]  # noqa: E731
    due = lambda day, n=30: [a.item for a in reg.alerts(day, due_within=n) if a.kind == "due"]  # noqa: E731
    day = D(2020, 8, 20)  # visit-m006's window closed on 2020-08-14
    assert "visit-m006" in overdue(day)
    reg.reschedule("P", "visit-m006", "2020-09-10", reason="r", by="b", as_of=day)
    assert "visit-m006" not in overdue(day)
    assert "visit-m006" in due(day, 21) and "visit-m006" not in due(day, 20)  # due in 21 days
    end = D(2020, 9, 10) + W
    assert "visit-m006" not in overdue(end)  # the last day of the new window: still due, not overdue
    assert "visit-m006" in due(end, 0)
    assert "visit-m006" in overdue(end + dt.timedelta(days=1))  # the day after it: overdue
    assert "visit-m006" not in due(end + dt.timedelta(days=1), 3650)


@pytest.mark.parametrize("days_after_window", [0, 1])
def test_an_item_is_rescheduled_on_the_day_its_window_ends_and_the_day_after(patient, days_after_window):
    """Still planned on the last day of its window (due) and the day after (overdue): either may be moved."""
    reg = patient
    end = D.fromisoformat(_items(reg)["visit-m006"]["window_end"])
    day = end + dt.timedelta(days=days_after_window)
    kinds = {a.kind for a in reg.alerts(day, due_within=0) if a.item == "visit-m006"}
    assert kinds == ({"due"} if days_after_window == 0 else {"overdue"})
    reg.reschedule("P", "visit-m006", day + dt.timedelta(days=7), reason="r", by="b", as_of=day)
    assert {a.kind for a in reg.alerts(day, due_within=7) if a.item == "visit-m006"} == {"due"}


def test_reschedule_to_the_diagnosis_date_is_accepted_and_a_day_before_refused(patient):
    reg = patient
    before = reg.patient_record("P").to_dict()
    message = r"^date: 2020-01-14 is before the diagnosis of tumour 'T' \(2020-01-15\)$"
    with pytest.raises(RegistryError, match=message) as exc:
        reg.reschedule("P", "visit-m006", DX - dt.timedelta(days=1), reason="r", by="b", as_of=TODAY)
    assert (exc.value.field, exc.value.patient) == ("date", "P")
    _nothing_written(reg, before)
    reg.reschedule("P", "visit-m006", DX, reason="seen at once", by="b", as_of=TODAY)
    e = _items(reg)["visit-m006"]
    assert (e["due"], e["window_start"], e["window_end"]) == ("2020-01-15", (DX - W).isoformat(),
                                                             (DX + W).isoformat())


@pytest.mark.parametrize(("value", "message"), [
    ("1899-12-31", r"^date: before 1900-01-01 \(got '1899-12-31'\)$"),
    ("2200-01-01", r"^date: after 2199-12-31, the latest date the registry accepts \(got '2200-01-01'\)$"),
    ("20200901", r"^date: not a date YYYY-MM-DD \(got '20200901'\)$"),
    ("2020-02-30", r"^date: not a date YYYY-MM-DD"),
    ("", r"^date: not a date YYYY-MM-DD"),
])
def test_dates_beyond_the_registrys_bounds_are_refused(patient, value, message):
    reg = patient
    before = reg.patient_record("P").to_dict()
    with pytest.raises(RegistryError, match=message) as exc:
        reg.reschedule("P", "visit-m006", value, reason="r", by="b", as_of=TODAY)
    assert (exc.value.field, exc.value.patient) == ("date", "P")
    _nothing_written(reg, before)


def test_the_latest_date_is_accepted(patient):
    patient.reschedule("P", "visit-m006", "2199-12-31", reason="r", by="b", as_of=TODAY)
    e = _items(patient)["visit-m006"]
    assert (e["due"], e["window_end"]) == ("2199-12-31", (D(2199, 12, 31) + W).isoformat())


def test_a_deceased_patient_is_refused(patient):
    reg = patient
    reg.record_event("P", "death", D(2020, 5, 1), as_of=TODAY)
    before = reg.patient_record("P").to_dict()
    with pytest.raises(RegistryError, match=r"^patient 'P': recorded as deceased on 2020-05-01; nothing of the plan "
                                            r"is rescheduled$") as exc:
        reg.reschedule("P", "visit-m012", "2021-03-01", reason="r", by="b", as_of=TODAY)
    assert (exc.value.field, exc.value.patient) == ("patient", "P")
    _nothing_written(reg, before)


@pytest.mark.parametrize("status", ["done", "missed", "cancelled"])
def test_an_item_not_planned_is_refused(patient, status):
    reg = patient
    reg.record_encounter("P", date="2020-07-15", plan_item="visit-m006", status=status, as_of=D(2020, 8, 1))
    before = reg.patient_record("P").to_dict()
    with pytest.raises(RegistryError, match=rf"^plan_item: 'visit-m006' of tumour 'T' is {status}.*, not planned: "
                                            "only a planned item is rescheduled$") as exc:
        reg.reschedule("P", "visit-m006", "2020-09-01", reason="r", by="b", as_of=D(2020, 8, 1))
    assert (exc.value.field, exc.value.patient) == ("plan_item", "P")
    _nothing_written(reg, before)


def test_an_item_replaced_by_a_re_plan_is_refused(patient):
    reg = patient
    reg.record_event("P", "metastasis", D(2020, 5, 1), site="lung", as_of=TODAY)
    with pytest.raises(RegistryError, match=r"^plan_item: 'visit-m006' of tumour 'T' is cancelled \(replaced: "
                                            r"replan metastasis on 2020-05-01\), not planned") as exc:
        reg.reschedule("P", "visit-m006", "2020-09-01", reason="r", by="b", as_of=TODAY)
    assert exc.value.field == "plan_item"


def test_unknown_item_tumour_or_patient_is_not_found(patient):
    reg = patient
    with pytest.raises(NotFoundError, match=r"^plan_item: tumour 'T' of patient 'P' has no plan item 'visit-m007'$"):
        reg.reschedule("P", "visit-m007", "2020-09-01", reason="r", by="b", as_of=TODAY)
    with pytest.raises(NotFoundError, match="no such tumour") as exc:
        reg.reschedule("P", "visit-m006", "2020-09-01", tumour="T9", reason="r", by="b", as_of=TODAY)
    assert (exc.value.field, exc.value.patient) == ("tumour", "P")
    with pytest.raises(NotFoundError):
        reg.reschedule("Q", "visit-m006", "2020-09-01", reason="r", by="b", as_of=TODAY)


@pytest.mark.parametrize(("kw", "message"), [
    ({"reason": " "}, "reason: a reschedule needs its reason"),
    ({"by": ""}, "by: a reschedule names who makes it"),
    ({"reason": "a\x00b"}, r"reason: must not hold control characters \(found U\+0000\)"),
    ({"reason": "x" * 2001}, r"reason: at most 2000 characters \(got 2001\)"),
    ({"by": "dr.\nb"}, r"by: must not hold control characters \(found U\+000A\)"),
    ({"by": "b" * 65}, r"by: at most 64 characters \(got 65\)"),
])
def test_reason_and_user_are_required_and_the_same_date_changes_nothing(patient, kw, message):
    """A NUL in the reason or an over-long user name is refused as one line on both databases (PostgreSQL
    would otherwise refuse the history row with a database error)."""
    reg = patient
    before = reg.patient_record("P").to_dict()
    with pytest.raises(RegistryError, match=f"^{message}$") as exc:
        reg.reschedule("P", "visit-m006", "2020-09-01", **{"reason": "r", "by": "b", **kw}, as_of=TODAY)
    assert exc.value.field == message.split(":")[0]
    with pytest.raises(RegistryError, match=f"^{message.replace('reschedule', 'correction')}$"):
        reg.correct("P", "patient", sex="male", **{"reason": "r", "by": "b", **kw}, as_of=TODAY)
    with pytest.raises(RegistryError, match=r"^date: 'visit-m006' of tumour 'T' is already due on 2020-07-15$"):
        reg.reschedule("P", "visit-m006", "2020-07-15", reason="r", by="b", as_of=TODAY)
    _nothing_written(reg, before)


def test_preview_shows_the_rescheduled_record_and_writes_nothing(patient):
    reg = patient
    before = reg.patient_record("P").to_dict()
    after = reg.preview("P", "reschedule", "encounter", reason="r", by="b", as_of=TODAY, plan_item="visit-m006",
                        date="2020-09-01", tumour="T").to_dict()
    e = next(x for x in after["encounters"] if x["plan_item"] == "visit-m006")
    assert (e["due"], e["window_end"]) == ("2020-09-01", (D(2020, 9, 1) + W).isoformat())
    _nothing_written(reg, before)
    with pytest.raises(RegistryError, match="before the diagnosis"):
        reg.preview("P", "reschedule", "encounter", reason="r", by="b", as_of=TODAY, plan_item="visit-m006",
                    date="2019-01-01")
    with pytest.raises(RegistryError) as exc:
        reg.preview("P", "reschedule", "event", reason="r", by="b", plan_item="visit-m006", date="2020-09-01")
    assert exc.value.field == "action"
    _nothing_written(reg, before)


def test_the_rescheduled_item_is_recorded_and_closed_by_a_death_by_its_new_window(patient):
    reg = patient
    reg.reschedule("P", "visit-m006", "2020-09-01", reason="r", by="b", as_of=TODAY)
    reg.reschedule("P", "visit-m012", "2020-10-01", reason="r", by="b", as_of=TODAY)
    eid = reg.record_encounter("P", date="2020-09-03", plan_item="visit-m006", as_of=D(2020, 9, 3))
    e = _items(reg)["visit-m006"]
    assert (e["id"], e["status"], e["done_on"], e["due"]) == (eid, "done", "2020-09-03", "2020-09-01")
    # visit-m012's new window ends 2020-10-31: a death on 2020-11-01 finds it closed (missed), on 2020-10-31 open
    death = reg.record_event("P", "death", D(2020, 10, 31), as_of=D(2020, 11, 5))
    assert _items(reg)["visit-m012"]["status"] == "cancelled"
    reg.correct("P", "event", death, date="2020-11-01", reason="one day off", by="b", as_of=D(2020, 11, 5))
    assert _items(reg)["visit-m012"]["status"] == "missed"


# --- the command line -----------------------------------------------------------------------------------------

def _cli(capsys, db, *args) -> tuple[int, str, str]:
    from leiosurv.interfaces.cli import main

    code = main(["registry", "--db", db, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_reschedule_prints_the_new_window_and_refuses_in_one_line(db_url, capsys):
    from leiosurv.registry import Registry

    reg = Registry(db_url, create=True)
    reg.add_patient("P")
    reg.add_tumour("P", "T", HIGH, as_of=D(2020, 2, 1))
    base = ("reschedule", "P", "visit-m006", "--reason", "patient abroad", "--by", "dr. a", "--as-of", "2020-06-01")
    code, out, err = _cli(capsys, db_url, *base, "--date", "2020-09-01", "--tumour", "T")
    assert (code, err) == (0, "")
    assert out == "Rescheduled visit-m006 of P (tumour T) to 2020-09-01, window 2020-08-02 to 2020-10-01.\n"
    code, out, _ = _cli(capsys, db_url, "history", "P")
    assert "corrected encounter 1 by dr. a: rescheduled from 2020-07-15 to 2020-09-01: patient abroad" in out
    before = reg.patient_record("P").to_dict()
    for args, message in [
        (("--date", "2020-01-14"), "RegistryError: date: 2020-01-14 is before the diagnosis of tumour 'T' "
                                   "(2020-01-15)"),
        (("--date", "9999-12-31"), "RegistryError: date: after 2199-12-31, the latest date the registry accepts "
                                   "(got '9999-12-31')"),
        (("--date", "2020-9-1"), "RegistryError: date: not a date YYYY-MM-DD (got '2020-9-1')"),
        (("--date", "2020-10-01", "--tumour", "T2"), "NotFoundError: tumour 'T2' of patient 'P': no such tumour"),
    ]:
        code, out, err = _cli(capsys, db_url, *base, *args)
        assert (code, out) == (2, "")
        assert err.strip() == message and "\n" not in err.strip()
    code, out, err = _cli(capsys, db_url, "reschedule", "P", "visit-m006", "--date", "2020-10-01", "--by", "b")
    assert code == 2 and "Missing option '--reason'" in err and "Traceback" not in err
    assert reg.patient_record("P").to_dict() == before and len(reg.history_of("P")) == 1
    reg.close()


@pytest.mark.parametrize("window_days", [0, 14, evidence.DEFAULT_WINDOW_DAYS])
def test_the_plans_own_windows_are_encounter_window(window_days):
    """The core makes its plan's windows with the function a reschedule uses (one rule for both)."""
    from leiosurv.clinical import assess, parse_findings
    from leiosurv.clinical.surveillance import encounter_window

    a = assess(parse_findings(HIGH, today=D(2020, 2, 1)), as_of=D(2020, 2, 1), window_days=window_days)
    assert len(a.plan.encounters) > 5 and a.plan.parameters["window_days"] == window_days
    for e in a.plan.encounters:
        assert (e.window_start, e.window_end) == encounter_window(e.due, window_days)
        assert (e.window_end - e.due).days == window_days


# --- the transition itself, on charts (no database): its invariants over any date --------------------------

def _chart():
    from leiosurv.registry._service import add_tumour, new_patient

    return add_tumour(new_patient("P"), "T", HIGH, as_of=D(2020, 2, 1))


_CHART = None


def _base():
    global _CHART
    if _CHART is None:
        _CHART = _chart()
    return _CHART


@settings(max_examples=150, deadline=None)
@given(due=st.dates(min_value=D(1900, 1, 1), max_value=D(2199, 12, 31)), k=st.integers(0, 30),
       days=st.integers(0, 60))
def test_reschedule_invariants(due, k, days):
    """For any new date and any planned item: on or after the diagnosis, only that item's due date and window
    change, the window is ``due ± window_days`` and the history holds the previous version; before it, refused
    and nothing changes."""
    from leiosurv.registry import _plan

    chart = _base()
    planned = [e for e in chart.encounters if e.status == "planned"]
    item = planned[k % len(planned)]
    row = _plan.planned_item(chart, item.plan_item, chart.tumours[0])
    assert row is item
    if due < DX or due == item.due:
        with pytest.raises(RegistryError) as exc:
            _plan.reschedule(chart, row, due, window_days=days, reason="r", by="b", on=TODAY)
        assert exc.value.field == "date"
        return
    after = _plan.reschedule(chart, row, due, window_days=days, reason="r", by="b", on=TODAY)
    w = dt.timedelta(days=days)
    moved = [(a, b) for a, b in zip(chart.encounters, after.encounters, strict=True) if a is not b]
    assert len(moved) == 1 and moved[0][0] is item
    new = moved[0][1]
    assert (new.due, new.window_start, new.window_end) == (due, due - w, due + w)
    assert dataclasses.replace(new, due=item.due, window_start=item.window_start, window_end=item.window_end) == item
    assert len(after.history) == len(chart.history) + 1 and after.history[-1].previous is item
    assert after.tumours == chart.tumours and after.events == chart.events
