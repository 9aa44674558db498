"""The cohort format: fixed column names, derived views, JSON Schema and the documented table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import leiosurv.study as study
from leiosurv.clinical.evidence import DLMS_FACTORS
from leiosurv.study import COHORT_SCHEMA, cohort_json_schema, factor_columns, schema_markdown
from leiosurv.study._schema import BINARY_FACTORS, OUTCOME_COLUMNS, REQUIRED_COLUMNS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cohort.md"


def test_fixed_column_names():
    assert [c.name for c in COHORT_SCHEMA] == [
        "id", "age", "sex", "diagnosis_year", "necrosis", "mitotic_grade", "invasion", "margins",
        "met_time", "met_status", "lr_time", "lr_status", "synthetic",
    ]
    assert "synthetic" not in REQUIRED_COLUMNS
    assert set(BINARY_FACTORS) == set(DLMS_FACTORS)
    assert OUTCOME_COLUMNS == {"metastasis": ("met_time", "met_status"), "local_recurrence": ("lr_time", "lr_status")}


def test_only_factors_may_be_missing():
    nullable = {c.name for c in COHORT_SCHEMA if c.nullable}
    assert nullable == {"necrosis", "mitotic_grade", "invasion", "margins", "synthetic"}


def test_factor_view_keeps_missing():
    df = pd.DataFrame({
        "necrosis": pd.array([1, 0, None], dtype="Int8"),
        "mitotic_grade": pd.array([3, 2, None], dtype="Int8"),
        "invasion": pd.array([None, 1, 0], dtype="Int8"),
        "margins": ["negative", None, "positive"],
        "ulcer": [1.0, float("nan"), 0.0],
    })
    v = factor_columns(df, ["ulcer"])
    assert v["necrosis"].tolist() == [1, 0, pd.NA]
    assert v["mitotic_grade_3"].tolist() == [1, 0, pd.NA]
    assert v["invasion"].tolist() == [pd.NA, 1, 0]
    assert v["positive_margins"].tolist() == [0, pd.NA, 1]
    assert v["ulcer"].tolist() == [1, pd.NA, 0]
    assert all(str(t) == "Int8" for t in v.dtypes)


def test_json_schema_is_json_and_complete():
    js = json.loads(json.dumps(cohort_json_schema()))
    assert js["required"] == list(REQUIRED_COLUMNS)
    assert js["properties"]["necrosis"]["type"] == ["integer", "null"]
    assert js["properties"]["age"]["maximum"] == 120
    assert js["properties"]["sex"]["enum"] == ["male", "female"]


def test_docs_carry_the_generated_table():
    assert schema_markdown() in DOCS.read_text(), "docs/cohort.md is out of date: paste schema_markdown()"


def test_public_surface():
    for name in ("Cohort", "read_cohort", "COHORT_SCHEMA", "synthesize_cohort", "SYNTH_CALIBRATION"):
        assert name in study.__all__ and hasattr(study, name)


def _study_sources() -> dict[str, str]:
    src = DOCS.parents[1] / "src" / "leiosurv" / "study"
    return {p.name: p.read_text() for p in sorted(src.glob("*.py"))}


def test_constants_and_schemas_defined_once_in_the_study_package():
    import ast

    defined: dict[str, list[str]] = {}
    calls: dict[str, list[str]] = {}
    for name, text in _study_sources().items():
        for node in ast.walk(ast.parse(text)):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                if isinstance(t, ast.Name):
                    defined.setdefault(t.id.lstrip("_"), []).append(name)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "schema":
                calls.setdefault("pa.schema", []).append(name)
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in ("q", "quote_identifier"):
                calls.setdefault("identifier quoting", []).append(name)
        if "replace('\"', '\"\"')" in text:
            calls.setdefault("quoting code", []).append(name)
    for const in ("OUTCOME_COLUMNS", "COHORT_SCHEMA", "REQUIRED_COLUMNS"):
        assert defined.get(const) == ["_schema.py"], (const, defined.get(const))
    # the day-year conversion and SQL quoting are the statistics engine's, re-exported by the study
    assert "DAYS_PER_YEAR" not in defined
    assert calls == {"pa.schema": ["_schema.py"]}
    from leiosurv import stats, study

    assert study.DAYS_PER_YEAR is stats.DAYS_PER_YEAR and study.quote_identifier is stats.quote_identifier


def test_arrow_schema_follows_the_column_specs():
    from leiosurv.study import cohort_arrow_schema

    schema = cohort_arrow_schema({"leiosurv.synthetic": "true"})
    assert schema.names == [c.name for c in COHORT_SCHEMA]
    assert schema.metadata == {b"leiosurv.synthetic": b"true"}
    assert str(schema.field("diagnosis_year").type) == "int32" and str(schema.field("sex").type) == "string"


@pytest.mark.parametrize("module", ["leiosurv.study._schema", "leiosurv.study._io", "leiosurv.study._sources",
                                    "leiosurv.study._synth",
                                    "leiosurv.files"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    failed, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failed == 0
