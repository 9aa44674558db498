"""The evidence package: versioned data validated at import; every citation real and verbatim."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from leiosurv.clinical import assess, evidence, parse_findings
from leiosurv.clinical.evidence import Citation, PublishedRisk
from leiosurv.exceptions import FindingsError

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def seeds() -> Path:
    """The seed documents beside the repository (``../shared/seeds``); their absence is a failure."""
    assert SEEDS.is_dir(), f"seed documents not found at {SEEDS}: the evidence cannot be checked"
    return SEEDS


def _all_citations() -> list[Citation]:
    """Every citation the evidence package holds, found by walking its public values."""
    out: list[Citation] = []

    def walk(v) -> None:
        if isinstance(v, type):
            return
        if isinstance(v, Citation):
            out.append(v)
        elif isinstance(v, BaseModel):
            for k in type(v).model_fields:
                walk(getattr(v, k))
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple, frozenset, set)):
            for x in v:
                walk(x)

    for name in evidence.__all__:
        walk(getattr(evidence, name))
    return out


def test_all_exported_names_exist():
    for name in evidence.__all__:
        assert hasattr(evidence, name), name


def test_ruleset_version_and_hash_of_the_data_files():
    folder = resources.files("leiosurv.clinical.evidence").joinpath("data")
    h = hashlib.sha256()
    for name in evidence.DATA_FILES:
        h.update(name.encode() + b"\0" + folder.joinpath(name).read_bytes() + b"\0")
    assert evidence.RULESET.sha256 == h.hexdigest()
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", evidence.RULESET.version)
    on_disk = sorted(p.name for p in Path(str(folder)).glob("*.yaml"))
    assert on_disk == sorted(evidence.DATA_FILES), "every data file is hashed, and only those"


def test_fast_yaml_loader_reads_the_same_data_as_the_pure_python_one():
    """The evidence files are read with libyaml's safe loader when there is one; the data must not change."""
    folder = resources.files("leiosurv.clinical.evidence").joinpath("data")
    assert issubclass(evidence.YAML_LOADER, yaml.constructor.SafeConstructor)  # a safe loader, never the full one
    for name in evidence.DATA_FILES:
        raw = folder.joinpath(name).read_bytes()
        assert yaml.load(raw, Loader=evidence.YAML_LOADER) == yaml.load(raw, Loader=yaml.SafeLoader), name


def test_every_citation_names_a_registered_source():
    cits = _all_citations()
    assert len(cits) > 100
    for c in cits:
        assert evidence.SOURCES[c.source.id] == c.source


def test_seed_sources_point_to_real_files(seeds):
    files = [s.file for s in evidence.SOURCES.values() if s.file]
    assert len(files) == 5
    for f in files:
        assert (seeds / f).is_file(), f


def test_every_quote_is_verbatim_in_its_seed(seeds):
    checked = 0
    for c in _all_citations():
        if c.quote and c.source.file:
            text = " ".join((seeds / c.source.file).read_text(encoding="utf-8").split())
            for part in c.quote.split(" ... "):  # an ellipsis joins verbatim fragments
                assert " ".join(part.split()) in text, (c.source.id, c.section, part)
            checked += 1
    assert checked > 40


def test_icd_codes_appear_in_their_seed(seeds):
    for cat in evidence.CATEGORIES.values():
        if cat.codes_citation is None:
            assert cat.icd_o is cat.icd_10 is cat.icd_11 is None
            continue
        text = (seeds / cat.codes_citation.source.file).read_text(encoding="utf-8")
        for code in (cat.icd_o, cat.icd_10, cat.icd_11):
            if code:  # the seeds print the ICD-11 cluster with spaces around '&'; the code has none
                assert code.replace("&", " & ") in text, (cat.id, code)


def test_published_figures_match_the_seed_text(seeds):
    """Every printed figure of seed 001's Results appears in the seed exactly as stored."""
    text = (seeds / evidence.SEED_001.file).read_text(encoding="utf-8").replace("–", "-")
    for r in evidence.DLMS_FACTOR_RISKS.values():
        for p in (r.present, r.absent):
            assert f"{p.printed['estimate']}%" in text and f"{p.printed['lower']}-{p.printed['upper']}" in text
        d = r.difference.printed
        assert f"RD: {d['estimate']}%; 95% CI: {d['lower']}-{d['upper']}" in text
    for k, v in evidence.DLMS_OVERALL_5Y.items():
        assert f"{v.printed['estimate']}%" in text, k


def test_rounding_interval_from_the_printed_text():
    r = evidence.DLMS_FACTOR_RISKS[("positive_margins", "local_recurrence")]
    assert r.difference.rounding_interval() == pytest.approx((0.175, 0.185))
    assert r.present.rounding_interval() == pytest.approx((0.2595, 0.2605))
    assert evidence.DLMS_FACTOR_RISKS[("necrosis", "metastasis")].present.rounding_interval("lower") == \
        pytest.approx((0.0055, 0.0065))


def test_criteria_reference_known_categories_and_features():
    from leiosurv.clinical import Findings, derived_features

    feats = derived_features(Findings(excision_date=dt.date(2024, 1, 1)))
    for c in evidence.DIAGNOSIS_CRITERIA:
        assert c.category in evidence.CATEGORIES and c.feature in feats, c.id
        assert re.fullmatch(r"dx\.[a-z0-9.-]+", c.id)
    for e in evidence.ESSENTIALS:
        assert e.category in evidence.CATEGORIES and e.feature in feats, e.id


def test_cite_refuses_unregistered_source():
    with pytest.raises(ValueError, match="not registered"):
        evidence.cite(evidence.Source(id="x", title="x", reference="x"), "s")
    assert evidence.cite(evidence.SEED_002, "Diagnosis").source == evidence.SEED_002


def test_models_refuse_bad_data():
    with pytest.raises(ValueError):
        PublishedRisk.from_printed({"estimate": "nine"}, evidence.LIFELONG_NOTE)
    with pytest.raises(ValueError):
        evidence.Criterion(id="dx.x", category="aismn", feature="depth", values=frozenset({"dermal"}), weight=0,
                           text="t", citation=evidence.LIFELONG_NOTE)


@pytest.mark.parametrize("case", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_result_records_the_ruleset(case):
    a = assess(parse_findings(yaml.safe_load(case.read_text())))
    assert a.provenance.ruleset_version == evidence.RULESET.version
    assert a.provenance.ruleset_sha256 == evidence.RULESET.sha256
    assert set(a.provenance.evidence_sources) <= set(evidence.SOURCES)


def test_future_excision_date_is_refused():
    with pytest.raises(FindingsError, match="in the future"):
        parse_findings({"excision_date": (dt.date.today() + dt.timedelta(days=1)).isoformat()})


def test_docs_are_generated_and_current():
    from leiosurv.interfaces.evidence_docs import render_clinical_md

    docs = (REPO / "docs" / "clinical.md").read_text(encoding="utf-8")
    assert docs == render_clinical_md(), "docs/clinical.md is stale: run `leiosurv evidence-docs > docs/clinical.md`"
    for rid in [c.id for c in evidence.DIAGNOSIS_CRITERIA] + list(evidence.WARNING_RULES) + [evidence.DLMS_RULE_ID]:
        assert f"`{rid}`" in docs, rid


# The words by which a cited sentence names a rule's finding (derived features and findings fields) or its
# category.  A rule's quote must contain one of them (case-insensitive): a citation that names neither
# (e.g. a sentence about pleomorphism for a MyoD1 rule) does not support the rule (issue 21).
_SM = ("sma", "desmin", "caldesmon", "smooth muscle")
FINDING_WORDS: dict[str, tuple[str, ...]] = {
    "depth": ("dermal", "dermis", "deep", "soft tissue", "subcut"),
    "growth_pattern": ("infiltrative", "circumscribed"),
    "smooth_muscle_morphology": ("fascicles", "spindled", "smooth muscle"),
    "smooth_muscle_ihc": _SM, "smooth_muscle_ihc_or_desmin": _SM,
    "atypia": ("atypia", "bland"),
    "subcutis_involvement": ("subcutis", "soft tissue"),
    "confined_to_dermis": ("dermis", "subcutis"),
    "pleomorphism": ("pleomorphism", "pleomorphic"),
    "necrosis": ("necrosis",),
    "mitoses.brisk": ("mitoses", "mitotic"),
    "lesion_distant": ("metasta", "distant"),
    "prior_lms_open": ("prior leiomyosarcoma",),
    "history.prior_leiomyosarcoma": ("prior leiomyosarcoma",),
    "history.prior_aismn": ("pre-existing diagnosis", "history of excision"),
    "known_primary": ("history", "metasta"),
    "metastasis_workup": ("metasta",),
    "prominent_inflammatory_infiltrate": ("inflammat",),
    "near_haploidization": ("haploidization",),
    "solar_elastosis": ("elastosis",),
    "melanocytic_ihc": ("s100", "sox10"),
    "epithelial_ihc": ("p40", "ck903", "keratin"),
    "keratin": ("ck903", "keratin"),
    "skeletal_muscle_ihc": ("myod1", "myogenin", "skeletal muscle"),
    "afx_pattern": ("cd10", "cd68"),
}
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "aismn": ("atypical intradermal smooth muscle neoplasm", "cutaneous leiomyosarcoma"),
    "lms_nos": ("leiomyosarcoma",), "metastatic_lms": ("metasta",), "ilms": ("inflammatory leiomyosarcoma",),
    "leiomyoma": ("leiomyoma",), "afx_pds": ("fibroxanthoma", "pleomorphic dermal sarcoma"),
    "spindle_scc": ("squamous cell carcinoma",), "desmoplastic_melanoma": ("melanoma",),
    "cellular_neurofibroma": ("neurofibroma",), "dermatofibroma": ("dermatofibroma",),
    "imt": ("myofibroblastic",), "rhabdomyosarcoma": ("rhabdomyosarcoma", "rhabdomyoblastic"),
}


def _finding_words(feature: str) -> tuple[str, ...]:
    if feature.startswith("immunohistochemistry."):
        stain = feature.split(".", 1)[1]
        label = evidence.STAIN_NAMES[stain].split(" ")[0].lower()
        return (label, label.replace("-", ""), stain.replace("_", ""))
    return FINDING_WORDS[feature]


def test_every_rule_cites_a_sentence_naming_its_finding_or_category():
    """Every criterion, essential criterion and gate quotes a sentence of its source that names its finding
    or its category (issue 21: dx.*.skeletal-muscle and ess.lms.sm-ihc cited sentences that named neither)."""
    rules = [(r.id, r.feature, (r.category,), r.citation) for r in evidence.DIAGNOSIS_CRITERIA + evidence.ESSENTIALS]
    rules += [(g.id, g.feature, (g.mimic, *g.blocks), g.citation) for g in evidence.GATES]
    assert len(rules) > 100
    for rid, feature, cats, cit in rules:
        assert cit.quote, f"{rid}: no quote"
        q = cit.quote.lower()
        words = _finding_words(feature) + tuple(w for c in cats for w in CATEGORY_WORDS[c])
        assert any(w in q for w in words), (rid, feature, cit.quote)
    skeletal = [r for r in evidence.DIAGNOSIS_CRITERIA if r.id.endswith(".skeletal-muscle")]
    assert skeletal and all("myod1" in r.citation.quote.lower() or "skeletal muscle" in r.citation.quote.lower()
                            for r in skeletal)


def test_decisions_and_low_requirements_are_cited():
    assert {d.id for d in evidence.DECISIONS} >= {
        "decision.brisk-without-count", "decision.confirmed-lms-dermal", "decision.confirmed-aismn-depth-unknown",
        "decision.low-risk-schedule"}
    for d in evidence.DECISIONS:
        assert d.citations and d.decision and d.reasoning
    assert [r.field for r in evidence.DLMS_LOW_REQUIRES] == ["depth", "history.prior_leiomyosarcoma"]
