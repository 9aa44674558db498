"""The CLI shell: errors become one line and an exit status, never a traceback."""

import errno
import os
import subprocess
import sys

import click
import pytest

from devices import is_full_device
from leiosurv import __version__
from leiosurv.exceptions import ExportError, FieldIssue, FindingsError
from leiosurv.interfaces import cli as cli_mod


@pytest.fixture
def failing_command():
    raised = {}

    @click.command("_fail")
    @click.argument("kind")
    def _fail(kind):
        if kind == "input":
            raise FindingsError([FieldIssue("excision_date", "is in the future", "2999-01-01")], source="case.yaml")
        if kind == "oserror":
            raise PermissionError(errno.EACCES, "Permission denied", "/data/" + "y" * 5000)
        if kind == "interrupt":
            raise KeyboardInterrupt
        if kind == "memory":
            raise MemoryError
        if kind == "multiline":
            raise FindingsError("first line\nsecond line\n\tthird")
        if kind == "print":
            click.echo("some output")
            return
        raise ExportError("could not write plan.ics")

    cli_mod.cli.add_command(_fail)
    yield raised
    cli_mod.cli.commands.pop("_fail")


def test_version(capsys):
    assert cli_mod.main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_input_error_exit_2_one_line(failing_command, capsys):
    assert cli_mod.main(["_fail", "input"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["FindingsError: case.yaml: excision_date: is in the future (got '2999-01-01')"]


def test_other_error_exit_1(failing_command, capsys):
    assert cli_mod.main(["_fail", "export"]) == 1
    assert capsys.readouterr().err.strip() == "ExportError: could not write plan.ics"


def test_usage_error_exit_2(capsys):
    assert cli_mod.main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_unexpected_oserror_is_one_short_line(failing_command, capsys):
    assert cli_mod.main(["_fail", "oserror"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("PermissionError: /data/yyy") and err.strip().endswith("(5006 ch): Permission denied")
    assert "y" * 201 not in err


def test_interrupt_and_memory(failing_command, capsys):
    assert cli_mod.main(["_fail", "interrupt"]) == 130
    err = capsys.readouterr().err  # click ends the ^C line first; then one line
    assert err.lstrip("\n").startswith("Aborted: interrupted") and err.strip().count("\n") == 0
    assert cli_mod.main(["_fail", "memory"]) == 1
    assert capsys.readouterr().err.startswith("MemoryError: out of memory")


def test_messages_are_one_line(failing_command, capsys):
    assert cli_mod.main(["_fail", "multiline"]) == 2
    assert capsys.readouterr().err == "FindingsError: (input): first line second line third\n"


def test_usage_errors_are_one_line_and_cut(capsys):
    assert cli_mod.main(["synth", "--n", "x" * 5000, "--out", "a.parquet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("UsageError: Invalid value for '--n'")
    assert "x" * 201 not in err and "(see 'leiosurv synth --help')" in err


@pytest.mark.skipif(not is_full_device(), reason="no /dev/full device on this system")
def test_stdout_on_a_full_disk_through_the_shell(failing_command):
    code = ("import sys, click\n"
            "from leiosurv.interfaces import cli as m\n"
            "@click.command('_print')\n"
            "def p():\n"
            "    click.echo('some output')\n"
            "m.cli.add_command(p)\n"
            "sys.exit(m.main(['_print']))\n")
    with open(os.open("/dev/full", os.O_WRONLY), "w") as full:  # no O_CREAT: never a regular file there
        proc = subprocess.run([sys.executable, "-c", code], stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("OutputError: standard output: No space left on device")
    assert proc.stderr.count("\n") == 1 and "Exception ignored" not in proc.stderr
