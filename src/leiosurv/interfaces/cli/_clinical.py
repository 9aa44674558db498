"""CLI commands ``assess``, ``plan`` and ``schema`` (see the package docstring).

A case file is JSON or YAML (by extension; anything else is read as YAML, a
superset of JSON).  Bad input raises :class:`~leiosurv.exceptions.FindingsError`
naming the field and value; ``main()`` prints it on one line and exits 2.
Exports are written to temporary files and renamed only when all succeeded.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from leiosurv.clinical import Assessment, assess, evidence, parse_findings
from leiosurv.clinical.findings import Findings
from leiosurv.exceptions import ExportError, FieldIssue, FindingsError

__all__ = ["register", "load_case", "write_atomically"]


def load_case(path: str | os.PathLike) -> Findings:
    """Read and validate a JSON or YAML case file; every failure is a :class:`FindingsError`."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FindingsError([FieldIssue("(file)", "no such file", str(p))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FindingsError([FieldIssue("(file)", f"cannot read: {exc}", str(p))]) from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise FindingsError([FieldIssue(f"line {exc.lineno}", f"malformed JSON: {exc.msg}")], source=p.name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FindingsError([FieldIssue(where, f"malformed YAML: {problem}")], source=p.name) from None
    return parse_findings(data, source=p.name)


def write_atomically(outputs: dict[Path, bytes]) -> None:
    """Write every file or none: temp files in the target directories, renamed at the end."""
    temps: list[tuple[str, Path]] = []
    try:
        for target, data in outputs.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            temps.append((tmp, target))
    except OSError as exc:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"could not write exports: {exc}") from exc
    for tmp, target in temps:
        os.replace(tmp, target)


def _options(f):
    f = click.option("--plan-years", type=click.IntRange(1, 50), default=evidence.DEFAULT_GUIDELINE_PLAN_YEARS,
                     show_default=True, help="Length of a guideline (non-dermal) plan; follow-up is lifelong.")(f)
    f = click.option("--window-days", type=click.IntRange(0, 365), default=evidence.DEFAULT_WINDOW_DAYS,
                     show_default=True, help="Acceptable window +/- days around each due date (project default).")(f)
    f = click.option("--imaging-interval", "imaging_interval", type=click.IntRange(1, 24),
                     default=evidence.DEFAULT_IMAGING_INTERVAL_MONTHS, show_default=True,
                     help="Months between chest CT / PET-CT in the first 2 years, high risk (project default).")(f)
    f = click.option("--mitotic-definition", type=click.Choice(sorted(evidence.MITOTIC_DEFINITIONS)),
                     default=evidence.DEFAULT_MITOTIC_DEFINITION, show_default=True,
                     help="How seed 001's 'mitotic grade 3' is read.")(f)
    return f


def _assess(case: str, mitotic_definition: str, imaging_interval: int, window_days: int, plan_years: int) -> Assessment:
    return assess(load_case(case), mitotic_definition=mitotic_definition, imaging_interval_months=imaging_interval,
                  window_days=window_days, plan_years=plan_years)


@click.command("assess")
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
@_options
def assess_cmd(case, as_json, mitotic_definition, imaging_interval, window_days, plan_years):
    """Diagnosis support, risk group and dated plan for the findings in CASE (JSON or YAML)."""
    a = _assess(case, mitotic_definition, imaging_interval, window_days, plan_years)
    if as_json:
        click.echo(json.dumps(a.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(str(a))


@click.command("plan")
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--ics", "ics_path", type=click.Path(dir_okay=False), help="Write the plan as iCalendar (.ics).")
@click.option("--fhir", "fhir_path", type=click.Path(dir_okay=False),
              help="Write a FHIR R4B Bundle (collection) with the RiskAssessment and CarePlan.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the full assessment as JSON.")
@_options
def plan_cmd(case, ics_path, fhir_path, json_path, mitotic_definition, imaging_interval, window_days, plan_years):
    """Print the dated plan for CASE and write its exports (all or nothing)."""
    a = _assess(case, mitotic_definition, imaging_interval, window_days, plan_years)
    outputs: dict[Path, bytes] = {}
    if ics_path:
        from leiosurv.interfaces.ics import plan_to_ics

        outputs[Path(ics_path)] = plan_to_ics(a)
    if fhir_path:
        from leiosurv.interfaces.fhir import assessment_to_fhir

        outputs[Path(fhir_path)] = json.dumps(assessment_to_fhir(a), indent=2, ensure_ascii=False).encode()
    if json_path:
        outputs[Path(json_path)] = json.dumps(a.to_dict(), indent=2, ensure_ascii=False).encode()
    write_atomically(outputs)
    click.echo(f"Risk group: {a.risk.group} ({a.risk.reason})")
    click.echo(str(a.plan))
    for path in outputs:
        click.echo(f"wrote {path}")


@click.command("schema")
def schema_cmd():
    """Print the JSON Schema of a case file (the findings model)."""
    click.echo(json.dumps(Findings.model_json_schema(), indent=2))


def register(group: click.Group) -> None:
    """Add this module's commands to *group*."""
    for cmd in (assess_cmd, plan_cmd, schema_cmd):
        group.add_command(cmd)
