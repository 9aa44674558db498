"""The cohort study of seed 001: cohort format and I/O, the synthetic cohort, the study pipeline and report.

Layers: this package uses :mod:`leiosurv.stats` and :mod:`leiosurv.clinical`;
the CLI (``leiosurv synth``, ``leiosurv study``) is a thin shell over it.
"""

# COHORT: schema, reading and validation, synthetic cohort
from leiosurv.study._io import Cohort, read_cohort
from leiosurv.study._schema import COHORT_SCHEMA, ColumnSpec, cohort_json_schema, factor_columns, schema_markdown
from leiosurv.study._synth import SYNTH_CALIBRATION, expected_risks, synthesize_cohort

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
]
