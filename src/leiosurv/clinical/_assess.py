"""One call from findings to diagnosis, pathway, risk group and dated plan, with provenance.

findings -> diagnosis -> (confirmed or leading diagnosis) -> pathway -> risk -> plan:
one way, nothing patched afterwards.
"""

from __future__ import annotations

import datetime as _dt

from pydantic import BaseModel, ConfigDict

from leiosurv.clinical import evidence
from leiosurv.clinical.diagnosis import Diagnosis, DxWarning, diagnose
from leiosurv.clinical.findings import Findings, consistency_warnings
from leiosurv.clinical.mitoses import get_mitotic_definition
from leiosurv.clinical.pathway import Applicability, decide_pathway
from leiosurv.clinical.risk import RiskResult, classify_risk
from leiosurv.clinical.surveillance import SurveillancePlan, plan_surveillance
from leiosurv.serial import Serialisable

__all__ = ["Assessment", "Provenance", "assess"]

_CFG = ConfigDict(extra="forbid", frozen=True)


class Provenance(BaseModel):
    """What produced a result: software and rule-set version, the rules that fired, the parameters, the sources."""

    model_config = _CFG
    leiosurv_version: str
    ruleset_version: str
    ruleset_sha256: str
    risk_rule_id: str
    fired_rules: tuple[str, ...]
    mitotic_definition: str
    mitotic_definition_text: str
    parameters: dict[str, str | int]
    evidence_sources: dict[str, dict[str, str | None]]


class Assessment(Serialisable, BaseModel):
    """Findings in; diagnosis support, pathway, risk group and plan out, with their provenance.

    Prints itself; ``to_dict()`` (``model_dump(mode="json")``) is the JSON form and
    ``Assessment.json_schema()`` its schema, as for every leiosurv result (:mod:`leiosurv.serial`).
    """

    model_config = _CFG
    findings: Findings
    diagnosis: Diagnosis
    applicability: Applicability
    risk: RiskResult
    plan: SurveillancePlan
    consistency_warnings: tuple[DxWarning, ...]
    provenance: Provenance
    disclaimer: str = evidence.DISCLAIMER

    @property
    def warnings(self) -> tuple[DxWarning, ...]:
        return self.diagnosis.warnings + self.consistency_warnings

    def __str__(self) -> str:
        f = self.findings
        head = (f"Case {f.case_id or '(no id)'}: {f.site or 'site not given'}, depth {f.depth}, excised "
                f"{f.excision_date}" + (f"; confirmed diagnosis: {f.confirmed_diagnosis}" if f.confirmed_diagnosis
                                         else "; no confirmed diagnosis"))
        parts = [head, str(self.diagnosis)]
        if self.consistency_warnings:
            parts.append("Consistency:\n" + "\n".join(f"  ? {w.message}" for w in self.consistency_warnings))
        parts += [str(self.applicability), str(self.risk), str(self.plan),
                  f"Rule set {self.provenance.ruleset_version} ({self.provenance.ruleset_sha256[:12]}). "
                  + evidence.DISCLAIMER]
        return "\n\n".join(parts)


def _sources(ids: frozenset[str] | set[str]) -> dict[str, dict[str, str | None]]:
    """The sources of the citations whose source ids are *ids*, in the order of their ids."""
    return {sid: {"reference": evidence.SOURCES[sid].reference, "file": evidence.SOURCES[sid].file}
            for sid in sorted(ids)}


def assess(
    findings: Findings,
    *,
    as_of: _dt.date | None = None,
    mitotic_definition: str | None = None,
    imaging_interval_months: int = evidence.DEFAULT_IMAGING_INTERVAL_MONTHS,
    window_days: int = evidence.DEFAULT_WINDOW_DAYS,
    plan_years: int = evidence.DEFAULT_GUIDELINE_PLAN_YEARS,
    metastatic_disease: bool = False,
) -> Assessment:
    """Diagnosis support, pathway, risk group and dated surveillance plan for one lesion.

    Parameters
    ----------
    findings : Findings
        Validated findings (see :func:`leiosurv.clinical.parse_findings`).
    as_of : date, optional
        Date the plan's encounter status refers to (past, due, upcoming); default today.
    mitotic_definition : str, optional
        ``"fnclcc"`` (default) or ``"danish-3b"``: how 'mitotic grade 3' is read.
    imaging_interval_months, window_days, plan_years : int
        See :func:`leiosurv.clinical.plan_surveillance`.
    metastatic_disease : bool, default False
        Metastatic disease has been recorded after this tumour (e.g. a registry event):
        the metastatic pathway applies (see :func:`leiosurv.clinical.decide_pathway`).

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", margins="positive",
    ...              confirmed_diagnosis="aismn", history={"prior_leiomyosarcoma": "absent"})
    >>> a = assess(f, as_of=datetime.date(2024, 2, 1))
    >>> a.risk.group, a.plan.encounters[0].due.isoformat(), a.plan.recommendations[0].id
    ('high', '2024-07-01', 're_excision')
    """
    from leiosurv import __version__

    d = get_mitotic_definition(mitotic_definition)
    dx = diagnose(findings, mitotic_definition=d)
    app = decide_pathway(findings, dx, metastatic_disease=metastatic_disease)
    risk = classify_risk(findings, app, mitotic_definition=d, diagnosis=dx)
    cons = tuple(
        DxWarning(rule_id=cid, message=msg, inputs={}, citation=evidence.CONSISTENCY_CHECKS[cid].citation)
        for cid, msg in consistency_warnings(findings)
    )
    plan = plan_surveillance(findings, app, risk, as_of=as_of, imaging_interval_months=imaging_interval_months,
                             window_days=window_days, plan_years=plan_years)
    cits = [r.citation for c in dx.candidates for r in c.supporting + c.against]
    cits += [x.citation for c in dx.candidates for x in c.contradicted]
    cits += [g.citation for c in dx.candidates for g in c.gated_by]
    cits += [w.citation for w in dx.warnings + cons] + list(risk.citations)
    used = {c.source.id for c in cits} | {e.citation.source.id for e in plan.encounters}
    used |= {c.source.id for r in plan.recommendations for c in r.citations}
    prov = Provenance(
        leiosurv_version=__version__, ruleset_version=evidence.RULESET.version, ruleset_sha256=evidence.RULESET.sha256,
        risk_rule_id=risk.rule_id, fired_rules=dx.fired_rules + tuple(c.rule_id for c in cons),
        mitotic_definition=d.id, mitotic_definition_text=d.text,
        parameters={"mitotic_definition": d.id, "as_of": plan.as_of.isoformat(),
                    "metastatic_disease": str(metastatic_disease).lower(), **plan.parameters},
        evidence_sources=_sources(used),
    )
    return Assessment(findings=findings, diagnosis=dx, applicability=app, risk=risk, plan=plan,
                      consistency_warnings=cons, provenance=prov)

