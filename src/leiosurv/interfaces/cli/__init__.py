"""The ``leiosurv`` command line: a thin shell over the services and the core.

Each command lives in a small module that registers itself on the group:

* ``_clinical.py`` — ``assess``, ``plan``, ``schema``
* ``_synth.py``    — ``synth`` (the synthetic cohort)
* ``_study.py``    — ``study``, ``validate-rule``
* ``_demo.py``     — ``demo``, the main job of the README
* ``_registry.py`` — ``registry ...``, the patient registry (needs the ``registry`` extra)

Errors: any :class:`leiosurv.exceptions.LeiosurvError` is printed as one line
``ErrorType: message`` on stderr, with exit status 2 for bad input
(:class:`~leiosurv.exceptions.InputError`) and 1 otherwise; no traceback.
"""

from __future__ import annotations

import sys

import click

from leiosurv import __version__
from leiosurv.exceptions import InputError, LeiosurvError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leiosurv")
def cli() -> None:
    """leiosurv: leiomyosarcoma care and research.

    Decision support only: every result shows its reasons and sources, and
    supports, never replaces, the clinician's and the pathologist's judgement.
    """


def _register() -> None:
    from leiosurv.interfaces.cli import _clinical, _demo, _registry, _study, _synth

    for module in (_clinical, _synth, _study, _demo, _registry):
        module.register(cli)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``leiosurv`` script; returns the exit status."""
    try:
        cli.main(args=argv, prog_name="leiosurv", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.UsageError as exc:  # one line naming the option or argument, exit 2
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"UsageError: {exc.format_message()}{where}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except InputError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        return 2
    except LeiosurvError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
