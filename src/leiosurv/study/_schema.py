"""The cohort format: one row per tumour, its columns and their constraints.

:data:`COHORT_SCHEMA` is the single description of the format; the reader
(:func:`leiosurv.study.read_cohort`), the synthetic generator and the docs
(``docs/cohort.md``, :func:`cohort_json_schema`) all derive from it.

Conventions (documented in ``docs/cohort.md``):

* times are in days from the date of excision/diagnosis;
* ``*_status``: 0 censored, 1 the outcome, 2 death without the outcome;
* ``sex`` accepts ``male``/``female`` and ``m``/``f`` in any case and is
  normalised to ``male``/``female``; ``margins`` accepts ``positive``/``negative``
  in any case;
* binary factors accept 0/1 (also ``true``/``false``); a factor may be missing
  (empty, ``NA``), times, statuses, age, sex and diagnosis year may not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from leiosurv.stats import DAYS_PER_YEAR, quote_identifier

__all__ = [
    "ColumnSpec",
    "COHORT_SCHEMA",
    "REQUIRED_COLUMNS",
    "OUTCOME_COLUMNS",
    "DAYS_PER_YEAR",
    "BINARY_FACTORS",
    "cohort_arrow_schema",
    "quote_identifier",
    "factor_columns",
    "cohort_json_schema",
    "schema_markdown",
]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the cohort format.

    Attributes
    ----------
    name : str
        Column name, exactly as it must appear in the file.
    kind : str
        ``"id"``, ``"number"``, ``"integer"``, ``"category"``, ``"binary"``,
        ``"status"`` or ``"bool"``.
    required : bool
        The column must be present.
    nullable : bool
        A row may leave it empty (missing); missing is never read as "absent".
    description : str
        Meaning and unit.
    minimum, maximum : float, optional
        Inclusive bounds for numbers.
    allowed : tuple, optional
        The allowed values (after normalisation) for categories and codes.
    """

    name: str
    kind: str
    required: bool
    nullable: bool
    description: str
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[Any, ...] | None = None


COHORT_SCHEMA: tuple[ColumnSpec, ...] = (
    ColumnSpec("id", "id", True, False, "Tumour/patient identifier, unique (text or integer)."),
    ColumnSpec("age", "number", True, False, "Age at diagnosis, years.", 0, 120),
    ColumnSpec("sex", "category", True, False, "Sex: male or female (m/f accepted, any case).",
               allowed=("male", "female")),
    ColumnSpec("diagnosis_year", "integer", True, False, "Calendar year of diagnosis.", 1800, 2200),
    ColumnSpec("necrosis", "binary", True, True, "Tumour necrosis: 1 present, 0 absent, empty if unknown.",
               allowed=(0, 1)),
    ColumnSpec("mitotic_grade", "integer", True, True,
               "Mitotic grade 1, 2 or 3 (FNCLCC mitotic score by default), empty if unknown.",
               allowed=(1, 2, 3)),
    ColumnSpec("invasion", "binary", True, True,
               "Perineural or intravascular invasion: 1 present, 0 absent, empty if unknown.", allowed=(0, 1)),
    ColumnSpec("margins", "category", True, True, "Surgical margins: positive or negative, empty if unknown.",
               allowed=("positive", "negative")),
    ColumnSpec("met_time", "number", True, False,
               "Days from diagnosis to metastasis, death or end of follow-up, whichever came first.", 0, None),
    ColumnSpec("met_status", "status", True, False,
               "0 censored, 1 metastasis, 2 death without metastasis.", allowed=(0, 1, 2)),
    ColumnSpec("lr_time", "number", True, False,
               "Days from diagnosis to local recurrence, death or end of follow-up, whichever came first.", 0, None),
    ColumnSpec("lr_status", "status", True, False,
               "0 censored, 1 local recurrence, 2 death without local recurrence.", allowed=(0, 1, 2)),
    ColumnSpec("synthetic", "bool", False, True, "True in every row of a synthetic cohort (provenance label)."),
)
"""The cohort format, column by column (see ``docs/cohort.md``)."""

REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COHORT_SCHEMA if c.required)
OUTCOME_COLUMNS: dict[str, tuple[str, str]] = {
    "metastasis": ("met_time", "met_status"),
    "local_recurrence": ("lr_time", "lr_status"),
}
"""Outcome key (as in :data:`leiosurv.clinical.evidence.DLMS_OUTCOMES`) -> (time, status) columns."""

# Times in the cohort are days; a year is 365.25 days: defined once, in leiosurv.stats.

_ARROW_TYPES = {
    "id": pa.int64(),
    "number": pa.float64(),
    "integer": pa.int32(),
    "category": pa.string(),
    "binary": pa.int8(),
    "status": pa.int8(),
    "bool": pa.bool_(),
}
_ARROW_NARROW = {"mitotic_grade": pa.int8()}  # grades 1-3 fit in a byte


def cohort_arrow_schema(metadata: Mapping[str, str] | None = None) -> pa.Schema:
    """The Arrow schema of a cohort file written by leiosurv (the synthetic cohort's Parquet).

    Derived from :data:`COHORT_SCHEMA`: ``id`` int64, numbers float64,
    categories string, binary factors and statuses int8, ``diagnosis_year``
    int32, ``mitotic_grade`` int8, ``synthetic`` bool.  Files from elsewhere
    may use other types; the reader accepts any that hold the values.

    Parameters
    ----------
    metadata : mapping of str to str, optional
        Key-value metadata to attach (e.g. ``leiosurv.synthetic``).

    Examples
    --------
    >>> cohort_arrow_schema().field("met_status").type
    DataType(int8)
    """
    fields = [pa.field(c.name, _ARROW_NARROW.get(c.name) or _ARROW_TYPES[c.kind]) for c in COHORT_SCHEMA]
    meta = None if metadata is None else {k.encode(): v.encode() for k, v in metadata.items()}
    return pa.schema(fields, metadata=meta)


BINARY_FACTORS: dict[str, str] = {
    "necrosis": "necrosis == 1",
    "mitotic_grade_3": "mitotic_grade == 3",
    "invasion": "invasion == 1",
    "positive_margins": "margins == 'positive'",
}
"""The analysis' binary factor view (keys of ``evidence.DLMS_FACTORS``) and how each is derived."""


def _binary(values: pd.Series, test) -> pd.Series:
    out = pd.Series(pd.NA, index=values.index, dtype="Int8")
    known = values.notna()
    out[known] = test(values[known]).astype("int8")
    return out


def factor_columns(df: pd.DataFrame, extras: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """Derive the binary factor view (1 present, 0 absent, ``<NA>`` unknown).

    Parameters
    ----------
    df : pandas.DataFrame
        A validated cohort (the columns of :data:`COHORT_SCHEMA`).
    extras : sequence of str, default ()
        Extra 0/1 factor columns to carry over unchanged.

    Returns
    -------
    pandas.DataFrame
        Columns ``necrosis``, ``mitotic_grade_3``, ``invasion``,
        ``positive_margins`` and the extras, dtype ``Int8``; missing stays missing.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"necrosis": [1, None], "mitotic_grade": [3, 2],
    ...                    "invasion": [0, 1], "margins": ["positive", None]})
    >>> factor_columns(df)["positive_margins"].tolist()
    [1, <NA>]
    """
    out = pd.DataFrame(index=df.index)
    out["necrosis"] = _binary(df["necrosis"], lambda s: s.astype(float) == 1)
    out["mitotic_grade_3"] = _binary(df["mitotic_grade"], lambda s: s.astype(float) == 3)
    out["invasion"] = _binary(df["invasion"], lambda s: s.astype(float) == 1)
    out["positive_margins"] = _binary(df["margins"], lambda s: s.astype(str) == "positive")
    for name in extras:
        out[name] = _binary(df[name], lambda s: s.astype(float) == 1)
    return out


_JSON_TYPES = {
    "id": ["string", "integer"],
    "number": "number",
    "integer": "integer",
    "category": "string",
    "binary": "integer",
    "status": "integer",
    "bool": "boolean",
}


def cohort_json_schema() -> dict:
    """The cohort row as a JSON Schema (draft 2020-12) object.

    Examples
    --------
    >>> cohort_json_schema()["properties"]["met_status"]["enum"]
    [0, 1, 2]
    """
    props: dict[str, dict] = {}
    for c in COHORT_SCHEMA:
        t: Any = _JSON_TYPES[c.kind]
        p: dict[str, Any] = {"description": c.description}
        if c.nullable:
            t = (t if isinstance(t, list) else [t]) + ["null"]
        p["type"] = t
        if c.minimum is not None:
            p["minimum"] = c.minimum
        if c.maximum is not None:
            p["maximum"] = c.maximum
        if c.allowed is not None:
            p["enum"] = list(c.allowed) + ([None] if c.nullable else [])
            if not c.nullable:
                p["enum"] = list(c.allowed)
        props[c.name] = p
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "leiosurv cohort row (one tumour)",
        "type": "object",
        "properties": props,
        "required": list(REQUIRED_COLUMNS),
        "additionalProperties": {"description": "extra candidate factor (0/1 or null) when named with --factors"},
    }


def schema_markdown() -> str:
    """The schema as a markdown table (the one in ``docs/cohort.md``).

    Examples
    --------
    >>> schema_markdown().splitlines()[0]
    '| column | type | required | missing allowed | values | meaning |'
    """
    rows = ["| column | type | required | missing allowed | values | meaning |", "|---|---|---|---|---|---|"]
    for c in COHORT_SCHEMA:
        if c.allowed is not None:
            values = ", ".join(str(v) for v in c.allowed)
        elif c.minimum is not None or c.maximum is not None:
            lo = "" if c.minimum is None else f"{c.minimum:g}"
            hi = "" if c.maximum is None else f"{c.maximum:g}"
            values = f"{lo} to {hi}" if hi else f">= {lo}, finite"
        else:
            values = "unique" if c.kind == "id" else ""
        rows.append(
            f"| `{c.name}` | {c.kind} | {'yes' if c.required else 'no'} | {'yes' if c.nullable else 'no'} "
            f"| {values} | {c.description} |"
        )
    return "\n".join(rows)
