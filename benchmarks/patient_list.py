"""The patient list's page at N patients: natural order (the app's) against the former plain text order.

Both in the same run on the same registry (SQLite, or ``--db postgresql://...``):
*natural* is ``Registry.find_patients`` (count, then one page of 50 in natural
order: the stored, indexed ``patient.sort_key``, migration 0012); *text* is the
former query (count, then one page ordered by the pseudonym's text), with the
same count and page size.  The median of 7 calls each; the ratio natural / text
is what the natural order costs.  The patients are inserted in one statement
with the key the registry writes (``registry._db.natural_key``).

    python benchmarks/patient_list.py --n 100000 [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time


def main() -> None:
    import sqlalchemy as sa

    from leiosurv.registry import Registry
    from leiosurv.registry import _tables as T
    from leiosurv.registry._db import natural_key

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--db", default=None, help="an empty registry URL (default: a temporary SQLite file)")
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
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"| {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC | {reg.dialect} | {args.n:,} | {nat:.0f} | {txt:.0f} | "
          f"{nat / txt:.1f} | {load} |")
    reg.close()


if __name__ == "__main__":
    main()
