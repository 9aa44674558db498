"""Figures: forest plot as a journal figure, CIF curves with numbers at risk, synthetic marks."""

from __future__ import annotations

import numpy as np
import pytest
from study_cohorts import cohort_frame

from leiosurv.clinical import evidence
from leiosurv.study import cif_plot, forest_plot, read_cohort, run_study


@pytest.fixture(scope="module")
def result():
    return run_study(read_cohort(cohort_frame(500, seed=21)), progress=False)


def _texts(fig):
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts] + [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.get_yticklabels()]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    return out


def test_forest_plot_is_a_journal_figure(result):
    fig = forest_plot(result)
    plots = [ax for ax in fig.axes if ax.get_xlabel()]
    assert [ax.get_title(loc="left") for ax in plots] == ["Metastasis", "Local recurrence"]
    for ax, outcome in zip(plots, evidence.DLMS_OUTCOMES):
        assert ax.get_xlabel() == "5-year risk difference (percentage points)"
        vlines = {(tuple(ln.get_xdata()), ln.get_linestyle()) for ln in ax.lines if len(set(ln.get_xdata())) == 1}
        assert ((0, 0), "-") in vlines  # reference line at 0
        thr = 100 * evidence.DLMS_DERIVATION_THRESHOLDS[outcome]
        assert ((thr, thr), "--") in vlines  # threshold
        # one point per factor, at the RD in percentage points, with a CI bar
        # (flagged estimates as hollow diamonds)
        points = sorted(float(ln.get_xdata()[0]) for ln in ax.lines if ln.get_marker() in ("s", "D"))
        rds = sorted(100 * r.rd for r in result.univariable if r.outcome == outcome)
        np.testing.assert_allclose(points, rds, rtol=1e-12)
        hollow = sorted(float(ln.get_xdata()[0]) for ln in ax.lines if ln.get_marker() == "D")
        flagged = sorted(100 * r.rd for r in result.univariable if r.outcome == outcome and r.flagged)
        np.testing.assert_allclose(hollow, flagged, rtol=1e-12)
    labels = [t.get_text() for t in plots[0].get_yticklabels()]
    assert sorted(labels) == sorted(evidence.DLMS_FACTORS.values())
    texts = " ".join(_texts(fig))
    assert "SYNTHETIC DATA" in texts
    r = result.factor_result("necrosis", "metastasis")
    assert f"{r.n_present:,} / {r.n_used:,}" in texts  # n per row


def test_cif_plot_numbers_at_risk(result):
    fig = cif_plot(result, "metastasis", by="group")
    texts = _texts(fig)
    for name in ("high", "low"):
        curve = next(c for c in result.curves if c.outcome == "metastasis" and c.group == name)
        assert curve.n_risk[0] > curve.n_risk[-1]
        for n in curve.n_risk:
            assert str(n) in texts
    assert any("SYNTHETIC DATA" in t for t in texts)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Time since diagnosis (years)" and "metastasis" in ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 2
    assert any("95% pointwise CI" in t for t in texts) and len(ax.collections) == 2  # the CI bands
    bare = cif_plot(result, "metastasis", by="group", ci_band=False)
    assert len(bare.axes[0].collections) == 0 and not any("pointwise CI" in t for t in _texts(bare))


def test_curves_end_at_the_horizon_estimate(result):
    for o, risk in result.overall.items():
        curve = next(c for c in result.curves if c.outcome == o and c.group == "all")
        assert curve.time[-1] == pytest.approx(result.horizon_days)
        assert curve.estimate[-1] == risk.estimate
        assert curve.n_risk[0] == result.provenance["n"]
        assert all(np.diff(curve.estimate) >= 0)
