"""The cohort study of seed 001: cohort format and I/O, the synthetic cohort, the study pipeline and report.

Layers: this package uses :mod:`leiosurv.stats` and :mod:`leiosurv.clinical`;
the CLI (``leiosurv synth``, ``leiosurv study``) is a thin shell over it.
"""

# COHORT: schema, reading and validation, synthetic cohort
from leiosurv.study._io import Cohort, read_cohort
from leiosurv.study._schema import COHORT_SCHEMA, ColumnSpec, cohort_json_schema, factor_columns, schema_markdown
from leiosurv.study._synth import SYNTH_CALIBRATION, expected_risks, synthesize_cohort

# STUDY: the pipeline, its results, the report and figures
from leiosurv.study._figures import cif_plot, forest_plot, remaining_risk_plot
from leiosurv.study._pipeline import printed_decimals, rounding_interval, run_study, validate_rule
from leiosurv.study._report import methods_text, render_report, result_tables, results_text, write_report
from leiosurv.study._results import (
    MIN_EVENTS,
    MIN_PATIENTS,
    Comparison,
    ConditionalRisk,
    Curve,
    FactorResult,
    GroupResult,
    Risk,
    Rule,
    RuleValidation,
    StudyResult,
    Table1Row,
    parse_horizon,
    parse_thresholds,
)

__all__ = [
    # COHORT
    "Cohort",
    "read_cohort",
    "COHORT_SCHEMA",
    "ColumnSpec",
    "cohort_json_schema",
    "factor_columns",
    "schema_markdown",
    "SYNTH_CALIBRATION",
    "expected_risks",
    "synthesize_cohort",
    # STUDY
    "run_study",
    "validate_rule",
    "write_report",
    "render_report",
    "methods_text",
    "results_text",
    "result_tables",
    "forest_plot",
    "cif_plot",
    "remaining_risk_plot",
    "MIN_PATIENTS",
    "MIN_EVENTS",
    "printed_decimals",
    "rounding_interval",
    "parse_horizon",
    "parse_thresholds",
    "StudyResult",
    "RuleValidation",
    "Risk",
    "Curve",
    "Table1Row",
    "FactorResult",
    "GroupResult",
    "Rule",
    "Comparison",
    "ConditionalRisk",
]
