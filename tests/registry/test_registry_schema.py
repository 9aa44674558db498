"""The schema: migrations equal the tables, and integrity is enforced by the database itself.

The integrity tests write with plain SQL, bypassing the services, so they fail
if a rule lives only in Python.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from leiosurv.registry import Registry, head_revision
from leiosurv.registry import _tables as T


def test_migration_matches_tables(reg):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with reg.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), T.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_removes_everything(db_url):
    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._db import _alembic_config

    r = Registry(db_url, create=True)
    Registry(db_url, create=True)  # second init: a no-op
    assert Registry(db_url).dialect in ("sqlite", "postgresql")
    eng = make_engine(db_url)
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "base")
    names = set(sa.inspect(eng).get_table_names()) - {"alembic_version"}
    assert names == set()
    upgrade(eng)
    assert set(sa.inspect(eng).get_table_names()) >= {t.name for t in T.metadata.sorted_tables}
    r.close()
    eng.dispose()


def test_sqlite_pragmas(tmp_path):
    r = Registry(tmp_path / "r.sqlite", create=True)
    with r.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_uninitialised_and_missing_registries_are_refused(tmp_path):
    from leiosurv.exceptions import RegistryError

    with pytest.raises(RegistryError, match="does not exist; run 'leiosurv registry init'"):
        Registry(tmp_path / "nope.sqlite")
    sa.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}").connect().close()
    with pytest.raises(RegistryError, match="not initialised"):
        Registry(tmp_path / "empty.sqlite")
    assert head_revision() == "0014"


def _base(c) -> tuple[int, int]:
    """A patient and a tumour written past the registry (at any revision: the sort key from 0012 on)."""
    keyed = "sort_key" in {col["name"] for col in sa.inspect(c).get_columns("patient")}
    vals = dict(pseudonym="P", sex="male", **({"sort_key": "p"} if keyed else {}))
    pid = c.execute(sa.insert(T.patient).values(**vals).returning(T.patient.c.id)).scalar()
    tid = c.execute(sa.insert(T.tumour).values(patient_id=pid, label="T", diagnosis_date=dt.date(2020, 1, 1),
                                               findings={}).returning(T.tumour.c.id)).scalar()
    return pid, tid


@pytest.mark.parametrize("table, values, message", [
    ("event", dict(kind="metastasis", site="lung", date=dt.date(2019, 12, 31)), "before the diagnosis"),
    ("treatment", dict(kind="excision", date=dt.date(2019, 12, 31)), "before the diagnosis"),
    ("encounter", dict(origin="ad_hoc", status="done", modality_class="clinical", kind="visit",
                       # a year ahead: the list is made when the tests are collected, which may be before midnight
                       done_on=dt.date.today() + dt.timedelta(days=365)), "done on a date in the future"),
    ("event", dict(kind="metastasis", site="brain", date=dt.date(2021, 1, 1)), "ck_event_site"),
    ("event", dict(kind="metastasis", date=dt.date(2021, 1, 1)), "ck_event_metastasis_needs_site"),
    ("treatment", dict(kind="systemic", date=dt.date(2021, 1, 1)), "ck_treatment_systemic_needs_agent"),
    ("encounter", dict(origin="ad_hoc", status="done", modality_class="clinical", kind="visit"),
     "ck_encounter_done_iff_date"),
    ("encounter", dict(origin="planned", status="planned", modality_class="clinical", kind="visit"),
     "ck_encounter_planned_has_due"),
])
def test_database_refuses(reg, table, values, message):
    with reg.engine.connect() as c:
        pid, tid = _base(c)
        with pytest.raises(sa.exc.DBAPIError, match=message):
            c.execute(sa.insert(T.metadata.tables[table]).values(patient_id=pid, tumour_id=tid, **values))


def test_nothing_after_death_in_the_database(reg):
    with reg.engine.connect() as c:
        pid, tid = _base(c)
        c.execute(sa.insert(T.event).values(patient_id=pid, kind="death", date=dt.date(2022, 1, 1)))
        for table, values in [
            (T.event, dict(tumour_id=tid, kind="local_recurrence", date=dt.date(2022, 1, 2))),
            (T.treatment, dict(tumour_id=tid, kind="radiotherapy", date=dt.date(2022, 1, 2))),
            (T.encounter, dict(origin="ad_hoc", status="done", modality_class="clinical", kind="v",
                               done_on=dt.date(2022, 1, 2))),
            (T.observation, dict(label="o", description="d", first_seen=dt.date(2022, 1, 2), max_interval_days=9)),
            (T.tumour, dict(label="T2", diagnosis_date=dt.date(2022, 1, 2), findings={})),
        ]:
            with pytest.raises(sa.exc.DBAPIError, match="after the patient's death"), c.begin_nested():
                c.execute(sa.insert(table).values(patient_id=pid, **values))
        with pytest.raises(sa.exc.DBAPIError, match="already|unique|UNIQUE"), c.begin_nested():
            c.execute(sa.insert(T.event).values(patient_id=pid, kind="death", date=dt.date(2022, 1, 1)))


def test_death_cannot_precede_existing_records(reg):
    with reg.engine.connect() as c:
        pid, tid = _base(c)
        c.execute(sa.insert(T.event).values(patient_id=pid, tumour_id=tid, kind="local_recurrence",
                                            date=dt.date(2021, 6, 1)))
        with pytest.raises(sa.exc.DBAPIError, match="nothing may follow death"):
            c.execute(sa.insert(T.event).values(patient_id=pid, kind="death", date=dt.date(2021, 1, 1)))


def test_a_record_cannot_name_another_patients_tumour(reg):
    with reg.engine.connect() as c:
        _pid, tid = _base(c)
        other = c.execute(sa.insert(T.patient).values(pseudonym="Q", sort_key="q", sex="female")
                          .returning(T.patient.c.id)).scalar()
        with pytest.raises(sa.exc.IntegrityError):
            c.execute(sa.insert(T.event).values(patient_id=other, tumour_id=tid, kind="local_recurrence",
                                                date=dt.date(2021, 1, 1)))


def test_update_is_checked_too(reg):
    with reg.engine.connect() as c:
        pid, tid = _base(c)
        eid = c.execute(sa.insert(T.event).values(patient_id=pid, tumour_id=tid, kind="local_recurrence",
                                                  date=dt.date(2021, 1, 1)).returning(T.event.c.id)).scalar()
        with pytest.raises(sa.exc.DBAPIError, match="before the diagnosis"):
            c.execute(sa.update(T.event).where(T.event.c.id == eid).values(date=dt.date(2010, 1, 1)))


def test_unreachable_postgresql_is_one_line():
    from leiosurv.exceptions import RegistryError

    with pytest.raises(RegistryError, match=r"registry postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/x: cannot connect"):
        Registry("postgresql://u:pw@127.0.0.1:1/x", create=True)


def test_migrations_of_the_alert_indexes_keep_the_data(db_url):
    """0002 makes the due index cover window_end; 0005 makes the alert indexes partial (and back down)."""
    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._db import _alembic_config

    def encounter_indexes():
        with eng.connect() as c:
            if eng.dialect.name == "sqlite":
                rows = c.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'encounter' "
                                         "AND type = 'index' AND sql IS NOT NULL").all()
            else:
                rows = c.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes "
                                         "WHERE tablename = 'encounter'").all()
        return {n: " ".join(d.replace('"', "").split()) for n, d in rows}

    eng = make_engine(db_url)
    upgrade(eng, "0001")
    with eng.begin() as c:
        _base(c)
    upgrade(eng, "0002")
    cols = [ix["column_names"] for ix in sa.inspect(eng).get_indexes("encounter") if ix["name"] == "ix_encounter_due"]
    assert cols == [["status", "due", "window_end"]]
    before = encounter_indexes()
    upgrade(eng)
    after = encounter_indexes()
    def bare(ddl):  # without the parentheses and casts the two databases write differently
        return ddl.replace("::text", "").replace("(", "").replace(")", "")

    assert bare(after["ix_encounter_open"]).endswith("window_end WHERE status = 'planned'")
    assert bare(after["ix_encounter_due"]).endswith("due, window_end WHERE status = 'planned'")
    assert bare(after["ix_encounter_observation"]).endswith("observation_id, done_on WHERE observation_id IS NOT NULL")
    assert {k: v for k, v in after.items() if "WHERE" not in v} == {
        k: v for k, v in before.items() if k not in ("ix_encounter_open", "ix_encounter_due",
                                                     "ix_encounter_observation")}
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0004")
    assert encounter_indexes() == before
    upgrade(eng)
    r = Registry(db_url)
    assert r.counts()["tumour"] == 1 and r.patients() == ["P"]
    r.close()
    eng.dispose()


@pytest.mark.parametrize("findings", [
    {"excision_date": "2020-01-15", "depth": "dermal", "margins": "positive"},
    {"excision_date": "2019-08-31", "depth": "dermal", "margins": "negative", "necrosis": "present",
     "mitoses": {"count": 25}, "perineural_invasion": "absent", "intravascular_invasion": "unknown",
     "patient": {"age_years": 71}, "site": "Unterschenkel, rechts (Ödem)"},
    {"excision_date": "2021-02-28", "depth": "subcutaneous", "necrosis": "absent", "mitoses": {"count": 2}},
])
@pytest.mark.parametrize("metastatic", [False, True])
def test_result_text_from_pydantic_splits_as_the_dict_does(findings, metastatic):
    """The stored body is the same whether split from pydantic's JSON text (the writers) or from the dict."""
    from leiosurv.registry._clinical_adapter import run_assessment
    from leiosurv.registry.migrations._result_bodies import join_result, split_result

    s = run_assessment(findings, as_of=dt.date(2024, 2, 1), metastatic=metastatic)
    assert split_result(s.result_json) == split_result(s.result)
    assert join_result(*split_result(s.result_json)[1:]) == s.result


def test_migrations_0004_and_0007_keep_results_exactly_up_and_down(db_url):
    """0003 rows keep exactly their result JSON through 0004 (content + dates), 0007 (whole again, the
    content store gone) and back down to 0006 and 0003."""
    import json

    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._clinical_adapter import run_assessment
    from leiosurv.registry._db import _alembic_config
    from leiosurv.registry.migrations._result_bodies import join_result

    res = [run_assessment({"excision_date": d, "depth": "dermal", "margins": "positive"},
                          as_of=dt.date(2024, 2, 1)).result for d in ("2020-01-15", "2021-03-04")]
    res[1] = {**res[1], "registry": {"note": "@not a date", "at": "@0"}}
    eng = make_engine(db_url)
    upgrade(eng, "0003")
    with eng.begin() as c:
        pid, tid = _base(c)
        for seq, r in enumerate(res, start=1):
            aid = c.execute(sa.text(
                "INSERT INTO assessment (tumour_id, seq, assessed_on, reason, ruleset_version, ruleset_hash, "
                "risk_group, plan_basis, plan_start, \"current\", result) VALUES (:t, :s, :d, 'registration', 'v', "
                "'h', 'high', 'b', :d, :cur, :r) RETURNING id"),
                {"t": tid, "s": seq, "d": dt.date(2020, 1, 15), "cur": seq == 2, "r": json.dumps(r)}).scalar()
        c.execute(sa.text("INSERT INTO encounter (patient_id, tumour_id, assessment_id, plan_item, origin, status, "
                          "modality_class, kind, due, window_start, window_end) VALUES (:p, :t, :a, 'x', "
                          "'planned', 'planned', 'clinical', 'visit', :d, :d, :d)"),
                     {"p": pid, "t": tid, "a": aid, "d": dt.date(2030, 1, 1)})
    upgrade(eng, "0006")

    def stored(c):
        return [join_result(b, d) for b, d in c.execute(sa.text(
            "SELECT c.body, a.dates FROM assessment a JOIN assessment_content c ON c.sha256 = a.content "
            "ORDER BY a.seq")).all()]

    with eng.connect() as c:
        assert stored(c) == res
        assert c.execute(sa.text("SELECT count(*) FROM assessment_content")).scalar() == 2
        assert c.execute(sa.text("SELECT count(*) FROM encounter")).scalar() == 1
    with eng.begin() as c, pytest.raises(sa.exc.DBAPIError, match="needs its result"):
        c.execute(sa.text("UPDATE assessment SET dates = NULL"))
    # 0007: the results whole again, exactly; the encounters kept (SQLite recreates the table)
    upgrade(eng)
    r = Registry(db_url)
    assert r.assessment_result("P", "T", 1) == res[0]
    assert r.assessment_result("P", "T") == res[1]
    assert [a.result for a in r.patient_record("P").tumours[0].assessments] == res
    assert r.counts()["encounter"] == 1 and "assessment_content" not in r.counts()
    r.close()
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0006")
    with eng.connect() as c:
        assert stored(c) == res
        assert c.execute(sa.text("SELECT count(*) FROM encounter")).scalar() == 1
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0003")
    with eng.connect() as c:
        got = [json.loads(x) if isinstance(x, str) else x
               for x in c.execute(sa.text("SELECT result FROM assessment ORDER BY seq")).scalars()]
        assert got == res
        assert c.execute(sa.text("SELECT count(*) FROM encounter")).scalar() == 1
    eng.dispose()


def test_result_split_and_join_are_inverse():
    from leiosurv.registry.migrations._result_bodies import join_result, split_result

    r = {"a": "2020-01-01", "b": ["2020-01-01", "2021-02-03", "@x", "@@", "2020-01-01 text"], "c": {"d": 1.5},
         "e": None, "f": True}
    sha, body, dates = split_result(r)
    assert dates == "2020-01-01,2021-02-03" and "2020" not in body.replace("2020-01-01 text", "")
    assert join_result(body, dates) == r
    assert split_result({**r, "a": "2022-05-05", "b": ["2022-05-05", "2023-01-01", "@x", "@@", "2020-01-01 text"]}
                        )[0] == sha  # the same body for other dates


def _split_reference(text: str) -> tuple[str, str]:
    """The body and dates as migration 0004 first defined them (two passes, a check per match): the reference
    the one-pass split is held to."""
    import re

    def opens(t, m):
        return m.start() > 0 and t[m.start() - 1] in ":,[{"

    if '"@' in text:
        text = re.sub(r'"@', lambda m: '"@@' if opens(text, m) else '"@', text)
    dates: list[str] = []

    def placeholder(m):
        if not opens(text, m):
            return m.group(0)
        if m.group(1) not in dates:
            dates.append(m.group(1))
        return f'"@{dates.index(m.group(1))}"'

    return re.sub(r'"(\d{4}-\d{2}-\d{2})"(?=[,:\]}])', placeholder, text), ",".join(dates)


_DATE_LIKE = st.sampled_from(["2020-01-01", "2021-02-03", "1999-12-31", "@", "@@", "@0", "@1x", "x:\"2020-01-01\"",
                              "2020-01-01 text", "[\"2020-01-01\"]", "{\"a\":\"@b\"}", ":", ",", "", "Ödem \\ \""])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _DATE_LIKE | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_DATE_LIKE | st.text(max_size=4), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_result_split_matches_the_reference_and_joins_back(value):
    """The one-pass split gives the reference's body and dates for any JSON (dates and @-strings as values, as
    keys, inside other strings), and join gives the value back."""
    import json

    from leiosurv.registry.migrations._result_bodies import join_result, split_result

    r = {"v": value}
    text = json.dumps(r, separators=(",", ":"), ensure_ascii=False)
    sha, body, dates = split_result(text)
    assert (body, dates) == _split_reference(text)
    assert join_result(body, dates) == r


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL keeps its lists (0006 is SQLite's)
def test_migration_0006_rewrites_sqlite_value_lists_as_comparisons_and_back(db_url):
    """0006 says each CHECK's list of allowed values as comparisons (SQLite builds a temporary index for a
    list on every row); the data stays, the database refuses what it refused, and the downgrade gives back
    exactly the definitions it had."""
    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._db import _alembic_config

    def tables():
        with eng.connect() as c:
            return dict(c.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())

    eng = make_engine(db_url)
    upgrade(eng, "0005")
    with eng.begin() as c:
        pid, _tid = _base(c)
    before = tables()
    assert "status IN ('planned', 'done', 'missed', 'cancelled')" in before["encounter"]
    upgrade(eng, "0006")
    after = tables()
    assert "(status = 'planned' OR status = 'done' OR status = 'missed' OR status = 'cancelled')" in after["encounter"]
    assert not [t for t, sql in after.items() if " IN (" in sql.replace("NOT IN (", "")]
    later = {"study_run", "study_run_file"}  # tables of revisions after 0006 (0011)
    assert set(after) - later == set(before) and after["alembic_version"] == before["alembic_version"]
    with eng.connect() as c:
        assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    with eng.connect() as c:  # the data stays (0006 alone: later revisions have up/down tests of their own)
        assert c.exec_driver_sql("SELECT count(*) FROM tumour").scalar() == 1
    for mc, ok in (("xray", False), ("biopsy", True)):  # refused and accepted as before
        with eng.begin() as c:
            ins = sa.insert(T.encounter).values(patient_id=pid, origin="ad_hoc", status="cancelled", kind="visit",
                                                modality_class=mc)
            if ok:
                c.execute(ins)
            else:
                with pytest.raises(sa.exc.IntegrityError, match="ck_encounter_modality_class"):
                    c.execute(ins)
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0005")
    assert tables() == before
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM encounter").scalar() == 1
    eng.dispose()


def test_0012_history_takes_assessments_keeps_its_rows_and_downgrades_only_without_them(db_url):
    """0012 widens ``record_history.table_name`` to ``assessment``: the rows already there stay; the downgrade
    works without an assessment entry (the rows kept) and refuses while one exists (it would lose it)."""
    import datetime as dt

    from alembic import command

    from leiosurv.registry import make_engine, upgrade
    from leiosurv.registry._db import _alembic_config

    eng = make_engine(db_url)
    upgrade(eng, "0011")
    row = dict(record_id=1, action="voided", reason="r", by_user="u", at=dt.datetime.now(dt.UTC),
               entered_on=dt.date(2024, 1, 1), previous={"kind": "visit"})
    with eng.begin() as c:
        pid, _tid = _base(c)
        c.execute(sa.insert(T.record_history).values(patient_id=pid, table_name="encounter", **row))
        with pytest.raises(sa.exc.IntegrityError):
            with c.begin_nested():
                c.execute(sa.insert(T.record_history).values(patient_id=pid, table_name="assessment", **row))
    kept = [("encounter", {"kind": "visit"})]
    upgrade(eng)
    with eng.begin() as c:
        assert c.execute(sa.select(T.record_history.c.table_name, T.record_history.c.previous)).all() == kept
        command.downgrade(_alembic_config(c), "0011")
    with eng.begin() as c:
        assert c.execute(sa.select(T.record_history.c.table_name, T.record_history.c.previous)).all() == kept
        c.execute(sa.delete(T.record_history))  # 0011 did not keep the history from being changed
    upgrade(eng)
    with eng.begin() as c:
        c.execute(sa.insert(T.record_history).values(patient_id=pid, table_name="assessment", **row))
    with pytest.raises(RuntimeError, match="holds voided assessments"):
        with eng.begin() as c:
            command.downgrade(_alembic_config(c), "0011")
    eng.dispose()


@pytest.mark.parametrize("table", ["record_history", "identity_history"])
def test_the_history_is_append_only_in_the_database(reg, table):
    """0012: the database refuses to change or remove an entry of the history (UPDATE, DELETE; TRUNCATE on
    PostgreSQL), whoever writes, as it refuses it for the audit trail."""
    import datetime as dt

    reg.add_patient("P", name="Ann Example")
    reg.correct("P", "identity", name="Ann Other", reason="typo", by="clerk", as_of=dt.date(2024, 6, 1))
    reg.correct("P", "patient", sex="female", reason="typo", by="clerk", as_of=dt.date(2024, 6, 1))
    for sql in (f"UPDATE {table} SET reason = 'x'", f"DELETE FROM {table}") + (
            (f"TRUNCATE {table}",) if reg.dialect == "postgresql" else ()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with reg.engine.begin() as c:
                c.exec_driver_sql(sql)
    with reg.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(T.metadata.tables[table])).scalar_one() == 1
