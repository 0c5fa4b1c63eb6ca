"""Writers that must take turns: one transaction at a time per lock name, on either backend.

An ingest transaction reads the lookup rows it needs (competition, season, teams, aliases, odds types, the
events already stored) and inserts the missing ones. Two of them at once on PostgreSQL cannot see each
other's uncommitted rows, so both insert the same new rows and the second dies on a unique key when the first
commits (two ``formguide ingest football`` of one folder did exactly that). ``ON CONFLICT DO NOTHING`` would
mend the lookup tables but not the events and their results and prices, which the second transaction would
then write a second time for events it did not see; so instead the transaction takes its turn:

- PostgreSQL: ``pg_advisory_xact_lock`` on a key derived from the name, released at commit or rollback (a
  process that dies releases it with its connection), so the next writer starts after the commit and reads
  what it stored;
- SQLite: ``BEGIN IMMEDIATE``, the database's write lock from the first statement (a deferred transaction
  that read first could not upgrade to a write once another writer had committed: "database is locked").

Only writers of the same name wait for each other; readers and other writers (a training run) go on.
:func:`take_turn_within` is for a transaction that may have begun already: two training runs of one model
line registering at once (two workers) both read the same newest version and the second died on the unique
``(name, version)``; registering takes the line's turn first, so it reads the committed newest version.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

__all__ = ["INGEST", "lock_key", "take_turn", "take_turn_within"]

#: Every sport's ingest transactions share one turn: sports share ``odds_types`` (and the CLI may import two
#: sports at once), and a file's transaction is short, so waiting costs little.
INGEST = "formguide:ingest"


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def take_turn(conn: Connection, name: str = INGEST) -> None:
    """Wait until no other transaction of ``name`` is running, then hold the turn to the end of this one.

    Call it first in the transaction: on SQLite it begins it (``BEGIN IMMEDIATE``), so no statement may have
    run on ``conn`` since its last commit."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    elif dialect == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def take_turn_within(conn: Connection, name: str) -> None:
    """Like :func:`take_turn` where the transaction may have run statements already: PostgreSQL waits for the
    advisory lock; SQLite takes the write lock (``BEGIN IMMEDIATE``) when nothing has run yet, else leaves
    it to the transaction's first write (a begun transaction cannot take it earlier)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    elif conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
