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

from leiosurv.study._results import DAYS_PER_YEAR, OUTCOME_LABELS, StudyResult

__all__ = ["forest_plot", "cif_plot", "figure_svg", "save_figure"]

SYNTHETIC_MARK = "SYNTHETIC DATA"
_COLOURS = {"all": "#1f3b73", "high": "#b2182b", "low": "#2166ac"}
_NAMES = {"all": "All patients", "high": "High risk", "low": "Low risk"}


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
            ax.errorbar([rd], [yi], xerr=[[rd - lo], [hi - rd]], fmt="s", color=colour, markersize=7,
                        elinewidth=1.6, capsize=4, zorder=3)
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
            side.text(0.03, yi, f"{r.format_rd()}\n{r.n_present:,} / {r.n_used:,}", va="center", fontsize=8,
                      family="monospace", linespacing=1.3)
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
    fig.text(0.01, 0.012, f"Red: factor in the {kind} rule for that outcome.  n analysed: complete cases for "
             "the factor.", fontsize=8, color="#444444")
    fig.subplots_adjust(left=0.2, right=0.99, bottom=0.9 / height, top=1 - 0.62 / height)
    _watermark(fig, result.synthetic)
    return fig


def cif_plot(result: StudyResult, outcome: str, *, by: str = "all") -> Figure:
    """Cumulative incidence of *outcome* with its CI band and numbers at risk.

    ``by="all"`` draws the whole cohort; ``by="group"`` the rule's high and
    low risk groups.

    Examples
    --------
    >>> from leiosurv.study import read_cohort, run_study, synthesize_cohort
    >>> res = run_study(read_cohort(synthesize_cohort(1000, seed=1)), progress=False)
    >>> cif_plot(res, "metastasis", by="group").axes[0].get_xlabel()
    'Years since diagnosis'
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
        ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
        ax.step(t, est, where="post", color=colour, linewidth=1.8, label=_NAMES.get(c.group, c.group))
        if np.isfinite(hi).any():
            ymax = max(ymax, float(np.nanmax(hi)))
    ax.set_xlim(0, years)
    ax.set_ylim(0, min(100.0, max(5.0, 1.1 * ymax)))
    ax.set_xlabel("Years since diagnosis")
    ax.set_ylabel(f"Cumulative incidence of {OUTCOME_LABELS.get(outcome, outcome).lower()} (%)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(color="#e8e8e8", linewidth=0.6)
    if curves:
        ax.legend(loc="upper left", frameon=False, fontsize=9)
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
