"""Render the JSON of ``aj_goals.py`` as the markdown section of RESULTS.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

HEADING = "## Issue 14 goals: leiosurv against statsmodels and the bare floors"
FLOOR = {"continuous": "argsort floor", "days": "bincount floor"}
FORM_NAME = {"dataframe": "DataFrame", "dict": "dict of arrays", "parquet": "Parquet"}


def _n(n: int) -> str:
    k = int(round(np.log10(n)))
    return f"10^{k}" if 10**k == n else f"{n:,}"


def _t(x: float | None) -> str:
    if x is None:
        return "—"
    if x < 0.01:
        return f"{x * 1e3:.2f} ms"
    if x < 1:
        return f"{x * 1e3:.1f} ms"
    return f"{x:.2f} s"


def _r(x: float | None) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.2f}"


def _ratios(c: dict[str, Any]) -> tuple[float | None, float | None]:
    m = c.get("median")
    if not m:
        return None, None
    ls = m.get("leiosurv")
    sm = m.get("statsmodels")
    fl = m.get(FLOOR[c["kind"]])
    return (sm / ls if ls and sm else None), (ls / fl if ls and fl else None)


def goals(saved: dict[str, Any]) -> list[tuple[str, str, str]]:
    cells = saved["cells"]
    out = []

    def judge(name: str, rows: list[tuple[str, float | None]], ok: Any, fmt: str) -> None:
        bad = [(lab, v) for lab, v in rows if v is None or not ok(v)]
        worst = [v for _, v in rows if v is not None]
        ev = (f"{len(rows) - len(bad)} of {len(rows)} cells; " if rows else "no cells; ")
        if worst:
            ev += f"range {min(worst):{fmt}}–{max(worst):{fmt}}"
        if bad:
            ev += "; not met at: " + "; ".join(f"{lab} ({'—' if v is None else format(v, fmt)})" for lab, v in bad[:12])
            if len(bad) > 12:
                ev += f"; ... ({len(bad) - 12} more)"
        out.append((name, "**met**" if rows and not bad else "**NOT met**", ev))

    def label(c: dict[str, Any]) -> str:
        return f"{c['kind']} {c['events']:.0%} {FORM_NAME[c['form']]} {_n(c['n'])}"

    cont = [c for c in cells if c["kind"] == "continuous"]
    days = [c for c in cells if c["kind"] == "days"]
    judge("continuous, n = 10^4..10^7: ≥ 1.3× faster than statsmodels (statsmodels / leiosurv)",
          [(label(c), _ratios(c)[0]) for c in cont if 10**4 <= c["n"] <= 10**7], lambda v: v >= 1.3, ".2f")
    judge("continuous, n = 10^4..10^7: within 1.3× of the argsort floor (leiosurv / floor)",
          [(label(c), _ratios(c)[1]) for c in cont if 10**4 <= c["n"] <= 10**7], lambda v: v <= 1.3, ".2f")
    judge("whole days, n = 10^4..10^7: within 1.5× of a bincount (leiosurv / floor)",
          [(label(c), _ratios(c)[1]) for c in days if 10**4 <= c["n"] <= 10**7], lambda v: v <= 1.5, ".2f")
    judge("n = 10^3: not slower than statsmodels (statsmodels / leiosurv ≥ 1)",
          [(label(c), _ratios(c)[0]) for c in cells if c["n"] == 10**3], lambda v: v >= 1.0, ".2f")
    mem = [(label(c), c["memory"]["peak_extra"] / c["input_bytes"]) for c in cont
           if "memory" in c and "peak_extra" in c["memory"] and c.get("input_bytes")]
    judge("continuous, n ≥ 10^6: peak memory ≤ 4× the input columns (peak extra RSS / input bytes)",
          mem, lambda v: v <= 4.0, ".2f")
    for b in saved.get("big", []):
        lm = b["leiosurv"]
        ok = "peak_extra" in lm
        out.append((f"{_n(b['n'])} continuous rows ({b['events']:.0%} events) from Parquet complete",
                    "**met**" if ok else "**NOT met**",
                    (f"{_t(lm['wall'])}, peak RSS {lm['peak_rss'] / 2**30:.2f} GiB" if ok else lm.get("status", "?"))
                    + _carried(b)))
    imp = saved["imports"]["median_s"]
    t_imp = imp["import leiosurv.stats (-X importtime, cumulative)"]
    out.append(("`import leiosurv.stats` < 0.5 s", "**met**" if t_imp < 0.5 else "**NOT met**",
                f"{t_imp:.3f} s (-X importtime, cumulative); a fresh `python -c 'import leiosurv.stats'` "
                f"takes {imp[chr(112) + 'ython -c ' + chr(39) + 'import leiosurv.stats' + chr(39)]:.3f} s against "
                f"{imp['python -c pass']:.3f} s for `python -c pass`; loaded with it: "
                f"{saved['imports']['heavy_modules_after_import']}"))
    t_help = imp["leiosurv --help"]
    out.append(("`leiosurv --help` < 0.3 s", "**met**" if t_help < 0.3 else "**NOT met**",
                f"{t_help:.3f} s wall for the console script (interpreter start included)"))
    return out


def _carried(b: dict[str, Any]) -> str:
    c = b.get("carried_from")
    if not c:
        return ""
    return f" (carried over from the run of {c['date']} at commit {c['commit']}: `{c['command']}`)"


def render(saved: dict[str, Any], notes: Path | None = None) -> str:
    mach = saved["machine"]
    L = [HEADING, "",
         f"Written by `benchmarks/aj_goals.py` on {mach.get('date', '?')} in {saved['wall_s'] / 60:.1f} min.", "",
         "Command:", "", f"    {saved['command']}", "",
         "Machine: " + ", ".join(f"{k} {v}" for k, v in mach.items() if k != "date"), "",
         "### Goals", "", "| goal | verdict | evidence |", "|---|---|---|"]
    for name, verdict, ev in goals(saved):
        L.append(f"| {name} | {verdict} | {ev} |")
    L += ["", "### Method", "",
          "- Data (`benchmarks/_aj_data.py`): two groups, causes 1 and 2, exponential event times under uniform "
          "censoring over 15 years, in days; the event share is 30 % or 60 % of rows (the scale of the event "
          "time is solved for it). `continuous`: no ties; `days`: rounded up to whole days (≤ 5,479 distinct times).",
          "- Inputs as users pass them: a pandas DataFrame (float64 time, int64 event and group, as read from a "
          "CSV: 24 B per row), a dict of numpy arrays (float64, int8, int8: 10 B per row), a Parquet file "
          "(zstd; float64, int8, int8). Peers and floors convert to arrays as part of their timed work "
          "(`df[c].to_numpy()`, `pyarrow.parquet.read_table`); leiosurv is handed the DataFrame, dict or path.",
          "- Contenders, each both causes in both groups: leiosurv `cumulative_incidence(data, group='group')` "
          "(delta-method variance, plain CI); statsmodels `CumIncidenceRight` per group (CIF + SE); the argsort "
          "floor (`np.argsort(time, kind='stable')`, gather of event and group, three cumsums); the bincount "
          "floor (`np.bincount` of `time + span * (3 * group + event)`). The floors compute no estimate.",
          "- One fresh subprocess per cell (`benchmarks/_aj_goals_run.py`): a warm-up call of every contender "
          "on 1,000 rows of the same form, then rounds in which every contender runs once (order rotated each "
          "round); median per contender; 15 rounds up to 10^5, 7 at 10^6, 3 at 10^7. Ratios are of medians "
          "from the same process, so the shared machine's load falls on all contenders alike.",
          "- Memory: leiosurv alone in another subprocess; freed heap memory is returned to the OS "
          "(`malloc_trim`) before the call, then peak extra = VmHWM after the call (reset through "
          "`/proc/self/clear_refs`) − RSS before it, against the input's bytes as given.",
          "- Imports: median of 7 fresh interpreters each.", ""]
    for kind in ("continuous", "days"):
        for events in sorted({c["events"] for c in saved["cells"]}):
            cells = [c for c in saved["cells"] if c["kind"] == kind and c["events"] == events]
            if not cells:
                continue
            fl = FLOOR[kind]
            L += [f"### `{kind}` times, {events:.0%} of rows with an event: median wall time", "",
                  f"| n | input | leiosurv | statsmodels | {fl} | statsmodels / leiosurv | leiosurv / floor |",
                  "|---|---|---|---|---|---|---|"]
            for c in sorted(cells, key=lambda c: (c["n"], list(FORM_NAME).index(c["form"]))):
                m = c.get("median") or {}
                sm_ls, ls_fl = _ratios(c)
                if not m:
                    L.append(f"| {_n(c['n'])} | {FORM_NAME[c['form']]} | {c['status']} | | | | |")
                    continue
                L.append(f"| {_n(c['n'])} | {FORM_NAME[c['form']]} | {_t(m.get('leiosurv'))} | "
                         f"{_t(m.get('statsmodels'))} | {_t(m.get(fl))} | {_r(sm_ls)} | {_r(ls_fl)} |")
            L.append("")
    # agreement
    diffs = []
    for c in saved["cells"]:
        cif = c.get("cif") or {}
        a, b = cif.get("leiosurv"), cif.get("statsmodels")
        if a and b:
            diffs.append(float(np.nanmax(np.abs(np.asarray(a) - np.asarray(b)))))
    if diffs:
        L += [f"Agreement: max |ΔCIF| between leiosurv and statsmodels at 1, 5 and 10 years over all cells: "
              f"{max(diffs):.1e}.", ""]
    # memory
    mem = [c for c in saved["cells"] if "memory" in c]
    if mem:
        L += ["### leiosurv's peak extra memory", "",
              "| kind | events | input | n | input bytes | peak extra | × input | wall (this run) |",
              "|---|---|---|---|---|---|---|---|"]
        for c in mem:
            mm = c["memory"]
            if "peak_extra" not in mm:
                L.append(f"| {c['kind']} | {c['events']:.0%} | {FORM_NAME[c['form']]} | {_n(c['n'])} | | "
                         f"{mm.get('status')} | | |")
                continue
            L.append(f"| {c['kind']} | {c['events']:.0%} | {FORM_NAME[c['form']]} | {_n(c['n'])} | "
                     f"{c['input_bytes'] / 2**20:,.1f} MiB | {mm['peak_extra'] / 2**20:,.1f} MiB | "
                     f"{mm['peak_extra'] / c['input_bytes']:.2f} | {_t(mm['wall'])} |")
        L.append("")
    for b in saved.get("big", []):
        lm = b["leiosurv"]
        L += [f"### {_n(b['n'])} continuous rows from Parquet ({b['events']:.0%} events)", ""]
        if b.get("carried_from"):
            L += [f"Not re-measured in this run: carried over{_carried(b)}.", ""]
        L += [
              f"File: {b['file_mib']:.0f} MiB on disk; in memory the three columns are "
              f"{b['n'] * 10 / 2**30:.2f} GiB (float64, int8, int8).", ""]
        if "peak_extra" in lm:
            L.append(f"- leiosurv (handed the path; DuckDB streams the columns, numpy counts them on the event "
                     f"grid): {_t(lm['wall'])}, peak RSS of the process {lm['peak_rss'] / 2**30:.2f} GiB "
                     f"(extra {lm['peak_extra'] / 2**30:.2f} GiB).")
        else:
            L.append(f"- leiosurv: {lm.get('status')}")
        L.append(f"- argsort floor (reads the file with pyarrow first; time includes the read): "
                 f"{_t(b['floor']) if b['floor'] else b['floor_status']}.")
        L.append("")
    imp = saved["imports"]
    L += ["### Import time", ""]
    if imp.get("command"):
        L += [f"Re-measured on {imp.get('date')} with `{imp['command']}` (7 fresh interpreters each).", ""]
    L += ["| what | median wall |", "|---|---|"]
    for k, v in imp["median_s"].items():
        L.append(f"| `{k}` | {v:.3f} s |")
    L += ["", f"Modules among pandas, scipy, matplotlib, duckdb, narwhals, pyarrow, polars loaded by "
          f"`import leiosurv.stats`: {imp['heavy_modules_after_import']}.", ""]
    if imp.get("cli_top_imports"):
        L.append("Largest direct imports of `leiosurv.interfaces.cli` (-X importtime, cumulative µs): "
                 + ", ".join(f"{name} {us:,}" for us, name in imp["cli_top_imports"]) + ".")
        L.append("")
    if notes is not None and notes.exists():
        L += ["### Analysis (hand-written from this run's numbers: `benchmarks/aj_goals_notes.md`)", "",
              notes.read_text().strip(), ""]
    return "\n".join(L)
