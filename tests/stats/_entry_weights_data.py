"""The melanoma rows with the deterministic entry times and weights of shared/reference
(``melanoma_delayed_entry.json``'s ``entry_rule``, ``melanoma_weights.json``'s ``weight_rule``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
RTOL, ATOL = 1e-9, 1e-15
HORIZONS = [365.25, 730.5, 1826.25]


@cache
def melanoma() -> pd.DataFrame:
    """melanoma.csv with ``entry`` (every third row enters at floor(0.3 time)) and ``w``
    (0.5, 0.75, 1, 1.25 repeating), the rules stated in the reference files."""
    if not REF.is_dir():
        pytest.fail(f"R reference directory missing: {REF} (clone shared/ beside the repository)")
    df = pd.read_csv(REF / "melanoma.csv")
    n = len(df)
    i = np.arange(1, n + 1)
    df["entry"] = np.where(i % 3 == 0, (3 * df["time"].to_numpy().astype(np.int64)) // 10, 0)
    df["w"] = 0.5 + 0.25 * (np.arange(n) % 4)
    df["two"] = 1 + (i % 2)  # whole-number weights 2, 1, 2, 1, ...
    return df


@cache
def reference(name: str) -> dict:
    return json.loads((REF / name).read_text())


def arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def strata() -> list[tuple[str | None, str]]:
    """(group column, stratum name in the JSON)."""
    return [(None, "overall"), ("ulcer", "ulcer=0"), ("ulcer", "ulcer=1")]
