"""Registry at scale: import, the day's alerts, one timeline, the cohort export and the study.

    python benchmarks/registry_scale.py --n 1000000 --import-n 10000            # SQLite
    python benchmarks/registry_scale.py --n 1000000 --import-n 10000 --pg URL   # PostgreSQL
    python benchmarks/collect.py

Measured, never asserted.  Steps:

1. **Import** (the product's path, ``leiosurv.registry.import_files``): a
   synthetic cohort of ``--import-n`` patients (``leiosurv.study`` synth) written
   as CSV — patients, tumours (each assessed by the clinical core, its plan
   stored), events, and the encounters of the plans (past items done, one in
   ten missed) — imported in one transaction.  Rows and patients per second.
2. **Scale-up to ``--n`` patients** by replicating the imported rows in SQL
   (``INSERT ... SELECT`` in batches, every trigger and constraint active).
   Replicas keep their template's dates; a replica's assessment keeps every
   column but stores a stub ``{"replica_of": id}`` instead of the ~20 KB result
   JSON (which would add ~20 GB at 10^6 tumours); the database size is reported
   with and without that projection.
3. **Queries at ``--n``**: the day's alerts (as of today, due within 30 days),
   one patient's timeline (median of 21), the cohort export (one row per
   tumour), and the study on that export (``run_study``).

Writes ``results/registry_scale_<backend>.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent


def _csvs(n: int, seed: int, out: Path, today: dt.date) -> dict[str, int]:
    """Write patients/tumours/events/encounters CSVs for a synthetic cohort of *n* (plans done/missed)."""
    from leiosurv.clinical import Findings, assess
    from leiosurv.study import synthesize_cohort

    df = synthesize_cohort(n, seed=seed)
    rng = np.random.default_rng(seed)
    pid = [f"S{seed}-{i}" for i in df["id"]]
    dx = pd.to_datetime(df["diagnosis_year"].astype(str) + "-07-01").dt.date
    grade_count = {1: 5, 2: 15, 3: 25}
    pat = pd.DataFrame({"patient": pid, "sex": df["sex"], "synthetic": "true"})
    inv = df["invasion"].map({1: "present", 0: "absent"}).fillna("unknown")
    tum = pd.DataFrame({
        "patient": pid, "tumour": "T1", "diagnosis_date": [d.isoformat() for d in dx], "depth": "dermal",
        "age": df["age"].astype(int), "margins": df["margins"].fillna("unknown"),
        "necrosis": df["necrosis"].map({1: "present", 0: "absent"}).fillna("unknown"),
        "mitoses_count": df["mitotic_grade"].map(grade_count),
        "perineural_invasion": inv, "intravascular_invasion": inv})
    ev, enc = [], []
    for i, r in enumerate(df.itertuples(index=False)):
        d0 = dx.iloc[i]
        death = None
        for status, time_ in ((r.met_status, r.met_time), (r.lr_status, r.lr_time)):
            if status == 2:
                death = d0 + dt.timedelta(days=int(time_))
        end = d0 + dt.timedelta(days=int(max(r.met_time, r.lr_time)))
        met = d0 + dt.timedelta(days=int(r.met_time)) if r.met_status == 1 else None
        # the plan's items (same ids as the core gives) done up to the end of follow-up or a metastasis
        f = Findings(excision_date=d0, depth="dermal", margins=tum.at[i, "margins"], necrosis=tum.at[i, "necrosis"],
                     mitoses={"count": None if pd.isna(r.mitotic_grade) else grade_count[int(r.mitotic_grade)]},
                     perineural_invasion=inv.iloc[i], intravascular_invasion=inv.iloc[i])
        for e in assess(f).plan.encounters:
            stop = min(x for x in (end, met, today) if x is not None)
            if e.window_end < stop:
                missed = rng.random() < 0.1
                enc.append((pid[i], e.due.isoformat(), e.id, "T1", "missed" if missed else "done"))
        if r.lr_status == 1 and d0 + dt.timedelta(days=int(r.lr_time)) <= today:
            ev.append((pid[i], "T1", "local_recurrence", (d0 + dt.timedelta(days=int(r.lr_time))).isoformat(), "", ""))
        if met is not None and met <= today:
            ev.append((pid[i], "T1", "metastasis", met.isoformat(), "lung", ""))
        if death is not None and death <= today:
            ev.append((pid[i], "", "death", death.isoformat(), "", ""))
    pat.to_csv(out / "patients.csv", index=False)
    tum.to_csv(out / "tumours.csv", index=False)
    pd.DataFrame(ev, columns=["patient", "tumour", "kind", "date", "site", "cause"]).to_csv(out / "events.csv",
                                                                                            index=False)
    pd.DataFrame(enc, columns=["patient", "date", "plan_item", "tumour", "status"]).to_csv(out / "encounters.csv",
                                                                                          index=False)
    return {"patients": len(pat), "tumours": len(tum), "events": len(ev), "encounters": len(enc)}


_COPY = {
    # table: (columns, id-offset key) ; ids are shifted by the table's max id, patient ids by the patient offset
    "patient": ["id", "pseudonym", "sex", "synthetic", "note"],
    "tumour": ["id", "patient_id", "label", "diagnosis_date", "site", "depth", "age_at_diagnosis", "findings",
               "confirmed_diagnosis", "necrosis", "mitotic_grade", "invasion", "margins"],
    "assessment": ["id", "tumour_id", "seq", "assessed_on", "reason", "ruleset_version", "ruleset_hash",
                   "risk_group", "top_diagnosis", "plan_basis", "plan_start", "imaging_interval_days",
                   "imaging_until", "current", "result"],
    "treatment": ["id", "patient_id", "tumour_id", "kind", "date", "end_date", "margin_status", "agent", "note"],
    "event": ["id", "patient_id", "tumour_id", "kind", "date", "site", "cause", "note"],
    "encounter": ["id", "patient_id", "tumour_id", "observation_id", "assessment_id", "plan_item", "origin", "status",
                  "modality_class", "kind", "modality", "provider", "due", "window_start", "window_end", "done_on",
                  "findings", "status_reason"],
}


def _replicate(engine, copies: int, progress) -> None:
    """Copy the template rows (ids <= the template maxima) *copies* times with shifted ids."""
    with engine.connect() as c:
        maxes = {t: c.execute(sa.text(f"SELECT max(id) FROM {t}")).scalar() or 0 for t in _COPY}
    pg = engine.dialect.name == "postgresql"
    for k in range(1, copies + 1):
        off = {t: maxes[t] * k for t in _COPY}
        with engine.begin() as c:
            for t, cols in _COPY.items():
                sel = []
                for col in cols:
                    if col == "id":
                        sel.append(f"id + {off[t]}")
                    elif col == "patient_id":
                        sel.append(f"patient_id + {off['patient']}")
                    elif col == "tumour_id":
                        sel.append(f"tumour_id + {off['tumour']}")
                    elif col == "assessment_id":
                        sel.append(f"assessment_id + {off['assessment']}")
                    elif col == "pseudonym":
                        sel.append(f"pseudonym || '-r{k}'")
                    elif col == "result":
                        sel.append("CAST('{\"replica_of\": ' || CAST(id AS TEXT) || '}' AS JSON)" if pg
                                   else "'{\"replica_of\": ' || id || '}'")
                    else:
                        sel.append(col)
                where = f"WHERE id <= {maxes[t]}"
                order = " ORDER BY kind <> 'death', id" if t == "event" else ""
                c.execute(sa.text(f"INSERT INTO {t} ({', '.join(cols)}) SELECT {', '.join(sel)} FROM {t} {where}"
                                  f"{order}"))
        progress(k)
    if pg:
        with engine.connect() as c:
            for t in _COPY:
                c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
            c.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _size(reg) -> int:
    with reg.engine.connect() as c:
        if reg.dialect == "postgresql":
            return c.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    db = reg.engine.url.database
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e6, help="patients at scale (a multiple of --import-n)")
    ap.add_argument("--import-n", type=int, default=10_000, help="patients imported through import_files")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL of an empty database (default: SQLite in --dir)")
    ap.add_argument("--dir", default=None, help="directory for the SQLite file and the CSVs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries-only", action="store_true",
                    help="re-time the queries on the database of the last run (import figures from its JSON)")
    a = ap.parse_args()
    from leiosurv.registry import Registry, import_files

    n = int(a.n)
    copies = max(n // a.import_n - 1, 0)
    work = Path(a.dir or tempfile.mkdtemp(prefix="leiosurv-registry-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    today = dt.date.today()
    backend = "postgresql" if a.pg else "sqlite"
    res: dict = {"backend": backend, "n": a.import_n * (copies + 1), "import_n": a.import_n,
                 "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                 "load": os.getloadavg(), "command": " ".join(["python"] + sys.argv)}
    db = a.pg or str(work / "registry.sqlite")
    if a.queries_only:
        old = json.loads((HERE / "results" / f"registry_scale_{backend}.json").read_text())
        keep = ("csv_s", "rows", "import_s", "import_rows_in_db", "size_import", "assessments_import",
                "result_json_bytes", "replicate_s")
        res.update({k: old[k] for k in keep})
        res["command"] = old["command"] + f"; queries re-timed {res['date']} with --queries-only"
        reg = Registry(db)
        _queries(reg, res, today, backend)
        return
    print(f"[{backend}] writing CSVs for {a.import_n} patients ...", flush=True)
    t = time.perf_counter()
    rows = _csvs(a.import_n, a.seed, work, today)
    res["csv_s"] = time.perf_counter() - t
    res["rows"] = rows
    if not a.pg:
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    reg = Registry(db, create=True)
    print(f"[{backend}] importing {sum(rows.values())} rows ...", flush=True)
    t = time.perf_counter()
    import_files(reg, [work / f"{k}.csv" for k in ("patients", "tumours", "events", "encounters")], as_of=today)
    res["import_s"] = time.perf_counter() - t
    counts = reg.counts()
    res["import_rows_in_db"] = sum(counts.values())
    res["size_import"] = _size(reg)
    res["assessments_import"] = counts["assessment"]
    with reg.engine.connect() as c:
        res["result_json_bytes"] = c.execute(sa.text(
            "SELECT avg(length(CAST(result AS TEXT))) FROM assessment")).scalar()
    print(f"[{backend}] import {res['import_s']:.1f} s; replicating x{copies} ...", flush=True)
    t = time.perf_counter()
    _replicate(reg.engine, copies, lambda k: print(f"  copy {k}/{copies} {time.perf_counter() - t:.0f} s",
                                                   flush=True) if k % 10 == 0 else None)
    res["replicate_s"] = time.perf_counter() - t
    _queries(reg, res, today, backend)


def _queries(reg, res: dict, today: dt.date, backend: str) -> None:
    from leiosurv.study import read_cohort, run_study

    counts = reg.counts()
    res["counts"] = counts
    res["size"] = _size(reg)
    n_assess = counts["assessment"]
    res["size_projected"] = res["size"] + (n_assess - res["assessments_import"]) * float(res["result_json_bytes"])
    print(f"[{backend}] {counts['patient']} patients; queries ...", flush=True)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        al = reg.alerts(today, due_within=30, lookback_days=365)
        times.append(time.perf_counter() - t)
    res["alerts_s"] = statistics.median(times)
    res["alerts_n"] = {k: sum(1 for x in al if x.kind == k) for k in ("overdue", "due", "gap")}
    res["alerts_n"]["older_overdue"] = sum(x.days for x in al if x.kind == "lost")
    with reg.engine.connect() as c:
        some = c.execute(sa.text("SELECT pseudonym FROM patient WHERE id = :i"), {"i": counts["patient"] // 2}).scalar()
    reg.timeline(some)
    tl = []
    for _ in range(21):
        t = time.perf_counter()
        reg.timeline(some)
        tl.append(time.perf_counter() - t)
    res["timeline_s"] = statistics.median(tl)
    t = time.perf_counter()
    coh = reg.cohort()
    res["cohort_s"] = time.perf_counter() - t
    res["cohort_rows"] = len(coh.frame)
    t = time.perf_counter()
    run_study(read_cohort(coh.frame), progress=False)
    res["study_s"] = time.perf_counter() - t
    reg.close()
    _write(res)


def _fmt_s(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def _write(r: dict) -> None:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    b = r["backend"]
    (out / f"registry_scale_{b}.json").write_text(json.dumps(r, indent=2, default=str))
    ir = r["import_rows_in_db"]
    goals = [
        ("alerts for one day < 1 s", r["alerts_s"] < 1),
        ("one timeline < 50 ms", r["timeline_s"] < 0.05),
        ("import > 20,000 patients/s", r["import_n"] / r["import_s"] > 20_000),
        ("study on the export < 30 s", r["study_s"] < 30),
    ]
    lines = [
        f"## Registry at scale: {b} (`registry_scale.py`)",
        "",
        f"Measured {r['date']} on {r['machine']} (shared machine, load average "
        f"{' / '.join(f'{x:.2f}' for x in r['load'])} at the start). Command: `{r['command']}`.",
        "",
        f"- **Import** through `import_files` (CSV, validated, one transaction, every tumour assessed by the "
        f"clinical core and its plan stored): {r['import_n']:,} patients, {ir:,} rows in the database "
        f"({', '.join(f'{v:,} {k}' for k, v in r['rows'].items())} in the CSVs) in {r['import_s']:.1f} s = "
        f"**{r['import_n'] / r['import_s']:,.0f} patients/s**, {ir / r['import_s']:,.0f} rows/s.",
        f"- **Scale-up** to {r['counts']['patient']:,} patients by SQL replication of the imported rows "
        f"(triggers and constraints active): {sum(r['counts'].values()) - ir:,} rows in {r['replicate_s']:.0f} s "
        f"({(sum(r['counts'].values()) - ir) / max(r['replicate_s'], 1e-9):,.0f} rows/s). Rows: "
        + ", ".join(f"{k} {v:,}" for k, v in r["counts"].items()) + ".",
        f"- **Database size**: {r['size'] / 2**30:.2f} GiB with replica assessments stored as stubs; "
        f"~{r['size_projected'] / 2**30:.1f} GiB projected with every assessment's full result JSON "
        f"(mean {float(r['result_json_bytes']) / 1024:.1f} KiB each).",
        "",
        "| query at this size | time |",
        "|---|---|",
        f"| alerts as of today, due within 30 days, lookback 365 days (median of 3; {r['alerts_n']['overdue']:,} "
        f"overdue listed, {r['alerts_n'].get('older_overdue', 0):,} older ones counted, {r['alerts_n']['due']:,} "
        f"due, {r['alerts_n']['gap']:,} gaps) | {_fmt_s(r['alerts_s'])} |",
        f"| one patient's timeline (median of 21) | {_fmt_s(r['timeline_s'])} |",
        f"| cohort export, {r['cohort_rows']:,} rows | {_fmt_s(r['cohort_s'])} |",
        f"| the study (`run_study`) on that export | {_fmt_s(r['study_s'])} |",
        "",
        "| goal | verdict |",
        "|---|---|",
    ] + [f"| {g} | {'met' if ok else '**NOT met**'} |" for g, ok in goals] + [
        "",
        "Why the import goal is missed: every tumour goes through the clinical core (about 0.5 ms) and stores "
        "its ~21 KB assessment JSON and its plan, and every row is a separately validated service call issuing "
        "several SQLAlchemy statements (statement construction dominates the profile). Reaching 20,000 "
        "patients/s needs a different bulk path (assess once per distinct findings profile and date the plans "
        "from it, executemany / COPY, compact or deduplicated result JSON); it is not built. Replicas keep "
        "their template's dates, so the alert counts are 100 times those of the imported 10,000 patients.",
    ]
    (out / f"registry_scale_{b}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
