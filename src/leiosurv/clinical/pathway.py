"""The applicability gate: which follow-up pathway the findings support.

One path, in this order (each step's reason is shown with the result):

1. metastasis confirmed (work-up, the pathologist's diagnosis, or metastatic disease recorded
   after this tumour, e.g. by the registry) -> ``metastatic``;
2. a prior leiomyosarcoma and metastasis not recorded as excluded -> ``exclude_metastasis``
   (seed 000: any new lesion may be a metastasis; never a low-intensity plan first);
   (metastasis recorded as excluded: the lesion is a new primary, assessed on its own findings);
3. the pathologist's confirmed diagnosis -> its category's pathway (every essential criterion or
   mimic's stain it contradicts is warned about: ``warn.confirmed.contradicted``);
4. a positive discriminating stain of a mimic against the leading candidate (``evidence.GATES``)
   -> ``undetermined`` (interim soft-tissue-sarcoma schedule), naming the stains that would settle it;
5. depth of origin unknown -> ``undetermined`` (interim soft-tissue-sarcoma schedule);
6. the leading candidate, if it leads alone (uncontradicted, not tied) -> its pathway;
7. otherwise ``undetermined``.

The dermal-LMS rule (seed 001) applies only on the ``dermal_lms`` pathway: a confirmed
AISMN/dermal LMS, or an unconfirmed AISMN that leads with none of its essential criteria
contradicted (unknown is not a contradiction) and no mimic's discriminating stain positive.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from leiosurv.clinical import evidence
from leiosurv.clinical.diagnosis import Diagnosis
from leiosurv.clinical.findings import Findings
from leiosurv.serial import Serialisable

__all__ = ["PathwayId", "Applicability", "decide_pathway"]

PathwayId = Literal["dermal_lms", "soft_tissue_sarcoma", "metastatic", "exclude_metastasis", "undetermined", "other"]
_LMS = ("aismn", "lms_nos", "ilms", "metastatic_lms")


class Applicability(Serialisable, BaseModel):
    """The pathway the findings support, the category it follows, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pathway: PathwayId
    category: str | None
    category_name: str | None
    confirmed: bool
    dermal_rule_applies: bool
    interim_sarcoma_schedule: bool
    reason: str

    def __str__(self) -> str:
        basis = "confirmed diagnosis" if self.confirmed else "unconfirmed; from the ranked candidates"
        return f"Pathway: {self.pathway.replace('_', ' ')} ({basis}): {self.reason}"


def _make(pathway: PathwayId, category: str | None, confirmed: bool, reason: str,
          interim: bool = False) -> Applicability:
    name = evidence.CATEGORIES[category].name if category else None
    return Applicability(pathway=pathway, category=category, category_name=name, confirmed=confirmed,
                         dermal_rule_applies=pathway == "dermal_lms", interim_sarcoma_schedule=interim, reason=reason)


def decide_pathway(findings: Findings, diagnosis: Diagnosis, *, metastatic_disease: bool = False) -> Applicability:
    """The follow-up pathway of *findings* given the ranked *diagnosis* (see the module docstring).

    Examples
    --------
    >>> import datetime
    >>> from leiosurv.clinical.diagnosis import diagnose
    >>> f = Findings(excision_date=datetime.date(2024, 1, 1), depth="dermal", confirmed_diagnosis="aismn")
    >>> decide_pathway(f, diagnose(f)).pathway
    'dermal_lms'
    """
    conf = findings.confirmed_diagnosis
    h = findings.history
    if metastatic_disease:
        return _make("metastatic", "metastatic_lms", False,
                     "metastatic disease recorded after this tumour: the primary-tumour plan stops and the sarcoma "
                     "team sets the follow-up")
    if findings.metastasis_workup == "confirmed" or conf == "metastatic_lms":
        why = "metastasis confirmed by the work-up" if findings.metastasis_workup == "confirmed" else \
            "the pathologist's diagnosis is metastatic leiomyosarcoma"
        return _make("metastatic", "metastatic_lms", conf is not None, why)
    if h.prior_leiomyosarcoma == "present" and findings.metastasis_workup != "excluded":
        return _make("exclude_metastasis", conf, conf is not None,
                     "prior leiomyosarcoma: metastasis is to be excluded first (metastasis_workup not recorded as "
                     "'excluded'); no dermal-LMS group or low-intensity plan until then")
    app = _primary(findings, diagnosis)
    if h.prior_leiomyosarcoma == "present":
        return app.model_copy(update={"reason": f"{evidence.text('workup_excluded')} {app.reason}"})
    return app


def _primary(findings: Findings, diagnosis: Diagnosis) -> Applicability:
    """Steps 3-7 of the gate: the pathway of a lesion that is not (or no longer) a possible metastasis."""
    conf = findings.confirmed_diagnosis
    if conf is not None:
        cat = evidence.CATEGORIES[conf]
        if cat.pathway == "dermal_lms" and findings.depth not in ("dermal", "unknown"):
            return _make("soft_tissue_sarcoma", conf, True,
                         f"confirmed {cat.name}, but depth is {findings.depth.replace('_', ' ')}: planned as a "
                         "soft-tissue sarcoma; the dermal-LMS rule needs a dermal tumour")
        return _make(cat.pathway, conf, True, f"the pathologist's confirmed diagnosis: {cat.name}")
    top = diagnosis.top
    if top.gated_by and not top.excluded:
        g = top.gated_by[0]
        lms = top.category.pathway != "other" or evidence.CATEGORIES[g.mimic].pathway != "other"
        return _make("undetermined", None, False,
                     evidence.text("gated", finding=g.text, mimic=evidence.CATEGORIES[g.mimic].name, settle=g.settle)
                     + f" (leading candidate: {top.category.name})"
                     + ("; interim soft-tissue-sarcoma schedule meanwhile" if lms else ""), interim=lms)
    if findings.depth == "unknown":
        return _make("undetermined", None, False,
                     f"depth of origin unknown (leading candidate: {top.category.name}); interim soft-tissue-sarcoma "
                     "schedule until the depth is known", interim=True)
    if top.excluded:
        return _make("undetermined", None, False,
                     "every candidate has a contradicted essential criterion: the findings fit no category; "
                     "review the diagnosis")
    if top.tied_with:
        names = ", ".join([top.category.name] + [evidence.CATEGORIES[t].name for t in top.tied_with])
        lms_tied = any(c in _LMS for c in (top.category.id, *top.tied_with))
        return _make("undetermined", None, False,
                     f"leading candidates tie ({names}); the pathologist's diagnosis is needed"
                     + ("; interim soft-tissue-sarcoma schedule meanwhile" if lms_tied else ""), interim=lms_tied)
    cat = top.category
    if cat.pathway == "other":
        return _make("other", cat.id, False, f"leading candidate: {cat.name}")
    return _make(cat.pathway, cat.id, False,
                 f"leading candidate (unconfirmed): {cat.name}, no essential criterion contradicted")
