"""Speed and memory of the Aalen–Johansen engine against its Python peers.

Generates the data (``_aj_data.py``: continuous times and integer-day times
with heavy ties; two groups; about 10 % cause 1 and 20 % cause 2), then times,
on identical arrays and each in a fresh subprocess (``_aj_run.py``):
leiosurv's ``cumulative_incidence`` (with variance), lifelines'
``AalenJohansenFitter``, scikit-survival's
``cumulative_incidence_competing_risks`` (with and without ``conf_type``),
statsmodels' ``CumIncidenceRight`` and a bare numpy floor (argsort + cumsums).
At 10^8 rows, leiosurv reads a Parquet file through DuckDB.

Writes its section to ``benchmarks/results/aj_speed.md`` (raw numbers in
``aj_speed.json`` next to it); ``benchmarks/collect.py`` assembles RESULTS.md.

    python benchmarks/aj_speed.py                       # 10^3 .. 10^7, 10^8 Parquet
    python benchmarks/aj_speed.py --max-n 1e6 --parquet-n 0
    python benchmarks/aj_speed.py --quick               # smoke run, n = 10^3, 10^4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _aj_contenders import CONTENDERS, by_name  # noqa: E402
from _aj_data import KINDS, generate, input_bytes, write_parquet  # noqa: E402

DATA = HERE / "data"
RESULTS = HERE / "results"
HORIZONS = (365.25, 1826.25, 3652.5)  # 1, 5, 10 years in days
REFERENCE = "leiosurv"
# bytes per (distinct time)^2 of scikit-survival's CI code before any run calibrates it:
# irt and irt**2 (2 causes each) and the mask, float64 -> (2*2 + 1) * 8 = 40, plus slack
SKSURV_CI_BYTES_PER_M2 = 48.0
MIN_AVAILABLE = 3 * 2**30  # kill a measurement when the shared machine has less than this left
MAX_CHILD_RSS = 8 * 2**30  # ... or when it holds more than this (a third of the machine)


@dataclass
class Row:
    contender: str
    kind: str
    n: int
    status: str  # "ok", "not run: ...", "failed: ..."
    input_bytes: int = 0
    median_s: float | None = None
    cpu_s: float | None = None
    times_s: list = field(default_factory=list)
    peak_extra: int | None = None
    peak_rss: int | None = None
    distinct_times: int | None = None
    max_abs_diff: float | None = None
    cif: list | None = None
    note: str = ""


# -- measuring ------------------------------------------------------------------
def _run_child(args: list[str], timeout: float, script: str = "_aj_run.py") -> tuple[dict | None, str]:
    """Run ``_aj_run.py`` with ``args``; kill it on timeout or when the machine runs low on memory.

    The machine is shared, so a child is killed when its RSS exceeds
    ``MAX_CHILD_RSS`` or MemAvailable drops under ``MIN_AVAILABLE`` (its RSS at
    that moment is reported).
    """
    cmd = [sys.executable, str(HERE / script), *args]
    t0 = time.perf_counter()
    out_f, err_f = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    with out_f, err_f, subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True, cwd=HERE.parent) as p:
        killed = None
        while p.poll() is None:
            try:
                p.wait(0.25)
                break
            except subprocess.TimeoutExpired:
                pass
            elapsed = time.perf_counter() - t0
            if elapsed > timeout:
                killed = f"not run to the end: killed after the {timeout:.0f} s timeout"
            elif _mem_available() < MIN_AVAILABLE or _child_rss(p.pid) > MAX_CHILD_RSS:
                killed = (f"not run to the end: killed after {elapsed:.0f} s at {_child_rss(p.pid) / 2**30:.1f} GiB "
                          f"RSS (limits: {MAX_CHILD_RSS / 2**30:.0f} GiB per measurement, "
                          f"{MIN_AVAILABLE / 2**30:.0f} GiB left on the shared machine)")
            if killed:
                p.kill()
                p.wait()
                return None, killed
        p.wait()
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:]), "ok"
    tail = (stderr.strip().splitlines() or ["no output"])[-1]
    return None, f"failed: {tail[:200]}"


def _child_rss(pid: int) -> int:
    try:
        return int(re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1)) * 1024
    except (OSError, AttributeError):
        return 0


def _repeats(projected_s: float, quick: bool) -> int:
    if quick:
        return 1
    if projected_s < 0.5:
        return 7
    if projected_s < 3:
        return 5
    if projected_s < 30:
        return 3
    return 1


def _mem_available() -> int:
    text = Path("/proc/meminfo").read_text()
    return int(re.search(r"MemAvailable:\s+(\d+) kB", text).group(1)) * 1024


def _max_distinct(d: dict[str, np.ndarray]) -> int:
    return max(np.unique(d["time"][d["group"] == g]).size for g in (0, 1))


def _save(d: dict[str, np.ndarray], prefix: Path) -> None:
    for k, v in d.items():
        f = Path(f"{prefix}_{k}.npy")
        if not f.exists():
            np.save(f, v)


def run_benchmark(
    ns: list[int],
    kinds: list[str],
    contenders: list[str],
    *,
    budget_s: float = 60.0,
    timeout_s: float = 600.0,
    quick: bool = False,
    log=print,
) -> list[Row]:
    """Time every contender on every (kind, n); return one ``Row`` each."""
    DATA.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    horizons = [str(h) for h in HORIZONS]
    for kind in kinds:
        last: dict[str, tuple[int, float]] = {}  # contender -> (n, median seconds)
        blocked: dict[str, str] = {}
        sk_coef = SKSURV_CI_BYTES_PER_M2
        for n in ns:
            d = generate(n, kind)
            prefix = DATA / f"aj_{kind}_{n}"
            _save(d, prefix)
            nbytes = input_bytes(d)
            m = _max_distinct(d)
            del d
            for name in contenders:
                prev = last.get(name)
                projected = 0.0 if prev is None else prev[1] * n / prev[0] * 1.2
                row = Row(name, kind, n, "ok", nbytes, distinct_times=m)
                if name in blocked:
                    row.status = blocked[name]
                elif name == "sksurv+CI" and sk_coef * m * m > 0.6 * _mem_available():
                    row.status = (
                        f"not run: projected memory {sk_coef * m * m / 2**30:.0f} GiB "
                        f"({m} distinct times in a group, ~{sk_coef:.0f} B per time^2)"
                    )
                elif prev is not None and (prev[1] > budget_s or projected > timeout_s):
                    row.status = f"not run: projected {projected:.0f} s (took {prev[1]:.0f} s at n = {prev[0]:.0e})"
                    blocked[name] = "not run: over the time budget at a smaller n"
                if row.status != "ok":
                    log(f"{kind:10s} n={n:>9d} {name:16s} {row.status}")
                    rows.append(row)
                    continue
                args = ["--contender", name, "--data", str(prefix),
                        "--repeats", str(_repeats(projected, quick)), "--horizons", *horizons]
                res, status = _run_child(args, timeout_s)
                row.status = status
                if res is not None:
                    row.median_s = res["median"]
                    row.cpu_s = res["cpu_median"]
                    row.times_s = res["times"]
                    row.peak_extra = res["peak_extra"]
                    row.peak_rss = res["peak_rss"]
                    row.cif = res.get("cif")
                    last[name] = (n, res["median"])
                    if name == "sksurv+CI" and m > 500:
                        sk_coef = max(sk_coef, res["peak_extra"] / (m * m))
                else:
                    blocked[name] = "not run: failed or timed out at a smaller n"
                log(f"{kind:10s} n={n:>9d} {name:16s} {row.status:4s} "
                    + ("" if row.median_s is None else f"{row.median_s:10.4f} s  peak +{row.peak_extra / 2**20:8.1f} MiB"))
                rows.append(row)
    _agreement(rows)
    return rows


def _agreement(rows: list[Row]) -> None:
    """Max |CIF difference| at the horizons against the reference contender."""
    ref = {(r.kind, r.n): r.cif for r in rows if r.contender == REFERENCE and r.cif is not None}
    if not ref:  # leiosurv not measured: compare with statsmodels instead
        ref = {(r.kind, r.n): r.cif for r in rows if r.contender == "statsmodels" and r.cif is not None}
    for r in rows:
        base = ref.get((r.kind, r.n))
        if r.cif is not None and base is not None:
            r.max_abs_diff = float(np.max(np.abs(np.asarray(r.cif) - np.asarray(base))))


def run_parquet(n: int, kinds: list[str], *, timeout_s: float, log=print) -> list[Row]:
    """leiosurv on a Parquet file of ``n`` rows through DuckDB, and the numpy floor."""
    rows = []
    for kind in kinds:
        path = DATA / f"aj_{kind}_{n}.parquet"
        if not path.exists():
            free = os.statvfs(DATA).f_bavail * os.statvfs(DATA).f_frsize
            need = n * 10 * 2
            if free < need:
                rows.append(Row("leiosurv", kind, n, f"not run: {free / 2**30:.1f} GiB free disk < {need / 2**30:.1f} GiB"))
                continue
            t0 = time.perf_counter()
            write_parquet(path, n, kind)
            log(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.0f} s")
        for name in ("leiosurv", "numpy floor"):
            row = Row(name, f"{kind} (Parquet)", n, "ok", n * 10,
                      note=f"file {path.name}: {path.stat().st_size / 2**20:.0f} MiB on disk")
            if name == "numpy floor" and n * 10 * 6 > 0.7 * _mem_available():
                row.status = f"not run: needs ~{n * 60 / 2**30:.0f} GiB in memory"
                rows.append(row)
                continue
            args = ["--contender", name, "--parquet", str(path), "--repeats", "1",
                    "--horizons", *[str(h) for h in HORIZONS]]
            res, status = _run_child(args, timeout_s)
            row.status = status
            if res is not None:
                row.median_s, row.times_s, row.cpu_s = res["median"], res["times"], res["cpu_median"]
                row.peak_extra, row.peak_rss = res["peak_extra"], res["peak_rss"]
                row.cif = res.get("cif")
            log(f"{row.kind:20s} n={n:>10d} {name:12s} {status} "
                + ("" if row.median_s is None else f"{row.median_s:.2f} s  peak RSS {row.peak_rss / 2**20:.0f} MiB"))
            rows.append(row)
    return rows


def profile_leiosurv(n: int, kind: str, top: int = 15) -> str:
    """cProfile top entries (cumulative time) of leiosurv at ``n`` rows."""
    prefix = DATA / f"aj_{kind}_{n}"
    code = (
        "import sys, cProfile, pstats, io, numpy as np; sys.path.insert(0, %r)\n"
        "from _aj_contenders import by_name\n"
        "c = by_name('leiosurv'); p = %r\n"
        "t, e, g = (np.load(f'{p}_{k}.npy') for k in ('time', 'event', 'group'))\n"
        "c.run(t[:1000], e[:1000], g[:1000])\n"
        "pr = cProfile.Profile(); pr.enable(); c.run(t, e, g); pr.disable()\n"
        "s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats('cumulative').print_stats(%d)\n"
        "print(s.getvalue())\n"
    ) % (str(HERE), str(prefix), top)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE.parent)
    out = p.stdout if p.returncode == 0 else p.stderr
    lines = [ln for ln in out.splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
    return "\n".join(lines[max(0, start - 2): start + top + 1])


# -- machine --------------------------------------------------------------------
def machine() -> dict[str, str]:
    def version(mod: str) -> str:
        try:
            return __import__(mod).__version__
        except Exception as exc:  # noqa: BLE001 - a missing peer is reported, not fatal
            return f"not importable ({type(exc).__name__})"

    cpu = "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = re.search(r"Model name:\s+(.*)", lscpu).group(1).strip()
    except Exception:  # noqa: BLE001
        pass
    mem = int(re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text()).group(1)) * 1024
    commit = os.environ.get("LEIOSURV_BENCH_COMMIT") or subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{mem / 2**30:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        **{m: version(m) for m in ("leiosurv", "numpy", "pandas", "duckdb", "pyarrow", "lifelines", "sksurv", "statsmodels")},
        "git commit": commit,
        "load average at the end (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


# -- main -----------------------------------------------------------------------
def _parse_n(s: str) -> int:
    return int(float(s))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--min-n", type=_parse_n, default=1000)
    p.add_argument("--max-n", type=_parse_n, default=10**7)
    p.add_argument("--parquet-n", type=_parse_n, default=10**8, help="0 to skip the Parquet run")
    p.add_argument("--parquet-kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--contenders", nargs="+", default=[c.name for c in CONTENDERS])
    p.add_argument("--budget", type=float, default=60.0, help="skip a contender at the next n when it took longer (s)")
    p.add_argument("--timeout", type=float, default=600.0, help="kill a single measurement after this (s)")
    p.add_argument("--profile", action="store_true", help="append a cProfile of leiosurv at the largest n")
    p.add_argument("--quick", action="store_true", help="smoke run: n = 10^3, 10^4, one repeat, no Parquet")
    p.add_argument("--out", type=Path, default=None, help="markdown section (default results/aj_speed.md)")
    p.add_argument("--render-only", action="store_true",
                   help="re-render the markdown (and README headline) from the JSON next to --out, measuring nothing")
    a = p.parse_args(argv)
    if a.render_only:
        _render_only(a.out or RESULTS / "aj_speed.md")
        return
    for name in a.contenders:
        by_name(name)
    if a.quick:
        a.min_n, a.max_n, a.parquet_n = 1000, 10_000, 0
        a.out = a.out or DATA / "aj_speed_quick.md"
    out = a.out or RESULTS / "aj_speed.md"
    ns = [10**k for k in range(len(str(a.min_n)) - 1, len(str(a.max_n)))]
    command = "python benchmarks/aj_speed.py " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))

    t0 = time.perf_counter()
    load_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = run_benchmark(ns, a.kinds, a.contenders, budget_s=a.budget, timeout_s=a.timeout, quick=a.quick)
    if a.parquet_n:
        rows += run_parquet(a.parquet_n, a.parquet_kinds, timeout_s=a.timeout)
    profile = None
    if a.profile and REFERENCE in a.contenders:
        profile = {kind: profile_leiosurv(ns[-1], kind) for kind in a.kinds}
    wall = time.perf_counter() - t0

    from _aj_report import headline, render

    mach = machine()
    mach["load average at the start (1/5/15 min)"] = load_start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(rows, mach, command, wall, profile))
    out.with_suffix(".json").write_text(
        json.dumps({"machine": mach, "command": command, "wall_s": wall, "profile": profile,
                    "rows": [asdict(r) for r in rows]}, indent=1)
    )
    print(f"wrote {out} ({wall:.0f} s)")
    if out == RESULTS / "aj_speed.md":
        _update_readme(headline(rows, mach))


def _render_only(out: Path) -> None:
    """Rewrite ``out`` from its JSON (e.g. after editing ``aj_speed_notes.md``)."""
    from _aj_report import headline, render

    saved = json.loads(out.with_suffix(".json").read_text())
    rows = [Row(**r) for r in saved["rows"]]
    mach = saved["machine"]
    wall = saved.get("wall_s", 0.0)
    text = render(rows, mach, saved["command"], wall, saved.get("profile"))
    head = "### Profile of leiosurv at the largest n"
    old = out.read_text() if out.exists() else ""
    if saved.get("profile") is None and head in old:  # JSON from before profiles were saved: keep the old section
        text = text.rstrip() + "\n\n" + old[old.index(head):]
    out.write_text(text)
    print(f"re-rendered {out}")
    if out == RESULTS / "aj_speed.md":
        _update_readme(headline(rows, mach))


def _update_readme(text: str) -> None:
    """Replace the headline block of benchmarks/README.md (between its markers)."""
    readme = HERE / "README.md"
    start, end = "<!-- aj_speed headline: written by aj_speed.py -->", "<!-- /aj_speed headline -->"
    body = readme.read_text()
    if start in body and end in body:
        head, rest = body.split(start, 1)
        tail = rest.split(end, 1)[1]
        readme.write_text(f"{head}{start}\n{text}\n{end}{tail}")


if __name__ == "__main__":
    main()
