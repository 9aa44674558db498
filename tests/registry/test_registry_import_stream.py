"""The import streamed: two passes (check and spill, then apply batch by batch), nothing half-written, the order of
the input's rows irrelevant, the spill file nameless, and on SQLite the transaction in rollback-journal mode."""

import datetime as dt
import random

import pytest
from csv_files import write_csvs

from leiosurv.exceptions import ImportValidationError, RegistryError
from leiosurv.registry import Registry, import_files

AS_OF = dt.date(2024, 6, 1)
N = 1203  # more than one batch of 1000 patients


def _cohort(n: int) -> dict[str, list[str]]:
    """Rows of *n* patients, each with a tumour; every third with a local recurrence, every seventh dead."""
    pats = ["patient,sex,birth_date"] + [f"S{i},{('female', 'male')[i % 2]},19{40 + i % 50}-0{1 + i % 9}-1{i % 10}"
                                         for i in range(n)]
    tums = ["patient,tumour,diagnosis_date,depth,margins,necrosis,mitoses_count"] + [
        f"S{i},T1,{2010 + i % 12}-{1 + i % 12:02d}-{1 + i % 28:02d},dermal,{('positive', 'negative')[i % 2]},"
        f"{('absent', 'present', '')[i % 3]},{5 + i % 20}" for i in range(n)]
    ev = ["patient,tumour,kind,date,site,cause"]
    for i in range(n):
        year = 2010 + i % 12
        if i % 3 == 0:
            ev.append(f"S{i},T1,local_recurrence,{year + 1}-12-30,,")
        if i % 7 == 0:
            ev.append(f"S{i},,death,{year + 2}-12-31,,")
    return {"patients": pats, "tumours": tums, "events": ev}


def _write(tmp_path, rows: dict[str, list[str]]):
    return write_csvs(tmp_path, **{k: "\n".join(v) + "\n" for k, v in rows.items()})


def test_last_row_refused_by_a_rule_after_batches_applied_writes_nothing(reg, tmp_path):
    """More than one batch applied (and saved to its savepoint), then the last row is refused: one line naming
    it, and the registry is as it was."""
    reg.add_patient("KEEP", sex="female")
    before = reg.counts()
    rows = _cohort(N)
    rows["events"].append(f"S{N - 1},T1,local_recurrence,1999-01-01,,")  # before the tumour's diagnosis
    seen: list[int] = []
    with pytest.raises(ImportValidationError) as e:
        import_files(reg, _write(tmp_path, rows), as_of=AS_OF, progress=seen.append)
    assert seen and seen[0] > 1000  # the first batch was applied before the refusal
    msg = str(e.value)
    assert len(msg.splitlines()) == 1
    assert msg.startswith(f"events row {len(rows['events']) - 1}: ")
    assert "before the diagnosis" in msg
    assert reg.counts() == before


def test_last_row_invalid_is_found_by_the_first_pass(reg, tmp_path, monkeypatch):
    """A bad cell in the last row, read in chunks: named by the first pass, before anything is applied."""
    from leiosurv.registry import _import

    monkeypatch.setattr(_import, "CHUNK", 100)
    rows = _cohort(N)
    rows["tumours"][-1] = rows["tumours"][-1].replace(",dermal,", ",skin,")
    applied: list[int] = []
    with pytest.raises(ImportValidationError) as e:
        import_files(reg, _write(tmp_path, rows), as_of=AS_OF, progress=applied.append)
    assert str(e.value).startswith(f"tumours row {N}.depth: must be one of")
    assert applied == []
    assert reg.counts()["patient"] == 0


def test_a_patient_row_given_twice_is_named_across_chunks_and_files(reg, tmp_path, monkeypatch):
    from leiosurv.registry import _import

    monkeypatch.setattr(_import, "CHUNK", 4)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_csvs(tmp_path / "a", patients="patient,sex\n" + "".join(f"P{i},female\n" for i in range(10)))
    second = write_csvs(tmp_path / "b", patients="patient,sex\nQ1,male\nP7,male\n")
    with pytest.raises(ImportValidationError, match=r"^patients row 2: patient 'P7': a patient with this pseudonym "
                                                    r"already exists$"):
        import_files(reg, first + second)
    assert reg.counts()["patient"] == 0


def test_the_order_of_the_input_rows_does_not_matter(tmp_path):
    """Rows of each file shuffled (a patient's records far apart, after other patients' records): the same
    rows stored as from the file in patient order."""
    from test_registry_import import _dump

    rows = _cohort(60)
    shuffled = {k: [v[0]] + random.Random(k).sample(v[1:], len(v) - 1) for k, v in rows.items()}
    shuffled["patients"] = rows["patients"]  # the patients' order gives the order of the ids
    dumps = []
    for name, r in (("sorted", rows), ("shuffled", shuffled)):
        (tmp_path / name).mkdir()
        reg = Registry(tmp_path / name / "registry.sqlite", create=True)
        import_files(reg, _write(tmp_path / name, r), as_of=AS_OF)
        dumps.append(_dump(reg))
        reg.close()
    assert dumps[0]["encounter"] and dumps[0]["event"]
    assert dumps[0] == dumps[1]


def test_second_pass_holds_one_batch_at_a_time(reg, tmp_path, monkeypatch):
    """The apply pass reads back the records of BATCH patients at a time, each patient's once."""
    from leiosurv.registry import _import

    monkeypatch.setattr(_import, "BATCH", 50)
    asked: list[list[str]] = []
    records = _import._Spill.records

    def spy(self, batch):
        asked.append(list(batch))
        return records(self, batch)

    monkeypatch.setattr(_import._Spill, "records", spy)
    import_files(reg, _write(tmp_path, _cohort(120)), as_of=AS_OF)
    assert [len(b) for b in asked] == [50, 50, 20]
    assert sorted(p for b in asked for p in b) == sorted(f"S{i}" for i in range(120))
    assert reg.counts()["tumour"] == 120


def test_spill_file_has_no_name(reg, tmp_path, monkeypatch):
    """The rows wait in SQLite's own temporary database: a file SQLite unlinks when it opens it (no other process
    can open it; nothing is left behind, see the SIGKILL test), not a named file."""
    from leiosurv.registry import _import

    files: list[str] = []
    records = _import._Spill.records

    def spy(self, batch):
        files.extend(f for _i, name, f in self.db.execute("PRAGMA database_list") if name == "main")
        return records(self, batch)

    monkeypatch.setattr(_import._Spill, "records", spy)
    import_files(reg, _write(tmp_path, _cohort(5)), as_of=AS_OF)
    assert files == [""]


def test_progress_of_both_passes(reg, tmp_path, monkeypatch):
    from leiosurv.registry import _import

    monkeypatch.setattr(_import, "CHUNK", 40)
    monkeypatch.setattr(_import, "BATCH", 30)
    read: list[int] = []
    applied: list[int] = []
    rep = import_files(reg, _write(tmp_path, _cohort(100)), as_of=AS_OF, progress=applied.append, on_read=read.append)
    total = sum(rep.rows.values())
    assert read[-1] == total and read == sorted(read) and len(read) >= 7  # 3 files of 100+ rows in chunks of 40
    assert applied[-1] == total and len(applied) == 4


def test_sqlite_import_needs_the_registry_to_itself(tmp_path):
    """Another connection open on the SQLite file: refused in one line, nothing written; after an import, done
    or refused, the registry is in WAL mode again."""
    db = tmp_path / "registry.sqlite"
    reg = Registry(db, create=True)
    other = Registry(db)
    with other.engine.connect() as c:
        c.exec_driver_sql("SELECT 1")  # an idle pooled connection of another engine keeps the file open
        with pytest.raises(RegistryError, match=r"an import needs the SQLite registry to itself.*nothing was written"):
            import_files(reg, _write(tmp_path, _cohort(3)), as_of=AS_OF)
    other.close()
    assert reg.counts()["patient"] == 0
    rows = _cohort(3)
    rows["events"].append("S1,T1,death,2099-01-01,,")
    with pytest.raises(ImportValidationError):
        import_files(reg, _write(tmp_path, rows), as_of=AS_OF)
    with reg.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert import_files(reg, _write(tmp_path, _cohort(3)), as_of=AS_OF).rows["patients"] == 3
    with reg.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL, as every connection
    reg.close()


@pytest.mark.parametrize("enabled", [True, False])
def test_cycle_collector_paused_during_the_import_and_restored(reg, tmp_path, enabled):
    """The collector is off while the import applies its rows and as it was afterwards, the import done or
    refused."""
    import gc

    seen: list[bool] = []
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        import_files(reg, _write(tmp_path, _cohort(5)), as_of=AS_OF, progress=lambda _n: seen.append(gc.isenabled()),
                     on_read=lambda _n: seen.append(gc.isenabled()))
        assert seen and not any(seen)
        assert gc.isenabled() is enabled
        rows = _cohort(5)
        rows["events"].append("S1,T1,death,2099-01-01,,")
        with pytest.raises(ImportValidationError):
            import_files(reg, _write(tmp_path, rows), as_of=AS_OF)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_import_leaves_no_reference_cycles(reg, tmp_path):
    """What pausing the collector rests on: reference counting frees everything an import allocates (deaths,
    recurrences and re-plans included); a collection after each chunk read and each batch applied, while the
    collector is paused, finds nothing."""
    import gc

    found: list[int] = []
    gc.collect()
    import_files(reg, _write(tmp_path, _cohort(60)), as_of=AS_OF, progress=lambda _n: found.append(gc.collect()),
                 on_read=lambda _n: found.append(gc.collect()))
    assert len(found) == 4 and found == [0, 0, 0, 0]  # three files read, one batch applied
