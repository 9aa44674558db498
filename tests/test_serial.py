"""One serialisation style across clinical, study and statistics results (issue 10, leiosurv.serial).

Every result class is a :class:`leiosurv.serial.Serialisable`: ``to_dict`` gives
JSON-safe Python that its own ``json_schema()`` accepts, ``from_dict`` rebuilds
the same result (``to_dict`` again is identical), and malformed input is one
InputError line naming the field.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import math
from pathlib import Path

import jsonschema_rs
import numpy as np
import pytest

from leiosurv import clinical, stats, study
from leiosurv.casefile import load_case
from leiosurv.exceptions import InputError
from leiosurv.serial import Serialisable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results():
    """One instance of every result class, built by the code that makes it."""
    a = clinical.assess(load_case(ROOT / "examples" / "teaching_dermal_lms_high.yaml"), as_of=dt.date(2026, 11, 29))
    cohort = study.read_cohort(study.synthesize_cohort(600, seed=11))
    s = study.run_study(cohort, landmarks_years=[1])
    v = study.validate_rule(cohort)
    rng = np.random.default_rng(5)
    n = 400
    data = {"time": np.ceil(rng.exponential(900, n)), "event": rng.integers(0, 3, n),
            "group": rng.choice(["a", "b", "c"], n)}
    cif = stats.cumulative_incidence(data, group="group")
    return {
        "Assessment": a, "Diagnosis": a.diagnosis, "RiskResult": a.risk, "SurveillancePlan": a.plan,
        "Applicability": a.applicability,
        "StudyResult": s, "RuleValidation": v, "Risk": s.overall["metastasis"], "Curve": s.curves[0],
        "Table1Row": s.table1[1], "FactorResult": s.univariable[0], "GroupResult": s.groups["metastasis"],
        "Rule": s.rule, "Comparison": v.comparisons[0], "ConditionalRisk": s.conditional[0],
        "CumulativeIncidence": cif, "KaplanMeier": stats.kaplan_meier(data, group="group"),
        "RiskDifference": stats.risk_difference(cif, [365, 730]),
        "GrayTest": stats.gray_test(data, group="group"),
        "ConditionalIncidence": stats.conditional_incidence(data, landmark=365, group="group"),
    }


def test_every_result_class_is_serialisable(results):
    """The public result classes of the three packages, found by name, all share the one style."""
    public = {
        clinical: ("Assessment", "Diagnosis", "RiskResult", "SurveillancePlan", "Applicability"),
        study: ("StudyResult", "RuleValidation", "Risk", "Curve", "Table1Row", "FactorResult", "GroupResult",
                "Rule", "Comparison", "ConditionalRisk"),
        stats: ("CumulativeIncidence", "KaplanMeier", "RiskDifference", "GrayTest", "ConditionalIncidence"),
    }
    for module, names in public.items():
        for name in names:
            cls = getattr(module, name)
            assert inspect.isclass(cls) and issubclass(cls, Serialisable), f"{module.__name__}.{name}"
            assert name in results, name
    # no hand-written serialiser left beside the shared one
    for module, names in public.items():
        for name in names:
            cls = getattr(module, name)
            for meth in ("to_dict", "from_dict", "json_schema"):
                assert getattr(cls, meth).__qualname__.startswith("Serialisable."), f"{name}.{meth} overridden"


def _has_nan(x) -> bool:
    if isinstance(x, float):
        return not math.isfinite(x)
    if isinstance(x, dict):
        return any(_has_nan(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_has_nan(v) for v in x)
    return False


@pytest.mark.parametrize("name", [
    "Assessment", "Diagnosis", "RiskResult", "SurveillancePlan", "Applicability", "StudyResult", "RuleValidation",
    "Risk", "Curve", "Table1Row", "FactorResult", "GroupResult", "Rule", "Comparison", "ConditionalRisk",
    "CumulativeIncidence", "KaplanMeier", "RiskDifference", "GrayTest", "ConditionalIncidence",
])
def test_round_trip_and_schema(results, name):
    obj = results[name]
    cls = type(obj)
    d = obj.to_dict()
    text = json.dumps(d, allow_nan=False)  # NaN and infinities are written as null
    assert not _has_nan(d)
    jsonschema_rs.validator_for(cls.json_schema()).validate(json.loads(text))
    again = cls.from_json(text)
    assert type(again) is cls
    assert again.to_dict() == d
    assert json.loads(obj.to_json()) == d


def test_nan_reads_back_as_nan(results):
    s = results["StudyResult"]
    d = s.to_dict()
    d["overall"]["metastasis"]["se"] = None
    back = study.StudyResult.from_dict(d)
    assert math.isnan(back.overall["metastasis"].se)


@pytest.mark.parametrize("name, mutate, expected", [
    ("StudyResult", lambda d: d["table1"][0].update(variable=1), "StudyResult: table1.0.variable:"),
    ("Risk", lambda d: d.update(n="many"), "Risk: n:"),
    ("CumulativeIncidence", lambda d: d.pop("counts"), "CumulativeIncidence: counts: Field required"),
    ("KaplanMeier", lambda d: d.update(kind="CumulativeIncidence"), "kind: expected 'KaplanMeier'"),
    ("GrayTest", lambda d: d["table"]["data"].pop("pv"), "table: the columns"),
    ("Assessment", lambda d: d["risk"].update(group="very high"), "Assessment: risk.group:"),
])
def test_malformed_input_is_one_input_error_line(results, name, mutate, expected):
    obj = results[name]
    d = json.loads(json.dumps(obj.to_dict()))
    mutate(d)
    with pytest.raises(InputError) as e:
        type(obj).from_dict(d)
    msg = str(e.value)
    assert expected in msg and "\n" not in msg and len(msg) < 600


def test_from_json_refuses_text_that_is_not_json():
    with pytest.raises(InputError, match="Rule: not JSON"):
        study.Rule.from_json("{not json")


def test_statistics_core_imports_without_pydantic():
    import subprocess
    import sys

    code = "import sys, leiosurv.stats; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
