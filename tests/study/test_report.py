"""write_report: self-contained HTML, CSV/JSON tables and PNG/SVG figures, synthetic marks everywhere."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from matplotlib.image import imread
from study_cohorts import cohort_frame

from leiosurv.study import (
    RuleValidation,
    StudyResult,
    methods_text,
    read_cohort,
    run_study,
    validate_rule,
    write_report,
)

FIGURES = ["forest_plot", "cif_metastasis", "cif_local_recurrence", "cif_groups_metastasis",
           "cif_groups_local_recurrence", "remaining_risk"]
TABLES = ["table1", "overall_risks", "univariable", "rule", "risk_groups", "remaining_risk"]


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory):
    res = run_study(read_cohort(cohort_frame(500, seed=11)), progress=False)
    out = tmp_path_factory.mktemp("syn")
    return res, write_report(res, out)


@pytest.fixture(scope="module")
def real_report(tmp_path_factory):
    res = run_study(read_cohort(cohort_frame(500, seed=11, synthetic=False)), progress=False)
    out = tmp_path_factory.mktemp("real")
    return res, write_report(res, out)


def test_files_written(synthetic_report):
    _, path = synthetic_report
    out = path.parent
    assert path.name == "report.html"
    for name in FIGURES:
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert (out / f"{name}.svg").read_text().lstrip().startswith("<?xml")
    for name in TABLES:
        assert (out / f"{name}.csv").exists()
    assert (out / "result.json").exists()


def test_png_resolution(synthetic_report):
    _, path = synthetic_report
    img = imread(path.parent / "cif_metastasis.png")
    assert img.shape[1] == 1500  # 7.5 inches at 200 dpi


def test_html_self_contained(synthetic_report):
    _, path = synthetic_report
    html = path.read_text()
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", html)
    assert "@import" not in html and "url(http" not in html
    assert html.count("<svg") == len(FIGURES)
    assert 'id="forest-plot"' in html


def test_html_content(synthetic_report):
    res, path = synthetic_report
    html = path.read_text()
    assert 'id="synthetic-banner"' in html and "SYNTHETIC DATA" in html
    for section in ("Methods", "Table 1", "Univariable analysis", "Derived classification"):
        assert section in html
    for r in res.univariable:  # every number with its CI
        assert r.present.format() in html and r.absent.format() in html and r.format_rd() in html
    for g in res.groups.values():
        assert g.high.format() in html and g.format_rd() in html


def test_methods_paragraph(synthetic_report):
    res, _ = synthetic_report
    text = " ".join(methods_text(res))
    for phrase in ("Aalen–Johansen", "competing risk", "delta-method", "truncated to [0, 1]",
                   "sum of the two groups' variances", "Gray's", "more than 5 percentage points for metastasis",
                   "more than 10 percentage points for local recurrence", "leiosurv 0.1.0", "SYNTHETIC",
                   "reverse Kaplan–Meier"):
        assert phrase in text, phrase


def test_synthetic_marked_in_tables_json_figures(synthetic_report):
    res, path = synthetic_report
    out = path.parent
    for name in TABLES:
        df = pd.read_csv(out / f"{name}.csv")
        assert "synthetic" in df.columns and df["synthetic"].all(), name
    payload = json.loads((out / "result.json").read_text())
    assert payload["synthetic"] is True and payload["provenance"]["synthetic"] is True
    for name in FIGURES:
        assert "SYNTHETIC DATA" in (out / f"{name}.svg").read_text(), name


def test_real_cohort_has_no_synthetic_mark(real_report):
    res, path = real_report
    out = path.parent
    html = path.read_text()
    assert "SYNTHETIC" not in html
    for name in FIGURES:
        assert "SYNTHETIC" not in (out / f"{name}.svg").read_text()
    assert not pd.read_csv(out / "univariable.csv")["synthetic"].any()


def test_json_round_trip(synthetic_report):
    res, path = synthetic_report
    payload = json.loads((path.parent / "result.json").read_text())
    payload.pop("synthetic"), payload.pop("kind")
    assert StudyResult.from_dict(payload).to_dict() == res.to_dict()


def test_univariable_csv_numbers(synthetic_report):
    res, path = synthetic_report
    df = pd.read_csv(path.parent / "univariable.csv", engine="pyarrow")  # parses floats exactly (round trip)
    assert len(df) == len(res.univariable)
    for r, (_, row) in zip(res.univariable, df.iterrows()):
        assert row["factor"] == r.factor and row["n_missing"] == r.n_missing
        assert row["rd"] == r.rd and row["present_lower"] == r.present.lower  # CSV keeps full precision


def test_validation_report(tmp_path):
    val = validate_rule(read_cohort(cohort_frame(500, seed=12)), progress=False)
    path = write_report(val, tmp_path)
    html = path.read_text()
    assert 'id="published-comparison"' in html and "dlms-risk-abebe-2025" in html
    df = pd.read_csv(tmp_path / "published_comparison.csv")
    assert len(df) == len(val.comparisons) and df["synthetic"].all()
    payload = json.loads((tmp_path / "result.json").read_text())
    assert payload["kind"] == "rule_validation"
    payload.pop("synthetic"), payload.pop("kind")
    assert RuleValidation.from_dict(payload).to_dict() == val.to_dict()
