"""``.plot(ci_band=True)`` bands are never degenerate where the data are (issue 23, item 1, the statistics API).

Where a step curve is 0 or 1 (a CIF before its first event or in a group without
events of that cause; a survival curve before its first death or after the
risk set is emptied by deaths) the variance is 0, so the interval of the
result has zero width (plain) or is undefined (log, log-log).  The drawn band
is there the exact Clopper–Pearson bound on the patients whose status is known
on that step, the same formula as :func:`leiosurv.stats.exact_bound`.
The results' own intervals (``.table``, ``.at``) are R's and stay unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PolyCollection

from leiosurv.stats import (
    at_zero_or_one,
    cumulative_incidence,
    exact_band,
    exact_bound,
    exact_bounds,
    kaplan_meier,
    n_known,
    n_known_at,
)
from leiosurv.stats._plot import band_known, step_band

# arm a: no event of cause 1 (censored at 2 and 4, death at 3); arm b: cause 1 at 1 and 5, censored at 5 and 7
DATA = pd.DataFrame({
    "time": [2.0, 3.0, 4.0, 6.0, 1.0, 5.0, 5.0, 7.0],
    "event": [0, 2, 0, 0, 1, 1, 0, 0],
    "arm": ["a", "a", "a", "a", "b", "b", "b", "b"],
})


def _bands(fig):
    return [p for p in fig.axes[0].collections if isinstance(p, PolyCollection)]


def test_exact_bounds_is_exact_bound_at_every_point():
    n = np.array([0, 1, 2, 3, 40, 320, 10**6])
    for est in (0.0, 1.0):
        lo, hi = exact_bounds(np.full(n.size, est), n, 0.95)
        assert [(float(a), float(b)) for a, b in zip(lo, hi)] == [exact_bound(est, int(k), 0.95) for k in n]


def test_n_known_at_edges():
    """Censored at the horizon is known; a moment later it is not (the scalar n_known gives the same)."""
    t, c = np.array([1.0, 2.0, 3.0]), np.array([1, 0, 2])
    h = np.array([0.0, 1.0, np.nextafter(1.0, 2.0), 2.0, 3.0, np.nextafter(3.0, 4.0), 99.0])
    assert n_known_at(t, c, 10, h).tolist() == [10, 10, 9, 9, 9, 7, 7]
    assert [n_known(t, c, 10, x) for x in h] == n_known_at(t, c, 10, h).tolist()


def test_exact_band_only_where_the_estimate_is_0_or_1():
    est = np.array([0.0, 0.3, 1.0 + 4e-16, 1.0 - 2e-9, np.nan])
    lower, upper = est - 0.1, est + 0.1
    lo, hi = exact_band(est, lower, upper, np.array([10, 10, 10, 10, 10]), 0.95)
    assert hi[0] == pytest.approx(1 - 0.025 ** 0.1, rel=1e-12) and lo[0] == 0.0
    assert (lo[1], hi[1]) == (lower[1], upper[1])
    assert lo[2] == pytest.approx(0.025 ** 0.1, rel=1e-12) and hi[2] == 1.0  # at 1 up to rounding
    assert (lo[3], hi[3]) == (lower[3], upper[3])  # 2e-9 from 1 is an estimate, not 1
    assert np.isnan(lo[4]) and np.isnan(hi[4])
    assert at_zero_or_one(np.array([1e-9, 1.01e-9])).tolist() == [True, False]


def test_band_known_counts_the_censored_from_their_step_on():
    """Arm a: times 2 (censored), 3 (death), 4 (censored), 6 (censored): 4 known before 2, 3 on [2, 3) and
    [3, 4), 2 on [4, 6), 1 from 6 (the bound on a step holds at every horizon inside it)."""
    res = cumulative_incidence(DATA, group="arm")
    assert band_known(res.counts.groups[0]).tolist() == [4, 3, 3, 2, 1]
    g = res.counts.groups[0]
    inside = np.array([1.0, 2.5, 3.5, 5.0, 6.5])
    assert n_known_at(g.time, g.censored, g.n, inside).tolist() == [4, 3, 3, 2, 1]


@pytest.mark.parametrize("ci", ["plain", "log", "log-log"])
def test_cif_plot_band_of_a_group_without_events(ci):
    res = cumulative_incidence(DATA, group="arm", ci=ci)
    t, est, lo, hi = step_band(res, 0, ("cif_1", "lower_1", "upper_1"), 0.0)
    assert (est == 0.0).all() and (lo == 0.0).all()
    np.testing.assert_allclose(hi, [exact_bound(0.0, k, 0.95)[1] for k in (4, 3, 3, 2, 1)], rtol=1e-12)
    fig = res.plot(causes=[1], ci_band=True)
    bands = _bands(fig)
    assert len(bands) == 2
    top = bands[0].get_paths()[0].vertices[:, 1]
    assert top.max() == pytest.approx(exact_bound(0.0, 1, 0.95)[1], rel=1e-12) and top.max() > 0.9
    # arm b before its first event (day 1): 0 with the bound on all 4
    tb, eb, lob, hib = step_band(res, 1, ("cif_1", "lower_1", "upper_1"), 0.0)
    assert eb[0] == 0.0 and hib[0] == pytest.approx(1 - 0.025 ** 0.25, rel=1e-12)
    # the result's own intervals are R's: unchanged
    own = res.at([2.0]).query("group == 'a' and cause == 1")["upper"].iat[0]
    assert own == 0.0 if ci == "plain" else np.isnan(own)


def test_cif_at_one_has_the_exact_lower_bound():
    """Everybody had the event (no censoring): the CIF is 1 from the last event, lower (alpha/2)^(1/n)."""
    res = cumulative_incidence({"time": [1.0, 2.0, 3.0], "event": [1, 1, 1]})
    t, est, lo, hi = step_band(res, 0, ("cif_1", "lower_1", "upper_1"), 0.0)
    assert at_zero_or_one(est[-1]) and lo[-1] == pytest.approx(0.025 ** (1 / 3), rel=1e-12) and hi[-1] == 1.0
    assert hi[0] == pytest.approx(1 - 0.025 ** (1 / 3), rel=1e-12)


def test_km_band_at_1_and_at_0():
    res = kaplan_meier(DATA, group="arm")  # log CI, R's default: zero width at S = 1
    t, est, lo, hi = step_band(res, 1, ("surv", "lower", "upper"), 1.0)
    assert est[0] == 1.0 and lo[0] == pytest.approx(0.025 ** 0.25, rel=1e-12) and hi[0] == 1.0
    every = kaplan_meier({"time": [1.0, 2.0], "event": [1, 1]})
    t, est, lo, hi = step_band(every, 0, ("surv", "lower", "upper"), 1.0)
    assert est[-1] == 0.0 and lo[-1] == 0.0 and hi[-1] == pytest.approx(1 - 0.025 ** 0.5, rel=1e-12)


def test_no_band_without_ci_band():
    assert not _bands(cumulative_incidence(DATA, group="arm").plot())


def test_weighted_results_keep_their_own_interval():
    """With case weights the counts are rows, not the weighted population: no exact bound is drawn."""
    df = DATA.assign(w=[1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0])
    res = cumulative_incidence(df, group="arm", weights="w", variance="ij")
    t, est, lo, hi = step_band(res, 0, ("cif_1", "lower_1", "upper_1"), 0.0)
    table = res.table[res.table["group"] == "a"]
    np.testing.assert_array_equal(hi[1:], table["upper_1"].to_numpy())


def test_delayed_entry_counts_only_rows_at_risk_from_the_start():
    """Two rows enter late (entry 1.5): only the two at risk from 0, less the censored, are counted."""
    df = pd.DataFrame({"time": [2.0, 3.0, 4.0, 5.0], "event": [0, 2, 0, 1], "entry": [0.0, 0.0, 1.5, 1.5]})
    res = cumulative_incidence(df, entry="entry")
    assert band_known(res.counts.groups[0]).tolist() == [2, 1, 1, 0, 0]
    t, est, lo, hi = step_band(res, 0, ("cif_1", "lower_1", "upper_1"), 0.0)
    assert (est[:4] == 0.0).all() and est[4] > 0.0
    assert hi[0] == pytest.approx(exact_bound(0.0, 2, 0.95)[1], rel=1e-12)
    assert hi[1] == pytest.approx(exact_bound(0.0, 1, 0.95)[1], rel=1e-12) and hi[3] == 1.0  # none known: 0 to 1


_ROWS = st.lists(st.tuples(st.integers(1, 12), st.integers(0, 2), st.sampled_from(["a", "b"])), min_size=1,
                 max_size=30)


@settings(max_examples=200, deadline=None)
@given(rows=_ROWS, ci=st.sampled_from(["plain", "log", "log-log"]), km=st.booleans())
def test_drawn_bands_are_never_zero_width_where_the_number_known_is_positive(rows, ci, km):
    """Property: on every step of every curve a plot draws, where some patient's status is known, the band
    has positive width and holds the curve (up to the rounding at 1)."""
    df = pd.DataFrame(rows, columns=["time", "event", "arm"]).astype({"time": float})
    if not (df["event"] > 0).any():
        df.loc[0, "event"] = 1
    res = (kaplan_meier(df, group="arm", ci=ci) if km
           else cumulative_incidence(df, group="arm", ci=ci))
    cols = [("surv", "lower", "upper")] if km else [(f"cif_{k}", f"lower_{k}", f"upper_{k}") for k in res.causes]
    for gi, g in enumerate(res.counts.groups):
        known = band_known(g)
        for c in cols:
            t, est, lo, hi = step_band(res, gi, c, 1.0 if km else 0.0)
            ok = known > 0
            assert (lo[ok] < hi[ok]).all(), (g.label, c, est, lo, hi, known)
            assert (lo[ok] <= est[ok] + 1e-12).all() and (est[ok] <= hi[ok] + 1e-12).all()


def test_conditional_plot_draws_the_same_bands():
    """ConditionalIncidence.plot draws its landmark curves through the same band: arm a beyond day 1.5 has no
    cause-1 event, so its band is the exact bound on the 4 rows followed beyond the landmark (then fewer)."""
    from leiosurv.stats import conditional_incidence

    cond = conditional_incidence(DATA, landmark=1.5, group="arm")
    t, est, lo, hi = step_band(cond.incidence, 0, ("cif_1", "lower_1", "upper_1"), 0.0)
    assert (est == 0.0).all() and hi[0] == pytest.approx(exact_bound(0.0, 4, 0.95)[1], rel=1e-12)
    top = _bands(cond.plot(causes=[1], ci_band=True))[0].get_paths()[0].vertices[:, 1]
    assert top.max() == pytest.approx(float(hi.max()), rel=1e-12) and top.max() > 0.5
