"""The ``leiosurv`` command line: a thin shell over the services and the core.

Each command lives in a small module that registers itself on the group:

* ``_clinical.py`` — ``assess``, ``plan``, ``schema``
* ``_synth.py``    — ``synth`` (the synthetic cohort)
* ``_study.py``    — ``study``, ``validate-rule``
* ``_demo.py``     — ``demo``, the main job of the README
* ``_registry.py`` — ``registry ...``, the patient registry (needs the ``registry`` extra)
* ``_web.py``      — ``serve`` (the clinic web app, the README's main command) and ``users ...``

Errors never end in a traceback for bad input; each is **one line** on stderr:

* :class:`~leiosurv.exceptions.InputError` (bad data, option or output path):
  ``ErrorType: message``, exit status 2;
* any other :class:`~leiosurv.exceptions.LeiosurvError`: exit status 1;
* a usage error (unknown option, bad option value): ``UsageError: ...``, exit 2;
* an unexpected :class:`OSError` (a file that cannot be read or written):
  ``OSError: path: reason``, exit 2;
* standard output that cannot be written (``> /dev/full``): ``OutputError:
  standard output: No space left on device``, exit 2; a closed pipe
  (``| head``) ends quietly with status 1;
* Ctrl-C: ``Aborted.``, exit 130; SIGTERM: exit 143 (temporary files removed).

Echoed values are cut to about 200 characters (:func:`leiosurv.files.short`).
"""

from __future__ import annotations

import errno
import os
import re
import sys
import traceback

import click

from leiosurv import __version__
from leiosurv.exceptions import InputError, LeiosurvError
from leiosurv.files import short

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leiosurv")
def cli() -> None:
    """leiosurv: leiomyosarcoma care and research.

    Decision support only: every result shows its reasons and sources, and
    supports, never replaces, the clinician's and the pathologist's judgement.
    """


def _register() -> None:
    from leiosurv.interfaces.cli import _clinical, _demo, _registry, _study, _synth, _web

    for module in (_clinical, _synth, _study, _demo, _registry, _web):
        module.register(cli)


_register()


def _one_line(text: object) -> str:
    """Whitespace (newlines included) collapsed, long quoted values cut to ~200 characters."""
    flat = " ".join(str(text).split())
    # values already cut by short() are at most ~215 characters: only longer ones are cut here
    return re.sub(r"'([^']{240,})'", lambda m: repr(short(m.group(1))), flat)


def _say(kind: str, message: object) -> None:
    try:
        click.echo(f"{kind}: {_one_line(message)}", err=True)
    except OSError:  # stderr itself is gone: nothing more can be said
        pass


def _usage(exc: click.ClickException) -> None:
    hint = ""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        hint = f" (see '{ctx.command_path} --help')"
    kind = "UsageError" if isinstance(exc, click.UsageError) else "Error"
    _say(kind, f"{_one_line(exc.format_message())}{hint}")


def _from_stdout(exc: OSError) -> bool:
    """Whether *exc* was raised writing standard output (``click.echo`` without ``err``), or stdout is broken."""
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_name == "echo" and frame.f_globals.get("__name__") == "click.utils":
            return frame.f_locals.get("err") is False and _is_stdout(frame.f_locals.get("file"))
    return _stdout_broken()


def _is_stdout(stream: object) -> bool:
    if stream is None or stream is sys.stdout:
        return True
    try:
        return stream.fileno() == 1  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _stdout_broken() -> bool:
    """Whether standard output can no longer be written (full disk, closed pipe)."""
    try:
        sys.stdout.flush()
    except OSError:
        return True
    except ValueError:  # closed
        return True
    return False


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _stdout_failed(exc: OSError) -> int:
    _silence_stdout()
    if exc.errno == errno.EPIPE:
        return 1  # the reader went away (| head): nothing to report
    _say("OutputError", f"standard output: {exc.strerror or type(exc).__name__}; the output was not printed "
                        "in full (any files were written completely)")
    return 2


def _os_message(exc: OSError) -> str:
    where = ": ".join(short(f) for f in (exc.filename, exc.filename2) if f is not None)
    what = exc.strerror or short(" ".join(str(exc).split())) or type(exc).__name__
    return f"{where}: {what}" if where else what


def _dispatch(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="leiosurv", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        _say("Aborted", "interrupted; nothing half-written was left behind")
        return 130
    except click.ClickException as exc:
        _usage(exc)
        return exc.exit_code
    except InputError as exc:
        _say(type(exc).__name__, exc)
        return 2
    except LeiosurvError as exc:
        _say(type(exc).__name__, exc)
        return 1
    except MemoryError:
        _say("MemoryError", "out of memory; use a smaller cohort (or --n) or a machine with more memory")
        return 1
    except OSError as exc:
        if _from_stdout(exc):
            return _stdout_failed(exc)
        _say(type(exc).__name__, _os_message(exc))
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``leiosurv`` script; returns the exit status."""
    code = _dispatch(argv)
    try:
        sys.stdout.flush()  # Python would flush at exit and print a traceback-like warning on failure
    except OSError as exc:
        return _stdout_failed(exc)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
