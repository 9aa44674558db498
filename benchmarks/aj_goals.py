"""The goals of issue 14, measured: leiosurv against statsmodels and the bare floors.

For continuous times and whole-day times, at two event mixes (30 % and 60 %
of rows with an event), with the input as users pass it — a pandas DataFrame
(float64 time, int64 codes, as read from a CSV), a dict of numpy arrays
(float64, int8, int8) and a Parquet file path — every cell (kind, mix, input,
n) runs in a fresh subprocess (``_aj_goals_run.py``) in which leiosurv,
statsmodels' ``CumIncidenceRight`` and the floor run interleaved, round after
round, so that the shared machine's load falls on all of them alike.  The
floors are the issue's: for continuous times one stable argsort of the time
column, a gather and three cumulative sums; for whole days one bincount of
the (group, event, day) cells.  Converting the input to arrays is part of
everyone's timed work (a peer reads the Parquet file with pyarrow; leiosurv
is handed the path).

Also: leiosurv's peak memory (its own subprocess, n >= 10^6), 10^8 continuous
rows from Parquet, and the import time of ``leiosurv.stats`` and of
``leiosurv --help``.

Writes ``benchmarks/results/aj_goals.md`` (+ ``.json``); ``collect.py``
assembles RESULTS.md.

    python benchmarks/aj_goals.py                                  # the full run (~30 min)
    python benchmarks/aj_goals.py --max-n 1e5 --parquet-n 0 --out benchmarks/data/goals_quick.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _aj_data import write_parquet  # noqa: E402
from aj_speed import _run_child, machine  # noqa: E402

DATA = HERE / "data"
RESULTS = HERE / "results"
FLOOR = {"continuous": "argsort floor", "days": "bincount floor"}
FORMS = ("dataframe", "dict", "parquet")
NOTES = HERE / "aj_goals_notes.md"


def _rounds(n: int) -> int:
    return 15 if n <= 10**5 else 7 if n <= 10**6 else 3


def _parquet(kind: str, events: float, n: int) -> Path:
    path = DATA / f"goals_{kind}_{int(events * 100)}_{n}.parquet"
    if not path.exists():
        write_parquet(path, n, kind, events=events)
    return path


def _cell(kind: str, events: float, n: int, form: str, *, memory: bool, timeout: float,
          contenders: list[str] | None = None, rounds: int | None = None) -> tuple[dict[str, Any] | None, str]:
    args = ["--kind", kind, "--events", str(events), "--n", str(n), "--form", form]
    if form == "parquet":
        args += ["--parquet", str(_parquet(kind, events, n)), "--warm-parquet", str(_parquet(kind, events, 1000))]
    if memory:
        args += ["--memory"]
    else:
        args += ["--rounds", str(rounds or _rounds(n)), "--contenders",
                 *(contenders or ["leiosurv", "statsmodels", FLOOR[kind]])]
    return _run_child(args, timeout, script="_aj_goals_run.py")


def measure_imports(repeats: int = 7) -> dict[str, Any]:
    """Wall time of fresh interpreters: bare, ``import leiosurv.stats``, ``leiosurv --help``."""
    py = sys.executable
    cli = str(Path(py).with_name("leiosurv"))

    def wall(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        return time.perf_counter() - t0

    def importtime() -> float:
        p = subprocess.run([py, "-X", "importtime", "-c", "import leiosurv.stats"], capture_output=True, text=True)
        line = [ln for ln in p.stderr.splitlines() if ln.rstrip().endswith("| leiosurv.stats")][-1]
        return int(line.split("|")[1]) / 1e6

    out: dict[str, list[float]] = {"python -c pass": [], "python -c 'import leiosurv.stats'": [],
                                   "import leiosurv.stats (-X importtime, cumulative)": [], "leiosurv --help": []}
    for _ in range(repeats):
        out["python -c pass"].append(wall([py, "-c", "pass"]))
        out["python -c 'import leiosurv.stats'"].append(wall([py, "-c", "import leiosurv.stats"]))
        out["import leiosurv.stats (-X importtime, cumulative)"].append(importtime())
        out["leiosurv --help"].append(wall([cli, "--help"]))
    loaded = subprocess.run(
        [py, "-c", "import sys, leiosurv.stats; print(' '.join(m for m in ('pandas', 'scipy', 'matplotlib', "
                   "'duckdb', 'narwhals', 'pyarrow', 'polars') if m in sys.modules))"],
        capture_output=True, text=True).stdout.strip()
    help_mods = subprocess.run(
        [py, "-X", "importtime", "-c", "import leiosurv.interfaces.cli"], capture_output=True, text=True).stderr
    # the direct imports of leiosurv.interfaces.cli (one level of indentation under it)
    top = sorted(((int(ln.split("|")[1]), ln.split("|")[2].strip()) for ln in help_mods.splitlines()
                  if ln.startswith("import time:") and ln.split("|")[1].strip().isdigit()
                  and ln.split("|")[2].startswith("   ") and not ln.split("|")[2].startswith("     ")),
                 reverse=True)[:6]
    return {"median_s": {k: statistics.median(v) for k, v in out.items()}, "runs_s": out,
            "heavy_modules_after_import": loaded or "none", "cli_top_imports": top}


def run(ns: list[int], kinds: list[str], mixes: list[float], forms: list[str], *, parquet_n: int,
        timeout: float, memory_from: int, log: Any = print) -> dict[str, Any]:
    DATA.mkdir(parents=True, exist_ok=True)
    cells: list[dict[str, Any]] = []
    for kind in kinds:
        for events in mixes:
            for form in forms:
                for n in ns:
                    res, status = _cell(kind, events, n, form, memory=False, timeout=timeout)
                    cell: dict[str, Any] = {"kind": kind, "events": events, "form": form, "n": n, "status": status}
                    if res is not None:
                        cell.update(median=res["median"], times=res["times"], cif=res["cif"],
                                    input_bytes=res["input_bytes"])
                    if n >= memory_from:
                        mres, mstatus = _cell(kind, events, n, form, memory=True, timeout=timeout)
                        cell["memory"] = mres if mres is not None else {"status": mstatus}
                    cells.append(cell)
                    med = cell.get("median", {})
                    log(f"{kind:10s} {events:.0%} {form:9s} n={n:>9d} {status:3s} "
                        + "  ".join(f"{k} {v * 1e3:9.2f} ms" for k, v in med.items())
                        + (f"  peak +{cell['memory'].get('peak_extra', 0) / 2**20:.0f} MiB" if "memory" in cell else ""))
    big: list[dict[str, Any]] = []
    if parquet_n:
        for events in sorted(mixes):
            kind = "continuous"
            t0 = time.perf_counter()
            path = _parquet(kind, events, parquet_n)
            log(f"Parquet {path.name}: {path.stat().st_size / 2**20:.0f} MiB ({time.perf_counter() - t0:.0f} s to write)")
            mres, mstatus = _cell(kind, events, parquet_n, "parquet", memory=True, timeout=timeout)
            fres, fstatus = _cell(kind, events, parquet_n, "parquet", memory=False, timeout=timeout,
                                  contenders=[FLOOR[kind]], rounds=1)
            big.append({"kind": kind, "events": events, "n": parquet_n, "file_mib": path.stat().st_size / 2**20,
                        "leiosurv": mres if mres is not None else {"status": mstatus},
                        "floor": fres["median"][FLOOR[kind]] if fres else None, "floor_status": fstatus})
            log(f"10^8 {events:.0%}: leiosurv {mstatus} {mres}  floor {fstatus}")
            break  # one mix at 10^8: the 30 % one (the data of the original 10^8 failure)
    return {"cells": cells, "big": big}


def _carried_big(path: Path) -> list[dict[str, Any]]:
    """The 10^8 entries of an earlier run, each marked with where it comes from."""
    prev = json.loads(Path(path).read_text())
    origin = {"command": prev["command"], "date": prev["machine"].get("date", "?"),
              "commit": prev["machine"].get("git commit", "?")}
    return [dict(b, carried_from=b.get("carried_from", origin)) for b in prev.get("big", [])]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--min-n", type=lambda s: int(float(s)), default=1000)
    p.add_argument("--max-n", type=lambda s: int(float(s)), default=10**7)
    p.add_argument("--kinds", nargs="+", default=["continuous", "days"])
    p.add_argument("--events", nargs="+", type=float, default=[0.3, 0.6])
    p.add_argument("--forms", nargs="+", default=list(FORMS), choices=FORMS)
    p.add_argument("--parquet-n", type=lambda s: int(float(s)), default=10**8, help="0 to skip")
    p.add_argument("--memory-from", type=lambda s: int(float(s)), default=10**6)
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--out", type=Path, default=RESULTS / "aj_goals.md")
    p.add_argument("--render-only", action="store_true", help="re-render the markdown from the JSON next to --out")
    p.add_argument("--keep-big-from", type=Path,
                   help="with --parquet-n 0: carry the 10^8 Parquet result over from this earlier run's JSON "
                        "(marked as carried over, with that run's date and commit, in the report)")
    p.add_argument("--imports-only", action="store_true",
                   help="re-measure only the import times into the JSON next to --out (e.g. on a quieter "
                        "machine), recording the command, then re-render")
    a = p.parse_args(argv)
    from _aj_goals_report import render

    if a.imports_only:
        saved = json.loads(a.out.with_suffix(".json").read_text())
        saved["imports"] = measure_imports()
        saved["imports"]["command"] = "python benchmarks/aj_goals.py --imports-only " + " ".join(
            shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]) if x != "--imports-only")
        saved["imports"]["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        a.out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
        a.out.write_text(render(saved, NOTES))
        print("imports:", {k: round(v, 3) for k, v in saved["imports"]["median_s"].items()})
        return
    if a.render_only:
        saved = json.loads(a.out.with_suffix(".json").read_text())
        if a.keep_big_from:
            saved["big"] = _carried_big(a.keep_big_from)
            a.out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
        a.out.write_text(render(saved, NOTES))
        print(f"re-rendered {a.out}")
        return
    ns = [10**k for k in range(len(str(a.min_n)) - 1, len(str(a.max_n)))]
    command = "python benchmarks/aj_goals.py " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    load_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    t0 = time.perf_counter()
    imports = measure_imports()
    print("imports:", {k: round(v, 3) for k, v in imports["median_s"].items()}, imports["heavy_modules_after_import"])
    mixes = sorted(a.events)
    res = run(ns, a.kinds, mixes, a.forms, parquet_n=a.parquet_n, timeout=a.timeout, memory_from=a.memory_from)
    mach = machine()
    mach["load average at the start (1/5/15 min)"] = load_start
    saved = {"command": command, "machine": mach, "wall_s": time.perf_counter() - t0, "imports": imports, **res}
    if not a.parquet_n and a.keep_big_from:
        saved["big"] = _carried_big(a.keep_big_from)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
    a.out.write_text(render(saved, NOTES))
    print(f"wrote {a.out} ({saved['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
