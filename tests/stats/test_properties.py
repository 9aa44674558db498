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
def datasets(draw, max_cause: int = 3, grouped: bool | None = None, labels: tuple = ("a", "b")):
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
        df["arm"] = draw(st.lists(st.sampled_from(list(labels)), min_size=n, max_size=n))
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
    km = kaplan_meier(df, "time", "event", group, event_map={c: c for c in (0, *causes)})
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
    km = kaplan_meier(df, "time", "event", group, event_map={c: c for c in (0, *causes)})
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
    km = kaplan_meier(df, "time", "event", group, event_map={c: c for c in (0, *causes)}).table
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


# ---------------------------------------------------------------------------
# The vectorised kernels against literal loop ports of the R packages' C/Fortran
# (prodlim_comprisk.c, cmprsk cincsub.f and crstm.f), on data with heavy ties.
# ---------------------------------------------------------------------------
def _prodlim_port(time, event, k_causes):
    """prodlim_comprisk + pl_step, one distinct time at a time; var NaN where d = n."""
    order = np.argsort(time, kind="stable")
    time, event = time[order], event[order]
    n = float(len(time))
    S, varH = 1.0, 0.0
    I = np.zeros(k_causes)
    v1 = np.zeros(k_causes)
    v2 = np.zeros(k_causes)
    out_t, out_i, out_v = [], [], []
    for t in np.unique(time):
        at = event[time == t]
        ev = np.array([(at == c + 1).sum() for c in range(k_causes)])
        d = int(ev.sum())
        loss = int((at == 0).sum())
        for j in range(k_causes):
            I[j] += S * (ev[j] / n)
        S_lag = S
        if d > 0:
            S *= 1 - d / n
            varH = varH + d / (n * (n - d)) if n > d else np.inf
        var = np.zeros(k_causes)
        with np.errstate(divide="ignore", invalid="ignore"):
            for j in range(k_causes):
                d1 = ev[j]
                a = d / (n * (n - d)) if n > d else np.inf
                v1[j] += I[j] * a + (S_lag * d1) / (n * n)
                v2[j] += I[j] * I[j] * a + (S_lag * S_lag) * (n - d1) * d1 / (n * n * n) + 2 * I[j] * S_lag * d1 / (n * n)
                var[j] = I[j] * I[j] * varH - 2 * I[j] * v1[j] + v2[j]
        out_t.append(t)
        out_i.append(I.copy())
        out_v.append(var)
        n -= d + loss
    return np.array(out_t), np.array(out_i), np.array(out_v)


def _cinc_port(y, ic, icc):
    """cmprsk's Fortran cinc, literally (1-based indices kept as in the source)."""
    n = len(y)
    y = np.concatenate(([np.nan], y))
    ic = np.concatenate(([0], ic))
    icc = np.concatenate(([0], icc))
    size = 2 * n + 3
    x, f, v = np.zeros(size), np.zeros(size), np.zeros(size)
    fk, v1, v2, v3 = 1.0, 0.0, 0.0, 0.0
    lcnt, l, ll, rs = 1, 1, 1, float(n)
    while True:
        ty = y[l]
        while l + 1 <= n and y[l + 1] == ty:
            l += 1
        nd1 = int(icc[ll : l + 1].sum())
        nd2 = int((ic[ll : l + 1] - icc[ll : l + 1]).sum())
        nd = nd1 + nd2
        if nd != 0:
            fkn = fk * (rs - nd) / rs
            if nd1 > 0:
                lcnt += 2
                f[lcnt - 1] = f[lcnt - 2]
                f[lcnt] = f[lcnt - 1] + fk * nd1 / rs
            if not (nd2 <= 0 or fkn <= 0):
                t5 = 1 - (nd2 - 1.0) / (rs - 1.0) if nd2 > 1 else 1.0
                t6 = fk * fk * t5 * nd2 / (rs * rs)
                t3 = 1.0 / fkn
                t4 = f[lcnt] / fkn
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
            if nd1 > 0:
                t5 = 1 - (nd1 - 1.0) / (rs - 1.0) if nd1 > 1 else 1.0
                t6 = fk * fk * t5 * nd1 / (rs * rs)
                t3 = 1 / fkn if fkn > 0 else 0.0
                t4 = 1 + t3 * f[lcnt]
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
                t2 = f[lcnt]
                x[lcnt - 1] = y[l]
                x[lcnt] = y[l]
                v[lcnt - 1] = v[lcnt - 2]
                v[lcnt] = v1 + t2 * t2 * v3 - 2 * t2 * v2
            fk = fkn
        rs = n - l
        l += 1
        if l > n:
            break
        ll = l
    return x[1 : lcnt + 1], f[1 : lcnt + 1], v[1 : lcnt + 1]


def _crst_port(y, m, ig, ng, rho):
    """cmprsk's Fortran crst (one stratum), literally; returns (s, v) for groups 1..ng-1."""
    n = len(y)
    ng1 = ng - 1
    rs = np.zeros(ng)
    for g in ig:
        rs[g] += 1
    s = np.zeros(ng1)
    vv = np.zeros((ng1, ng1))
    f1m, f1, skmm, skm = np.zeros(ng), np.zeros(ng), np.ones(ng), np.ones(ng)
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    c = np.zeros((ng, ng))
    fm = f = 0.0
    ll = 0
    while True:
        lu = ll
        while lu + 1 < n and y[lu + 1] <= y[ll]:
            lu += 1
        d = np.zeros((3, ng))
        for i in range(ll, lu + 1):
            d[m[i], ig[i]] += 1
        nd1, nd2 = d[1].sum(), d[2].sum()
        if not (nd1 == 0 and nd2 == 0):
            tr = tq = 0.0
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                td = d[1, i] + d[2, i]
                skm[i] = skmm[i] * (rs[i] - td) / rs[i]
                f1[i] = f1m[i] + (skmm[i] * d[1, i]) / rs[i]
                tr += rs[i] / skmm[i]
                tq += rs[i] * (1 - f1m[i]) / skmm[i]
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = np.zeros((ng, ng))
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                t1 = rs[i] / skmm[i]
                a[i, i] = fb * t1 * (1 - t1 / tr)
                c[i, i] += a[i, i] * nd1 / (tr * (1 - fm))
                for j in range(i + 1, ng):
                    if rs[j] <= 0:
                        continue
                    a[i, j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                    c[i, j] += a[i, j] * nd1 / (tr * (1 - fm))
            for i in range(1, ng):
                for j in range(i):
                    a[i, j] = a[j, i]
                    c[i, j] = c[j, i]
            for i in range(ng1):
                if rs[i] > 0:
                    s[i] += fb * (d[1, i] - nd1 * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0:
                for k in range(ng):
                    if rs[k] <= 0:
                        continue
                    t4 = 1 - (1 - f) / skm[k] if skm[k] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[k] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = a[i, k] - t4 * c[i, k]
                        v2[i, k] += t1 * t4 * t3
                        for j in range(i + 1):
                            vv[i, j] += t1 * (a[j, k] - t4 * c[j, k]) * t3
            if nd2 != 0:
                for k in range(ng):
                    if skm[k] <= 0 or d[2, k] <= 0:
                        continue
                    t4 = (1 - f) / skm[k]
                    t5 = 1 - (d[2, k] - 1.0) / (rs[k] - 1.0) if d[2, k] > 1 else 1.0
                    t3 = t5 * (skmm[k] ** 2 * d[2, k]) / rs[k] ** 2
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = t4 * c[i, k]
                        v2[i, k] -= t1 * t4 * t3
                        for j in range(i + 1):
                            vv[i, j] += t1 * t4 * c[j, k] * t3
        if lu >= n - 1:
            break
        for i in range(ll, lu + 1):
            rs[ig[i]] -= 1
        fm = f
        f1m[:] = f1
        skmm[:] = skm
        ll = lu + 1
    for i in range(ng1):
        for j in range(i + 1):
            for k in range(ng):
                vv[i, j] += c[i, k] * c[j, k] * v3[k] + c[i, k] * v2[j, k] + c[j, k] * v2[i, k]
    vv = np.tril(vv) + np.tril(vv, -1).T
    return s, vv


@settings(max_examples=100, deadline=None)
@given(datasets(grouped=False))
def test_delta_variance_equals_a_loop_port_of_prodlim(data):
    df, causes, group = data
    t, cif, var = _prodlim_port(df["time"].to_numpy(), df["event"].to_numpy(), len(causes))
    table = _fit(df, causes, None, "delta").table
    assert_array_equal(table["time"].to_numpy(), t)
    for j, k in enumerate(causes):
        assert_allclose(table[f"cif_{k}"].to_numpy(), cif[:, j], rtol=1e-12, atol=1e-15)
        ok = np.isfinite(var[:, j])  # prodlim's NA where d = n (leiosurv gives the finite limit)
        assert (ok[:-1]).all()
        assert_allclose(table[f"se_{k}"].to_numpy()[ok] ** 2, var[ok, j], rtol=1e-9, atol=1e-14)


@settings(max_examples=100, deadline=None)
@given(datasets(grouped=False))
def test_aalen_variance_equals_a_loop_port_of_cmprsk_cinc(data):
    df, causes, group = data
    order = np.argsort(df["time"].to_numpy(), kind="stable")
    y = df["time"].to_numpy()[order]
    ev = df["event"].to_numpy()[order]
    table = _fit(df, causes, None, "aalen").table
    times = table["time"].to_numpy()
    for k in causes:
        x, f, v = _cinc_port(y, (ev > 0).astype(int), (ev == k).astype(int))
        idx = np.searchsorted(x, times, side="right") - 1
        assert_allclose(table[f"cif_{k}"].to_numpy(), f[idx], rtol=1e-12, atol=1e-15)
        assert_allclose(table[f"se_{k}"].to_numpy() ** 2, np.maximum(v[idx], 0), rtol=1e-9, atol=1e-14)


@settings(max_examples=50, deadline=None)
@given(datasets(grouped=True, labels=("a", "b", "c", "d")), st.sampled_from([0.0, 1.0]))
def test_gray_equals_a_loop_port_of_cmprsk_crstm(data, rho):
    df, causes, group = data
    labels = sorted(df[group].unique())
    if len(labels) < 2:
        return
    order = np.argsort(df["time"].to_numpy(), kind="stable")
    y = df["time"].to_numpy()[order]
    ev = df["event"].to_numpy()[order]
    ig = np.searchsorted(labels, df[group].to_numpy()[order])
    import warnings

    from leiosurv.exceptions import StatisticalWarning
    from leiosurv.stats._gray import _score_variance

    counts = _fit(df, causes, group).counts
    for j, k in enumerate(causes):
        m = np.where(ev == k, 1, np.where(ev > 0, 2, 0))
        with np.errstate(all="ignore"):
            s_ref, v_ref = _crst_port(y, m, ig, len(labels), rho)
            s, v = _score_variance(counts.groups, j, rho)
        assert_allclose(s, s_ref, rtol=1e-9, atol=1e-12)
        assert_allclose(v, v_ref, rtol=1e-9, atol=1e-12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            with np.errstate(all="ignore"):
                gray_test(df, "time", "event", group, causes=causes, rho=rho)


# ---------------------------------------------------------------------------
# Cancellation: the O(m) expanded sums against the exact centred O(m^2) forms
# in extended precision, on ~1,700 distinct times with a dominant cause.
# ---------------------------------------------------------------------------
def _big_counts():
    from leiosurv.stats._counts import EventCounts

    rng = np.random.default_rng(5)
    n = 3000
    t = np.round(rng.exponential(10, n), 2)
    e = rng.choice([0, 1, 2], n, p=[0.3, 0.05, 0.65])
    return EventCounts.from_long(t, e, causes=(1, 2)).groups[0]


def test_delta_variance_has_no_cancellation_error():
    """var F(t_j) = sum_{i<j} (F_j - F_i)^2 a_i - 2 sum_{i<=j} (F_j - F_i) S_{i-1} d_ki/n_i^2
    + sum_{i<=j} S_{i-1}^2 (n_i - d_ki) d_ki/n_i^3, summed directly in long double."""
    from leiosurv.stats._kernels import aj_cif, km_parts, risk_and_events, var_delta

    g = _big_counts()
    nr, d = risk_and_events(g)
    _, lag = km_parts(nr, d)
    dk = g.events.astype(np.float64)
    cif = aj_cif(nr, dk, lag)
    fast = var_delta(nr, dk, d, lag, cif)
    N, D, SL = nr.astype(np.longdouble), d.astype(np.longdouble), lag.astype(np.longdouble)
    a = np.zeros_like(N)
    ok = (D > 0) & (D < N)
    a[ok] = D[ok] / (N[ok] * (N[ok] - D[ok]))
    for k in range(2):
        e = dk[:, k].astype(np.longdouble)
        F = np.cumsum(SL * e / N)
        exact = np.array([
            np.sum((F[j] - F[:j]) ** 2 * a[:j])
            - 2 * np.sum((F[j] - F[: j + 1]) * SL[: j + 1] * e[: j + 1] / N[: j + 1] ** 2)
            + np.sum(SL[: j + 1] ** 2 * (N[: j + 1] - e[: j + 1]) * e[: j + 1] / N[: j + 1] ** 3)
            for j in range(len(N))
        ], dtype=np.float64)
        assert_allclose(fast[:, k], exact, rtol=1e-10, atol=0)


def test_aalen_variance_has_no_cancellation_error():
    """cmprsk's v1 + F^2 v3 - 2 F v2 = sum t6 (t4 - F t3)^2, summed directly in long double."""
    from leiosurv.stats._kernels import aj_cif, km_parts, risk_and_events, var_aalen

    g = _big_counts()
    nr, d = risk_and_events(g)
    surv, lag = km_parts(nr, d)
    dk = g.events.astype(np.float64)
    cif = aj_cif(nr, dk, lag)
    fast = var_aalen(nr, dk, d, surv, lag, cif)
    N, S, SL = nr.astype(np.longdouble), surv.astype(np.longdouble), lag.astype(np.longdouble)
    for k in range(2):
        de = dk[:, k].astype(np.longdouble)
        do = d.astype(np.longdouble) - de
        F = np.cumsum(SL * de / N)
        t5o = np.where(do > 1, 1 - (do - 1) / np.maximum(N - 1, 1), 1)
        t5e = np.where(de > 1, 1 - (de - 1) / np.maximum(N - 1, 1), 1)
        t6o = np.where((do > 0) & (S > 0), SL * SL * t5o * do / (N * N), 0)
        t6e = np.where(de > 0, SL * SL * t5e * de / (N * N), 0)
        inv = np.where(S > 0, 1 / np.where(S > 0, S, 1), 0)
        exact = np.zeros(len(N))
        last = 0.0
        for j in range(len(N)):
            if de[j] > 0:
                r = (F[: j + 1] - F[j]) * inv[: j + 1]
                last = float(np.sum(t6o[: j + 1] * r**2 + t6e[: j + 1] * (1 + r) ** 2))
            exact[j] = last
        assert_allclose(fast[:, k], exact, rtol=1e-9, atol=0)


@settings(max_examples=100, deadline=None)
@given(datasets(), st.sampled_from(["delta", "aalen"]), st.sampled_from(["plain", "log-log", "log"]))
def test_event_grid_equals_full_grid(data, variance, ci):
    """The estimates are computed on the event times only and expanded to every
    distinct time; this equals running the kernels on the full grid of distinct
    times (censoring-only times included), up to rounding: at a censoring-only
    time the full-grid delta variance adds terms that cancel exactly in
    arithmetic (F^2 a - 2 F F a + F^2 a), the event grid carries the value forward."""
    from leiosurv.stats._ci import ci_bounds
    from leiosurv.stats._kernels import aj_cif, km_parts, risk_and_events, var_aalen, var_delta

    df, causes, group = data
    res = cumulative_incidence(df, "time", "event", group, causes=causes, variance=variance, ci=ci)
    for g, (_, rows) in zip(res.counts.groups, _blocks(res)):
        nr, d = risk_and_events(g)
        dk = g.events.astype(np.float64)
        surv, lag = km_parts(nr, d)
        cif = aj_cif(nr, dk, lag)
        var = var_delta(nr, dk, d, lag, cif) if variance == "delta" else var_aalen(nr, dk, d, surv, lag, cif)
        assert_array_equal(rows["n_risk"].to_numpy(), nr)
        for ki, k in enumerate(res.causes):
            se = np.sqrt(var[:, ki])
            lower, upper = ci_bounds(cif[:, ki], se, ci, res.z)
            assert_array_equal(rows[f"cif_{k}"].to_numpy(), cif[:, ki])
            for col, want in ((f"se_{k}", se), (f"lower_{k}", lower), (f"upper_{k}", upper)):
                assert_allclose(rows[col].to_numpy(), want, rtol=1e-10, atol=1e-15, equal_nan=True)


def test_gray_when_the_pooled_cif_reaches_one_before_the_last_event():
    """Regression (found by hypothesis): group a leaves entirely at t = 0, so the pooled F
    reaches 1 before group b's last event; crst adds to c only for groups at risk, so the
    variance stays finite (0.4), where a vectorised 0 * inf made it NaN."""
    from leiosurv.stats._gray import _score_variance

    y = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 2.0])
    m = np.array([0, 1, 1, 1, 1, 1])
    ig = np.array([0, 0, 0, 0, 1, 1])
    df = pd.DataFrame({"time": y, "event": m, "arm": np.where(ig == 0, "a", "b")})
    counts = _fit(df, (1,), "arm").counts
    with np.errstate(all="ignore"):
        s_ref, v_ref = _crst_port(y, m, ig, 2, 0.0)
        s, v = _score_variance(counts.groups, 0, 0.0)
    assert_allclose(s, s_ref, rtol=1e-12)
    assert_allclose(v, v_ref, rtol=1e-12)
    assert_allclose(v, [[0.4]], rtol=1e-12)
