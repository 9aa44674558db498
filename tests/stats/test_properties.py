"""Invariants of the estimators on random small data sets (hypothesis).

Times are small integers (many ties, events and censorings at the same time,
events at time 0), up to three causes, one or two groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from leiosurv.stats import cumulative_incidence, gray_test, kaplan_meier

TOL = 1e-12


@st.composite
def datasets(draw, max_cause: int = 3, grouped: bool | None = None):
    n = draw(st.integers(1, 30))
    k = draw(st.integers(1, max_cause))
    time = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, k), min_size=n, max_size=n))
    if not any(event):  # the engines reject data without any event (DataError)
        event[draw(st.integers(0, n - 1))] = draw(st.integers(1, k))
    if grouped is None:
        grouped = draw(st.booleans())
    df = pd.DataFrame({"time": np.array(time, dtype=float), "event": event})
    if grouped:
        df["arm"] = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    return df, (tuple(range(1, k + 1))), ("arm" if grouped else None)


def _fit(df, causes, group, variance="delta"):
    return cumulative_incidence(df, "time", "event", group, causes=causes, variance=variance)


def _blocks(res):
    t = res.table
    for g in res.groups:
        yield g, t[[x == g for x in t["group"]]]


@settings(max_examples=100, deadline=None)
@given(datasets())
def test_cifs_plus_survival_is_one_and_each_cif_is_bounded(data):
    df, causes, group = data
    res = _fit(df, causes, group)
    km = kaplan_meier(df, "time", "event", group)
    for (g, block), (_, kb) in zip(_blocks(res), _blocks_km(km)):
        total = sum(block[f"cif_{k}"].to_numpy() for k in causes)
        surv = kb["surv"].to_numpy()
        assert_allclose(total + surv, 1.0, rtol=0, atol=TOL)
        for k in causes:
            cif = block[f"cif_{k}"].to_numpy()
            assert (cif >= 0).all() and (cif <= 1 + TOL).all()
            assert (np.diff(cif) >= -TOL).all()
            assert (cif <= 1 - surv + TOL).all()


def _blocks_km(km):
    t = km.table
    for g in km.groups:
        yield g, t[[x == g for x in t["group"]]]


@settings(max_examples=100, deadline=None)
@given(datasets(max_cause=1))
def test_single_cause_aj_is_one_minus_km(data):
    df, causes, group = data
    res = _fit(df, causes, group)
    km = kaplan_meier(df, "time", "event", group)
    assert_allclose(res.table["cif_1"].to_numpy(), 1 - km.table["surv"].to_numpy(), rtol=0, atol=TOL)


@settings(max_examples=100, deadline=None)
@given(datasets(), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(data, rnd):
    df, causes, group = data
    order = list(range(len(df)))
    rnd.shuffle(order)
    for variance in ("delta", "aalen"):
        a = _fit(df, causes, group, variance).table
        b = _fit(df.iloc[order].reset_index(drop=True), causes, group, variance).table
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(datasets())
def test_variances_are_finite_and_non_negative(data):
    df, causes, group = data
    for variance in ("delta", "aalen"):
        t = _fit(df, causes, group, variance).table
        for k in causes:
            se = t[f"se_{k}"].to_numpy()
            assert np.isfinite(se).all() and (se >= 0).all()
    km = kaplan_meier(df, "time", "event", group).table
    se = km["se"].to_numpy()
    undefined = km["surv"].to_numpy() == 0  # Greenwood's 0 * inf, NaN as in survfit
    assert (se[~undefined] >= 0).all() and np.isnan(se[undefined]).all()


@settings(max_examples=100, deadline=None)
@given(datasets(grouped=False))
def test_censoring_before_the_first_event_changes_no_estimate(data):
    """A row censored before the first event time is in no event's risk set.

    (A row censored *after* the last time would join every risk set and change
    the estimates, so that is not an invariant.)  The new row only adds one
    table row with CIF 0.
    """
    df, causes, group = data
    first = df.loc[df["event"] > 0, "time"].min()
    if first == 0:
        return  # nothing can be censored before time 0
    early = pd.concat([df, pd.DataFrame({"time": [first / 2], "event": [0]})], ignore_index=True)
    for variance in ("delta", "aalen"):
        a = _fit(df, causes, group, variance).table
        b = _fit(early, causes, group, variance).table
        a_ev = a[sum(a[f"n_event_{k}"] for k in causes) > 0]
        b_ev = b[sum(b[f"n_event_{k}"] for k in causes) > 0]
        assert_array_equal(b_ev["time"].to_numpy(), a_ev["time"].to_numpy())
        assert_array_equal(b_ev["n_risk"].to_numpy(), a_ev["n_risk"].to_numpy())
        for k in causes:
            for col in (f"cif_{k}", f"se_{k}"):
                assert_allclose(b_ev[col].to_numpy(), a_ev[col].to_numpy(), rtol=1e-12, atol=1e-15)
            assert b.loc[b["time"] == first / 2, f"cif_{k}"].tolist() == [0.0]


@settings(max_examples=50, deadline=None)
@given(datasets(grouped=True))
def test_each_group_equals_a_fit_on_its_own_rows(data):
    df, causes, group = data
    for variance in ("delta", "aalen"):
        grouped = _fit(df, causes, group, variance).table
        for label, rows in df.groupby(group):
            if not (rows["event"] > 0).any():
                continue  # the engines reject a data set without events
            alone = _fit(rows.drop(columns=group), causes, None, variance).table
            mine = grouped[grouped["group"] == label].drop(columns="group").reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, alone.drop(columns="group"), check_exact=True)


@settings(max_examples=50, deadline=None)
@given(datasets(grouped=True))
def test_gray_statistic_is_non_negative_and_p_in_unit_interval(data):
    df, causes, group = data
    if df["arm"].nunique() < 2:
        return
    import warnings

    from leiosurv.exceptions import StatisticalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # singular V on degenerate draws
        with np.errstate(all="ignore"):
            t = gray_test(df, "time", "event", group, causes=causes).table
    ok = t["stat"].notna()
    assert (t.loc[ok, "stat"] >= -1e-9).all()
    assert ((t.loc[ok, "pv"] >= 0) & (t.loc[ok, "pv"] <= 1)).all()
