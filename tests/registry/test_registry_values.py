"""Dates and texts the registry accepts (``registry/_values.py``), the same at every entry point and database.

Before: ``20190105`` and ``2019-W10-1`` imported as dates, an encounter on
0001-01-01 was stored, ``Ann\\x00Smith`` became ``Ann``, a pseudonym with a
newline and a 50 MB note were stored, a tumour label over 64 characters was
stored on SQLite, an Excel date cell was refused, and import errors showed the
values of the name and birth-date columns.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from csv_files import write_csvs

from leiosurv.exceptions import ImportValidationError, InputError, LeiosurvError
from leiosurv.registry import _tables as T
from leiosurv.registry import _values, import_files

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LOW = {"excision_date": "2024-01-15", "depth": "dermal", "margins": "negative"}
AS_OF = _dt.date(2024, 6, 1)


@pytest.mark.parametrize("value", ["20190105", "2019-W10-1", "2019-01-05T00:00", "2019-1-5", " 2019-01-05",
                                   "0001-01-01", "1899-12-31", 20190105])
def test_dates_refused_by_every_method(reg, value):
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", LOW, as_of=AS_OF)
    before = reg.counts()
    calls = [
        lambda: reg.record_event("P1", "local_recurrence", value, as_of=AS_OF),
        lambda: reg.record_treatment("P1", "excision", value, as_of=AS_OF),
        lambda: reg.record_encounter("P1", date=value, as_of=AS_OF),
        lambda: reg.add_observation("P1", "L", "a lesion", value, 90, as_of=AS_OF),
        lambda: reg.add_patient("P2", birth_date=value),
        lambda: reg.add_tumour("P1", "T2", LOW, track_from=value, as_of=AS_OF),
    ]
    for call in calls:
        with pytest.raises(InputError, match=r"(not a date YYYY-MM-DD|before 1900-01-01)"):
            call()
    assert reg.counts() == before


def test_the_earliest_date_is_1900_01_01(reg):
    reg.add_patient("P1", birth_date="1900-01-01")
    with pytest.raises(InputError, match="birth_date: before 1900-01-01$"):
        reg.add_patient("P2", birth_date="1899-12-31")
    assert _values.iso_date("1900-01-01", "d") == _dt.date(1900, 1, 1)
    assert _values.iso_date(_dt.datetime(2019, 1, 5, 0, 0), "d") == _dt.date(2019, 1, 5)


def test_a_birth_date_after_today_or_after_the_diagnosis_is_refused_without_showing_it(reg):
    today = _dt.date.today()
    reg.add_patient("P0", birth_date=today)
    tomorrow = today + _dt.timedelta(days=1)
    with pytest.raises(InputError) as e:
        reg.add_patient("P1", birth_date=tomorrow)
    assert "birth_date: is in the future" in str(e.value) and tomorrow.isoformat() not in str(e.value)
    reg.add_patient("P2", birth_date="2024-01-16")
    with pytest.raises(InputError, match="excision_date: before the patient's birth date$"):
        reg.add_tumour("P2", "T1", LOW, as_of=AS_OF)  # diagnosed 2024-01-15, a day before the birth
    reg.add_patient("P3", birth_date="2024-01-15")
    assert reg.add_tumour("P3", "T1", LOW, as_of=AS_OF).risk_group  # born the day of the excision: accepted


@pytest.mark.parametrize("field", sorted(_values.MAX_CHARS))
def test_each_text_field_holds_exactly_its_maximum(field):
    n = _values.MAX_CHARS[field]
    assert _values.text("x" * n, field) == "x" * n
    with pytest.raises(InputError, match=f"at most {n} characters \\(got {n + 1}\\)"):
        _values.text("x" * (n + 1), field)


@pytest.mark.parametrize("value", ["Ann\x00Smith", "P\n1", "a\tb", "x\x1by", "x\x7fy", "x\x85y"])
def test_control_characters_are_refused_and_the_value_never_shown(reg, value):
    with pytest.raises(InputError, match="must not hold control characters") as e:
        reg.add_patient("P1", name=value)
    assert value not in str(e.value) and "Ann" not in str(e.value)
    with pytest.raises(InputError, match="patient: must not hold control characters"):
        reg.add_patient(value)
    assert reg.patients() == []


def test_line_breaks_only_in_free_text(reg):
    reg.add_patient("P1", note="first line\nsecond line\twith a tab")
    with pytest.raises(InputError, match="note: must not hold control characters"):
        reg.add_patient("P2", note="NUL\x00here")
    reg.add_tumour("P1", "T1", LOW, as_of=AS_OF)
    with pytest.raises(InputError, match="agent: must not hold control characters"):
        reg.record_treatment("P1", "systemic", "2024-02-01", agent="gem\ncitabine", as_of=AS_OF)


def test_over_long_texts_are_refused_on_both_databases(reg):
    with pytest.raises(InputError, match="note: at most 2000 characters"):
        reg.add_patient("P1", note="n" * (50 * 2**20))  # the 50 MB note
    with pytest.raises(InputError, match="patient: at most 64 characters"):
        reg.add_patient("P" * 65)
    reg.add_patient("P1", note="n" * 2000)
    with pytest.raises(InputError, match="label: at most 64 characters"):
        reg.add_tumour("P1", "L" * 65, LOW, as_of=AS_OF)
    reg.add_tumour("P1", "L" * 64, LOW, as_of=AS_OF)
    with pytest.raises(InputError, match="cause: at most 200 characters"):
        reg.record_event("P1", "death", "2024-03-01", cause="c" * 201, as_of=AS_OF)
    with pytest.raises(InputError, match="findings: at most 4000 characters"):
        reg.record_encounter("P1", date="2024-03-01", findings="f" * 4001, as_of=AS_OF)
    assert reg.counts()["event"] == 0 and reg.counts()["tumour"] == 1


def _raw_rows(pid: int, tid: int) -> dict[str, dict]:
    """One valid row per table with text limits, written past the Registry's methods."""
    return {
        "patient": dict(pseudonym="Q", sort_key="q", sex="unknown", synthetic=False, note=""),
        "patient_identity": dict(patient_id=None, name=""),
        "tumour": dict(patient_id=pid, label="T9", diagnosis_date=_dt.date(2020, 1, 1), depth="dermal",
                       findings={}, site="", confirmed_diagnosis=""),
        "treatment": dict(patient_id=pid, tumour_id=tid, kind="systemic", date=_dt.date(2024, 2, 1), agent="x",
                          note=""),
        "event": dict(patient_id=pid, tumour_id=tid, kind="death", date=_dt.date(2024, 5, 1), cause="", note=""),
        "observation": dict(patient_id=pid, label="O", description="", site="", first_seen=_dt.date(2024, 1, 20),
                            max_interval_days=30),
        "encounter": dict(patient_id=pid, origin="ad_hoc", status="done", modality_class="clinical", kind="k",
                          done_on=_dt.date(2024, 1, 20), plan_item="", modality="", provider="", findings=""),
    }


def test_the_database_enforces_the_same_maxima(reg):
    """Migration 0009: for every field of MAX_CHARS, a raw INSERT of the maximum passes and one more is refused
    (a trigger on both, with the same message), and an UPDATE past it too."""
    reg.add_patient("P1")
    reg.add_tumour("P1", "T1", LOW, as_of=AS_OF)
    with reg.engine.connect() as c:
        pid = c.execute(sa.select(T.patient.c.id)).scalar_one()
        tid = c.execute(sa.select(T.tumour.c.id)).scalar_one()
    for field, n in _values.MAX_CHARS.items():
        table, col = field.split(".")
        row = _raw_rows(pid, tid)[table]
        if table == "patient_identity":
            with reg.engine.begin() as c:
                row["patient_id"] = c.execute(sa.insert(T.patient).values(
                    pseudonym=f"I{len(field)}{col}", sort_key="i", sex="unknown", synthetic=False
                ).returning(T.patient.c.id)
                ).scalar_one()
        for length, ok in ((n, True), (n + 1, False)):
            values = {**row, col: "y" * length}
            if table == "patient" and col != "pseudonym":
                values["pseudonym"] = f"Q{length}{col}"
            with reg.engine.connect() as c:
                tx = c.begin()
                if ok:
                    key = c.execute(sa.insert(T.metadata.tables[table]).values(**values)).inserted_primary_key
                    tx.rollback()
                    assert key is not None, field
                else:
                    # PostgreSQL's varchar(n) columns refuse first, in their own words
                    with pytest.raises((sa.exc.IntegrityError, LeiosurvError),
                                       match=f"leiosurv: {field}: at most {n} characters|character varying\\({n}\\)"):
                        c.execute(sa.insert(T.metadata.tables[table]).values(**values))
                    tx.rollback()
    with reg.engine.connect() as c, c.begin():
        with pytest.raises((sa.exc.IntegrityError, sa.exc.DBAPIError, LeiosurvError)):
            c.execute(sa.update(T.patient).values(note="z" * 2001))


def test_the_import_refuses_the_same_values_naming_row_and_column_never_showing_identity(reg, tmp_path):
    nul = write_csvs(tmp_path, patients="patient,sex,name\nZ,male,Zed\nA,female,Ann\x00Smith\n")
    with pytest.raises(ImportValidationError, match=r"patients.csv line 3: holds a NUL character") as e:
        import_files(reg, nul)  # pandas' CSV reader would read the name as 'Ann'
    assert "Ann" not in str(e.value)
    patients = ("patient,sex,name,birth_date,note\n"
                "A,female,Ann\x1bSmith,1950-02-03,\n"          # ESC in the name
                "B,male,Bob Jones,19500203,\n"                 # compact date
                "C,male,Carl,2019-W10-1,\n"                    # ISO week date
                "D\nX,male,,,\n"                               # (quoted below) newline in a pseudonym
                f"E,male,,,{'n' * 2001}\n"                     # over-long note
                "F,male,Fay Gray,1899-12-31,\n")               # before 1900
    patients = patients.replace("D\nX", '"D\nX"')
    with pytest.raises(ImportValidationError) as e:
        import_files(reg, write_csvs(tmp_path, patients=patients))
    msg = str(e.value)
    assert "patients row 1.name: must not hold control characters" in msg
    assert "patients row 2.birth_date: not a date YYYY-MM-DD" in msg
    assert "patients row 3.birth_date: not a date YYYY-MM-DD" in msg
    assert "patients row 4.patient: must not hold control characters" in msg
    assert "patients row 5.note: at most 2000 characters" in msg
    assert "patients row 6.birth_date: before 1900-01-01" in msg
    for shown in ("Ann", "Smith", "Bob", "19500203", "2019-W10", "1899", "Fay"):
        assert shown not in msg, shown
    assert reg.counts()["patient"] == 0
    future = (_dt.date.today() + _dt.timedelta(days=1)).isoformat()
    with pytest.raises(ImportValidationError) as e:
        import_files(reg, write_csvs(tmp_path, patients=f"patient,birth_date\nA,{future}\nB,{_dt.date.today()}\n"))
    assert str(e.value) == "patients row 1.birth_date: is in the future"
    tumours = "patient,tumour,diagnosis_date\nA,T1,20190105\nA,T2,0001-01-01\n"
    with pytest.raises(ImportValidationError) as e:
        import_files(reg, write_csvs(tmp_path, patients="patient\nA\n", tumours=tumours))
    assert "tumours row 1.diagnosis_date: not a date YYYY-MM-DD (got '20190105')" in str(e.value)
    assert "tumours row 2.diagnosis_date: before 1900-01-01" in str(e.value)


def test_excel_date_cells_are_read_as_dates(reg, tmp_path):
    path = tmp_path / "registry.xlsx"
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"patient": ["X", 1001], "sex": ["male", "female"],
                      "birth_date": [_dt.date(1950, 2, 3), _dt.datetime(1961, 5, 6)]}) \
            .to_excel(w, sheet_name="patients", index=False)
        pd.DataFrame({"patient": ["X"], "tumour": ["T"], "diagnosis_date": [_dt.datetime(2021, 3, 4)],
                      "depth": ["dermal"]}).to_excel(w, sheet_name="tumours", index=False)
    assert import_files(reg, [path], as_of=AS_OF).rows == {"patients": 2, "tumours": 1}
    assert reg.patients() == ["1001", "X"]
    rec = reg.patient_record("X").to_dict()
    assert str(rec["tumours"][0]["diagnosis_date"]) == "2021-03-04"


def test_migration_0009_up_and_down(db_url):
    """0009 adds the length triggers and its downgrade removes exactly them; rows from before keep their values."""
    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._db import _alembic_config

    def rules(eng) -> set[str]:
        with eng.connect() as c:
            if eng.dialect.name == "sqlite":
                q = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'len!_%' ESCAPE '!'"
            else:
                q = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'len!_%' ESCAPE '!'"
            return set(c.execute(sa.text(q)).scalars())

    eng = make_engine(db_url)
    upgrade(eng, "0006")
    assert rules(eng) == set()
    with eng.begin() as c:
        c.execute(sa.insert(T.patient).values(pseudonym="OLD", sex="unknown", synthetic=False, note="n" * 3000))
    upgrade(eng)
    tables = {f.split(".")[0] for f in _values.MAX_CHARS}
    expected = ({f"len_{t}_{op}" for t in tables for op in ("insert", "update")}
                if eng.dialect.name == "sqlite" else {f"len_{t}" for t in tables})
    assert rules(eng) == expected
    with eng.connect() as c:  # a row stored before keeps its value (both databases); new writes are checked
        assert c.execute(sa.select(sa.func.length(T.patient.c.note))).scalar() == 3000
    with eng.begin() as c, pytest.raises((sa.exc.IntegrityError, LeiosurvError)):
        c.execute(sa.insert(T.patient).values(pseudonym="NEW", sort_key="new", sex="unknown", synthetic=False,
                                              note="n" * 2001))
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0006")
    assert rules(eng) == set()
    with eng.begin() as c:
        c.execute(sa.insert(T.patient).values(pseudonym="NEW", sex="unknown", synthetic=False, note="n" * 2001))
    eng.dispose()


def test_the_control_characters_are_unicodes_category_cc():
    import unicodedata

    for i in range(0x2000):
        ch = chr(i)
        control = unicodedata.category(ch) == "Cc"
        assert (_values.problem_with_text(f"a{ch}b", "tumour.label") is not None) == control, hex(i)
        assert (_values.problem_with_text(f"a{ch}b", "patient.note") is not None) == (control and ch not in "\t\n\r")
