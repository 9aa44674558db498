"""How stable is the derived rule?  The derivation repeated on bootstrap resamples of the cohort.

Seed 001 derived its rule from point estimates of univariable risk
differences: a factor enters when its 5-year risk difference exceeds the
threshold.  Whether the same factors would be chosen again in another sample
of the same size is not visible from one derivation.  Here the whole
derivation (each factor's complete cases, its Aalen–Johansen risks with and
without it at the horizon, the strict threshold) is repeated on ``B``
resamples of the tumours drawn with replacement (Efron & Tibshirani 1993,
ch. 6; for the stability of selected variables, Sauerbrei & Schumacher 1992,
Stat Med 11:2093-2109), with a seeded generator, and the report gives how
often each factor is selected per outcome and overall, how often the cohort's
own rule and the published rule are re-derived exactly.

Every risk comes from :func:`leiosurv.stats.cumulative_incidence` (counted by
:func:`leiosurv.stats.count_events` on numpy arrays); a factor whose group is
empty, or whose follow-up ends before the horizon, in a resample is not
selected in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leiosurv.serial import JSONFloat, Serialisable
from leiosurv.stats import count_events, cumulative_incidence
from leiosurv.study._schema import OUTCOME_COLUMNS

__all__ = ["RuleStability", "bootstrap_rule", "DEFAULT_BOOTSTRAP", "DEFAULT_SEED"]

DEFAULT_BOOTSTRAP = 200
"""Resamples of :func:`leiosurv.study.run_study` by default (``bootstrap=``, ``--bootstrap``)."""
DEFAULT_SEED = 1
"""Seed of the resampling generator by default (``seed=``, ``--seed``)."""


@dataclass(frozen=True)
class RuleStability(Serialisable):
    """Selection frequencies of the derivation over bootstrap resamples.

    Attributes
    ----------
    resamples : int
        ``B``, the number of resamples.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    thresholds : dict
        Outcome -> threshold (fraction) used in each resample.
    selected : dict
        Outcome -> factor -> resamples in which the factor entered the rule for that outcome.
    selected_any : dict
        Factor -> resamples in which the factor entered the rule for any outcome.
    same_as_derived : int
        Resamples that re-derived ``derived_rule`` exactly (the same factors for every outcome).
    same_as_published : int
        Resamples that re-derived the published rule (``evidence.DLMS_HIGH_RISK_FACTORS``) exactly.
    derived_rule, published_rule : dict
        Outcome -> factors of the rule derived on the whole cohort (empty for a validation, which
        applies the published rule) and of the published rule.
    """

    resamples: int
    seed: int
    thresholds: dict[str, JSONFloat]
    selected: dict[str, dict[str, int]]
    selected_any: dict[str, int]
    same_as_derived: int
    same_as_published: int
    derived_rule: dict[str, tuple[str, ...]]
    published_rule: dict[str, tuple[str, ...]]

    def frequency(self, factor: str, outcome: str | None = None) -> float:
        """Fraction of resamples selecting ``factor`` (for ``outcome``, or for any outcome)."""
        k = self.selected_any[factor] if outcome is None else self.selected[outcome][factor]
        return k / self.resamples

    @property
    def derived_frequency(self) -> float:
        return self.same_as_derived / self.resamples

    @property
    def published_frequency(self) -> float:
        return self.same_as_published / self.resamples


def _rule_key(by_outcome: Mapping[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((o, tuple(sorted(fs))) for o, fs in by_outcome.items()))


def _risk_difference(t: np.ndarray, s: np.ndarray, g: np.ndarray, horizon: float) -> float:
    """Risk (cause 1) at ``horizon`` with the factor minus without; NaN when not estimable."""
    if g.size == 0 or g.min() == g.max():
        return float("nan")
    counts = count_events({"t": t, "s": s, "g": g}, "t", "s", "g", causes=(1, 2))
    res = cumulative_incidence(counts)
    est = {}
    for grp, block in zip(counts.groups, res.blocks):
        if horizon > grp.last_time and not grp.ended_by_event:
            return float("nan")  # this group's follow-up ends before the horizon
        # the CIF at the horizon, read from the step function as CumulativeIncidence.at reads it
        est[grp.label] = float(block["cif_1"][np.searchsorted(block["time"], horizon, side="right")])
    return est[1] - est[0]


def bootstrap_rule(df: pd.DataFrame, factors: Sequence[str], thresholds: Mapping[str, float], horizon: float,
                   resamples: int, seed: int, derived: Mapping[str, Sequence[str]],
                   published: Mapping[str, Sequence[str]],
                   progress: Callable[[int], None] | None = None) -> RuleStability:
    """Repeat the derivation on ``resamples`` bootstrap resamples of ``df`` (rows drawn with replacement).

    ``df`` is the cohort's factor frame; ``derived`` the rule derived on the
    whole cohort (compared with each resample's); ``progress(b)`` is called
    after resample ``b`` (1-based).
    """
    rng = np.random.default_rng(seed)
    n = len(df)
    cols = {o: (df[t].to_numpy(dtype=np.float64), df[s].to_numpy(dtype=np.int64))
            for o, (t, s) in OUTCOME_COLUMNS.items() if o in thresholds}
    fac = {f: df[f].to_numpy(dtype=np.float64, na_value=np.nan) for f in factors}
    selected = {o: dict.fromkeys(factors, 0) for o in cols}
    any_ = dict.fromkeys(factors, 0)
    same_derived = same_published = 0
    want_derived, want_published = _rule_key(derived), _rule_key(published)
    for b in range(resamples):
        idx = rng.integers(0, n, n)
        rule: dict[str, list[str]] = {}
        for o, (t_all, s_all) in cols.items():
            t, s = t_all[idx], s_all[idx]
            rule[o] = []
            for f in factors:
                x = fac[f][idx]
                known = ~np.isnan(x)
                rd = _risk_difference(t[known], s[known], x[known].astype(np.int64), horizon)
                if rd > thresholds[o]:  # NaN (not estimable) is never selected
                    rule[o].append(f)
                    selected[o][f] += 1
        for f in {f for fs in rule.values() for f in fs}:
            any_[f] += 1
        key = _rule_key(rule)
        same_derived += key == want_derived
        same_published += key == want_published
        if progress is not None:
            progress(b + 1)
    return RuleStability(resamples, seed, {o: float(v) for o, v in thresholds.items()}, selected, any_,
                         int(same_derived), int(same_published), {o: tuple(v) for o, v in derived.items()},
                         {o: tuple(v) for o, v in published.items()})

