from __future__ import annotations

import pytest
from sqlalchemy import select

from formguide.core.errors import StoreError
from formguide.core.store.db import open_store, session_scope, table_names
from formguide.core.store.models import Competition, Team


def test_migrations_create_every_table(engine):
    names = set(table_names(engine))
    for table in ["competitions", "seasons", "teams", "team_aliases", "events", "results", "odds",
                  "feature_sets", "feature_values", "models", "training_runs", "predictions", "tasks", "imports"]:
        assert table in names


def test_upgrade_is_idempotent(db_url):
    open_store(db_url).dispose()
    eng = open_store(db_url)
    assert "events" in table_names(eng)


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
