"""One call from findings to diagnosis, risk group and dated plan, with provenance."""

from __future__ import annotations

from dataclasses import dataclass, replace

from leiosurv.clinical import evidence
from leiosurv.clinical.diagnosis import Diagnosis, diagnose
from leiosurv.clinical.findings import Findings
from leiosurv.clinical.risk import RiskResult, classify_risk, get_mitotic_definition
from leiosurv.clinical.surveillance import SurveillancePlan, plan_surveillance

__all__ = ["Assessment", "assess"]


@dataclass(frozen=True)
class Assessment:
    """Findings in, diagnosis support, risk group and plan out, with their provenance."""

    findings: Findings
    diagnosis: Diagnosis
    risk: RiskResult
    plan: SurveillancePlan
    parameters: dict

    @property
    def provenance(self) -> dict:
        from leiosurv import __version__

        cits = [r.citation for c in self.diagnosis.candidates for r in c.supporting + c.against]
        cits += [w.citation for w in self.diagnosis.warnings] + list(self.risk.citations)
        cits += [e.citation for e in self.plan.encounters]
        used = sorted({c.source.id for c in cits})
        return {
            "leiosurv_version": __version__,
            "risk_rule_id": self.risk.rule_id,
            "fired_rules": list(self.diagnosis.fired_rules),
            "mitotic_definition": self.risk.mitotic_definition.id,
            "mitotic_definition_text": self.risk.mitotic_definition.text,
            "parameters": self.parameters,
            "evidence_sources": {
                sid: {"reference": evidence.SOURCES[sid].reference, "file": evidence.SOURCES[sid].file} for sid in used
            },
            "disclaimer": evidence.DISCLAIMER,
        }

    def to_dict(self) -> dict:
        """JSON-ready dict with the keys ``diagnosis``, ``risk``, ``plan``, ``warnings``, ``input``, ``provenance``."""
        dx = self.diagnosis.to_dict()
        return {
            "diagnosis": dx["candidates"],
            "warnings": dx["warnings"],
            "risk": self.risk.to_dict(),
            "plan": [e.to_dict() for e in self.plan.encounters],
            "plan_details": {k: v for k, v in self.plan.to_dict().items() if k != "encounters"},
            "score_logic": dx["score_logic"],
            "disclaimer": evidence.DISCLAIMER,
            "input": self.findings.model_dump(mode="json"),
            "provenance": self.provenance,
        }

    def __str__(self) -> str:
        f = self.findings
        head = f"Case {f.case_id or '(no id)'}: {f.site or 'site not given'}, depth {f.depth}, excised {f.excision_date}"
        return "\n\n".join([head, str(self.diagnosis), str(self.risk), str(self.plan), evidence.DISCLAIMER])


def assess(
    findings: Findings,
    *,
    mitotic_definition: str | None = None,
    imaging_interval_months: int = evidence.DEFAULT_IMAGING_INTERVAL_MONTHS,
    window_days: int = evidence.DEFAULT_WINDOW_DAYS,
    plan_years: int = evidence.DEFAULT_GUIDELINE_PLAN_YEARS,
) -> Assessment:
    """Diagnosis support, risk group and dated surveillance plan for one lesion.

    Parameters
    ----------
    findings : Findings
        Validated findings (see :func:`leiosurv.clinical.parse_findings`).
    mitotic_definition : str, optional
        ``"fnclcc"`` (default) or ``"danish-3b"``: how 'mitotic grade 3' is read.
    imaging_interval_months, window_days, plan_years : int
        See :func:`leiosurv.clinical.plan_surveillance`.

    Returns
    -------
    Assessment
        Prints itself; ``to_dict()`` gives the JSON form.

    Examples
    --------
    >>> import datetime
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", margins="positive")
    >>> a = assess(f)
    >>> a.risk.group, a.plan.encounters[0].due.isoformat()
    ('high', '2024-07-01')
    """
    d = get_mitotic_definition(mitotic_definition)
    risk = classify_risk(findings, mitotic_definition=d)
    plan = plan_surveillance(findings, risk, imaging_interval_months=imaging_interval_months,
                             window_days=window_days, plan_years=plan_years)
    params = {"mitotic_definition": d.id, **plan.parameters}
    dx = diagnose(findings, mitotic_definition=d)
    if risk.applies and dx.top.category.id not in evidence.DLMS_RULE_CATEGORIES:
        cit = evidence.DLMS_RULE_CATEGORY_CITATION
        note = (
            f"The top diagnostic candidate is '{dx.top.category.name}': the dermal-LMS risk group applies "
            f"only if the diagnosis is a dermal leiomyosarcoma / atypical intradermal smooth muscle neoplasm."
        )
        risk = replace(risk, notes=risk.notes + (note,), citations=risk.citations + (cit,))
    return Assessment(findings, dx, risk, plan, params)
