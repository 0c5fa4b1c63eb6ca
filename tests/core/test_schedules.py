"""Schedules: cron cadences in UTC, due schedules queued once each however many workers poll at once, missed
runs queued once (not a backlog), and the ingest/predict/refresh/train tasks they queue run by a worker.

Real SQLite and (with ``FORMGUIDE_TEST_PG_URL``) real PostgreSQL; the tasks run the contract test's duel sport.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from tests.test_contract_sport import DuelSport, write_duels

from formguide import app
from formguide.app import scheduling
from formguide.app.job_schemas import ScheduleRequest
from formguide.app.tasks import HANDLERS, run_worker
from formguide.core import schedules, tasks
from formguide.core.errors import FormguideError
from formguide.core.sport import register_sport, unregister_sport
from formguide.core.store.db import make_engine, open_store, session_scope
from formguide.core.store.models import Event, Prediction, Schedule, Task

T0 = datetime(2026, 3, 2, 5, 30)  # a Monday


def test_cron_expressions_are_read_in_utc_and_bad_ones_refused_in_one_line():
    assert schedules.next_run("0 6 * * *", T0) == datetime(2026, 3, 2, 6, 0)
    assert schedules.next_run("0 6 * * *", datetime(2026, 3, 2, 6, 0)) == datetime(2026, 3, 3, 6, 0)  # strictly after
    assert schedules.next_run("0 5 * * mon", T0) == datetime(2026, 3, 9, 5, 0)
    assert schedules.next_run("*/15 * * * *", T0) == datetime(2026, 3, 2, 5, 45)
    assert schedules.next_run("@daily", T0) == datetime(2026, 3, 3, 0, 0)
    assert schedules.parse_cadence("  0  6 * *   * ") == "0 6 * * *"
    for bad in ("", "0 6 * *", "0 25 * * *", "every day", "61 * * * *", "0 6 * * * *"):
        with pytest.raises(FormguideError) as err:
            schedules.parse_cadence(bad)
        assert "\n" not in str(err.value) and "cron" in str(err.value)


def test_a_due_schedule_is_queued_once_and_missed_runs_are_not_a_backlog(engine):
    s = schedules.add(engine, "daily", "ingest", {"sport": "duel"}, "0 6 * * *", now=T0)
    assert s.next_run_at == datetime(2026, 3, 2, 6, 0)
    assert schedules.enqueue_due(engine, now=T0 + timedelta(minutes=29)) == []  # 05:59: not yet
    fired = schedules.enqueue_due(engine, now=datetime(2026, 3, 2, 6, 0, 5))
    assert [(f.schedule, f.next_run_at) for f in fired] == [("daily", datetime(2026, 3, 3, 6, 0))]
    task = tasks.get(engine, fired[0].task_id)
    assert (task.kind, task.status, task.request) == ("ingest", "queued", {"sport": "duel", "schedule": "daily"})
    assert schedules.enqueue_due(engine, now=datetime(2026, 3, 2, 6, 1)) == []  # fired already
    # no worker for four days: one run, and the next one is the cadence's next time after now
    fired = schedules.enqueue_due(engine, now=datetime(2026, 3, 6, 9, 0))
    assert len(fired) == 1 and fired[0].next_run_at == datetime(2026, 3, 7, 6, 0)
    row = schedules.get(engine, "daily")
    assert (row.last_run_at, row.last_task_id) == (datetime(2026, 3, 6, 9, 0), fired[0].task_id)
    assert len(tasks.list_tasks(engine)) == 2


def test_disabled_schedules_wait_and_enabling_does_not_replay_what_was_missed(engine):
    schedules.add(engine, "s", "ingest", {"sport": "duel"}, "0 * * * *", now=T0)
    schedules.set_enabled(engine, "s", False, now=T0)
    assert schedules.get(engine, "s").next_run_at is None
    assert schedules.enqueue_due(engine, now=T0 + timedelta(days=2)) == []
    schedules.set_enabled(engine, "s", True, now=T0 + timedelta(days=2))
    assert schedules.get(engine, "s").next_run_at == datetime(2026, 3, 4, 6, 0)
    fired = schedules.fire(engine, "s", now=T0 + timedelta(days=2))  # `schedule run`: now, cadence unchanged
    assert schedules.get(engine, "s").next_run_at == datetime(2026, 3, 4, 6, 0)
    assert tasks.get(engine, fired.task_id).request["schedule"] == "s"
    with pytest.raises(FormguideError, match="exists already"):
        schedules.add(engine, "s", "ingest", {"sport": "duel"}, "0 * * * *")
    for call in (lambda: schedules.get(engine, "nope"), lambda: schedules.remove(engine, "nope"),
                 lambda: schedules.fire(engine, "nope"), lambda: schedules.set_enabled(engine, "nope", True)):
        with pytest.raises(schedules.ScheduleNotFound, match="no schedule named 'nope'"):
            call()
    schedules.remove(engine, "s")
    assert schedules.list_schedules(engine) == []
    assert len(tasks.list_tasks(engine)) == 1  # its task stays


def test_a_schedule_with_a_bad_stored_cadence_is_skipped_and_the_others_still_fire(engine, caplog):
    schedules.add(engine, "bad", "ingest", {"sport": "duel"}, "0 6 * * *", now=T0)
    schedules.add(engine, "good", "ingest", {"sport": "duel"}, "0 6 * * *", now=T0)
    with session_scope(engine) as s:  # edited by hand
        s.execute(sa.update(Schedule).where(Schedule.name == "bad").values(cadence="0 6 * *"))
    fired = schedules.enqueue_due(engine, now=datetime(2026, 3, 2, 7, 0))
    assert [f.schedule for f in fired] == ["good"]
    assert "schedule bad skipped: bad cron expression" in caplog.text


def test_workers_polling_at_once_queue_each_due_schedule_exactly_once(db_url):
    engine = open_store(db_url)
    n = 25
    for i in range(n):
        schedules.add(engine, f"s{i:02d}", "ingest", {"sport": "duel", "i": i}, "*/5 * * * *", now=T0)
    rounds = [datetime(2026, 3, 2, 5, 35, 1), datetime(2026, 3, 2, 5, 40, 1), datetime(2026, 3, 2, 5, 45, 1)]
    fired: dict[str, list[tuple[str, int]]] = {w: [] for w in "abcd"}
    start = threading.Barrier(len(fired))
    errors: list[BaseException] = []

    def poller(name: str) -> None:
        own = make_engine(db_url)  # its own connections, as another worker process has
        try:
            for now in rounds:
                start.wait()
                fired[name] += [(f.schedule, f.task_id) for f in schedules.enqueue_due(own, now=now)]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            start.abort()
        finally:
            own.dispose()

    threads = [threading.Thread(target=poller, args=(w,)) for w in fired]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    queued = [x for got in fired.values() for x in got]
    assert len(queued) == n * len(rounds)  # each schedule once per round, whoever fired it
    with session_scope(engine) as s:
        rows = s.execute(sa.select(Task.request)).scalars().all()
        assert len(rows) == n * len(rounds)
        per_schedule = s.execute(sa.select(Schedule.name, Schedule.next_run_at)).all()
    assert {r["schedule"] for r in rows} == {f"s{i:02d}" for i in range(n)}
    assert {nxt for _, nxt in per_schedule} == {datetime(2026, 3, 2, 5, 50)}
    engine.dispose()


# ------------------------------------------------------------------------------ the tasks they queue
@pytest.fixture
def duel_ctx(db_url, tmp_path):
    register_sport("duel", DuelSport)
    data = tmp_path / "data"
    data.mkdir()
    write_duels(data / "duel_games.csv")
    ctx = app.Context.from_options(db_url=db_url, artifacts_dir=tmp_path / "artifacts", data_dir=data)
    try:
        with ctx:
            yield ctx
    finally:
        unregister_sport("duel")


def _run_due(ctx) -> list[tasks.Task]:
    """One worker, with every schedule due now: what it ran."""
    with session_scope(ctx.engine) as s:
        s.execute(sa.update(Schedule).values(next_run_at=datetime(2000, 1, 1)))
    ran = []
    while run_worker(ctx, once=True, poll=0.01, lease_s=30, report=ran.append):
        pass
    return ran


def test_scheduled_ingest_train_and_refresh_run_through_a_worker(duel_ctx):
    ctx = duel_ctx
    assert {"train", "ingest", "predict", "refresh"} <= set(HANDLERS)
    scheduling.add_schedule(ctx, ScheduleRequest(name="imp", kind="ingest", sport="duel", cron="0 6 * * *"))
    ran = _run_due(ctx)
    assert [(t.kind, t.status, t.request["schedule"]) for t in ran] == [("ingest", "completed", "imp")]
    assert ran[0].result["inserted"] == 400 and ran[0].result["files"][0]["path"].endswith("duel_games.csv")
    scheduling.remove_schedule(ctx, "imp")

    made = scheduling.add_default_schedules(ctx, "duel")
    assert [(m.name, m.kind, m.cron) for m in made] == [("duel-refresh", "refresh", "0 6 * * *"),
                                                        ("duel-retrain", "train", "0 5 * * 1")]
    with pytest.raises(FormguideError, match="duel-refresh, duel-retrain exists already"):
        scheduling.add_default_schedules(ctx, "duel")
    ran = _run_due(ctx)  # queued in schedule order: the refresh first, before any champion exists
    assert [(t.kind, t.status) for t in ran] == [("refresh", "failed"), ("train", "completed")]
    assert "\n" not in ran[0].error and ran[1].result["status"] == "registered"
    queued = scheduling.run_schedule(ctx, "duel-refresh")
    assert (queued.kind, queued.status, queued.request["schedule"]) == ("refresh", "queued", "duel-refresh")
    refresh = _run_due_one(ctx)
    assert refresh.status == "completed", refresh.error
    assert refresh.result["ingest"]["unchanged"] == 400 and refresh.result["predict"]["competition"] == "DL"
    assert refresh.request == {"sport": "duel", "days": 1, "schedule": "duel-refresh"}
    listed = scheduling.list_schedules(ctx)
    assert [(s.name, s.last_task_status) for s in listed.schedules][0][1] == "completed"
    with session_scope(ctx.engine) as s:
        assert s.scalar(sa.select(sa.func.count(Event.id))) == 400
        assert s.scalar(sa.select(sa.func.count(Prediction.id))) == refresh.result["predict"]["stored"]


def _run_due_one(ctx):
    ran = []
    run_worker(ctx, once=True, poll=0.01, lease_s=30, report=ran.append)
    return ran[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"sport": "nope"}, "nope"),
    ({"cron": "0 6 * *"}, "bad cron expression"),
    ({"kind": "ingest", "competition": "DL"}, "--league and --bet-type do not apply"),
    ({"kind": "train", "paths": ["x.csv"]}, "paths apply to ingest and refresh"),
    ({"bet_type": "spread"}, "spread"),
    ({"name": "two words"}, "no spaces"),
])
def test_a_schedule_that_could_never_run_is_refused_when_added(duel_ctx, kwargs, message):
    request = {"name": "x", "kind": "train", "sport": "duel", "cron": "0 6 * * *", **kwargs}
    with pytest.raises(FormguideError) as err:
        scheduling.add_schedule(duel_ctx, ScheduleRequest(**request))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert scheduling.list_schedules(duel_ctx).schedules == []


def test_ingest_without_paths_or_data_says_where_it_looked(duel_ctx, tmp_path):
    with pytest.raises(FormguideError, match="no data for nothing under"):
        scheduling.default_ingest_paths(duel_ctx, "nothing")
    assert scheduling.default_ingest_paths(duel_ctx, "duel") == [duel_ctx.settings.data / "duel_games.csv"]
