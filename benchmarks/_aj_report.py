"""Render the rows of ``aj_speed.py`` as the markdown section of RESULTS.md."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from _aj_contenders import CONTENDERS

REF = "leiosurv"
FLOOR = "numpy floor"
PEERS = ("statsmodels", "sksurv", "sksurv+CI", "lifelines", "lifelines-novar")
HEADING = "## Aalen–Johansen engine: speed and memory"


def _n(n: int) -> str:
    k = int(round(np.log10(n)))
    return f"10^{k}" if 10**k == n else f"{n:,}"


def _s(x: float | None) -> str:
    if x is None:
        return "—"
    if x < 0.01:
        return f"{x * 1e3:.2f} ms"
    if x < 1:
        return f"{x * 1e3:.0f} ms"
    return f"{x:.2f} s"


def _mib(b: int | None) -> str:
    return "—" if b is None else f"{b / 2**20:,.1f} MiB"


def _index(rows):
    by = {}
    for r in rows:
        by[r.kind, r.n, r.contender] = r
    return by


def goals(rows) -> list[tuple[str, str, str]]:
    """(goal, verdict, evidence) for the four goals of the issue."""
    by = _index(rows)
    out = []
    kinds = sorted({r.kind for r in rows if "Parquet" not in r.kind})
    cells = sorted({(r.kind, r.n) for r in rows if "Parquet" not in r.kind})
    ref_ok = {(k, n): by[k, n, REF] for k, n in cells if (k, n, REF) in by and by[k, n, REF].median_s}
    if not ref_ok:
        return [("all goals", "not measured", "leiosurv.stats.cumulative_incidence was not measured in this run")]

    # 1. faster than every peer at every n
    losses = []
    for (k, n), ref in ref_ok.items():
        for p in PEERS:
            r = by.get((k, n, p))
            if r is not None and r.median_s:
                ratio = r.median_s / ref.median_s
                if ratio <= 1:
                    losses.append(f"{p} at {k} n = {_n(n)} ({ratio:.2f}×)")
    out.append((
        "faster than every peer at every n",
        "met" if not losses else "NOT met",
        "slower than: " + "; ".join(losses) if losses else "every measured peer time / leiosurv time > 1",
    ))

    # 2. >= 50x lifelines from n = 1e5
    ev, ok = [], True
    for (k, n), ref in sorted(ref_ok.items()):
        r = by.get((k, n, "lifelines"))
        if n >= 10**5 and r is not None:
            if r.median_s:
                ratio = r.median_s / ref.median_s
                ok &= ratio >= 50
                ev.append(f"{k} {_n(n)}: {ratio:,.0f}×")
            else:
                ev.append(f"{k} {_n(n)}: lifelines {r.status}")
    measured = any("×" in e for e in ev)
    out.append((
        "≥ 50× faster than lifelines from n = 10^5",
        ("met" if ok else "NOT met") if measured else "not measured",
        "; ".join(ev) or "no lifelines run at n ≥ 10^5",
    ))

    # 3. within 2x the numpy floor at 1e7
    ev, ok, any_ = [], True, False
    for k in kinds:
        ref, fl = by.get((k, 10**7, REF)), by.get((k, 10**7, FLOOR))
        if ref and fl and ref.median_s and fl.median_s:
            any_ = True
            ratio = ref.median_s / fl.median_s
            ok &= ratio <= 2
            ev.append(f"{k}: leiosurv / floor = {ratio:.2f}")
    out.append((
        "within 2× the numpy floor at n = 10^7",
        ("met" if ok else "NOT met") if any_ else "not measured",
        "; ".join(ev) or "no n = 10^7 run",
    ))

    # 4. peak memory <= 3x input columns
    ev, ok, judged = [], True, False
    for (k, n), ref in sorted(ref_ok.items()):
        ratio = ref.peak_extra / ref.input_bytes
        if n >= 10**6:
            ok &= ratio <= 3
            judged = True
        ev.append(f"{k} {_n(n)}: {ratio:.2f}")
    out.append((
        "peak memory ≤ 3× input columns (judged at n ≥ 10^6)",
        ("met" if ok else "NOT met") if judged else "not measured",
        "peak extra RSS / input bytes: " + "; ".join(ev),
    ))
    return out


def render(rows, machine: dict, command: str, wall_s: float, profile: dict | None = None) -> str:
    by = _index(rows)
    notes = {c.name: c.note for c in CONTENDERS}
    L = [HEADING, ""]
    L += [f"Written by `benchmarks/aj_speed.py` on {machine['date']} in {wall_s / 60:.1f} min.", ""]
    L += ["Command:", "", f"    {command}", ""]
    L += ["Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items() if k != "date"), ""]

    L += ["### Goals", "", "| goal | verdict | evidence |", "|---|---|---|"]
    L += [f"| {g} | **{v}** | {e} |" for g, v, e in goals(rows)]
    L += [""]

    L += ["### Method", ""]
    L += [
        "- Data (`benchmarks/_aj_data.py`): two groups (int8), event int8 (0 censored, ~10 % cause 1, ~20 % cause 2), "
        "time float64 in days over 15 years of uniform censoring; `continuous` has no ties, `days` is the same rounded "
        "up to whole days (≤ 5,479 distinct times, heavy ties). Input size = bytes of the three arrays = 10 B per row.",
        "- Every contender computes both causes' CIFs in both groups, on the same arrays, with variance where it can "
        "(see the contender list). Peers get one group at a time; the split is part of their time.",
        "- Each (contender, kind, n) runs in a fresh subprocess (`benchmarks/_aj_run.py`): warm-up on 1,000 rows "
        "(excluded), then timed runs (`perf_counter`); the median is reported (7 repeats when a run is projected under "
        "0.5 s, 5 under 3 s, 3 under 30 s, else 1).",
        "- Peak memory: the kernel's peak-RSS mark is reset (`/proc/self/clear_refs` = 5) just before the first timed "
        "run; *peak extra* = VmHWM after it − VmRSS before it, i.e. what the call allocates on top of its input "
        "(DuckDB runs in-process, so its buffers count).",
        "- The machine is shared with other work: the load averages at the start and end of the run are in the machine "
        "line. Wall time is what the goals are judged on; CPU time (all threads of the process) is shown beside it "
        "because it is less sensitive to contention.",
        "- Budget: a contender that took more than the budget (default 60 s) at one n, or whose linear projection "
        "(×1.2) exceeds the per-measurement timeout, is not run at larger n. "
        "scikit-survival's CI code allocates O(m²) for m distinct times; it is skipped when the projection exceeds "
        "60 % of available memory.",
        "- Agreement: the CIF of both causes in both groups at 1, 5 and 10 years, max |difference| against leiosurv "
        "(lifelines jitters tied times, so on `days` data it estimates something slightly different).",
        "",
        "Contenders:",
        "",
    ]
    L += [f"- **{c.name}**: {c.note}" for c in CONTENDERS if any(r.contender == c.name for r in rows)]
    L += [""]

    kinds = [k for k in dict.fromkeys(r.kind for r in rows) if "Parquet" not in k]
    for kind in kinds:
        ns = sorted({r.n for r in rows if r.kind == kind})
        names = [c.name for c in CONTENDERS if (kind, ns[0], c.name) in by]
        L += [f"### `{kind}` times: median wall time (CPU time of all threads)", ""]
        L += ["| n | distinct times (max per group) | " + " | ".join(names) + " |"]
        L += ["|---|---|" + "---|" * len(names)]
        skipped = []
        for n in ns:
            cells = []
            for name in names:
                r = by.get((kind, n, name))
                if r is None or r.median_s is None:
                    cells.append("not run" if r is None or r.status.startswith("not run") else "failed")
                    if r is not None:
                        skipped.append(f"{name} at n = {_n(n)}: {r.status}")
                else:
                    cells.append(_s(r.median_s) + ("" if r.cpu_s is None else f" ({_s(r.cpu_s)})"))
            m = next((by[kind, n, x].distinct_times for x in names if (kind, n, x) in by), None)
            L += [f"| {_n(n)} | {m:,} | " + " | ".join(cells) + " |"]
        L += [""]
        if (kind, ns[0], REF) in by:
            L += [f"Ratios, contender time / leiosurv time (> 1: leiosurv faster), `{kind}`:", ""]
            others = [x for x in names if x != REF]
            L += ["| n | " + " | ".join(others) + " |", "|---|" + "---|" * len(others)]
            for n in ns:
                ref = by.get((kind, n, REF))
                cells = []
                for name in others:
                    r = by.get((kind, n, name))
                    if ref is None or not ref.median_s or r is None or not r.median_s:
                        cells.append("—")
                    else:
                        cells.append(f"{r.median_s / ref.median_s:,.2f}")
                L += [f"| {_n(n)} | " + " | ".join(cells) + " |"]
            L += [""]
        L += [f"Peak extra memory (MiB) and as a multiple of the input columns, `{kind}`:", ""]
        L += ["| n | input | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
        for n in ns:
            cells, inp = [], None
            for name in names:
                r = by.get((kind, n, name))
                inp = inp or (r.input_bytes if r else None)
                if r is None or r.peak_extra is None:
                    cells.append("—")
                else:
                    cells.append(f"{r.peak_extra / 2**20:,.1f} ({r.peak_extra / r.input_bytes:.1f}×)")
            L += [f"| {_n(n)} | {_mib(inp)} | " + " | ".join(cells) + " |"]
        L += [""]
        diffs = [(r.contender, r.n, r.max_abs_diff) for r in rows
                 if r.kind == kind and r.max_abs_diff is not None and r.contender != REF]
        if diffs:
            worst = defaultdict(float)
            for name, _, d in diffs:
                worst[name] = max(worst[name], d)
            L += [f"Agreement, `{kind}`: max |ΔCIF| at 1/5/10 years against the reference over all n: "
                  + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()) + ".", ""]
        if skipped:
            L += ["Not run / failed:", ""] + [f"- {s}" for s in skipped] + [""]

    pq = [r for r in rows if "Parquet" in r.kind]
    if pq:
        L += [f"### {_n(pq[0].n)} rows from Parquet", ""]
        L += ["| data | n | contender | time | peak RSS of the process | peak extra | in-memory size of the columns | note |",
              "|---|---|---|---|---|---|---|---|"]
        for r in pq:
            L += [f"| {r.kind} | {_n(r.n)} | {r.contender} | {_s(r.median_s) if r.median_s else r.status} | "
                  f"{_mib(r.peak_rss)} | {_mib(r.peak_extra)} | {_mib(r.input_bytes)} | {r.note} |"]
        L += ["", "leiosurv is handed the file path (DuckDB counts in SQL; the rows are not loaded into Python), one "
              "run, no warm-up beyond imports; its peak RSS includes DuckDB's buffers. The numpy floor has to load "
              "the three columns first (its time and peak extra exclude the load). A measurement is killed above "
              "8 GiB RSS or under 3 GiB free on the shared machine.", ""]

    notes = Path(__file__).resolve().parent / "aj_speed_notes.md"
    if notes.exists():
        L += ["### Analysis (hand-written from this run's numbers: `benchmarks/aj_speed_notes.md`)", "",
              notes.read_text().strip(), ""]

    if profile:
        L += ["### Profile of leiosurv at the largest n (cProfile, cumulative)", ""]
        for kind, text in profile.items():
            L += [f"`{kind}`:", "", "```", text, "```", ""]
    return "\n".join(L).rstrip() + "\n"


def headline(rows, machine: dict) -> str:
    """A few lines for benchmarks/README.md: the largest in-memory n, Parquet, goal verdicts."""
    by = _index(rows)
    L = [f"Measured {machine.get('date', '')} on {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
         f"{machine.get('memory', '?')} (shared machine, load average {machine.get('load average at the start (1/5/15 min)', '?')} "
         "at the start); full tables in `RESULTS.md`.", ""]
    kinds = [k for k in dict.fromkeys(r.kind for r in rows) if "Parquet" not in k]
    for kind in kinds:
        n = max(r.n for r in rows if r.kind == kind)
        ref = by.get((kind, n, REF))
        parts = []
        for name in (REF, FLOOR, *PEERS):
            r = by.get((kind, n, name))
            if r is not None and r.median_s:
                parts.append(f"{name} {_s(r.median_s)}")
            elif r is not None:
                parts.append(f"{name} not run")
        mem = "" if ref is None or ref.peak_extra is None else f"; leiosurv peak extra memory {ref.peak_extra / ref.input_bytes:.1f}× the input"
        L.append(f"- `{kind}`, n = {_n(n)}: " + ", ".join(parts) + mem + ".")
    for r in rows:
        if "Parquet" in r.kind and r.contender == REF:
            if r.median_s:
                L.append(f"- {r.kind}, n = {_n(r.n)}: leiosurv {_s(r.median_s)} through DuckDB, peak RSS of the "
                         f"process {_mib(r.peak_rss)} for {_mib(r.input_bytes)} of columns.")
            else:
                L.append(f"- {r.kind}, n = {_n(r.n)}: leiosurv {r.status}.")
    L += ["", "| goal | verdict |", "|---|---|"] + [f"| {g} | **{v}** |" for g, v, _ in goals(rows)]
    return "\n".join(L)
