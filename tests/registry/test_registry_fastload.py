"""The bulk writer's fast load mode: indexes and rule triggers dropped for the bulk rows, the rules checked
set-wise from the triggers' stored definitions, everything restored; a refusal names the import row."""

import datetime as dt

import pytest
from csv_files import write_csvs
from schema_catalog import catalog

from leiosurv.exceptions import ImportValidationError, IntegrityError
from leiosurv.registry import import_files
from leiosurv.registry._bulk import BulkWriter, FastLoad

PATIENTS = "patient,sex\nA,female\nB,male\n"
TUMOURS = ("patient,tumour,diagnosis_date,depth,margins\n"
           "A,T1,2020-01-15,dermal,positive\nB,T1,2019-05-01,subcutaneous,negative\n")
EV = "patient,tumour,kind,date\n"


@pytest.fixture
def spy(monkeypatch):
    """What fast load mode did: 'dropped' when it dropped, then 'restored' or 'refused'."""
    seen: list[str] = []
    drop, restore = FastLoad.drop, FastLoad.restore

    def dropped(self):
        drop(self)
        seen.append("dropped")

    def restored(self):
        try:
            restore(self)
        except ImportValidationError:
            seen.append("refused")
            raise
        seen.append("restored")

    monkeypatch.setattr(FastLoad, "drop", dropped)
    monkeypatch.setattr(FastLoad, "restore", restored)
    return seen


def test_fast_import_restores_the_catalog_and_the_rules(reg, tmp_path, monkeypatch, spy):
    monkeypatch.setattr(BulkWriter, "FAST", True)
    before = catalog(reg)
    events = "patient,tumour,kind,date,site\n" + "A,T1,metastasis,2021-02-01,lung\nA,,death,2022-03-01,\n"
    enc = "patient,date,plan_item,tumour,status\nA,2020-07-20,visit-m006,T1,done\nB,2019-11-01,,T1,done\n"
    rep = import_files(reg, write_csvs(tmp_path, patients=PATIENTS, tumours=TUMOURS, events=events, encounters=enc))
    assert rep.rows == {"patients": 2, "tumours": 2, "events": 2, "encounters": 2}
    assert spy == ["dropped", "restored"]
    assert catalog(reg) == before
    # the restored triggers refuse again, on the service path
    with pytest.raises(IntegrityError, match="before the diagnosis"):
        reg.record_event("B", "local_recurrence", dt.date(2018, 1, 1))
    with pytest.raises(IntegrityError, match="already has a death"):
        reg.record_event("A", "death", dt.date(2023, 1, 1))
    # the ids the import took (PostgreSQL: a block at a time from the locked sequences) are not handed out again
    reg.add_patient("C", sex="female")
    reg.add_tumour("C", "T1", {"excision_date": "2021-01-01", "depth": "dermal"}, as_of=dt.date(2022, 1, 1))
    reg.record_event("C", "local_recurrence", dt.date(2021, 6, 1), tumour="T1", as_of=dt.date(2022, 1, 1))
    if reg.dialect == "postgresql":
        with reg.engine.connect() as c:
            for t in ("patient", "tumour", "assessment", "encounter", "event"):
                top = c.exec_driver_sql(f"SELECT max(id) FROM {t}").scalar()
                nxt = c.exec_driver_sql(f"SELECT nextval(pg_get_serial_sequence('{t}', 'id'))").scalar()
                assert nxt > top, t


# (files, as_of, the error, what must be in the registry before)
CASES = {
    "event_before_diagnosis": (dict(events=EV + "B,T1,local_recurrence,2018-01-01\n"), None,
                               "events row 1: local recurrence of patient 'B': event dated before the diagnosis "
                               "of its tumour"),
    "event_after_death": (dict(events=EV + "A,,death,2022-03-01\nA,T1,local_recurrence,2023-01-01\n"), None,
                          "events row 2: local recurrence of patient 'A': event dated after the patient's death"),
    "death_before_records": (dict(events=EV + "A,,death,2019-01-01\n"), None,
                             "events row 1: death of patient 'A': death dated before other records of the patient"),
    "duplicate_death": (dict(events=EV + "A,,death,2022-03-01\nA,,death,2023-03-01\n"), None,
                        "events row 2: death of patient 'A': the patient already has a death recorded"),
    "encounter_in_future": (dict(encounters="patient,date,plan_item,tumour,status\nA,2098-01-01,visit-m006,T1,done\n"),
                            dt.date(2099, 1, 1), "encounters row 1: encounter of patient 'A' on 2098-01-01: "
                                                 "encounter marked done on a date in the future"),
    "tumour_after_death": (dict(tumours="patient,tumour,diagnosis_date,depth\nOLD,T1,2020-01-01,dermal\n"), None,
                           "tumours row 1: tumour 'T1' of patient 'OLD': tumour diagnosed after the patient's death"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fast_import_refuses_what_the_triggers_refuse(reg, tmp_path, monkeypatch, spy, case):
    """One error naming the import row and the trigger's message, as the row-by-row triggers name it; nothing
    written, the catalog as before."""
    files, as_of, message = CASES[case]
    reg.add_patient("OLD", sex="male")
    reg.add_tumour("OLD", "T0", {"excision_date": "2017-01-01", "depth": "dermal"}, as_of=dt.date(2024, 1, 1))
    reg.record_event("OLD", "death", dt.date(2019, 1, 1))
    paths = write_csvs(tmp_path, **({} if "tumours" in files else {"patients": PATIENTS, "tumours": TUMOURS}), **files)
    counts, before = reg.counts(), catalog(reg)
    monkeypatch.setattr(BulkWriter, "FAST", True)
    with pytest.raises(ImportValidationError) as fast:
        import_files(reg, paths, as_of=as_of or dt.date(2024, 6, 1))
    assert spy == ["dropped", "refused"]
    assert len(fast.value.errors) == 1
    assert message in str(fast.value)
    assert reg.counts() == counts
    assert catalog(reg) == before
    monkeypatch.setattr(BulkWriter, "FAST", False)  # the triggers, row by row, say the same
    with pytest.raises(ImportValidationError) as rows:
        import_files(reg, paths, as_of=as_of or dt.date(2024, 6, 1))
    assert str(rows.value) == str(fast.value)
    assert spy == ["dropped", "refused"]


def test_fast_mode_only_for_a_load_large_next_to_the_registry(reg, monkeypatch):
    monkeypatch.setattr(BulkWriter, "FAST", None)
    with reg.engine.begin() as c:
        w = BulkWriter(c, dt.date(2024, 6, 1), None)
        try:
            assert w.fast_wanted(1) and not w.fast_wanted(0)  # an empty registry
        finally:
            w.close()
    for i in range(8):
        reg.add_patient(f"P{i}", sex="female")
        reg.add_tumour(f"P{i}", "T", {"excision_date": "2020-01-01", "depth": "dermal"}, as_of=dt.date(2024, 1, 1))
    with reg.engine.begin() as c:
        w = BulkWriter(c, dt.date(2024, 6, 1), None)
        try:
            assert not w.fast_wanted(1)
            assert w.fast_wanted(2)  # a quarter of the 8 tumours stored
            monkeypatch.setattr(BulkWriter, "FAST", True)
            assert w.fast_wanted(1)
        finally:
            w.close()


@pytest.mark.parametrize("table, change, message", [
    ("encounter", {"status": "done", "done_on": dt.date(2022, 1, 1)}, "encounter done after the patient's death"),
    ("assessment", {"content": None, "seq": 9}, "an assessment needs its result (content and dates)"),
    # PostgreSQL's fast mode drops the foreign keys too and validates them when it adds them back
    ("encounter", {"assessment_id": 987654}, "the record names a patient, tumour or observation that does not "
                                             "exist or belongs to another patient"),
    ("event", {"tumour_id": 987654, "kind": "local_recurrence", "site": None, "cause": None,
               "date": dt.date(2021, 1, 1)}, "the record names a patient, tumour or observation"),
])
def test_rules_the_import_does_not_reach_are_checked_too(reg, monkeypatch, table, change, message):
    """A done encounter after death and an assessment without its result, written by the bulk writer (the
    import's bulk part never builds them): fast mode refuses them as the triggers do."""
    import sqlalchemy as sa

    from leiosurv.registry import _tables as T
    from leiosurv.registry._bulk import _COLS

    reg.add_patient("A", sex="female")
    reg.add_tumour("A", "T1", {"excision_date": "2020-01-01", "depth": "dermal"}, as_of=dt.date(2020, 6, 1))
    reg.record_event("A", "death", dt.date(2021, 6, 1), as_of=dt.date(2021, 6, 1))
    t = T.metadata.tables[table]
    with reg.engine.connect() as c:
        row = dict(c.execute(sa.select(*(t.c[k] for k in _COLS[table])).limit(1)).one()._mapping)
    counts, before = reg.counts(), catalog(reg)
    errors = []
    for fast in (True, False):
        monkeypatch.setattr(BulkWriter, "FAST", fast)
        with pytest.raises(ImportValidationError) as e, reg.engine.connect() as c:
            w = None
            try:
                with c.begin():
                    w = BulkWriter(c, dt.date(2024, 6, 1), None, 1)  # as the import makes it
                    # SQLite's fast mode runs with foreign keys off and checks them all before the commit
                    assert w.foreign_keys_off == (fast and reg.engine.dialect.name == "sqlite")
                    try:
                        w.start(1)
                        assert (w.fast is not None) == fast
                        new = {**row, **change, "id": w.ids(table, 1)[0]}
                        w.insert(table, [tuple(new[k] for k in _COLS[table])], [("encounters row 7", "the row")])
                        w.finish()
                        w.check_foreign_keys()
                    finally:
                        w.close()
            finally:
                assert w is not None
                w.release()
                if reg.engine.dialect.name == "sqlite":
                    assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert reg.counts() == counts
        assert catalog(reg) == before
        errors.append(str(e.value))
    assert errors[0] == errors[1]
    assert f"encounters row 7: the row: {message}" in errors[0]


def test_a_trigger_fast_mode_cannot_read_keeps_the_import_on_the_triggers(reg, tmp_path, monkeypatch, spy):
    """An insert trigger ``trg_*`` not in the rule triggers' form: the import runs without fast mode (forced:
    it refuses to start)."""
    with reg.engine.begin() as c:
        if reg.dialect == "sqlite":
            c.exec_driver_sql("CREATE TRIGGER trg_extra_insert BEFORE INSERT ON event FOR EACH ROW "
                              "BEGIN SELECT 1; END")
        else:
            c.exec_driver_sql("CREATE FUNCTION trg_extra() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RETURN NEW; END $$")
            c.exec_driver_sql("CREATE TRIGGER trg_extra BEFORE INSERT ON event FOR EACH ROW "
                              "EXECUTE FUNCTION trg_extra()")
    paths = write_csvs(tmp_path, patients=PATIENTS, tumours=TUMOURS)
    monkeypatch.setattr(BulkWriter, "FAST", True)
    with pytest.raises(RuntimeError, match="trg_extra"):
        import_files(reg, paths)
    monkeypatch.setattr(BulkWriter, "FAST", None)
    assert import_files(reg, paths).rows == {"patients": 2, "tumours": 2}
    assert spy == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL's fast mode drops and validates the keys
def test_sqlite_fast_import_defers_foreign_keys_and_gives_them_back(reg, tmp_path, monkeypatch):
    """SQLite checks a foreign key row by row as it inserts (~20 % of writing the encounters); fast mode turns
    them off for the import's transaction, checks them all before the commit, and turns them on again after it,
    whether the import was committed or refused."""
    seen = []
    check = BulkWriter.check_foreign_keys

    def checked(self):
        seen.append(self.c.exec_driver_sql("PRAGMA foreign_keys").scalar())
        check(self)

    monkeypatch.setattr(BulkWriter, "check_foreign_keys", checked)
    monkeypatch.setattr(BulkWriter, "FAST", None)

    def keys_on_everywhere():
        conns = [reg.engine.connect() for _ in range(3)]  # the pooled connection the import used among them
        try:
            assert [c.exec_driver_sql("PRAGMA foreign_keys").scalar() for c in conns] == [1, 1, 1]
        finally:
            for c in conns:
                c.close()

    import_files(reg, write_csvs(tmp_path, patients=PATIENTS, tumours=TUMOURS))
    assert seen == [0]  # an empty registry: fast mode, foreign keys off until the check
    keys_on_everywhere()
    # a row of the service part whose key finds nothing (the service calls check in Python first: made here
    # by hand) is refused by the check before the commit, and nothing is written
    from leiosurv.registry import _service

    counts = reg.counts()
    record = _service.Registry.record_treatment

    def dangling(self, *a, conn=None, **k):
        conn.exec_driver_sql("INSERT INTO treatment (patient_id, tumour_id, kind, date) VALUES (1, 999, 'mohs', "
                             "'2020-02-01')")

    monkeypatch.setattr(_service.Registry, "record_treatment", dangling)
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    paths = write_csvs(tmp_path / "b", patients="patient,sex\nC,female\nD,male\n",
                       tumours="patient,tumour,diagnosis_date,depth\nC,T1,2020-01-15,dermal\n",
                       treatments="patient,tumour,kind,date\nC,T1,mohs,2020-02-01\n")
    with pytest.raises(ImportValidationError, match=r"treatment row id \d+: the record names a patient, tumour"):
        import_files(reg, paths)
    assert seen == [0, 0]
    assert reg.counts() == counts
    keys_on_everywhere()
    monkeypatch.setattr(_service.Registry, "record_treatment", record)
    # an import without fast mode keeps the keys on, row by row
    monkeypatch.setattr(BulkWriter, "FAST", False)
    import_files(reg, write_csvs(tmp_path / "c", patients="patient,sex\nE,female\n",
                                 tumours="patient,tumour,diagnosis_date,depth\nE,T1,2020-01-15,dermal\n"))
    assert seen == [0, 0, 1]
    keys_on_everywhere()
