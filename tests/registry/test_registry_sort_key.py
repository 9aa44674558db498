"""The patient list's natural order from the stored key ``patient.sort_key`` (migration 0013), on both databases.

The key is written by the registry's one write path (``_save.save``) when a patient
is added and when its pseudonym is corrected, back-filled by the migration, and
indexed with the synthetic flag, so a page of the list is read in index order.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.exceptions import LeiosurvError
from leiosurv.registry import Registry
from leiosurv.registry import _tables as T
from leiosurv.registry._db import SORT_KEY_CHARS, natural_key

TODAY = dt.date(2026, 12, 1)


def _order(reg: Registry, q: str = "", **kw) -> list[str]:
    return [r.pseudonym for r in reg.find_patients(q, limit=500, **kw)[1]]


def _keys(reg: Registry) -> dict[str, str]:
    with reg.engine.connect() as c:
        return dict(c.execute(sa.select(T.patient.c.pseudonym, T.patient.c.sort_key)).all())


def test_natural_order_with_real_cases_first(reg):
    for p, syn in (("SYN-1-10", True), ("SYN-1-2", True), ("SYN-2-1", True), ("SYN-1-1", True), ("syn-1-3", True),
                   ("SYN-10-0", True), ("SEED-004", False), ("SEED-000", False), ("P-9", False), ("P-10", False)):
        reg.add_patient(p, synthetic=syn)
    assert _order(reg) == ["P-9", "P-10", "SEED-000", "SEED-004",
                           "SYN-1-1", "SYN-1-2", "syn-1-3", "SYN-1-10", "SYN-2-1", "SYN-10-0"]
    assert _order(reg, synthetic=True)[:3] == ["SYN-1-1", "SYN-1-2", "syn-1-3"]
    assert _keys(reg)["SYN-1-2"] == "syn-0000000001-0000000002" == natural_key("SYN-1-2")
    assert all(k == natural_key(p) for p, k in _keys(reg).items())
    # pages follow the same order: 3 at a time
    pages = [[r.pseudonym for r in reg.find_patients("", limit=3, offset=o)[1]] for o in (0, 3, 6, 9)]
    assert sum(pages, []) == _order(reg)


def test_a_corrected_pseudonym_takes_its_new_place(reg):
    for p in ("SYN-1-2", "SYN-1-9", "SYN-1-10", "SYN-1-11"):
        reg.add_patient(p, synthetic=True)
    assert _order(reg) == ["SYN-1-2", "SYN-1-9", "SYN-1-10", "SYN-1-11"]
    reg.correct("SYN-1-10", "patient", pseudonym="SYN-1-1", reason="mistyped at registration", by="dr. a",
                as_of=TODAY)
    assert _order(reg) == ["SYN-1-1", "SYN-1-2", "SYN-1-9", "SYN-1-11"]
    assert _keys(reg)["SYN-1-1"] == natural_key("SYN-1-1") and "SYN-1-10" not in _keys(reg)
    # one step past its neighbour: SYN-1-9 -> SYN-1-12 moves behind SYN-1-11
    reg.correct("SYN-1-9", "patient", pseudonym="SYN-1-12", reason="mistyped", by="dr. a", as_of=TODAY)
    assert _order(reg) == ["SYN-1-1", "SYN-1-2", "SYN-1-11", "SYN-1-12"]
    # the previous pseudonym is kept in the history of the renamed patient; the record answers to the new one
    hist = reg.history_of("SYN-1-1")
    assert [(h.table, h.action, h.previous["pseudonym"]) for h in hist] == [("patient", "corrected", "SYN-1-10")]
    assert reg.patient_record("SYN-1-1").patient.pseudonym == "SYN-1-1"
    with pytest.raises(LeiosurvError, match="no such patient"):
        reg.patient_record("SYN-1-10")


@pytest.mark.parametrize("new, message", [
    ("SYN-1-2", "a patient with this pseudonym already exists"),
    ("", "pseudonym: must be a non-empty text"),
    ("   ", "pseudonym: must be a non-empty text"),
    ("X" * 65, "pseudonym: at most 64 characters"),
])
def test_a_pseudonym_correction_is_refused_naming_the_field(reg, new, message):
    reg.add_patient("SYN-1-2")
    reg.add_patient("SYN-1-3")
    with pytest.raises(LeiosurvError, match=re.escape(message)):
        reg.correct("SYN-1-3", "patient", pseudonym=new, reason="r", by="dr. a", as_of=TODAY)
    assert _order(reg) == ["SYN-1-2", "SYN-1-3"] and reg.history_of("SYN-1-3") == []


def test_a_patient_written_past_the_registry_without_its_key_is_refused(reg):
    with reg.engine.connect() as c, pytest.raises(sa.exc.IntegrityError, match="sort_key"):
        c.execute(sa.insert(T.patient).values(pseudonym="RAW", sex="unknown", synthetic=False))


def test_the_migration_fills_the_keys_of_existing_patients_and_goes_back(db_url):
    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._db import _alembic_config

    eng = make_engine(db_url)
    upgrade(eng, "0012")
    names = ["SYN-1-10", "SYN-1-2", "A-007", "b-7x3"]
    with eng.begin() as c:
        c.execute(sa.text("INSERT INTO patient (pseudonym, sex, synthetic) VALUES (:p, 'unknown', :s)"),
                  [{"p": p, "s": p.startswith("SYN")} for p in names])
    upgrade(eng)
    reg = Registry(db_url)
    assert _keys(reg) == {p: natural_key(p) for p in names}
    assert _order(reg) == ["A-007", "b-7x3", "SYN-1-2", "SYN-1-10"]
    assert "ix_patient_sort" in {i["name"] for i in sa.inspect(reg.engine).get_indexes("patient")}
    reg.close()
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0012")
    assert "sort_key" not in {col["name"] for col in sa.inspect(eng).get_columns("patient")}
    with eng.begin() as c:  # revision 0012's tables again: a patient without a key is accepted
        c.execute(sa.text("INSERT INTO patient (pseudonym, sex, synthetic) VALUES ('OLD-1', 'unknown', false)"))
    upgrade(eng)
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT sort_key FROM patient WHERE pseudonym = 'OLD-1'")).scalar() == "old-0000000001"
    eng.dispose()


def test_a_page_is_read_in_index_order_not_sorted(reg):
    """The page query's plan walks ix_patient_sort: SQLite uses no temporary B-tree for the ORDER BY;
    PostgreSQL (statistics taken, sequential scans off so the small table cannot hide the choice) scans the
    index and sorts nothing."""
    with reg.engine.begin() as c:
        c.execute(sa.insert(T.patient), [{"pseudonym": f"SYN-{i // 100}-{i % 100}", "sort_key":
                                          natural_key(f"SYN-{i // 100}-{i % 100}"), "sex": "female",
                                          "synthetic": True} for i in range(2000)])
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, params, context, executemany):  # noqa: ANN001 - SQLAlchemy event
        seen.append((statement, params))

    sa.event.listen(reg.engine, "before_cursor_execute", grab)
    try:
        assert [r.pseudonym for r in reg.find_patients("", limit=3, offset=500)[1]] == ["SYN-5-0", "SYN-5-1",
                                                                                        "SYN-5-2"]
    finally:
        sa.event.remove(reg.engine, "before_cursor_execute", grab)
    page = next((s, p) for s, p in seen if "ORDER BY" in s and "LIMIT" in s)
    with reg.engine.connect() as c:
        if reg.dialect == "sqlite":
            rows = c.exec_driver_sql("EXPLAIN QUERY PLAN " + page[0], page[1]).all()
            # the page's rows (the subquery, a co-routine) come from the index, no sort; only the 50 rows of the
            # page are ordered again outside it
            inner = {r[0] for r in rows if str(r[-1]).startswith("CO-ROUTINE")}
            while True:
                more = inner | {r[0] for r in rows if r[1] in inner}
                if more == inner:
                    break
                inner = more
            plan = [str(r[-1]) for r in rows if r[0] in inner]
            assert "SCAN patient USING INDEX ix_patient_sort" in plan, rows
            assert not [x for x in plan if "TEMP B-TREE" in x], rows
        else:
            c.exec_driver_sql("ANALYZE patient")
            c.exec_driver_sql("SET enable_seqscan = off")
            plan = " | ".join(r[0] for r in c.exec_driver_sql("EXPLAIN " + page[0], page[1]))
            assert "ix_patient_sort" in plan and "Sort " not in plan.replace("Sort Key", ""), plan


def _reference_order(s: str) -> list:
    """Natural order spelled out: the lower-cased text split into runs, digit runs compared as numbers."""
    return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.findall(r"\d+|\D+", s.lower())]


_names = st.from_regex(r"[A-Za-z]{1,4}(-[0-9]{1,10}){0,3}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(_names, min_size=2, max_size=30, unique_by=str.lower))
def test_the_key_orders_as_numbers_compare(names):
    """For digit runs of up to 10 digits, the order of the keys is the order of the runs as numbers (names
    shaped as the registry's: letters, then groups of a hyphen and digits)."""
    by_key = sorted(names, key=lambda s: (natural_key(s), s))
    assert [_reference_order(s) for s in by_key] == sorted(_reference_order(s) for s in names)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=64))
def test_the_key_of_any_pseudonym_fits_its_column(text):
    assert len(natural_key(text)) <= SORT_KEY_CHARS == T.patient.c.sort_key.type.length
    assert len(natural_key("İ1" * 32)) <= SORT_KEY_CHARS
