"""Shared fixtures: real data location and a store on every backend we support.

PostgreSQL runs when ``FORMGUIDE_TEST_PG_URL`` is set (``.ci/run`` sets it); each test gets its own
schema so tests never see each other's rows, and the schema is dropped afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

# Nothing a test runs may write into the user's own formguide home (default store, artifacts, logs).
os.environ["FORMGUIDE_HOME"] = tempfile.mkdtemp(prefix="formguide-test-home-")
os.environ.pop("FORMGUIDE_DB_URL", None)
os.environ.pop("FORMGUIDE_ARTIFACTS", None)

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data"))
FOOTBALL_DIR = DATA_DIR / "football_data"
PG_URL = os.environ.get("FORMGUIDE_TEST_PG_URL")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def football_dir() -> Path:
    if not FOOTBALL_DIR.is_dir():
        pytest.skip(f"real football data not found at {FOOTBALL_DIR} (set FORMGUIDE_DATA)")
    return FOOTBALL_DIR


def _pg_schema_url(schema: str) -> str:
    assert PG_URL is not None
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database URL: SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need FORMGUIDE_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url):
    from formguide.core.store.db import open_store

    eng = open_store(db_url)
    yield eng
    eng.dispose()
