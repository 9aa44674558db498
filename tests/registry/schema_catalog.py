"""The registry's indexes and triggers as the database catalog states them (the fast load mode tests)."""

from __future__ import annotations


def catalog(reg) -> list[tuple]:
    """Every table, index, trigger and foreign key of *reg*'s database with its definition, sorted (SQLite:
    ``sqlite_master``; PostgreSQL: ``pg_indexes``, the non-internal ``pg_trigger`` rows with
    ``pg_get_triggerdef`` and the ``pg_constraint`` rows with ``pg_get_constraintdef``)."""
    with reg.engine.connect() as c:
        if reg.dialect == "sqlite":
            rows = c.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                     "WHERE type IN ('table', 'index', 'trigger')").all()
        else:
            rows = c.exec_driver_sql(
                "SELECT 'index', indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "UNION ALL SELECT 'trigger', g.tgname, t.relname, pg_get_triggerdef(g.oid) FROM pg_trigger g "
                "JOIN pg_class t ON t.oid = g.tgrelid WHERE NOT g.tgisinternal "
                "AND t.relnamespace = current_schema()::regnamespace "
                "UNION ALL SELECT 'constraint', k.conname, t.relname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
                "JOIN pg_class t ON t.oid = k.conrelid WHERE t.relnamespace = current_schema()::regnamespace").all()
    out = sorted(tuple(r) for r in rows)
    assert any(r[0] == "trigger" and r[1].startswith("trg_event_before_diagnosis") for r in out)
    assert any(r[1] == "uq_event_one_death" for r in out)
    assert any("REFERENCES tumour" in (r[3] or "") for r in out)  # the foreign keys are listed
    return out
