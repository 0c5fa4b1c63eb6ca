"""Engine, sessions and migrations.

The database URL comes from the settings (``core.settings``: ``--db URL``, ``FORMGUIDE_DB_URL``, or the
embedded SQLite file under ``FORMGUIDE_HOME``), so a fresh clone needs no server. Schema changes go through
Alembic only, and run once per process and store (:func:`open_store`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from formguide.core.errors import StoreError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def resolve_url(url: str | None = None) -> str:
    """The URL to use: explicit, else the settings' store (``FORMGUIDE_DB_URL`` or the embedded default)."""
    from formguide.core.settings import load_settings

    return load_settings(db_url=url or None).store_url


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages and ``formguide info``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL that does not parse is shown as given
        return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB page cache: bulk imports touch large b-trees
    cur.close()


def make_engine(url: str | None = None, *, check: bool = True) -> Engine:
    """Create an engine; with ``check`` connect once so an unreachable server fails here, clearly."""
    url = resolve_url(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args=_connect_args(url))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot use database URL {redact_url(url)}: {exc}") from exc
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreError(f"cannot reach database {redact_url(url)}: {reason}") from exc
    return engine


def _connect_args(url: str) -> dict:
    if url.startswith("postgresql"):
        return {"connect_timeout": 5}
    return {}


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str:
    """The newest migration's revision, read from the migration files (no Alembic machinery to load)."""
    import re

    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text_ = path.read_text(encoding="utf-8")
        rev = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", text_, re.M)
        down = re.search(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", text_, re.M)
        if rev:
            revisions.add(rev.group(1))
        if down:
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise StoreError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}); expected one")
    return heads.pop()


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def open_store(url: str | None = None, *, migrate: bool = True) -> Engine:
    """Engine for the store, migrated to the newest schema the first time this process opens it."""
    url = resolve_url(url)
    fresh_file = url.startswith("sqlite") and not _sqlite_file_exists(url)
    engine = make_engine(url)
    if migrate:
        key = engine.url.render_as_string(hide_password=False)
        with _migrate_lock:
            if fresh_file or key not in _migrated:
                if _current_revision(engine) != head_revision():
                    upgrade(engine)
                _migrated.add(key)
                from formguide.core.heartbeat import interrupt_dead_runs

                interrupt_dead_runs(engine)  # runs whose process died are marked interrupted, not running for ever
    return engine


def _sqlite_file_exists(url: str) -> bool:
    path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    return path not in ("", ":memory:") and Path(path).exists()


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back everything on any error."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
