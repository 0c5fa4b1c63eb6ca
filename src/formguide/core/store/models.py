"""SQLAlchemy 2 ORM tables: the one store every sport writes into.

Sport-agnostic by design: a sport is a string column, participants are ``teams`` (clubs, drivers,
constructors: ``kind`` tells), results keep the two-sided score plus a JSON bag of statistics.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Competition(Base):
    __tablename__ = "competitions"
    __table_args__ = (UniqueConstraint("sport", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(128))


class Season(Base):
    __tablename__ = "seasons"
    __table_args__ = (UniqueConstraint("competition_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[datetime | None] = mapped_column(DateTime)
    end_date: Mapped[datetime | None] = mapped_column(DateTime)


class Team(Base):
    """A participant: a club, a driver or a constructor (``kind``)."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("sport", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="team")
    name: Mapped[str] = mapped_column(String(128))
    code: Mapped[str | None] = mapped_column(String(32))
    aliases: Mapped[list[TeamAlias]] = relationship(back_populates="team", cascade="all, delete-orphan")


class TeamAlias(Base):
    __tablename__ = "team_aliases"
    __table_args__ = (UniqueConstraint("sport", "source", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    sport: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))
    alias: Mapped[str] = mapped_column(String(128))
    team: Mapped[Team] = relationship(back_populates="aliases")


class Event(Base):
    """A fixture / match / race. ``external_key`` is the idempotency key of the source."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("sport", "external_key"),
        Index("ix_events_competition_kickoff", "competition_id", "kickoff"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"), index=True)
    external_key: Mapped[str] = mapped_column(String(255))
    kickoff: Mapped[datetime] = mapped_column(DateTime)
    home_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    away_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    row_hash: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())


class Result(Base):
    __tablename__ = "results"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    home_score: Mapped[int | None] = mapped_column(Integer)
    away_score: Mapped[int | None] = mapped_column(Integer)
    ht_home_score: Mapped[int | None] = mapped_column(Integer)
    ht_away_score: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(8))
    stats: Mapped[dict | None] = mapped_column(JSON)


class OddsType(Base):
    """What a price is: bookmaker, market, selection, opening or closing. A few dozen rows per store."""

    __tablename__ = "odds_types"
    __table_args__ = (UniqueConstraint("bookmaker", "market", "selection", "is_closing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bookmaker: Mapped[str] = mapped_column(String(64))
    market: Mapped[str] = mapped_column(String(32))
    selection: Mapped[str] = mapped_column(String(32))
    is_closing: Mapped[bool] = mapped_column(Boolean, default=False)


class Odds(Base):
    """One price: (event, odds type) is the key; the type says bookmaker, market, selection and timing.

    Millions of rows, so each row is three numbers (the strings live once in ``odds_types``) and, on
    SQLite, the table is stored WITHOUT ROWID (one b-tree clustered by event): bulk inserts and
    per-event reads stay cheap. The view ``odds_long`` (created by the migration) gives the rows with
    their strings: ``event_id, bookmaker, market, selection, price, is_closing``.
    """

    __tablename__ = "odds"
    __table_args__ = {"sqlite_with_rowid": False}

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("odds_types.id"), primary_key=True)
    price: Mapped[float] = mapped_column(Float)
    #: The handicap or total the price is for (home side's handicap; the total); None without a line (1X2).
    line: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[OddsType] = relationship(lazy="joined")


class TeamReport(Base):
    """What a source says about one team at one event beyond the score (``kind``: e.g. stats, injuries).

    The NFL keeps each team's per-game statistics and its weekly injury report here as JSON, so a sport
    with team-level reports needs no table of its own; ``row_hash`` tells an unchanged source row from a
    corrected one on re-import.
    """

    __tablename__ = "team_reports"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    data: Mapped[dict | list] = mapped_column(JSON)
    row_hash: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(255))


class ImportRecord(Base):
    """One row per file an ingest looked at, failures included."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    new_teams: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class FeatureSetRecord(Base):
    __tablename__ = "feature_sets"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(96))
    columns: Mapped[list] = mapped_column(JSON)
    definition: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


#: ``entry_id`` of a row about the event as a whole (a football match) rather than one participant of it.
WHOLE_EVENT = 0


class FeatureValue(Base):
    """Feature values of one row of a sport's frame: an event, or one entry (a driver) of a field event."""

    __tablename__ = "feature_values"
    __table_args__ = (UniqueConstraint("feature_set_id", "event_id", "entry_id", name="uq_feature_values_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feature_set_id: Mapped[int] = mapped_column(ForeignKey("feature_sets.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(Integer, default=WHOLE_EVENT, server_default="0")
    values: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class ModelRecord(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    model_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    parameters: Mapped[dict | None] = mapped_column(JSON)
    artifact: Mapped[bytes | None] = mapped_column(LargeBinary)
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict | None] = mapped_column(JSON)
    training_competitions: Mapped[list | None] = mapped_column(JSON)
    training_seasons: Mapped[list | None] = mapped_column(JSON)
    feature_set_version: Mapped[str | None] = mapped_column(String(96))
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))
    config: Mapped[dict | None] = mapped_column(JSON)
    model_card: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime)


class TrainingRun(Base):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    model_name: Mapped[str | None] = mapped_column(String(128))
    run_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    event_count: Mapped[int | None] = mapped_column(Integer)
    date_from: Mapped[datetime | None] = mapped_column(DateTime)
    date_to: Mapped[datetime | None] = mapped_column(DateTime)
    brier: Mapped[float | None] = mapped_column(Float)
    log_loss: Mapped[float | None] = mapped_column(Float)
    rps: Mapped[float | None] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)
    draw_accuracy: Mapped[float | None] = mapped_column(Float)
    ece: Mapped[float | None] = mapped_column(Float)
    #: The sport's own named metrics of the evaluation window (football: rps, log_loss...; F1: win_log_loss...).
    metrics: Mapped[dict | None] = mapped_column(JSON)
    headline_metric: Mapped[str | None] = mapped_column(String(64))
    headline_value: Mapped[float | None] = mapped_column(Float)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))
    config: Mapped[dict | None] = mapped_column(JSON)
    error_message: Mapped[str | None] = mapped_column(Text)
    logs: Mapped[list | None] = mapped_column(JSON)
    #: The process recording the run and when it last said it was alive (0006): a run whose process died is
    #: marked ``interrupted`` by the next process that opens the store (``registry.interrupt_dead_runs``).
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)


class Task(Base):
    """A job for the workers (``core.tasks``): its request, state, progress, result, and the lease of the
    worker running it (renewed by a heartbeat; an expired lease puts the task back in the queue)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    request: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    phase: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Worker(Base):
    """A worker seen alive (0007): its lease owner name, where it runs, its last heartbeat and current task."""

    __tablename__ = "workers"

    owner: Mapped[str] = mapped_column(String(255), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)
    task_id: Mapped[int | None] = mapped_column(Integer)
    tasks_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Schedule(Base):
    """A recurring job (0007): the task ``kind`` and ``request`` the workers queue each time ``cadence`` is due."""

    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("name", name="uq_schedules_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    request: Mapped[dict] = mapped_column(JSON)
    cadence: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_task_id: Mapped[int | None] = mapped_column(Integer)


class OnlineFeature(Base):
    """The latest feature row of an upcoming event (or entry) for one champion line, with the champion's
    prediction for it (0007): what serving reads instead of computing."""

    __tablename__ = "online_features"
    __table_args__ = (UniqueConstraint("line", "event_id", "entry_id", name="uq_online_features_key"),
                      Index("ix_online_features_event", "event_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    line: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(Integer, default=WHOLE_EVENT, server_default="0")
    feature_set_version: Mapped[str | None] = mapped_column(String(96))
    values: Mapped[dict] = mapped_column(JSON)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    prediction: Mapped[dict | None] = mapped_column(JSON)
    materialised_at: Mapped[datetime] = mapped_column(DateTime)


class Prediction(Base):
    """One served forecast of one market of an event (or of one entry of it), with the price and stake."""

    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(Integer, default=WHOLE_EVENT, server_default="0")
    market: Mapped[str] = mapped_column(String(32), default="1x2", server_default="1x2")
    line: Mapped[float | None] = mapped_column(Float)
    feature_set_version: Mapped[str | None] = mapped_column(String(96))
    as_of: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    probabilities: Mapped[dict] = mapped_column(JSON)
    market_prices: Mapped[dict | None] = mapped_column(JSON)
    edge: Mapped[dict | None] = mapped_column(JSON)
    stake: Mapped[float | None] = mapped_column(Float)
    selection: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(4))


class FitCacheEntry(Base):
    """A fitted model kept for reuse, keyed by everything its fit depended on (configuration and data).

    Not a model version: nothing here is a champion or shows in ``models list``. The serving layer keeps
    a champion refitted as of a date here, the F1 season pipeline its block fits.
    """

    __tablename__ = "fit_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    model_type: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict] = mapped_column(JSON)
    parameters_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime] = mapped_column(DateTime)


class ServedResult(Base):
    """A served use case's result (a day's predictions, a season simulation) kept for the same request.

    The key covers the request, the champion (id and hash), the store's data signature and the code version,
    so any change to what the result depends on makes a new key; stale rows are never read, only replaced.
    """

    __tablename__ = "served_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sport: Mapped[str] = mapped_column(String(32))
    use_case: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime] = mapped_column(DateTime)


class Entry(Base):
    """One participant's result in one session of a many-competitor event (a race, its qualifying, a sprint).

    ``driver_id`` is the competitor, ``constructor_id`` the team entering them (both ``teams`` rows);
    ``position`` is the total finishing order, ``position_text`` the source's classification ("1", "R",
    "D", ...). Session-specific values (qualifying lap times) are columns; anything else goes in
    ``details``. ``row_hash`` tells an unchanged source row from a corrected one.
    """

    __tablename__ = "entries"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    session: Mapped[str] = mapped_column(String(16), primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True, index=True)
    constructor_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    grid: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(Integer)
    position_text: Mapped[str | None] = mapped_column(String(8))
    points: Mapped[float | None] = mapped_column(Float)
    laps: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(64))
    milliseconds: Mapped[int | None] = mapped_column(Integer)
    q1_ms: Mapped[int | None] = mapped_column(Integer)
    q2_ms: Mapped[int | None] = mapped_column(Integer)
    q3_ms: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict | None] = mapped_column(JSON)
    row_hash: Mapped[str | None] = mapped_column(String(64))


class Lap(Base):
    """One lap of one competitor in one session: time, tyre and running position.

    Hundreds of thousands of rows, so on SQLite the table is WITHOUT ROWID (clustered by event).
    """

    __tablename__ = "laps"
    __table_args__ = {"sqlite_with_rowid": False}

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    session: Mapped[str] = mapped_column(String(16), primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    lap: Mapped[int] = mapped_column(Integer, primary_key=True)
    lap_time_ms: Mapped[int | None] = mapped_column(Integer)
    compound: Mapped[str | None] = mapped_column(String(16))
    tyre_life: Mapped[int | None] = mapped_column(Integer)
    stint: Mapped[int | None] = mapped_column(Integer)
    track_status: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int | None] = mapped_column(Integer)
