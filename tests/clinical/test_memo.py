"""The memo of the date-free part of an assessment (``leiosurv.clinical._memo``) changes no output by one byte.

The reference is ``assess`` as it was before the memo (commit 77c58ea), written here through the public
functions, and pydantic's own JSON text of its result (``BaseModel.model_dump_json``, not the
assessment's override that reuses the memo's texts); every comparison is of JSON text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from findings_strategies import literal, valid_or_none
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from leiosurv import __version__
from leiosurv.casefile import load_case
from leiosurv.clinical import (
    Assessment,
    DxWarning,
    Provenance,
    _memo,
    assess,
    classify_risk,
    consistency_warnings,
    decide_pathway,
    diagnose,
    evidence,
    get_mitotic_definition,
    plan_surveillance,
)
from leiosurv.clinical.findings import Degree, Depth, Findings, Presence, StainResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = dt.date(2026, 1, 1)


def _reference_assess(findings, *, as_of, mitotic_definition=None, metastatic_disease=False):
    """``assess`` before the memo: every step afresh on the findings as given."""
    d = get_mitotic_definition(mitotic_definition)
    dx = diagnose(findings, mitotic_definition=d)
    app = decide_pathway(findings, dx, metastatic_disease=metastatic_disease)
    risk = classify_risk(findings, app, mitotic_definition=d)
    plan = plan_surveillance(findings, app, risk, as_of=as_of)
    cons = tuple(
        DxWarning(rule_id=cid, message=msg, inputs={}, citation=evidence.CONSISTENCY_CHECKS[cid].citation)
        for cid, msg in consistency_warnings(findings)
    )
    cits = [r.citation for c in dx.candidates for r in c.supporting + c.against]
    cits += [x.citation for c in dx.candidates for x in c.contradicted]
    cits += [w.citation for w in dx.warnings + cons] + list(risk.citations) + [e.citation for e in plan.encounters]
    cits += [c for r in plan.recommendations for c in r.citations]
    used = sorted({c.source.id for c in cits})
    prov = Provenance(
        leiosurv_version=__version__, ruleset_version=evidence.RULESET.version, ruleset_sha256=evidence.RULESET.sha256,
        risk_rule_id=risk.rule_id, fired_rules=dx.fired_rules + tuple(c.rule_id for c in cons),
        mitotic_definition=d.id, mitotic_definition_text=d.text,
        parameters={"mitotic_definition": d.id, "as_of": plan.as_of.isoformat(),
                    "metastatic_disease": str(metastatic_disease).lower(), **plan.parameters},
        evidence_sources={sid: {"reference": evidence.SOURCES[sid].reference, "file": evidence.SOURCES[sid].file}
                          for sid in used},
    )
    return Assessment(findings=findings, diagnosis=dx, applicability=app, risk=risk, plan=plan,
                      consistency_warnings=cons, provenance=prov)


def _reference(f, **kw) -> str:
    return BaseModel.model_dump_json(_reference_assess(f, **kw), warnings=False)


def _texts(f, **kw) -> tuple[str, str]:
    """The memoised path's text as the registry asks for it, and as anyone else does."""
    a = assess(f, **kw)
    return a.model_dump_json(warnings=False), a.model_dump_json()




_DATES = st.dates(dt.date(1980, 1, 1), dt.date(2025, 12, 31))

# every field of the findings; the ones no date-free step reads (NOT_READ) are drawn again for the
# second findings of a pair
_UNREAD = dict(
    case_id=st.none() | st.text(max_size=12),
    patient=st.fixed_dictionaries({"age_years": st.none() | st.integers(0, 130),
                                   "sex": st.sampled_from(["female", "male", "other", "unknown"])}),
    site=st.none() | st.text(max_size=12),
    size_mm=st.none() | st.floats(0.1, 500, allow_nan=False),
)
_READ = dict(
    subcutis_involvement_mm=st.none() | st.sampled_from([-0.0, 0.0, 1.0, 3.0, 6.0]),
    perineural_invasion=literal(Presence),
    intravascular_invasion=literal(Presence),
    margins=st.sampled_from(["negative", "positive", "unknown"]),
    margin_distance_mm=st.none() | st.sampled_from([-0.0, 0.0, 2.0]),
    fnclcc_grade=st.sampled_from(["G1", "G2", "G3", "unknown"]),
    confirmed_diagnosis=st.none() | st.sampled_from(sorted(evidence.CATEGORIES)),
    site_region=st.sampled_from(["head_neck", "trunk", "lower_extremity", "retroperitoneum", "other", "unknown"]),
    depth=literal(Depth),
    subcutis_involvement=st.sampled_from(["none", "focal", "extensive", "unknown"]),
    growth_pattern=st.sampled_from(["infiltrative", "circumscribed", "unknown"]),
    smooth_muscle_morphology=literal(Presence),
    atypia=literal(Degree),
    pleomorphism=literal(Degree),
    mitoses=st.one_of(
        st.fixed_dictionaries({"count": st.none() | st.sampled_from([-0.0, 0.0, 5.0, 27.9, 28.0, 28.5, 40.0]),
                               "unit": st.sampled_from(["per_10_hpf", "per_mm2"]),
                               "description": st.sampled_from(["unknown", "scant", "increased", "brisk"])}),
        st.fixed_dictionaries({"count": st.floats(0, 200, allow_nan=False), "hpf_area_mm2": st.just(0.3468)}),
    ),
    necrosis=literal(Presence),
    prominent_inflammatory_infiltrate=literal(Presence),
    solar_elastosis=literal(Presence),
    near_haploidization=literal(Presence),
    immunohistochemistry=st.fixed_dictionaries({k: literal(StainResult) for k in evidence.STAIN_NAMES}),
    history=st.fixed_dictionaries({
        "prior_leiomyosarcoma": st.sampled_from(["present", "unknown", "absent"]),
        "prior_aismn": literal(Presence),
    }, optional={
        "prior_leiomyosarcoma_date": st.dates(dt.date(1950, 1, 1), dt.date(1979, 12, 31)),
        "prior_aismn_date": st.dates(dt.date(1950, 1, 1), dt.date(1979, 12, 31)),
    }),
    distant_lesion=literal(Presence),
    metastasis_workup=st.sampled_from(["unknown", "excluded", "confirmed"]),
)


@st.composite
def _pairs(draw):
    """Two valid findings that agree on every field the diagnosis reads, with their own excision dates."""
    read = draw(st.fixed_dictionaries(_READ))
    out = []
    for _ in range(2):
        f = valid_or_none({**read, **draw(st.fixed_dictionaries(_UNREAD)), "excision_date": draw(_DATES)})
        if f is None:
            reject()
        out.append(f)
    return out[0], out[1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_pairs(), st.sampled_from(["fnclcc", "danish-3b"]), st.booleans())
def test_memoised_assessment_is_byte_identical_to_a_fresh_one(pair, definition, metastatic):
    first, second = pair
    kw = dict(as_of=AS_OF, mitotic_definition=definition, metastatic_disease=metastatic)
    _memo.MEMO.clear()
    for _ in range(2):  # seen twice: admitted
        assess(first, **kw)
    hits = _memo.MEMO.hits
    got = _texts(second, **kw)
    same_key = first.history.prior_leiomyosarcoma_date is None or first.excision_date == second.excision_date
    # the second findings share the first's entry unless the interval since a prior LMS is part of the diagnosis
    assert (_memo.MEMO.hits == hits + 1) == same_key
    assert got == (_reference(second, **kw),) * 2
    # and the first, from the memo (its texts spliced in), still gives its own text
    assert _texts(first, **kw) == (_reference(first, **kw),) * 2
    a = assess(first, **kw)
    assert _memo.MEMO.texts(a.diagnosis, a.risk) is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_pairs())
def test_the_unread_fields_at_their_defaults_give_the_same_date_free_part(pair):
    for f in pair:
        g = _memo.normalised(f)
        assert _memo.key_of(g) == _memo.key_of(f)
        for step in (lambda x: diagnose(x), lambda x: decide_pathway(x, diagnose(x)),
                     lambda x: classify_risk(x, decide_pathway(x, diagnose(x)))):
            assert step(g).model_dump_json() == step(f).model_dump_json()
        assert consistency_warnings(g) == consistency_warnings(f)


def test_no_rule_reads_the_normalised_fields():
    """Else the memo keeps them in its key (correct, but fewer inputs share an entry)."""
    for name in (*_memo.NOT_READ, "excision_date"):
        assert not _memo.rule_reads(name), name
    assert set(_memo.NOT_READ) < set(Findings.model_fields)


def test_a_field_a_rule_names_stays_in_the_key():
    assert _memo.rule_reads("immunohistochemistry") and _memo.rule_reads("depth")
    assert _memo.rule_reads("mitoses.brisk") and not _memo.rule_reads("mitoses.count")


def test_the_key_tells_minus_zero_from_zero():
    """-0.0 and 0.0 are equal numbers but different text in a result (a factor's inputs, a check's message)."""
    f = Findings(excision_date=dt.date(2024, 1, 1), depth="dermal", margins="negative", margin_distance_mm=2.0)
    zero = f.model_copy(update={"margin_distance_mm": 0.0, "margins": "unknown"})
    minus = f.model_copy(update={"margin_distance_mm": -0.0, "margins": "unknown"})
    assert zero == minus and _memo.key_of(zero) != _memo.key_of(minus)
    _memo.MEMO.clear()
    for g in (zero, zero, minus, minus, zero, minus):
        assert _texts(g, as_of=AS_OF) == (_reference(g, as_of=AS_OF),) * 2


def _varied(n: int, seed: int) -> list[Findings]:
    rng = random.Random(seed)
    pres, deg = ["present", "absent", "unknown"], ["none", "mild", "moderate", "marked", "unknown"]
    stains = ["positive", "focal", "negative", "not_done", "unknown"]
    out: list[Findings] = []
    while len(out) < n:
        day = dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(12_000))
        prior = rng.choice(pres)
        hist: dict = {"prior_leiomyosarcoma": prior, "prior_aismn": rng.choice(pres)}
        if prior != "absent" and rng.random() < 0.4:
            hist["prior_leiomyosarcoma_date"] = day - dt.timedelta(days=rng.randrange(100, 9000))
        f = valid_or_none(dict(
            excision_date=day, depth=rng.choice(Depth.__args__), site_region=rng.choice(["trunk", "unknown"]),
            margins=rng.choice(["positive", "negative", "unknown"]), necrosis=rng.choice(pres),
            atypia=rng.choice(deg), pleomorphism=rng.choice(deg), smooth_muscle_morphology=rng.choice(pres),
            growth_pattern=rng.choice(["infiltrative", "circumscribed", "unknown"]),
            subcutis_involvement=rng.choice(["none", "focal", "extensive", "unknown"]),
            mitoses={"count": rng.choice([None, 0, 5, 15, 20, 21, 25, 40])},
            perineural_invasion=rng.choice(pres), intravascular_invasion=rng.choice(pres),
            fnclcc_grade=rng.choice(["G1", "G2", "G3", "unknown"]), distant_lesion=rng.choice(pres),
            metastasis_workup=rng.choice(["unknown", "excluded", "confirmed"]),
            confirmed_diagnosis=rng.choice([None, None, None, *evidence.CATEGORIES]),
            immunohistochemistry={s: rng.choice(stains) for s in rng.sample(list(evidence.STAIN_NAMES), 7)},
            history=hist, patient={"age_years": rng.randrange(20, 95)}, case_id=rng.choice([None, f"c{len(out)}"]),
        ))
        if f is not None:
            out.append(f)
    return out


def _cases() -> list[Findings]:
    """The example case files, each also with other excision dates, and generated findings (some repeated
    with other dates and ages, as a registry import has them)."""
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        f = load_case(path)
        out.append(f)
        for days in (1, 400, 4000):
            g = f.model_copy(update={"excision_date": f.excision_date - dt.timedelta(days=days)})
            with contextlib.suppress(ValidationError):
                out.append(Findings.model_validate(g.model_dump()))
    varied = _varied(300, 7)
    rng = random.Random(8)
    again = [f.model_copy(update={"excision_date": f.excision_date + dt.timedelta(days=rng.randrange(1, 300))})
             for f in rng.sample(varied, 100) if f.history.prior_leiomyosarcoma_date is None]
    return out + varied + varied[:50] + again


def test_hundreds_of_assessments_match_the_unmemoised_path():
    cases = _cases()
    assert len(cases) >= 400
    _memo.MEMO.clear()
    for definition in ("fnclcc", "danish-3b"):
        for metastatic in (False, True):
            kw = dict(as_of=AS_OF, mitotic_definition=definition, metastatic_disease=metastatic)
            got = [_texts(f, **kw) for f in cases]
            want = [(_reference(f, **kw),) * 2 for f in cases]
            assert got == want
    assert _memo.MEMO.hits > 50  # the memo was used, not bypassed


def test_the_memo_is_bounded():
    m = _memo.Memo(size=3, admit_within=8)
    for _ in range(3):
        for k in range(20):
            entry = m.get((f"k{k % 7}", "fnclcc", False), lambda k=k: SimpleNamespace(diagnosis=object(), k=k % 7))
            assert entry.k == k % 7 and len(m.entries) <= 3 and len(m.seen) <= 8
            assert len(m.by_diagnosis) == len(m.entries)
    assert len(m.entries) == 3
    # the process's memo after many distinct findings, each assessed twice in a row (all admitted) ...
    _memo.MEMO.clear()
    varied = _varied(600, 4)
    for f in varied:
        assess(f, as_of=AS_OF)
        assess(f, as_of=AS_OF)
    assert len(_memo.MEMO.entries) == _memo.MEMO_SIZE == len(_memo.MEMO.by_diagnosis)
    # ... and in turn, twice over (each again only after 599 others: none admitted)
    _memo.MEMO.clear()
    for f in varied * 2:
        assess(f, as_of=AS_OF)
    assert not _memo.MEMO.entries and len(_memo.MEMO.seen) == _memo.ADMIT_WITHIN


def test_findings_seen_once_do_not_enter_the_memo():
    f = _varied(1, 5)[0]
    _memo.MEMO.clear()
    a = assess(f, as_of=AS_OF)
    assert not _memo.MEMO.entries and _memo.MEMO.misses == 1
    assert _memo.MEMO.texts(a.diagnosis, a.risk) is None  # not memoised: pydantic writes the whole text
    assess(f, as_of=AS_OF)
    assert len(_memo.MEMO.entries) == 1
    b = assess(f, as_of=AS_OF)
    assert _memo.MEMO.hits == 1 and b.diagnosis is next(iter(_memo.MEMO.entries.values())).diagnosis
    # an assessment with the memo's diagnosis but another risk is not spliced
    other = b.model_copy(update={"risk": a.risk})
    assert _memo.MEMO.texts(other.diagnosis, other.risk) is None
    assert other.model_dump_json(warnings=False) == BaseModel.model_dump_json(other, warnings=False)


def test_another_mitotic_definition_is_another_key():
    f = Findings(excision_date=dt.date(2024, 1, 1), depth="dermal", mitoses={"count": 4, "unit": "per_mm2"})
    wide = get_mitotic_definition("fnclcc").model_copy(update={"hpf_area_mm2": 0.9})  # not in the evidence
    _memo.MEMO.clear()
    for d in ("fnclcc", "danish-3b", wide):
        for _ in range(3):
            assert _texts(f, as_of=AS_OF, mitotic_definition=d) == (_reference(f, as_of=AS_OF,
                                                                                mitotic_definition=d),) * 2
    assert {k[1] for k in _memo.MEMO.entries} == {"fnclcc", "danish-3b", wide} and _memo.MEMO.hits == 3
    # the count per 10 HPF of the wide field is brisk (36 > 28), of the FNCLCC one not (6.9)
    assert assess(f, as_of=AS_OF, mitotic_definition=wide).diagnosis != assess(f, as_of=AS_OF).diagnosis


def test_the_metastatic_flag_is_part_of_the_key():
    f = Findings(excision_date=dt.date(2024, 1, 1), depth="dermal", necrosis="absent")
    _memo.MEMO.clear()
    for metastatic in (False, False, True, True, False, True):
        assert _texts(f, as_of=AS_OF, metastatic_disease=metastatic) == (
            _reference(f, as_of=AS_OF, metastatic_disease=metastatic),) * 2
    assert len(_memo.MEMO.entries) == 2


@pytest.fixture(autouse=True)
def _clear_memo():
    yield
    _memo.MEMO.clear()
