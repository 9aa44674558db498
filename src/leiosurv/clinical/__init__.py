"""Clinical core: findings -> diagnosis support -> pathway -> dermal-LMS risk group -> dated plan.

Pure rules, no I/O; every clinical figure, threshold, rule and display text
lives in :mod:`leiosurv.clinical.evidence` (versioned data files) with its
citation.  Every result is a frozen pydantic model with a JSON Schema.  Decision
support only: it supports, and does not replace, the pathologist and the clinician.
"""

from leiosurv.clinical import evidence, findings
from leiosurv.clinical._assess import Assessment, Provenance, assess
from leiosurv.clinical.diagnosis import (
    Candidate,
    Contradiction,
    Diagnosis,
    DxWarning,
    GateHit,
    Reason,
    derived_features,
    diagnose,
)
from leiosurv.clinical.findings import *  # noqa: F403 (its public names, listed once in its __all__)
from leiosurv.clinical.mitoses import get_mitotic_definition, mitotic_score
from leiosurv.clinical.pathway import Applicability, decide_pathway
from leiosurv.clinical.risk import FactorStatus, RiskResult, classify_risk, rule_factors, rule_group, rule_groups
from leiosurv.clinical.surveillance import Encounter, SurveillancePlan, add_months, plan_surveillance

__all__ = [
    "evidence",
    "Diagnosis",
    "Candidate",
    "Contradiction",
    "Reason",
    "GateHit",
    "DxWarning",
    "diagnose",
    "derived_features",
    "Applicability",
    "decide_pathway",
    "RiskResult",
    "FactorStatus",
    "classify_risk",
    "rule_group",
    "rule_groups",
    "rule_factors",
    "mitotic_score",
    "get_mitotic_definition",
    "Encounter",
    "SurveillancePlan",
    "plan_surveillance",
    "add_months",
    "Assessment",
    "Provenance",
    "assess",
]
# the findings model: Findings, Patient, Mitoses, ..., parse_findings, consistency_warnings
__all__ += findings.__all__
