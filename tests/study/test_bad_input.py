"""Bad input to ``leiosurv study`` and ``leiosurv synth`` (issue 14): one line, exit 2, the input intact.

Each case of the issue is one test, run through the real entry point
(``leiosurv.interfaces.cli.main``, or the installed script in a subprocess where
stdout, signals or a fresh interpreter matter).  Every test asserts: exit
status 2, exactly one line on stderr, no traceback, no echoed value longer than
about 200 characters, and that the input file still exists unchanged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from study_cohorts import cohort_frame

from devices import is_full_device
from leiosurv.interfaces.cli import main

_SCRIPT = Path(sys.executable).parent / "leiosurv"
LEIOSURV = [str(_SCRIPT)] if _SCRIPT.exists() else \
    [sys.executable, "-c", "import sys; from leiosurv.interfaces.cli import main; sys.exit(main())"]
"""The installed ``leiosurv`` script (the real entry point), else the same call through ``python -c``."""


def one_line_error(code: int, err: str, *, status: int = 2) -> str:
    """The single stderr line of a failed run, after checking the common promises."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert code == status, err
    assert "x" * 201 not in lines[0], "echoes more than ~200 characters of a value"
    return lines[0]


def run_cli(args: list[str], capsys) -> str:
    code = main([str(a) for a in args])
    return one_line_error(code, capsys.readouterr().err)


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("input") / "cohort.csv"
    cohort_frame(120, seed=5).to_csv(path, index=False)
    return path


@pytest.fixture
def garbage() -> bytes:
    return b"\x89\xff" + bytes(range(256)) * 8 + b"\x00\xff" * 500


def _unchanged(path: Path, before: bytes) -> None:
    assert path.exists() and path.read_bytes() == before


def _no_hidden(directory: Path) -> None:
    assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------------------
# unreadable cohort files: one line naming the file, no engine novel
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "extra", "expected"), [
    ("garbage.parquet", [], "garbage.parquet: not a readable Parquet file"),
    ("garbage.duckdb", ["--table", "cohort"], "garbage.duckdb: not a readable DuckDB database"),
    ("garbage.sqlite", ["--table", "cohort"], "garbage.sqlite"),
    ("garbage.csv", [], "garbage.csv: line 1: not UTF-8 text"),
    ("garbage.xlsx", [], "garbage.xlsx: not a readable Excel workbook"),
    ("garbage.csv.gz", [], "garbage.csv.gz: cannot read"),
])
def test_garbage_file_is_one_line(tmp_path, capsys, garbage, name, extra, expected):
    src = tmp_path / name
    src.write_bytes(garbage)
    line = run_cli(["study", src, "--out", tmp_path / "out", "--no-progress", *extra], capsys)
    assert line.startswith("InputError: ") and expected in line, line
    assert len(line) < 400
    _unchanged(src, garbage)
    assert not (tmp_path / "out").exists()


def test_garbage_csv_that_is_text_names_its_line(tmp_path, capsys):
    src = tmp_path / "words.csv"
    src.write_text("this is not, a cohort\n" + "but some,\"text, with\n" * 3)
    line = run_cli(["study", src, "--out", tmp_path / "out", "--no-progress"], capsys)
    assert "words.csv: line " in line and "Possible fixes" not in line, line


# ---------------------------------------------------------------------------
# CSV structure: ragged rows and duplicated columns
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("edit", "found"), [(lambda r: r + ",extra", "14 fields"),
                                             (lambda r: ",".join(r.split(",")[:-2]), "11 fields")])
def test_ragged_row_names_its_line(tmp_path, capsys, edit, found):
    lines = cohort_frame(30, seed=2).to_csv(index=False).splitlines()
    lines[7] = edit(lines[7])  # file line 8, data row 7
    src = tmp_path / "ragged.csv"
    src.write_text("\n".join(lines) + "\n")
    before = src.read_bytes()
    line = run_cli(["study", src, "--out", tmp_path / "out", "--no-progress"], capsys)
    assert line.startswith("InputError: ") and "ragged.csv: line 8 (data row 7)" in line, line
    assert found in line and "header has 13" in line and "missing required" not in line
    _unchanged(src, before)


def test_duplicated_column_is_an_error(tmp_path, capsys):
    text = cohort_frame(30, seed=2).to_csv(index=False).splitlines()
    text[0] = text[0].replace("synthetic", "age")  # the last column is now a second 'age'
    src = tmp_path / "dup.csv"
    src.write_text("\n".join(text) + "\n")
    before = src.read_bytes()
    line = run_cli(["study", src, "--out", tmp_path / "out", "--no-progress"], capsys)
    assert line == "CohortError: " + str(src) + ": (columns): column 'age' appears 2 times (columns 2, 13); " \
                   "column names must be unique"
    _unchanged(src, before)


# ---------------------------------------------------------------------------
# --out: never the input, never inside or around it; unwritable; blocked; '.'
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["study", "validate-rule"])
def test_out_containing_the_input_is_refused_even_with_force(tmp_path, capsys, command):
    data = tmp_path / "data"
    data.mkdir()
    src = data / "cohort.csv"
    cohort_frame(60, seed=1).to_csv(src, index=False)
    before = src.read_bytes()
    line = run_cli([command, src, "--out", data, "--force", "--no-progress"], capsys)
    assert line.startswith("OutputError: output directory ") and "contains the input" in line
    _unchanged(src, before)
    assert sorted(p.name for p in data.iterdir()) == ["cohort.csv"]


def test_out_inside_the_input_is_refused(tmp_path, capsys):
    dataset = tmp_path / "dataset.parquet"  # a Parquet dataset is a directory
    dataset.mkdir()
    cohort_frame(60, seed=1).to_parquet(dataset / "part-0.parquet")
    before = (dataset / "part-0.parquet").read_bytes()
    line = run_cli(["study", dataset, "--out", dataset / "report", "--no-progress"], capsys)
    assert "lies inside the input" in line, line
    _unchanged(dataset / "part-0.parquet", before)
    assert sorted(p.name for p in dataset.iterdir()) == ["part-0.parquet"]


def test_out_dot_is_refused(tmp_path, capsys, monkeypatch, cohort_csv):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "notes.txt").write_text("keep me")
    for force in ([], ["--force"]):
        line = run_cli(["study", cohort_csv, "--out", ".", "--no-progress", *force], capsys)
        assert line.startswith("OutputError: output directory .: is (or contains) the current directory"), line
    assert (work / "notes.txt").read_text() == "keep me" and cohort_csv.exists()


def test_unwritable_out(tmp_path, capsys, cohort_csv):
    if os.geteuid() == 0:  # root ignores permission bits; sysfs refuses new directories even to root
        out = Path("/sys/leiosurv-test-out")
        if not Path("/sys").is_dir():
            pytest.skip("running as root without /sys: no unwritable place to try")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        out = locked / "out"
    before = cohort_csv.read_bytes()
    line = run_cli(["study", cohort_csv, "--out", out, "--no-progress"], capsys)
    assert line.startswith(f"OutputError: output directory {out}: ") and \
        ("Permission denied" in line or "not permitted" in line), line
    _unchanged(cohort_csv, before)
    assert not out.exists()


def test_out_blocked_by_a_file(tmp_path, capsys, cohort_csv):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    line = run_cli(["study", cohort_csv, "--out", blocker / "sub", "--no-progress"], capsys)
    assert line.startswith(f"OutputError: output directory {blocker / 'sub'}: ") and \
        ("File exists" in line or "Not a directory" in line), line
    line = run_cli(["study", cohort_csv, "--out", blocker, "--no-progress"], capsys)
    assert "is a file" in line or "not a directory" in line, line
    assert blocker.read_text() == "x"


def test_non_empty_out_without_force_keeps_its_files(tmp_path, capsys, cohort_csv):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    line = run_cli(["study", cohort_csv, "--out", out, "--no-progress"], capsys)
    assert "is not empty" in line and (out / "keep.txt").read_text() == "x"


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["0.9999999999999999", "1", "0", "nan", "inf", "-0.5"])
def test_level_without_a_normal_quantile(tmp_path, capsys, cohort_csv, level):
    line = run_cli(["study", cohort_csv, "--out", tmp_path / "out", "--level", level, "--no-progress"], capsys)
    assert line.startswith("UsageError: Invalid value for '--level': must be in (0, 1)"), line
    assert not (tmp_path / "out").exists()


def test_level_just_below_the_limit_runs(tmp_path, capsys, cohort_csv):
    assert main(["study", str(cohort_csv), "--out", str(tmp_path / "out"), "--level", "0.9999999999999998",
                 "--no-progress"]) == 0, capsys.readouterr().err


def test_5000_character_names(tmp_path, capsys, cohort_csv):
    long = "x" * 5000
    line = run_cli(["study", tmp_path / f"{long}.csv", "--out", tmp_path / "out"], capsys)
    assert line.startswith("InputError: source ") and "File name too long" in line and len(line) < 400
    line = run_cli(["study", cohort_csv, "--out", tmp_path / long, "--no-progress"], capsys)
    assert line.startswith("OutputError: output directory ") and "File name too long" in line and len(line) < 400
    line = run_cli(["synth", "--n", "10", "--out", tmp_path / f"{long}.parquet"], capsys)
    assert line.startswith("OutputError: output ") and "File name too long" in line and len(line) < 400
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_long_cell_value_is_cut(tmp_path, capsys):
    df = cohort_frame(30, seed=2)
    df["sex"] = df["sex"].astype(object)
    df.loc[4, "sex"] = "y" * 10_000
    src = tmp_path / "long.csv"
    df.to_csv(src, index=False)
    line = run_cli(["study", src, "--out", tmp_path / "out", "--no-progress"], capsys)
    assert "row 5.sex" in line and "y" * 201 not in line and "(10000 ch)" in line, line


# ---------------------------------------------------------------------------
# synth: bounded by the machine, refused up front
# ---------------------------------------------------------------------------
def test_synth_n_beyond_the_disk_is_refused_up_front(tmp_path, capsys):
    out = tmp_path / "huge.parquet"
    line = run_cli(["synth", "--n", "1000000000000", "--out", out], capsys)
    assert line.startswith("InputError: --n: 1,000,000,000,000 rows need about 24.0 TB on disk (24 bytes a row)")
    assert "at most" in line
    assert list(tmp_path.iterdir()) == []


def test_synth_chunk_size_beyond_memory_is_refused(tmp_path, capsys):
    line = run_cli(["synth", "--n", str(10**9), "--chunk-size", str(10**15), "--out", tmp_path / "c.parquet"],
                   capsys)
    assert line.startswith("InputError: --n") or line.startswith("InputError: --chunk-size"), line
    assert list(tmp_path.iterdir()) == []


def test_synth_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "c.parquet"
    out.write_bytes(b"precious")
    line = run_cli(["synth", "--n", "10", "--out", out], capsys)
    assert "exists; use --force" in line and out.read_bytes() == b"precious"


# ---------------------------------------------------------------------------
# subprocesses: stdout on a full disk, SIGTERM and SIGINT
# ---------------------------------------------------------------------------
def _env() -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}


@pytest.mark.skipif(not is_full_device(), reason="no /dev/full device on this system")
@pytest.mark.parametrize("command", ["study", "synth"])
def test_stdout_on_a_full_disk(tmp_path, cohort_csv, command):
    args = (["study", str(cohort_csv), "--out", str(tmp_path / "out"), "--no-progress"] if command == "study"
            else ["synth", "--n", "50", "--out", str(tmp_path / "s.parquet")])
    with open(os.open("/dev/full", os.O_WRONLY), "w") as full:  # no O_CREAT: never a regular file there
        proc = subprocess.run([*LEIOSURV, *args], stdout=full, stderr=subprocess.PIPE, text=True, env=_env(),
                              timeout=300)
    line = one_line_error(proc.returncode, proc.stderr)
    assert line.startswith("OutputError: standard output: No space left on device"), line
    assert cohort_csv.exists()


def test_stdout_closed_pipe_is_quiet(tmp_path):
    proc = subprocess.Popen([*LEIOSURV, "synth", "--n", "50", "--out", str(tmp_path / "s.parquet")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    proc.stdout.close()  # the reader goes away before anything is printed
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert "Traceback" not in err and "Exception ignored" not in err, err


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"finished before the signal could be sent: {proc.stderr.read()}")
        time.sleep(0.002)
    proc.kill()
    pytest.fail("the temporary output never appeared")


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_during_synth_leaves_no_temporary_file(tmp_path, sig, status):
    out = tmp_path / "big.parquet"
    proc = subprocess.Popen([*LEIOSURV, "synth", "--n", "20000000", "--out", str(out), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    _wait_for(lambda: any(p.name.startswith(".big.parquet.") for p in tmp_path.iterdir()), proc)
    time.sleep(0.3)  # let it write for a while
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_study_leaves_no_hidden_directory(tmp_path):
    src = tmp_path / "cohort.csv"
    cohort_frame(400, seed=3).to_csv(src, index=False)
    out = tmp_path / "report"
    proc = subprocess.Popen([*LEIOSURV, "study", str(src), "--out", str(out), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    _wait_for(lambda: any(p.name.startswith(".report.") for p in tmp_path.iterdir()), proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv"]


# ---------------------------------------------------------------------------
# random bytes as a cohort file, every supported extension
# ---------------------------------------------------------------------------
_DB = ["--table", "cohort"]
_EXTENSIONS = {".csv": [], ".csv.gz": [], ".tsv": [], ".tsv.gz": [], ".txt": [], ".parquet": [], ".xlsx": [],
               ".xlsm": [], ".duckdb": _DB, ".ddb": _DB, ".sqlite": _DB, ".sqlite3": _DB, ".db": _DB}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ext=st.sampled_from(sorted(_EXTENSIONS)),
       data=st.one_of(st.binary(max_size=4096),
                      st.text(alphabet=st.sampled_from(list('a,;"\t\n\r0123456789 id age')), max_size=400)
                      .map(str.encode)))
def test_random_bytes_never_a_traceback(tmp_path, capsys, ext, data):
    src = tmp_path / f"random{ext}"
    src.write_bytes(data)
    out = tmp_path / "out"
    code = main(["study", str(src), "--out", str(out), "--no-progress", *_EXTENSIONS[ext]])
    line = one_line_error(code, capsys.readouterr().err)
    assert line.split(":")[0] in {"InputError", "CohortError", "OutputError"}, line
    _unchanged(src, data)
    assert not out.exists()
    _no_hidden(tmp_path)


def test_fifo_as_cohort_does_not_hang(tmp_path, capsys):
    fifo = tmp_path / "cohort.csv"
    os.mkfifo(fifo)
    line = run_cli(["study", fifo, "--out", tmp_path / "out", "--no-progress"], capsys)
    assert "is a special file (FIFO, device or socket)" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv"]


@pytest.mark.parametrize(("option", "value"), [("--table", "patients"), ("--sheet", "cohort")])
def test_option_that_does_not_apply_to_the_format(tmp_path, capsys, cohort_csv, option, value):
    line = run_cli(["study", cohort_csv, "--out", tmp_path / "out", option, value, "--no-progress"], capsys)
    assert line.startswith(f"InputError: {option[2:]}: only for "), line


def test_full_disk_while_writing_the_report_keeps_the_previous_output(tmp_path, capsys, cohort_csv, monkeypatch):
    import errno

    import leiosurv.study

    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("previous report")

    def full_disk(result, directory):
        (Path(directory) / "half.csv").write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(directory) / "figure.png"))

    monkeypatch.setattr(leiosurv.study, "write_report", full_disk)
    line = run_cli(["study", cohort_csv, "--out", out, "--force", "--no-progress"], capsys)
    assert line == f"OutputError: output directory {out}: No space left on device; nothing was written", line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert (out / "report.html").read_text() == "previous report"


def test_synth_force_never_replaces_real_data(tmp_path, capsys):
    real = tmp_path / "registry.parquet"
    cohort_frame(40, seed=1, synthetic=False).drop(columns="synthetic", errors="ignore").to_parquet(real)
    before = real.read_bytes()
    line = run_cli(["synth", "--n", "10", "--out", real, "--force"], capsys)
    assert "is not a synthetic cohort made by leiosurv" in line, line
    _unchanged(real, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.parquet"]


def test_out_equal_to_the_input_is_refused(tmp_path, capsys):
    src = tmp_path / "cohort.csv"
    cohort_frame(40, seed=1).to_csv(src, index=False)
    before = src.read_bytes()
    for force in ([], ["--force"]):
        line = run_cli(["study", src, "--out", src, "--no-progress", *force], capsys)
        assert "is a file" in line or "is the input" in line, line
    _unchanged(src, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv"]
