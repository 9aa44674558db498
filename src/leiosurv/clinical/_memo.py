"""A bounded in-memory memo of the date-free part of an assessment, for ``assess``.

``assess`` runs findings -> diagnosis -> pathway -> risk group -> dated plan.  Only the plan reads the
excision date (and ``as_of``); ``diagnose`` reads it solely for the interval since a prior
leiomyosarcoma's date (warning ``warn.prior-lms.new-lesion``, when ``history.prior_leiomyosarcoma_date``
is given), and ``decide_pathway``, ``classify_risk`` and ``consistency_warnings`` not at all.  None of
them reads the fields of :data:`NOT_READ`, in their code or (for ``diagnose``) through a rule of the
evidence: rules name features, the findings' dotted paths and the derived features, and a field that a
rule names stays in the key (decided when this module is imported, :func:`rule_reads`).

The registry's bulk import assesses many findings that differ only there (each tumour has its own
diagnosis date), so :class:`Memo` keeps the date-free part (:class:`Entry`) under the findings' JSON text
without those fields, the mitotic definition and the metastatic flag.  The JSON text is exact (the
findings round-trip it losslessly; ``-0.0`` and ``0.0`` differ in it, as they do in a result).  An entry is
computed from the findings with those fields at their defaults (:func:`normalised`), so the key
determines it.  tests/clinical/test_memo.py checks on generated findings that the memoised path gives
the same assessment text, byte for byte, as the un-memoised one.

Pure: no I/O.  The frozen results of an entry are shared by every assessment that gets them; nothing in
leiosurv changes a result after it is made (the ``inputs`` mappings of warnings and factors included).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from leiosurv.clinical import evidence
from leiosurv.clinical.diagnosis import Diagnosis, DxWarning
from leiosurv.clinical.evidence import MitoticDefinition
from leiosurv.clinical.findings import EARLIEST_DATE, Findings
from leiosurv.clinical.pathway import Applicability
from leiosurv.clinical.risk import RiskResult

__all__ = ["NOT_READ", "MEMO_SIZE", "ADMIT_WITHIN", "Entry", "Memo", "MEMO", "rule_reads", "normalised", "key_of"]

NOT_READ = ("case_id", "patient", "site", "size_mm")
"""Fields of the findings that ``diagnose`` (with ``derived_features``, ``codes_for`` and its warnings),
``decide_pathway``, ``classify_risk`` and ``consistency_warnings`` never read."""


def rule_reads(name: str) -> bool:
    """Whether a criterion or an essential criterion of the evidence names field *name* (or a part of it)."""
    features = [c.feature for c in evidence.DIAGNOSIS_CRITERIA] + [e.feature for e in evidence.ESSENTIALS]
    return any(f == name or f.startswith(name + ".") for f in features)


_UNREAD: dict[str, Any] = {name: Findings.model_fields[name].get_default(call_default_factory=True)
                           for name in NOT_READ if not rule_reads(name)}
_UNREAD_AND_DATE: dict[str, Any] = _UNREAD if rule_reads("excision_date") else {**_UNREAD,
                                                                                 "excision_date": EARLIEST_DATE}
_EXCLUDE: set[str] = set(_UNREAD)
_EXCLUDE_AND_DATE: set[str] = set(_UNREAD_AND_DATE)

MEMO_SIZE = 256
"""How many entries the memo keeps, the least recently used going first (~58 KB each with their JSON
texts, measured)."""

ADMIT_WITHIN = 512
"""An entry enters the memo only when its key is also among the last this many keys that missed (a
sliding window of their hashes): findings seen once, or again only much later, never enter it.  A memo
that admits every entry keeps its objects alive until they are evicted, and the garbage collector's full
passes over them then cost more than the memo saves when few keys repeat (measured on varied findings:
0.53 ms a call without a memo, 0.60-0.85 with one that admits all)."""


def _dates_free(findings: Findings) -> bool:
    return findings.history.prior_leiomyosarcoma_date is None


def normalised(findings: Findings) -> Findings:
    """*findings* with the fields of :data:`NOT_READ` at their defaults, and the excision date at
    :data:`~leiosurv.clinical.findings.EARLIEST_DATE` unless a prior leiomyosarcoma's date is given."""
    return findings.model_copy(update=_UNREAD_AND_DATE if _dates_free(findings) else _UNREAD)


def key_of(findings: Findings) -> str:
    """The findings' JSON text without the fields :func:`normalised` sets (the memo's key, with the
    definition and the metastatic flag)."""
    return findings.model_dump_json(exclude=_EXCLUDE_AND_DATE if _dates_free(findings) else _EXCLUDE)


class Entry:
    """The date-free part of an assessment, and (once asked for) the JSON texts of its diagnosis and risk."""

    __slots__ = ("diagnosis", "applicability", "risk", "consistency", "fired_rules", "source_ids", "texts")

    def __init__(self, diagnosis: Diagnosis, applicability: Applicability, risk: RiskResult,
                 consistency: tuple[DxWarning, ...], fired_rules: tuple[str, ...], source_ids: frozenset[str]) -> None:
        self.diagnosis, self.applicability, self.risk = diagnosis, applicability, risk
        self.consistency, self.fired_rules, self.source_ids = consistency, fired_rules, source_ids
        self.texts: tuple[str, str] | None = None


Key = tuple[str, str | MitoticDefinition, bool]


class Memo:
    """A bounded, thread-safe, least-recently-used memo of :class:`Entry` with an admission window.

    Parameters
    ----------
    size : int
        Entries kept at most.
    admit_within : int
        See :data:`ADMIT_WITHIN`.
    """

    def __init__(self, size: int, admit_within: int) -> None:
        self.size, self.admit_within = size, admit_within
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.by_diagnosis: dict[int, Entry] = {}
        self.seen: OrderedDict[int, None] = OrderedDict()
        self.hits = self.misses = 0
        self.lock = threading.Lock()

    def clear(self) -> None:
        """Forget every entry, the admission window and the counts."""
        with self.lock:
            self.entries.clear()
            self.by_diagnosis.clear()
            self.seen.clear()
            self.hits = self.misses = 0

    def get(self, key: Key, compute: Callable[[], Entry]) -> Entry:
        """The entry under *key*: from the memo, or ``compute()`` (kept if *key* was seen lately)."""
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
        entry = compute()
        if admit:
            with self.lock:
                old = self.entries.pop(key, None)
                if old is not None:
                    del self.by_diagnosis[id(old.diagnosis)]
                self.entries[key] = entry
                self.by_diagnosis[id(entry.diagnosis)] = entry
                while len(self.entries) > self.size:
                    _, out = self.entries.popitem(last=False)
                    del self.by_diagnosis[id(out.diagnosis)]
        return entry

    def texts(self, diagnosis: Diagnosis, risk: RiskResult) -> tuple[str, str] | None:
        """``model_dump_json(warnings=False)`` of *diagnosis* and *risk* when they are an entry's, else None."""
        with self.lock:
            entry = self.by_diagnosis.get(id(diagnosis))
        if entry is None or entry.diagnosis is not diagnosis or entry.risk is not risk:
            return None
        if entry.texts is None:
            entry.texts = (diagnosis.model_dump_json(warnings=False), risk.model_dump_json(warnings=False))
        return entry.texts


MEMO = Memo(MEMO_SIZE, ADMIT_WITHIN)
"""The memo ``assess`` uses (one per process)."""
