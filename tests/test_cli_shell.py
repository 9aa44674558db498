"""The CLI shell: errors become one line and an exit status, never a traceback."""

import click
import pytest

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
