"""CLI commands ``assess``, ``plan`` and ``schema`` (see the package docstring).

A case file is JSON or YAML (by extension; anything else is read as YAML, a
superset of JSON).  Bad input raises :class:`~leiosurv.exceptions.FindingsError`
naming the field and value; ``main()`` prints it on one line and exits 2.
Exports are written to temporary files and renamed only when all succeeded.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import click

from leiosurv.casefile import load_case
from leiosurv.clinical import Assessment, assess, evidence
from leiosurv.clinical.findings import Findings
from leiosurv.exceptions import InputError
from leiosurv.files import atomic_write, check_outputs

__all__ = ["register"]


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
    f = click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Date the plan's status (past, due, upcoming) refers to; default today.")(f)
    return f


def _assess(case: str, mitotic_definition: str, imaging_interval: int, window_days: int, plan_years: int,
            as_of: _dt.datetime | None) -> Assessment:
    return assess(load_case(case), mitotic_definition=mitotic_definition, imaging_interval_months=imaging_interval,
                  window_days=window_days, plan_years=plan_years, as_of=as_of.date() if as_of else None)


@click.command("assess")
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the summary.")
@_options
def assess_cmd(case, as_json, mitotic_definition, imaging_interval, window_days, plan_years, as_of):
    """Diagnosis support, pathway, risk group and dated plan for the findings in CASE (JSON or YAML)."""
    a = _assess(case, mitotic_definition, imaging_interval, window_days, plan_years, as_of)
    if as_json:
        click.echo(a.model_dump_json(indent=2))
    else:
        click.echo(str(a))


@click.command("plan")
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--ics", "ics_path", type=click.Path(dir_okay=False), help="Write the plan as iCalendar (.ics).")
@click.option("--fhir", "fhir_path", type=click.Path(dir_okay=False),
              help="Write a FHIR R4B Bundle (collection) with the RiskAssessment and CarePlan.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the full assessment as JSON.")
@_options
def plan_cmd(case, ics_path, fhir_path, json_path, mitotic_definition, imaging_interval, window_days, plan_years,
             as_of):
    """Print the dated plan for CASE and write its exports (all or nothing)."""
    targets = [Path(p) for p in (ics_path, fhir_path, json_path) if p]
    check_outputs(targets, [case])
    a = _assess(case, mitotic_definition, imaging_interval, window_days, plan_years, as_of)
    outputs: dict[Path, bytes] = {}
    if ics_path:
        from leiosurv.interfaces.ics import plan_to_ics

        if not a.plan.encounters and not a.plan.recommendations:
            raise InputError(f"--ics: nothing to export: the plan has no scheduled encounters and no "
                             f"recommendations ({a.plan.basis})")
        outputs[Path(ics_path)] = plan_to_ics(a)
    if fhir_path:
        from leiosurv.interfaces.fhir import assessment_to_fhir

        outputs[Path(fhir_path)] = json.dumps(assessment_to_fhir(a), indent=2, ensure_ascii=False).encode()
    if json_path:
        outputs[Path(json_path)] = a.model_dump_json(indent=2).encode()
    atomic_write(outputs)
    click.echo(str(a.applicability))
    click.echo(f"Risk group: {a.risk.group} ({a.risk.reason})")
    click.echo(str(a.plan))
    for path in outputs:
        click.echo(f"wrote {path}")


def _result_classes() -> dict[str, Any]:
    """Every result kind ``schema --output`` can describe: one serialisation style (leiosurv.serial)."""
    from leiosurv import stats, study

    return {"assessment": Assessment, "study": study.StudyResult, "validation": study.RuleValidation,
            "cumulative-incidence": stats.CumulativeIncidence, "kaplan-meier": stats.KaplanMeier,
            "risk-difference": stats.RiskDifference, "gray-test": stats.GrayTest,
            "conditional-incidence": stats.ConditionalIncidence}


SCHEMA_OUTPUTS = ("case", "assessment", "study", "validation", "cumulative-incidence", "kaplan-meier",
                  "risk-difference", "gray-test", "conditional-incidence")


@click.command("schema")
@click.option("--output", "which", type=click.Choice(SCHEMA_OUTPUTS), default="case", show_default=True,
              help="'case': the input (findings) schema; any other: the JSON Schema of that result's to_dict() "
                   "/ --json output ('assessment': assess --json; 'study', 'validation': the study's results.json; "
                   "the rest: the statistics results).")
def schema_cmd(which):
    """Print the JSON Schema of a case file, or of a result (clinical, study or statistics)."""
    schema = Findings.model_json_schema() if which == "case" else _result_classes()[which].json_schema()
    click.echo(json.dumps(schema, indent=2))


@click.command("evidence-docs")
def evidence_docs_cmd():
    """Print docs/clinical.md, generated from the evidence data (rules, figures, sources)."""
    from leiosurv.interfaces.evidence_docs import render_clinical_md

    click.echo(render_clinical_md(), nl=False)


def register(group: click.Group) -> None:
    """Add this module's commands to *group*."""
    for cmd in (assess_cmd, plan_cmd, schema_cmd, evidence_docs_cmd):
        group.add_command(cmd)
