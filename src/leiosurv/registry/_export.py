"""A patient's whole record as JSON-ready data (the JSON export, and the input of the FHIR export)."""

from __future__ import annotations

import datetime as _dt
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leiosurv.registry import _repo
from leiosurv.registry import _tables as T

__all__ = ["patient_record"]


def _row(r, drop: tuple[str, ...] = ()) -> dict:
    out = {}
    for k, v in r._mapping.items():
        if k in drop:
            continue
        out[k] = v.isoformat() if isinstance(v, _dt.date) else v
    return out


def patient_record(conn: Connection, pseudonym: str) -> dict:
    """The record of *pseudonym*: patient, identity, tumours with every assessment, treatments, events,
    observations and encounters; dates as ISO text.  It holds identifying data: share with care."""
    pid = _repo.patient_id(conn, pseudonym)
    p = conn.execute(sa.select(T.patient).where(T.patient.c.id == pid)).one()
    ident = conn.execute(sa.select(T.patient_identity).where(T.patient_identity.c.patient_id == pid)).first()
    tumours = []
    for t in conn.execute(sa.select(T.tumour).where(T.tumour.c.patient_id == pid).order_by(T.tumour.c.id)):
        d = _row(t, ("patient_id",))
        d["assessments"] = [{**_row(a, ("tumour_id", "result")), "result": json.loads(a.result)} for a in conn.execute(
            sa.select(T.assessment).where(T.assessment.c.tumour_id == t.id).order_by(T.assessment.c.seq))]
        tumours.append(d)
    labels = {t["id"]: t["label"] for t in tumours}
    obs = {r.id: r.label for r in conn.execute(sa.select(T.observation.c.id, T.observation.c.label)
                                                 .where(T.observation.c.patient_id == pid))}

    def rows(table, order):
        out = []
        for r in conn.execute(sa.select(table).where(table.c.patient_id == pid).order_by(*order)):
            d = _row(r, ("patient_id",))
            if "tumour_id" in d:
                d["tumour"] = labels.get(d.pop("tumour_id"))
            if "observation_id" in d:
                d["observation"] = obs.get(d.pop("observation_id"))
            out.append(d)
        return out

    return {
        "format": "leiosurv-registry-patient/1",
        "patient": {"pseudonym": p.pseudonym, "sex": p.sex, "synthetic": bool(p.synthetic), "note": p.note},
        "identity": ({"name": ident.name, "birth_date": ident.birth_date.isoformat() if ident.birth_date else None}
                     if ident else None),
        "tumours": tumours,
        "treatments": rows(T.treatment, (T.treatment.c.date, T.treatment.c.id)),
        "events": rows(T.event, (T.event.c.date, T.event.c.id)),
        "observations": rows(T.observation, (T.observation.c.first_seen, T.observation.c.id)),
        "encounters": rows(T.encounter, (sa.func.coalesce(T.encounter.c.done_on, T.encounter.c.due),
                                         T.encounter.c.id)),
    }
