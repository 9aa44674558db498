"""Synthetic competing-risks data for the Aalen–Johansen speed benchmark.

One generator serves every size, so a row's values do not depend on ``n``
beyond the seed stream.  The model:

* group ``g`` ~ Bernoulli(0.5), stored as int8 (0/1);
* latent event time ``X`` ~ Exponential(scale = 1.31 * L) days, censoring time
  ``C`` ~ Uniform(0, L) with ``L = 5479`` days (15 years of follow-up); the
  scale makes P(X < C) ~= 0.30;
* an observed event is cause 1 with probability 0.27 in group 0 and 0.40 in
  group 1, else cause 2, giving about 10 % cause 1 and 20 % cause 2 overall;
* ``kind="continuous"``: time = min(X, C) in days as float64 (no ties);
  ``kind="days"``: the same value rounded up to whole days, still float64
  (at most 5479 distinct times, heavy ties, events and censorings on the same
  day).

Columns as given to every contender: ``time`` float64, ``event`` int8
(0 censored, 1, 2), ``group`` int8: 10 bytes per row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FOLLOW_UP_DAYS = 5479.0
_SCALE = 1.31 * FOLLOW_UP_DAYS
_P_CAUSE1 = (0.27, 0.40)
KINDS = ("continuous", "days")
CHUNK = 10_000_000

__all__ = ["KINDS", "generate", "input_bytes", "write_parquet", "FOLLOW_UP_DAYS", "scale_for"]


def scale_for(events: float) -> float:
    """Scale of the exponential event time giving P(X < C) = ``events`` under C ~ U(0, L).

    P(X < C) = 1 - (s/L) (1 - exp(-L/s)); solved by bisection on s.
    ``scale_for(0.30)`` is about 1.31 L, the default mix.
    """
    lo, hi = 1e-3 * FOLLOW_UP_DAYS, 1e3 * FOLLOW_UP_DAYS
    for _ in range(200):
        s = (lo + hi) / 2
        p = 1 - (s / FOLLOW_UP_DAYS) * (1 - np.exp(-FOLLOW_UP_DAYS / s))
        lo, hi = (s, hi) if p > events else (lo, s)
    return (lo + hi) / 2


def _chunk(rng: np.random.Generator, n: int, kind: str, scale: float = _SCALE) -> dict[str, np.ndarray]:
    group = (rng.random(n) < 0.5).astype(np.int8)
    x = rng.exponential(scale, n)
    c = rng.uniform(0.0, FOLLOW_UP_DAYS, n)
    observed = x < c
    time = np.where(observed, x, c)
    p1 = np.where(group == 1, _P_CAUSE1[1], _P_CAUSE1[0])
    cause = np.where(rng.random(n) < p1, 1, 2).astype(np.int8)
    event = np.where(observed, cause, 0).astype(np.int8)
    if kind == "days":
        time = np.ceil(time)
    elif kind != "continuous":
        raise ValueError(f"kind must be one of {KINDS}, but was {kind!r}")
    return {"time": time.astype(np.float64), "event": event, "group": group}


def generate(n: int, kind: str, seed: int = 20261121, events: float | None = None) -> dict[str, np.ndarray]:
    """Return the three columns for ``n`` rows of the given ``kind``.

    Examples
    --------
    >>> d = generate(1000, "days")
    >>> sorted(d), d["time"].dtype.name, d["event"].dtype.name
    (['event', 'group', 'time'], 'float64', 'int8')
    """
    rng = np.random.default_rng(seed)
    scale = _SCALE if events is None else scale_for(events)
    if n <= CHUNK:
        return _chunk(rng, n, kind, scale)
    parts = [_chunk(rng, min(CHUNK, n - i), kind, scale) for i in range(0, n, CHUNK)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def input_bytes(data: dict[str, np.ndarray]) -> int:
    """Bytes of the time, event and group arrays as given."""
    return int(sum(data[k].nbytes for k in ("time", "event", "group")))


def write_parquet(path: Path, n: int, kind: str, seed: int = 20261121, events: float | None = None) -> Path:
    """Stream ``n`` rows into a Parquet file in chunks of 10^7 rows.

    The rows are those of ``generate(n, kind, seed)``; peak memory is one chunk.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    rng = np.random.default_rng(seed)
    scale = _SCALE if events is None else scale_for(events)
    schema = pa.schema([("time", pa.float64()), ("event", pa.int8()), ("group", pa.int8())])
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for i in range(0, n, CHUNK):
            d = _chunk(rng, min(CHUNK, n - i), kind, scale)
            writer.write_table(pa.table(d, schema=schema), row_group_size=1_000_000)
    tmp.replace(path)
    return path
