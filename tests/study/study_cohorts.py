"""Small cohorts for the study tests, built in the fixed cohort format.

Independent of the calibrated synthetic cohort: simple exponential hazards in
which necrosis, mitotic grade 3 and invasion raise the metastasis hazard and
positive margins and invasion the local-recurrence hazard, so that the derived
rule is known in advance when n is large.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

YEAR = 365.25


def cohort_frame(n: int = 400, seed: int = 0, *, synthetic: bool = True, missing: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    necrosis = (rng.random(n) < 0.15).astype(float)
    grade = rng.choice([1, 2, 3], size=n, p=[0.4, 0.35, 0.25]).astype(float)
    invasion = (rng.random(n) < 0.08).astype(float)
    margins = np.where(rng.random(n) < 0.12, "positive", "negative").astype(object)
    met_h = 0.004 * np.exp(1.8 * necrosis + 1.5 * (grade == 3) + 2.0 * invasion)
    lr_h = 0.02 * np.exp(1.3 * (margins == "positive") + 1.4 * invasion)
    death_h = 0.03
    cens = rng.uniform(0.5, 15, n)
    t_death = rng.exponential(1 / death_h, n)

    def outcome(h):
        t_ev = rng.exponential(1 / h)
        t = np.minimum.reduce([t_ev, t_death, cens])
        status = np.where(t == t_ev, 1, np.where(t == t_death, 2, 0))
        return np.round(t * YEAR, 0) + 1.0, status

    met_t, met_s = outcome(met_h)
    lr_t, lr_s = outcome(lr_h)
    df = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "age": np.round(rng.normal(66, 12, n).clip(20, 99), 1),
        "sex": np.where(rng.random(n) < 0.71, "male", "female"),
        "diagnosis_year": rng.integers(1980, 2021, n),
        "necrosis": necrosis, "mitotic_grade": grade, "invasion": invasion, "margins": margins,
        "met_time": met_t, "met_status": met_s, "lr_time": lr_t, "lr_status": lr_s,
    })
    for col in ("necrosis", "mitotic_grade", "invasion", "margins"):
        df.loc[rng.random(n) < missing, col] = None
    if synthetic:
        df["synthetic"] = True
    return df


class FrameCohort:
    """Minimal stand-in for ``Cohort`` (same attributes the pipeline uses)."""

    def __init__(self, df: pd.DataFrame, source: str = "<test frame>", extras: tuple[str, ...] = ()) -> None:
        self.data, self.source, self.extras = df, source, tuple(extras)
        self.synthetic = bool("synthetic" in df and df["synthetic"].fillna(False).astype(bool).any())

    @property
    def n(self) -> int:
        return len(self.data)

    def factor_frame(self, factors=None) -> pd.DataFrame:
        d = self.data

        def binary(values, test):
            out = pd.Series(pd.NA, index=d.index, dtype="Int8")
            known = values.notna()
            out[known] = test(values[known]).astype("int8")
            return out

        view = pd.DataFrame(index=d.index)
        view["necrosis"] = binary(d["necrosis"], lambda s: s.astype(float) == 1)
        view["mitotic_grade_3"] = binary(d["mitotic_grade"], lambda s: s.astype(float) == 3)
        view["invasion"] = binary(d["invasion"], lambda s: s.astype(float) == 1)
        view["positive_margins"] = binary(d["margins"], lambda s: s.astype(str) == "positive")
        for e in self.extras:
            view[e] = binary(d[e], lambda s: s.astype(float) == 1)
        wanted = list(factors) if factors is not None else list(view.columns)
        out = view[wanted].copy()
        for col in ("met_time", "met_status", "lr_time", "lr_status", "age", "sex", "diagnosis_year"):
            out[col] = d[col]
        return out
