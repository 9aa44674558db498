"""The cohort study of seed 001: cohort format and I/O, the synthetic cohort, the study pipeline and report.

Layers: this package uses :mod:`leiosurv.stats` and :mod:`leiosurv.clinical`;
the CLI (``leiosurv synth``, ``leiosurv study``) is a thin shell over it.
"""

# COHORT (_schema, _sources, _io, _synth): the format, reading and validation, the synthetic cohort;
# STUDY (_pipeline, _results, _report, _figures): the analysis, its results, the report.
from leiosurv.study import _results
from leiosurv.study._figures import cif_plot, forest_plot, remaining_risk_plot
from leiosurv.study._io import Cohort, Selection, read_cohort
from leiosurv.study._multivariable import (
    MIN_EVENTS_PER_VARIABLE,
    MultivariableFineGray,
    MultivariableRow,
    multivariable_fine_gray,
)
from leiosurv.study._performance import MARKERS, PREDICTED_RULE, calibration_plot, performance_lines, rule_performance
from leiosurv.study._performance_results import CalibrationPoint, Discrimination, RulePerformance
from leiosurv.study._pipeline import (
    StudyOptions,
    printed_decimals,
    published_se,
    rounding_interval,
    run_study,
    validate_rule,
)
from leiosurv.study._report import methods_text, render_report, result_tables, results_text, write_report
from leiosurv.study._results import *  # noqa: F403 (its public names, listed once in its __all__)
from leiosurv.study._schema import (
    COHORT_SCHEMA,
    DAYS_PER_YEAR,
    OUTCOME_COLUMNS,
    ColumnSpec,
    cohort_arrow_schema,
    cohort_json_schema,
    factor_columns,
    quote_identifier,
    schema_markdown,
)
from leiosurv.study._sources import is_synthetic_file, source_path
from leiosurv.study._stability import DEFAULT_BOOTSTRAP, DEFAULT_SEED, RuleStability
from leiosurv.study._synth import (
    SYNTH_CALIBRATION,
    check_synth_size,
    expected_risks,
    synth_capacity,
    synthesize_cohort,
)

__all__ = [
    "rule_performance",
    "calibration_plot",
    "performance_lines",
    "PREDICTED_RULE",
    "MARKERS",
    "RulePerformance",
    "Discrimination",
    "CalibrationPoint",
    "multivariable_fine_gray",
    "MultivariableFineGray",
    "MultivariableRow",
    "MIN_EVENTS_PER_VARIABLE",
    "published_se",
    "RuleStability",
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_SEED",
    # COHORT
    "Cohort",
    "Selection",
    "read_cohort",
    "source_path",
    "is_synthetic_file",
    "COHORT_SCHEMA",
    "OUTCOME_COLUMNS",
    "DAYS_PER_YEAR",
    "cohort_arrow_schema",
    "quote_identifier",
    "ColumnSpec",
    "cohort_json_schema",
    "factor_columns",
    "schema_markdown",
    "SYNTH_CALIBRATION",
    "expected_risks",
    "synthesize_cohort",
    "synth_capacity",
    "check_synth_size",
    # STUDY
    "run_study",
    "validate_rule",
    "StudyOptions",
    "write_report",
    "render_report",
    "methods_text",
    "results_text",
    "result_tables",
    "forest_plot",
    "cif_plot",
    "remaining_risk_plot",
    "printed_decimals",
    "rounding_interval",
]
# the results: StudyResult, RuleValidation, Risk, ..., parse_horizon, parse_thresholds, interval_flags
__all__ += _results.__all__
