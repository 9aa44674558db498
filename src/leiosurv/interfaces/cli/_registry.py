"""``leiosurv registry ...``: the patient registry from the command line.

A thin shell over :mod:`leiosurv.registry`: every command opens the registry
named by ``--db`` (a SQLite path or a ``postgresql://`` URL; default
``$LEIOSURV_REGISTRY_URL`` or the per-user SQLite file), calls one service and
prints a readable table, or JSON with ``--json``.  Bad input prints one line
naming the field, row or option and exits with status 2; nothing is written.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import click

from leiosurv.exceptions import InputError

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _d(value) -> _dt.date | None:
    return value.date() if value is not None else None


def _reg(ctx: click.Context, create: bool = False):
    from leiosurv.registry import Registry

    return Registry(ctx.obj["db"], create=create)


def _guard(reg, *outputs: Path) -> None:
    """Refuse an output that is the registry's own SQLite file (or its WAL/SHM companions)."""
    from leiosurv.files import check_outputs

    db = reg.engine.url.database if reg.dialect == "sqlite" else None
    inputs = [db, f"{db}-wal", f"{db}-shm"] if db else []
    check_outputs(list(outputs), inputs)


def _emit(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def _read_case(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot be read as YAML/JSON ({str(exc).splitlines()[0][:100]})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: must hold a mapping of findings")
    return data


_json_opt = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
_asof_opt = click.option("--as-of", type=_DATE, default=None, help="The day of entry (default today).")


@click.group("registry")
@click.option("--db", envvar="LEIOSURV_REGISTRY_URL", default=None,
              help="SQLite path or postgresql:// URL (default $LEIOSURV_REGISTRY_URL or the per-user registry).")
@click.pass_context
def registry(ctx: click.Context, db: str | None) -> None:
    """The patient registry: patients, tumours, treatments, events, encounters; alerts; the study."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db


@registry.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the registry (or migrate it to the newest schema)."""
    from leiosurv.registry import head_revision, redact

    reg = _reg(ctx, create=True)
    click.echo(f"Registry {redact(reg.url)} ready (schema {head_revision()}).")


@registry.command("add-patient")
@click.argument("pseudonym")
@click.option("--sex", type=click.Choice(["female", "male", "other", "unknown"]), default="unknown", show_default=True)
@click.option("--name", default=None, help="Kept apart, in the identity table only.")
@click.option("--birth-date", type=_DATE, default=None, help="Kept apart, in the identity table only.")
@click.option("--synthetic", is_flag=True, help="Mark the patient as synthetic.")
@click.pass_context
def add_patient(ctx, pseudonym, sex, name, birth_date, synthetic) -> None:
    """Register a patient under PSEUDONYM."""
    _reg(ctx).add_patient(pseudonym, sex=sex, name=name, birth_date=_d(birth_date), synthetic=synthetic)
    click.echo(f"Patient {pseudonym} registered.")


@registry.command("add-tumour")
@click.argument("patient")
@click.argument("label")
@click.argument("case_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--confirmed-diagnosis", default=None,
              help="The pathologist's confirmed diagnosis: a category id such as aismn or lms_nos.")
@click.option("--track-from", type=_DATE, default=None,
              help="Entered retrospectively: plan items whose window closed before this date are not tracked.")
@_asof_opt
@_json_opt
@click.pass_context
def add_tumour(ctx, patient, label, case_file, confirmed_diagnosis, track_from, as_of, as_json) -> None:
    """Register tumour LABEL of PATIENT from CASE_FILE (findings, as for 'leiosurv assess'); store its plan."""
    rec = _reg(ctx).add_tumour(patient, label, _read_case(case_file), confirmed_diagnosis=confirmed_diagnosis,
                               as_of=_d(as_of), track_from=_d(track_from))
    _emit(rec.__dict__, as_json, f"Tumour {label} of {patient}: risk {rec.risk_group}; plan {rec.plan_basis} "
                                 f"from {rec.plan_start}; {rec.n_planned} encounters planned.")


@registry.command()
@click.argument("patient")
@click.argument("tumour", required=False)
@click.option("--findings", "case_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Changed findings (merged into the stored ones).")
@click.option("--confirmed-diagnosis", default=None,
              help="The pathologist's confirmed diagnosis: a category id such as aismn or lms_nos.")
@_asof_opt
@_json_opt
@click.pass_context
def assess(ctx, patient, tumour, case_file, confirmed_diagnosis, as_of, as_json) -> None:
    """Re-assess TUMOUR of PATIENT after a change, or (no change given) show its assessment history."""
    reg = _reg(ctx)
    if case_file is not None or confirmed_diagnosis is not None:
        reg.reassess(patient, tumour, findings=_read_case(case_file) if case_file else None,
                     confirmed_diagnosis=confirmed_diagnosis, as_of=_d(as_of))
    hist = reg.history(patient, tumour)
    lines = [f"{'#':>2}  {'date':<10}  {'reason':<20} {'risk':<14} rules             plan"]
    for h in hist:
        lines.append(f"{h.seq:>2}  {h.assessed_on}  {h.reason:<20} {h.risk_group:<14} {h.ruleset_version} "
                     f"{h.ruleset_hash[:8]}  {'*' if h.current else ' '} {h.plan_basis} from {h.plan_start}")
    _emit([h.__dict__ for h in hist], as_json, "\n".join(lines))


@registry.group()
def record() -> None:
    """Record a treatment, event, observation or encounter."""


@record.command("treatment")
@click.argument("patient")
@click.option("--kind", type=click.Choice(["excision", "re_excision", "mohs", "radiotherapy", "systemic"]),
              required=True)
@click.option("--date", type=_DATE, required=True)
@click.option("--tumour", default=None, help="Tumour label (default the patient's first).")
@click.option("--margins", "margin_status", type=click.Choice(["negative", "positive", "unknown"]), default=None)
@click.option("--agent", default=None, help="Systemic agent, e.g. gemcitabine.")
@click.option("--end-date", type=_DATE, default=None)
@click.option("--note", default=None)
@_asof_opt
@click.pass_context
def record_treatment(ctx, patient, kind, date, tumour, margin_status, agent, end_date, note, as_of) -> None:
    """Record a treatment (a re-excision after a local recurrence restarts the plan)."""
    _reg(ctx).record_treatment(patient, kind, _d(date), tumour=tumour, margin_status=margin_status, agent=agent,
                               end_date=_d(end_date), note=note, as_of=_d(as_of))
    click.echo(f"Recorded {kind} of {patient} on {_d(date)}.")


@record.command("event")
@click.argument("patient")
@click.option("--kind", type=click.Choice(["local_recurrence", "metastasis", "new_primary", "death"]), required=True)
@click.option("--date", type=_DATE, required=True)
@click.option("--tumour", default=None)
@click.option("--site", type=click.Choice(["lung", "liver", "skin", "bone_spine", "adrenal", "kidney", "other"]),
              default=None, help="Site of a metastasis.")
@click.option("--cause", default=None, help="Cause of death.")
@click.option("--note", default=None)
@_asof_opt
@click.pass_context
def record_event(ctx, patient, kind, date, tumour, site, cause, note, as_of) -> None:
    """Record an event and re-plan (metastasis: sarcoma-team pathway; death: nothing due)."""
    _reg(ctx).record_event(patient, kind, _d(date), tumour=tumour, site=site, cause=cause, note=note, as_of=_d(as_of))
    click.echo(f"Recorded {kind.replace('_', ' ')} of {patient} on {_d(date)}.")


@record.command("observation")
@click.argument("patient")
@click.argument("label")
@click.option("--description", required=True)
@click.option("--first-seen", type=_DATE, required=True)
@click.option("--max-interval-days", type=click.IntRange(min=1), required=True,
              help="Longest allowed interval between two imaging studies.")
@click.option("--site", default=None)
@click.option("--tumour", default=None)
@_asof_opt
@click.pass_context
def record_observation(ctx, patient, label, description, first_seen, max_interval_days, site, tumour, as_of) -> None:
    """Put a known lesion of PATIENT under watch (e.g. seed 000's hepatic mass)."""
    _reg(ctx).add_observation(patient, label, description, _d(first_seen), max_interval_days, site=site,
                              tumour=tumour, as_of=_d(as_of))
    click.echo(f"Observation {label} of {patient} from {_d(first_seen)}.")


@record.command("encounter")
@click.argument("patient")
@click.option("--date", type=_DATE, required=True)
@click.option("--plan-item", default=None, help="The planned item done or missed, e.g. visit-m012.")
@click.option("--status", type=click.Choice(["done", "missed", "cancelled"]), default="done", show_default=True)
@click.option("--modality-class", type=click.Choice(["clinical", "imaging", "biopsy", "other"]), default="clinical",
              show_default=True)
@click.option("--kind", default=None)
@click.option("--modality", default=None)
@click.option("--tumour", default=None)
@click.option("--observation", default=None, help="The observed lesion this imaging is of.")
@click.option("--findings", default=None)
@_asof_opt
@click.pass_context
def record_encounter(ctx, patient, date, plan_item, status, modality_class, kind, modality, tumour, observation,
                     findings, as_of) -> None:
    """Record an encounter of PATIENT: a planned one done or missed, or an ad hoc one."""
    reg = _reg(ctx)
    reg.record_encounter(patient, date=_d(date), plan_item=plan_item, status=status, modality_class=modality_class,
                         kind=kind, modality=modality, tumour=tumour, observation=observation, findings=findings,
                         as_of=_d(as_of))
    click.echo(f"Recorded encounter of {patient} on {_d(date)} ({status}).")
    gaps = [a for a in reg.alerts(_d(date), patient=patient, due_within=0) if a.kind == "gap"]
    for g in gaps:
        click.echo(f"  ! surveillance gap: {g.item}: {g.detail}")


_TABLES = ("identity", "patient", "tumour", "treatment", "event", "observation", "encounter")
_reason_opt = click.option("--reason", required=True, help="Why (kept in the record's history).")
_by_opt = click.option("--by", "by", required=True, help="Who makes the change (a named user).")


@registry.command()
@click.argument("patient")
@click.argument("table", type=click.Choice(_TABLES))
@click.argument("record", type=int, required=False)
@click.option("--set", "sets", multiple=True, required=True, metavar="FIELD=VALUE",
              help="A corrected field, e.g. --set date=2024-03-01 (repeat for several; VALUE '' clears it).")
@_reason_opt
@_by_opt
@_asof_opt
@click.pass_context
def correct(ctx, patient, table, record, sets, reason, by, as_of) -> None:
    """Correct RECORD (its id, as 'export --patient' shows it) of TABLE of PATIENT; the previous version is
    kept in the history ('identity' and 'patient' take no RECORD)."""
    changes: dict = {}
    for item in sets:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise InputError(f"--set: expected FIELD=VALUE (got {item[:40]!r})")
        v: object = value if value != "" else None
        if field.strip() == "max_interval_days" and v is not None:
            try:
                v = int(value)
            except ValueError:
                raise InputError(f"--set max_interval_days: must be a whole number (got {value[:20]!r})") from None
        changes[field.strip()] = v
    if table not in ("identity", "patient") and record is None:
        raise InputError(f"record: correcting a {table} needs its id")
    _reg(ctx).correct(patient, table, record, reason=reason, by=by, as_of=_d(as_of), **changes)
    click.echo(f"Corrected {table}{'' if record is None else f' {record}'} of {patient}: "
               f"{', '.join(sorted(changes))}.")


@registry.command()
@click.argument("patient")
@click.argument("table", type=click.Choice(_TABLES[2:]))
@click.argument("record", type=int)
@_reason_opt
@_by_opt
@_asof_opt
@click.pass_context
def void(ctx, patient, table, record, reason, by, as_of) -> None:
    """Mark RECORD of TABLE of PATIENT entered in error (kept in the history; the plan is re-made)."""
    _reg(ctx).void(patient, table, record, reason=reason, by=by, as_of=_d(as_of))
    click.echo(f"Voided {table} {record} of {patient}.")


@registry.command()
@click.argument("patient")
@click.argument("plan_item")
@click.option("--date", "new_date", required=True, metavar="YYYY-MM-DD", help="The new due date.")
@click.option("--tumour", default=None, help="The tumour's label (default the first diagnosed).")
@_reason_opt
@_by_opt
@_asof_opt
@click.pass_context
def reschedule(ctx, patient, plan_item, new_date, tumour, reason, by, as_of) -> None:
    """Give PLAN_ITEM (e.g. visit-m012) of PATIENT, still planned, a new due date and its window; the previous
    version is kept in the history."""
    reg = _reg(ctx)
    eid = reg.reschedule(patient, plan_item, new_date, tumour=tumour, reason=reason, by=by, as_of=_d(as_of))
    e = next(e for e in reg.patient_record(patient).encounters if e.id == eid)
    assert e.due is not None and e.window_start is not None and e.window_end is not None  # a planned item
    click.echo(f"Rescheduled {plan_item} of {patient} (tumour {e.tumour}) to {e.due.isoformat()}, window "
               f"{e.window_start.isoformat()} to {e.window_end.isoformat()}.")


@registry.command("history")
@click.argument("patient")
@_json_opt
@click.pass_context
def history_cmd(ctx, patient, as_json) -> None:
    """The corrections and voids of PATIENT's records, oldest first (identity changes without the identity)."""
    entries = _reg(ctx).history_of(patient)
    data = [{"table": h.table, "record": h.record, "action": h.action, "reason": h.reason, "by": h.by,
             "at": h.at.isoformat(), "previous": h.previous} for h in entries]
    text = "\n".join(f"{h.at:%Y-%m-%d %H:%M} {h.action} {h.table} {h.record} by {h.by}: {h.reason}"
                     for h in entries) or "No corrections."
    _emit(data, as_json, text)


@registry.command()
@click.argument("patients", nargs=-1, required=True)
@click.option("--planned", is_flag=True, help="Also list the planned (not yet done) encounters.")
@click.option("--figure", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the timeline figure (PNG/SVG/PDF); one patient only.")
@_json_opt
@click.pass_context
def timeline(ctx, patients, planned, figure, as_json) -> None:
    """The course of each PATIENT in date order, with latencies from the primary."""
    from leiosurv.files import atomic_file

    reg = _reg(ctx)
    if figure is not None and len(patients) != 1:
        raise InputError("--figure: give exactly one patient")
    tls = [reg.timeline(p, include_planned=planned) for p in patients]
    if figure is not None:
        _guard(reg, figure)
        fig = tls[0].plot()
        with atomic_file(figure) as tmp:
            fig.savefig(tmp, format=figure.suffix.lstrip(".") or "png", dpi=120)
    _emit([t.to_dict() for t in tls], as_json, "\n\n".join(str(t) for t in tls))


@registry.command()
@click.option("--as-of", type=_DATE, default=None, help="The day (default today).")
@click.option("--due-within", type=click.IntRange(min=0), default=30, show_default=True, help="Days ahead.")
@click.option("--lookback", type=click.IntRange(min=0), default=365, show_default=True,
              help="List overdue encounters and past gaps of this many days back; older overdue ones are counted.")
@click.option("--lookback-all", is_flag=True, help="List every overdue encounter and past gap, however old.")
@_json_opt
@click.pass_context
def alerts(ctx, as_of, due_within, lookback, lookback_all, as_json) -> None:
    """Overdue encounters, encounters due soon, and surveillance gaps, as of a date."""
    from leiosurv.registry import alerts_frame

    day = _d(as_of) or _dt.date.today()
    items = _reg(ctx).alerts(day, due_within=due_within, lookback_days=None if lookback_all else lookback)
    df = alerts_frame(items)
    counts = ", ".join(f"{(df['kind'] == k).sum()} {k}" for k in ("overdue", "gap", "due"))
    lost = df[df["kind"] == "lost"]
    if len(lost):
        counts += f"; {lost['days'].iloc[0]} older overdue encounters counted, not listed"
    text = f"Alerts as of {day} ({counts}):"
    if len(df):
        if df["synthetic"].any():
            text += "\n(rows marked * are SYNTHETIC patients)"
        show = df.assign(patient=df["patient"] + df["synthetic"].map({True: "*", False: ""})).drop(columns="synthetic")
        text += "\n" + show.to_string(index=False, max_colwidth=110)
    _emit([a.to_dict() for a in items], as_json, text)


@registry.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kind", default=None, help="Kind of every CSV given: patients, tumours, treatments, events, "
                                           "observations, encounters (default from the file name).")
@click.option("--progress", is_flag=True,
              help="Print the number of rows read and checked, then applied, as the import goes (stderr).")
@_asof_opt
@click.pass_context
def import_cmd(ctx, files, kind, progress, as_of) -> None:
    """Import CSV or Excel FILES: every row validated; all rows or none."""
    from leiosurv.registry import import_files

    def show(n: int) -> None:
        click.echo(f"applied {n} rows (not yet committed)", err=True)

    def read(n: int) -> None:
        click.echo(f"read and checked {n} rows", err=True)

    report = import_files(_reg(ctx), files, kind=kind, as_of=_d(as_of), progress=show if progress else None,
                          on_read=read if progress else None)
    click.echo(str(report).capitalize() + ".")


@registry.command()
@click.option("--patient", default=None, help="Export this patient (JSON or FHIR).")
@click.option("--format", "fmt", type=click.Choice(["json", "fhir"]), default="json", show_default=True)
@click.option("--identify", is_flag=True, help="FHIR: include name and birth date.")
@click.option("--research", is_flag=True, help="The de-identified research export (a directory of CSV files).")
@click.option("--cohort", "cohort_only", is_flag=True, help="The cohort in the study's format (CSV or Parquet).")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.pass_context
def export(ctx, patient, fmt, identify, research, cohort_only, out) -> None:
    """Export a patient (JSON/FHIR), the cohort (--cohort) or the research tables (--research)."""
    from leiosurv.files import atomic_directory, atomic_file, atomic_write

    chosen = sum([patient is not None, research, cohort_only])
    if chosen != 1:
        raise InputError("export: give exactly one of --patient, --research, --cohort")
    reg = _reg(ctx)
    if research:
        from leiosurv.files import check_outputs

        db = reg.engine.url.database if reg.dialect == "sqlite" else None
        check_outputs([], [db] if db else [], directories=[out])
    else:
        _guard(reg, out)
    if patient is not None:
        rec = reg.patient_record(patient).to_dict()
        if fmt == "fhir":
            from leiosurv.interfaces.registry_fhir import patient_bundle

            rec = patient_bundle(rec, identify=identify)
        atomic_write({out: json.dumps(rec, indent=2, default=str) + "\n"})
        click.echo(f"Patient {patient} ({fmt}): {out}")
    elif cohort_only:
        c = reg.cohort()
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise InputError("--out: the cohort is written as .csv or .parquet")
        with atomic_file(out) as tmp:
            (c.frame.to_parquet(tmp, index=False) if out.suffix.lower() == ".parquet"
             else c.frame.to_csv(tmp, index=False))
        label = " (SYNTHETIC patients included)" if c.synthetic else ""
        click.echo(f"Cohort of {len(c.frame)} tumours: {out}{label}")
        for why, n in c.excluded.items():
            click.echo(f"  left out: {n} tumours ({why})")
    else:
        from leiosurv.registry import research_readme

        tables = reg.research_export()
        with atomic_directory(out) as tmp:
            for name, df in tables.items():
                df.to_csv(tmp / f"{name}.csv", index=False)
            (tmp / "README.md").write_text(research_readme(tables))
        click.echo(f"Research export (no names, birth dates, calendar dates or free text; see README.md): {out}/")


@registry.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Report directory.")
@click.option("--horizon", default="5y", show_default=True)
@click.option("--force", is_flag=True, help="Replace a non-empty --out directory.")
@click.pass_context
def study(ctx, out, horizon, force) -> None:
    """Run the cohort study of seed 001 on the registry itself."""
    from leiosurv.interfaces.cli._study import REGISTRY_PREFIX, _run
    from leiosurv.study import parse_horizon, run_study

    reg = _reg(ctx)
    days = parse_horizon(horizon)

    def work():
        return run_study(reg.cohort().study_cohort(), horizon_days=days, progress=None)

    result = _run(f"{REGISTRY_PREFIX}{reg.url}", out, force, work)
    if result.synthetic:
        click.echo("SYNTHETIC DATA: the registry holds synthetic patients; the report says so on every page.")
    rule = "; ".join(result.factor_label(f) for f in result.rule.factors) or "(no factor exceeded the thresholds)"
    click.echo(f"Derived rule: high risk if any of {rule}")
    click.echo(f"Report: {out / 'report.html'}")


@registry.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx, out) -> None:
    """Write a consistent backup of the registry to OUT (SQLite online backup; pg_dump for PostgreSQL)."""
    from leiosurv.registry import backup as do_backup

    do_backup(_reg(ctx).engine, out)
    click.echo(f"Backup: {out}")


@registry.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a registry that holds patients.")
@click.pass_context
def restore(ctx, source, replace) -> None:
    """Replace the registry's content with the backup SOURCE."""
    from leiosurv.registry import make_engine
    from leiosurv.registry import restore as do_restore

    do_restore(make_engine(ctx.obj["db"]), source, replace=replace)
    click.echo(f"Restored from {source}.")


@registry.command()
@click.option("--synthetic", "n_synthetic", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also load a synthetic cohort of this many patients (labelled synthetic).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_context
def demo(ctx, n_synthetic, seed) -> None:
    """Load the two published cases (seeds 000 and 004) and optionally a synthetic cohort."""
    from leiosurv.registry import load_published_cases, load_synthetic

    reg = _reg(ctx, create=True)
    names = load_published_cases(reg)
    click.echo(f"Published cases entered: {', '.join(names)} (approximated dates: see docs/registry.md).")
    if n_synthetic:
        n = load_synthetic(reg, n_synthetic, seed)
        click.echo(f"SYNTHETIC cohort loaded: {n} patients (pseudonyms SYN-{seed}-*).")


def register(group: click.Group) -> None:
    """Add the ``registry`` group to *group*."""
    group.add_command(registry)
