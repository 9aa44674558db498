"""Coverage of seed 001's published figures by the pipeline's 95 % CIs on synthetic cohorts.

For each of ``--seeds`` synthetic cohorts of ``--n`` patients (default 200 x 381,
the size of the published cohort), runs the whole pipeline
(``synthesize_cohort`` -> ``read_cohort`` -> ``run_study``, default variance
"delta" and plain CI, as seed 001) and counts, for every published value
(overall 5-year risks; 5-year risk with the factor present and absent and the
risk difference, for the five published factor-outcome pairs):

* how often the *published* value lies inside the pipeline's 95 % CI;
* how often the *model's true* value (``expected_risks()``, the value the
  synthetic cohort is built to have) lies inside it -- the CI's actual coverage;
* how often the derived rule equals ``evidence.DLMS_HIGH_RISK_FACTORS``.

Writes ``benchmarks/results/coverage.md`` (and ``coverage.json``).  Not a test.

    python benchmarks/ci_coverage.py                 # 200 seeds of n = 381
    python benchmarks/ci_coverage.py --seeds 20      # quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover
        mem = "? GiB"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}"


def _inside(value: float, lower: float | None, upper: float | None) -> bool | None:
    if lower is None or upper is None or lower != lower or upper != upper:
        return None
    return lower <= value <= upper


def run(n: int, seeds: int, first_seed: int) -> dict:
    from leiosurv.clinical import evidence as ev
    from leiosurv.exceptions import LeiosurvError, StatisticalWarning
    from leiosurv.study import expected_risks, read_cohort, run_study, synthesize_cohort

    model = {(r.factor, r.outcome, r.quantity): r.model for r in expected_risks().itertuples()}
    hits_pub: dict[tuple, int] = defaultdict(int)
    hits_model: dict[tuple, int] = defaultdict(int)
    usable: dict[tuple, int] = defaultdict(int)
    rule_equal = 0
    rule_counts: dict[str, dict[str, int]] = {o: defaultdict(int) for o in ev.DLMS_OUTCOMES}
    n_warned = 0
    failures: list[tuple[int, str]] = []
    t0 = time.perf_counter()
    for seed in range(first_seed, first_seed + seeds):
        done = seed - first_seed + 1
        if done % 20 == 0:
            print(f"  {done}/{seeds} seeds, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StatisticalWarning)
            try:
                res = run_study(read_cohort(synthesize_cohort(n, seed=seed)), progress=False)
            except LeiosurvError as exc:  # reported, not hidden: the cohort counts as a failure
                failures.append((seed, f"{type(exc).__name__}: {exc}"))
                res = None
        if res is None:
            continue
        n_warned += any(issubclass(w.category, StatisticalWarning) for w in caught)
        items = []
        for outcome, pub in ev.DLMS_OVERALL_5Y.items():
            r = res.overall[outcome]
            items.append((("(all)", outcome, "overall"), pub.estimate, r.lower, r.upper))
        uni = {(f.factor, f.outcome): f for f in res.univariable}
        for (factor, outcome), pub in ev.DLMS_FACTOR_RISKS.items():
            fr = uni[(factor, outcome)]
            for q, risk, p in (("present", fr.present, pub.present), ("absent", fr.absent, pub.absent)):
                items.append(((factor, outcome, q), p.estimate,
                              None if risk is None else risk.lower, None if risk is None else risk.upper))
            items.append(((factor, outcome, "difference"), pub.difference.estimate, fr.rd_lower, fr.rd_upper))
        for key, published, lo, hi in items:
            inside = _inside(published, lo, hi)
            if inside is None:
                continue
            usable[key] += 1
            hits_pub[key] += inside
            hits_model[key] += bool(_inside(model[key], lo, hi))
        derived = {o: set(v) for o, v in res.rule.by_outcome.items()}
        rule_equal += derived == {o: set(v) for o, v in ev.DLMS_HIGH_RISK_FACTORS.items()}
        for o, fs in derived.items():
            for f in fs:
                rule_counts[o][f] += 1
    elapsed = time.perf_counter() - t0
    rows = []
    order = {"overall": 0, "present": 1, "absent": 2, "difference": 3}
    for key in sorted(usable, key=lambda k: (ev.DLMS_OUTCOMES.index(k[1]), k[0] != "(all)", k[0], order[k[2]])):
        rows.append({
            "factor": key[0], "outcome": key[1], "quantity": key[2],
            "published": _published(ev, key),
            "model": model[key],
            "n_cohorts": usable[key],
            "published_covered": hits_pub[key] / usable[key],
            "model_covered": hits_model[key] / usable[key],
        })
    return {
        "n": n, "seeds": seeds, "first_seed": first_seed, "elapsed_s": elapsed,
        "rows": rows, "rule_equal": rule_equal / seeds, "failures": failures,
        "rule_counts": {o: dict(v) for o, v in rule_counts.items()},
        "cohorts_with_statistical_warning": n_warned,
    }


def _published(ev, key) -> float:
    factor, outcome, quantity = key
    if factor == "(all)":
        return ev.DLMS_OVERALL_5Y[outcome].estimate
    fr = ev.DLMS_FACTOR_RISKS[(factor, outcome)]
    return getattr(fr, quantity).estimate


def write(result: dict, command: str) -> Path:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "coverage.json").write_text(json.dumps(result, indent=2))
    lines = [
        "## Coverage of seed 001's published figures on synthetic cohorts",
        "",
        f"{result['seeds']} synthetic cohorts (seeds {result['first_seed']}-{result['first_seed'] + result['seeds'] - 1}) "
        f"of n = {result['n']}, each through `read_cohort` -> `run_study` (delta-method SE, plain Wald CI "
        "truncated to [0, 1], RD CI rd +/- z sqrt(se1^2 + se0^2)). *Published covered*: share of cohorts whose 95 % CI "
        "contains the published value; *model covered*: share whose CI contains the value the synthetic model is built "
        "to have (`expected_risks()`), i.e. the CI's real coverage. *Cohorts* counts those where the CI exists "
        "(a group can be empty at n = 381).",
        "",
        "| outcome | factor | quantity | published | model | cohorts | published covered | model covered |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['outcome']} | {r['factor']} | {r['quantity']} | {100 * r['published']:.1f}% | "
            f"{100 * r['model']:.2f}% | {r['n_cohorts']} | {100 * r['published_covered']:.1f}% | "
            f"{100 * r['model_covered']:.1f}% |"
        )
    rc = result["rule_counts"]
    lines += [
        "",
        f"Derived rule equal to the published rule (`DLMS_HIGH_RISK_FACTORS`): "
        f"**{100 * result['rule_equal']:.1f}%** of cohorts.",
        "How often each factor entered the derived rule: "
        + "; ".join(f"{o}: " + ", ".join(f"{f} {100 * c / result['seeds']:.0f}%" for f, c in sorted(v.items()))
                    for o, v in rc.items()) + ".",
        f"Cohorts on which `run_study` failed (left out of the coverage columns, counted as rule not equal"
        f"): {len(result['failures'])} of {result['seeds']}"
        + ("" if not result["failures"] else " -- " + "; ".join(
            f"seed {s}: {m}" for s, m in result["failures"][:5]) + ("; ..." if len(result["failures"]) > 5 else ""))
        + ".",
        f"Cohorts in which the pipeline raised a StatisticalWarning (few at risk, etc.): "
        f"{result['cohorts_with_statistical_warning']} of {result['seeds']}.",
        "",
        "Reading: the published and the model values differ by at most 0.5 pp, so the two coverage columns "
        "nearly agree; where coverage is below 95 % it is the plain Wald interval (the one seed 001 used) that "
        "undercovers when events are few: about 9 metastases in 381 patients, and about 4 patients with "
        "invasion, among whom a cohort with no metastasis gets the degenerate CI 0 (0 to 0). Cohorts where a "
        "group is empty or its follow-up ends before 5 years have no CI for that figure (the pipeline reports it "
        "as not estimable) and are not counted. The published rule is reproduced in few cohorts of this size "
        "because at n = 381 every published RD is within about two of its SEs (4 to 30 pp) of its threshold, "
        "e.g. mitotic grade 3 at 5.1 vs 5 pp, and invasion rests on about 4 patients.",
        "",
        f"Command: `{command}`  ",
        f"Machine: {_machine()}  ",
        f"Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; wall time {result['elapsed_s']:.0f} s.",
        "",
    ]
    path = out / "coverage.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=381)
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--first-seed", type=int, default=1)
    args = ap.parse_args(argv)
    result = run(args.n, args.seeds, args.first_seed)
    cmd = "python benchmarks/ci_coverage.py" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in (("n", args.n), ("seeds", args.seeds), ("first_seed", args.first_seed))
        if v != {"n": 381, "seeds": 200, "first_seed": 1}[k]
    )
    print(f"wrote {write(result, cmd)}")


if __name__ == "__main__":
    main()
