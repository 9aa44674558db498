"""SQL text for DuckDB: quoting of identifiers and string literals.

Public through :mod:`leiosurv.stats` (``quote_identifier``,
``quote_literal``) so that every layer that writes SQL quotes the same way:
the text between the quote marks, each quote mark inside it doubled.

Examples
--------
>>> quote_identifier('a"b'), quote_literal("O'Brien.csv")
('"a""b"', "'O''Brien.csv'")
"""

from __future__ import annotations

__all__ = ["quote_identifier", "quote_literal"]


def _quote(text: object, mark: str) -> str:
    return mark + str(text).replace(mark, mark + mark) + mark


def quote_identifier(name: str) -> str:
    """A column or table name as a double-quoted SQL identifier."""
    return _quote(name, '"')


def quote_literal(text: str) -> str:
    """A string as a single-quoted SQL literal (a file path, a label)."""
    return _quote(text, "'")
