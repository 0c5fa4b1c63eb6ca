"""Served results kept for the same request: serving a day's predictions again reads one row, computes nothing.

A key is a sha256 over the use case, the request, the champion (id and parameters hash), the store's data
signature and the code version. The data signature changes with every import into the sport (the store
records each one) and with the counts of the competition's events, results, prices and entries, so a result
is only reused while nothing it was computed from has changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from formguide.core.fitcache import cache_key
from formguide.core.jsonio import to_jsonable
from formguide.core.store.db import session_scope
from formguide.core.store.models import (
    Competition,
    Entry,
    Event,
    ImportRecord,
    Odds,
    Result,
    ServedResult,
    TeamReport,
)

__all__ = ["data_signature", "get", "key", "put"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def data_signature(engine: Engine, sport: str, competition: str) -> list[int]:
    """What the store holds for a competition, cheaply: the sport's last import and the row counts."""
    with session_scope(engine) as s:
        last_import = s.scalar(select(func.max(ImportRecord.id)).where(ImportRecord.sport == sport)) or 0
        events = (select(Event.id).join(Competition, Competition.id == Event.competition_id)
                  .where(Event.sport == sport, Competition.code == competition)).scalar_subquery()
        counts = [s.scalar(select(func.count()).select_from(table).where(column.in_(events)))
                  for table, column in ((Event, Event.id), (Result, Result.event_id), (Odds, Odds.event_id),
                                        (Entry, Entry.event_id), (TeamReport, TeamReport.event_id))]
    return [int(last_import), *(int(c or 0) for c in counts)]


def key(use_case: str, request: Any, champion: tuple[int, str | None], signature: list[int]) -> str:
    from formguide import __version__

    return cache_key("served", use_case, to_jsonable(request), list(champion), signature, __version__)


def get(engine: Engine, key: str) -> dict[str, Any] | None:
    with session_scope(engine) as s:
        row = s.get(ServedResult, key)
        if row is None:
            return None
        row.used_at = _now()
        return dict(row.data)


def put(engine: Engine, key: str, *, sport: str, use_case: str, data: dict[str, Any]) -> None:
    try:
        with session_scope(engine) as s:
            if s.get(ServedResult, key) is None:
                now = _now()
                s.add(ServedResult(key=key, sport=sport, use_case=use_case, data=to_jsonable(data), created_at=now,
                                   used_at=now))
    except IntegrityError:  # a concurrent writer stored the same result
        return
