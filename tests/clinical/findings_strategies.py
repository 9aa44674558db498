"""Pieces of the hypothesis strategies for findings, shared by the clinical tests."""

from hypothesis import strategies as st
from pydantic import ValidationError

from leiosurv.clinical import Findings


def literal(t):
    """Any value of the ``Literal`` type *t*."""
    return st.sampled_from(t.__args__)


def valid_or_none(kw):
    """Keep the generated findings that are consistent (impossible combinations are errors by design)."""
    try:
        return Findings(**kw)
    except ValidationError:
        return None
