"""The memo of diagnoses (``leiosurv.clinical._memo``) changes no output by one byte.

The reference path is ``assess`` with the memo taken out (``diagnose`` called afresh on the findings
as given); every comparison is of ``model_dump_json()`` text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leiosurv.casefile import load_case
from leiosurv.clinical import _assess, _memo, assess, diagnose, evidence, get_mitotic_definition
from leiosurv.clinical.findings import Degree, Depth, Findings, Presence, StainResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = dt.date(2026, 1, 1)


def _fresh(findings, definition):
    return diagnose(findings, mitotic_definition=definition)


@contextlib.contextmanager
def _unmemoised():
    """``assess`` exactly as before the memo: ``diagnose`` afresh on the findings as given."""
    with mock.patch.object(_assess, "diagnose_memoised", _fresh):
        yield


def _reference(f, **kw) -> str:
    with _unmemoised():
        return assess(f, **kw).model_dump_json()


def _lit(t):
    return st.sampled_from(t.__args__)


def _valid_or_none(kw):
    try:
        return Findings(**kw)
    except ValidationError:
        return None


_DATES = st.dates(dt.date(1980, 1, 1), dt.date(2025, 12, 31))

# every field of the findings; the ones the diagnosis does not read (NOT_READ) are drawn again for the
# second findings of a pair
_UNREAD = dict(
    case_id=st.none() | st.text(max_size=12),
    patient=st.fixed_dictionaries({"age_years": st.none() | st.integers(0, 130),
                                   "sex": st.sampled_from(["female", "male", "other", "unknown"])}),
    site=st.none() | st.text(max_size=12),
    size_mm=st.none() | st.floats(0.1, 500, allow_nan=False),
    subcutis_involvement_mm=st.none() | st.sampled_from([-0.0, 0.0, 1.0, 3.0, 6.0]),
    perineural_invasion=_lit(Presence),
    intravascular_invasion=_lit(Presence),
    margins=st.sampled_from(["negative", "positive", "unknown"]),
    margin_distance_mm=st.none() | st.sampled_from([-0.0, 0.0, 2.0]),
    fnclcc_grade=st.sampled_from(["G1", "G2", "G3", "unknown"]),
    confirmed_diagnosis=st.none() | st.sampled_from(sorted(evidence.CATEGORIES)),
)
_READ = dict(
    site_region=st.sampled_from(["head_neck", "trunk", "lower_extremity", "retroperitoneum", "other", "unknown"]),
    depth=_lit(Depth),
    subcutis_involvement=st.sampled_from(["none", "focal", "extensive", "unknown"]),
    growth_pattern=st.sampled_from(["infiltrative", "circumscribed", "unknown"]),
    smooth_muscle_morphology=_lit(Presence),
    atypia=_lit(Degree),
    pleomorphism=_lit(Degree),
    mitoses=st.one_of(
        st.fixed_dictionaries({"count": st.none() | st.sampled_from([-0.0, 0.0, 5.0, 27.9, 28.0, 28.5, 40.0]),
                               "unit": st.sampled_from(["per_10_hpf", "per_mm2"]),
                               "description": st.sampled_from(["unknown", "scant", "increased", "brisk"])}),
        st.fixed_dictionaries({"count": st.floats(0, 200, allow_nan=False), "hpf_area_mm2": st.just(0.3468)}),
    ),
    necrosis=_lit(Presence),
    prominent_inflammatory_infiltrate=_lit(Presence),
    solar_elastosis=_lit(Presence),
    near_haploidization=_lit(Presence),
    immunohistochemistry=st.fixed_dictionaries({k: _lit(StainResult) for k in evidence.STAIN_NAMES}),
    history=st.fixed_dictionaries({
        "prior_leiomyosarcoma": st.sampled_from(["present", "unknown", "absent"]),
        "prior_aismn": _lit(Presence),
    }, optional={
        "prior_leiomyosarcoma_date": st.dates(dt.date(1950, 1, 1), dt.date(1979, 12, 31)),
        "prior_aismn_date": st.dates(dt.date(1950, 1, 1), dt.date(1979, 12, 31)),
    }),
    distant_lesion=_lit(Presence),
    metastasis_workup=st.sampled_from(["unknown", "excluded", "confirmed"]),
)


@st.composite
def _pairs(draw):
    """Two valid findings that agree on every field the diagnosis reads, with their own excision dates."""
    read = draw(st.fixed_dictionaries(_READ))
    out = []
    for _ in range(2):
        f = _valid_or_none({**read, **draw(st.fixed_dictionaries(_UNREAD)), "excision_date": draw(_DATES)})
        if f is None:
            reject()
        out.append(f)
    return out[0], out[1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_pairs(), st.sampled_from(["fnclcc", "danish-3b"]), st.booleans())
def test_memoised_assessment_is_byte_identical_to_a_fresh_one(pair, definition, metastatic):
    first, second = pair
    _memo.MEMO.clear()
    for _ in range(2):  # seen twice: admitted
        assess(first, as_of=AS_OF, mitotic_definition=definition, metastatic_disease=metastatic)
    hits = _memo.MEMO.hits
    got = assess(second, as_of=AS_OF, mitotic_definition=definition, metastatic_disease=metastatic).model_dump_json()
    same_key = first.history.prior_leiomyosarcoma_date is None or first.excision_date == second.excision_date
    # the second findings share the first's entry unless the interval since a prior LMS is part of the diagnosis
    assert (_memo.MEMO.hits == hits + 1) == same_key
    assert got == _reference(second, as_of=AS_OF, mitotic_definition=definition, metastatic_disease=metastatic)
    # and the first, from the memo, still gives its own text
    assert assess(first, as_of=AS_OF, mitotic_definition=definition,
                  metastatic_disease=metastatic).model_dump_json() == _reference(
        first, as_of=AS_OF, mitotic_definition=definition, metastatic_disease=metastatic)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_pairs())
def test_the_unread_fields_at_their_defaults_give_the_same_diagnosis(pair):
    for f in pair:
        assert diagnose(_memo.diagnosed_as(f)).model_dump_json() == diagnose(f).model_dump_json()


def test_no_rule_reads_the_normalised_fields():
    """Else the memo keeps them in its key (correct, but fewer inputs share an entry)."""
    for name in (*_memo.NOT_READ, "excision_date"):
        assert not _memo.rule_reads(name), name
    assert set(_memo.NOT_READ) < set(Findings.model_fields)


def test_a_field_a_rule_names_stays_in_the_key():
    assert _memo.rule_reads("immunohistochemistry") and _memo.rule_reads("depth")
    assert _memo.rule_reads("mitoses.brisk") and not _memo.rule_reads("mitoses.count")


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
        f = _valid_or_none(dict(
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
            got = [assess(f, **kw).model_dump_json() for f in cases]
            want = [_reference(f, **kw) for f in cases]
            assert got == want
    assert _memo.MEMO.hits > 100  # the memo was used, not bypassed


def test_the_memo_is_bounded():
    m = _memo.Memo(size=3, admit_within=5)
    fs = _varied(20, 3)
    for _ in range(3):
        for f in fs:
            dx = m.diagnose(_memo.diagnosed_as(f), "fnclcc")
            assert dx.model_dump_json() == diagnose(f).model_dump_json()
            assert len(m.entries) <= 3 and len(m.seen) <= 5
    # the process's memo after many distinct findings, each assessed twice in a row (all admitted) ...
    _memo.MEMO.clear()
    varied = _varied(600, 4)
    for f in varied:
        assess(f, as_of=AS_OF)
        assess(f, as_of=AS_OF)
    assert len(_memo.MEMO.entries) == _memo.MEMO_SIZE
    # ... and in turn, twice over (each again only after 599 others: none admitted)
    _memo.MEMO.clear()
    for f in varied * 2:
        assess(f, as_of=AS_OF)
    assert not _memo.MEMO.entries and len(_memo.MEMO.seen) == _memo.ADMIT_WITHIN


def test_findings_seen_once_do_not_enter_the_memo():
    m = _memo.Memo(size=10, admit_within=10)
    f = _memo.diagnosed_as(_varied(1, 5)[0])
    m.diagnose(f, "fnclcc")
    assert not m.entries and m.misses == 1
    m.diagnose(f, "fnclcc")
    assert len(m.entries) == 1
    m.diagnose(f, "fnclcc")
    assert m.hits == 1


def test_another_mitotic_definition_is_another_key():
    f = Findings(excision_date=dt.date(2024, 1, 1), depth="dermal", mitoses={"count": 4, "unit": "per_mm2"})
    fnclcc, danish = get_mitotic_definition("fnclcc"), get_mitotic_definition("danish-3b")
    wide = fnclcc.model_copy(update={"hpf_area_mm2": 0.9})  # not in the evidence: keyed by itself
    _memo.MEMO.clear()
    for d in (fnclcc, danish, wide):
        for _ in range(2):
            _memo.diagnose_memoised(f, d)
    assert len(_memo.MEMO.entries) == 3
    assert {k[1] for k in _memo.MEMO.entries} == {"fnclcc", "danish-3b", wide}
    for d in (fnclcc, danish, wide):
        assert _memo.diagnose_memoised(f, d).model_dump_json() == diagnose(f, mitotic_definition=d).model_dump_json()
    # the count per 10 HPF of the wide field is brisk (36 > 28), of the FNCLCC one not (6.9)
    assert _memo.diagnose_memoised(f, wide) != _memo.diagnose_memoised(f, fnclcc)


@pytest.fixture(autouse=True)
def _clear_memo():
    yield
    _memo.MEMO.clear()
