"""``leiosurv synth``: write the synthetic dermal-LMS cohort (calibrated to seed 001) to Parquet.

The file is streamed to a hidden temporary file next to ``--out`` and renamed
at the end (:func:`leiosurv.files.atomic_file`), so an interrupted run (error,
Ctrl-C, SIGTERM) leaves nothing behind; an existing file is only replaced with
``--force``, and only when it is itself a synthetic cohort (never real data).
``--n`` is refused up front when the file would not fit in the free disk space
at ``--out`` (:func:`leiosurv.study.synth_capacity`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leiosurv.clinical.evidence import DLMS_COHORT
from leiosurv.exceptions import InputError
from leiosurv.files import check_outputs, short

_PROGRESS_FROM = 1_000_000
"""Show a progress bar (on a terminal) from this many patients on."""


@click.command()
@click.option("--n", "n", type=click.IntRange(min=1), default=DLMS_COHORT["n"], show_default=True,
              help="Number of synthetic patients (at most what the free disk space at --out holds, "
                   "about 24 bytes a patient).")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Seed; the same n and seed always give the same rows.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Parquet file to write (.parquet).")
@click.option("--missing", type=click.FloatRange(min=0, max=1, max_open=True), default=0.0, show_default=True,
              help="Fraction of factor values made missing completely at random (seed 001 reports none).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=1_048_576, show_default=True,
              help="Rows per Parquet row group (does not change the rows).")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists and is a synthetic cohort.")
@click.option("--progress/--no-progress", default=None,
              help=f"Progress bar on stderr (default: on a terminal, from {_PROGRESS_FROM:,} patients).")
def synth(n: int, seed: int, out: Path, missing: float, chunk_size: int, force: bool, progress: bool | None) -> None:
    """Write a SYNTHETIC cohort calibrated to the published figures of seed 001.

    Every row has synthetic = true and the file's metadata says
    leiosurv.synthetic = "true", with the seed, n and the calibration.
    """
    from leiosurv.study import check_synth_size, is_synthetic_file, synthesize_cohort

    if out.suffix.lower() != ".parquet":
        raise InputError(f"--out: the synthetic cohort is written as Parquet; use a .parquet name "
                         f"(got {short(out)!r})")
    check_outputs([out])  # a directory, FIFO or device in the way; a name the system refuses
    if out.exists() and not force:
        raise InputError(f"--out: {short(out)} exists; use --force to overwrite it")
    if out.exists() and not is_synthetic_file(out):  # --force never replaces real data
        raise InputError(f"--out: {short(out)} exists and is not a synthetic cohort made by leiosurv; "
                         "--force only replaces those: remove it yourself or choose another name")
    check_synth_size(n, chunk_size=chunk_size, out=out, names=("--n", "--chunk-size"))
    show = progress if progress is not None else (n >= _PROGRESS_FROM and sys.stderr.isatty())
    bar = None
    callback = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="patients", unit_scale=True, desc="synth", file=sys.stderr)
        done = [0]

        def callback(rows: int) -> None:
            bar.update(rows - done[0])
            done[0] = rows

    try:
        path = synthesize_cohort(n, seed, chunk_size=chunk_size, out=out, missing=missing, progress=callback)
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"SYNTHETIC cohort (calibrated to seed 001, not patient data): {n} patients, seed {seed} -> {path}")


def register(group: click.Group) -> None:
    """Add this module's commands to *group*."""
    group.add_command(synth)
