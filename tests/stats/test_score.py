"""``score``: IPCW AUC and Brier score for competing risks against ``riskRegression::Score``.

Reference: shared/reference/melanoma_score.json, made by
``riskRegression::Score(list(ulcer_rule = matrix(rule_risk, ncol = 1), FGR = fgr), formula =
Hist(time, status) ~ 1, data, cause = 1, times = 1826.25, metrics = c('auc', 'brier'),
cens.model = 'km', cens.method = 'ipcw', se.fit = TRUE, conf.int = 0.95, null.model = TRUE,
contrasts = TRUE, split.method = 'none')`` (R 4.2.2, riskRegression 2022.11.28); the predicted
risks are stored with it.  The issue asks for 1e-6; the values match to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from leiosurv.exceptions import DataError, InputError
from leiosurv.stats import score

from ._entry_weights_data import REF, reference

RTOL = 1e-9


def _melanoma():
    ref = reference("melanoma_score.json")
    df = pd.read_csv(REF / "melanoma.csv")
    preds = {m: ref["predicted_risk"][m] for m in ("ulcer_rule", "FGR")}
    return df, preds, ref


def test_auc_matches_score():
    """AUC (trapezoidal, ties 1/2), se = sd(IF.AUC)/sqrt(N) with the KM censoring term, CI truncated."""
    df, preds, ref = _melanoma()
    s = score(df, preds, ref["horizon"], "time", "status", cause=1)
    for m in preds:
        row = s.auc.set_index("model").loc[m]
        r = ref["AUC"][m]
        assert_allclose([row["auc"], row["se"], row["lower"], row["upper"]],
                        [r["value"], r["se"], r["lower"], r["upper"]], rtol=RTOL)


def test_brier_matches_score_with_null_model():
    """Brier = mean IPCW residual, se = sd(IF.Brier)/sqrt(N); the null model's risk is the marginal
    Aalen–Johansen CIF at the horizon; per-subject residuals equal Score(keep = 'residuals')."""
    df, preds, ref = _melanoma()
    s = score(df, preds, ref["horizon"], "time", "status")
    assert list(s.brier["model"]) == ["Null model", "ulcer_rule", "FGR"]
    for m in ("Null model", "ulcer_rule", "FGR"):
        row = s.brier.set_index("model").loc[m]
        r = ref["Brier"][m]
        assert_allclose([row["brier"], row["se"], row["lower"], row["upper"]],
                        [r["value"], r["se"], r["lower"], r["upper"]], rtol=RTOL)
        assert_allclose(s.residuals[m], ref["brier_residuals"]["models"][m]["residuals"], rtol=RTOL, atol=1e-15)
    assert s.null_risk == pytest.approx(ref["null_model_risk"], rel=RTOL)
    c = ref["counts_at_horizon"]
    assert s.counts == {"cases": c["cases_cause1_by_horizon"], "competing": c["competing_cause2_by_horizon"],
                        "censored": c["censored_before_horizon"], "event_free": c["event_free_beyond_horizon"]}


def test_contrasts_match_score():
    """getComparisons: delta = model - reference, se = sd(IF_model - IF_reference)/sqrt(N), Wald CI, p."""
    df, preds, ref = _melanoma()
    s = score(df, preds, ref["horizon"], "time", "status")
    for mine, theirs in ((s.auc_contrasts, ref["AUC_contrasts"]), (s.brier_contrasts, ref["Brier_contrasts"])):
        assert len(mine) == len(theirs)
        for (_, row), r in zip(mine.iterrows(), theirs):
            assert (row["model"], row["reference"]) == (r["model"], r["reference"])
            assert_allclose([row[c] for c in ("delta", "se", "lower", "upper", "p")],
                            [r[c] for c in ("delta", "se", "lower", "upper", "p")], rtol=RTOL)


def test_row_order_does_not_matter():
    """Shuffling the rows (with their predictions) changes nothing but the order of the per-row arrays."""
    df, preds, ref = _melanoma()
    perm = np.random.default_rng(7).permutation(len(df))
    s = score(df, preds, ref["horizon"], "time", "status")
    t = score(df.iloc[perm].reset_index(drop=True), {m: np.asarray(p)[perm] for m, p in preds.items()},
              ref["horizon"], "time", "status")
    pd.testing.assert_frame_equal(s.auc, t.auc, rtol=1e-12)
    pd.testing.assert_frame_equal(s.brier, t.brier, rtol=1e-12)
    assert_allclose(s.influence["auc"]["FGR"][perm], t.influence["auc"]["FGR"], rtol=1e-9, atol=1e-12)


_rows = st.lists(st.tuples(st.integers(1, 20), st.integers(0, 2), st.integers(0, 10)), min_size=4, max_size=60)


@settings(max_examples=60, deadline=None)
@given(_rows)
def test_invariants(rows):
    """AUC in [0, 1] (up to rounding); a constant prediction has AUC 1/2; reversing the ranking gives 1 - AUC; Brier >= 0;
    the influence functions have mean 0 (up to rounding)."""
    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows])
    p = np.array([r[2] for r in rows]) / 10
    data = {"time": t, "event": e}
    tau = float(np.median(t))
    cases = ((t <= tau) & (e == 1)).sum()
    controls = (((t <= tau) & (e == 2)) | (t > tau)).sum()
    if not cases or not controls or not (e == 1).any():
        with pytest.raises(InputError):  # no case or no control (DataError), or no cause 1 at all
            score(data, {"m": p}, tau)
        return
    s = score(data, {"m": p, "flat": np.full(t.size, 0.3), "rev": 1 - p}, tau)
    auc = s.auc.set_index("model")["auc"]
    assert -1e-12 <= auc["m"] <= 1 + 1e-12  # a ratio of weighted sums: in [0, 1] up to rounding (1 + 4e-16 seen)
    assert auc["flat"] == pytest.approx(0.5)
    assert auc["rev"] == pytest.approx(1 - auc["m"])
    assert (s.brier["brier"] >= 0).all()
    for kind in ("auc", "brier"):
        for v in s.influence[kind].values():
            assert abs(v.mean()) < 1e-9


def test_horizon_edges():
    """A horizon equal to the last follow-up time is allowed; one day later is refused; a horizon before
    the first case (no case) is refused."""
    data = {"time": [2.0, 3.0, 5.0, 7.0, 9.0], "event": [1, 2, 1, 0, 1]}
    pred = {"m": [0.9, 0.2, 0.6, 0.1, 0.5]}
    assert score(data, pred, 9.0).counts["cases"] == 3
    with pytest.raises(DataError, match=r"horizon 10 is beyond the last follow-up time 9"):
        score(data, pred, 10.0)
    with pytest.raises(DataError, match=r"horizon 1: 0 case\(s\) of cause 1"):
        score(data, pred, 1.0)
    # the day of an event is inside the horizon: the case at 5 counts at horizon 5, not at 4
    assert score(data, pred, 5.0).counts["cases"] == 2
    assert score(data, pred, 4.0).counts["cases"] == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"predictions": {"m": [0.1, 0.2, 1.5, 0.3]}}, DataError,
         r"predictions of model 'm': 1 value\(s\) missing or outside \[0, 1\] \(first at position 2: 1.5\)"),
        ({"predictions": {"m": [0.1, float("nan"), 0.5, 0.3]}}, DataError, r"missing or outside \[0, 1\]"),
        ({"predictions": {"m": [0.1, 0.2]}}, DataError, r"predictions of model 'm' have 2 values but the data have 4"),
        ({"predictions": {"m": ["a", "b", "c", "d"]}}, DataError, r"predictions of model 'm' must be numbers"),
        ({"predictions": {}}, InputError, r"predictions must be a non-empty mapping"),
        ({"predictions": {"Null model": [0.1] * 4}}, InputError, r"may not be called 'Null model'"),
        ({"horizon": -1.0}, DataError, r"horizon must be a finite number >= 0"),
        ({"horizon": float("nan")}, DataError, r"horizon must be a finite number >= 0"),
        ({"cause": 3}, InputError, r"cause must be one of \[1, 2\], but was 3"),
        ({"level": 1.5}, InputError, r"level must be a number in \(0, 1\)"),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, error, match):
    args = {"predictions": {"m": [0.1, 0.2, 0.5, 0.3]}, "horizon": 3.0, **kwargs}
    data = {"time": [1.0, 2.0, 3.0, 4.0], "event": [1, 2, 1, 0]}
    with pytest.raises(error, match=match):
        score(data, args.pop("predictions"), args.pop("horizon"), **args)


#: riskRegression::Score on synth_ties.csv (1000 rows, integer months, events and censorings tied), run by
#: hand (R 4.2.2, riskRegression 2022.11.28): p1 = ((i * 37) %% 101) / 202 + 0.3 * group (many tied risks),
#: p2 = pmin(1, 0.1 + 0.4 * group); Score(list(a = matrix(p1, ncol = 1), b = matrix(p2, ncol = 1)),
#: formula = Hist(time, status) ~ 1, data, cause = 1, times = h, metrics = c("auc", "brier"),
#: cens.model = "km", se.fit = TRUE, null.model = TRUE, contrasts = TRUE, split.method = "none").
#: Per horizon: AUC (a, b), AUC se (a, b), Brier (null, a, b), Brier se (null, a, b), AUC contrast
#: b - a (delta, se), Brier contrasts (a - null, b - null, b - a) delta then se.
SYNTH_CAUSE1 = {
    12: ([0.55283154958120651, 0.56204234762347061], [0.028677804848586706, 0.022800564163760317],
         [0.11875738366408413, 0.22079866252038483, 0.17251420369989864],
         [0.0079818392134042675, 0.0063443315172808205, 0.0061821862668154813],
         [0.0092107980422641011, 0.018120552631066739],
         [0.1020412788563007, 0.053756820035814515, -0.048284458820486181,
          0.0084909235223762543, 0.0063811006861999179, 0.0046248624374149372]),
    24: ([0.54070595346008776, 0.5344694550814223], [0.023367309817242915, 0.019202457363037884],
         [0.17933787524613179, 0.23855129651682794, 0.21352680012966962],
         [0.0072967675450652508, 0.0069945419161637316, 0.0076436439634654796],
         [-0.0062364983786654671, 0.015449450958000602],
         [0.059213421270696148, 0.034188924883537836, -0.025024496387158313,
          0.007921688575066076, 0.0059879891668936959, 0.0052966813520677414]),
}


def _synth():
    d = pd.read_csv(REF / "synth_ties.csv")
    i = np.arange(1, len(d) + 1)
    return d, {"a": ((i * 37) % 101) / 202 + 0.3 * d["group"], "b": np.minimum(1, 0.1 + 0.4 * d["group"])}


@pytest.mark.parametrize("horizon", [12, 24])
def test_heavy_ties_match_score(horizon):
    """Tied times (events before censorings; prodlim's reverse KM lets the events leave first, the
    censoring influence counts them at risk) and tied risks; values in SYNTH_CAUSE1."""
    d, preds = _synth()
    s = score(d, preds, horizon, "time", "status")
    auc, auc_se, brier, brier_se, auc_c, brier_c = SYNTH_CAUSE1[horizon]
    assert_allclose(s.auc["auc"], auc, rtol=RTOL)
    assert_allclose(s.auc["se"], auc_se, rtol=RTOL)
    assert_allclose(s.brier["brier"], brier, rtol=RTOL)
    assert_allclose(s.brier["se"], brier_se, rtol=RTOL)
    assert_allclose(np.r_[s.auc_contrasts["delta"], s.auc_contrasts["se"]], auc_c, rtol=RTOL)
    assert_allclose(np.r_[s.brier_contrasts["delta"], s.brier_contrasts["se"]], brier_c, rtol=RTOL)


def test_cause_two_matches_score_with_the_cause_coded_one():
    """cause = 2: the AUC and its SE equal R's Score(..., cause = 1) on the data with causes 1 and 2
    swapped (R, by hand: AUC 0.5187865865328376, 0.53593579319194107, se 0.030324988328169298,
    0.026859330615807767 at 12 months; contrast se 0.02257312296838845).

    Finding: Score(..., cause = 2) on the unswapped data gives the same AUCs but SEs 0.028773650586961557
    and 0.022874334855258693: riskRegression 2022.11.28's C++ influence function (getIC0AUC and its
    censoring term) takes status 1 as the case whatever the cause, so its AUC SE for a cause other than 1
    mixes the roles.  leiosurv follows the cause asked for; the Brier SEs agree either way."""
    d, preds = _synth()
    s = score(d, preds, 12, "time", "status", cause=2)
    assert_allclose(s.auc["auc"], [0.5187865865328376, 0.53593579319194107], rtol=RTOL)
    assert_allclose(s.auc["se"], [0.030324988328169298, 0.026859330615807767], rtol=RTOL)
    assert_allclose(s.auc_contrasts["se"], [0.02257312296838845], rtol=RTOL)
    assert_allclose(s.brier["se"], [0.0076126199467109624, 0.0061418948620437881, 0.0057729895830265126],
                    rtol=RTOL)
