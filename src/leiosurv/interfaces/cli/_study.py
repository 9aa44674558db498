"""``leiosurv study`` and ``leiosurv validate-rule``: the cohort study of seed 001 on a cohort file.

Both read the cohort with :func:`leiosurv.study.read_cohort` (CSV, Parquet,
Excel, DuckDB/SQLite with ``--table``), run the analysis and write the report
with :func:`leiosurv.files.atomic_directory`: into a hidden temporary directory
next to ``--out`` that is renamed into place only when everything succeeded
(and removed on an error, SIGINT or SIGTERM), so a failed run leaves nothing
half-written.  ``--out`` is checked before the cohort is read: it may not be,
lie inside, or contain the input (or the current directory), and a non-empty
``--out`` is only replaced with ``--force``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from statistics import NormalDist, StatisticsError

import click

from leiosurv.exceptions import InputError
from leiosurv.files import atomic_directory, check_directory, check_outputs


def _factors(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return tuple(dict.fromkeys(out))


def _level(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A confidence level whose normal quantile ``(1 + level) / 2`` exists (0.9999999999999999 has none)."""
    ok = math.isfinite(value) and 0.0 < value < 1.0
    if ok:
        try:
            ok = math.isfinite(NormalDist().inv_cdf((1.0 + value) / 2.0))
        except StatisticsError:
            ok = False
    if not ok:
        raise click.BadParameter(f"must be in (0, 1), at most 0.9999999999999998 (got {value!r})")
    return value


def _progress_bar(enabled: bool):
    """A ``progress(step, done, total)`` callback drawing a tqdm bar on stderr (only on a terminal)."""
    if not (enabled and sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm

    bar = None

    def update(step: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="cohort study", unit="step", file=sys.stderr)
        bar.set_postfix_str(step, refresh=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _run(cohort: str, out: Path, force: bool, work):
    """Check --out against the input, run *work*, and write its report all-or-nothing."""
    from leiosurv.study import source_path, write_report

    if cohort.startswith(REGISTRY_PREFIX):  # a registry file is an input too; a server URL is not a path
        url = cohort[len(REGISTRY_PREFIX):]
        src = None if "://" in url and not url.startswith("sqlite:///") else source_path(url)
    else:
        src = source_path(cohort)
    check_outputs([], [src] if src is not None else [], directories=[out])
    check_directory(out, replace=force)
    result = work()
    with atomic_directory(out, replace=force) as tmp:
        write_report(result, tmp)
    return result


_common = [
    click.argument("cohort", type=str),
    click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
                 help="Output directory (report.html, CSV, JSON, PNG, SVG)."),
    click.option("--table", default=None, help="Table name, for a DuckDB or SQLite database."),
    click.option("--sheet", default=None, help="Excel sheet (default the first)."),
    click.option("--horizon", default="5y", show_default=True, help="Horizon: e.g. 5y, 60m, 1826d."),
    click.option("--level", type=float, default=0.95, show_default=True, callback=_level,
                 help="Confidence level, in (0, 1)."),
    click.option("--variance", type=click.Choice(["delta", "aalen"]), default="delta", show_default=True,
                 help="delta: prodlim/survfit delta method (reproduces seed 001); aalen: cmprsk::cuminc."),
    click.option("--ci", type=click.Choice(["plain", "log-log"]), default="plain", show_default=True,
                 help="plain: Wald CI truncated to [0, 1] (seed 001); log-log: transformed."),
    click.option("--min-patients", type=click.IntRange(min=0), default=None,
                 help="Flag an estimate from fewer patients (default 10)."),
    click.option("--min-events", type=click.IntRange(min=0), default=None,
                 help="Flag an estimate resting on fewer events by the horizon (default 5)."),
    click.option("--landmarks", default=None,
                 help="Landmarks of the remaining-risk table in years, e.g. 0,1,2,3,4 (default 0 to the last "
                      "whole year before the horizon)."),
    click.option("--bootstrap", type=click.IntRange(min=0), default=None,
                 help="Bootstrap resamples repeating the rule's derivation (default 200; 0 skips it)."),
    click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the bootstrap (default 1)."),
    click.option("--json", "as_json", is_flag=True,
                 help="Print the result as JSON on stdout (result.json's content) instead of the summary."),
    click.option("--force", is_flag=True, help="Replace a non-empty --out directory."),
    click.option("--progress/--no-progress", default=True, help="Progress bar on stderr (only on a terminal)."),
]


REGISTRY_PREFIX = "registry:"


def _registry_target(cohort: str, table: str | None) -> str | None:
    """The registry COHORT names, if any: ``registry:<path or URL>``, a ``postgresql://`` URL, or (without
    ``--table``) a SQLite file that is a leiosurv registry."""
    if cohort.startswith(REGISTRY_PREFIX):
        return cohort[len(REGISTRY_PREFIX):]
    if cohort.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return cohort
    if table is None and (cohort.startswith("sqlite:///") or cohort.lower().endswith((".sqlite", ".sqlite3", ".db"))):
        import sqlite3

        path = cohort[len("sqlite:///"):] if cohort.startswith("sqlite:///") else cohort
        if not Path(path).is_file():
            return None
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                con.close()
        except sqlite3.DatabaseError:
            return None
        if {"alembic_version", "patient", "tumour"} <= names:
            return cohort
    return None


def _read(cohort: str, table: str | None, sheet: str | None, factors: tuple[str, ...] = ()):
    """Read COHORT; a patient registry (see :func:`_registry_target`) is read through its cohort export."""
    from leiosurv.study import read_cohort

    target = _registry_target(cohort, table)
    if target is not None:
        from leiosurv.registry import Registry

        if factors:
            raise InputError("--factors: the registry's cohort has only the standard factors")
        reg = Registry(target)
        try:
            return reg.cohort().study_cohort()
        finally:
            reg.close()
    return read_cohort(cohort, table=table, sheet=sheet, factors=factors)


def _landmarks(text: str | None) -> list[float] | None:
    """``--landmarks 0,1,2`` as years; one line naming the option on a bad value."""
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"must be comma-separated numbers of years, e.g. 0,1,2 (got {text!r})",
                                 param_hint="--landmarks") from None


def _options(min_patients: int | None, min_events: int | None, landmarks: str | None, bootstrap: int | None,
             seed: int | None, progress: bool) -> dict:
    """The shared options as keywords of run_study / validate_rule (unset ones keep the API's defaults)."""
    given = {"min_patients": min_patients, "min_events": min_events, "landmarks_years": _landmarks(landmarks),
             "bootstrap": bootstrap, "seed": seed}
    return {"progress": _progress_bar(progress), **{k: v for k, v in given.items() if v is not None}}


def _echo_json(result, kind: str) -> None:
    import json

    payload = {"synthetic": result.synthetic, "kind": kind, **result.to_dict()}
    click.echo(json.dumps(payload, allow_nan=False))


def _with_common(f):
    for deco in reversed(_common):
        f = deco(f)
    return f


@click.command()
@_with_common
@click.option("--factors", multiple=True, help="Extra 0/1 factor columns (repeat or comma-separate).")
@click.option("--thresholds", default=None, help="Derivation thresholds in points, e.g. met=5,lr=10 (the default).")
@click.option("--label", "labels", multiple=True,
              help="Display label of an extra factor, COLUMN=TEXT, e.g. --label 'deep_invasion=Deep invasion'.")
@click.option("--multivariable", is_flag=True,
              help="Add the exploratory multivariable Fine-Gray table (age, sex, the four factors) per outcome.")
def study(cohort: str, out: Path, table: str | None, sheet: str | None, horizon: str, level: float, variance: str,
          ci: str, min_patients: int | None, min_events: int | None, landmarks: str | None, bootstrap: int | None,
          seed: int | None, as_json: bool, force: bool, progress: bool, factors: tuple[str, ...],
          thresholds: str | None, labels: tuple[str, ...], multivariable: bool) -> None:
    """Run the cohort study of seed 001 on COHORT and write the report to --out.

    COHORT is a file, or a patient registry: a leiosurv registry SQLite file, a postgresql:// URL, or
    ``registry:PATH_OR_URL``.
    """
    from leiosurv.study import parse_horizon, parse_thresholds, run_study

    extras = _factors(factors)
    days, thr = parse_horizon(horizon), parse_thresholds(thresholds)
    opts = _options(min_patients, min_events, landmarks, bootstrap, seed, progress)
    names = {}
    for item in labels:
        col, sep, text = item.partition("=")
        if not sep or not col.strip() or not text.strip():
            raise click.BadParameter(f"must be COLUMN=TEXT, e.g. 'deep_invasion=Deep invasion' (got {item!r})",
                                     param_hint="--label")
        names[col.strip()] = text.strip()

    def work():
        c = _read(cohort, table, sheet, extras)
        return run_study(c, horizon_days=days, factors=extras, thresholds=thr, labels=names, level=level,
                         variance=variance, ci=ci, multivariable=multivariable, **opts)

    result = _run(cohort, out, force, work)
    if as_json:
        _echo_json(result, "study")
        return
    if result.synthetic:
        click.echo("SYNTHETIC DATA: this cohort is synthetic; the report says so on every page and figure.")
    rule = "; ".join(result.factor_label(f) for f in result.rule.factors) or "(no factor exceeded the thresholds)"
    click.echo(f"Derived rule (exploratory): high risk if any of {rule}")
    st = result.stability
    if st is not None:
        click.echo(f"Re-derived in {100 * st.derived_frequency:.1f}% of {st.resamples} bootstrap resamples "
                   f"(seed {st.seed}); the published rule in {100 * st.published_frequency:.1f}%")
    for m in result.multivariable:
        click.echo(str(m))
    click.echo(f"Report: {out / 'report.html'}")


@click.command("validate-rule")
@_with_common
def validate_rule_cmd(cohort: str, out: Path, table: str | None, sheet: str | None, horizon: str, level: float,
                      variance: str, ci: str, min_patients: int | None, min_events: int | None,
                      landmarks: str | None, bootstrap: int | None, seed: int | None, as_json: bool, force: bool,
                      progress: bool) -> None:
    """Apply the published dermal-LMS rule to COHORT and compare it with the published figures."""
    from leiosurv.study import parse_horizon, validate_rule

    days = parse_horizon(horizon)
    opts = _options(min_patients, min_events, landmarks, bootstrap, seed, progress)

    def work():
        c = _read(cohort, table, sheet)
        return validate_rule(c, horizon_days=days, level=level, variance=variance, ci=ci, **opts)

    result = _run(cohort, out, force, work)
    if as_json:
        _echo_json(result, "rule_validation")
        return
    if result.synthetic:
        click.echo("SYNTHETIC DATA: this cohort is synthetic; the report says so on every page and figure.")
    click.echo(f"Published figures compared: {len(result.comparisons)}; disagreements: {len(result.disagreements)}; "
               f"not assessable: {len(result.not_assessable)}")
    click.echo(f"Comparison rule: {result.COMPARISON_RULE}")
    for c in result.disagreements:
        click.echo(f"  ! {c.message}")
    for c in result.not_assessable:
        click.echo(f"  ? {c.message}")
    for c in (c for c in result.comparisons if c.rounding_explains):
        click.echo(f"  ~ {c.message}")
    st = result.study.stability
    if st is not None:
        sel = ", ".join(f"{result.study.factor_label(f)} {100 * st.frequency(f, o):.1f}%"
                        for o, fs in st.published_rule.items() for f in fs)
        click.echo(f"Bootstrap ({st.resamples} resamples, seed {st.seed}): published rule re-derived in "
                   f"{100 * st.published_frequency:.1f}%; each published factor selected for its outcome: {sel}")
    if result.performance is not None:
        from leiosurv.study import performance_lines

        for line in performance_lines(result.performance):
            click.echo(line)
    click.echo(f"Report: {out / 'report.html'}")


def register(group: click.Group) -> None:
    """Add this module's commands to *group*."""
    group.add_command(study)
    group.add_command(validate_rule_cmd)
