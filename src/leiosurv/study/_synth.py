"""The synthetic dermal-LMS cohort, calibrated to the published figures of seed 001.

Every published number is read from :mod:`leiosurv.clinical.evidence`; the
simulation settings derived from them (and the assumptions the seed does not
cover) are collected in :data:`SYNTH_CALIBRATION`.  The derivation is written
out in ``docs/synthetic-cohort.md``; in short:

* factors are independent; prevalence ``p_k = (overall - absent_k) /
  (present_k - absent_k)`` (necrosis, mitotic grade 3, positive margins), and
  for invasion the 4 exposed patients implied by its published CI (see doc);
* each outcome follows a mixture-cure model: the probability of an eventual
  event is additive in the factors, ``pi(x) = (b + sum_k RD_k x_k) / c``, with
  event times on (0, 4] years, so the 5-year cumulative incidence with death
  as competing risk is exactly ``b + sum_k RD_k x_k`` given x, and marginally
  ``overall + RD_k (1 - p_k)`` (present) and ``overall - RD_k p_k`` (absent);
  ``c`` (the chance that an eventual event comes before death) is computed by
  quadrature on first use, deterministically;
* death: Gompertz all-cause mortality by age and sex (an assumption
  approximating Danish population mortality); administrative censoring at the
  end of 2022.

Deterministic for a seed and independent of ``chunk_size``: rows are made in
fixed blocks of :data:`BLOCK_SIZE`, block ``i`` from
``SeedSequence(seed, spawn_key=(i,))``, always drawing the full block, so the
first rows of a larger cohort equal a smaller cohort with the same seed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import ndtr, ndtri

from leiosurv.clinical import evidence as ev
from leiosurv.exceptions import InputError
from leiosurv.files import atomic_file, short
from leiosurv.study._schema import DAYS_PER_YEAR, cohort_arrow_schema

__all__ = [
    "SYNTH_CALIBRATION",
    "SynthCalibration",
    "OutcomeCalibration",
    "synthesize_cohort",
    "expected_risks",
    "GENERATOR_VERSION",
    "BLOCK_SIZE",
    "BYTES_PER_ROW_ON_DISK",
    "BYTES_PER_ROW_IN_MEMORY",
    "synth_capacity",
    "check_synth_size",
]

GENERATOR_VERSION = "1"
"""Bumped whenever the same seed would give different rows."""
BLOCK_SIZE = 65_536
"""Rows per independently seeded block (part of the generator's definition)."""
BYTES_PER_ROW_ON_DISK = 24
"""Upper bound of the Parquet file size per row (zstd; measured 14.2-14.6 bytes at 2*10^6 rows, 0-50 % missing)."""
BYTES_PER_ROW_IN_MEMORY = 400
"""Upper bound of the peak memory per row held at once (Arrow blocks, their concatenation and, without
``out``, the pandas frame; measured about 210 bytes at 2*10^6 rows)."""


@dataclass(frozen=True)
class OutcomeCalibration:
    """The 5-year risk model of one outcome.

    Attributes
    ----------
    outcome : str
        ``metastasis`` or ``local_recurrence``.
    overall_5y : float
        Target marginal 5-year risk (published).
    baseline_5y : float
        5-year risk with no factor present, ``overall - sum_k RD_k p_k``.
    risk_differences : dict
        Factor -> 5-year RD (published present minus published absent; 0 for
        factor-outcome pairs without a published figure).
    event_time_scale_years, event_time_max_years : float
        Event times are exponential with this scale, truncated to (0, max].
    """

    outcome: str
    overall_5y: float
    baseline_5y: float
    risk_differences: dict[str, float]
    event_time_scale_years: float
    event_time_max_years: float


@dataclass(frozen=True)
class SynthCalibration:
    """Simulation settings of the synthetic cohort, derived from seed 001.

    Attributes
    ----------
    prevalence : dict
        Factor key -> probability present (independent factors).
    prevalence_derivation : dict
        Factor key -> how the prevalence was obtained (text).
    mitotic_grade_probs : tuple of float
        P(grade 1), P(grade 2), P(grade 3); grades 1 and 2 split evenly (assumption).
    outcomes : dict
        Outcome key -> :class:`OutcomeCalibration`.
    male_fraction : float
        Published (seed 001, Results).
    age_median, age_sd_below, age_sd_above, age_min, age_max : float
        Split normal truncated to [age_min, age_max], median = published median.
    gompertz : dict
        Sex -> (theta0, theta1): all-cause hazard ``exp(theta0 + theta1 * age)`` per year.
    diagnosis_years : tuple of int
        First and last year; uniform over the years, date uniform within a year.
    end_of_study : float
        Administrative censoring (decimal year: 2023.0 = end of 2022).
    horizon_years : float
        The horizon the risks refer to (published: 5).
    """

    prevalence: dict[str, float]
    prevalence_derivation: dict[str, str]
    mitotic_grade_probs: tuple[float, float, float]
    outcomes: dict[str, OutcomeCalibration]
    male_fraction: float
    age_median: float
    age_sd_below: float
    age_sd_above: float
    age_min: float
    age_max: float
    gompertz: dict[str, tuple[float, float]]
    diagnosis_years: tuple[int, int]
    end_of_study: float
    horizon_years: float
    assumptions: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """JSON-safe dict (stored in the Parquet metadata of every synthetic file)."""
        return json.loads(json.dumps(asdict(self)))

    def __str__(self) -> str:
        lines = ["Synthetic cohort calibration (seed 001):"]
        for k, p in self.prevalence.items():
            lines.append(f"  P({k}) = {100 * p:.2f}%  [{self.prevalence_derivation[k]}]")
        for o in self.outcomes.values():
            rds = ", ".join(f"{k} {100 * v:+.1f} pp" for k, v in o.risk_differences.items() if v)
            lines.append(f"  {o.outcome}: overall {100 * o.overall_5y:.1f}%, baseline "
                         f"{100 * o.baseline_5y:.3f}%, RD {rds}")
        return "\n".join(lines)


def _derive() -> SynthCalibration:
    overall = {o: ev.DLMS_OVERALL_5Y[o].estimate for o in ev.DLMS_OUTCOMES}
    rd: dict[str, dict[str, float]] = {o: {f: 0.0 for f in ev.DLMS_FACTORS} for o in ev.DLMS_OUTCOMES}
    for (factor, outcome), fr in ev.DLMS_FACTOR_RISKS.items():
        rd[outcome][factor] = fr.present.estimate - fr.absent.estimate
    prevalence: dict[str, float] = {}
    how: dict[str, str] = {}
    for (factor, outcome), fr in ev.DLMS_FACTOR_RISKS.items():
        if factor == "invasion":
            continue
        prevalence[factor] = (overall[outcome] - fr.absent.estimate) / (fr.present.estimate - fr.absent.estimate)
        how[factor] = f"(overall - absent) / (present - absent), {outcome}"
    # Invasion: the two outcomes disagree ((2.4-2.1)/22.9 = 1.3 %, (10-9.6)/40.4 = 1.0 %).  The
    # metastasis CI 25.0 % (0-67) gives se = (0.67 - 0.25)/1.96 and n = 0.25*0.75/se^2 = 4.1
    # exposed patients; 25 % = 1/4 and 50 % = 2/4 agree with 4 (the LR CI is truncated at both
    # ends and bounds nothing).  So p = 4 / 381.
    fr = ev.DLMS_FACTOR_RISKS[("invasion", "metastasis")]
    z = 1.959963984540054
    se = (fr.present.upper - fr.present.estimate) / z
    n_exposed = round(fr.present.estimate * (1 - fr.present.estimate) / se**2)
    prevalence["invasion"] = n_exposed / ev.DLMS_COHORT["n"]
    how["invasion"] = (
        f"{n_exposed} of {ev.DLMS_COHORT['n']} exposed, from the width of the published metastasis CI "
        "(compromise between 1.3 % and 1.0 % implied by the two outcomes' point estimates)"
    )
    prevalence = {f: prevalence[f] for f in ev.DLMS_FACTORS}
    p3 = prevalence["mitotic_grade_3"]
    outcomes = {
        o: OutcomeCalibration(
            outcome=o,
            overall_5y=overall[o],
            baseline_5y=overall[o] - sum(rd[o][f] * prevalence[f] for f in ev.DLMS_FACTORS),
            risk_differences=rd[o],
            event_time_scale_years=1.5,
            event_time_max_years=4.0,
        )
        for o in ev.DLMS_OUTCOMES
    }
    return SynthCalibration(
        prevalence=prevalence,
        prevalence_derivation=how,
        mitotic_grade_probs=((1 - p3) / 2, (1 - p3) / 2, p3),
        outcomes=outcomes,
        male_fraction=ev.DLMS_COHORT["male_fraction"],
        age_median=float(ev.DLMS_COHORT["median_age_years"]),
        age_sd_below=15.0,
        age_sd_above=11.0,
        age_min=20.0,
        age_max=95.0,
        gompertz={"male": (-10.50, 0.095), "female": (-10.81, 0.095)},
        diagnosis_years=tuple(ev.DLMS_COHORT["period"]),
        end_of_study=float(ev.DLMS_COHORT["period"][1] + 1),
        horizon_years=float(ev.DLMS_METHOD["horizon_years"]),
        assumptions=(
            "factors independent of each other, of age and of sex",
            "mitotic grades 1 and 2 equally frequent",
            "no effect where seed 001 publishes none (necrosis and mitotic grade 3 on local "
            "recurrence, margins on metastasis)",
            "event times exponential (scale 1.5 y) truncated to 4 years (seed 001 Conclusion: "
            "no relapses after 4 years)",
            "Gompertz all-cause mortality, slope 0.095/year, levels giving life expectancy at 65 "
            "of about 18.5 y (men) and 21.0 y (women), approximating Danish period life tables of "
            "the late 2010s; not a seed figure; death independent of metastasis and recurrence",
            "age: split normal with median 66 (published), sd 15 below and 11 above, truncated to 20-95",
            "diagnosis year uniform over 1980-2022, date uniform within the year",
        ),
    )


SYNTH_CALIBRATION: SynthCalibration = _derive()
"""The calibrated simulation settings (derivation in ``docs/synthetic-cohort.md``)."""


# ---------------------------------------------------------------------------
# distributions
# ---------------------------------------------------------------------------
def _age_quantile(u: np.ndarray, cal: SynthCalibration = SYNTH_CALIBRATION) -> np.ndarray:
    m = cal.age_median
    lo = ndtr((cal.age_min - m) / cal.age_sd_below)
    hi = ndtr((cal.age_max - m) / cal.age_sd_above)
    below = u < 0.5
    out = np.empty_like(u)
    ub = 2 * u[below]
    out[below] = m + cal.age_sd_below * ndtri(lo + ub * (0.5 - lo))
    ua = 2 * u[~below] - 1
    out[~below] = m + cal.age_sd_above * ndtri(0.5 + ua * (hi - 0.5))
    return out


def _event_time_quantile(u: np.ndarray, oc: OutcomeCalibration) -> np.ndarray:
    tau, tmax = oc.event_time_scale_years, oc.event_time_max_years
    return -tau * np.log1p(-u * -np.expm1(-tmax / tau))


def _death_time(e: np.ndarray, age: np.ndarray, theta: tuple[float, float]) -> np.ndarray:
    th0, th1 = theta
    return np.log1p(th1 * e * np.exp(-(th0 + th1 * age))) / th1


@cache
def event_before_death(outcome: str) -> float:
    """``c``: probability that an eventual event comes before death (all within 5 years).

    ``c = E_{age, sex}[ integral_0^tmax g(t) S_death(t | age, sex) dt ]``, by
    Gauss-Legendre quadrature over the age quantile (each half of the split
    normal) and the event time; deterministic, computed on first use.

    Examples
    --------
    >>> 0.9 < event_before_death("metastasis") < 1.0
    True
    """
    cal, oc = SYNTH_CALIBRATION, SYNTH_CALIBRATION.outcomes[outcome]
    x, w = np.polynomial.legendre.leggauss(200)
    u = np.concatenate([0.25 * (x + 1), 0.5 + 0.25 * (x + 1)])
    wu = np.concatenate([0.25 * w, 0.25 * w])
    ages = _age_quantile(u)
    tmax, tau = oc.event_time_max_years, oc.event_time_scale_years
    t = 0.5 * tmax * (x + 1)
    g = np.exp(-t / tau) / (tau * -np.expm1(-tmax / tau)) * 0.5 * tmax * w
    total = 0.0
    for sex, share in (("male", cal.male_fraction), ("female", 1 - cal.male_fraction)):
        th0, th1 = cal.gompertz[sex]
        cumhaz = np.exp(th0 + th1 * ages)[:, None] / th1 * np.expm1(th1 * t)[None, :]
        total += share * float(wu @ (np.exp(-cumhaz) @ g))
    return total


def expected_risks() -> pd.DataFrame:
    """The model's expected 5-year risks next to the published ones.

    Returns
    -------
    pandas.DataFrame
        Columns ``factor``, ``outcome``, ``quantity`` (present/absent/difference/
        overall), ``model``, ``published``; one row per published figure.

    Examples
    --------
    >>> t = expected_risks()
    >>> bool((abs(t["model"] - t["published"]) <= 0.005).all())
    True
    """
    cal = SYNTH_CALIBRATION
    rows = []
    for o, pr in ev.DLMS_OVERALL_5Y.items():
        rows.append(("(all)", o, "overall", cal.outcomes[o].overall_5y, pr.estimate))
    for (f, o), fr in ev.DLMS_FACTOR_RISKS.items():
        oc, p = cal.outcomes[o], cal.prevalence[f]
        rd = oc.risk_differences[f]
        rows.append((f, o, "present", oc.overall_5y + rd * (1 - p), fr.present.estimate))
        rows.append((f, o, "absent", oc.overall_5y - rd * p, fr.absent.estimate))
        rows.append((f, o, "difference", rd, fr.difference.estimate))
    return pd.DataFrame(rows, columns=["factor", "outcome", "quantity", "model", "published"])


# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------
_FACTORS = ("necrosis", "mitotic_grade", "invasion", "margins")


def _block(seed: int, index: int, rows: int, missing: Mapping[str, float]) -> pa.Table:
    cal = SYNTH_CALIBRATION
    b = BLOCK_SIZE
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))
    # fixed draw order, always full blocks: the stream never depends on n, chunk size or options
    age = _age_quantile(rng.random(b))
    male = rng.random(b) < cal.male_fraction
    nec = rng.random(b) < cal.prevalence["necrosis"]
    u_mit = rng.random(b)
    p1, p2, _ = cal.mitotic_grade_probs
    grade = np.where(u_mit < p1, 1, np.where(u_mit < p1 + p2, 2, 3)).astype(np.int8)
    inv = rng.random(b) < cal.prevalence["invasion"]
    pos = rng.random(b) < cal.prevalence["positive_margins"]
    y0, y1 = cal.diagnosis_years
    year = rng.integers(y0, y1 + 1, b)
    diag = year + rng.random(b)
    e_death = rng.exponential(size=b)
    u_outcome = {o: (rng.random(b), rng.random(b)) for o in ev.DLMS_OUTCOMES}
    u_missing = rng.random((len(_FACTORS), b))

    death = np.where(
        male, _death_time(e_death, age, cal.gompertz["male"]), _death_time(e_death, age, cal.gompertz["female"])
    )
    cens = cal.end_of_study - diag
    x = {"necrosis": nec, "mitotic_grade_3": grade == 3, "invasion": inv, "positive_margins": pos}
    cols: dict[str, np.ndarray] = {}
    for o, prefix in (("metastasis", "met"), ("local_recurrence", "lr")):
        oc = cal.outcomes[o]
        risk5 = oc.baseline_5y + sum(oc.risk_differences[f] * x[f] for f in ev.DLMS_FACTORS)
        pi = risk5 / event_before_death(o)
        u_cure, u_time = u_outcome[o]
        t_event = np.where(u_cure < pi, _event_time_quantile(u_time, oc), np.inf)
        end = np.minimum(death, cens)
        event = t_event <= end
        status = np.where(event, 1, np.where(death <= cens, 2, 0)).astype(np.int8)
        cols[f"{prefix}_time"] = np.ceil(np.where(event, t_event, end) * DAYS_PER_YEAR)
        cols[f"{prefix}_status"] = status
    s = slice(0, rows)
    masks = {f: u_missing[i, s] < missing.get(f, 0.0) for i, f in enumerate(_FACTORS)}
    start = index * b
    arrays = [
        pa.array(np.arange(start + 1, start + rows + 1, dtype=np.int64)),
        pa.array(age[s]),
        pa.array(np.where(male[s], "male", "female")),
        pa.array(year[s].astype(np.int32)),
        pa.array(nec[s].astype(np.int8), mask=masks["necrosis"]),
        pa.array(grade[s], mask=masks["mitotic_grade"]),
        pa.array(inv[s].astype(np.int8), mask=masks["invasion"]),
        pa.array(np.where(pos[s], "positive", "negative"), mask=masks["margins"]),
        pa.array(cols["met_time"][s]),
        pa.array(cols["met_status"][s]),
        pa.array(cols["lr_time"][s]),
        pa.array(cols["lr_status"][s]),
        pa.array(np.ones(rows, dtype=bool)),
    ]
    return pa.Table.from_arrays(arrays, schema=cohort_arrow_schema())


def _missing_map(missing: float | Mapping[str, float]) -> dict[str, float]:
    if isinstance(missing, Mapping):
        unknown = sorted(set(missing) - set(_FACTORS))
        if unknown:
            raise InputError(f"missing: unknown factor column(s) {unknown}; use {list(_FACTORS)}")
        out = {f: float(missing.get(f, 0.0)) for f in _FACTORS}
    else:
        out = {f: float(missing) for f in _FACTORS}
    for f, v in out.items():
        if not 0.0 <= v < 1.0:
            raise InputError(f"missing: fraction for {f} must be in [0, 1) (got {v})")
    return out


def synthetic_metadata(n: int, seed: int, missing: Mapping[str, float]) -> dict[str, str]:
    """The Parquet key-value metadata of a synthetic cohort file."""
    from leiosurv import __version__

    return {
        "leiosurv.synthetic": "true",
        "leiosurv.generator": "leiosurv.study.synthesize_cohort",
        "leiosurv.generator_version": GENERATOR_VERSION,
        "leiosurv.version": __version__,
        "leiosurv.seed": str(seed),
        "leiosurv.n": str(n),
        "leiosurv.missing": json.dumps(dict(missing), sort_keys=True),
        "leiosurv.calibration": json.dumps(SYNTH_CALIBRATION.to_dict(), sort_keys=True),
        "leiosurv.calibrated_to": ev.SEED_001.reference,
    }


def _available_memory() -> int:
    """Bytes of memory available to a new allocation (Linux MemAvailable; else free physical pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this platform: no memory bound known
        return 2**63


def _free_disk(out: Path) -> int:
    """Free bytes on the file system that will hold *out* (its nearest existing ancestor)."""
    d = out.absolute().parent
    while not d.exists() and d != d.parent:
        d = d.parent
    try:
        usage = shutil.disk_usage(d)
    except OSError:  # cannot tell: no disk bound (the write then fails cleanly if the disk fills)
        return 2**63
    # a pseudo file system (/proc, /sys) reports no size: no bound; writing there fails on its own
    return usage.free if usage.total else 2**63


def synth_capacity(out: str | os.PathLike | None = None, *, chunk_size: int = 1_048_576) -> int:
    """The largest ``n`` this machine can hold now: the bound :func:`synthesize_cohort` enforces.

    With ``out`` (streaming to Parquet) the file must fit in the free disk space
    at ``out``, :data:`BYTES_PER_ROW_ON_DISK` a row; memory then only holds
    ``chunk_size`` rows.  Without ``out`` the whole frame is held in memory,
    :data:`BYTES_PER_ROW_IN_MEMORY` a row of the available memory.  Both sizes
    are measured upper bounds, so the bound is conservative.

    Examples
    --------
    >>> synth_capacity() > 10_000
    True
    """
    if out is None:
        return _available_memory() // BYTES_PER_ROW_IN_MEMORY
    return _free_disk(Path(out)) // BYTES_PER_ROW_ON_DISK


def _gb(b: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if b >= size:
            return f"{b / size:,.1f} {unit}"
    return f"{b:,.0f} bytes"


def check_synth_size(n: int, *, chunk_size: int = 1_048_576, out: str | os.PathLike | None = None,
                     names: tuple[str, str] = ("n", "chunk_size")) -> None:
    """Refuse up front a cohort this machine cannot hold (see :func:`synth_capacity`).

    Parameters
    ----------
    n, chunk_size, out
        As for :func:`synthesize_cohort`.
    names : (str, str), default ("n", "chunk_size")
        How the messages name ``n`` and ``chunk_size`` (a CLI passes ``--n``, ``--chunk-size``).

    Raises
    ------
    InputError
        Saying how much disk or memory ``n`` rows need and how many fit.
    """
    n_name, chunk_name = names
    memory = _available_memory()
    if out is None:
        need, have = n * BYTES_PER_ROW_IN_MEMORY, memory
        if need > have:
            raise InputError(
                f"{n_name}: {n:,} rows need about {_gb(need)} of memory ({BYTES_PER_ROW_IN_MEMORY} bytes a row) and "
                f"{_gb(have)} is available: at most {have // BYTES_PER_ROW_IN_MEMORY:,} rows; stream larger "
                "cohorts to a file with out=...")
        return
    held = (min(n, chunk_size) + BLOCK_SIZE) * BYTES_PER_ROW_IN_MEMORY
    if held > memory:
        raise InputError(
            f"{chunk_name}: {chunk_size:,} rows a row group need about {_gb(held)} of memory and {_gb(memory)} is "
            f"available; use at most {max(1, memory // BYTES_PER_ROW_IN_MEMORY - BLOCK_SIZE):,}")
    need, have = n * BYTES_PER_ROW_ON_DISK, _free_disk(Path(out))
    if need > have:
        raise InputError(
            f"{n_name}: {n:,} rows need about {_gb(need)} on disk ({BYTES_PER_ROW_ON_DISK} bytes a row) and "
            f"{_gb(have)} is free at {short(Path(out).absolute().parent)}: at most {have // BYTES_PER_ROW_ON_DISK:,} "
            "rows there")


def synthesize_cohort(
    n: int,
    seed: int = 1,
    *,
    chunk_size: int = 1_048_576,
    out: str | os.PathLike | None = None,
    missing: float | Mapping[str, float] = 0.0,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame | Path:
    """Make a synthetic dermal-LMS cohort calibrated to seed 001 (labelled synthetic).

    Parameters
    ----------
    n : int
        Number of patients (>= 1).
    seed : int, default 1
        Non-negative seed; the same ``(n, seed, missing)`` always gives the same rows.
    chunk_size : int, default 1_048_576
        Rows per Parquet row group when streaming (does not change the rows).
    out : path, optional
        Stream to this Parquet file (written to a temporary file in the same
        directory and renamed at the end, removed on an error, SIGINT or
        SIGTERM; overwrites) and return its path.
    missing : float or dict, default 0.0
        Fraction of factor values set missing completely at random, for all of
        ``necrosis``, ``mitotic_grade``, ``invasion``, ``margins`` or per column.
        Seed 001 does not report missingness; 0 reproduces its figures.
    progress : callable, optional
        Called with the number of rows made after each block.

    Raises
    ------
    InputError
        A bad argument, or ``n`` larger than the machine can hold
        (:func:`synth_capacity`: disk space at ``out``, else memory), refused
        before anything is made.
    OutputError
        ``out`` cannot be written (see :mod:`leiosurv.files`); nothing was written.

    Returns
    -------
    pandas.DataFrame or pathlib.Path
        The cohort (format of ``docs/cohort.md``, ``synthetic`` True in every
        row, metadata in ``df.attrs``), or the Parquet path when ``out`` is given.

    Examples
    --------
    >>> df = synthesize_cohort(381, seed=1)
    >>> len(df), bool(df["synthetic"].all()), float(df["age"].median()) > 50
    (381, True, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n: must be a positive integer (got {n!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed: must be a non-negative integer (got {seed!r})")
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise InputError(f"chunk_size: must be a positive integer (got {chunk_size!r})")
    miss = _missing_map(missing)
    check_synth_size(int(n), chunk_size=int(chunk_size), out=out)
    meta = synthetic_metadata(int(n), int(seed), miss)
    n_blocks = -(-int(n) // BLOCK_SIZE)

    def blocks():
        done = 0
        for i in range(n_blocks):
            rows = min(BLOCK_SIZE, n - i * BLOCK_SIZE)
            yield _block(int(seed), i, rows, miss)
            done += rows
            if progress is not None:
                progress(done)

    if out is None:
        tbl = pa.concat_tables(list(blocks())).replace_schema_metadata(cohort_arrow_schema(meta).metadata)
        df = tbl.to_pandas()
        for c in ("necrosis", "mitotic_grade", "invasion"):
            df[c] = df[c].astype("Int8")
        df.attrs.update(meta)
        return df
    path = Path(out)
    with atomic_file(path) as tmp, pq.ParquetWriter(tmp, cohort_arrow_schema(meta), compression="zstd") as writer:
        buffer: list[pa.Table] = []
        buffered = 0
        for tbl in blocks():
            buffer.append(tbl)
            buffered += tbl.num_rows
            if buffered >= chunk_size:
                writer.write_table(pa.concat_tables(buffer), row_group_size=buffered)
                buffer, buffered = [], 0
        if buffer:
            writer.write_table(pa.concat_tables(buffer), row_group_size=buffered)
    return path
