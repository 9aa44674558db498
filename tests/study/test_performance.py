"""validate-rule's discrimination and calibration, and the multivariable table in the study (issue 24, item 5).

The AUC is :func:`leiosurv.stats.score` (tested against riskRegression::Score in
tests/stats/test_score.py) on the rule's groups, recomputed here from the
factor columns by hand; the observed risks are :func:`cumulative_incidence`
per stratum, called directly; the predicted risks are the evidence package's
published figures, and the rule's groups (no published risk) have none.
"""

from __future__ import annotations

import json
import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from study_cohorts import cohort_frame

from leiosurv.clinical import evidence
from leiosurv.interfaces.cli import main
from leiosurv.stats import cumulative_incidence, score
from leiosurv.study import (
    PREDICTED_RULE,
    RuleValidation,
    StudyResult,
    calibration_plot,
    read_cohort,
    render_report,
    rule_performance,
    run_study,
    synthesize_cohort,
    validate_rule,
)

COLS = {"metastasis": ("met_time", "met_status"), "local_recurrence": ("lr_time", "lr_status")}


@cache
def cohort(n: int = 2000, seed: int = 3, missing: float = 0.05):
    return read_cohort(synthesize_cohort(n, seed=seed, missing=missing))


@cache
def validation(n: int = 2000, seed: int = 3, missing: float = 0.05) -> RuleValidation:
    return validate_rule(cohort(n, seed, missing), progress=False)


def _frame(c):
    factors = list(evidence.DLMS_FACTORS)
    return c.factor_frame(factors), [f for f in dict.fromkeys(
        f for fs in evidence.DLMS_HIGH_RISK_FACTORS.values() for f in fs)]


def test_auc_equals_score_called_directly():
    """Each AUC, SE and CI is score() on the high (1) / low (0) marker and on the count of rule factors present."""
    c, v = cohort(), validation()
    df, rule = _frame(c)
    vals = df[rule].astype("Float64")
    high = (vals == 1).fillna(False).any(axis=1).to_numpy(bool)
    low = (vals.notna().all(axis=1) & (vals == 0).fillna(False).all(axis=1)).to_numpy(bool)
    assert (high & low).sum() == 0 and (~(high | low)).sum() > 0  # some tumours are incomplete and left out
    recorded = df[rule].notna().all(axis=1).to_numpy()
    h = v.study.horizon_days
    perf = v.performance
    assert perf is not None and len(perf.discrimination) == 4
    for d in perf.discrimination:
        t, s = COLS[d.outcome]
        if d.marker == "rule_group":
            keep = high | low
            marker = high[keep].astype(float)
        else:
            keep = recorded
            marker = df.loc[keep, rule].astype(float).sum(axis=1).to_numpy() / len(rule)
        rows = pd.DataFrame({"time": df.loc[keep, t].to_numpy(float), "status": df.loc[keep, s].to_numpy(int)})
        ref = score(rows, {"m": marker}, h, "time", "status", cause=1, null_model=False).auc.iloc[0]
        assert_allclose([d.auc, d.se, d.lower, d.upper], [ref["auc"], ref["se"], ref["lower"], ref["upper"]],
                        rtol=1e-12)
        assert d.n == int(keep.sum())
        assert d.n_cases == int(((rows.time <= h) & (rows.status == 1)).sum())
        assert d.n_competing == int(((rows.time <= h) & (rows.status == 2)).sum())
        assert d.n_cases + d.n_competing + d.n_censored + d.n_event_free == d.n
        assert 0.5 < d.auc < 1 and d.lower < d.auc < d.upper


def test_observed_risks_equal_cumulative_incidence_per_group():
    """Observed = cumulative_incidence of the stratum at the horizon (overall, each factor arm, each rule group)."""
    c, v = cohort(), validation()
    df, rule = _frame(c)
    h = v.study.horizon_days
    vals = df[rule].astype("Float64")
    low = vals.notna().all(axis=1) & (vals == 0).fillna(False).all(axis=1)
    grp = pd.Series(np.where((vals == 1).fillna(False).any(axis=1), "high", np.where(low, "low", "incomplete")),
                    index=df.index)
    seen = set()
    for p in v.performance.calibration:
        t, s = COLS[p.outcome]
        if p.kind == "overall":
            sub, g, key = df[[t, s]].assign(g="all"), "g", "all"
        elif p.kind == "factor":
            sub = df.loc[df[p.factor].notna(), [t, s, p.factor]].astype({p.factor: int})
            g, key = p.factor, 1 if p.arm == "present" else 0
        else:
            sub = df[[t, s]].assign(g=grp)[grp != "incomplete"]
            g, key = "g", p.arm
        at = cumulative_incidence(sub, t, s, g).at(h)
        row = at[(at["group"] == key) & (at["cause"] == 1)].iloc[0]
        assert_allclose([p.observed, p.observed_se, p.observed_lower, p.observed_upper],
                        [row["estimate"], row["se"], row["lower"], row["upper"]], rtol=1e-12, atol=1e-15)
        assert p.n == int((sub[g] == key).sum())
        seen.add((p.outcome, p.kind))
    assert {k for _, k in seen} == {"overall", "factor", "group"}


def test_predicted_is_the_published_figure_and_no_group_risk_is_invented():
    """Every published stratum is compared with its published risk; the rule's groups carry NaN, said in words."""
    perf = validation().performance
    factor_points = [p for p in perf.calibration if p.kind == "factor"]
    assert len(factor_points) == 2 * len(evidence.DLMS_FACTOR_RISKS) == 10
    for p in factor_points:
        pub = getattr(evidence.DLMS_FACTOR_RISKS[(p.factor, p.outcome)], p.arm)
        assert (p.predicted, p.predicted_lower, p.predicted_upper) == (pub.estimate, pub.lower, pub.upper)
        assert p.predicted_text.startswith(pub.printed["estimate"]) and p.predicted_source.startswith("seed-001")
    for p in (p for p in perf.calibration if p.kind == "overall"):
        assert p.predicted == evidence.DLMS_OVERALL_5Y[p.outcome].estimate and math.isnan(p.predicted_lower)
    groups = [p for p in perf.calibration if p.kind == "group"]
    assert len(groups) == 4
    assert all(math.isnan(p.predicted) and not p.published and "no risk per rule group" in p.predicted_source
               for p in groups)
    assert "no risk for the rule's high or low group" in PREDICTED_RULE


def test_performance_round_trips_and_is_in_json_csv_and_report():
    v = validation()
    back = RuleValidation.from_dict(json.loads(v.to_json()))
    assert back.to_dict() == v.to_dict() and back.performance is not None
    files = render_report(v)
    payload = json.loads(files["result.json"])
    assert len(payload["performance"]["discrimination"]) == 4
    disc = pd.read_csv(pd.io.common.BytesIO(files["discrimination.csv"]))
    assert_allclose(disc["auc"], [d.auc for d in v.performance.discrimination], rtol=1e-15)
    assert disc["synthetic"].all()
    cal = pd.read_csv(pd.io.common.BytesIO(files["calibration.csv"]))
    assert len(cal) == len(v.performance.calibration) and cal["predicted"].isna().sum() == 4
    html = files["report.html"].decode()
    assert 'id="discrimination"' in html and 'id="calibration"' in html and 'id="fig-calibration"' in html
    assert html.index('id="published-comparison"') < html.index('id="performance"') < html.index('id="provenance"')
    assert "calibration.png" in files and "calibration.svg" in files


def test_calibration_figure_has_units_diagonal_and_intervals():
    fig = calibration_plot(validation().performance, synthetic=True)
    axes = [a for a in fig.axes if (a.get_gid() or "").startswith("calibration-")]
    assert [a.get_gid() for a in axes] == ["calibration-metastasis", "calibration-local_recurrence"]
    for ax in axes:
        assert ax.get_xlabel() == "Published 5-year risk (%)"
        assert ax.get_ylabel().startswith("Observed 5-year risk in this cohort (%)")
        diag = [ln for ln in ax.lines if ln.get_label() == "perfect agreement"]
        assert len(diag) == 1 and list(diag[0].get_xdata()) == list(diag[0].get_ydata())
        assert ax.collections  # error bars (the intervals)
    assert "SYNTHETIC DATA" in fig._suptitle.get_text()


def test_a_marker_without_contrast_gives_a_note_not_an_error():
    """All four factors recorded absent: everybody is low risk, no AUC, the validation still completes."""
    df = cohort_frame(300, seed=5, missing=0.0)
    df["necrosis"] = 0
    df["invasion"] = 0
    df["mitotic_grade"] = 1
    df["margins"] = "negative"
    v = validate_rule(read_cohort(df), progress=False)
    assert all(math.isnan(d.auc) and "same" in d.note for d in v.performance.discrimination)
    high = [p for p in v.performance.calibration if p.kind == "group" and p.arm == "high"]
    assert all(math.isnan(p.observed) for p in high)
    assert "not computed" in render_report(v)["report.html"].decode()


def test_rule_performance_is_what_validate_rule_holds():
    c, v = cohort(), validation()
    assert rule_performance(c, v.study).to_dict() == v.performance.to_dict()


# ---------------------------------------------------------------------------
# the multivariable table in the study
# ---------------------------------------------------------------------------
@cache
def small_study(multivariable: bool) -> StudyResult:
    return run_study(read_cohort(synthesize_cohort(381, seed=1)), progress=False, multivariable=multivariable)


def test_multivariable_in_report_json_and_csv_only_when_asked():
    on, off = small_study(True), small_study(False)
    assert off.multivariable == () and "multivariable" not in off.provenance
    assert [m.outcome for m in on.multivariable] == ["metastasis", "local_recurrence"]
    assert on.provenance["multivariable"] is True
    f_on, f_off = render_report(on), render_report(off)
    assert json.loads(f_on["result.json"])["multivariable"][0]["outcome"] == "metastasis"
    assert json.loads(f_off["result.json"])["multivariable"] == []
    assert "multivariable.csv" in f_on and "multivariable.csv" not in f_off
    h_on, h_off = f_on["report.html"].decode(), f_off["report.html"].decode()
    assert 'id="multivariable"' in h_on and 'id="multivariable"' not in h_off
    assert StudyResult.from_dict(json.loads(on.to_json())).to_dict() == on.to_dict()


def test_too_few_events_shows_the_exploratory_flag_with_its_threshold_and_source():
    """381 patients: 6 metastases (1 per variable) -> exploratory, with 10 and Peduzzi named in the report."""
    res = small_study(True)
    met = res.multivariable[0]
    assert met.exploratory and met.n_events < 6 * met.min_events_per_variable
    html = render_report(res)["report.html"].decode()
    i = html.index('id="multivariable-exploratory-metastasis"')
    assert "fewer than 10 events per variable" in html[i:i + 400] and "Peduzzi" in html[i:i + 400]
    assert 'id="multivariable-metastasis"' in html  # the table is still shown, flagged
    assert "Subdistribution HR" in html


def test_a_model_that_cannot_be_estimated_shows_its_note_and_the_study_goes_on():
    res = small_study(True)
    lr = res.multivariable[1]
    assert lr.rows == () and "did not converge" in lr.note
    html = render_report(res)["report.html"].decode()
    assert 'id="multivariable-note-local_recurrence"' in html and 'id="multivariable-local_recurrence"' not in html
    csv = pd.read_csv(pd.io.common.BytesIO(render_report(res)["multivariable.csv"]))
    assert (csv["outcome"] == "local_recurrence").sum() == 1 and "did not converge" in csv["note"].iloc[-1]


def test_multivariable_must_be_a_bool():
    from leiosurv.exceptions import InputError

    with pytest.raises(InputError, match="multivariable must be True or False"):
        run_study(cohort(), multivariable="yes")


def test_cli_study_multivariable_flag_and_validate_rule_performance(tmp_path, capsys):
    src = tmp_path / "c.parquet"
    assert main(["synth", "--n", "381", "--seed", "1", "--out", str(src)]) == 0
    capsys.readouterr()
    assert main(["study", str(src), "--out", str(tmp_path / "plain"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Multivariable" not in out and not (tmp_path / "plain" / "multivariable.csv").exists()
    assert main(["study", str(src), "--out", str(tmp_path / "mv"), "--multivariable", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "EXPLORATORY (< 10 events per variable" in out and (tmp_path / "mv" / "multivariable.csv").exists()
    assert main(["validate-rule", str(src), "--out", str(tmp_path / "val"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Discrimination: time-dependent AUC at 5 years" in out
    assert "Metastasis, high vs low risk group: AUC 0." in out
    assert "no risk per rule group" in out
    assert out.rstrip().splitlines()[-1].startswith("Report:")
    for name in ("discrimination.csv", "calibration.csv", "calibration.png", "calibration.svg"):
        assert (tmp_path / "val" / name).exists()


def test_docstring_examples_run():
    import doctest

    from leiosurv.study import _performance

    failed, tried = doctest.testmod(_performance, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failed == 0
