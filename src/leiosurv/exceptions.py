"""The one error tree of leiosurv, for every layer.

::

    LeiosurvError                      base of everything raised on purpose
    ├── InputError (ValueError)        the caller's data or arguments are wrong
    │   ├── FindingsError              a case file / findings record failed validation
    │   ├── DataError                  a survival data set failed validation (stats layer)
    │   ├── CohortError                a cohort file failed row-level validation (study layer)
    │   ├── OutputError                an output path cannot be written (clashes with an input,
    │   │                              special file, full disk, unwritable directory)
    │   └── RegistryError              the registry refused a record or a command (registry layer)
    │       ├── NotFoundError          a patient, tumour, observation or encounter does not exist
    │       ├── IntegrityError         the database refused a record (a constraint or trigger)
    │       └── ImportValidationError  a bulk import failed row-level validation; nothing was imported
    ├── NotFittedError (AttributeError)  an estimator was used before ``fit``
    └── ExportError                    an export (iCalendar, FHIR, report) could not be built

    StatisticalWarning (UserWarning)   an estimate is valid but fragile (few at risk,
                                       horizon near the end of follow-up, ...); it explains
                                       the risk, it is not an error.

Every error carries a human-readable message that names the field, column or row
and the offending value, plus structured context for programs:

* ``FindingsError.errors`` — list of :class:`FieldIssue` (dotted path, message, value);
* ``DataError.column`` / ``DataError.n_rows`` — which column, how many rows;
* ``CohortError.errors`` — list of :class:`FieldIssue` whose path is ``row N.column``;
* ``ImportValidationError.errors`` — list of :class:`FieldIssue` whose path is
  ``sheet row N.column`` (the registry's bulk import).

Messages never contain a patient's name or birth date.

Interfaces (CLI, web) catch :class:`LeiosurvError` and print ``ErrorType: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "LeiosurvError",
    "InputError",
    "FindingsError",
    "DataError",
    "CohortError",
    "NotFittedError",
    "ExportError",
    "OutputError",
    "RegistryError",
    "NotFoundError",
    "IntegrityError",
    "ImportValidationError",
    "FieldIssue",
    "StatisticalWarning",
]

_MISSING = object()


@dataclass(frozen=True)
class FieldIssue:
    """One validation problem: where (dotted path), what, and the offending value."""

    path: str
    message: str
    value: Any = _MISSING

    def __str__(self) -> str:
        if self.value is _MISSING:
            return f"{self.path}: {self.message}"
        return f"{self.path}: {self.message} (got {self.value!r})"


class LeiosurvError(Exception):
    """Base class of every error leiosurv raises on purpose."""


class InputError(LeiosurvError, ValueError):
    """The caller's input is wrong; the message says where and how."""


class _IssuesError(InputError):
    """An input error that collects several :class:`FieldIssue` at once."""

    def __init__(self, errors: list[FieldIssue] | str, *, source: str | None = None) -> None:
        if isinstance(errors, str):
            errors = [FieldIssue("(input)", errors)]
        self.errors: list[FieldIssue] = list(errors)
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if len(self.errors) == 1:
            return f"{where}{self.errors[0]}"
        lines = "; ".join(str(e) for e in self.errors)
        return f"{where}{len(self.errors)} problems: {lines}"


class FindingsError(_IssuesError):
    """A findings record (case file) failed validation.

    ``errors`` lists every problem with its dotted field path, e.g.
    ``mitoses.per_10_hpf: must be >= 0 (got -3)``.
    """


class CohortError(_IssuesError):
    """A cohort file failed row-level validation; paths read ``row 17.necrosis``."""


class DataError(InputError):
    """Survival data failed validation.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    column : str, optional
        The column at fault.
    n_rows : int, optional
        How many rows show the problem.
    """

    def __init__(self, message: str, *, column: str | None = None, n_rows: int | None = None) -> None:
        self.column = column
        self.n_rows = n_rows
        super().__init__(message)


class NotFittedError(LeiosurvError, AttributeError):
    """An estimator was asked for results before ``fit`` was called."""


class ExportError(LeiosurvError):
    """An export could not be produced (nothing was written)."""


class OutputError(InputError):
    """An output cannot be written where asked; nothing was written (see :mod:`leiosurv.files`)."""


class RegistryError(InputError):
    """The patient registry refused a record or a command; nothing was written.

    ``field`` names the field or option at fault (e.g. ``"date"``, ``"tumour"``) and ``patient`` the
    pseudonym concerned, where known (None otherwise): programs read these instead of the message.
    """

    field: str | None = None
    patient: str | None = None

    def __init__(self, message: str = "", *, field: str | None = None, patient: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.patient = patient


class NotFoundError(RegistryError, LookupError):
    """A patient, tumour, observation or encounter named by the caller does not exist."""


class IntegrityError(RegistryError):
    """The database refused a record: a check constraint, foreign key or trigger
    (no event before diagnosis, nothing after death, no encounter done in the future)."""


class ImportValidationError(_IssuesError, RegistryError):
    """A bulk import failed validation; paths read ``tumours row 3.diagnosis_date``; nothing was imported."""


class StatisticalWarning(UserWarning):
    """A result is valid but fragile; the message explains the risk."""
