"""A bounded in-memory memo of :func:`~leiosurv.clinical.diagnosis.diagnose`, for ``assess``.

The registry's bulk import assesses many findings that differ only where ``diagnose`` does not look:
the excision date (each tumour has its own), the patient's age and sex, the margins, the invasion, the
case id.  ``diagnose`` reads the excision date only for the interval since a prior leiomyosarcoma's
date (warning ``warn.prior-lms.new-lesion``, when ``history.prior_leiomyosarcoma_date`` is given), and
the fields of :data:`NOT_READ` nowhere: not in its code, and not through a rule of the evidence (rules
name features, which are the findings' dotted paths and the derived features; a field that a rule names
stays in the key, decided when this module is imported).  So :func:`diagnose_memoised` gives the
diagnosis of the findings with those fields at their defaults (:func:`diagnosed_as`), which is the same
diagnosis, and one entry serves every findings that differ only there.  tests/clinical/test_memo.py
checks it on generated findings against the un-memoised path.

Pure: no I/O, and the key determines the value.  The frozen :class:`~leiosurv.clinical.diagnosis.Diagnosis`
is shared by every caller that gets it; nothing in leiosurv changes a result after it is made (the
``inputs`` mappings of its warnings included).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from leiosurv.clinical import evidence
from leiosurv.clinical.diagnosis import Diagnosis, diagnose
from leiosurv.clinical.evidence import MitoticDefinition
from leiosurv.clinical.findings import EARLIEST_DATE, Findings

__all__ = ["NOT_READ", "MEMO_SIZE", "ADMIT_WITHIN", "Memo", "MEMO", "rule_reads", "diagnosed_as",
           "diagnose_memoised"]

NOT_READ = ("case_id", "patient", "site", "size_mm", "subcutis_involvement_mm", "perineural_invasion",
            "intravascular_invasion", "margins", "margin_distance_mm", "fnclcc_grade", "confirmed_diagnosis")
"""Fields of the findings that ``diagnose`` (its code, ``derived_features``, ``codes_for`` and the
warnings) never reads; a rule of the evidence could still name one as a feature (see :func:`rule_reads`)."""


def rule_reads(name: str) -> bool:
    """Whether a criterion or an essential criterion of the evidence names field *name* (or a part of it)."""
    features = [c.feature for c in evidence.DIAGNOSIS_CRITERIA] + [e.feature for e in evidence.ESSENTIALS]
    return any(f == name or f.startswith(name + ".") for f in features)


_UNREAD: dict[str, Any] = {name: Findings.model_fields[name].get_default(call_default_factory=True)
                           for name in NOT_READ if not rule_reads(name)}
_UNREAD_AND_DATE: dict[str, Any] = _UNREAD if rule_reads("excision_date") else {**_UNREAD,
                                                                                 "excision_date": EARLIEST_DATE}

MEMO_SIZE = 256
"""How many diagnoses the memo keeps, the least recently used going first (~24 KB each, measured)."""

ADMIT_WITHIN = 512
"""A diagnosis enters the memo only when its key is also among the last this many keys that missed (a
sliding window of their hashes): findings seen once, or again only much later, never enter it.  A memo
that admits every diagnosis keeps its objects alive until they are evicted, and the garbage collector's
full passes over them then cost more than the memo saves when few keys repeat (measured on varied
findings: 0.53 ms a call without a memo, 0.60-0.85 with one that admits all)."""


def diagnosed_as(findings: Findings) -> Findings:
    """*findings* with every field that ``diagnose`` does not read at its default: the same diagnosis.

    The excision date becomes :data:`~leiosurv.clinical.findings.EARLIEST_DATE` unless a prior
    leiomyosarcoma's date is given (then the interval between the two is part of a warning).
    """
    if findings.history.prior_leiomyosarcoma_date is None:
        return findings.model_copy(update=_UNREAD_AND_DATE)
    return findings.model_copy(update=_UNREAD)


class Memo:
    """A bounded, thread-safe, least-recently-used memo of diagnoses with an admission window.

    Parameters
    ----------
    size : int
        Entries kept at most.
    admit_within : int
        See :data:`ADMIT_WITHIN`.
    """

    def __init__(self, size: int, admit_within: int) -> None:
        self.size, self.admit_within = size, admit_within
        self.entries: OrderedDict[tuple[Findings, str | MitoticDefinition], Diagnosis] = OrderedDict()
        self.seen: OrderedDict[int, None] = OrderedDict()
        self.hits = self.misses = 0
        self.lock = threading.Lock()

    def clear(self) -> None:
        """Forget every entry, the admission window and the counts."""
        with self.lock:
            self.entries.clear()
            self.seen.clear()
            self.hits = self.misses = 0

    def diagnose(self, findings: Findings, definition: str | MitoticDefinition) -> Diagnosis:
        """``diagnose(findings, mitotic_definition=definition)``, from the memo when it holds it."""
        key = (findings, definition)
        h = hash(key)
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
                self.hits += 1
                return hit
            self.misses += 1
            admit = h in self.seen
            if admit:
                del self.seen[h]
            else:
                self.seen[h] = None
                if len(self.seen) > self.admit_within:
                    self.seen.popitem(last=False)
        dx = diagnose(findings, mitotic_definition=definition)
        if admit:
            with self.lock:
                self.entries[key] = dx
                self.entries.move_to_end(key)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        return dx


MEMO = Memo(MEMO_SIZE, ADMIT_WITHIN)
"""The memo :func:`diagnose_memoised` uses (one per process)."""


def diagnose_memoised(findings: Findings, definition: MitoticDefinition) -> Diagnosis:
    """The diagnosis of *findings* under *definition*, through :data:`MEMO`.

    The key is :func:`diagnosed_as` of the findings with the definition's id (a definition of the
    evidence) or the definition itself (any other).
    """
    registered = evidence.MITOTIC_DEFINITIONS.get(definition.id) is definition
    return MEMO.diagnose(diagnosed_as(findings), definition.id if registered else definition)
