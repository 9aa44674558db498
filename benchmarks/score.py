"""``score`` (IPCW AUC and Brier for competing risks) against ``riskRegression::Score``, in one run.

Issue 24's goal: ``score`` at n = 10^6 in under 10 s.  The peer is R's ``riskRegression::Score``
with the same call as the reference file (two models, null model, contrasts, KM censoring
weights, influence-function SEs), run on the same rows through ``Rscript`` at the sizes it can
take; its time is measured inside R around ``Score`` alone (reading the CSV excluded).  Writes
``results/score.md``.

    python benchmarks/score.py [--sizes 1e4,1e5,1e6] [--r-max 1e5] [--rounds 3]
    python benchmarks/collect.py
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from leiosurv.stats import score

HERE = Path(__file__).resolve().parent
HORIZON = 1826.25

R_SCRIPT = r"""
suppressMessages({library(survival); library(prodlim); library(riskRegression)})
d <- read.csv(commandArgs(TRUE)[1])
el <- system.time(s <- Score(list(a = matrix(d$p1, ncol = 1), b = matrix(d$p2, ncol = 1)),
    formula = Hist(time, status) ~ 1, data = d, cause = 1, times = %s, metrics = c("auc", "brier"),
    cens.model = "km", se.fit = TRUE, null.model = TRUE, contrasts = TRUE, split.method = "none"))[["elapsed"]]
cat(sprintf("%%.6f %%.17g %%.17g\n", el, s$AUC$score$AUC[1], s$Brier$score$Brier[2]))
"""


def data(n: int, seed: int = 24) -> dict[str, np.ndarray]:
    """Times in whole days (ties, as registries record them), causes 1 and 2, uniform censoring over
    15 years; two predictions: one informative (a noisy function of the true event time), one rule
    with 4 levels (many tied risks)."""
    rng = np.random.default_rng(seed)
    t = rng.exponential(3000.0, n)
    c = rng.uniform(0, 5479.0, n)
    cause = rng.integers(1, 3, n)
    time_ = np.ceil(np.minimum(t, c))
    status = np.where(t <= c, cause, 0)
    p1 = 1 / (1 + np.exp((t - 2000) / 1500 + rng.normal(0, 1, n)))
    p2 = np.round(p1 * 4) / 4 * 0.8 + 0.1
    return {"time": time_, "status": status, "p1": p1, "p2": p2}


def run_r(d: dict[str, np.ndarray]) -> tuple[float, float, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        np.savetxt(csv, np.column_stack([d["time"], d["status"], d["p1"], d["p2"]]), delimiter=",",
                   header="time,status,p1,p2", comments="", fmt=["%.0f", "%d", "%.17g", "%.17g"])
        script = Path(tmp) / "s.R"
        script.write_text(R_SCRIPT % repr(HORIZON))
        out = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        el, auc, brier = (float(x) for x in out.stdout.split())
        return el, auc, brier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e4,1e5,1e6")
    ap.add_argument("--r-max", type=float, default=1e5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "score.md")
    args = ap.parse_args()
    sizes = [int(float(x)) for x in args.sizes.split(",")]
    started = datetime.now(timezone.utc)
    load0 = os.getloadavg()
    score(data(1000), {"a": data(1000)["p1"]}, HORIZON, "time", "status")  # warm-up
    rows = []
    for n in sizes:
        d = data(n)
        preds = {"a": d["p1"], "b": d["p2"]}
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            s = score(d, preds, HORIZON, "time", "status")
            times.append(time.perf_counter() - t0)
        mine = statistics.median(times)
        r = run_r(d) if n <= args.r_max else None
        agree = "—"
        if r is not None:
            agree = (f"AUC {abs(r[1] - s.auc['auc'].iat[0]):.1e}, "
                     f"Brier {abs(r[2] - s.brier['brier'].iat[1]):.1e}")
        rows.append((n, mine, r[0] if r else None, agree))
    lines = [
        "## `score`: IPCW AUC and Brier score for competing risks against riskRegression::Score",
        "",
        f"Written by `benchmarks/score.py` on {started:%Y-%m-%d %H:%M} UTC.",
        "",
        "Command:",
        "",
        f"    python benchmarks/score.py --sizes {args.sizes} --r-max {args.r_max:g} --rounds {args.rounds}",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), python "
        f"{platform.python_version()}, numpy {np.__version__}; load average at the start "
        f"{load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}, at the end "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + ".",
        "",
        "Data: whole-day times (ties), causes 1 and 2, horizon 5 years; two models (a continuous risk and a "
        "4-level rule), with the null model and contrasts; AUC and Brier with influence-function SEs "
        "(riskRegression's call of `melanoma_score.json`). leiosurv: median of the rounds, from the data "
        "frame to the result; R: `Score` alone (one run), same rows, same process order. Goal: "
        "leiosurv at 10^6 under 10 s.",
        "",
        "| n | leiosurv | riskRegression::Score | R / leiosurv | largest difference (model a) | goal |",
        "|---|---|---|---|---|---|",
    ]
    for n, mine, r, agree in rows:
        ratio = f"{r / mine:.1f}" if r else "not run"
        goal = ("met" if mine < 10 else "**NOT met**") if n == 10**6 else "—"
        lines.append(f"| 10^{int(round(np.log10(n)))} | {mine:.2f} s | {f'{r:.2f} s' if r else 'not run'} "
                     f"| {ratio} | {agree} | {goal} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
