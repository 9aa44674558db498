"""Figures of the cohort study: forest plot of the risk differences, cumulative
incidence curves with numbers at risk.

Built from a :class:`StudyResult` alone (not from the data), so a report can be
redrawn from its JSON.  Figures are plain :class:`matplotlib.figure.Figure`
objects (no pyplot state, no display backend).  When the cohort is synthetic,
every figure says so in its title and carries a watermark.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from leiosurv.study._results import DAYS_PER_YEAR, FLAG_MARK, OUTCOME_LABELS, StudyResult, format_p

__all__ = ["forest_plot", "cif_plot", "remaining_risk_plot", "figure_svg", "figure_bytes", "save_figure"]

SYNTHETIC_MARK = "SYNTHETIC DATA"
_COLOURS = {"all": "#1f3b73", "high": "#b2182b", "low": "#2166ac"}
_NAMES = {"all": "All patients", "high": "High risk", "low": "Low risk"}
BAND_EXACT_NOTE = "where a curve is 0 or 1, the exact (Clopper-Pearson) bound"
"""The CI band's legend note: the band's method where the curve is 0 or 1 (see the Methods)."""
_REMAINING_COLOURS = {"all": "#333333", "high": "#b2182b", "low": "#2166ac"}  # all and low side by side


def _watermark(fig: Figure, synthetic: bool) -> None:
    if synthetic:
        fig.text(0.5, 0.5, SYNTHETIC_MARK, fontsize=46, color="#c00000", alpha=0.10, rotation=25,
                 ha="center", va="center", zorder=0, gid="synthetic-watermark")


def forest_plot(result: StudyResult) -> Figure:
    """Forest plot of the univariable risk differences, as seed 001's Figure 1.

    Metastasis and local recurrence side by side; one row per factor; the
    point is the risk difference at the horizon in percentage points with its
    CI as a horizontal bar, a solid reference line at 0 and dashed lines at the
    derivation thresholds; n (with the factor / total used) on the right.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> res = run_study(read_cohort(synthesize_cohort(1000, seed=1)), progress=False)
    >>> fig = forest_plot(res)
    >>> [ax.get_title(loc="left") for ax in fig.axes if ax.get_xlabel()]
    ['Metastasis', 'Local recurrence']
    """
    outcomes = list(result.overall)
    factors = list(dict.fromkeys(r.factor for r in result.univariable))
    years = result.horizon_days / DAYS_PER_YEAR
    level = int(round(100 * result.provenance["level"]))
    height = 1.9 + 0.6 * len(factors)
    fig = Figure(figsize=(14, height), dpi=100)
    grid = fig.add_gridspec(1, 2 * len(outcomes), width_ratios=[3.0, 2.3] * len(outcomes), wspace=0.05)
    thresholds = result.rule.thresholds or result.provenance.get("thresholds") or {}
    y = np.arange(len(factors))[::-1]
    kind = "derived" if result.rule.derived else "published"
    flagged: list[str] = []
    for i, outcome in enumerate(outcomes):
        ax = fig.add_subplot(grid[0, 2 * i], gid=f"forest-{outcome}")
        side = fig.add_subplot(grid[0, 2 * i + 1], sharey=ax)
        side.axis("off")
        rows = {r.factor: r for r in result.univariable if r.outcome == outcome}
        ax.axvline(0, color="black", linewidth=1.1, zorder=1)
        thr = thresholds.get(outcome)
        if thr is not None:
            ax.axvline(100 * thr, color="#555555", linestyle="--", linewidth=1.0, zorder=1,
                       label=f"threshold {100 * thr:g} points")
        lo_all, hi_all = [0.0], [0.0 if thr is None else 100 * thr]
        for yi, f in zip(y, factors):
            r = rows.get(f)
            if r is None or math.isnan(r.rd):
                ax.text(0, yi, "  not estimable", va="center", fontsize=8, color="#777777")
                continue
            rd, lo, hi = 100 * r.rd, 100 * r.rd_lower, 100 * r.rd_upper
            in_rule = f in result.rule.by_outcome.get(outcome, ())
            colour = "#b2182b" if in_rule else "#1f3b73"
            if r.flagged:  # hollow marker, dotted bar: the interval is not to be read as one
                bars = ax.errorbar([rd], [yi], xerr=[[rd - lo], [hi - rd]] if hi >= lo else None, fmt="D",
                                   color=colour, markerfacecolor="white", markersize=7, elinewidth=1.3,
                                   capsize=3, zorder=3, gid=f"flagged-{i}-{len(factors) - 1 - int(yi)}")
                for lines in bars[2]:
                    lines.set_linestyle(":")
                ax.annotate(FLAG_MARK, (rd, yi), xytext=(6, 5), textcoords="offset points", fontsize=11,
                            color=colour, fontweight="bold")
                flagged.append(f"{r.label} ({OUTCOME_LABELS.get(outcome, outcome).lower()}): "
                               + "; ".join(r.flags))
            else:
                ax.errorbar([rd], [yi], xerr=[[rd - lo], [hi - rd]], fmt="s", color=colour, markersize=7,
                            elinewidth=1.6, capsize=4, zorder=3)
            if not (math.isnan(lo) or math.isnan(hi)):
                lo_all.append(lo)
                hi_all.append(hi)
        span = max(hi_all) - min(lo_all) or 10.0
        ax.set_xlim(min(lo_all) - 0.08 * span, max(hi_all) + 0.08 * span)
        side.text(0.03, len(factors) - 0.45, f"RD ({level}% CI)\nn with factor / analysed", fontsize=8,
                  fontweight="bold", va="center", transform=side.transData)
        for yi, f in zip(y, factors):
            r = rows.get(f)
            if r is None:
                continue
            mark = f" {FLAG_MARK}" if r.flagged else ""
            side.text(0.03, yi, f"{r.format_rd()}{mark}\n{r.n_present:,} / {r.n_used:,}", va="center", fontsize=8,
                      family="monospace", linespacing=1.3, color="#8a5a00" if r.flagged else "black")
        side.set_xlim(0, 1)
        ax.set_title(OUTCOME_LABELS.get(outcome, outcome), fontsize=12, fontweight="bold", loc="left")
        ax.set_xlabel(f"{years:g}-year risk difference (percentage points)")
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6, zorder=0)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylim(-0.7, len(factors) - 0.1)
        ax.set_yticks(y)
        if i == 0:
            ax.set_yticklabels([result.factor_result(f, outcome).label for f in factors], fontsize=9.5)
        else:
            ax.tick_params(labelleft=False)
        if thr is not None:
            ax.legend(loc="lower right", fontsize=7.5, frameon=False)
    title = f"Univariable analysis: {years:g}-year risk difference, factor present vs absent, {level}% CI"
    if result.synthetic:
        title = f"{SYNTHETIC_MARK} — {title}"
    fig.suptitle(title, fontsize=11, color="#c00000" if result.synthetic else "black")
    notes = [f"Red: factor in the {kind} rule for that outcome.  n analysed: complete cases for the factor."]
    if flagged:
        mp, me = result.provenance.get("min_patients", "?"), result.provenance.get("min_events", "?")
        notes.append(f"{FLAG_MARK} Hollow marker: interval not reliable (a group with fewer than {mp} patients or "
                     f"{me} events, or standard error 0); not interpreted as significant.")
        notes += [f"   {FLAG_MARK} {x}" for x in flagged]
    bottom_in = 0.9 + 0.17 * (len(notes) - 1)
    height += 0.17 * (len(notes) - 1)
    fig.set_size_inches(14, height)
    fig.text(0.01, 0.012, "\n".join(notes), fontsize=8, color="#444444", va="bottom", linespacing=1.5)
    fig.subplots_adjust(left=0.2, right=0.99, bottom=(bottom_in + 0.05) / height, top=1 - 0.62 / height)
    _watermark(fig, result.synthetic)
    return fig


def _legend(result: StudyResult, outcome: str, group: str) -> str:
    """A curve's legend: its name and its risk at the horizon with CI, marked † when flagged."""
    name = _NAMES.get(group, group)
    if group == "all":
        risk = result.overall.get(outcome)
    else:
        g = result.groups.get(outcome)
        risk = None if g is None else (g.high if group == "high" else g.low)
    if risk is None or math.isnan(risk.estimate):
        return name
    years = result.horizon_days / DAYS_PER_YEAR
    return f"{name}: {risk.format()}{FLAG_MARK if risk.flagged else ''} at {years:g} y"


def cif_plot(result: StudyResult, outcome: str, *, by: str = "all", ci_band: bool = True) -> Figure:
    """Cumulative incidence of *outcome* with its pointwise CI band and numbers at risk.

    The band is the curve's (:class:`~leiosurv.study.Curve`'s ``lower``/``upper``):
    the CI method's, and where the curve is 0 or 1 the exact Clopper–Pearson
    bound on the patients whose status is known at that time, so it never has
    zero width where there are data; a note in the axes says so.

    ``by="all"`` draws the whole cohort; ``by="group"`` the rule's high and
    low risk groups.  ``ci_band=False`` draws the curves alone.  The x axis is
    in years since diagnosis (the cohort's times are days; a year is 365.25 days).

    Examples
    --------
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> res = run_study(read_cohort(synthesize_cohort(1000, seed=1)), progress=False)
    >>> cif_plot(res, "metastasis", by="group").axes[0].get_xlabel()
    'Time since diagnosis (years)'
    """
    names = ["all"] if by == "all" else ["high", "low"]
    curves = [c for n in names for c in result.curves if c.outcome == outcome and c.group == n]
    fig = Figure(figsize=(7.5, 5.0), dpi=100)
    ax = fig.add_axes((0.17, 0.33, 0.78, 0.52))
    years = result.horizon_days / DAYS_PER_YEAR
    ymax = 0.0
    for c in curves:
        t = np.asarray(c.time) / DAYS_PER_YEAR
        est, lo, hi = (100 * np.asarray(v, dtype=float) for v in (c.estimate, c.lower, c.upper))
        colour = _COLOURS.get(c.group, "black")
        if ci_band:
            ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
        ax.step(t, est, where="post", color=colour, linewidth=1.8, label=_legend(result, outcome, c.group))
        top = hi if ci_band else est
        if np.isfinite(top).any():
            ymax = max(ymax, float(np.nanmax(top)))
    ax.set_xlim(0, years)
    ax.set_ylim(0, min(100.0, max(5.0, 1.1 * ymax)))
    ax.set_xlabel("Time since diagnosis (years)")
    ax.set_ylabel(f"Cumulative incidence of {OUTCOME_LABELS.get(outcome, outcome).lower()} (%)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(color="#e8e8e8", linewidth=0.6)
    if curves:
        g = result.groups.get(outcome)
        gray = (f"Gray's test {format_p(g.gray_p_value)}{FLAG_MARK if g.flagged else ''}"
                if by != "all" and g is not None and not math.isnan(g.gray_p_value) else None)
        ax.legend(loc="upper left", frameon=False, fontsize=9, title=gray, title_fontsize=9)
        if ci_band:
            # under the axis title, right-aligned: clear of the curves, bands and legend
            ax.text(1.0, -0.215, f"shaded: {int(round(100 * result.provenance['level']))}% pointwise CI; "
                    f"{BAND_EXACT_NOTE}", transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
                    color="#555555", gid="band-note")
    what = "all patients" if by == "all" else f"by risk group (rule {result.rule.id})"
    title = f"{OUTCOME_LABELS.get(outcome, outcome)}, {what}\nall-cause death as competing risk"
    if result.synthetic:
        title = f"{SYNTHETIC_MARK}\n{title}"
    ax.set_title(title, fontsize=9.5, color="#c00000" if result.synthetic else "black")
    # numbers at risk
    fig.text(0.01, 0.19, "Number at risk", fontsize=9, fontweight="bold")
    for i, c in enumerate(curves):
        yy = 0.13 - 0.055 * i
        fig.text(0.01, yy, _NAMES.get(c.group, c.group), fontsize=8.5, color=_COLOURS.get(c.group, "black"))
        for t, n in zip(c.risk_times, c.n_risk):
            x = 0.17 + 0.78 * (t / DAYS_PER_YEAR) / years
            fig.text(x, yy, f"{n}", fontsize=8.5, ha="center")
    if not curves:
        ax.text(0.5, 0.5, "no groups to compare", transform=ax.transAxes, ha="center", color="#777777")
    _watermark(fig, result.synthetic)
    return fig


def remaining_risk_plot(result: StudyResult) -> Figure:
    """The remaining risk by the horizon given event-free at each landmark, one panel per outcome.

    Points with CI bars per group (all patients, high and low risk), landmark
    years on the x axis; flagged estimates (few patients or events at risk, SE
    0) are drawn hollow and marked with a dagger, and the number at risk at
    each landmark is printed under the axis.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> res = run_study(read_cohort(synthesize_cohort(1000, seed=1)))
    >>> remaining_risk_plot(res).axes[0].get_xlabel()
    'Event-free at (years since diagnosis)'
    """
    outcomes = list(result.overall)
    years = result.horizon_days / DAYS_PER_YEAR
    level = int(round(100 * result.provenance["level"]))
    fig = Figure(figsize=(12, 5.4), dpi=100)
    names = [n for n in ("all", "high", "low") if any(c.group == n for c in result.conditional)]
    offsets = {n: (i - (len(names) - 1) / 2) * 0.12 for i, n in enumerate(names)}
    for i, outcome in enumerate(outcomes):
        ax = fig.add_axes((0.07 + 0.49 * i, 0.36, 0.41, 0.48), gid=f"remaining-{outcome}")
        rows = [c for c in result.conditional if c.outcome == outcome]
        ymax = 1.0
        for n in names:
            pts = sorted((c for c in rows if c.group == n), key=lambda c: c.landmark_days)
            colour = _REMAINING_COLOURS.get(n, "black")
            for j, c in enumerate(pts):
                x = c.landmark_years + offsets[n]
                if math.isnan(c.estimate):
                    continue
                est, lo, hi = 100 * c.estimate, 100 * c.lower, 100 * c.upper
                label = _NAMES.get(n, n) if j == 0 else None
                if c.flagged:
                    ax.errorbar([x], [est], yerr=[[est - lo], [hi - est]] if hi >= lo else None, fmt="o",
                                color=colour, markerfacecolor="white", capsize=3, elinewidth=1.0, label=label)
                    ax.annotate(FLAG_MARK, (x, est), xytext=(4, 4), textcoords="offset points", fontsize=9,
                                color=colour)
                else:
                    ax.errorbar([x], [est], yerr=[[est - lo], [hi - est]], fmt="o", color=colour, capsize=3,
                                elinewidth=1.4, label=label)
                if np.isfinite(hi):
                    ymax = max(ymax, hi)
            xs = [c.landmark_years + offsets[n] for c in pts if not math.isnan(c.estimate)]
            ys = [100 * c.estimate for c in pts if not math.isnan(c.estimate)]
            ax.plot(xs, ys, color=colour, linewidth=0.8, alpha=0.5)
        marks = sorted({c.landmark_years for c in rows})
        ax.set_xticks(marks)
        ax.set_xticklabels([f"{m:g}" for m in marks])
        ax.set_xlim(min(marks, default=0) - 0.5, max(marks, default=0) + 0.5)
        ax.set_ylim(0, min(100.0, 1.12 * ymax))
        ax.set_xlabel("Event-free at (years since diagnosis)")
        ax.set_ylabel(f"Risk by year {years:g} (%), {level}% CI")
        ax.set_title(OUTCOME_LABELS.get(outcome, outcome), fontsize=11, fontweight="bold", loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#e8e8e8", linewidth=0.6)
        ax.legend(loc="upper right", frameon=False, fontsize=8.5)
        # numbers at risk at each landmark
        x0 = 0.07 + 0.49 * i
        fig.text(x0 - 0.065, 0.215, "At risk", fontsize=8.5, fontweight="bold")
        lo_x, hi_x = ax.get_xlim()
        for k, n in enumerate(names):
            yy = 0.17 - 0.045 * k
            fig.text(x0 - 0.065, yy, _NAMES.get(n, n), fontsize=8, color=_REMAINING_COLOURS.get(n, "black"))
            for c in rows:
                if c.group == n:
                    x = x0 + 0.41 * (c.landmark_years - lo_x) / (hi_x - lo_x)
                    fig.text(x, yy, f"{c.n_at_landmark:,}", fontsize=8, ha="center")
    title = (f"Remaining risk by year {years:g}, given event-free at each landmark "
             "(landmark Aalen-Johansen, all-cause death as competing risk)")
    if result.synthetic:
        title = f"{SYNTHETIC_MARK} — {title}"
    fig.suptitle(title, fontsize=10.5, color="#c00000" if result.synthetic else "black")
    if any(c.flagged for c in result.conditional):
        mp, me = result.provenance.get("min_patients", "?"), result.provenance.get("min_events", "?")
        fig.text(0.01, 0.01, f"{FLAG_MARK} Hollow: fewer than {mp} patients at risk or {me} events by year "
                 f"{years:g}, or standard error 0 - interval not reliable.", fontsize=8, color="#444444")
    _watermark(fig, result.synthetic)
    return fig


def figure_bytes(fig: Figure, fmt: str, *, dpi: int = 200) -> bytes:
    """The figure rendered in memory as ``"png"`` (at *dpi*) or ``"svg"``."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi if fmt == "png" else None)
    return buf.getvalue()


def figure_svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no DOCTYPE)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def save_figure(fig: Figure, stem: Path, *, dpi: int = 200) -> list[Path]:
    """Write ``stem.png`` (at *dpi*) and ``stem.svg``; return both paths."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=dpi)
    fig.savefig(paths[1])
    return paths
