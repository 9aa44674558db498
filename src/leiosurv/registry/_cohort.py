"""The learn loop: the registry as a cohort in the study's format, and the de-identified research export.

One row per tumour (``docs/cohort.md``): age at diagnosis, sex, diagnosis
year, the candidate factors (necrosis, mitotic grade, invasion, margins, as
derived from the findings at the last assessment), and for metastasis and local
recurrence the time in days from diagnosis and the status (1 the outcome, 2
death without it, 0 censored at the last contact).  The last contact is the
latest dated record of the patient: a done encounter, a treatment, an event or
the diagnosis itself.

The study is seed 001's dermal-LMS study, so the cohort holds the tumours on
the **dermal-LMS pathway** only: the pathway of the tumour's latest assessment
that was not a re-plan for metastatic disease (the clinical core follows the
pathologist's confirmed diagnosis where there is one, else the leading
candidate; a metastasis recorded later is the study's outcome, not a reason to
leave the tumour out).  Tumours the study cannot take are left out and counted
in ``excluded``, in this order: not on the dermal-LMS pathway (by pathway), sex
other than male/female, unknown age; ``registered`` counts them all, and
:meth:`CohortExport.study_cohort` hands the study the cohort with this flow
(registered -> excluded by reason -> analysed) for its Methods, and the
registry named as its source.  A cohort with any synthetic patient is labelled
synthetic (the ``synthetic`` column), and the study says so.

The research export has no names, birth dates, pseudonyms, calendar dates or
free text: ids are ``T<n>`` numbers, ages replace birth dates, every date is
days since the tumour's diagnosis (the diagnosis year is kept, as the cohort
format needs it), and only coded fields (the registry's enumerations) are
exported.  Free-text fields (a death's cause, a treatment's agent, an
encounter's kind, modality, provider and findings, notes, sites and labels)
are left out: whatever was typed into them, a name or a birth date included,
never leaves.  :data:`RESEARCH_COLUMNS` is the export's exact content; its
README (:func:`research_readme`) is made from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.registry import _db
from leiosurv.registry import _tables as T
from leiosurv.registry._clinical_adapter import pathway_of_basis

__all__ = ["CohortExport", "cohort_frame", "research_tables", "research_readme", "RESEARCH_COLUMNS"]

_ID = "the tumour: T<n>, a number of this export (no pseudonym)"
#: every table of the research export and each of its columns, with what the column holds (nothing else is exported)
RESEARCH_COLUMNS: dict[str, dict[str, str]] = {
    "cohort": {
        "id": _ID,
        "age": "age in years at diagnosis",
        "sex": "female or male",
        "diagnosis_year": "year of diagnosis",
        "necrosis": "tumour necrosis: 1 present, 0 absent, empty unknown",
        "mitotic_grade": "mitotic grade 1, 2 or 3, empty unknown",
        "invasion": "perineural or intravascular invasion: 1 present, 0 absent, empty unknown",
        "margins": "margins of the excision: positive, negative, empty unknown",
        "met_time": "days from diagnosis to metastasis, death or last contact",
        "met_status": "1 metastasis, 2 death without metastasis, 0 censored at the last contact",
        "lr_time": "days from diagnosis to local recurrence, death or last contact",
        "lr_status": "1 local recurrence, 2 death without it, 0 censored at the last contact",
        "synthetic": "True for a synthetic (made-up) patient",
    },
    "events": {
        "id": _ID,
        "kind": "local_recurrence, metastasis, new_primary or death",
        "day": "days since the tumour's diagnosis",
        "site": "site of a metastasis: lung, liver, skin, bone_spine, adrenal, kidney or other",
    },
    "treatments": {
        "id": _ID,
        "kind": "excision, re_excision, mohs, radiotherapy or systemic",
        "day": "days since the tumour's diagnosis",
        "end_day": "last day of the treatment, days since the diagnosis (empty: not recorded)",
        "margin_status": "after surgery: negative, positive or unknown",
    },
    "encounters": {
        "id": _ID,
        "origin": "planned (an item of the surveillance plan) or ad_hoc",
        "status": "done or missed",
        "modality_class": "clinical, imaging, biopsy or other",
        "due_day": "a planned encounter's due day, days since the diagnosis",
        "done_day": "the day it was done, days since the diagnosis",
    },
}


def research_readme(tables: dict[str, pd.DataFrame]) -> str:
    """The README of a research export: what it holds and leaves out, and each file's columns in order.

    The columns listed are those of *tables* (the frames written), each described from :data:`RESEARCH_COLUMNS`.
    """
    lines = ["# leiosurv registry: research export", "",
             "De-identified: no names, birth dates, pseudonyms, calendar dates or free text. Ids are T<n> numbers",
             "of this export; ages replace birth dates; every date is a number of days since the tumour's",
             "diagnosis (the diagnosis year is kept). Only coded fields are exported; free-text fields (cause of",
             "death, treatment agent, encounter kind, modality, provider and findings, notes, sites and labels) are",
             "left out.", ""]
    for name, df in tables.items():
        lines += [f"## {name}.csv ({len(df)} rows)", ""]
        lines += [f"- `{col}`: {RESEARCH_COLUMNS[name][col]}" for col in df.columns]
        lines.append("")
    return "\n".join(lines)


SELECTION = ("Tumours on the dermal-LMS pathway were analysed (as the pathologist's confirmed diagnosis or, "
             "unconfirmed, the clinical rules' leading diagnosis placed them at their latest assessment before "
             "any metastasis)")
# why a tumour is not on the dermal-LMS pathway, by the pathway of its latest assessment before metastatic disease
_NOT_DERMAL = {
    "soft_tissue_sarcoma": "not on the dermal-LMS pathway: soft-tissue sarcoma pathway",
    "exclude_metastasis": "not on the dermal-LMS pathway: metastasis to be excluded first (a prior leiomyosarcoma)",
    "other": "not on the dermal-LMS pathway: not a leiomyosarcoma",
    "undetermined": "not on the dermal-LMS pathway: pathway undetermined",
    "metastatic": "not on the dermal-LMS pathway: metastatic when registered",
}


@dataclass(frozen=True)
class CohortExport:
    """The cohort, and what was left out and why.

    Attributes
    ----------
    frame : pandas.DataFrame
        The analysed tumours in the study's cohort format.
    excluded : dict of str to int
        Tumours left out, by reason, in the order the criteria were applied.
    synthetic : bool
        Whether any patient is synthetic.
    registered : int
        Every tumour in the registry (``len(frame)`` plus the exclusions).
    source : str
        The registry it came from (its URL, password hidden).
    """

    frame: pd.DataFrame
    excluded: dict[str, int]
    synthetic: bool
    registered: int = 0
    source: str = "leiosurv registry"

    def study_cohort(self):
        """The cohort as the study reads it (:class:`leiosurv.study.Cohort`), named by the registry, with the
        selection and its flow of counts (:class:`leiosurv.study.Selection`) that the report's Methods state."""
        from dataclasses import replace

        from leiosurv.study import Selection, read_cohort

        selection = Selection(SELECTION, self.registered, tuple(self.excluded.items()), len(self.frame))
        if len(self.frame) == 0:
            from leiosurv.exceptions import CohortError, FieldIssue

            raise CohortError([FieldIssue("(rows)", "no tumour to analyse: " + selection.text())],
                              source=self.source)
        return replace(read_cohort(self.frame), source=self.source, selection=selection)


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
    t, p, e, a = T.tumour, T.patient, T.event, T.assessment
    source = f"leiosurv registry {_db.redact(conn.engine.url.render_as_string(hide_password=True))}"
    tum = _read(conn, sa.select(t.c.id.label("tid"), t.c.patient_id, _text(t.c.diagnosis_date).label("diagnosis_date"),
                                t.c.age_at_diagnosis, t.c.necrosis, t.c.mitotic_grade, t.c.invasion, t.c.margins,
                                p.c.sex, p.c.synthetic)
                .select_from(t.join(p, p.c.id == t.c.patient_id)).order_by(t.c.id))
    cols = ["id", "age", "sex", "diagnosis_year", "necrosis", "mitotic_grade", "invasion", "margins", "met_time",
            "met_status", "lr_time", "lr_status", "synthetic"]
    if tum.empty:
        return CohortExport(pd.DataFrame(columns=cols), {}, False, 0, source)
    registered = len(tum)
    # the pathway of each tumour's latest assessment that is not a re-plan for metastatic disease
    ass = _read(conn, sa.select(a.c.tumour_id.label("tid"), a.c.seq, a.c.plan_basis))
    ass["pathway"] = ass["plan_basis"].map({b: pathway_of_basis(b) for b in ass["plan_basis"].unique()})
    before_met = ass[ass["pathway"] != "metastatic"].sort_values(["tid", "seq"]).drop_duplicates("tid", keep="last")
    pathway = tum["tid"].map(before_met.set_index("tid")["pathway"]).fillna("metastatic")
    excluded: dict[str, int] = {}
    for pw, why in _NOT_DERMAL.items():
        n = int((pathway == pw).sum())
        if n:
            excluded[why] = n
    tum = tum[(pathway == "dermal_lms").to_numpy()].reset_index(drop=True)
    if tum.empty:
        return CohortExport(pd.DataFrame(columns=cols), excluded, False, registered, source)
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
    return CohortExport(out[cols], excluded, synthetic, registered, source)


def research_tables(conn: Connection) -> dict[str, pd.DataFrame]:
    """The de-identified research export: ``cohort``, ``events``, ``treatments``, ``encounters``.

    No names, birth dates, pseudonyms, calendar dates or free text; ids are ``T<n>``;
    dates are days since the tumour's diagnosis; the columns are those of :data:`RESEARCH_COLUMNS`.
    """
    c = cohort_frame(conn)
    t, e, r, n = T.tumour, T.event, T.treatment, T.encounter
    ev = _read(conn, sa.select(e.c.tumour_id, e.c.patient_id, e.c.kind, e.c.date, e.c.site))
    tum = _read(conn, sa.select(t.c.id.label("tumour_id"), t.c.patient_id, t.c.diagnosis_date, t.c.depth))
    # a death (no tumour) is attached to each of the patient's tumours
    ev_t = ev[ev["tumour_id"].notna()].merge(tum[["tumour_id", "diagnosis_date"]], on="tumour_id")
    ev_d = ev[ev["tumour_id"].isna()].drop(columns="tumour_id").merge(tum, on="patient_id")
    ev = pd.concat([ev_t, ev_d[ev_t.columns.intersection(ev_d.columns)]], ignore_index=True)
    events = pd.DataFrame({"id": "T" + ev["tumour_id"].astype("int64").astype(str), "kind": ev["kind"],
                           "day": _days(ev["date"], ev["diagnosis_date"]), "site": ev["site"]})
    tr = _read(conn, sa.select(r.c.tumour_id, r.c.kind, r.c.date, r.c.end_date, r.c.margin_status)) \
        .merge(tum[["tumour_id", "diagnosis_date"]], on="tumour_id")
    treatments = pd.DataFrame({"id": "T" + tr["tumour_id"].astype(str), "kind": tr["kind"],
                               "day": _days(tr["date"], tr["diagnosis_date"]),
                               "end_day": _days(tr["end_date"], tr["diagnosis_date"]),
                               "margin_status": tr["margin_status"]})
    treatments["end_day"] = pd.array(treatments["end_day"], dtype="Int64") if len(tr) else treatments["end_day"]
    en = _read(conn, sa.select(n.c.tumour_id, n.c.origin, n.c.status, n.c.modality_class, n.c.due,
                               n.c.done_on).where(n.c.tumour_id.is_not(None), n.c.status.in_(("done", "missed")))) \
        .merge(tum[["tumour_id", "diagnosis_date"]], on="tumour_id")
    encounters = pd.DataFrame({"id": "T" + en["tumour_id"].astype("int64").astype(str), "origin": en["origin"],
                               "status": en["status"], "modality_class": en["modality_class"],
                               "due_day": pd.array(_days(en["due"], en["diagnosis_date"]), dtype="Int64")
                               if len(en) else [],
                               "done_day": pd.array(_days(en["done_on"], en["diagnosis_date"]), dtype="Int64")
                               if len(en) else []})
    out = {"cohort": c.frame, "events": events.sort_values(["id", "day"], ignore_index=True),
           "treatments": treatments.sort_values(["id", "day"], ignore_index=True),
           "encounters": encounters.sort_values(["id", "done_day"], ignore_index=True)}
    return {name: df[list(RESEARCH_COLUMNS[name])] for name, df in out.items()}  # the documented columns only
