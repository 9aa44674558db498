"""Cost of delayed entry and case weights against the plain estimators, in one run.

Issue 24's goal: ``cumulative_incidence`` and ``kaplan_meier`` with ``entry=`` and ``weights=``
cost at most 1.3x the plain estimator at 10^6 rows.  Every contender runs in the same process,
interleaved round after round (order rotated), so the shared machine's load falls on all alike;
ratios are of medians.  Writes ``results/entry_weights.md``.

    python benchmarks/entry_weights.py [--n 1e6] [--rounds 5]
    python benchmarks/collect.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from leiosurv.stats import cumulative_incidence, kaplan_meier

HERE = Path(__file__).resolve().parent


def data(n: int, seed: int = 24) -> dict[str, np.ndarray]:
    """Continuous times in days (no ties), two causes, ~45 % of rows with an event, 30 % of rows
    entering late (uniform on (0, time)), weights uniform on [0.5, 2], integer weights 1..3."""
    rng = np.random.default_rng(seed)
    t = rng.exponential(1500.0, n)
    c = rng.uniform(0, 5479.0, n)
    event = np.where(t <= c, rng.integers(1, 3, n), 0).astype(np.int8)
    time_ = np.minimum(t, c)
    entry = np.where(rng.random(n) < 0.3, time_ * rng.random(n), 0.0)
    return {"time": time_, "event": event, "entry": entry, "w": rng.uniform(0.5, 2.0, n),
            "iw": rng.integers(1, 4, n).astype(np.float64), "group": rng.integers(0, 2, n).astype(np.int8)}


def contenders(d: dict[str, np.ndarray]) -> dict[str, object]:
    g = "group"
    return {
        "CIF plain (delta)": lambda: cumulative_incidence(d, group=g),
        "CIF entry (delta, prodlim)": lambda: cumulative_incidence(d, group=g, entry="entry"),
        "CIF plain (ij)": lambda: cumulative_incidence(d, group=g, variance="ij"),
        "CIF entry (ij, survfit)": lambda: cumulative_incidence(d, group=g, entry="entry", variance="ij"),
        "CIF weights (ij, survfit)": lambda: cumulative_incidence(d, group=g, weights="w", variance="ij"),
        "CIF entry + weights (ij)": lambda: cumulative_incidence(d, group=g, entry="entry", weights="w",
                                                                 variance="ij"),
        "KM plain": lambda: kaplan_meier(d, group=g),
        "KM entry": lambda: kaplan_meier(d, group=g, entry="entry"),
        "KM whole weights (Greenwood)": lambda: kaplan_meier(d, group=g, weights="iw"),
        "KM weights (IJ)": lambda: kaplan_meier(d, group=g, weights="w"),
    }


#: each contender's plain estimator with the same variance (the second ratio column); Kaplan–Meier has
#: no plain contender with the IJ variance (on unweighted rows survfitKM gives Greenwood's)
SAME_VARIANCE = {
    "CIF entry (delta, prodlim)": "CIF plain (delta)",
    "CIF entry (ij, survfit)": "CIF plain (ij)",
    "CIF weights (ij, survfit)": "CIF plain (ij)",
    "CIF entry + weights (ij)": "CIF plain (ij)",
    "KM entry": "KM plain",
    "KM whole weights (Greenwood)": "KM plain",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "entry_weights.md")
    args = ap.parse_args()
    n = int(args.n)
    started = datetime.now(UTC)
    load0 = os.getloadavg()
    d = data(n)
    small = data(1000)
    runs = contenders(d)
    for f in contenders(small).values():  # warm-up: imports, first calls
        f()  # type: ignore[operator]
    times: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for r in range(args.rounds):
        for k in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            runs[k]()  # type: ignore[operator]
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = {"CIF": med["CIF plain (delta)"], "KM": med["KM plain"]}
    lines = [
        "## Delayed entry and case weights: cost against the plain estimator",
        "",
        f"Written by `benchmarks/entry_weights.py` on {started:%Y-%m-%d %H:%M} UTC.",
        "",
        "Command:",
        "",
        f"    python benchmarks/entry_weights.py --n {args.n:g} --rounds {args.rounds}",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), python "
        f"{platform.python_version()}, numpy {np.__version__}; load average at the start "
        f"{load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}, at the end "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + ".",
        "",
        f"Data: n = {n:,} rows in two groups, continuous times (no ties), causes 1 and 2, 30 % of rows "
        "entering late, weights uniform on [0.5, 2] (whole-number weights 1..3 for the Greenwood row). "
        f"All contenders interleaved in {args.rounds} rounds in one process; medians; ratio = contender / "
        "plain estimator of the same kind (goal: at most 1.3). The last column divides by the plain "
        "estimator with the same variance (CIF plain (ij) for the IJ rows): what entry and weights cost "
        "beyond the variance itself; the goal is judged on the first ratio.",
        "",
        "| contender | median | ratio to plain | goal ≤ 1.3 | ratio to plain of the same variance |",
        "|---|---|---|---|---|",
    ]
    for k in names:
        ratio = med[k] / base[k.split()[0]]
        verdict = "—" if "plain" in k else ("met" if ratio <= 1.3 else "**NOT met**")
        same = f"{med[k] / med[SAME_VARIANCE[k]]:.2f}" if k in SAME_VARIANCE else "—"
        lines.append(f"| {k} | {med[k] * 1000:.0f} ms | {ratio:.2f} | {verdict} | {same} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
