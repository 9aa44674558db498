"""The patient list's page at N patients: natural order (the app's) against the former plain text order.

Both in the same run on the same registry (SQLite, or ``--db postgresql://...``):
*natural* is ``Registry.find_patients`` (count, then one page of 50 in natural
order: the stored, indexed ``patient.sort_key``, migration 0012); *text* is the
former query (count, then one page ordered by the pseudonym's text), with the
same count and page size.  The median of 7 calls each; the ratio natural / text
is what the natural order costs.  The patients are inserted in one statement
with the key the registry writes (``registry._db.natural_key``).

    python benchmarks/patient_list.py --n 100000 [--db URL] [--out benchmarks/results/patient_list.md]

With ``--out`` the row is appended to that section file (written with its header
the first time); ``python benchmarks/collect.py`` puts it in RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HEADER = """## Patient list: one page at N patients, natural order against text order (`patient_list.py`)

Each row is one run of `benchmarks/patient_list.py` (command in the row): *natural* is
`Registry.find_patients` (the count, then a page of 50 at offset 500 in natural order),
*text* the same count and page ordered by the pseudonym's text, on the same registry in
the same run; median of 7 calls each. Until migration 0012 the natural order was computed
in SQL for every patient per page (issue 22's measurement at 10^5 patients: 376 ms against
44 ms for text order); since 0012 the key is stored and indexed (`patient.sort_key`,
`ix_patient_sort`), and the page is read in index order. The text order, which has no
index, now sorts and is the slower of the two. Both include counting every patient.

| when | database | patients | natural (ms) | text (ms) | natural / text | load (1/5/15 min) | commit | command |
|---|---|---|---|---|---|---|---|---|
"""


def main() -> None:
    import sqlalchemy as sa

    from leiosurv.registry import Registry
    from leiosurv.registry import _tables as T
    from leiosurv.registry._db import natural_key

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--db", default=None, help="an empty registry URL (default: a temporary SQLite file)")
    ap.add_argument("--out", default=None, help="append the row to this section file")
    args = ap.parse_args()
    db = args.db or os.path.join(tempfile.mkdtemp(), "list.sqlite")
    reg = Registry(db, create=True)
    with reg.engine.begin() as c:
        names = [f"SYN-{i // 1000}-{i % 1000}" for i in range(args.n)]
        c.execute(sa.insert(T.patient), [{"pseudonym": s, "sort_key": natural_key(s), "sex": "female",
                                          "synthetic": True} for s in names])
    p, i = T.patient, T.patient_identity

    def text_order():
        with reg.engine.connect() as c:
            base = p.outerjoin(i, i.c.patient_id == p.c.id)
            c.execute(sa.select(sa.func.count()).select_from(base)).scalar_one()
            c.execute(sa.select(p.c.id, p.c.pseudonym).select_from(base)
                      .order_by(p.c.synthetic, p.c.pseudonym).limit(50).offset(500)).all()

    def timed(f) -> float:
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts) * 1000

    nat = timed(lambda: reg.find_patients("", limit=50, offset=500, identified=True))
    txt = timed(text_order)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = os.popen("git rev-parse --short HEAD 2>/dev/null").read().strip() or "?"
    cmd = "python benchmarks/patient_list.py " + " ".join(
        a if not a.startswith("postgresql") else "postgresql://..." for a in sys.argv[1:])
    row = (f"| {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC | {reg.dialect} | {args.n:,} | {nat:.1f} | {txt:.1f} | "
           f"{nat / txt:.2f} | {load} | {commit} | `{cmd}` |")
    print(row)
    if args.out:
        out = Path(args.out)
        out.write_text((out.read_text() if out.exists() else HEADER) + row + "\n")
    reg.close()


if __name__ == "__main__":
    main()
