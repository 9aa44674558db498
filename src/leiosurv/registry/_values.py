"""The values the registry accepts: dates and texts, checked the same way at every entry point.

Pure functions, no I/O: the :class:`~leiosurv.registry.Registry`'s public methods
(through the ``_date`` / ``_text`` helpers of ``_service``) and the import reader
(``_import``) call them, and migration 0009 enforces the same maxima in both
databases (a CHECK on PostgreSQL, a trigger on SQLite).

* **Dates** are ISO ``YYYY-MM-DD`` text (or a ``datetime.date`` / ``datetime``,
  e.g. an Excel date cell); ``20190105``, ``2019-W10-1`` or ``2019-01-05T00:00``
  are refused, and so is any date before :data:`EARLIEST` (1900-01-01).
  Whether a date may lie after the day of entry is the caller's rule (a clinical
  date may not, a plan date may: :func:`plan_date`, up to :data:`LATEST`).
* **Texts** have a maximum length in characters (:data:`MAX_CHARS`, per
  ``table.column``) and hold no control character (NUL included: ``Ann\\x00Smith``
  is refused, never cut to ``Ann``); the free-text fields of :data:`MULTILINE`
  may hold line breaks and tabs.
* A message names the field and never shows the value of an identifying field
  (:data:`IDENTIFYING`: the name and the birth date).
"""

from __future__ import annotations

import datetime as _dt
import re

from leiosurv.exceptions import RegistryError

__all__ = ["EARLIEST", "LATEST", "plan_date", "MAX_CHARS", "MULTILINE", "IDENTIFYING", "HISTORY_CHARS", "iso_date",
           "text", "history_text", "problem_with_text", "problem_with_date"]

#: the earliest date the registry accepts (a date before it is a typing error, e.g. 0001-01-01)
EARLIEST = _dt.date(1900, 1, 1)

#: the latest date the registry accepts for a date that may lie ahead (a plan date); a later one is a typing error
LATEST = _dt.date(2199, 12, 31)

#: the most characters each text field may hold (``table.column``); the database enforces the same (0009)
MAX_CHARS: dict[str, int] = {
    "patient.pseudonym": 64,
    "patient.note": 2000,
    "patient_identity.name": 200,
    "tumour.label": 64,
    "tumour.site": 200,
    "tumour.confirmed_diagnosis": 64,
    "treatment.agent": 100,
    "treatment.note": 2000,
    "event.cause": 200,
    "event.note": 2000,
    "observation.label": 64,
    "observation.description": 1000,
    "observation.site": 200,
    "encounter.plan_item": 32,
    "encounter.kind": 100,
    "encounter.modality": 200,
    "encounter.provider": 200,
    "encounter.findings": 4000,
}

#: the most characters of the history's reason (free text: line breaks allowed) and user name (``by``), checked
#: by :func:`history_text` before a correction, void or reschedule is written
HISTORY_CHARS: dict[str, int] = {"reason": 2000, "by": 64}

#: free-text fields that may hold line breaks and tabs (every other control character is refused everywhere)
MULTILINE = frozenset({"patient.note", "treatment.note", "event.note", "observation.description",
                       "encounter.findings"})

#: fields whose values are never shown in a message
IDENTIFYING = frozenset({"patient_identity.name", "patient_identity.birth_date", "name", "birth_date"})

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
# Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F); free text may hold tab, LF, CR
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_NOT_BREAK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _shown(value: object, field: str) -> str:
    return "" if field in IDENTIFYING else f" (got {str(value)[:40]!r})"


def problem_with_date(value: object, field: str) -> tuple[_dt.date | None, str | None]:
    """``(date, None)`` for an accepted date, ``(None, message)`` otherwise (the message names no value)."""
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        d = value
    elif isinstance(value, str) and _ISO.fullmatch(value):
        try:
            d = _dt.date.fromisoformat(value)
        except ValueError:
            return None, "not a date YYYY-MM-DD"
    else:
        return None, "not a date YYYY-MM-DD"
    if d < EARLIEST:
        return None, f"before {EARLIEST.isoformat()}"
    return d, None


def iso_date(value: object, field: str, *, latest: _dt.date | None = None) -> _dt.date:
    """*value* as a date: ISO ``YYYY-MM-DD`` text or a date, from 1900-01-01 on, not after *latest* if given.

    Raises
    ------
    RegistryError
        Naming *field* (its ``field``) (and the value, unless the field is identifying).

    Examples
    --------
    >>> iso_date("2019-01-05", "date")
    datetime.date(2019, 1, 5)
    >>> iso_date("20190105", "date")
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.RegistryError: date: not a date YYYY-MM-DD (got '20190105')
    """
    d, problem = problem_with_date(value, field)
    if problem is not None or d is None:
        raise RegistryError(f"{field}: {problem}{_shown(value, field)}", field=field)
    if latest is not None and d > latest:
        shown = "" if field in IDENTIFYING else f"{d.isoformat()} "
        raise RegistryError(f"{field}: {shown}is in the future (today is {latest.isoformat()})", field=field)
    return d


def plan_date(value: object, field: str) -> _dt.date:
    """*value* as a date that may lie ahead (a plan item's due date): as :func:`iso_date`, and not after
    :data:`LATEST`.

    Examples
    --------
    >>> plan_date("2199-12-31", "date")
    datetime.date(2199, 12, 31)
    >>> plan_date("2200-01-01", "date")
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.RegistryError: date: after 2199-12-31, the latest date the registry accepts (got '2200-01-01')
    """
    d = iso_date(value, field)
    if d > LATEST:
        raise RegistryError(f"{field}: after {LATEST.isoformat()}, the latest date the registry accepts"
                            f"{_shown(d.isoformat(), field)}", field=field)
    return d


def history_text(value: object, field: str) -> str:
    """*value* as the history's ``reason`` or ``by`` (a user name): a non-empty text of at most
    :data:`HISTORY_CHARS` characters without control characters (a reason may hold line breaks and tabs).

    Examples
    --------
    >>> history_text("patient abroad", "reason")
    'patient abroad'
    >>> history_text("dr.\\x00b", "by")
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.RegistryError: by: must not hold control characters (found U+0000)
    """
    if not isinstance(value, str) or not value.strip():
        raise RegistryError(f"{field}: must be a non-empty text", field=field)
    limit = HISTORY_CHARS[field]
    if len(value) > limit:
        raise RegistryError(f"{field}: at most {limit} characters (got {len(value)})", field=field)
    m = (_CONTROL_NOT_BREAK if field == "reason" else _CONTROL).search(value)
    if m:
        raise RegistryError(f"{field}: must not hold control characters (found U+{ord(m[0]):04X})", field=field)
    return value


def problem_with_text(value: object, field: str) -> str | None:
    """Why *value* is not an acceptable text for ``table.column`` *field* (None: it is)."""
    if not isinstance(value, str):
        return "must be a text"
    limit = MAX_CHARS[field]
    if len(value) > limit:
        return f"at most {limit} characters (got {len(value)})"
    m = (_CONTROL_NOT_BREAK if field in MULTILINE else _CONTROL).search(value)
    if m:
        return f"must not hold control characters (found U+{ord(m[0]):04X})"
    return None


def text(value: str | None, field: str, *, name: str | None = None) -> str | None:
    """*value* if it is an acceptable text for ``table.column`` *field* (None passes).

    Parameters
    ----------
    value : str or None
        The text.
    field : str
        Its ``table.column`` (a key of :data:`MAX_CHARS`).
    name : str, optional
        The name the caller knows the field by, used in the message (default *field*).

    Raises
    ------
    RegistryError
        One line naming the field and the rule, never the value.

    Examples
    --------
    >>> text("Ann Smith", "patient_identity.name")
    'Ann Smith'
    >>> text("Ann\\x00Smith", "patient_identity.name", name="name")
    Traceback (most recent call last):
    ...
    leiosurv.exceptions.RegistryError: name: must not hold control characters (found U+0000)
    """
    if value is None:
        return None
    problem = problem_with_text(value, field)
    if problem is not None:
        raise RegistryError(f"{name or field}: {problem}", field=name or field)
    return value
