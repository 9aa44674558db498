"""The clinical core per registry input: what one tumour of a bulk import costs in the core.

    python benchmarks/core_assess.py [--n 3000] [--repeat 3]

Measured, never asserted.  Each call does what the registry's import does with one
tumour's findings (``leiosurv.registry``'s clinical adapter): ``parse_findings``,
``assess``, the assessment as JSON (``model_dump_json(warnings=False)``) and the
findings as JSON (``model_dump(mode="json")``).

Three input sets of ``--n`` tumours each:

* ``shared``: the synthetic cohort (``leiosurv.study`` synth, as ``registry_scale.py`` writes it),
  every diagnosis date 1 July of its year (many tumours share their whole input);
* ``distinct``: the same findings, each with its own diagnosis date (a day of its year), as real
  data has;
* ``varied``: findings drawn over every field the core reads (depth, stains, history, grade, ...),
  each with its own date: few inputs share anything.

Each set is timed ``--repeat`` times (the best is reported) in a fresh order; the process's
first pass over a set is reported too (``cold``: imports and caches of the libraries).

The core's memo of assessments (2026-11-30: shared 0.11, distinct 0.11, varied 0.48 ms a call with
it) was removed with the registry's second pass (issue 20: one implementation of each rule, no
override of ``model_dump_json``): ``assess`` computes every call.  Measured once after the removal
on a loaded machine (load average 10-12 on 2 CPUs, n=1000, best of 3, warm): shared 1.31, distinct
1.19, varied 1.73 ms a call, against 0.39, 0.39, 1.50 for the memoised code in the same run, i.e.
about 3-4x the time for inputs that share everything but the date, the same for varied inputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any

AS_OF = dt.date(2026, 11, 30)


def _cohort(n: int, seed: int, spread: bool) -> list[dict[str, Any]]:
    import pandas as pd

    from leiosurv.study import synthesize_cohort

    df = synthesize_cohort(n, seed=seed)
    rng = random.Random(seed + 1)
    grade_count = {1: 5, 2: 15, 3: 25}
    out = []
    for r in df.itertuples(index=False):
        year = int(r.diagnosis_year)
        day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365)) if spread else dt.date(year, 7, 1)
        inv = {1: "present", 0: "absent"}.get(r.invasion, "unknown") if not pd.isna(r.invasion) else "unknown"
        out.append({
            "excision_date": day.isoformat(), "depth": "dermal",
            "margins": r.margins if isinstance(r.margins, str) else "unknown",
            "necrosis": "unknown" if pd.isna(r.necrosis) else {1: "present", 0: "absent"}[int(r.necrosis)],
            "mitoses": {"count": None if pd.isna(r.mitotic_grade) else grade_count[int(r.mitotic_grade)]},
            "perineural_invasion": inv, "intravascular_invasion": inv,
            "patient": {"age_years": int(r.age)},
        })
    return out


def _varied(n: int, seed: int) -> list[dict[str, Any]]:
    from leiosurv.clinical import evidence, parse_findings
    from leiosurv.exceptions import FindingsError

    rng = random.Random(seed)
    pres = ["present", "absent", "unknown"]
    deg = ["none", "mild", "moderate", "marked", "unknown"]
    stain = ["positive", "focal", "negative", "not_done", "unknown"]
    depths = ["dermal", "subcutaneous", "deep_soft_tissue", "retroperitoneal_visceral", "uterine", "bone", "unknown"]
    out = []
    while len(out) < n:
        day = dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(12_000))
        prior = rng.choice(["present", "absent", "unknown"])
        hist: dict[str, Any] = {"prior_leiomyosarcoma": prior, "prior_aismn": rng.choice(pres)}
        if prior == "present" and rng.random() < 0.5:
            hist["prior_leiomyosarcoma_date"] = (day - dt.timedelta(days=rng.randrange(100, 9000))).isoformat()
        atypia = rng.choice(deg)
        x = {
            "excision_date": day.isoformat(), "depth": rng.choice(depths),
            "site_region": rng.choice(["head_neck", "trunk", "lower_extremity", "retroperitoneum", "unknown"]),
            "margins": rng.choice(["positive", "negative", "unknown"]), "necrosis": rng.choice(pres),
            "atypia": atypia, "pleomorphism": "unknown" if atypia == "none" else rng.choice(deg),
            "growth_pattern": rng.choice(["infiltrative", "circumscribed", "unknown"]),
            "smooth_muscle_morphology": rng.choice(pres), "subcutis_involvement": rng.choice(
                ["none", "focal", "extensive", "unknown"]),
            "mitoses": {"count": rng.choice([None, 0, 2, 5, 9, 15, 25, 40])},
            "perineural_invasion": rng.choice(pres), "intravascular_invasion": rng.choice(pres),
            "fnclcc_grade": rng.choice(["G2", "G3", "unknown"]), "distant_lesion": rng.choice(pres),
            "metastasis_workup": rng.choice(["unknown", "excluded", "confirmed"]) if prior == "present" else "unknown",
            "immunohistochemistry": {s: rng.choice(stain) for s in rng.sample(list(evidence.STAIN_NAMES), 6)},
            "history": hist, "patient": {"age_years": rng.randrange(20, 95), "sex": rng.choice(["female", "male"])},
        }
        try:
            parse_findings(dict(x), today=AS_OF)
        except FindingsError:
            continue  # an impossible combination (refused by design): not an input the import assesses
        out.append(x)
    return out


def _call(findings: dict[str, Any]) -> None:
    from leiosurv.clinical import assess, parse_findings

    f = parse_findings(dict(findings), today=AS_OF)
    a = assess(f, as_of=AS_OF)
    a.model_dump_json(warnings=False)
    f.model_dump(mode="json")


def _time(inputs: list[dict[str, Any]], call: Callable[[dict[str, Any]], None]) -> float:
    t = time.perf_counter()
    for x in inputs:
        call(x)
    return (time.perf_counter() - t) / len(inputs) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sets = {"shared": _cohort(args.n, args.seed, False), "distinct": _cohort(args.n, args.seed, True),
            "varied": _varied(args.n, args.seed)}
    _call(sets["shared"][0])  # imports and first-use costs out of the timings
    print(f"per call (ms), n={args.n}, best of {args.repeat}")
    for name, inputs in sets.items():
        cold = _time(inputs, _call)
        rng = random.Random(args.seed)
        best = []
        for _ in range(args.repeat):
            order = inputs[:]
            rng.shuffle(order)
            best.append(_time(order, _call))
        print(f"  {name:9s} cold {cold:.3f}  warm {min(best):.3f}")


if __name__ == "__main__":
    main()
