"""The learn loop: the registry as a cohort in the study's format, and the de-identified research export.

One row per tumour (``docs/cohort.md``): age at diagnosis, sex, diagnosis
year, the candidate factors (necrosis, mitotic grade, invasion, margins, as
derived from the findings at the last assessment), and for metastasis and local
recurrence the time in days from diagnosis and the status (1 the outcome, 2
death without it, 0 censored at the last contact).  The last contact is the
latest dated record of the patient: a done encounter, a treatment, an event or
the diagnosis itself.

Tumours the study cannot take are left out and counted in ``excluded``:
sex other than male/female, unknown age.  A cohort with any synthetic patient
is labelled synthetic (the ``synthetic`` column), and the study says so.

The research export has no names, birth dates, pseudonyms or calendar dates:
ids are ``T<n>`` numbers, ages replace birth dates, and every date is days since
the tumour's diagnosis (the diagnosis year is kept, as the cohort format needs it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.registry import _tables as T

__all__ = ["CohortExport", "cohort_frame", "research_tables"]


@dataclass(frozen=True)
class CohortExport:
    """The cohort, and what was left out and why."""

    frame: pd.DataFrame
    excluded: dict[str, int]
    synthetic: bool


def _read(conn: Connection, q) -> pd.DataFrame:
    """Run *q* on the DBAPI cursor (no per-value processing; dates are selected as text) into a frame."""
    sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.cursor()
    try:
        cur.execute(sql)
        names = [d[0] for d in cur.description]
        return pd.DataFrame.from_records(cur.fetchall(), columns=names)
    finally:
        cur.close()


def _text(col):
    """A date column fetched as ISO text (no per-value conversion in Python; ISO text sorts as dates)."""
    return sa.cast(col, sa.String(10))


def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    return (pd.to_datetime(a, format="ISO8601") - pd.to_datetime(b, format="ISO8601")).dt.days.to_numpy()


def cohort_frame(conn: Connection) -> CohortExport:
    """The registry's tumours as a cohort (see the module docstring)."""
    t, p, e = T.tumour, T.patient, T.event
    tum = _read(conn, sa.select(t.c.id.label("tid"), t.c.patient_id, _text(t.c.diagnosis_date).label("diagnosis_date"),
                                t.c.age_at_diagnosis, t.c.necrosis, t.c.mitotic_grade, t.c.invasion, t.c.margins,
                                p.c.sex, p.c.synthetic)
                .select_from(t.join(p, p.c.id == t.c.patient_id)).order_by(t.c.id))
    cols = ["id", "age", "sex", "diagnosis_year", "necrosis", "mitotic_grade", "invasion", "margins", "met_time",
            "met_status", "lr_time", "lr_status", "synthetic"]
    if tum.empty:
        return CohortExport(pd.DataFrame(columns=cols), {}, False)
    firsts = _read(conn, sa.select(
        e.c.tumour_id.label("tid"),
        _text(sa.func.min(sa.case((e.c.kind == "metastasis", e.c.date)))).label("met"),
        _text(sa.func.min(sa.case((e.c.kind == "local_recurrence", e.c.date)))).label("lr"))
        .where(e.c.tumour_id.is_not(None), e.c.kind.in_(("metastasis", "local_recurrence"))).group_by(e.c.tumour_id))
    death = _read(conn, sa.select(e.c.patient_id, _text(e.c.date).label("death")).where(e.c.kind == "death"))
    # the last contact: the latest dated record of the patient (each maximum read apart: index scans, no union)
    parts = [
        sa.select(T.encounter.c.patient_id, _text(sa.func.max(T.encounter.c.done_on)).label("d"))
        .where(T.encounter.c.done_on.is_not(None)).group_by(T.encounter.c.patient_id),
        sa.select(T.treatment.c.patient_id, _text(sa.func.max(T.treatment.c.date)).label("d"))
        .group_by(T.treatment.c.patient_id),
        sa.select(e.c.patient_id, _text(sa.func.max(e.c.date)).label("d")).group_by(e.c.patient_id),
    ]
    lasts = [tum[["patient_id", "diagnosis_date"]].rename(columns={"diagnosis_date": "d"})]
    lasts += [_read(conn, q) for q in parts]
    last = pd.concat(lasts, ignore_index=True).dropna()
    last["d"] = pd.to_datetime(last["d"], format="ISO8601")  # datetime64: a vectorised groupby max
    last = last.groupby("patient_id", sort=False)["d"].max().rename("last").reset_index()
    df = tum.merge(firsts, on="tid", how="left").merge(death, on="patient_id", how="left") \
        .merge(last, on="patient_id", how="left")
    excluded = {}
    bad_sex = ~df["sex"].isin(["male", "female"])
    no_age = df["age_at_diagnosis"].isna()
    if bad_sex.any():
        excluded["sex other than male/female"] = int(bad_sex.sum())
    if (no_age & ~bad_sex).any():
        excluded["age at diagnosis unknown"] = int((no_age & ~bad_sex).sum())
    df = df[~bad_sex & ~no_age].reset_index(drop=True)
    out = pd.DataFrame({
        "id": "T" + df["tid"].astype(str),
        "age": df["age_at_diagnosis"].astype(float),
        "sex": df["sex"].astype(str),
        "diagnosis_year": pd.to_datetime(df["diagnosis_date"]).dt.year.astype(int),
        "necrosis": df["necrosis"].astype("Int8"),
        "mitotic_grade": df["mitotic_grade"].astype("Int8"),
        "invasion": df["invasion"].astype("Int8"),
        "margins": df["margins"].astype(object).where(df["margins"].notna(), None),
    })
    dx = df["diagnosis_date"]
    last_days = _days(df["last"], dx)
    death_days = _days(df["death"], dx)
    has_death = df["death"].notna().to_numpy()
    for key, col in (("met", "met"), ("lr", "lr")):
        ev_days = _days(df[col], dx)
        has_ev = df[col].notna().to_numpy()
        time = np.where(has_ev, ev_days, np.where(has_death, death_days, last_days)).astype(float)
        status = np.where(has_ev, 1, np.where(has_death, 2, 0)).astype(int)
        out[f"{key}_time"] = time
        out[f"{key}_status"] = status
    out["synthetic"] = df["synthetic"].astype(bool).to_numpy()
    synthetic = bool(out["synthetic"].any())
    return CohortExport(out[cols], excluded, synthetic)


def research_tables(conn: Connection) -> dict[str, pd.DataFrame]:
    """The de-identified research export: ``cohort``, ``events``, ``treatments``, ``encounters``.

    No names, birth dates, pseudonyms or calendar dates; ids are ``T<n>``;
    dates are days since the tumour's diagnosis.
    """
    c = cohort_frame(conn)
    t, e, r, n = T.tumour, T.event, T.treatment, T.encounter
    ev = _read(conn, sa.select(e.c.tumour_id, e.c.patient_id, e.c.kind, e.c.date, e.c.site, e.c.cause))
    tum = _read(conn, sa.select(t.c.id.label("tumour_id"), t.c.patient_id, t.c.diagnosis_date, t.c.depth))
    # a death (no tumour) is attached to each of the patient's tumours
    ev_t = ev[ev["tumour_id"].notna()].merge(tum[["tumour_id", "diagnosis_date"]], on="tumour_id")
    ev_d = ev[ev["tumour_id"].isna()].drop(columns="tumour_id").merge(tum, on="patient_id")
    ev = pd.concat([ev_t, ev_d[ev_t.columns.intersection(ev_d.columns)]], ignore_index=True)
    events = pd.DataFrame({"id": "T" + ev["tumour_id"].astype("int64").astype(str), "kind": ev["kind"],
                           "day": _days(ev["date"], ev["diagnosis_date"]), "site": ev["site"], "cause": ev["cause"]})
    tr = _read(conn, sa.select(r.c.tumour_id, r.c.kind, r.c.date, r.c.end_date, r.c.margin_status, r.c.agent)) \
        .merge(tum[["tumour_id", "diagnosis_date"]], on="tumour_id")
    treatments = pd.DataFrame({"id": "T" + tr["tumour_id"].astype(str), "kind": tr["kind"],
                               "day": _days(tr["date"], tr["diagnosis_date"]),
                               "end_day": _days(tr["end_date"], tr["diagnosis_date"]),
                               "margin_status": tr["margin_status"], "agent": tr["agent"]})
    treatments["end_day"] = pd.array(treatments["end_day"], dtype="Int64") if len(tr) else treatments["end_day"]
    en = _read(conn, sa.select(n.c.tumour_id, n.c.origin, n.c.status, n.c.modality_class, n.c.kind, n.c.due,
                               n.c.done_on).where(n.c.tumour_id.is_not(None), n.c.status.in_(("done", "missed")))) \
        .merge(tum[["tumour_id", "diagnosis_date"]], on="tumour_id")
    encounters = pd.DataFrame({"id": "T" + en["tumour_id"].astype("int64").astype(str), "origin": en["origin"],
                               "status": en["status"], "modality_class": en["modality_class"], "kind": en["kind"],
                               "due_day": pd.array(_days(en["due"], en["diagnosis_date"]), dtype="Int64")
                               if len(en) else [],
                               "done_day": pd.array(_days(en["done_on"], en["diagnosis_date"]), dtype="Int64")
                               if len(en) else []})
    return {"cohort": c.frame, "events": events.sort_values(["id", "day"], ignore_index=True),
            "treatments": treatments.sort_values(["id", "day"], ignore_index=True),
            "encounters": encounters.sort_values(["id", "done_day"], ignore_index=True)}
