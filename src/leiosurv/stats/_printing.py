"""Printing result tables in narrow terminals without hiding the estimate.

pandas fits a wide frame into the terminal by replacing middle columns with
``...``; for a table of estimates that is the estimate itself.  Here the key
columns (group, cause, horizon, estimate and its interval) are always shown
and the secondary ones are dropped from the right, with a line naming them.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["fit_table", "terminal_width", "keyed_frame"]

_FLOAT_FORMAT = "{:.6g}".format


def terminal_width() -> int:
    """Columns of the terminal (80 when not a terminal, as pandas assumes)."""
    return shutil.get_terminal_size((80, 24)).columns


def fit_table(table: pd.DataFrame, keys: Sequence[str], width: int | None = None, max_rows: int = 60) -> str:
    """``table`` as text at most ``width`` characters wide, key columns always shown.

    Secondary columns are dropped from the right until the text fits; a last
    line names those not shown.  If the key columns alone are too wide, the
    text is wrapped (pandas' ``line_width``), never cut.  Long tables show
    their first and last ``max_rows // 2`` rows.
    """
    width = terminal_width() if width is None else int(width)
    if len(table) > max_rows:
        half = max_rows // 2
        import pandas as pd

        shown = pd.concat([table.iloc[:half], table.iloc[-half:]])
        more = f"... ({len(table) - 2 * half} of {len(table)} rows not shown)"
    else:
        shown, more = table, ""
    keys = [c for c in keys if c in shown.columns]
    extra = [c for c in shown.columns if c not in keys]
    cols = list(shown.columns)
    # key columns first, then the others in their order
    order = keys + extra
    while True:
        text = _text(shown[order])
        if max(len(line) for line in text.splitlines()) <= width or len(order) == len(keys):
            break
        order = order[:-1]
    hidden = [c for c in cols if c not in order]
    if len(order) == len(keys) and max(len(line) for line in text.splitlines()) > width:
        text = shown[order].to_string(index=False, float_format=_FLOAT_FORMAT, line_width=width)
    lines = [text]
    if more:
        lines.append(more)
    if hidden:
        note = f"(not shown for width {width}: {', '.join(hidden)})"
        lines.append(textwrap.fill(note, width=max(width, 20), break_on_hyphens=False))
    return "\n".join(lines)


def _text(frame: Any) -> str:
    return str(frame.to_string(index=False, float_format=_FLOAT_FORMAT))


_CLASSES: dict[str, Any] = {}


def keyed_frame(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``frame`` as a DataFrame that prints with :func:`fit_table` (key columns always shown).

    Everything else is a plain DataFrame: selecting, slicing or computing on
    it returns ordinary DataFrames.
    """
    cls = _CLASSES.get("KeyedFrame")
    if cls is None:
        import pandas as pd

        class KeyedFrame(pd.DataFrame):  # type: ignore[misc]
            """A DataFrame whose printed form never hides its key columns."""

            _metadata = ["_keys"]

            @property
            def _constructor(self) -> Any:
                return pd.DataFrame

            def __repr__(self) -> str:
                return fit_table(pd.DataFrame(self), getattr(self, "_keys", ()))

            def __str__(self) -> str:
                return self.__repr__()

        cls = _CLASSES["KeyedFrame"] = KeyedFrame
    out = cls(frame)
    object.__setattr__(out, "_keys", tuple(keys))
    return out
