"""``leiosurv demo``: the README's main job, end to end.

1. assess every bundled example case (``examples/*.yaml``) and print the result;
2. make the synthetic cohort calibrated to seed 001 (labelled synthetic);
3. run the cohort study on it and write the report;
4. validate the published rule on it;
5. print where everything is.

It composes the other commands, so what it prints is exactly what a user of
those commands would see.
"""

from __future__ import annotations

from pathlib import Path

import click

from leiosurv.clinical.evidence import DLMS_COHORT
from leiosurv.exceptions import InputError

_SOURCE_EXAMPLES = Path(__file__).resolve().parents[4] / "examples"


def _run(*args: str) -> None:
    from leiosurv.interfaces.cli import cli

    cli.main(args=list(args), prog_name="leiosurv", standalone_mode=False)


def _banner(text: str) -> None:
    click.secho(f"\n=== {text} ===", bold=True, err=False)


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Directory for the synthetic cohort, the study report and the rule validation.",
)
@click.option("--n", "n", type=click.IntRange(min=10), default=DLMS_COHORT["n"], show_default=True,
              help="Synthetic patients.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the synthetic cohort.")
@click.option(
    "--examples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Directory of case files to assess (default: the examples/ of the source tree).",
)
def demo(out: Path, n: int, seed: int, examples: Path | None) -> None:
    """Run the whole demonstration: assess the example cases, then the cohort study on synthetic data."""
    examples = examples or _SOURCE_EXAMPLES
    if not examples.is_dir():
        raise InputError(f"--examples: no example directory at {examples}; pass --examples DIR")
    cases = sorted(p for p in examples.glob("*.yaml") if not p.name.endswith(".expected.yaml"))
    if not cases:
        raise InputError(f"--examples: no *.yaml case files in {examples}")
    for case in cases:
        _banner(f"assess {case.name}")
        _run("assess", str(case))

    out.mkdir(parents=True, exist_ok=True)
    cohort = out / f"synthetic_cohort_n{n}_seed{seed}.parquet"
    _banner(f"synthetic cohort: {n} patients, seed {seed}")
    _run("synth", "--n", str(n), "--seed", str(seed), "--out", str(cohort), "--force")

    _banner("cohort study (synthetic data)")
    _run("study", str(cohort), "--out", str(out / "study"), "--force")

    _banner("published rule validated on the synthetic cohort")
    _run("validate-rule", str(cohort), "--out", str(out / "validate-rule"), "--force")

    _banner("done")
    click.echo(f"Synthetic cohort: {cohort}")
    click.echo(f"Study report:     {out / 'study' / 'report.html'}")
    click.echo(f"Rule validation:  {out / 'validate-rule' / 'report.html'}")


def register(group: click.Group) -> None:
    """Add this module's commands to *group*."""
    group.add_command(demo)
