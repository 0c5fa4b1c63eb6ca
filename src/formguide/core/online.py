"""Online features: the champion's point-in-time feature rows and predictions of a window, stored ahead of time.

:func:`materialise` runs the serving path itself (``core.serving.serve``: the champion as known at the window's
start, the sport's feature set, a refit as of that day when the champion saw it) and the sport's own
``predictions`` with its default options, then keeps one row per event (or entry) of the window: the feature
values, the event as a user reads it and the rows the store records. Serving a request whose window lies inside
a materialised one then reads those rows (:func:`lookup`) and computes nothing.

Which window: ``as_of=None`` is *upcoming* (from today on, open-ended: every event of the competition timed
today or later, predicted as of today, as ``formguide predict`` does by default); an explicit ``as_of`` and
``days`` materialise that window as it was known then (the shared data holds finished seasons only, so this is
how a demo store gets rows). A line holds one window at a time: materialising replaces all of its rows in one
transaction, so rows of events that now have a result (upcoming windows move on) and rows of an older champion
are gone.

Currency: every row carries a token of what it was computed from -- the champion (id and parameters hash), the
sport's last import (every ingest records one), the formguide version. :func:`current_token` reads the same two
rows from the store (about a millisecond; the full ``resultcache.data_signature`` counts costs 85 ms on a
full E0 store), and a row whose token differs is never used. A change that is not an import (rows edited by
hand in SQL) is not seen; ``formguide materialise`` rebuilds.

Backends (:class:`OnlineStore`): the store's ``online_features`` table (always written) and, when
``FORMGUIDE_REDIS_URL`` is set, Redis as a mirror that reads are served from. Redis keeps a meta key per line
(token, window, generation, row counts per day) and the rows of each day of the window in a hash under the
generation; a new materialisation writes a new generation and then swaps the meta key, so a reader sees the old
rows or the new ones, never a mix, and rows whose token is not the store's current one are never read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
import weakref
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, func, select

from formguide.core.jsonio import to_jsonable
from formguide.core.options import SportOptions
from formguide.core.serving import serve
from formguide.core.sport import ForecastRow, Sport
from formguide.core.store.db import redact_url, session_scope
from formguide.core.store.models import Event, ImportRecord, ModelRecord, OnlineFeature, Prediction

__all__ = ["OnlineMeta", "OnlineRow", "OnlineStore", "RedisStore", "TableStore", "current_state", "current_token",
           "lookup",
           "materialise", "record_once", "stores_for"]

log = logging.getLogger("formguide.online")

#: An upcoming window is open-ended: this many days stand for "from today on" where a number is needed.
OPEN_DAYS = 366 * 100


def _now() -> datetime:
    return pd.Timestamp.now("UTC").tz_localize(None).to_pydatetime()


def today() -> pd.Timestamp:
    """The start of an upcoming window (a request naming no date is as of it too)."""
    return pd.Timestamp.now().normalize()


@dataclass
class OnlineMeta:
    """What one materialisation of a line was: window, champion, token and how many rows each day holds."""

    sport: str
    line: str
    competition: str
    model_id: int
    token: str
    label: str
    refitted: str | None
    feature_set_version: str
    as_of: str
    #: End of the window (exclusive, ISO); None for an upcoming (open-ended) window.
    until: str | None
    days: dict[str, int] = field(default_factory=dict)
    generation: str = ""
    materialised_at: str = ""

    def covers(self, as_of: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Whether a request as of ``as_of`` for ``[as_of, end)`` lies inside this window, as of the same moment."""
        return pd.Timestamp(self.as_of) == as_of and (self.until is None or end <= pd.Timestamp(self.until))

    def expected(self, start: pd.Timestamp, end: pd.Timestamp) -> int:
        return sum(n for day, n in self.days.items() if start <= pd.Timestamp(day) < end)


@dataclass
class OnlineRow:
    """One event (or entry) of a materialised window: its features, the event as read, the rows recorded."""

    event_id: int
    entry_id: int
    event_time: str
    position: int
    values: dict[str, Any]
    #: The event as ``predict`` returns it (on the first row of an event; None on its other entries' rows).
    event: dict[str, Any] | None
    stored: list[dict[str, Any]]

    @property
    def day(self) -> str:
        return str(pd.Timestamp(self.event_time).date())


class OnlineStore(Protocol):
    """Where materialised rows live: :meth:`replace` a line's rows at once, :meth:`read` a window of them."""

    def replace(self, meta: OnlineMeta | None, line: str, rows: list[OnlineRow]) -> None: ...

    def read(self, line: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[OnlineMeta, list[OnlineRow]] | None:
        ...

    def meta(self, line: str) -> OnlineMeta | None: ...


# ------------------------------------------------------------------------------------------ currency
def current_token(engine: Engine, sport: str, line: str) -> str | None:
    """The token rows of ``line`` must carry to be current: champion id and hash, last import, code version."""
    return current_state(engine, sport, line)[0]


def current_state(engine: Engine, sport: str, line: str) -> tuple[str | None, str]:
    """(token, stamp of the line's rows in the table: when they were materialised and how many), in one round
    trip (this runs on every request served online). An answer built from rows is reusable while both hold."""
    from formguide import __version__

    last_import = select(func.max(ImportRecord.id)).where(ImportRecord.sport == sport).scalar_subquery()
    when = select(func.max(OnlineFeature.materialised_at)).where(OnlineFeature.line == line).scalar_subquery()
    n = select(func.count(OnlineFeature.id)).where(OnlineFeature.line == line).scalar_subquery()
    with engine.connect() as conn:
        found = conn.execute(select(ModelRecord.id, ModelRecord.artifact_sha256, last_import, when, n)
                             .where(ModelRecord.name == line, ModelRecord.status == "champion")).all()
    if len(found) != 1:
        return None, ""
    model_id, sha, imported, materialised_at, n = found[0]
    return f"{model_id}:{sha}:{int(imported or 0)}:{__version__}", f"{materialised_at}:{n}"


# ------------------------------------------------------------------------------------------ backends
def _decode(data: dict[str, Any], event_id: int, entry_id: int, values: dict[str, Any] | None = None) -> OnlineRow:
    return OnlineRow(event_id=event_id, entry_id=entry_id, event_time=data["event_time"], position=data["position"],
                     values=values if values is not None else data.get("values", {}), event=data.get("event"),
                     stored=data.get("stored", []))


class TableStore:
    """The store's ``online_features`` table (the default backend; always written)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace(self, meta: OnlineMeta | None, line: str, rows: list[OnlineRow]) -> None:
        with session_scope(self.engine) as s:
            s.execute(delete(OnlineFeature).where(OnlineFeature.line == line))
            if meta is None:
                return
            when = pd.Timestamp(meta.materialised_at).to_pydatetime()
            s.add_all([OnlineFeature(
                sport=meta.sport, line=line, event_id=r.event_id, entry_id=r.entry_id,
                feature_set_version=meta.feature_set_version, values=r.values, model_id=meta.model_id,
                prediction={"meta": asdict(meta), "event_time": r.event_time, "position": r.position,
                            "event": r.event, "stored": r.stored}, materialised_at=when) for r in rows])

    def meta(self, line: str) -> OnlineMeta | None:
        with self.engine.connect() as conn:
            data = conn.execute(select(OnlineFeature.prediction).where(OnlineFeature.line == line).limit(1)).scalar()
        return None if data is None else OnlineMeta(**data["meta"])

    def read(self, line: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[OnlineMeta, list[OnlineRow]] | None:
        # the events table's kick-off narrows the rows; the frame's own time (kept in the row) decides
        pad = pd.Timedelta(days=1)
        stmt = (select(OnlineFeature.event_id, OnlineFeature.entry_id, OnlineFeature.prediction)
                .join(Event, Event.id == OnlineFeature.event_id)
                .where(OnlineFeature.line == line, Event.kickoff >= (start - pad).to_pydatetime(),
                       Event.kickoff < (end + pad).to_pydatetime()))
        with self.engine.connect() as conn:
            found = conn.execute(stmt).all()
        if not found:
            return None
        meta = OnlineMeta(**found[0][2]["meta"])
        rows = [_decode(data, int(e), int(n), values={}) for e, n, data in found
                if data["meta"]["generation"] == meta.generation]
        return meta, [r for r in rows if start <= pd.Timestamp(r.event_time) < end]


class RedisStore:
    """A mirror of the rows in Redis (``FORMGUIDE_REDIS_URL``), under a key prefix of its own per store."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.prefix = prefix

    @staticmethod
    def prefix_for(store_url: str) -> str:
        """``formguide:<hash of the store URL>``: two stores sharing a Redis never read each other's rows."""
        return "formguide:" + hashlib.sha256(redact_url(store_url).encode()).hexdigest()[:12]

    def _meta_key(self, line: str) -> str:
        return f"{self.prefix}:meta:{line}"

    def _day_key(self, line: str, generation: str, day: str) -> str:
        return f"{self.prefix}:rows:{line}:{generation}:{day}"

    def replace(self, meta: OnlineMeta | None, line: str, rows: list[OnlineRow]) -> None:
        old = self.meta(line)
        pipe = self.client.pipeline(transaction=True)
        if meta is not None:
            by_day: dict[str, dict[str, str]] = {}
            for r in rows:
                payload = {"event_time": r.event_time, "position": r.position, "values": r.values, "event": r.event,
                           "stored": r.stored}
                by_day.setdefault(r.day, {})[f"{r.event_id}:{r.entry_id}"] = json.dumps(payload)
            for day, fields in by_day.items():
                pipe.hset(self._day_key(line, meta.generation, day), mapping=fields)
            pipe.set(self._meta_key(line), json.dumps(asdict(meta)))  # the swap: readers now see the new rows
        else:
            pipe.delete(self._meta_key(line))
        if old is not None:
            for day in old.days:
                pipe.delete(self._day_key(line, old.generation, day))
        pipe.execute()

    def meta(self, line: str) -> OnlineMeta | None:
        raw = self.client.get(self._meta_key(line))
        return None if raw is None else OnlineMeta(**json.loads(raw))

    def read(self, line: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[OnlineMeta, list[OnlineRow]] | None:
        meta = self.meta(line)
        if meta is None:
            return None
        days = [d for d in meta.days if start - pd.Timedelta(days=1) <= pd.Timestamp(d) < end + pd.Timedelta(days=1)]
        pipe = self.client.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(self._day_key(line, meta.generation, day))
        rows = []
        for found in pipe.execute():
            for key, raw in found.items():
                event_id, entry_id = (int(x) for x in key.decode().split(":"))
                rows.append(_decode(json.loads(raw), event_id, entry_id))
        return meta, [r for r in rows if start <= pd.Timestamp(r.event_time) < end]


def stores_for(engine: Engine, redis_url: str | None, store_url: str) -> list[OnlineStore]:
    """The backends to read from, first first: Redis when configured, then the table."""
    table = TableStore(engine)
    if not redis_url:
        return [table]
    return [RedisStore(redis_url, RedisStore.prefix_for(store_url)), table]


# ------------------------------------------------------------------------------------------ materialise
def _rows(sport: Sport, served: Any, target: np.ndarray, batch: Any) -> list[OnlineRow]:
    """One row per target row of the frame: features, the event (on its first row), its recorded rows."""
    frame, X = served.frame, served.X
    index = np.flatnonzero(target)
    entry_ids = served.entry_ids if served.entry_ids is not None else np.zeros(len(frame), np.int64)
    events = {int(e["event_id"]): e for e in batch.events}
    stored: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in batch.stored:
        stored.setdefault((int(r.event_id), int(r.entry_id)), []).append(to_jsonable(asdict(r)))
    values = to_jsonable(X.iloc[index].to_dict(orient="records"))
    out, seen = [], set()
    for k, i in enumerate(index):
        event_id, entry_id = int(frame[sport.event_column].iat[i]), int(entry_ids[i])
        first = event_id not in seen
        seen.add(event_id)
        out.append(OnlineRow(event_id=event_id, entry_id=entry_id,
                             event_time=pd.Timestamp(frame[sport.time_column].iat[i]).isoformat(), position=int(i),
                             values=values[k], event=events.get(event_id) if first else None,
                             stored=stored.get((event_id, entry_id), [])))
    return out


@dataclass
class Materialised:
    """What one materialisation did (None meta: the window had no events; the line's rows were removed)."""

    line: str
    as_of: pd.Timestamp
    until: pd.Timestamp | None
    meta: OnlineMeta | None
    rows: list[OnlineRow]


def materialise(engine: Engine, sport: Sport, competition: str, line: str, options: SportOptions, *,
                as_of: datetime | pd.Timestamp | None = None, days: int | None = None,
                feature_options: dict[str, Any] | None = None, stores: list[OnlineStore] | None = None,
                frame: pd.DataFrame | None = None) -> Materialised:
    """Compute and keep the rows of ``line``'s window (see the module docstring); every backend replaced."""
    stores = stores or [TableStore(engine)]
    token = current_token(engine, sport.name, line)
    start = today() if as_of is None else pd.Timestamp(as_of).normalize()
    n_days = OPEN_DAYS if as_of is None or days is None else int(days)
    until = None if as_of is None or days is None else start + pd.Timedelta(days=n_days)
    full = sport.load_frame(engine, [competition]).reset_index(drop=True) if frame is None else frame
    window_start, target = sport.prediction_window(full, start, n_days, options)
    meta, rows = None, []
    if token is not None and target.any():
        served = serve(engine, sport, competition, line, window_start, feature_options=feature_options, frame=full)
        batch = sport.predictions(served, target, options)
        rows = _rows(sport, served, target, batch)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.day] = counts.get(r.day, 0) + 1
        meta = OnlineMeta(sport=sport.name, line=line, competition=competition, model_id=served.record.id,
                          token=token, label=served.label, refitted=served.refitted,
                          feature_set_version=served.feature_set_version, as_of=window_start.isoformat(),
                          until=None if until is None else until.isoformat(), days=counts,
                          generation=uuid.uuid4().hex, materialised_at=_now().isoformat())
    for store in reversed(stores):  # the table first: a reader of the mirror may fall back to it
        store.replace(meta, line, rows)
    return Materialised(line=line, as_of=window_start, until=until, meta=meta, rows=rows)


# ------------------------------------------------------------------------------------------ serve
@dataclass
class Hit:
    meta: OnlineMeta
    rows: list[OnlineRow]
    #: Which backend answered ("redis" or "table").
    source: str

    @property
    def events(self) -> list[dict[str, Any]]:
        return [r.event for r in self.rows if r.event is not None]

    @property
    def stored(self) -> list[ForecastRow]:
        return [ForecastRow(**d) for r in self.rows for d in r.stored]


def lookup(engine: Engine, stores: list[OnlineStore], sport: str, line: str, as_of: pd.Timestamp,
           days: int, *, token: str | None = None) -> Hit | None:
    """The stored rows of ``[as_of, as_of + days)`` when they are current and complete; None: compute instead.
    ``token``: the store's current token when the caller has just read it."""
    token = token or current_token(engine, sport, line)
    if token is None:
        return None
    end = as_of + pd.Timedelta(days=days)
    for store in stores:
        try:
            found = store.read(line, as_of, end)
        except Exception as exc:  # noqa: BLE001 - a mirror that is down is not a failed request
            log.warning("online store %s unreadable: %s", type(store).__name__, exc)
            continue
        if found is None:
            continue
        meta, rows = found
        if meta.token != token or not meta.covers(as_of, end) or len(rows) != meta.expected(as_of, end):
            continue
        rows.sort(key=lambda r: r.position)
        return Hit(meta=meta, rows=rows, source="redis" if isinstance(store, RedisStore) else "table")
    return None


# ------------------------------------------------------------------------------------------ recording
#: Forecasts recorded already, per engine (a process may serve several stores, even several in-memory ones).
_recorded: weakref.WeakKeyDictionary[Engine, set[tuple[Any, ...]]] = weakref.WeakKeyDictionary()
_recorded_lock = threading.Lock()


def record_once(engine: Engine, model_id: int, rows: list[ForecastRow], feature_set_version: str,
                as_of: pd.Timestamp) -> int:
    """Record served forecasts in ``predictions`` once per (model, event, entry, market, line, as_of).

    The first time a forecast is served (by this process, or any process before it: the table is asked) it is
    written before the answer goes out; serving it again writes nothing. Returns the number of rows served.
    """
    when = pd.Timestamp(as_of).to_pydatetime()
    keys = {(model_id, when, r.event_id, r.entry_id, r.market, r.line): r for r in rows}
    with _recorded_lock:
        done = _recorded.setdefault(engine, set())
        new = {k: r for k, r in keys.items() if k not in done}
    if not new:
        return len(rows)
    events = sorted({k[2] for k in new})
    with session_scope(engine) as s:
        present = {(model_id, when, e, n, m, ln) for e, n, m, ln in s.execute(
            select(Prediction.event_id, Prediction.entry_id, Prediction.market, Prediction.line)
            .where(Prediction.model_id == model_id, Prediction.as_of == when,
                   Prediction.event_id.in_(events)))}
        s.add_all([Prediction(model_id=model_id, event_id=int(r.event_id), entry_id=int(r.entry_id), market=r.market,
                              line=r.line, feature_set_version=feature_set_version, as_of=when,
                              probabilities=r.probabilities, market_prices=r.market_prices, edge=r.edge,
                              stake=r.stake, selection=r.selection, tier=r.tier)
                   for k, r in new.items() if k not in present])
    with _recorded_lock:
        done.update(new)
        if len(done) > 200_000:  # a long-running server forgets; the table is asked again
            done.clear()
    return len(rows)
