"""Clinical core: findings -> diagnosis support -> dermal-LMS risk group -> dated plan.

Pure rules, no I/O; every clinical figure, threshold and rule lives in
:mod:`leiosurv.clinical.evidence` with its citation.  Decision support only: it
supports, and does not replace, the pathologist and the clinician.
"""

from leiosurv.clinical import evidence
from leiosurv.clinical._assess import Assessment, assess
from leiosurv.clinical.diagnosis import Candidate, Diagnosis, DxWarning, Reason, derived_features, diagnose
from leiosurv.clinical.findings import (
    Findings,
    History,
    Immunohistochemistry,
    Mitoses,
    Patient,
    parse_findings,
)
from leiosurv.clinical.risk import FactorStatus, RiskResult, classify_risk, get_mitotic_definition, mitotic_score
from leiosurv.clinical.surveillance import Encounter, SurveillancePlan, add_months, plan_surveillance

__all__ = [
    "evidence",
    "Findings",
    "Patient",
    "Mitoses",
    "Immunohistochemistry",
    "History",
    "parse_findings",
    "Diagnosis",
    "Candidate",
    "Reason",
    "DxWarning",
    "diagnose",
    "derived_features",
    "RiskResult",
    "FactorStatus",
    "classify_risk",
    "mitotic_score",
    "get_mitotic_definition",
    "Encounter",
    "SurveillancePlan",
    "plan_surveillance",
    "add_months",
    "Assessment",
    "assess",
]
