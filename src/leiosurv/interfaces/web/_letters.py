"""Printable letters about a surveillance plan (PDF, fpdf2): one for the patient, one for the GP.

The text comes from the assessment (the core's result) and the registry record
(the encounters still planned, as of the letter's date: overdue, then to come);
the letters only lay it out.  A Unicode font (DejaVu Sans, Debian's
``fonts-dejavu-core``) is used when installed; otherwise the built-in Helvetica
with the text reduced to Latin-1.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from fpdf import FPDF

from leiosurv.clinical import Assessment, evidence
from leiosurv.interfaces.web._forms import depth_phrase

__all__ = ["letter_pdf"]

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


def _font(pdf: FPDF) -> tuple[str, bool]:
    for d in _FONT_DIRS:
        regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu", True
    return "Helvetica", False


def _plain(text: str, unicode_ok: bool) -> str:
    if unicode_ok:
        return text
    table = {"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2265": ">=", "\u2264": "<=", "\u2019": "'",
             "\u201c": '"', "\u201d": '"', "\u00b2": "2"}
    return "".join(table.get(ch, ch) for ch in text).encode("latin-1", "replace").decode("latin-1")


def _when(e: dict) -> str:
    return f"{e['due']} (between {e['window_start']} and {e['window_end']})"


def _open_items(record: dict, tumour: str, today: _dt.date) -> tuple[list[dict], list[dict]]:
    """The tumour's still-planned encounters in the registry: (overdue, to come), by due date."""
    items = sorted((e for e in record["encounters"] if e.get("tumour") == tumour and e["status"] == "planned"
                    and e.get("due")), key=lambda e: e["due"])
    t = today.isoformat()
    return [e for e in items if e["window_end"] < t], [e for e in items if e["window_end"] >= t]


SCALES = (1.0, 0.93, 0.86, 0.8)
"""Type scales tried in turn: the letter is set at the first that fits one A4 page (else at the last, on more)."""


def letter_pdf(audience: str, a: Assessment, record: dict, tumour: str, *, today: _dt.date) -> bytes:
    """The letter for ``"patient"`` or ``"gp"`` about tumour *tumour* of the patient in *record*.

    Set on one A4 page when it fits at one of :data:`SCALES` (no line spilling onto
    a second page); a plan too long for one page flows on, numbered "page n of m".
    """
    for scale in SCALES:
        pdf = _letter(audience, a, record, tumour, today=today, scale=scale)
        if pdf.page_no() == 1:
            break
    return bytes(pdf.output())


def _letter(audience: str, a: Assessment, record: dict, tumour: str, *, today: _dt.date, scale: float) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 16, 20)
    pdf.set_auto_page_break(True, 14)
    pdf.alias_nb_pages()
    pdf.add_page()
    family, uni = _font(pdf)
    w = pdf.epw

    def text(s: str, size: float = 11, bold: bool = False, gap: float = 1.5) -> None:
        size *= scale
        pdf.set_font(family, "B" if bold else "", size)
        pdf.multi_cell(w, size * 0.5, _plain(s, uni), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap * scale)

    ident = record.get("identity") or {}
    pt = record["patient"]
    who = ident.get("name") or f"patient {pt['pseudonym']}"
    born = f", born {ident['birth_date']}" if ident.get("birth_date") else ""
    if pt.get("synthetic"):
        text("SYNTHETIC DEMONSTRATION DATA - NOT A REAL PATIENT", 10, True)
    text(f"{today.isoformat()}", 10)
    plan = a.plan
    overdue, upcoming = _open_items(record, tumour, today)
    group = a.risk.group.replace("_", " ")
    if audience == "patient":
        text(f"Dear {ident.get('name') or 'patient'},", 12)
        text(f"Your follow-up after the removal of {depth_phrase(a.findings.depth)} on {plan.excision_date.isoformat()}"
             + (f" ({a.findings.site})" if a.findings.site else ""), 14, True)
        if not (overdue or upcoming):
            text("No check-up of this plan is scheduled at present: your treating team will tell you how your "
                 "follow-up continues.")
        elif a.applicability.dermal_rule_applies:
            text(f"The tumour was assessed as {group} risk. This means the following check-ups are planned for "
                 "you. Please keep these appointments, even if you feel well.")
        else:
            text("Your doctors will follow the plan below. Please keep these appointments, even if you feel well.")
        if overdue:
            text("Please book these check-ups now (their time has passed)", 12, True)
            for e in overdue:
                text(f"- {e['kind']} ({e['modality']}), due {e['due']}, with the {e['provider']}.", 11, gap=0.5)
            pdf.ln(2 * scale)
        if upcoming:
            text("Your planned check-ups", 12, True)
            for e in upcoming:
                text(f"- {_when(e)}: {e['kind']} ({e['modality']}), with the {e['provider']}.", 11, gap=0.5)
            pdf.ln(2 * scale)
        text(evidence.text("letter_patient_advice"))
        if overdue or upcoming:
            text("You can add these dates to your calendar with the calendar file (.ics) your clinic can give you.",
                 10)
    else:
        text("To the general practitioner", 12)
        text(f"Re: {who}{born} (registry {pt['pseudonym']}, tumour {tumour})", 12, True)
        text(f"Excision {plan.excision_date.isoformat()}" + (f", {a.findings.site}" if a.findings.site else "")
             + f"; depth {a.findings.depth.replace('_', ' ')}; margins {a.findings.margins}.")
        text(f"Diagnosis and pathway: {a.applicability.category_name or a.applicability.pathway} "
             f"({'confirmed' if a.applicability.confirmed else 'not yet confirmed by the pathologist'}); "
             f"pathway {a.applicability.pathway.replace('_', ' ')}.")
        text("Dermal-LMS risk rule: " + ("applies" if a.applicability.dermal_rule_applies else "does not apply")
             + f". Risk group: {group.upper()}" + (f" ({a.risk.reason})" if a.risk.reason else "") + ".", 11, True)
        for fs in a.risk.factors:
            figs = "; ".join(f"{p.outcome.replace('_', ' ')} {p.present.printed['estimate']}% if present vs "
                             f"{p.absent.printed['estimate']}% if absent" for p in fs.published)
            text(f"- {fs.label}: {fs.status}" + (f" (published 5-year risks: {figs})" if figs else ""), 10, gap=0.3)
        pdf.ln(2 * scale)
        for r in plan.recommendations:
            text(f"Recommendation: {getattr(r, 'text', r)}", 10)
        if overdue:
            text("Overdue (not recorded as done)", 12, True)
            for e in overdue:
                text(f"- due {e['due']} (window closed {e['window_end']}): {e['kind']}, {e['modality']} - "
                     f"{e['provider']}", 10, gap=0.3)
            pdf.ln(2 * scale)
        text("Planned follow-up", 12, True)
        if upcoming:
            for e in upcoming:
                text(f"- {_when(e)}: {e['kind']}, {e['modality']} - {e['provider']}", 10, gap=0.3)
            pdf.ln(2 * scale)
        else:
            text("No further encounter is scheduled on this pathway.", 10)
        for n in plan.notes:
            text(n, 10)
        text(evidence.text("letter_gp_advice"), 10)
        text(f"Rule set {a.provenance.ruleset_version} ({a.provenance.ruleset_sha256[:12]}), leiosurv "
             f"{a.provenance.leiosurv_version}. {a.disclaimer}", 8)
    if pdf.page_no() > 1:  # only when even the smallest scale did not fit: number the pages
        pdf.set_font(family, "", 8)
        for n in range(1, pdf.page_no() + 1):
            pdf.page = n
            pdf.set_xy(pdf.l_margin, pdf.h - 10)
            pdf.cell(w, 4, f"page {n} of {{nb}}", align="R")
    return pdf
