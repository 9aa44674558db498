"""R's stored values for the regression tests (melanoma, cmprsk::crr and survival::coxph): one loader for both."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
DATA = Path(__file__).resolve().parent / "data"
RTOL = 1e-9
MODELS = ("ulcer_only", "main", "main_months_ties")


@cache
def reference() -> tuple[pd.DataFrame, dict]:
    if not REF.is_dir():
        pytest.fail(f"R reference directory missing: {REF} (clone shared/ beside the repository)")
    return pd.read_csv(REF / "melanoma.csv"), json.loads((REF / "melanoma_finegray.json").read_text())
