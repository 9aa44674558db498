"""SQL text for DuckDB: quoting of identifiers and string literals.

Public through :mod:`leiosurv.stats` (``quote_identifier``,
``quote_literal``) so that every layer that writes SQL quotes the same way.
"""

from __future__ import annotations

__all__ = ["quote_identifier", "quote_literal"]


def quote_identifier(name: str) -> str:
    """A column or table name as a double-quoted SQL identifier.

    Examples
    --------
    >>> quote_identifier('a"b')
    '"a""b"'
    """
    return _quoted(str(name), '"')


def quote_literal(text: str) -> str:
    """A string as a single-quoted SQL literal (a file path, a label).

    Examples
    --------
    >>> quote_literal("O'Brien.csv")
    "'O''Brien.csv'"
    """
    return _quoted(str(text), "'")


def _quoted(text: str, quote: str) -> str:
    """``text`` between ``quote`` characters, each ``quote`` inside doubled (SQL's escape)."""
    return quote + text.replace(quote, quote + quote) + quote
