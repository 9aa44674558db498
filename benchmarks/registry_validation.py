"""The import's reading and validation of every cell, before and after the values module (issue 20, item 4).

    python benchmarks/registry_validation.py --n 100000 --src before=/path/to/old/src --src after=src
    python benchmarks/collect.py

Measured, never asserted.  The same synthetic CSVs (``registry_scale._csvs``:
patients, tumours, events, encounters of ``--n`` patients) are read and
validated (``leiosurv.registry._import._read`` and ``_check``: every cell
converted and checked; nothing written) by each source tree given, each in its
own fresh subprocess, in rounds that alternate the trees; the median of the
rounds per tree.  The ratio is of medians from the same run, so the shared
machine's load falls on both alike.

Writes ``results/registry_validation.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = """
import json, sys, time
from pathlib import Path
from leiosurv.registry import _import as I
paths = [Path(p) for p in sys.argv[1:]]
t0 = time.perf_counter()
issues, shared, n = [], {}, 0
for p in paths:
    for k, frames in I._read(p, None).items():
        n += len(I._check(k, frames, issues, shared))
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": n, "issues": len(issues)}))
"""


def _one(src: Path, files: list[Path]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    out = subprocess.run([sys.executable, "-c", _CHILD, *map(str, files)], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e5, help="patients in the CSVs")
    ap.add_argument("--src", action="append", required=True, metavar="LABEL=PATH",
                    help="a source tree (the directory holding leiosurv/) to measure; give two to compare")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from registry_scale import _csvs

    trees = dict(s.split("=", 1) for s in a.src)
    started = time.time()
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        counts = _csvs(int(a.n), a.seed, out, dt.date.today())
        files = sorted(out.glob("*.csv"))
        times: dict[str, list[float]] = {k: [] for k in trees}
        rows: dict[str, int] = {}
        for r in range(a.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for label in order:
                res = _one(Path(trees[label]), files)
                if res["issues"]:
                    raise SystemExit(f"{label}: {res['issues']} validation problems in the synthetic CSVs")
                times[label].append(res["seconds"])
                rows[label] = res["rows"]
    med = {k: statistics.median(v) for k, v in times.items()}
    labels = list(trees)
    lines = [
        "## Registry import: reading and validating every cell (`registry_validation.py`)", "",
        f"Written by `benchmarks/registry_validation.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC "
        f"in {(time.time() - started) / 60:.1f} min.", "", "Command:", "",
        "    python benchmarks/registry_validation.py " + " ".join(sys.argv[1:]), "",
        f"Machine: cores {os.cpu_count()}, python {platform.python_version()}, load average at the end "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}.", "",
        f"CSVs of {int(a.n):,} patients: {', '.join(f'{v:,} {k}' for k, v in counts.items())}; "
        f"{a.rounds} rounds, trees alternated; nothing is written to a database.", "",
        "| tree | rows validated | median s | rounds (s) | rows/s |", "|---|---|---|---|---|",
    ]
    for k in labels:
        lines.append(f"| {k} | {rows[k]:,} | {med[k]:.2f} | {', '.join(f'{x:.2f}' for x in times[k])} | "
                     f"{rows[k] / med[k]:,.0f} |")
    if len(labels) == 2:
        lines += ["", f"Ratio {labels[1]} / {labels[0]}: **{med[labels[1]] / med[labels[0]]:.2f}**."]
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "registry_validation.md").write_text("\n".join(lines) + "\n")
    (HERE / "results" / "registry_validation.json").write_text(json.dumps(
        {"n": int(a.n), "counts": counts, "times": times, "rows": rows}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
