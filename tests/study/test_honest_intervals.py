"""Honest intervals: an estimate from few patients or events, or with SE 0, is flagged wherever it appears
(tables, prose, forest plot, validation) and never called significant; the log-log option."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from study_cohorts import cohort_frame

from leiosurv.exceptions import InputError
from leiosurv.study import (
    MIN_EVENTS,
    MIN_PATIENTS,
    FactorResult,
    Risk,
    forest_plot,
    read_cohort,
    render_report,
    result_tables,
    results_text,
    run_study,
    validate_rule,
)
from leiosurv.study._analysis import mover_bounds
from leiosurv.study._results import FLAG_MARK, interval_flags


def _four_invaded_without_recurrence() -> pd.DataFrame:
    """Invasion present in exactly 4 patients, none of whom has a local recurrence (the issue's example)."""
    df = cohort_frame(400, seed=8, missing=0.0)
    inv = df.index[df["invasion"] == 1]
    df.loc[inv[4:], "invasion"] = 0.0
    four = inv[:4]
    df.loc[four, "lr_status"] = df.loc[four, "lr_status"].replace(1, 0)
    return df


@pytest.fixture(scope="module")
def cohort():
    return read_cohort(_four_invaded_without_recurrence())


@pytest.fixture(scope="module")
def result(cohort):
    return run_study(cohort)


@pytest.fixture(scope="module")
def files(result):
    return render_report(result)


def test_the_zero_of_four_group_is_flagged(result):
    r = result.factor_result("invasion", "local_recurrence")
    assert r.n_present == 4 and r.present.n_events == 0 and r.present.se == 0
    assert r.present.flags == ("4 patients (fewer than 10)", "0 events (fewer than 5)",
                               "standard error 0: exact bound shown")
    assert r.flagged and r.flags[0].startswith("factor present: ")
    # the Wald interval of the difference would exclude 0 (it ignores the zero-variance arm); built by MOVER
    # from the arms' intervals, with the exact bound of the 0-of-4 arm, it does not - and it is flagged
    wald_upper = r.rd + 1.959963984540054 * r.rd_se
    assert wald_upper < 0 < r.rd_upper and not r.significant
    assert (r.rd_lower, r.rd_upper) == pytest.approx(mover_bounds(r.present, r.absent), rel=1e-15)
    # an unflagged difference whose interval excludes 0 is significant
    sig = [x for x in result.univariable if not x.flagged and (x.rd_lower > 0 or x.rd_upper < 0)]
    assert sig and all(x.significant for x in sig)


def test_flagged_in_the_tables(result):
    uni = result_tables(result)["univariable"]
    row = uni[(uni["factor"] == "invasion") & (uni["outcome"] == "local_recurrence")].iloc[0]
    assert bool(row["rd_flagged"]) and not bool(row["rd_significant"])
    assert "standard error 0" in row["present_flags"] and row["present_n_events"] == 0
    unflagged = uni[~uni["rd_flagged"]]
    assert (unflagged["present_flags"].fillna("") == "").all()


def test_flagged_in_the_html(result, files):
    html = files["report.html"].decode()
    table = html[html.index('id="univariable"'):html.index("</table>", html.index('id="univariable"'))]
    row = next(tr for tr in table.split("<tr>") if "Perineural or intravascular invasion" in tr
               and "Local recurrence" in tr)
    r = result.factor_result("invasion", "local_recurrence")
    assert f"{r.present.format()} {FLAG_MARK}" in row and f"{r.format_rd()} {FLAG_MARK}" in row
    assert 'class="num flagged"' in row
    foot = html[html.index("</table>", html.index('id="univariable"')):html.index('id="forest-plot"')]
    assert "Perineural or intravascular invasion, local recurrence" in foot
    assert "factor present: 4 patients (fewer than 10)" in foot and "standard error 0" in foot


def test_flagged_in_the_prose(result):
    text = " ".join(results_text(result))
    r = result.factor_result("invasion", "local_recurrence")
    # 0 events among the 4: the exact bound 0 to 1 - 0.025^(1/k), k the invaded not censored before 5 years
    df = _four_invaded_without_recurrence()
    four = df[df["invasion"] == 1]
    k = int(((four["lr_status"] != 0) | (four["lr_time"] >= 1826.25)).sum())
    assert k == 3 and r.present.interval == "exact"
    assert r.present.upper == pytest.approx(1 - 0.025 ** (1 / k), rel=1e-12)
    assert f"{r.present.estimate * 100:.1f}%{FLAG_MARK} (95% CI 0.0 to 70.8, exact bound) in 4 patients" in text
    assert "0.0 to 0.0" not in text
    sentence = next(s for s in text.split("With ") if s.startswith("perineural or intravascular invasion present, "
                                                                  "the 5-year risk of local recurrence"))
    assert "not interpreted: it rests on an unreliable estimate" in sentence and "significant" not in sentence
    assert "Perineural or intravascular invasion, local recurrence, factor present — 4 patients" in text
    assert "significant" not in text  # the prose never calls a difference significant


def test_flagged_in_the_forest_plot(result):
    fig = forest_plot(result)
    ax = next(a for a in fig.axes if a.get_title(loc="left") == "Local recurrence")
    r = result.factor_result("invasion", "local_recurrence")
    hollow = [ln for ln in ax.lines if ln.get_marker() == "D"]
    assert any(ln.get_xdata()[0] == pytest.approx(100 * r.rd) and ln.get_markerfacecolor() == "white"
               for ln in hollow)
    texts = " ".join(t.get_text() for t in fig.texts) + " ".join(t.get_text() for a in fig.axes for t in a.texts)
    assert f"{FLAG_MARK} Perineural or intravascular invasion (local recurrence): factor present: 4 patients" in texts
    assert f"{r.format_rd()} {FLAG_MARK}" in texts


def test_flagged_in_print_and_validation(cohort, result):
    assert f"{FLAG_MARK} interval not reliable" in str(result)
    val = validate_rule(cohort)
    c = next(c for c in val.comparisons if (c.factor, c.outcome, c.quantity) == ("invasion", "local_recurrence",
                                                                                    "present"))
    assert c.status == "not assessable" and "standard error 0" in c.message and c.flags


def test_thresholds_are_named_parameters(cohort):
    loose = run_study(cohort, min_patients=3, min_events=0)
    r = loose.factor_result("invasion", "local_recurrence")
    assert r.present.flags == ("standard error 0: exact bound shown",)  # SE 0 is always flagged
    m = loose.factor_result("invasion", "metastasis")
    assert m.present.n == 4 and not m.present.flagged and not m.flagged
    assert loose.provenance["min_patients"] == 3 and loose.provenance["min_events"] == 0
    assert (MIN_PATIENTS, MIN_EVENTS) == (10, 5)


@pytest.mark.parametrize("kwargs, message", [
    ({"min_patients": -1}, "min_patients must be a whole number >= 0, but was -1"),
    ({"min_events": 2.5}, "min_events must be a whole number >= 0, but was 2.5"),
    ({"ci": "log"}, "ci must be one of 'plain', 'log-log', but was 'log'"),
    ({"variance": "greenwood"}, "variance must be one of 'delta', 'aalen', but was 'greenwood'"),
    ({"landmarks_years": [0, 7]}, r"landmarks_years must lie in \[0, horizon\) = \[0, 5\) years, but contained 7"),
])
def test_bad_options_name_themselves(cohort, kwargs, message):
    with pytest.raises(InputError, match=message):
        run_study(cohort, **kwargs)


@given(n=st.integers(0, 40), events=st.integers(0, 40), se=st.sampled_from([0.0, 1e-9, 0.05]),
       mp=st.integers(0, 20), me=st.integers(0, 10))
def test_interval_flags_property(n, events, se, mp, me):
    flags = interval_flags(n, events, se, min_patients=mp, min_events=me)
    assert bool(flags) == (n < mp or events < me or se == 0)


@given(rd=st.floats(-0.5, 0.5), half=st.floats(0, 0.3), flagged=st.booleans())
def test_never_significant_when_flagged(rd, half, flagged):
    r = FactorResult("f", "F", "metastasis", 10, 0, 5, 5, None, None, rd, half, rd - half, rd + half,
                     flags=("x",) if flagged else ())
    assert r.significant == (not flagged and (rd - half > 0 or rd + half < 0))


def test_log_log_option_builds_the_rd_interval_from_the_group_intervals():
    cohort = read_cohort(cohort_frame(600, seed=3))
    plain = run_study(cohort)
    ll = run_study(cohort, ci="log-log")
    for a, b in zip(plain.univariable, ll.univariable):
        assert a.rd == b.rd and a.present.estimate == b.present.estimate and a.present.se == b.present.se
        est, se = b.present.estimate, b.present.se
        w = ll.provenance and 1.959963984540054 * se / (est * abs(math.log(est)))
        assert b.present.lower == pytest.approx(est ** math.exp(w), rel=1e-12)
        assert (b.rd_lower, b.rd_upper) == mover_bounds(b.present, b.absent)
        assert b.rd_lower != a.rd_lower  # not the Wald interval
    methods = " ".join(__import__("leiosurv.study", fromlist=["methods_text"]).methods_text(ll))
    assert "log–log transformed intervals" in methods and "MOVER" in methods


def test_mover_equals_wald_for_untruncated_wald_intervals():
    z = 1.959963984540054
    for p1, s1, p0, s0 in ((0.3, 0.05, 0.1, 0.02), (0.5, 0.2, 0.45, 0.01)):
        a = Risk(p1, s1, p1 - z * s1, p1 + z * s1, 50, 10, False)
        b = Risk(p0, s0, p0 - z * s0, p0 + z * s0, 50, 10, False)
        lo, hi = mover_bounds(a, b)
        se = math.sqrt(s1 ** 2 + s0 ** 2)
        assert lo == pytest.approx(p1 - p0 - z * se, rel=1e-12) and hi == pytest.approx(p1 - p0 + z * se, rel=1e-12)


def test_html_has_no_column_names_raw_python_or_mixed_p_values(files):
    html = files["report.html"].decode()
    visible = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    files_line = visible[visible.index("Files written with this report"):]
    body = visible[:visible.index("Files written with this report")]
    for name in ("mitotic_grade_3", "positive_margins", "local_recurrence", "met_time"):
        assert name not in body, name
    assert "files" not in files_line or "report.html" in files_line
    prov = html[html.index('id="provenance-table"'):]
    prov = prov[:prov.index("</table>")]
    assert not re.search(r"\[['\"0-9a-z]|\{['\"]|': |True|False|None", prov.replace("[0, 1]", "")), prov
    ps = re.findall(r"\bp\s*(?:[<=]\s*)?[0-9.]+", re.sub(r"\s+", " ", body))
    assert ps and all(re.fullmatch(r"p (<|=) [0-9.]+", p) for p in ps), ps
    assert "disagreement(s)" not in html


def test_period_labels_follow_the_data(result, cohort):
    last = int(np.max(cohort.factor_frame([])["diagnosis_year"]))
    periods = [r.level for r in result.table1 if r.variable == "Diagnosis period"]
    assert periods[-1].endswith(str(last)) and all(int(p.split("-")[-1]) <= last for p in periods)
