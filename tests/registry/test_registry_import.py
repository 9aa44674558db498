"""Bulk import: row-by-row validation naming row and column, one transaction, and a SIGKILL mid-way."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from csv_files import write_csvs

from leiosurv.exceptions import ImportValidationError
from leiosurv.registry import import_files

PATIENTS = "patient,sex,name,birth_date\nA,female,Ann Example,1950-01-02\nB,male,,\n"
TUMOURS = ("patient,tumour,diagnosis_date,depth,margins,necrosis,mitoses_count,age\n"
           "A,T1,2020-01-15,dermal,positive,absent,25,70\nB,T1,2019-05-01,subcutaneous,negative,,,60\n")
EVENTS = "patient,tumour,kind,date,site,cause\nA,T1,metastasis,2021-02-01,lung,\nA,,death,2022-03-01,,LMS\n"
ENCOUNTERS = "patient,date,plan_item,tumour,status\nA,2020-07-20,visit-m006,T1,done\n"


def test_csv_import(reg, tmp_path):
    rep = import_files(reg, write_csvs(tmp_path, patients=PATIENTS, tumours=TUMOURS, events=EVENTS,
                                   encounters=ENCOUNTERS))
    assert rep.rows == {"patients": 2, "tumours": 2, "events": 2, "encounters": 1}
    c = reg.counts()
    assert (c["patient"], c["patient_identity"], c["tumour"], c["event"]) == (2, 1, 2, 2)
    h = reg.history("A")
    assert [x.reason for x in h] == ["registration", "replan_metastasis"]
    assert list(reg.timeline("A").latencies()["what"]) == ["metastasis", "death"]


def test_excel_import(reg, tmp_path):
    path = tmp_path / "registry.xlsx"
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"patient": ["X"], "sex": ["male"]}).to_excel(w, sheet_name="patients", index=False)
        pd.DataFrame({"patient": ["X"], "tumour": ["T"], "diagnosis_date": ["2021-03-04"], "depth": ["dermal"]}) \
            .to_excel(w, sheet_name="tumours", index=False)
    assert import_files(reg, [path]).rows == {"patients": 1, "tumours": 1}


def test_validation_names_every_row_and_column_and_writes_nothing(reg, tmp_path):
    bad = TUMOURS.replace("2019-05-01", "2019-13-01").replace("dermal", "skin")
    with pytest.raises(ImportValidationError) as e:
        import_files(reg, write_csvs(tmp_path, patients=PATIENTS.replace("female", "woman"), tumours=bad))
    msg = str(e.value)
    assert "patients row 1.sex: must be one of" in msg
    assert "tumours row 2.diagnosis_date: not a date" in msg
    assert "tumours row 1.depth" in msg
    assert "Ann" not in msg and "1950" not in msg
    assert reg.counts()["patient"] == 0


def test_rows_read_in_chunks_keep_their_numbers_and_order(reg, tmp_path, monkeypatch):
    """A CSV read in chunks (here of 3 rows) names the same rows, in row then column order, and imports all."""
    from leiosurv.registry import _import

    monkeypatch.setattr(_import, "CHUNK", 3)
    rows = [f"P{i},{'woman' if i in (2, 5, 9) else 'female'},{'1950-13-01' if i == 5 else ''}" for i in range(1, 11)]
    bad = "patient,sex,birth_date\n" + "\n".join(rows) + "\n,male,\n"
    with pytest.raises(ImportValidationError) as e:
        import_files(reg, write_csvs(tmp_path, patients=bad))
    assert [i.path for i in e.value.errors] == [
        "patients row 2.sex", "patients row 5.sex", "patients row 5.birth_date", "patients row 9.sex",
        "patients row 11.patient"]
    assert reg.counts()["patient"] == 0
    good = "patient,sex,birth_date\n" + "\n".join(f"P{i},female,1950-01-0{1 + i % 9}" for i in range(1, 11)) + "\n"
    assert import_files(reg, write_csvs(tmp_path, patients=good)).rows == {"patients": 10}
    assert reg.counts()["patient_identity"] == 10


def test_missing_and_unknown_columns(reg, tmp_path):
    with pytest.raises(ImportValidationError, match="events: missing column 'date'.*unknown column 'when'"):
        import_files(reg, write_csvs(tmp_path, events="patient,kind,when\nA,death,2020-01-01\n"))


def test_database_refusal_mid_import_rolls_everything_back(reg, tmp_path):
    events = EVENTS + "B,T1,local_recurrence,2018-01-01,,\n"  # before B's diagnosis: the trigger refuses it
    with pytest.raises(ImportValidationError, match=r"events row 3: .*before the diagnosis"):
        import_files(reg, write_csvs(tmp_path, patients=PATIENTS, tumours=TUMOURS, events=events))
    assert sum(reg.counts().values()) == 0


def test_sigkill_mid_import_leaves_the_database_as_it_was(reg, db_url, tmp_path):
    """Killed while applying the rows (on SQLite in rollback-journal mode), the registry keeps its rows, indexes
    and triggers, is in WAL mode again, and the spill file is gone."""
    from schema_catalog import catalog

    reg.add_patient("KEEP", sex="female")
    before = reg.counts()
    schema = catalog(reg)
    n = 40_000  # progress after each 1000 patients (2000 rows): killed after 4000 of 80,000 rows, long before the end
    (tmp_path / "patients.csv").write_text("patient,sex\n" + "".join(f"K{i},female\n" for i in range(n)))
    (tmp_path / "tumours.csv").write_text("patient,tumour,diagnosis_date,depth,margins\n" + "".join(
        f"K{i},T,2020-01-15,dermal,positive\n" for i in range(n)))
    sqlite_tmp = tmp_path / "sqlite-tmp"  # where SQLite puts the import's spill file (SQLITE_TMPDIR)
    sqlite_tmp.mkdir()
    env = {**os.environ, "LEIOSURV_REGISTRY_URL": db_url, "SQLITE_TMPDIR": str(sqlite_tmp)}
    reg.close()  # on SQLite the import needs the registry to itself (_db.import_transaction)
    proc = subprocess.Popen([sys.executable, "-c",
        "import sys; from leiosurv.interfaces.cli import main; sys.exit(main())",
                             "registry", "import", "--progress",
                             str(tmp_path / "patients.csv"), str(tmp_path / "tumours.csv")],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        seen = 0
        deadline = time.monotonic() + 120
        while seen < 2 and time.monotonic() < deadline:  # 2 batches of patients applied, 76,000 rows to go
            line = proc.stderr.readline()
            if not line:
                break
            seen += line.startswith("applied")
        assert seen == 2, "the import did not report progress"
        assert proc.poll() is None, "the import finished before it could be killed"
        spill = [os.readlink(f) for f in (Path("/proc") / str(proc.pid) / "fd").iterdir()
                 if os.readlink(f).startswith(str(sqlite_tmp))]
        assert spill and all(f.endswith(" (deleted)") for f in spill)  # in use, but already unlinked
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert list(sqlite_tmp.iterdir()) == []  # nothing left behind (the rows, names and birth dates included)
    from leiosurv.registry import Registry

    deadline = time.monotonic() + 30
    while True:  # PostgreSQL rolls back once it notices the dropped connection
        r = Registry(db_url)
        after = r.counts()
        r.close()
        if after == before or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert after == before
    assert catalog(reg) == schema
    if reg.dialect == "sqlite":
        with reg.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"  # back in WAL mode
    reg.close()
    # and the registry takes writes again
    r = Registry(db_url)
    import_files(r, write_csvs(tmp_path, patients=PATIENTS))
    assert r.counts()["patient"] == before["patient"] + 2
    r.close()


def _mixed_cohort(tmp_path, as_of):
    """CSVs of a mixed cohort: repeated and unique findings, birth dates, two tumours, track_from, a confirmed
    diagnosis, a patient already registered, events that re-plan, a re-excision, an observation, planned
    encounters done / missed / cancelled (some after an event), an ad hoc one."""

    from leiosurv.registry import Registry

    pats = ["patient,sex,name,birth_date,synthetic,note", "A,female,Ann Example,1950-01-02,,",
            "B,male,,,,", "C,female,,1960-05-05,true,", "D,other,,,,", "E,unknown,,,,x", "F,female,,,,"]
    tums = ["patient,tumour,diagnosis_date,depth,margins,necrosis,mitoses_count,age,confirmed_diagnosis,track_from",
            "A,T1,2020-01-15,dermal,positive,absent,25,70,,", "B,T1,2019-05-01,subcutaneous,negative,,,60,,",
            "C,T1,2018-03-03,dermal,negative,present,5,,,2019-01-01", "D,T1,2021-06-01,dermal,positive,,,,,",
            "D,T2,2020-02-02,deep_soft_tissue,negative,absent,3,55,,", "E,T1,2017-01-01,dermal,negative,,,,aismn,",
            "OLD,T1,2019-09-09,dermal,positive,,,80,,"]
    for i in range(24):
        pats.append(f"G{i},female,,,true,")
        pattern = ("dermal,positive,absent,25", "dermal,negative,present,5", "subcutaneous,unknown,,")[i % 3]
        tums.append(f"G{i},T1,{2015 + i % 2}-01-{1 + i // 3:02d},{pattern},{50 + i % 3},,")
    files = {"patients": pats, "tumours": tums,
             "events": ["patient,tumour,kind,date,site,cause", "A,T1,metastasis,2021-02-01,lung,",
                        "A,,death,2022-03-01,,LMS", "B,T1,local_recurrence,2020-06-01,,", "E,,death,2019-06-01,,",
                        "G3,T1,local_recurrence,2016-06-01,,"],
             "treatments": ["patient,kind,date,tumour,margin_status", "B,re_excision,2020-07-01,T1,negative"],
             "observations": ["patient,observation,description,first_seen,max_interval_days",
                              "C,O1,nodule,2020-01-01,180"]}
    for k, v in files.items():
        (tmp_path / f"{k}.csv").write_text("\n".join(v) + "\n")
    # the plans' item ids, from a throw-away registry
    scratch = Registry(tmp_path / "scratch.sqlite", create=True)
    scratch.add_patient("OLD", sex="male")
    import_files(scratch, [tmp_path / "patients.csv", tmp_path / "tumours.csv"], as_of=as_of)
    enc = ["patient,date,plan_item,tumour,status,modality_class,kind"]
    for p in [p for p in scratch.patients() if p != "OLD"]:
        rec = scratch.patient_record(p).to_dict()
        for t in rec["tumours"]:
            planned = [e for e in rec["encounters"] if e["tumour"] == t["label"] and e["due"] < "2021-01-01"]
            for j, e in enumerate(planned[:4]):
                status = ("done", "missed", "done", "cancelled")[j]
                label = "" if len(rec["tumours"]) == 1 and j % 2 else t["label"]
                enc.append(f"{p},{e['due']},{e['plan_item']},{label},{status},,")
    enc += ["F,2020-05-05,,,done,imaging,ct", "B,2020-10-01,guideline-m003,T1,done,,",
            "D,2021-12-01,visit-m006,T1,done,,"]
    scratch.close()
    (tmp_path / "encounters.csv").write_text("\n".join(enc) + "\n")
    return [tmp_path / f"{k}.csv" for k in ("patients", "tumours", "treatments", "observations", "encounters",
                                            "events")]


def _by_commands(reg, files, as_of) -> None:
    """What the import of *files* does, as the single-record commands, patient by patient in the import's
    order (its patient row, its tumours, its dated records by date, kind, row)."""
    import datetime as dt
    import json

    frames = {f.stem: pd.read_csv(f, dtype=str, keep_default_na=False) for f in files}

    def rows(kind):
        return [(n, {k: (v or None) for k, v in r.items()}) for n, r in enumerate(frames[kind].to_dict("records"), 1)]

    order = {}
    for kind in ("patients", "tumours", "treatments", "observations", "encounters", "events"):
        for _n, r in rows(kind):
            order.setdefault(r["patient"], None)
    kinds = {"treatments": 0, "observations": 1, "encounters": 2, "events": 3}
    pats = {r["patient"]: r for _n, r in rows("patients")}
    for p in order:
        if p in pats:
            r = pats[p]
            reg.add_patient(p, sex=r.get("sex") or "unknown", name=r.get("name"), birth_date=r.get("birth_date"),
                            synthetic=(r.get("synthetic") or "false").lower() in ("true", "1"), note=r.get("note"))
        for _n, r in rows("tumours"):
            if r["patient"] == p:
                f = {"excision_date": r["diagnosis_date"], **{k: r[k] for k in ("depth", "margins", "necrosis")
                                                              if r.get(k)}}
                if r.get("mitoses_count"):
                    f["mitoses"] = {"count": float(r["mitoses_count"])}
                if r.get("age"):
                    f["patient"] = {"age_years": int(r["age"])}
                if r.get("findings"):
                    f = {**json.loads(r["findings"]), **f}
                reg.add_tumour(p, r["tumour"], f, as_of=as_of, confirmed_diagnosis=r.get("confirmed_diagnosis"),
                               track_from=r.get("track_from") and dt.date.fromisoformat(r["track_from"]))
        dated = sorted(((r.get("date") or r.get("first_seen"), kinds[k], n, k, r) for k in kinds if k in frames
                        for n, r in rows(k) if r["patient"] == p), key=lambda x: x[:3])
        for _d, _k, _n, k, r in dated:
            if k == "treatments":
                reg.record_treatment(p, r["kind"], r["date"], tumour=r.get("tumour"),
                                     margin_status=r.get("margin_status"), as_of=as_of)
            elif k == "observations":
                reg.add_observation(p, r["observation"], r["description"], r["first_seen"],
                                    int(r["max_interval_days"]), as_of=as_of)
            elif k == "encounters":
                reg.record_encounter(p, date=r["date"], plan_item=r.get("plan_item"), tumour=r.get("tumour"),
                                     status=r.get("status") or "done", modality_class=r.get("modality_class") or
                                     "clinical", kind=r.get("kind"), as_of=as_of)
            else:
                reg.record_event(p, r["kind"], r["date"], tumour=r.get("tumour"), site=r.get("site"),
                                 cause=r.get("cause"), as_of=as_of)


def _dump(reg) -> dict:
    """Every table's rows; the surrogate ids of assessments, encounters and events replaced by natural keys,
    the rows sorted."""
    import sqlalchemy as sa

    from leiosurv.registry import _tables as T

    with reg.engine.connect() as c:
        aid = {r.id: (r.tumour_id, r.seq) for r in c.execute(sa.select(T.assessment.c.id, T.assessment.c.tumour_id,
                                                                          T.assessment.c.seq))}
        out = {}
        for t in T.metadata.sorted_tables:
            rows = []
            for r in c.execute(sa.select(t)):
                d = dict(r._mapping)
                if t.name in ("assessment", "encounter", "event"):
                    d.pop("id")
                if "assessment_id" in d:
                    d["assessment_id"] = aid.get(d["assessment_id"])
                rows.append(d)
            out[t.name] = sorted(rows, key=repr)
        return out


def test_import_stores_exactly_what_the_single_record_commands_store(db_url, tmp_path):
    """The one write path: the import's batches and the commands' one-record saves give the same rows (and
    re-plans happened: re-excision, metastasis, death)."""
    import datetime as dt

    from leiosurv.registry import Registry

    as_of = dt.date(2024, 6, 1)
    files = _mixed_cohort(tmp_path, as_of)
    ref_url = str(tmp_path / "reference.sqlite") if not db_url.startswith("postgresql") else None
    ref = Registry(ref_url, create=True) if ref_url else None
    imp = Registry(db_url, create=True)
    if ref is None:  # PostgreSQL: the reference on a second database of the same server
        import sqlalchemy as sa

        u = sa.engine.make_url(db_url)
        with sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {u.database}_ref")
            c.exec_driver_sql(f"CREATE DATABASE {u.database}_ref")
        ref = Registry(u.set(database=f"{u.database}_ref").render_as_string(hide_password=False), create=True)
    try:
        for r in (ref, imp):
            r.add_patient("OLD", sex="male")
        _by_commands(ref, files, as_of)
        rep = import_files(imp, files, as_of=as_of)
        assert rep.assessed == imp.counts()["tumour"]  # once per registration
        a, b = _dump(ref), _dump(imp)
        assert set(a) == set(b)
        for table in a:
            assert b[table] == a[table], table
        counts = imp.counts()
        assert counts["encounter"] > 300 and counts["assessment"] > counts["tumour"]  # re-plans happened
        reasons = {h.reason for p in imp.patients() for t in imp.patient_record(p).tumours
                   for h in imp.history(p, t.label)}
        assert {"replan_re_excision", "replan_metastasis"} <= reasons
    finally:
        ref.close()
        imp.close()


@pytest.mark.parametrize("edit, where", [
    (("patients.csv", "\nF,female", "\nA,female"), "patients row 6: patient 'A': a "),
    (("tumours.csv", "D,T2,", "D,T1,"), "tumours row 5: tumour 'T1' of patient 'D': "),
    (("tumours.csv", "\nG5,", "\nNOBODY,"), "tumours row 13: patient 'NOBODY': no such patient"),
    (("encounters.csv", "F,2020-05-05", "F,2099-05-05"), "encounters row"),
    (("events.csv", "B,T1,local_recurrence,2020-06-01", "B,T1,local_recurrence,2010-06-01"),
     "events row 3: local recurrence of patient .B.: event dated before the diagnosis of its tumour"),
])
def test_import_names_the_row_the_database_or_a_rule_refuses(reg, tmp_path, edit, where):
    import datetime as dt

    files = _mixed_cohort(tmp_path, dt.date(2024, 6, 1))
    reg.add_patient("OLD", sex="male")
    before = reg.counts()
    name, old, new = edit
    text = (tmp_path / name).read_text()
    assert old in text
    (tmp_path / name).write_text(text.replace(old, new, 1))
    with pytest.raises(ImportValidationError, match=where):
        import_files(reg, files, as_of=dt.date(2024, 6, 1))
    assert reg.counts() == before
