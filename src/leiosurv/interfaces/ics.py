"""iCalendar export of a surveillance plan: one all-day VEVENT per encounter, one VTODO per recommendation.

The recommendations (record the history, exclude metastasis, revise a prior AISMN,
re-excision) come before the schedule: each is a to-do (``STATUS:NEEDS-ACTION``,
``PRIORITY:1``, due on the plan's as-of date), and every event repeats them with the
warnings about the confirmed diagnosis and the mimics' stains.

UIDs are stable: ``<case key>-<encounter id>@leiosurv`` (``<case key>-rec-<id>@leiosurv``
for a recommendation) where the case key is the findings' ``case_id`` or, without one,
a hash of the findings JSON; re-exporting the same case gives the same UIDs, so
calendars update instead of duplicating.
"""

from __future__ import annotations

import datetime as _dt
import hashlib

import icalendar

from leiosurv import __version__
from leiosurv.clinical import Assessment
from leiosurv.exceptions import ExportError

__all__ = ["case_key", "plan_to_ics", "CARRIED_WARNINGS"]

CARRIED_WARNINGS = ("warn.confirmed.", "warn.gate.", "warn.prior-aismn.")
"""Prefixes of the warnings every calendar entry carries (the confirmed diagnosis checked, the mimics' stains,
the revision of a prior AISMN)."""


def case_key(assessment: Assessment) -> str:
    """Stable key of a case: its ``case_id`` (made safe), else a hash of the findings."""
    f = assessment.findings
    if f.case_id:
        return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in f.case_id)
    return "case-" + hashlib.sha256(f.model_dump_json().encode()).hexdigest()[:16]


def plan_to_ics(assessment: Assessment, *, stamp: _dt.datetime | None = None, label: str | None = None) -> bytes:
    """The plan of *assessment* as an iCalendar document, validated by parsing it back.

    Parameters
    ----------
    assessment : Assessment
        From :func:`leiosurv.clinical.assess`.
    stamp : datetime, optional
        DTSTAMP of the events (UTC); default now.
    label : str, optional
        Words naming the case in each event's title (e.g. the registry's pseudonym
        and tumour label); default the findings' ``case_id``.  Without either the
        title is the encounter in words only (never the findings' hash, which
        stays in the UID).

    Returns
    -------
    bytes
        The ``.ics`` text.

    Examples
    --------
    >>> import datetime
    >>> from leiosurv.clinical import Findings, assess
    >>> a = assess(Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", margins="positive",
    ...                     case_id="demo", confirmed_diagnosis="aismn"))
    >>> b"UID:demo-visit-m006@leiosurv" in plan_to_ics(a)
    True
    """
    if not assessment.plan.encounters and not assessment.plan.recommendations:
        raise ExportError(f"nothing to export: the plan has no scheduled encounters and no recommendations "
                          f"({assessment.plan.basis}); an iCalendar file needs at least one entry")
    stamp = stamp or _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    key = case_key(assessment)
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//leiosurv//leiosurv {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"leiosurv follow-up {label or assessment.findings.case_id or ''}".strip())
    plan = assessment.plan
    notes = " ".join([r.text for r in plan.recommendations] + list(plan.notes))
    warns = " ".join(f"[{w.rule_id}] {w.message}" for w in assessment.warnings
                     if w.rule_id.startswith(CARRIED_WARNINGS))
    uids = []
    for r in plan.recommendations:
        todo = icalendar.Todo()
        uid = f"{key}-rec-{r.id}@leiosurv"
        uids.append(uid)
        todo.add("uid", uid)
        todo.add("dtstamp", stamp)
        todo.add("due", plan.as_of)
        todo.add("summary", f"[{key}] Recommended first: {r.id.replace('_', ' ')}")
        todo.add("description", f"Case {key}. {r.text}\nSource: " + "; ".join(str(c) for c in r.citations)
                 + f"\n{assessment.applicability}." + (f"\nWarnings: {warns}" if warns else "")
                 + f"\n{assessment.disclaimer}")
        todo.add("status", "NEEDS-ACTION")
        todo.add("priority", 1)
        cal.add_component(todo)
    for e in assessment.plan.encounters:
        ev = icalendar.Event()
        uid = f"{key}-{e.id}@leiosurv"
        uids.append(uid)
        ev.add("uid", uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.due)
        ev.add("dtend", e.due + _dt.timedelta(days=1))
        what = f"{e.kind.capitalize()}: {e.modality}"
        name = label or assessment.findings.case_id
        ev.add("summary", f"[{name}] {what}" if name else f"Follow-up: {what}")
        ev.add(
            "description",
            f"Case {key}. {e.reason}.\nProvider: {e.provider}.\nAcceptable window: {e.window_start.isoformat()} to "
            f"{e.window_end.isoformat()} (status as of {plan.as_of.isoformat()}: {e.status}).\nSource: {e.citation}."
            f"\nBasis: {plan.basis}.\n{assessment.applicability}."
            + (f"\nNote: {notes}" if notes else "")
            + (f"\nWarnings: {warns}" if warns else "")
            + f"\nRisk group: {assessment.risk.group}. {assessment.disclaimer}",
        )
        ev.add("categories", [e.kind])
        ev.add("transp", "TRANSPARENT")
        cal.add_component(ev)
    data = cal.to_ical()
    try:
        back = icalendar.Calendar.from_ical(data)
    except ValueError as exc:  # pragma: no cover - defensive: our own output must parse
        raise ExportError(f"iCalendar export does not parse back: {exc}") from exc
    got = [str(ev["uid"]) for ev in back.walk() if ev.name in ("VTODO", "VEVENT")]
    if got != uids:
        raise ExportError(f"iCalendar export lost events: wrote {len(uids)}, read back {len(got)}")
    return data
