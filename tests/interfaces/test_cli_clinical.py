"""CLI ``assess``, ``plan`` and ``schema``: output, exit codes, one-line errors, nothing half-written."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from leiosurv.interfaces.cli import cli, main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HIGH = EXAMPLES / "teaching_dermal_lms_high.yaml"


def test_assess_summary():
    r = CliRunner().invoke(cli, ["assess", str(HIGH)])
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Atypical intradermal smooth muscle neoplasm" in out and "Risk group: HIGH" in out
    assert "9.3%" in out and "2.4%" in out and "10.0%" in out
    assert "2024-09-15" in out and "chest CT or PET/CT" in out
    assert "does not replace" in out and "FNCLCC mitotic score 3" in out


def test_assess_json_keys():
    r = CliRunner().invoke(cli, ["assess", str(HIGH), "--json"])
    assert r.exit_code == 0
    d = json.loads(r.output)
    assert {"findings", "diagnosis", "applicability", "risk", "plan", "consistency_warnings", "provenance"} <= set(d)
    assert {"category", "icd_10", "contradicted"} <= set(d["diagnosis"]["candidates"][0])
    assert d["risk"]["group"] in {"high", "low", "incomplete", "not_applicable"} and d["risk"]["factors"]
    assert {"due", "kind", "modality", "status"} <= set(d["plan"]["encounters"][0])
    p = d["provenance"]
    assert p["leiosurv_version"] and p["mitotic_definition"] == "fnclcc" and "seed-001" in p["evidence_sources"]
    assert "dx.aismn.dermal-based" in p["fired_rules"] and p["risk_rule_id"] == "dlms-risk-abebe-2025"
    assert p["ruleset_version"] and len(p["ruleset_sha256"]) == 64


def test_assess_options_change_result():
    r = CliRunner().invoke(cli, ["assess", str(HIGH), "--json", "--mitotic-definition", "danish-3b",
                                 "--imaging-interval", "3"])
    d = json.loads(r.output)
    assert d["risk"]["group"] == "low" and d["provenance"]["mitotic_definition"] == "danish-3b"
    r = CliRunner().invoke(cli, ["assess", str(HIGH), "--json", "--imaging-interval", "3"])
    d = json.loads(r.output)
    assert [e["month"] for e in d["plan"]["encounters"] if e["kind"] == "imaging"] == [3, 6, 9, 12, 15, 18, 21, 24]


def test_json_case_file(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"excision_date": "2024-01-01", "depth": "dermal", "margins": "positive",
                             "confirmed_diagnosis": "aismn"}))
    r = CliRunner().invoke(cli, ["assess", str(p), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["risk"]["group"] == "high"


def test_schema():
    r = CliRunner().invoke(cli, ["schema"])
    s = json.loads(r.output)
    assert "excision_date" in s["required"] and s["additionalProperties"] is False
    r = CliRunner().invoke(cli, ["schema", "--output", "assessment"])
    s = json.loads(r.output)
    assert {"diagnosis", "applicability", "risk", "plan", "provenance"} <= set(s["properties"])


@pytest.mark.parametrize("which, keys", [
    ("study", {"provenance", "table1", "overall", "univariable", "rule", "groups", "curves", "conditional"}),
    ("validation", {"study", "comparisons"}),
    ("cumulative-incidence", {"kind", "options", "counts", "table", "provenance"}),
    ("gray-test", {"kind", "groups", "rho", "table", "provenance"}),
    ("conditional-incidence", {"kind", "landmark", "n_at_landmark", "incidence"}),
])
def test_schema_of_study_and_statistics_results(which, keys):
    r = CliRunner().invoke(cli, ["schema", "--output", which])
    assert r.exit_code == 0, r.output
    assert keys <= set(json.loads(r.output)["properties"])


@pytest.mark.parametrize(
    "content, suffix, expected",
    [
        ("excision_date: 2024-01-01\nimmunohistochemistry:\n  cd99: positive\n", ".yaml",
         "immunohistochemistry.cd99: unknown field (got 'positive')"),
        ("excision_date: 2024-01-01\nmitoses:\n  count: -3\n", ".yaml", "mitoses.count:"),
        ("excision_date: 2999-01-01\n", ".yaml", "excision_date: excision date 2999-01-01 is in the future"),
        ("excision_date: 2024-01-01\nfoo: [1,\n", ".yaml", "malformed YAML"),
        ('{"excision_date": "2024-01-01",', ".json", "malformed JSON"),
        ("- a\n- b\n", ".yaml", "must be a mapping"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, capsys, content, suffix, expected):
    case = tmp_path / f"case{suffix}"
    case.write_text(content)
    ics, fhir = tmp_path / "out.ics", tmp_path / "out.json"
    code = main(["plan", str(case), "--ics", str(ics), "--fhir", str(fhir)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("FindingsError: ") and expected in err and err.count("\n") == 1
    assert "Traceback" not in err
    assert not ics.exists() and not fhir.exists() and list(tmp_path.iterdir()) == [case]


def test_missing_file(tmp_path, capsys):
    code = main(["assess", str(tmp_path / "nope.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "FindingsError: (file): no such file" in err


def test_plan_writes_exports(tmp_path, capsys):
    ics, fhir, js = tmp_path / "a" / "plan.ics", tmp_path / "plan.fhir.json", tmp_path / "assess.json"
    code = main(["plan", str(HIGH), "--ics", str(ics), "--fhir", str(fhir), "--json", str(js)])
    out = capsys.readouterr().out
    assert code == 0 and "Risk group: high" in out
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert json.loads(fhir.read_text())["resourceType"] == "Bundle"
    assert json.loads(js.read_text())["risk"]["group"] == "high"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["assess.json", "plan.fhir.json", "plan.ics"]


def test_assess_exit_0_via_main(capsys):
    assert main(["assess", str(HIGH)]) == 0
    assert "Risk group" in capsys.readouterr().out
