"""Calibration: the study pipeline on 10^6 synthetic patients reproduces seed 001.

What is checked (issue 4, item 4), through the whole pipeline
(``synthesize_cohort`` -> ``read_cohort`` -> ``run_study``):

* every published 5-year point estimate (overall risk of each outcome; risk with
  the factor present and absent for the five published factor-outcome pairs)
  lies within 0.5 percentage points of the pipeline's estimate;
* the derived rule (factors whose RD exceeds the thresholds, per outcome) is
  exactly ``evidence.DLMS_HIGH_RISK_FACTORS``.

Two honest caveats, printed with ``pytest -s``:

* Invasion is rare (4 of 381 published, p = 1.05 %): at n = 10^6 only about
  10 500 patients have it, so the pipeline's SE of the invasion-present risks is
  about 0.43 pp (metastasis, 25 %) and 0.49 pp (local recurrence, 50 %) -- as
  large as the 0.5 pp tolerance itself.  For an estimate whose SE exceeds
  0.5/3 pp the test checks instead that the *model's expected* value is within
  0.5 pp of the published one (exact by construction, see ``expected_risks``)
  and that the estimate is within 3 SE of that expectation; every other figure
  (SE <= 0.17 pp) must be within 0.5 pp.
* Mitotic grade 3 on metastasis: the published RD (5.1 pp) exceeds its 5 pp
  threshold by only 0.1 pp; the model's expected RD is exactly 5.1 pp and the SE
  at n = 10^6 is about 0.058 pp, so the derived rule includes it for about 96 %
  of seeds.  The margin of this seed is printed.
"""

from __future__ import annotations

import pytest

from leiosurv.clinical import evidence as ev
from leiosurv.study import expected_risks, read_cohort, run_study, synthesize_cohort

N = 1_000_000
SEED = 1
TOL = 0.005


@pytest.fixture(scope="module")
def result():
    cohort = read_cohort(synthesize_cohort(N, seed=SEED))
    assert cohort.synthetic and cohort.n == N
    return run_study(cohort, progress=False)


def _figures(result):
    """(label, estimate, se, published, model expectation) for every published point."""
    model = {(r.factor, r.outcome, r.quantity): r.model for r in expected_risks().itertuples()}
    out = []
    for outcome, pub in ev.DLMS_OVERALL_5Y.items():
        risk = result.overall[outcome]
        out.append((f"overall {outcome}", risk.estimate, risk.se, pub.estimate,
                    model[("(all)", outcome, "overall")]))
    uni = {(f.factor, f.outcome): f for f in result.univariable}
    for (factor, outcome), pub in ev.DLMS_FACTOR_RISKS.items():
        fr = uni[(factor, outcome)]
        for quantity, risk, published in (("present", fr.present, pub.present), ("absent", fr.absent, pub.absent)):
            out.append((f"{factor} {quantity} {outcome}", risk.estimate, risk.se, published.estimate,
                        model[(factor, outcome, quantity)]))
    return out


def test_five_year_risks_within_half_a_point(result):
    failures = []
    print(f"\ncalibration, n = {N}, seed = {SEED} (pp = percentage points)")
    for label, est, se, published, model in _figures(result):
        precise = 3 * se <= TOL
        print(f"  {label:45s} est {100 * est:7.3f}%  published {100 * published:5.1f}%  "
              f"diff {100 * (est - published):+6.3f} pp  se {100 * se:.3f} pp"
              f"{'' if precise else '  (imprecise: checked against the model, 3 SE)'}")
        assert abs(model - published) <= TOL, label
        if precise:
            if abs(est - published) > TOL:
                failures.append(label)
        elif abs(est - model) > 3 * se:
            failures.append(label)
    assert not failures, f"outside tolerance: {failures}"


def test_derived_rule_is_the_published_rule(result):
    uni = {(f.factor, f.outcome): f for f in result.univariable}
    print()
    for outcome, threshold in ev.DLMS_DERIVATION_THRESHOLDS.items():
        for factor in ev.DLMS_FACTORS:
            fr = uni[(factor, outcome)]
            print(f"  RD {factor:16s} {outcome:16s} {100 * fr.rd:+7.3f} pp (se {100 * fr.rd_se:.3f}) "
                  f"threshold {100 * threshold:.0f} pp, margin {100 * (fr.rd - threshold):+7.3f} pp "
                  f"= {(fr.rd - threshold) / fr.rd_se:+.1f} SE")
    derived = {o: set(v) for o, v in result.rule.by_outcome.items()}
    assert derived == {o: set(v) for o, v in ev.DLMS_HIGH_RISK_FACTORS.items()}
