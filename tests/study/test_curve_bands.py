"""The curve figures' pointwise bands are never degenerate where the data are (issue 23, item 1).

Where a cumulative-incidence curve is 0 (before its first event, or in a group
without events) or 1 (everybody had the event), its variance is 0 and the CI
method's band has zero width (plain) or is undefined (log-log).  There the band
is the same exact Clopper–Pearson bound as a risk at the horizon, from the
patients whose status is known at each time of the band.  The expected values
below are computed from the cohort's rows directly, not from the statistics
engine's counts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PolyCollection
from study_cohorts import FrameCohort, cohort_frame

from leiosurv.stats import exact_bound
from leiosurv.study import (
    cif_plot,
    methods_text,
    read_cohort,
    render_report,
    run_study,
    synthesize_cohort,
    validate_rule,
)
from leiosurv.study._analysis import _Fitter

H5 = 1826.25
FACTORS = ("necrosis", "mitotic_grade", "invasion", "margins")


def _low(df: pd.DataFrame) -> pd.Series:
    """The published rule's low-risk group: all four factors recorded absent."""
    return ((df["necrosis"] == 0) & (df["mitotic_grade"] != 3) & (df["invasion"] == 0)
            & (df["margins"] == "negative"))


def _edges() -> pd.DataFrame:
    """No metastasis in the low-risk group (each is censored where it was); a local recurrence for every
    high-risk patient by day 1000 (so the high group's local-recurrence risk reaches 1 before 5 years)."""
    df = cohort_frame(300, seed=12, missing=0.0)
    low = _low(df)
    df.loc[low & (df["met_status"] == 1), "met_status"] = 0
    high = ~low
    df.loc[high, "lr_time"] = np.minimum(df.loc[high, "lr_time"], 1000.0)
    df.loc[high, "lr_status"] = 1
    return df


@pytest.fixture(scope="module")
def edges():
    df = _edges()
    return df, validate_rule(FrameCohort(df), bootstrap=0).study


def _curve(result, outcome, group):
    return next(c for c in result.curves if c.outcome == outcome and c.group == group)


def _known(time: np.ndarray, censored: np.ndarray, h: float) -> int:
    """Patients whose status at h is known: everyone but those censored strictly before h."""
    return int(time.size - np.count_nonzero(censored & (time < h)))


def test_a_group_without_events_has_the_exact_upper_bound_at_every_time(edges):
    df, res = edges
    low = df[_low(df)]
    assert (low["met_status"] != 1).all() and len(low) > 100
    c = _curve(res, "metastasis", "low")
    t, est, lo, hi = (np.asarray(x, dtype=float) for x in (c.time, c.estimate, c.lower, c.upper))
    assert t[0] == 0.0 and t[-1] == H5 and (est == 0.0).all()
    time, cens = low["met_time"].to_numpy(float), (low["met_status"] == 0).to_numpy()
    expected = np.array([exact_bound(0.0, _known(time, cens, h), 0.95)[1] for h in t])
    np.testing.assert_allclose(hi, expected, rtol=1e-12)
    assert (lo == 0.0).all() and (hi > 0.0).all()
    # before the first censoring every low-risk patient counts; after it, one fewer
    first = time[cens].min()
    before, after = t[t < first], t[t > first]
    assert before.size and np.allclose(hi[: before.size], 1 - 0.025 ** (1 / len(low)), rtol=1e-12)
    assert hi[before.size + (first in t)] > hi[0]  # censoring leaves fewer known: a wider bound
    assert after.size
    # at the horizon the band is the 5-year risk's own exact interval
    g = res.groups["metastasis"].low
    assert g.interval == "exact" and hi[-1] == g.upper and lo[-1] == g.lower


def test_a_group_in_which_everyone_had_the_event(edges):
    df, res = edges
    high = df[~_low(df)]
    c = _curve(res, "local_recurrence", "high")
    t, est, lo, hi = (np.asarray(x, dtype=float) for x in (c.time, c.estimate, c.lower, c.upper))
    last = high["lr_time"].max()
    assert last <= 1000.0 and (high["lr_status"] == 1).all()
    done = t >= last
    assert (est[done] == 1.0).all() and (est[~done] < 1.0).all()
    # nobody censored: all of them are known, lower bound (alpha/2)^(1/n), upper 1
    np.testing.assert_allclose(lo[done], 0.025 ** (1 / len(high)), rtol=1e-12)
    assert (hi[done] == 1.0).all()
    g = res.groups["local_recurrence"].high
    assert g.estimate == 1.0 and g.interval == "exact" and lo[-1] == g.lower
    # before the first event the same group's curve is 0 with the exact upper bound on all n
    first = high["lr_time"].min()
    np.testing.assert_allclose(hi[t < first], 1 - 0.025 ** (1 / len(high)), rtol=1e-12)


@pytest.mark.parametrize("ci", ["plain", "log-log"])
def test_the_same_under_log_log(ci):
    """log-log bands are undefined (NaN) at 0 and 1: the exact bound fills them, as for plain."""
    df = _edges()
    res = validate_rule(FrameCohort(df), bootstrap=0, ci=ci).study
    for c in res.curves:
        est, lo, hi = (np.asarray(x, dtype=float) for x in (c.estimate, c.lower, c.upper))
        ok = ~np.isnan(est)
        assert ok.any() and not np.isnan(lo[ok]).any() and (hi[ok] > lo[ok]).all(), (c.outcome, c.group)


def test_the_figure_draws_the_band_and_says_how(edges):
    """The drawn band (matplotlib's fill_between polygon) of the zero-event group has the exact bound's
    height, in percent; the axes carry a note naming the method; Methods and captions name it."""
    _, res = edges
    fig = cif_plot(res, "metastasis", by="group")
    ax = fig.axes[0]
    bands = [p for p in ax.collections if isinstance(p, PolyCollection)]
    assert len(bands) == 2  # high, low
    low_band = bands[1].get_paths()[0].vertices
    c = _curve(res, "metastasis", "low")
    assert low_band[:, 1].max() == pytest.approx(100 * max(c.upper), rel=1e-12)
    assert low_band[:, 1].max() > 0.5  # on main this band was flat at 0
    note = [t.get_text() for t in ax.texts if t.get_gid() == "band-note"]
    assert note and "exact (Clopper-Pearson) bound" in note[0] and "0 or 1" in note[0]
    methods = methods_text(res)[0]
    assert "pointwise confidence bands" in methods and "same exact bound at every time" in methods
    html = render_report(res)["report.html"].decode()
    assert html.count("exact Clopper–Pearson bound where") == 4  # two outcomes x (all, by group)


def test_without_bands_there_is_no_note(edges):
    _, res = edges
    ax = cif_plot(res, "metastasis", ci_band=False).axes[0]
    assert not [p for p in ax.collections if isinstance(p, PolyCollection)]
    assert not [t for t in ax.texts if t.get_gid() == "band-note"]


@pytest.mark.parametrize("n", [40, 381])
def test_calibrated_cohorts_have_no_zero_width_band(n):
    """The n = 40 and n = 381 reports' cohorts: every band point within follow-up has width > 0."""
    res = run_study(read_cohort(synthesize_cohort(n, seed=1)), bootstrap=0)
    for c in res.curves:
        est, lo, hi = (np.asarray(x, dtype=float) for x in (c.estimate, c.lower, c.upper))
        ok = ~np.isnan(est)
        assert (hi[ok] > lo[ok]).all(), (c.outcome, c.group)
        assert est[0] == 0.0 and hi[0] > 0.0


@st.composite
def _groups(draw):
    """A small two-group cohort on a coarse day grid (ties, censorings at event times), one outcome."""
    n = draw(st.integers(2, 30))
    rows = st.tuples(st.integers(1, 2500), st.integers(0, 2), st.integers(0, 1))
    data = draw(st.lists(rows, min_size=n, max_size=n))
    df = pd.DataFrame(data, columns=["met_time", "met_status", "group"])
    df["met_time"] = df["met_time"].astype(float)
    # at least one event of some cause (an all-censored outcome is refused as a coding error)
    df.loc[0, "met_status"] = draw(st.sampled_from([1, 2]))
    return df


@settings(max_examples=150, deadline=None)
@given(df=_groups(), ci=st.sampled_from(["plain", "log-log"]), variance=st.sampled_from(["delta", "aalen"]))
def test_bands_are_never_zero_width_where_the_number_known_is_positive(df, ci, variance):
    """Property: at every time of every curve the study draws, where the estimate exists and some patient
    of the group has a known status, the band has positive width and holds the estimate; where the
    estimate is 0 or 1 the band is the exact bound on the number known, counted from the rows."""
    fit = _Fitter(H5, 0.95, variance, ci, 10, 5)
    res = fit.fit(df, "metastasis", "group")
    for label in res.groups:
        rows = df[df["group"] == label]
        c = fit.curve(res, label, rows, "metastasis", str(label))
        time, cens = rows["met_time"].to_numpy(float), (rows["met_status"] == 0).to_numpy()
        for h, est, lo, hi in zip(c.time, c.estimate, c.lower, c.upper):
            known = _known(time, cens, h)
            if math.isnan(est) or known == 0:
                continue
            assert lo < hi and lo <= est <= hi, (label, h, est, lo, hi)
            if est in (0.0, 1.0):
                assert (lo, hi) == exact_bound(est, known, 0.95)


def test_a_risk_at_1_up_to_rounding_gets_its_exact_interval_in_the_tables(edges):
    """153 local recurrences among 153 high-risk patients sum to 1.0000000000000004 in floating point; it is a
    risk of 1 with the exact interval (97.6 to 100.0), not "100.0% (100.0 to 100.0)" with no method named."""
    df, res = edges
    g = res.groups["local_recurrence"].high
    n = int((~_low(df)).sum())
    assert g.n == n == 153 and g.n_events == n
    assert g.estimate == 1.0 and g.interval == "exact" and g.lower == pytest.approx(0.025 ** (1 / n), rel=1e-12)
    assert g.format() == "100.0% (97.6 to 100.0, exact)"
