"""Time one contender on one data set, in this (fresh) process; print JSON.

Run by ``aj_speed.py`` as a subprocess, once per (contender, n, kind), so that
peak memory is that contender's alone.

Method
------
1. Load the columns (``.npy`` files written by the parent) — or, in Parquet
   mode, nothing: the engine is handed the file path.
2. Warm-up (excluded): the contender runs once on the first 1000 rows, so
   imports and first-call set-up are not timed.
3. ``gc.collect()``; the kernel's peak-RSS mark (VmHWM) is reset by writing
   ``5`` to ``/proc/self/clear_refs``; the current RSS is read.
4. Timed run 1 (wall: ``time.perf_counter``; CPU of all threads:
   ``time.process_time``); then VmHWM is read again.  Peak extra
   memory = VmHWM after − RSS before: what the contender allocates on top of
   the input it was given (numpy, pandas, DuckDB's buffers all count, since
   DuckDB runs inside this process).
5. Further repeats (timing only); the reported time is the median.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _aj_contenders import by_name  # noqa: E402


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(fn, repeats: int) -> dict:
    gc.collect()
    exact_peak = reset_peak()
    rss_before = _status_kb("VmRSS") * 1024
    c0, t0 = time.process_time(), time.perf_counter()
    raw = fn()
    times = [time.perf_counter() - t0]
    cpu = [time.process_time() - c0]
    peak = _status_kb("VmHWM") * 1024
    first = raw
    for _ in range(repeats - 1):
        raw = None
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        raw = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "first": first,
        "times": times,
        "median": float(np.median(times)),
        "cpu_median": float(np.median(cpu)),
        "rss_before": rss_before,
        "peak_rss": peak,
        "peak_extra": peak - rss_before,
        "peak_exact": exact_peak,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--contender", required=True)
    p.add_argument("--data", help="prefix of time/event/group .npy files")
    p.add_argument("--parquet", help="Parquet file handed to leiosurv, or loaded for the numpy floor")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--horizons", type=float, nargs="*", default=[])
    a = p.parse_args(argv)
    c = by_name(a.contender)
    horizons = np.asarray(a.horizons, dtype=float)

    if a.parquet and c.name == "leiosurv":
        from leiosurv.stats import cumulative_incidence  # noqa: F401  (import is not timed)
        import duckdb  # noqa: F401

        fn = lambda: c.run_path(a.parquet)  # noqa: E731
        input_bytes = None
    else:
        if a.parquet:
            import pyarrow.parquet as pq

            tab = pq.read_table(a.parquet)
            cols = {k: tab.column(k).to_numpy() for k in ("time", "event", "group")}
            del tab
        else:
            cols = {k: np.load(f"{a.data}_{k}.npy") for k in ("time", "event", "group")}
        t, e, g = cols["time"], cols["event"], cols["group"]
        input_bytes = int(t.nbytes + e.nbytes + g.nbytes)
        w = min(1000, t.size)
        c.run(t[:w].copy(), e[:w].copy(), g[:w].copy())  # warm-up, excluded
        fn = lambda: c.run(t, e, g)  # noqa: E731

    m = measure(fn, a.repeats)
    out = {k: v for k, v in m.items() if k != "first"}
    out["input_bytes"] = input_bytes
    if c.extract is not None and horizons.size:
        out["cif"] = c.extract(m["first"], horizons).tolist()
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
