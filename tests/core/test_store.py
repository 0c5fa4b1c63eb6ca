from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from formguide.core.errors import StoreError
from formguide.core.store.db import MIGRATIONS_DIR, open_store, session_scope, table_names
from formguide.core.store.models import Competition, Team

# Tables each migration creates: 0001 the shared schema, 0002 the F1 entries and laps, 0003 the fit cache
# (0003 drops 0001's unused tasks table), 0004 the served results cache, 0005 the team reports, 0006 the job
# queue's tasks table (a new one).
MIGRATION_TABLES = {
    "0001": {"competitions", "seasons", "teams", "team_aliases", "events", "results", "odds_types", "odds",
             "feature_sets", "feature_values", "models", "training_runs", "predictions", "imports"},
    "0002": {"entries", "laps"},
    "0003": {"fit_cache"},
    "0004": {"served_cache"},
    "0005": {"team_reports"},
    "0006": {"tasks"},
}
DROPPED_TABLES: set[str] = set()


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _revision(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_migrations_create_every_table(engine):
    names = set(table_names(engine))
    expected = set().union(*MIGRATION_TABLES.values())
    assert not expected - names, f"tables missing after upgrade: {sorted(expected - names)}"
    assert not DROPPED_TABLES & names
    assert "alembic_version" in names
    assert "odds_long" in inspect(engine).get_view_names()
    assert _revision(engine) == [_head_revision()]
    from formguide.core.store.db import head_revision

    assert head_revision() == _head_revision()  # the quick reading of the files agrees with Alembic


def test_upgrade_is_idempotent(db_url):
    first = open_store(db_url)
    with session_scope(first) as s:
        s.add(Competition(sport="football", code="E0"))
    tables, revision = table_names(first), _revision(first)
    first.dispose()
    eng = open_store(db_url)  # upgrading an up-to-date store again: no error, nothing dropped or re-run
    try:
        assert table_names(eng) == tables
        assert _revision(eng) == revision == [_head_revision()]
        with session_scope(eng) as s:
            assert [c.code for c in s.scalars(select(Competition))] == ["E0"]
    finally:
        eng.dispose()


def test_session_scope_rolls_back_on_error(engine):
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(Competition(sport="football", code="E0"))
        s.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert s.scalars(select(Competition)).all() == []


def test_unique_team_names_per_sport(engine):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add_all([Team(sport="football", kind="team", name="Arsenal"),
                   Team(sport="football", kind="team", name="Arsenal")])


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot reach database"):
        open_store("postgresql://nobody@127.0.0.1:1/none")
