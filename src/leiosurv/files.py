"""Writing files safely: the one atomic writer of leiosurv, for every layer's outputs.

Every file leiosurv writes goes through here, so that

* a failed or interrupted run leaves nothing half-written: data goes to a
  hidden temporary file (or directory) beside the target, which is renamed
  into place only when everything succeeded;
* temporary files and directories are removed on SIGINT and SIGTERM too
  (:func:`cleanup_on_signals`), not only on Python exceptions;
* no input is ever overwritten or deleted: :func:`check_outputs` refuses an
  output that is equal to, inside, or contains an input, two outputs that are
  the same file, and special files (FIFOs, devices) as targets;
* an operating-system failure (full disk, unwritable directory, a file in the
  way) becomes one :class:`~leiosurv.exceptions.OutputError` line naming the path.

The clinical and statistical cores do no I/O; interfaces and services call this.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write({d / "a.txt": b"one", d / "b.txt": b"two"})
>>> sorted(p.name for p in d.iterdir())
['a.txt', 'b.txt']
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from leiosurv.exceptions import OutputError

__all__ = [
    "atomic_write",
    "atomic_file",
    "atomic_directory",
    "check_outputs",
    "check_directory",
    "cleanup_on_signals",
    "short",
]

_MAX_ECHO = 200
_pending: set[Path] = set()
_lock = threading.Lock()


def short(value: object, limit: int = _MAX_ECHO) -> str:
    """``repr``-free text of *value*, cut to *limit* characters (error messages never echo more).

    >>> short("x" * 500)[-12:]
    '... (500 ch)'
    """
    s = str(value)
    return s if len(s) <= limit else f"{s[: limit - 3]}... ({len(s)} ch)"


def _describe(exc: OSError) -> str:
    return exc.strerror or short(" ".join(str(exc).split())) or type(exc).__name__


def _register(p: Path) -> None:
    with _lock:
        _pending.add(p)


def _forget(p: Path) -> None:
    with _lock:
        _pending.discard(p)


def _remove(p: Path) -> None:
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    except OSError:
        pass


def _remove_pending() -> None:
    with _lock:
        paths = list(_pending)
        _pending.clear()
    for p in paths:
        _remove(p)


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM remove this module's temporary files first.

    The previous handlers are restored on exit.  SIGINT then raises
    ``KeyboardInterrupt`` as usual; SIGTERM exits with status 143 (128 + 15).
    Only the main thread can install handlers; elsewhere the block just runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: object) -> None:
        _remove_pending()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _target_ok(target: Path, what: str = "output") -> None:
    try:
        st = target.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{what} {short(target)}: {_describe(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{what} {short(target)}: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{what} {short(target)}: is a special file (FIFO, device or socket); not written")


def _resolve(p: Path) -> Path:
    return Path(os.path.abspath(os.path.realpath(p)))


def check_outputs(outputs: Iterable[str | os.PathLike[str]], inputs: Iterable[str | os.PathLike[str]] = (),
                  *, directories: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse output paths that would overwrite or delete an input, or clash with each other.

    Parameters
    ----------
    outputs : iterable of path
        Files to be written.
    inputs : iterable of path
        Files (or directories) that are read and must survive.
    directories : iterable of path
        Output directories to be replaced as a whole: they may neither be, nor
        lie inside, nor contain an input.

    Raises
    ------
    OutputError
        Naming the clashing paths.
    """
    ins = [(Path(i), _resolve(Path(i))) for i in inputs]
    seen: dict[Path, Path] = {}
    for o in outputs:
        op = Path(o)
        r = _resolve(op)
        if r in seen:
            raise OutputError(f"output {short(op)}: the same file as output {short(seen[r])}")
        seen[r] = op
        for i, ir in ins:
            if r == ir:
                raise OutputError(f"output {short(op)}: is the input {short(i)}; inputs are never overwritten")
            if ir in r.parents:
                raise OutputError(f"output {short(op)}: lies inside the input {short(i)}")
        _target_ok(op)
    for d in directories:
        dp = Path(d)
        r = _resolve(dp)
        if r == Path(r.anchor):
            raise OutputError(f"output directory {short(dp)}: the file system root cannot be an output")
        cwd = _resolve(Path.cwd())
        if r == cwd or r in cwd.parents:
            raise OutputError(f"output directory {short(dp)}: is (or contains) the current directory, which "
                              "would be replaced; name a new directory")
        for i, ir in ins:
            if r == ir or r in ir.parents:
                raise OutputError(f"output directory {short(dp)}: contains the input {short(i)}; "
                                  "it would be replaced; choose another directory")
            if ir in r.parents:
                raise OutputError(f"output directory {short(dp)}: lies inside the input {short(i)}")


def atomic_write(outputs: Mapping[Path, bytes | str]) -> None:
    """Write every file or none.

    Each content goes to a hidden temporary file beside its target; only when
    all were written and flushed are they renamed into place.  Text is written
    as UTF-8.

    Raises
    ------
    OutputError
        The disk is full, a directory is unwritable, or a target is a
        directory or special file; nothing was written.
    """
    targets = {Path(t): (d.encode("utf-8") if isinstance(d, str) else d) for t, d in outputs.items()}
    for t in targets:
        _target_ok(t)
    temps: list[tuple[Path, Path]] = []
    try:
        with cleanup_on_signals():
            for target, data in targets.items():
                with atomic_file(target, _publish=False) as tmp:
                    tmp.write_bytes(data)
                    temps.append((tmp, target))
            for tmp, target in temps:
                os.replace(tmp, target)
                _forget(tmp)
    except OSError as exc:
        raise OutputError(f"output {short(getattr(exc, 'filename', None) or '?')}: {_describe(exc)}; "
                          "nothing was written") from None
    finally:
        for tmp, _ in temps:
            if tmp.exists():
                _remove(tmp)
            _forget(tmp)


def _reserve(parent: Path, prefix: str, suffix: str = "", *, directory: bool = False) -> Path:
    """Create a new hidden file or directory in *parent*, registered for cleanup *before* it exists.

    The name is registered first and created after (``O_EXCL`` / ``mkdir``), so a
    SIGTERM handled at any moment - also one that another thread (a DuckDB or
    BLAS worker) received while the main thread held signals - finds it on the
    cleanup list.
    """
    for _ in range(100):
        p = parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
        _register(p)
        try:
            if directory:
                p.mkdir(mode=0o700)
            else:
                os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return p
        except FileExistsError:
            _forget(p)
        except BaseException:
            _forget(p)
            raise
    raise FileExistsError(f"no free temporary name in {parent}")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back until the end of the block (steps that must not be cut in two).

    Used while a temporary path is created and registered for cleanup, and while
    a finished output directory is swapped into place; a signal that arrives
    meanwhile is delivered right after.  A no-op off the main thread or without
    ``pthread_sigmask`` (Windows).
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike[str], *, _publish: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside *target*; on success it is renamed to *target*.

    On any exception, SIGINT or SIGTERM (the block runs under
    :func:`cleanup_on_signals`; the temporary file is registered for cleanup
    before a signal can be delivered) the temporary file is removed and
    *target* is left as it was.  The file gets the permissions a plain
    ``open()`` would give it.
    """
    path = Path(target)
    _target_ok(path)
    with cleanup_on_signals():
        with _signals_held():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = _reserve(path.parent, f".{path.name[:100]}.", ".tmp")
            except OSError as exc:
                raise OutputError(f"output {short(path)}: {_describe(exc)}") from None
        try:
            os.chmod(tmp, 0o666 & ~_umask())
            yield tmp
            if _publish:
                os.replace(tmp, path)
        except OSError as exc:
            _remove(tmp)
            raise OutputError(f"output {short(path)}: {_describe(exc)}; nothing was written") from None
        except BaseException:
            _remove(tmp)
            raise
        finally:
            if _publish:
                _forget(tmp)


def check_directory(out: str | os.PathLike[str], *, replace: bool = False) -> Path:
    """Check that *out* can become an output directory; return the path to use.

    Callers run this before a long computation so that a bad ``--out`` fails
    at once; :func:`atomic_directory` checks again.

    Raises
    ------
    OutputError
        *out* is a file, is non-empty without *replace*, or cannot be inspected
        (name too long, permission denied).
    """
    path = Path(out)
    if path.name in ("", ".", ".."):
        path = _resolve(path)
    try:
        if path.exists() and not path.is_dir():
            raise OutputError(f"output directory {short(path)}: exists and is not a directory")
        if path.is_dir() and any(path.iterdir()) and not replace:
            raise OutputError(f"output directory {short(path)}: is not empty; choose another or pass --force "
                              "to replace it")
    except OSError as exc:
        raise OutputError(f"output directory {short(path)}: {_describe(exc)}") from None
    return path


@contextlib.contextmanager
def atomic_directory(out: str | os.PathLike[str], *, replace: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary directory beside *out*; on success it becomes *out*.

    Parameters
    ----------
    out : path
        The output directory.  It must not exist, be empty, or (``replace=True``)
        it is replaced as a whole once the new content is complete.
    replace : bool, default False
        Replace a non-empty *out*.  Callers check with :func:`check_outputs`
        first that *out* holds no input.

    Raises
    ------
    OutputError
        *out* is a file, is non-empty without *replace*, or cannot be written.
    """
    path = check_directory(out, replace=replace)
    old: Path | None = None
    with cleanup_on_signals():
        with _signals_held():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = _reserve(path.parent, f".{path.name[:100]}.", directory=True)
            except OSError as exc:
                raise OutputError(f"output directory {short(path)}: {_describe(exc)}") from None
        try:
            yield tmp
            os.chmod(tmp, 0o777 & ~_umask())
            with _signals_held():  # the previous output is never lost between the two renames
                if path.exists():
                    old = _reserve(path.parent, f".{path.name[:100]}.old.", directory=True)
                    os.rmdir(old)
                    os.replace(path, old)
                os.replace(tmp, path)
                _forget(tmp)
        except OSError as exc:
            if old is not None and old.exists() and not path.exists():
                os.replace(old, path)  # put the previous output back
            raise OutputError(f"output directory {short(path)}: {_describe(exc)}; nothing was written") from None
        finally:
            if tmp.exists() and tmp != path:
                _remove(tmp)
            _forget(tmp)
            if old is not None:
                _remove(old)
                _forget(old)


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m
