"""``leiosurv registry ...``: readable output, --json, one-line errors with exit 2, nothing written."""

import json
import re
from pathlib import Path

import pytest

from leiosurv.interfaces.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(capsys, db, *args) -> tuple[int, str, str]:
    code = main(["registry", "--db", db, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def cli_db(db_url, capsys):
    code, out, _ = run(capsys, db_url, "init")
    assert code == 0 and "ready (schema 0014)" in out
    return db_url


def test_demo_alerts_and_timeline(cli_db, capsys):
    code, out, _ = run(capsys, cli_db, "demo")
    assert code == 0 and "SEED-000, SEED-004" in out
    code, out, _ = run(capsys, cli_db, "alerts", "--as-of", "2023-01-01")
    assert code == 0
    assert "1 gap" in out and "hepatic-mass" in out and "OPEN GAP" in out and "SEED-000" in out
    code, out, _ = run(capsys, cli_db, "alerts", "--as-of", "2023-01-01", "--json")
    data = json.loads(out)
    assert [(a["kind"], a["patient"], a["date"]) for a in data] == [("gap", "SEED-000", "2019-07-01")]
    code, out, _ = run(capsys, cli_db, "timeline", "SEED-000", "SEED-004")
    assert code == 0
    assert out.index("Patient SEED-000") < out.index("1997-07-01") < out.index("2023-07-01") \
        < out.index("Patient SEED-004") < out.index("2021-07-01") < out.index("2024-07-01")
    assert "26.0 y" in out and "3.0 y" in out


def test_patient_lifecycle_and_json(cli_db, capsys, tmp_path):
    assert run(capsys, cli_db, "add-patient", "P1", "--sex", "male")[0] == 0
    code, out, _ = run(capsys, cli_db, "add-tumour", "P1", "T1", str(EXAMPLES / "teaching_dermal_lms_high.yaml"),
                       "--as-of", "2024-04-01", "--json")
    assert code == 0 and json.loads(out)["risk_group"] == "high"
    assert run(capsys, cli_db, "record", "encounter", "P1", "--date", "2024-09-20", "--plan-item", "visit-m006")[0] == 0
    assert run(capsys, cli_db, "record", "event", "P1", "--kind", "metastasis", "--date", "2025-01-02",
               "--site", "lung")[0] == 0
    code, out, _ = run(capsys, cli_db, "assess", "P1")
    assert code == 0 and "replan_metastasis" in out and "registration" in out
    code, out, _ = run(capsys, cli_db, "timeline", "P1", "--json", "--figure", str(tmp_path / "t.png"))
    assert code == 0 and json.loads(out)[0]["patient"] == "P1" and (tmp_path / "t.png").stat().st_size > 0
    code, out, _ = run(capsys, cli_db, "export", "--patient", "P1", "--format", "fhir", "--out",
        str(tmp_path / "p.json"))
    assert code == 0
    bundle = json.loads((tmp_path / "p.json").read_text())
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[:4] == ["Patient", "Condition", "RiskAssessment", "CarePlan"] and "Encounter" in kinds
    # every reference resolves to an entry of the Bundle by its fullUrl (issue 21, item 8)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(u.startswith("urn:uuid:") for u in urls) and len(urls) == len(bundle["entry"])
    refs = re.findall(r'"reference": "([^"]+)"', json.dumps(bundle))
    assert refs and set(refs) <= urls


@pytest.mark.parametrize("args, match", [
    (["record", "event", "P1", "--kind", "metastasis", "--date", "2025-01-02"], "metastasis needs its site"),
    (["record", "event", "NOBODY", "--kind", "death", "--date", "2025-01-02"], "no such patient"),
    (["record", "event", "P1", "--kind", "death", "--date", "2099-01-02"], "in the future"),
    (["record", "event", "P1", "--kind", "death", "--date", "02/01/2025"], "--date"),
    (["add-patient", "P1"], "already exists"),
    (["add-tumour", "P1", "T9", "BAD"], "BAD"),
    (["export", "--out", "x.json"], "exactly one of"),
])
def test_bad_input_one_line_exit_2_nothing_written(cli_db, capsys, args, match):
    run(capsys, cli_db, "add-patient", "P1", "--sex", "female")
    run(capsys, cli_db, "add-tumour", "P1", "T1", str(EXAMPLES / "teaching_dermal_lms_low.yaml"))
    from leiosurv.registry import Registry

    before = Registry(cli_db).counts()
    code, out, err = run(capsys, cli_db, *args)
    assert code == 2, (out, err)
    assert match in err and len(err.strip().splitlines()) <= 3 and "Traceback" not in err
    assert Registry(cli_db).counts() == before


def test_import_error_names_row_and_column(cli_db, capsys, tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("patient,kind,date\nP1,death,2021-02-30\n")
    code, _, err = run(capsys, cli_db, "import", str(p))
    assert code == 2 and "events row 1.date: not a date" in err


def test_cohort_export_and_study(cli_db, capsys, tmp_path):
    run(capsys, cli_db, "demo", "--synthetic", "60")
    code, out, _ = run(capsys, cli_db, "export", "--cohort", "--out", str(tmp_path / "c.csv"))
    assert code == 0 and "Cohort of 60 tumours" in out and "SYNTHETIC" in out
    assert "left out: 2 tumours (not on the dermal-LMS pathway: soft-tissue sarcoma pathway)" in out
    code, out, _ = run(capsys, cli_db, "study", "--out", str(tmp_path / "s"))
    assert code == 0 and (tmp_path / "s" / "report.html").exists() and "SYNTHETIC" in out
    direct = cli_db if cli_db.endswith(".sqlite") or cli_db.startswith("postgresql") else f"registry:{cli_db}"
    assert main(["study", direct, "--out", str(tmp_path / "s2"), "--no-progress"]) == 0
    assert main(["study", f"registry:{cli_db}", "--out", str(tmp_path / "s4"), "--no-progress"]) == 0
    assert main(["study", str(tmp_path / "c.csv"), "--out", str(tmp_path / "s3"), "--no-progress"]) == 0
    for name in ("table1.csv", "overall_risks.csv", "univariable.csv", "risk_groups.csv", "rule.csv"):
        a = (tmp_path / "s" / name).read_bytes()
        assert a == (tmp_path / "s2" / name).read_bytes() == (tmp_path / "s3" / name).read_bytes(), name
    code, out, _ = run(capsys, cli_db, "export", "--research", "--out", str(tmp_path / "research"))
    assert code == 0 and sorted(p.name for p in (tmp_path / "research").iterdir()) == [
        "README.md", "cohort.csv", "encounters.csv", "events.csv", "treatments.csv"]


def test_backup_and_restore_commands(cli_db, capsys, tmp_path):
    import shutil

    if "postgresql" in cli_db and not shutil.which("pg_dump"):
        pytest.fail("pg_dump is not on PATH")
    run(capsys, cli_db, "demo")
    assert run(capsys, cli_db, "backup", str(tmp_path / "b.bak"))[0] == 0
    code, _, err = run(capsys, cli_db, "restore", str(tmp_path / "b.bak"))
    assert code == 2 and "--replace" in err
    assert run(capsys, cli_db, "restore", str(tmp_path / "b.bak"), "--replace")[0] == 0
    code, out, _ = run(capsys, cli_db, "timeline", "SEED-004")
    assert code == 0 and "2024-07-01" in out


def test_alerts_lookback_all(cli_db, capsys):
    run(capsys, cli_db, "add-patient", "P1")
    run(capsys, cli_db, "add-tumour", "P1", "T1", str(EXAMPLES / "teaching_dermal_lms_high.yaml"), "--as-of",
        "2024-04-01")
    code, out, _ = run(capsys, cli_db, "alerts", "--as-of", "2030-01-01", "--due-within", "0")
    assert code == 0 and "older overdue encounters counted" in out and "lost" in out
    code, out, _ = run(capsys, cli_db, "alerts", "--as-of", "2030-01-01", "--due-within", "0", "--lookback-all",
                       "--json")
    assert code == 0 and sum(a["kind"] == "overdue" for a in json.loads(out)) == 9


def test_exports_never_overwrite_the_registry(tmp_path, capsys):
    db = str(tmp_path / "reg.sqlite")
    assert main(["registry", "--db", db, "demo"]) == 0
    before = (tmp_path / "reg.sqlite").stat().st_size
    for args in (["export", "--cohort", "--out", db], ["export", "--patient", "SEED-000", "--out", db],
                 ["timeline", "SEED-000", "--figure", db], ["export", "--research", "--out", str(tmp_path)]):
        code, _, err = run(capsys, db, *args)
        assert code == 2 and "OutputError" in err, (args, err)
    assert (tmp_path / "reg.sqlite").stat().st_size == before
    assert main(["registry", "--db", db, "timeline", "SEED-000"]) == 0


def test_correct_void_and_history_commands(cli_db, capsys, tmp_path):
    assert run(capsys, cli_db, "add-patient", "P1", "--sex", "male")[0] == 0
    assert run(capsys, cli_db, "add-tumour", "P1", "T1", str(EXAMPLES / "teaching_dermal_lms_high.yaml"),
               "--as-of", "2024-04-01")[0] == 0
    assert run(capsys, cli_db, "record", "event", "P1", "--kind", "death", "--date", "2024-06-01")[0] == 0
    assert run(capsys, cli_db, "export", "--patient", "P1", "--out", str(tmp_path / "p.json"))[0] == 0
    death = json.loads((tmp_path / "p.json").read_text())["events"][0]["id"]
    code, out, err = run(capsys, cli_db, "correct", "P1", "event", str(death), "--set", "date=2024-07-01",
                         "--reason", "misread", "--by", "dr b")
    assert code == 0 and "Corrected event" in out
    code, out, err = run(capsys, cli_db, "correct", "P1", "event", str(death), "--set", "date",
                         "--reason", "misread", "--by", "dr b")
    assert code == 2 and "--set: expected FIELD=VALUE" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, cli_db, "void", "P1", "event", str(death), "--reason", "wrong patient")
    assert code == 2 and "--by" in err
    assert run(capsys, cli_db, "void", "P1", "event", str(death), "--reason", "wrong patient", "--by", "dr b")[0] == 0
    code, out, _ = run(capsys, cli_db, "history", "P1", "--json")
    h = json.loads(out)
    assert [(x["action"], x["previous"]["date"]) for x in h] == [("corrected", "2024-06-01"),
                                                                ("voided", "2024-07-01")]
    code, out, _ = run(capsys, cli_db, "history", "P1")
    assert "voided event" in out and "dr b" in out
