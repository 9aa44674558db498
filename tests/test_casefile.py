"""Case files under bad input: one FindingsError naming the line or field; fast; bounded echo."""

from __future__ import annotations

import json
import time

import pytest

from leiosurv.casefile import MAX_BYTES, load_case, parse_case_text
from leiosurv.exceptions import FindingsError
from leiosurv.interfaces.cli import main

OK = "excision_date: 2024-01-01\n"


@pytest.mark.parametrize("text, match", [
    ("excision_date: 2024-01-01\nnecrosis: present\nnecrosis: absent\n", "duplicate key 'necrosis'"),
    ("excision_date: 2023-02-30\n", "not a valid calendar date"),
    ("excision_date: 0000-01-01\n", "not a valid calendar date"),
    ("excision_date: 0\n", "must be a date written YYYY-MM-DD"),
    ("excision_date: 1899-12-31\n", "before 1900-01-01"),
    ("excision_date: 2024-01-01T10:00:00\n", "must be a date written YYYY-MM-DD"),
    (OK + "size_mm: .inf\n", "size_mm"),
    (OK + "size_mm: 1e400\n", "size_mm"),
    (OK + "patient: {age_years: true}\n", "patient.age_years: must be a number, not true/false"),
    (OK + "mitoses: {count: yes}\n", "mitoses.count: must be a number"),
    (OK + "patient: {age_years: 40}\nhistory: {prior_leiomyosarcoma: present, prior_leiomyosarcoma_date: 1950-01-01}\n",
     "before the patient's birth"),
    ("a: &x [1]\nb: *x\n", "anchors are not allowed"),
    ("excision_date: 2024-01-01\nsite: " + "[" * 20 + "]" * 20 + "\n", "nested deeper"),
])
def test_bad_yaml_is_one_findings_error(text, match):
    with pytest.raises(FindingsError, match=match):
        parse_case_text(text)


def test_alias_bomb_fails_fast():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 10)]
    t0 = time.perf_counter()
    with pytest.raises(FindingsError, match="not allowed"):
        parse_case_text("\n".join(lines))
    assert time.perf_counter() - t0 < 2


def test_json_duplicates_and_non_finite():
    with pytest.raises(FindingsError, match="duplicate key 'depth'"):
        parse_case_text('{"excision_date": "2024-01-01", "depth": "dermal", "depth": "bone"}', as_json=True)
    with pytest.raises(FindingsError, match="non-finite number Infinity"):
        parse_case_text('{"excision_date": "2024-01-01", "size_mm": Infinity}', as_json=True)


def test_long_values_are_not_echoed_in_full():
    with pytest.raises(FindingsError) as ei:
        parse_case_text(OK + "necrosis: " + "x" * 5000 + "\n")
    assert len(str(ei.value)) < 600


def test_large_and_binary_files(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(FindingsError, match="larger than"):
        load_case(big)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(FindingsError, match="not UTF-8"):
        load_case(binary)
    with pytest.raises(FindingsError, match="not a regular file"):
        load_case(tmp_path)


@pytest.fixture()
def case(tmp_path):
    p = tmp_path / "case.yaml"
    p.write_text(OK + "depth: dermal\nconfirmed_diagnosis: aismn\nmargins: positive\n")
    return p


def test_plan_refuses_output_equal_to_input(case, capsys):
    before = case.read_bytes()
    assert main(["plan", str(case), "--ics", str(case)]) == 2
    err = capsys.readouterr().err
    assert "is the input" in err and err.count("\n") == 1 and case.read_bytes() == before


def test_plan_refuses_two_outputs_on_one_file(case, tmp_path, capsys):
    out = tmp_path / "x.json"
    assert main(["plan", str(case), "--fhir", str(out), "--json", str(out)]) == 2
    assert "same file" in capsys.readouterr().err and not out.exists()


def test_plan_leaves_special_files_alone(case, tmp_path, capsys):
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["plan", str(case), "--ics", str(fifo)]) == 2
    assert "special file" in capsys.readouterr().err


def test_plan_unwritable_target_one_line(case, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["plan", str(case), "--ics", str(blocker / "plan.ics")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("OutputError: ") and err.count("\n") == 1 and "Traceback" not in err


def test_plan_json_output_is_the_assessment(case, tmp_path):
    out = tmp_path / "a.json"
    assert main(["plan", str(case), "--json", str(out), "--as-of", "2024-02-01"]) == 0
    d = json.loads(out.read_text())
    # the prior-LMS history is not recorded: asked for first (issue 21), then the re-excision
    assert d["risk"]["group"] == "high"
    assert [r["id"] for r in d["plan"]["recommendations"]] == ["record_history", "re_excision"]
