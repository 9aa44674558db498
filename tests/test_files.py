"""leiosurv.files: all-or-nothing writes, inputs never overwritten, one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from leiosurv.exceptions import InputError, OutputError
from leiosurv.files import atomic_directory, atomic_file, atomic_write, check_outputs, short


def test_atomic_write_writes_all(tmp_path):
    atomic_write({tmp_path / "a" / "x.txt": "é", tmp_path / "y.bin": b"\x00"})
    assert (tmp_path / "a" / "x.txt").read_text(encoding="utf-8") == "é"
    assert (tmp_path / "y.bin").read_bytes() == b"\x00"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_atomic_write_none_when_one_fails(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write({tmp_path / "ok.txt": b"1", tmp_path / "d": b"2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_unwritable_directory_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=r"^output .*file/x: (Not a directory|File exists)"):
        atomic_write({blocker / "x": b"1"})
    assert blocker.read_text() == "x"


def test_fifo_is_left_alone(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="special file"):
        atomic_write({fifo: b"1"})
    with pytest.raises(OutputError, match="special file"):
        check_outputs([fifo])


def test_device_target_is_refused(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with pytest.raises(OutputError, match="special file"):
        atomic_write({__import__("pathlib").Path("/dev/full"): b"1"})


def test_write_error_inside_atomic_file_removes_temp(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_check_outputs_refuses_input_clashes(tmp_path):
    inp = tmp_path / "data" / "cohort.csv"
    inp.parent.mkdir()
    inp.write_text("x")
    with pytest.raises(OutputError, match="is the input"):
        check_outputs([inp], [inp])
    with pytest.raises(OutputError, match="same file as output"):
        check_outputs([tmp_path / "a", tmp_path / "x" / ".." / "a"], [inp])
    with pytest.raises(OutputError, match="contains the input"):
        check_outputs([], [inp], directories=[tmp_path / "data"])
    with pytest.raises(OutputError, match="contains the input"):
        check_outputs([], [inp], directories=[tmp_path])
    with pytest.raises(OutputError, match="lies inside the input"):
        check_outputs([], [tmp_path / "data"], directories=[tmp_path / "data" / "out"])
    check_outputs([tmp_path / "out.txt"], [inp], directories=[tmp_path / "report"])
    assert issubclass(OutputError, InputError)


def test_atomic_directory_replaces_only_on_success(tmp_path):
    out = tmp_path / "report"
    with atomic_directory(out) as d:
        (d / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1"
    with pytest.raises(OutputError, match="not empty"), atomic_directory(out):
        pass
    with pytest.raises(ValueError), atomic_directory(out, replace=True) as d:
        (d / "b.txt").write_text("2")
        raise ValueError
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    with atomic_directory(out, replace=True) as d:
        (d / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_sigterm_removes_temporary_directory(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        from leiosurv.files import atomic_directory
        with atomic_directory({str(tmp_path / 'out')!r}) as d:
            (d / "partial").write_text("x")
            print("ready", flush=True)
            time.sleep(30)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 143
    assert list(tmp_path.iterdir()) == []


def test_short_bounds_echo():
    assert short("abc") == "abc"
    assert len(short("x" * 10_000)) < 220
