"""Every clinical rule, encounter and candidate carries a citation whose source is registered."""

import datetime as dt
import re
from pathlib import Path

import pytest

from leiosurv.clinical import assess, evidence, parse_findings

SEEDS = Path("/work/shared/seeds")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _registered(c):
    assert evidence.SOURCES.get(c.source.id) is c.source, c


def test_all_exported_names_exist():
    for name in evidence.__all__:
        assert hasattr(evidence, name), name


def test_criteria_and_warnings_cite_registered_sources():
    ids = [c.id for c in evidence.DIAGNOSIS_CRITERIA]
    assert len(ids) == len(set(ids)), "criterion ids must be unique"
    for c in evidence.DIAGNOSIS_CRITERIA:
        assert c.category in evidence.CATEGORIES and c.weight != 0 and re.fullmatch(r"dx\.[a-z0-9.-]+", c.id)
        _registered(c.citation)
    for w in evidence.WARNING_RULES.values():
        _registered(w.citation)
    for cat in evidence.CATEGORIES.values():
        if cat.icd_o or cat.icd_10 or cat.icd_11:
            _registered(cat.codes_citation)
    for spec in evidence.DLMS_SCHEDULE.values():
        _registered(spec["citation"])
    for d in evidence.MITOTIC_DEFINITIONS.values():
        for c in d.citations:
            _registered(c)


def test_seed_sources_point_to_real_files():
    for s in evidence.SOURCES.values():
        if s.file and SEEDS.exists():
            assert (SEEDS / s.file).exists(), s.file


def test_icd_codes_appear_in_their_seed():
    if not SEEDS.exists():
        pytest.skip("seeds not available")
    for cat in evidence.CATEGORIES.values():
        if cat.codes_citation is None:
            assert cat.icd_o is cat.icd_10 is cat.icd_11 is None
            continue
        text = (SEEDS / cat.codes_citation.source.file).read_text()
        for code in (cat.icd_o, cat.icd_10, cat.icd_11):
            if code:
                assert code in text, (cat.id, code)


def test_quotes_are_verbatim_in_the_seeds():
    if not SEEDS.exists():
        pytest.skip("seeds not available")
    cits = [spec["citation"] for spec in evidence.DLMS_SCHEDULE.values()] + [evidence.LIFELONG_NOTE]
    cits += [c for _, c in evidence.KEY_STAINS.values()]
    for c in cits:
        if c.quote and c.source.file:
            text = " ".join((SEEDS / c.source.file).read_text().split())
            for part in c.quote.split(" ... "):  # an ellipsis joins verbatim fragments
                assert " ".join(part.split()) in text, part


@pytest.mark.parametrize("case", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_result_item_cites_a_registered_source(case):
    import yaml

    a = assess(parse_findings(yaml.safe_load(case.read_text())))
    for cand in a.diagnosis.candidates:
        for r in cand.supporting + cand.against:
            _registered(r.citation)
    for w in a.diagnosis.warnings:
        _registered(w.citation)
    for e in a.plan.encounters:
        _registered(e.citation)
    for c in a.risk.citations:
        _registered(c)
    assert set(a.provenance["evidence_sources"]) <= set(evidence.SOURCES)


def test_cite_refuses_unregistered_source():
    with pytest.raises(ValueError, match="not registered"):
        evidence.cite(evidence.Source("x", "x", "x"), "s")
    assert evidence.cite(evidence.SEED_002, "Diagnosis").source is evidence.SEED_002


def test_assess_default_date_check_uses_today():
    with pytest.raises(Exception, match="in the future"):
        parse_findings({"excision_date": (dt.date.today() + dt.timedelta(days=1)).isoformat()})


def test_docs_list_every_rule():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "clinical.md").read_text()
    for rid in [c.id for c in evidence.DIAGNOSIS_CRITERIA] + list(evidence.WARNING_RULES) + [evidence.DLMS_RULE_ID]:
        assert f"`{rid}`" in docs or rid in docs, rid
