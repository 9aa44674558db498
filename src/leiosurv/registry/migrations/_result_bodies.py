"""The stored format of assessment results from migration 0004 to 0006: a date-independent body plus dates.

Pure functions on JSON, no database, used only by migrations: 0004 converted
whole results into this format, 0007 converts them back (the registry stores an
assessment's JSON as the clinical core wrote it again), and their downgrades
the reverse.  Frozen with the migrations that use it: never change it.
"""

from __future__ import annotations

import hashlib
import json
import re

__all__ = ["split_result", "join_result"]

# A string token of compact JSON: its opening quote follows one of  : , [ {  (inside a string every quote is
# escaped, so such a quote always opens a token).  _TOKEN finds, in one pass, each token that is an ISO date
# (group 1) and each token that starts with @ (group 1 None); the literal quote first keeps the scan fast.
_TOKEN = re.compile(r'"(?<=[:,\[{]")(?:(\d{4}-\d{2}-\d{2})"(?=[,:\]}])|@)')
_PLACEHOLDER = re.compile(r'"@(\d+)"')
_ESCAPED_AT = re.compile(r'"@@')


def _opens(text: str, m: re.Match) -> bool:
    return m.start() > 0 and text[m.start() - 1] in ":,[{"


def split_result(result: dict | str) -> tuple[str, str, str]:
    """Split an assessment's result JSON (a dict, or its compact JSON text as pydantic writes it: no spaces,
    non-ASCII as is) into ``(sha256, body, dates)``.

    Every string that is exactly an ISO date ``YYYY-MM-DD`` is replaced in the
    body by ``@k``, its index in *dates* (distinct dates in order of first
    appearance, comma-separated); a string that starts with ``@`` is kept as
    ``@@...``.  Two tumours assessed alike on different dates share the body
    (stored once in ``assessment_content`` under its SHA-256), and
    :func:`join_result` gives back exactly *result*.
    """
    text = result if isinstance(result, str) else json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    pieces = _TOKEN.split(text)  # text, token, text, token, ..., text
    dates: list[str] = []
    index: dict[str, int] = {}
    for i in range(1, len(pieces), 2):
        d = pieces[i]
        if d is None:
            pieces[i] = '"@@'
            continue
        k = index.get(d)
        if k is None:
            k = index[d] = len(dates)
            dates.append(d)
        pieces[i] = f'"@{k}"'
    body = "".join(pieces)
    return hashlib.sha256(body.encode()).hexdigest(), body, ",".join(dates)


def join_result(body: str, dates: str) -> dict:
    """The result JSON from its stored *body* and *dates* (the inverse of :func:`split_result`)."""
    ds = dates.split(",") if dates else []
    text = _PLACEHOLDER.sub(lambda m: f'"{ds[int(m.group(1))]}"' if _opens(body, m) else m.group(0), body)
    return json.loads(_ESCAPED_AT.sub(lambda m: '"@' if _opens(text, m) else '"@@', text))
