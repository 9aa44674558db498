"""``leiosurv study`` and ``leiosurv validate-rule``: exit codes, messages, nothing half-written."""

from __future__ import annotations

import json

import pytest
from study_cohorts import cohort_frame

from leiosurv.interfaces.cli import main


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    cohort_frame(400, seed=31).to_csv(path, index=False)
    return path


def test_study_writes_report(cohort_csv, tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["study", str(cohort_csv), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"Report: {out / 'report.html'}" in printed and "SYNTHETIC DATA" in printed
    assert (out / "report.html").exists() and (out / "forest_plot.svg").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left behind


def test_options_reach_the_analysis(cohort_csv, tmp_path, capsys):
    df = cohort_frame(400, seed=31)
    df["ulceration"] = (df["id"] % 3 == 0).astype(int)
    path = tmp_path / "with_extra.parquet"
    df.to_parquet(path)
    out = tmp_path / "o"
    code = main(["study", str(path), "--out", str(out), "--horizon", "36m", "--factors", "ulceration",
                 "--thresholds", "met=1,lr=50", "--variance", "aalen", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    p = json.loads((out / "result.json").read_text())["provenance"]
    assert p["horizon_days"] == 3 * 365.25 and p["variance"] == "aalen"
    assert p["thresholds"] == {"metastasis": 0.01, "local_recurrence": 0.5}
    assert p["factors"][-1] == "ulceration"


def test_refuses_non_empty_out_without_force(cohort_csv, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["study", str(cohort_csv), "--out", str(out), "--no-progress"]) == 2
    assert "not empty" in capsys.readouterr().err and (out / "keep.txt").exists()
    assert main(["study", str(cohort_csv), "--out", str(out), "--force", "--no-progress"]) == 0
    assert not (out / "keep.txt").exists() and (out / "report.html").exists()


def test_bad_cohort_exits_2_and_writes_nothing(tmp_path, capsys):
    df = cohort_frame(50, seed=1)
    df.loc[16, "met_status"] = 7
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "never"
    assert main(["study", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("CohortError:") and "row 17.met_status" in err and "7" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


@pytest.mark.parametrize("args, message", [
    (["--horizon", "5 years"], "horizon"),
    (["--thresholds", "death=4"], "unknown outcome"),
])
def test_bad_options_exit_2(cohort_csv, tmp_path, capsys, args, message):
    assert main(["study", str(cohort_csv), "--out", str(tmp_path / "x"), *args]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_validate_rule_command(cohort_csv, tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate-rule", str(cohort_csv), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "Published figures compared: 15" in printed and "DISAGREES" in printed
    assert (out / "published_comparison.csv").exists()
    assert json.loads((out / "result.json").read_text())["kind"] == "rule_validation"


def test_progress_bar_is_drawn_by_the_cli_on_a_terminal(cohort_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert main(["study", str(cohort_csv), "--out", str(tmp_path / "o")]) == 0
    assert "cohort study" in capsys.readouterr().err


def test_validate_rule_log_log_and_its_rule(cohort_csv, tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate-rule", str(cohort_csv), "--out", str(out), "--ci", "log-log", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "Comparison rule: A published figure and the cohort's estimate are compared through their difference" \
        in printed
    payload = json.loads((out / "result.json").read_text())
    assert payload["study"]["provenance"]["ci"] == "log-log"
    html = (out / "report.html").read_text()
    assert "log–log transformed intervals" in html and "MOVER" in html


def test_bad_ci_exits_2(cohort_csv, tmp_path, capsys):
    assert main(["validate-rule", str(cohort_csv), "--out", str(tmp_path / "v"), "--ci", "logit"]) == 2
    err = capsys.readouterr().err
    assert "--ci" in err and "logit" in err
    assert not (tmp_path / "v").exists()


def test_demo_prints_the_report_files(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--n", "200"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-3:]
    assert [line.split(":")[0] for line in last] == ["Synthetic cohort", "Study report", "Rule validation"]
    for line in last:
        path = line.split(":", 1)[1].strip()
        assert path.endswith((".parquet", "report.html")) and (tmp_path / "demo").joinpath(
            *__import__("pathlib").Path(path).relative_to(tmp_path / "demo").parts).is_file(), line


def test_flagging_landmark_bootstrap_options_and_json(cohort_csv, tmp_path, capsys):
    """--min-patients, --min-events, --landmarks, --bootstrap, --seed reach the analysis; --json prints it."""
    out = tmp_path / "opts"
    code = main(["study", str(cohort_csv), "--out", str(out), "--min-patients", "3", "--min-events", "0",
                 "--landmarks", "0,2.5", "--bootstrap", "7", "--seed", "5", "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)  # stdout is the JSON alone
    p = payload["provenance"]
    assert (p["min_patients"], p["min_events"], p["landmarks_years"]) == (3, 0, [0.0, 2.5])
    assert (p["bootstrap"], p["seed"]) == (7, 5) and payload["kind"] == "study"
    assert payload["stability"]["resamples"] == 7 and payload["stability"]["seed"] == 5
    assert payload == {**json.loads((out / "result.json").read_text())}
    val = tmp_path / "val"
    assert main(["validate-rule", str(cohort_csv), "--out", str(val), "--min-events", "2", "--landmarks", "1",
                 "--bootstrap", "3", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "Bootstrap (3 resamples, seed 1): published rule re-derived in" in printed
    p = json.loads((val / "result.json").read_text())["study"]["provenance"]
    assert (p["min_events"], p["landmarks_years"], p["bootstrap"]) == (2, [1.0], 3)


@pytest.mark.parametrize("args, message", [
    (["--landmarks", "1,x"], "--landmarks"),
    (["--landmarks", "7"], "landmarks_years must lie in [0, horizon)"),
    (["--min-events", "-1"], "--min-events"),
    (["--bootstrap", "-2"], "--bootstrap"),
    (["--label", "novalue"], "--label"),
])
def test_bad_new_options_exit_2(cohort_csv, tmp_path, capsys, args, message):
    assert main(["study", str(cohort_csv), "--out", str(tmp_path / "x"), "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_cohort_problems_are_listed_in_row_order(tmp_path, capsys):
    df = cohort_frame(50, seed=1)
    df.loc[30, "age"] = -4           # row 31, a column checked early
    df.loc[4, "met_status"] = 7      # row 5, a column checked later
    df.loc[12, "lr_status"] = 9      # row 13
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    assert main(["study", str(path), "--out", str(tmp_path / "never"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    rows = [int(m) for m in __import__("re").findall(r"row (\d+)\.", err)]
    assert rows == sorted(rows) and rows[:3] == [5, 13, 31], err
