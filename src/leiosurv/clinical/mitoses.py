"""Mitotic counts: conversion to the HPF of a definition, the mitotic score, and 'mitotic grade 3'.

The definitions live in the evidence data (``mitoses.yaml``); seed 001 does not
define its 'mitotic grade 3', so the reading in use is a parameter of every result.
"""

from __future__ import annotations

from leiosurv.clinical import evidence
from leiosurv.clinical.evidence import MitoticDefinition
from leiosurv.clinical.findings import Findings
from leiosurv.exceptions import InputError

__all__ = ["get_mitotic_definition", "mitotic_score", "per_10_hpf"]


def get_mitotic_definition(definition: str | MitoticDefinition | None = None) -> MitoticDefinition:
    """Look up a mitotic-grade definition by id (default ``evidence.DEFAULT_MITOTIC_DEFINITION``).

    Examples
    --------
    >>> get_mitotic_definition("fnclcc").score(20)
    3
    """
    if isinstance(definition, MitoticDefinition):
        return definition
    key = definition or evidence.DEFAULT_MITOTIC_DEFINITION
    try:
        return evidence.MITOTIC_DEFINITIONS[key]
    except KeyError:
        known = ", ".join(sorted(evidence.MITOTIC_DEFINITIONS))
        raise InputError(f"mitotic_definition: unknown definition {key!r} (known: {known})") from None


def per_10_hpf(findings: Findings, definition: str | MitoticDefinition | None = None) -> float | None:
    """The counted mitoses per 10 HPF of the definition's HPF area (None if not counted)."""
    return findings.mitoses.per_10_hpf(get_mitotic_definition(definition).hpf_area_mm2)


def mitotic_score(findings: Findings, definition: str | MitoticDefinition | None = None) -> int | None:
    """Mitotic score of the counted mitoses under *definition*; ``None`` if not counted.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), mitoses={"count": 20})
    >>> mitotic_score(f, "fnclcc"), mitotic_score(f, "danish-3b")
    (3, 1)
    """
    d = get_mitotic_definition(definition)
    n = per_10_hpf(findings, d)
    return None if n is None else d.score(n)
