"""One cell of the issue-14 goals benchmark, in this (fresh) process; print JSON.

Run by ``aj_goals.py`` once per (kind, event mix, input, n).  Every contender
gets the input as the user has it — a pandas DataFrame, a dict of numpy
arrays, or a Parquet file path — and its conversion to arrays is part of its
timed work.  The contenders run interleaved, round after round (the order
rotated each round), so that the load of the shared machine falls on all of
them alike; the median of each is reported.

``--memory`` instead runs leiosurv alone once and reports its peak extra
memory (VmHWM reset through ``/proc/self/clear_refs`` just before the call).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _aj_data import generate  # noqa: E402

GROUPS = (0, 1)
COLS = ("time", "event", "group")


# -- inputs ------------------------------------------------------------------------
def make_input(kind: str, events: float, n: int, form: str, parquet: str | None) -> Any:
    """The data as the user passes it."""
    if form == "parquet":
        assert parquet is not None
        return parquet
    d = generate(n, kind, events=events)
    if form == "dict":
        return d
    if form == "dataframe":
        import pandas as pd

        # as pandas reads it from a CSV: float64 times, int64 codes
        return pd.DataFrame({"time": d["time"], "event": d["event"].astype(np.int64),
                             "group": d["group"].astype(np.int64)})
    raise ValueError(form)


def arrays(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a peer does first: numpy arrays of the three columns."""
    if isinstance(data, str):
        import pyarrow.parquet as pq

        tab = pq.read_table(data, columns=list(COLS))
        out = tuple(tab.column(c).to_numpy() for c in COLS)
        del tab
        return out  # type: ignore[return-value]
    if isinstance(data, dict):
        return data["time"], data["event"], data["group"]
    return tuple(data[c].to_numpy() for c in COLS)  # type: ignore[return-value]


def input_bytes(data: Any, n: int) -> int:
    if isinstance(data, str):
        return n * 10  # the Parquet schema: float64 + int8 + int8, as numpy after reading
    if isinstance(data, dict):
        return int(sum(data[c].nbytes for c in COLS))
    return int(sum(data[c].to_numpy().nbytes for c in COLS))


# -- contenders --------------------------------------------------------------------
def leiosurv(data: Any) -> Any:
    from leiosurv.stats import cumulative_incidence

    return cumulative_incidence(data, time="time", event="event", group="group")


def statsmodels(data: Any) -> Any:
    from statsmodels.duration.survfunc import CumIncidenceRight

    t, e, g = arrays(data)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in GROUPS:
            m = g == k
            out[k] = CumIncidenceRight(t[m], e[m])
    return out


def argsort_floor(data: Any) -> Any:
    """The issue's floor for continuous times: one stable argsort of time, a gather, three cumsums."""
    t, e, g = arrays(data)
    order = np.argsort(t, kind="stable")
    es, gs = e[order], g[order]
    return np.cumsum(es == 1), np.cumsum(es == 2), np.cumsum(gs == 1)


def bincount_floor(data: Any) -> Any:
    """The floor for whole-day times: one bincount of (group, event, day) cells."""
    t, e, g = arrays(data)
    span = int(t.max()) + 1
    key = t.astype(np.int64)
    key += np.multiply(g, 3 * span, dtype=np.int64)
    key += np.multiply(e, span, dtype=np.int64)
    return np.bincount(key, minlength=6 * span)


CONTENDERS: dict[str, Callable[[Any], Any]] = {
    "leiosurv": leiosurv,
    "statsmodels": statsmodels,
    "argsort floor": argsort_floor,
    "bincount floor": bincount_floor,
}


def cif_at(name: str, raw: Any, horizons: np.ndarray) -> list[float] | None:
    """Both groups' both CIFs at the horizons (for the agreement check)."""
    out = []
    if name == "leiosurv":
        at = raw.at(horizons, beyond="nan")
        for k in GROUPS:
            for c in (1, 2):
                rows = at[(at["group"] == k) & (at["cause"] == c)]
                out.extend(rows["estimate"].tolist())
        return out
    if name == "statsmodels":
        for k in GROUPS:
            r = raw[k]
            for c in (1, 2):
                idx = np.searchsorted(r.times, horizons, side="right") - 1
                vals = np.asarray(r.cinc[c - 1])
                out.extend(np.where(idx >= 0, vals[np.clip(idx, 0, None)], 0.0).tolist())
        return out
    return None


# -- measuring ---------------------------------------------------------------------
def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))  # type: ignore[union-attr]


def interleaved(data: Any, warm: Any, names: list[str], rounds: int, horizons: np.ndarray) -> dict[str, Any]:
    for name in names:  # imports and first-call set-up, excluded
        CONTENDERS[name](warm)
    times: dict[str, list[float]] = {name: [] for name in names}
    cif: dict[str, Any] = {}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            gc.collect()
            t0 = time.perf_counter()
            raw = CONTENDERS[name](data)
            times[name].append(time.perf_counter() - t0)
            if name not in cif:
                cif[name] = cif_at(name, raw, horizons)
            del raw
    return {"times": times, "median": {k: float(np.median(v)) for k, v in times.items()}, "cif": cif}


def _trim() -> None:
    """Return freed heap memory to the OS, so that RSS before the call is what is in use
    (glibc keeps freed blocks, e.g. the generator's temporaries, which the call would
    then reuse without raising RSS: an underestimate)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def memory(data: Any, warm: Any) -> dict[str, Any]:
    leiosurv(warm)
    gc.collect()
    _trim()
    exact = True
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        exact = False
    before = _status_kb("VmRSS") * 1024
    t0 = time.perf_counter()
    res = leiosurv(data)
    wall = time.perf_counter() - t0
    peak = _status_kb("VmHWM") * 1024
    del res
    return {"peak_extra": peak - before, "peak_rss": peak, "rss_before": before, "exact": exact, "wall": wall}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", required=True)
    p.add_argument("--events", type=float, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--form", required=True, choices=("dict", "dataframe", "parquet"))
    p.add_argument("--parquet", help="the Parquet file (form=parquet)")
    p.add_argument("--warm-parquet", help="a small Parquet file of the same schema for the warm-up")
    p.add_argument("--contenders", nargs="+", default=list(CONTENDERS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--memory", action="store_true")
    p.add_argument("--horizons", type=float, nargs="*", default=[365.25, 1826.25, 3652.5])
    a = p.parse_args(argv)
    data = make_input(a.kind, a.events, a.n, a.form, a.parquet)
    warm = a.warm_parquet if a.form == "parquet" else make_input(a.kind, a.events, 1000, a.form, None)
    nbytes = input_bytes(data, a.n)
    if a.memory:
        out = memory(data, warm)
    else:
        out = interleaved(data, warm, a.contenders, a.rounds, np.asarray(a.horizons))
    out["input_bytes"] = nbytes
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
