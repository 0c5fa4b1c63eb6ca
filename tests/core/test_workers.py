"""Worker liveness (``core.workers``): a row per worker, heartbeats while idle and busy, the current task and
the count, ``stopped_at`` on a clean stop; a worker killed with SIGKILL stops counting as alive.

Real SQLite and (with ``FORMGUIDE_TEST_PG_URL``) PostgreSQL; the worker runs the contract test's duel sport.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from tests.core.test_tasks import cli_process, duel, duel_ctx, wait_for  # noqa: F401, F811 - fixtures

from formguide import app
from formguide.app import tasks as app_tasks
from formguide.core import workers
from formguide.core.heartbeat import HOST, utc_now
from formguide.core.store.db import session_scope
from formguide.core.store.models import Worker


def _row(engine, owner: str) -> Worker:
    with session_scope(engine) as s:
        row = s.get(Worker, owner)
        assert row is not None, f"no workers row for {owner}"
        return row


def test_a_worker_record_registers_beats_while_busy_and_records_its_clean_stop(engine):
    with workers.WorkerRecord(engine, "host:1:aaaa", interval=0.05) as record:
        first = _row(engine, "host:1:aaaa")
        assert (first.task_id, first.tasks_done, first.stopped_at) == (None, 0, None)
        assert [w.owner for w in workers.alive_workers(engine)] == ["host:1:aaaa"]  # this host and pid
        record.busy(7)
        assert _row(engine, "host:1:aaaa").task_id == 7  # written at once, not at the next beat
        beat = _row(engine, "host:1:aaaa").heartbeat_at
        wait_for(lambda: _row(engine, "host:1:aaaa").heartbeat_at > beat, timeout=10)  # beats while busy
        record.idle()
        row = _row(engine, "host:1:aaaa")
        assert (row.task_id, row.tasks_done) == (None, 1)
    stopped = _row(engine, "host:1:aaaa")
    assert stopped.stopped_at is not None and stopped.tasks_done == 1
    listed = workers.list_workers(engine)
    assert [(w.owner, w.alive) for w in listed] == [("host:1:aaaa", False)]


def test_alive_means_not_stopped_a_recent_heartbeat_and_on_this_host_a_live_pid(engine):
    import os

    now = utc_now()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    rows = [("me", HOST, os.getpid(), now, None), ("silent", HOST, os.getpid(), now - timedelta(seconds=45), None),
            ("stopped", HOST, os.getpid(), now, now), ("dead-pid", HOST, dead_pid, now, None),
            ("elsewhere", "another-host", 4242, now, None)]
    with engine.begin() as conn:
        for owner, host, pid, beat, stopped in rows:
            conn.execute(insert(Worker).values(owner=owner, host=host, pid=pid, started_at=beat, heartbeat_at=beat,
                                               stopped_at=stopped, task_id=None, tasks_done=0))
    assert sorted(w.owner for w in workers.alive_workers(engine, within_s=30)) == ["elsewhere", "me"]
    assert sorted(w.owner for w in workers.alive_workers(engine, within_s=60)) == ["elsewhere", "me", "silent"]
    later = now + timedelta(seconds=31)
    assert [w.owner for w in workers.alive_workers(engine, within_s=30, now=later)] == []
    flags = {w.owner: w.alive for w in workers.list_workers(engine)}
    assert flags == {"me": True, "silent": False, "stopped": False, "dead-pid": False, "elsewhere": True}
    # rows gone for over a week are forgotten when a worker starts
    assert workers.forget_old(engine, now=now + timedelta(days=8)) == 5


def test_beat_makes_the_row_when_the_store_was_unreachable_at_start(engine):
    workers.beat(engine, "late:2:bbbb", task_id=None, tasks_done=0)
    workers.beat(engine, "late:2:bbbb", task_id=3, tasks_done=4)
    row = _row(engine, "late:2:bbbb")
    assert (row.host, row.task_id, row.tasks_done) == (HOST, 3, 4)


def test_the_worker_loop_records_itself_its_task_and_its_stop(duel_ctx):  # noqa: F811
    info = app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel"))
    assert app_tasks.run_worker(duel_ctx, once=True) == 1
    assert app_tasks.get_task(duel_ctx, info.task_id).status == "completed"
    with session_scope(duel_ctx.engine) as s:
        rows = list(s.scalars(select(Worker)))
    assert len(rows) == 1
    row = rows[0]
    assert row.host == HOST and row.tasks_done == 1 and row.task_id is None and row.stopped_at is not None
    assert workers.alive_workers(duel_ctx.engine) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_worker_killed_with_sigkill_stops_counting_as_alive(duel, db_url, tmp_path):  # noqa: F811
    proc = cli_process("worker", "--poll", "0.2", "--db", db_url, "--artifacts", str(tmp_path / "arts"))
    try:
        from formguide.core.store.db import open_store

        engine = open_store(db_url)
        alive = wait_for(lambda: workers.alive_workers(engine), timeout=120)
        assert [w.pid for w in alive] == [proc.pid]
        beat = alive[0].heartbeat_at
        wait_for(lambda: _row(engine, alive[0].owner).heartbeat_at > beat, timeout=30)  # it keeps beating
    finally:
        proc.kill()
        proc.wait(30)
    time.sleep(0.1)
    assert workers.alive_workers(engine) == []  # same host, pid gone: not alive at once
    row = _row(engine, alive[0].owner)
    assert row.stopped_at is None  # it did not stop cleanly; the row says when it was last heard of
    engine.dispose()
