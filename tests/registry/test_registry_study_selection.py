"""The dermal-LMS study runs on dermal-LMS tumours only, states its selection and flow, and names the registry.

Before: ``leiosurv registry study`` (and the web study) analysed every tumour of
the registry, a subcutaneous or deep leiomyosarcoma as a dermal one (seeds 000
and 004 among them), and the report named its source ``<DataFrame>``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from leiosurv.interfaces.cli import main
from leiosurv.registry import Registry, load_published_cases, load_synthetic
from leiosurv.registry._clinical_adapter import pathway_of_basis, run_assessment
from leiosurv.study import methods_text, run_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DERMAL = {"excision_date": "2020-01-15", "depth": "dermal", "margins": "positive", "necrosis": "absent",
          "patient": {"age_years": 60}}
AS_OF = dt.date(2024, 6, 1)

CASES = [
    DERMAL,
    {**DERMAL, "depth": "subcutaneous"},
    {**DERMAL, "depth": "deep_soft_tissue"},
    {**DERMAL, "depth": "unknown"},
    {**DERMAL, "distant_lesion": "present"},
    {**DERMAL, "history": {"prior_leiomyosarcoma": "present"}},
    {"excision_date": "2020-01-15"},
    *(yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))),
]


@pytest.mark.parametrize("findings", CASES)
@pytest.mark.parametrize("confirmed", [None, "aismn", "lms_nos"])
@pytest.mark.parametrize("metastatic", [False, True])
def test_the_pathway_read_from_a_plan_basis_is_the_cores_decision(findings, confirmed, metastatic):
    try:
        s = run_assessment(findings, as_of=dt.date.today(), confirmed_diagnosis=confirmed, metastatic=metastatic)
    except Exception as exc:  # noqa: BLE001 - a combination the core refuses (e.g. a case file's own confirmation)
        pytest.skip(f"the core refuses this combination: {str(exc)[:80]}")
    assert pathway_of_basis(s.plan_basis) == s.result["applicability"]["pathway"]


def _registry(reg: Registry) -> None:
    reg.add_patient("D1", sex="female")
    reg.add_tumour("D1", "T", DERMAL, as_of=AS_OF)
    reg.record_event("D1", "metastasis", "2021-01-15", site="lung", as_of=AS_OF)  # an outcome: stays in
    reg.add_patient("D2", sex="male")
    reg.add_tumour("D2", "T", DERMAL, confirmed_diagnosis="aismn", as_of=AS_OF)
    reg.add_patient("S1", sex="male")
    reg.add_tumour("S1", "T", {**DERMAL, "depth": "subcutaneous"}, as_of=AS_OF)
    reg.add_patient("S2", sex="female")
    reg.add_tumour("S2", "T", DERMAL, confirmed_diagnosis="lms_nos", as_of=AS_OF)  # the pathologist: not dermal
    reg.add_patient("M1", sex="female")
    reg.add_tumour("M1", "T", {**DERMAL, "distant_lesion": "present",
                               "metastasis_workup": "confirmed"}, as_of=AS_OF)
    reg.add_patient("U1", sex="unknown")
    reg.add_tumour("U1", "T", DERMAL, as_of=AS_OF)
    reg.add_patient("A1", sex="male")
    reg.add_tumour("A1", "T", {k: v for k, v in DERMAL.items() if k != "patient"}, as_of=AS_OF)


def test_the_cohort_holds_the_dermal_lms_tumours_and_counts_the_rest_by_reason(reg):
    _registry(reg)
    c = reg.cohort()
    assert c.registered == 7 and len(c.frame) == 2
    assert c.excluded == {
        "not on the dermal-LMS pathway: soft-tissue sarcoma pathway": 2,
        "not on the dermal-LMS pathway: metastatic when registered": 1,
        "sex other than male/female": 1,
        "age at diagnosis unknown": 1,
    }
    assert c.frame["met_status"].tolist() == [1, 0]  # D1's metastasis is its outcome; D2 censored
    cohort = c.study_cohort()
    assert cohort.source == f"leiosurv registry {reg.engine.url.render_as_string(hide_password=True)}"
    assert cohort.selection.text().endswith(
        "Of 7 tumours registered, 5 were excluded (2 not on the dermal-LMS pathway: soft-tissue sarcoma pathway; "
        "1 not on the dermal-LMS pathway: metastatic when registered; 1 sex other than male/female; "
        "1 age at diagnosis unknown); 2 were analysed.")


def test_a_correction_of_the_diagnosis_moves_a_tumour_in_or_out(reg):
    _registry(reg)
    reg.reassess("S2", confirmed_diagnosis="aismn", as_of=AS_OF)
    assert reg.cohort().registered == 7 and len(reg.cohort().frame) == 3
    reg.reassess("D2", confirmed_diagnosis="lms_nos", as_of=AS_OF)
    assert len(reg.cohort().frame) == 2


def test_the_report_states_the_selection_the_flow_and_the_source(tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    reg = Registry(db, create=True)
    load_published_cases(reg)
    load_synthetic(reg, 60, seed=3)
    out = tmp_path / "study"
    assert main(["registry", "--db", db, "study", "--out", str(out)]) == 0
    capsys.readouterr()
    html = (out / "report.html").read_text()
    assert "&lt;DataFrame&gt;" not in html and "<DataFrame>" not in html
    assert f"leiosurv registry sqlite:///{tmp_path}/r.sqlite" in html
    assert "Tumours on the dermal-LMS pathway were analysed" in html
    assert ("Of 62 tumours registered, 2 were excluded (2 not on the dermal-LMS pathway: soft-tissue sarcoma "
            "pathway); 60 were analysed.") in html
    result = run_study(reg.cohort().study_cohort(), progress=False)
    assert result.provenance["n"] == 60
    assert "60 were analysed" in methods_text(result)[0]


def test_a_registry_without_dermal_lms_tumours_is_one_line(tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    load_published_cases(Registry(db, create=True))
    code = main(["registry", "--db", db, "study", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no tumour to analyse" in err, err
    assert "Of 2 tumours registered, 2 were excluded" in err
