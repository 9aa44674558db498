"""Bulk import: row-by-row validation naming row and column, one transaction, and a SIGKILL mid-way."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from leiosurv.exceptions import ImportValidationError
from leiosurv.registry import import_files

PATIENTS = "patient,sex,name,birth_date\nA,female,Ann Example,1950-01-02\nB,male,,\n"
TUMOURS = ("patient,tumour,diagnosis_date,depth,margins,necrosis,mitoses_count,age\n"
           "A,T1,2020-01-15,dermal,positive,absent,25,70\nB,T1,2019-05-01,subcutaneous,negative,,,60\n")
EVENTS = "patient,tumour,kind,date,site,cause\nA,T1,metastasis,2021-02-01,lung,\nA,,death,2022-03-01,,LMS\n"
ENCOUNTERS = "patient,date,plan_item,tumour,status\nA,2020-07-20,visit-m006,T1,done\n"


def _write(tmp_path, **files):
    out = []
    for name, text in files.items():
        p = tmp_path / f"{name}.csv"
        p.write_text(text)
        out.append(p)
    return out


def test_csv_import(reg, tmp_path):
    rep = import_files(reg, _write(tmp_path, patients=PATIENTS, tumours=TUMOURS, events=EVENTS,
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
        import_files(reg, _write(tmp_path, patients=PATIENTS.replace("female", "woman"), tumours=bad))
    msg = str(e.value)
    assert "patients row 1.sex: must be one of" in msg
    assert "tumours row 2.diagnosis_date: not a date" in msg
    assert "tumours row 1.depth" in msg
    assert "Ann" not in msg and "1950" not in msg
    assert reg.counts()["patient"] == 0


def test_missing_and_unknown_columns(reg, tmp_path):
    with pytest.raises(ImportValidationError, match="events: missing column 'date'.*unknown column 'when'"):
        import_files(reg, _write(tmp_path, events="patient,kind,when\nA,death,2020-01-01\n"))


def test_database_refusal_mid_import_rolls_everything_back(reg, tmp_path):
    events = EVENTS + "B,T1,local_recurrence,2018-01-01,,\n"  # before B's diagnosis: the trigger refuses it
    with pytest.raises(ImportValidationError, match=r"events row 3: .*before the diagnosis"):
        import_files(reg, _write(tmp_path, patients=PATIENTS, tumours=TUMOURS, events=events))
    assert sum(reg.counts().values()) == 0


def test_sigkill_mid_import_leaves_the_database_as_it_was(reg, db_url, tmp_path):
    reg.add_patient("KEEP", sex="female")
    before = reg.counts()
    n = 4000
    (tmp_path / "patients.csv").write_text("patient,sex\n" + "".join(f"K{i},female\n" for i in range(n)))
    (tmp_path / "tumours.csv").write_text("patient,tumour,diagnosis_date,depth,margins\n" + "".join(
        f"K{i},T,2020-01-15,dermal,positive\n" for i in range(n)))
    env = {**os.environ, "LEIOSURV_REGISTRY_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-c",
        "import sys; from leiosurv.interfaces.cli import main; sys.exit(main())",
                             "registry", "import", "--progress",
                             str(tmp_path / "patients.csv"), str(tmp_path / "tumours.csv")],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        seen = 0
        deadline = time.monotonic() + 120
        while seen < 2 and time.monotonic() < deadline:  # 2000 rows applied: patients done, tumours under way
            line = proc.stderr.readline()
            if not line:
                break
            seen += line.startswith("applied")
        assert seen == 2, "the import did not report progress"
        assert proc.poll() is None, "the import finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    from leiosurv.registry import Registry

    deadline = time.monotonic() + 30
    while True:  # PostgreSQL rolls back once it notices the dropped connection
        after = Registry(db_url).counts()
        if after == before or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert after == before
    if reg.dialect == "sqlite":
        with reg.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # and the registry takes writes again
    import_files(Registry(db_url), _write(tmp_path, patients=PATIENTS))
    assert Registry(db_url).counts()["patient"] == before["patient"] + 2
