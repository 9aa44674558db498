"""A patient's course in date order, like Table 1 of seed 000, as a table and as a figure.

Rows: tumour diagnoses, assessments (rule-set version and risk group),
treatments, events, observations, done and missed encounters (and, on request,
the planned ones).  Each row carries its latency from the primary (the
patient's first diagnosed tumour) in days and years: seed 000's cutaneous
metastases come 26 years after the 1997 forearm primary.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from leiosurv.registry import _repo
from leiosurv.registry import _tables as T
from leiosurv.registry._records import OUT

__all__ = ["Timeline", "TimelineEntry", "timeline"]

_ORDER = {"diagnosis": 0, "treatment": 1, "assessment": 2, "observation": 3, "encounter": 4, "event": 5}


Category = Literal["diagnosis", "treatment", "assessment", "observation", "encounter", "event"]


class TimelineEntry(BaseModel):
    """One row of a patient's course: when, what, of which tumour, and its latency from the primary."""

    model_config = OUT
    date: _dt.date
    category: Category
    tumour: str | None
    what: str
    detail: str
    latency_days: int | None = Field(description="Days from the primary's diagnosis (none without a tumour).")
    latency_years: float | None = Field(description="The same in years (365.25 days), rounded to 0.1.")


class Timeline(BaseModel):
    """One patient's course (frozen; the web API's schema of a timeline).

    Attributes
    ----------
    patient : str
        The pseudonym.
    synthetic : bool
        The patient is synthetic.
    primary : datetime.date or None
        Diagnosis date of the first tumour (latencies count from it).
    entries : tuple of TimelineEntry
        The rows in date order (``timeline`` in the JSON form).
    table : pandas.DataFrame
        The same rows as a frame: columns ``date, category, tumour, what, detail, latency_days,
        latency_years``.
    """

    model_config = ConfigDict(OUT, populate_by_name=True)
    patient: str
    synthetic: bool = False
    primary: _dt.date | None
    entries: tuple[TimelineEntry, ...] = Field(alias="timeline")

    @property
    def table(self) -> pd.DataFrame:
        df = pd.DataFrame([e.model_dump() for e in self.entries], columns=list(TimelineEntry.model_fields))
        df["latency_days"] = pd.array(df["latency_days"], dtype="Int64")
        df["latency_years"] = df["latency_years"].astype(float)
        return df

    def latencies(self) -> pd.DataFrame:
        """Latency from the primary to each event (local recurrence, metastasis, new primary, death)."""
        t = self.table
        return t[t["category"] == "event"][["date", "what", "detail", "latency_days",
                                             "latency_years"]].reset_index(drop=True)

    def to_dict(self) -> dict:
        """The JSON form (ISO dates; the rows under ``timeline``), as the web API answers it."""
        out: dict = self.model_dump(mode="json", by_alias=True)
        return out

    def __str__(self) -> str:
        head = f"Patient {self.patient}" + (" (SYNTHETIC)" if self.synthetic else "")
        if self.primary:
            head += f": primary diagnosed {self.primary.isoformat()}"
        lines = [head]
        for r in self.table.itertuples():
            lat = f"{r.latency_years:5.1f} y" if r.latency_years == r.latency_years else "      "
            tum = f"[{r.tumour}] " if r.tumour else ""
            lines.append(f"  {r.date.isoformat()}  {lat}  {r.category:<11} {tum}{r.what}"
                         + (f": {r.detail}" if r.detail else ""))
        return "\n".join(lines)

    def plot(self):
        """The course as a matplotlib figure: one lane per category, latency axis on top."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        cats = [c for c in _ORDER if c in set(self.table["category"])]
        fig, ax = plt.subplots(figsize=(10, 1.0 + 0.6 * max(len(cats), 1)))
        colours = {"diagnosis": "black", "treatment": "tab:blue", "assessment": "tab:grey",
                   "observation": "tab:orange", "encounter": "tab:green", "event": "tab:red"}
        for i, cat in enumerate(cats):
            sub = self.table[self.table["category"] == cat]
            dates = pd.to_datetime(sub["date"])
            missed = sub["what"].str.contains("missed", case=False)
            ax.scatter(dates[~missed], [i] * int((~missed).sum()), color=colours[cat], s=40, zorder=3)
            if missed.any():
                ax.scatter(dates[missed], [i] * int(missed.sum()), facecolors="none", edgecolors=colours[cat],
                           s=40, zorder=3)
            for d, w in zip(dates, sub["what"]):
                if cat in ("event", "diagnosis"):
                    ax.annotate(w, (d, i), xytext=(0, 7), textcoords="offset points", fontsize=7, rotation=20)
        ax.set_yticks(range(len(cats)), cats)
        ax.set_ylim(-0.7, len(cats) - 0.3)
        title = f"Patient {self.patient}: course from the primary"
        if self.synthetic:
            title += " (SYNTHETIC DATA)"
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        return fig


def timeline(conn: Connection, pseudonym: str, *, include_planned: bool = False) -> Timeline:
    """The course of patient *pseudonym* (see the module docstring)."""
    pid = _repo.patient_id(conn, pseudonym)
    syn = bool(conn.execute(sa.select(T.patient.c.synthetic).where(T.patient.c.id == pid)).scalar())
    t = T.tumour
    tum = conn.execute(sa.select(t.c.id, t.c.label, t.c.diagnosis_date, t.c.site, t.c.depth,
                                 t.c.confirmed_diagnosis).where(t.c.patient_id == pid)
                       .order_by(t.c.diagnosis_date, t.c.id)).all()
    labels = {r.id: r.label for r in tum}
    rows: list[tuple] = []
    for r in tum:
        what = f"tumour {r.label} diagnosed"
        detail = ", ".join(x for x in (r.site, r.depth.replace("_", " ") if r.depth else None,
                                       r.confirmed_diagnosis) if x)
        rows.append((r.diagnosis_date, "diagnosis", r.label, what, detail))
    a = T.assessment
    for r in conn.execute(sa.select(a.c.tumour_id, a.c.seq, a.c.assessed_on, a.c.reason, a.c.risk_group,
                                    a.c.plan_basis, a.c.ruleset_version, a.c.plan_start)
                          .where(a.c.tumour_id.in_(list(labels)))):
        rows.append((r.assessed_on, "assessment", labels[r.tumour_id],
                     f"assessment {r.seq} ({r.reason.replace('_', ' ')})",
                     f"risk {r.risk_group}; plan: {r.plan_basis} from {r.plan_start.isoformat()}; "
                     f"rules {r.ruleset_version}"))
    tr = T.treatment
    for r in conn.execute(sa.select(tr).where(tr.c.patient_id == pid)):
        detail = ", ".join(x for x in (f"margins {r.margin_status}" if r.margin_status else None, r.agent,
                                       f"until {r.end_date.isoformat()}" if r.end_date else None, r.note) if x)
        rows.append((r.date, "treatment", labels.get(r.tumour_id), r.kind.replace("_", " "), detail))
    ev = T.event
    for r in conn.execute(sa.select(ev).where(ev.c.patient_id == pid)):
        detail = ", ".join(x for x in (f"site {r.site.replace('_', '/')}" if r.site else None,
                                       f"cause {r.cause}" if r.cause else None, r.note) if x)
        rows.append((r.date, "event", labels.get(r.tumour_id), r.kind.replace("_", " "), detail))
    o = T.observation
    for r in conn.execute(sa.select(o).where(o.c.patient_id == pid)):
        rows.append((r.first_seen, "observation", labels.get(r.tumour_id), f"{r.label} under observation",
                     f"{r.description}; imaging at least every {r.max_interval_days} days"))
        if r.closed_on:
            rows.append((r.closed_on, "observation", labels.get(r.tumour_id), f"{r.label} {r.status}", ""))
    e = T.encounter
    q = sa.select(e).where(e.c.patient_id == pid, e.c.status.in_(
        ("done", "missed", "planned") if include_planned else ("done", "missed")))
    for r in conn.execute(q):
        date = r.done_on or r.due
        what = f"{r.kind} ({r.status})" if r.status != "done" else r.kind
        detail = "; ".join(x for x in (r.modality, r.findings, r.plan_item) if x)
        rows.append((date, "encounter", labels.get(r.tumour_id), what, detail))
    primary = tum[0].diagnosis_date if tum else None
    df = pd.DataFrame(rows, columns=["date", "category", "tumour", "what", "detail"])
    df["_o"] = df["category"].map(_ORDER)
    df = df.sort_values(["date", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    if primary is not None:
        days = df["date"].map(lambda d: (d - primary).days)
        df["latency_days"] = days.astype("Int64")
        df["latency_years"] = (days / 365.25).round(1)
    else:
        df["latency_days"] = None
        df["latency_years"] = None
    entries = tuple(TimelineEntry.model_validate({k: (None if v is pd.NA or v != v else v) for k, v in r.items()})
                    for r in df.astype(object).to_dict(orient="records"))
    return Timeline(patient=pseudonym, synthetic=syn, primary=primary, entries=entries)
