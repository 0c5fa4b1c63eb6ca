"""The job queue on the store's tasks table, and training runs whose process died.

Real SQLite and (with ``FORMGUIDE_TEST_PG_URL``) real PostgreSQL; the training tasks run the contract test's
"duel" sport, whose model can be made slow (``DUEL_FIT_SLEEP`` seconds per fit) so a test can stop a run in
the middle. Worker and ``formguide train`` processes are real subprocesses killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from tests.test_contract_sport import DuelModel, DuelSport, write_duels

from formguide import app
from formguide.app import tasks as app_tasks
from formguide.core import tasks
from formguide.core.heartbeat import interrupt_dead_runs, utc_now
from formguide.core.registry import finish_run, start_run
from formguide.core.sport import register_sport, unregister_sport
from formguide.core.store.db import make_engine, open_store, session_scope
from formguide.core.store.models import ModelRecord, Task, TrainingRun

ROOT = Path(__file__).resolve().parents[2]


class SlowDuelModel(DuelModel):
    def fit(self, frame, X):
        time.sleep(float(os.environ.get("DUEL_FIT_SLEEP", "0")))
        return super().fit(frame, X)


class SlowDuel(DuelSport):
    def make_model(self, model_type, **params):
        return SlowDuelModel(**params)


#: A subprocess running the CLI with the slow duel sport registered (what the console script does).
DRIVER = ("import sys; sys.path.insert(0, {root!r}); from tests.core.test_tasks import SlowDuel; "
          "from formguide.core.sport import register_sport; register_sport('duel', SlowDuel); "
          "from formguide.cli import main; sys.argv = ['formguide'] + sys.argv[1:]; main()")


def cli_process(*args: str, sleep: float = 0.0, stdout_to=None) -> subprocess.Popen:
    env = {**os.environ, "DUEL_FIT_SLEEP": str(sleep)}
    return subprocess.Popen([sys.executable, "-c", DRIVER.format(root=str(ROOT)), *args], env=env, cwd=ROOT,
                            stdout=stdout_to or subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(check, timeout: float = 60.0, every: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {check.__doc__ or check}")


@pytest.fixture
def duel():
    register_sport("duel", SlowDuel)
    yield
    unregister_sport("duel")


@pytest.fixture
def duel_ctx(duel, db_url, tmp_path):
    ctx = app.Context.from_options(db_url=db_url, artifacts_dir=tmp_path / "artifacts")
    with ctx:
        app.ingest(ctx, app.IngestRequest(sport="duel", paths=[write_duels(tmp_path / "duels.csv")]))
        yield ctx


def task_row(engine, task_id: int) -> Task:
    return tasks.get(engine, task_id)


# ------------------------------------------------------------------------------------------ the queue
def test_two_concurrent_claimers_never_take_the_same_task(db_url):
    engine = open_store(db_url)
    ids = [tasks.enqueue(engine, "train", {"n": i}).id for i in range(30)]
    got: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claimer(name: str) -> None:
        own = make_engine(db_url)  # its own connections, as another process has
        try:
            start.wait()
            while (task := tasks.claim(own, f"worker-{name}", lease_s=30)) is not None:
                got[name].append(task.id)
        finally:
            own.dispose()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    claimed = got["a"] + got["b"]
    assert sorted(claimed) == ids  # each task exactly once
    assert got["a"] and got["b"]  # both really competed
    with session_scope(engine) as s:
        rows = list(s.scalars(sa.select(Task)))
    assert {(t.status, t.attempts) for t in rows} == {("running", 1)}
    assert {t.lease_owner for t in rows if t.id in got["a"]} == {"worker-a"}

    # every lease expires; both workers requeue and claim again at once: each task once, attempt 2
    later = utc_now() + timedelta(seconds=60)
    requeued: dict[str, list[int]] = {"a": [], "b": []}
    got = {"a": [], "b": []}
    start = threading.Barrier(2)

    def recoverer(name: str) -> None:
        own = make_engine(db_url)
        try:
            start.wait()
            requeued[name] = tasks.requeue_expired(own, now=later)
            while (task := tasks.claim(own, f"worker-{name}", lease_s=600)) is not None:  # beyond ``later``
                got[name].append(task.id)
        finally:
            own.dispose()

    threads = [threading.Thread(target=recoverer, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(requeued["a"] + requeued["b"]) == ids and sorted(got["a"] + got["b"]) == ids
    with session_scope(engine) as s:
        assert {(t.status, t.attempts) for t in s.scalars(sa.select(Task))} == {("running", 2)}
    engine.dispose()


def test_an_expired_lease_is_requeued_with_its_attempt_counted_then_fails_after_max_attempts(engine):
    task = tasks.enqueue(engine, "train", {"x": 1}, max_attempts=2)
    first = tasks.claim(engine, "w1", lease_s=5)
    assert (first.id, first.status, first.attempts) == (task.id, "running", 1)
    assert tasks.claim(engine, "w2") is None  # nothing else is queued
    assert tasks.requeue_expired(engine) == []  # the lease still holds
    later = utc_now() + timedelta(seconds=10)
    assert tasks.requeue_expired(engine, now=later) == [task.id]
    back = task_row(engine, task.id)
    assert (back.status, back.attempts, back.lease_owner) == ("queued", 1, None)
    assert "requeued after attempt 1" in back.message and "w1" in back.message
    # the dead worker can no longer write to it
    assert not tasks.complete(engine, task.id, "w1", {"done": True})
    second = tasks.claim(engine, "w2", lease_s=5)
    assert (second.id, second.attempts, second.lease_owner) == (task.id, 2, "w2")
    assert tasks.requeue_expired(engine, now=utc_now() + timedelta(seconds=10)) == [task.id]
    failed = task_row(engine, task.id)
    assert failed.status == "failed" and failed.attempts == 2 and failed.completed_at is not None
    assert failed.error.startswith("gave up after 2 attempt(s)") and "w2" in failed.error


def test_cancel_a_queued_task_at_once_a_running_one_at_its_next_step_and_refuse_a_finished_one(engine):
    queued = tasks.enqueue(engine, "train", {})
    assert tasks.cancel(engine, queued.id).status == "cancelled"
    assert tasks.claim(engine, "w") is None  # a cancelled task is never claimed
    with pytest.raises(tasks.TaskStateError, match="already cancelled"):
        tasks.cancel(engine, queued.id)
    with pytest.raises(tasks.TaskNotFound, match="no task with id 999"):
        tasks.cancel(engine, 999)

    running = tasks.enqueue(engine, "train", {})
    claimed = tasks.claim(engine, "w", lease_s=30)
    with tasks.Lease(engine, claimed, "w", lease_s=30, tick=0.05) as lease:
        lease.progress("walk-forward", 0.25)
        wait_for(lambda: task_row(engine, running.id).phase == "walk-forward")  # written by the lease's thread
        assert task_row(engine, running.id).progress == 0.25
        after = tasks.cancel(engine, running.id)
        assert (after.status, after.cancel_requested) == ("running", True)
        lease.progress("fit", 0.5)
        wait_for(lambda: lease.cancel_requested)  # seen with the next write
        with pytest.raises(tasks.TaskCancelled):
            lease.progress("fit", 0.6)
    assert tasks.finish_cancelled(engine, running.id, "w", "stopped")
    assert task_row(engine, running.id).status == "cancelled"
    completed = tasks.enqueue(engine, "train", {})
    tasks.claim(engine, "w")
    assert tasks.complete(engine, completed.id, "w", {"ok": 1})
    with pytest.raises(tasks.TaskStateError, match="already completed"):
        tasks.cancel(engine, completed.id)


def test_a_lease_taken_over_stops_the_old_worker(engine):
    tasks.enqueue(engine, "train", {})
    claimed = tasks.claim(engine, "old", lease_s=30)
    tasks.requeue_expired(engine, now=utc_now() + timedelta(seconds=60))
    tasks.claim(engine, "new", lease_s=30)
    lease = tasks.Lease(engine, claimed, "old", lease_s=30)
    lease.progress("fit", 0.1)
    lease.flush()
    with pytest.raises(tasks.LeaseLost):
        lease.progress("fit", 0.2)
    assert task_row(engine, claimed.id).lease_owner == "new"


# ---------------------------------------------------------------------------------- the worker, in-process
def test_the_worker_runs_a_train_task_with_progress_and_its_result(duel_ctx):
    info = app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel"))
    assert info.status == "queued" and info.request["sport"] == "duel"
    seen: list[tuple[str, float]] = []
    original = tasks.Lease.progress

    def spy(self, phase, fraction):
        seen.append((phase, fraction))
        return original(self, phase, fraction)

    tasks.Lease.progress = spy
    try:
        assert app_tasks.run_worker(duel_ctx, once=True) == 1
    finally:
        tasks.Lease.progress = original
    done = app_tasks.get_task(duel_ctx, info.task_id)
    assert done.status == "completed" and done.progress == 1.0 and done.attempts == 1
    assert done.result["name"] == "duel-DL" and done.result["version"] == 1 and done.result["promoted"]
    assert done.result["model_id"] is not None and "evaluation" in done.result["metrics"]
    phases = list(dict.fromkeys(p for p, _ in seen))
    assert phases[:2] == ["validate", "walk-forward"] and "register" in phases
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)  # the overall fraction only moves forward
    assert app_tasks.run_worker(duel_ctx, once=True) == 0  # nothing left
    assert [t.task_id for t in app_tasks.list_tasks(duel_ctx, "completed")] == [info.task_id]


def test_submit_refuses_what_train_would_refuse(duel_ctx):
    from formguide.core.errors import FormguideError

    with pytest.raises(FormguideError, match="unknown duel league 'XX'"):
        app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel", competition="XX"))
    with pytest.raises(FormguideError, match="unknown duel model 'nope'"):
        app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel", model_type="nope"))
    assert app_tasks.list_tasks(duel_ctx) == []
    with pytest.raises(FormguideError, match="unknown task status 'done'"):
        app_tasks.list_tasks(duel_ctx, "done")


def test_max_runtime_and_cancel_stop_a_running_task_cleanly(duel_ctx, monkeypatch):
    monkeypatch.setenv("DUEL_FIT_SLEEP", "0.3")
    limited = app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel", max_runtime=0.2))
    app_tasks.run_worker(duel_ctx, once=True)
    failed = app_tasks.get_task(duel_ctx, limited.task_id)
    assert failed.status == "failed" and "--max-runtime of 0.2 s" in failed.error

    task = app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel"))
    worker = threading.Thread(target=app_tasks.run_worker, args=(duel_ctx,), kwargs={"once": True})
    worker.start()
    wait_for(lambda: app_tasks.get_task(duel_ctx, task.task_id).phase == "walk-forward")
    app_tasks.cancel_task(duel_ctx, task.task_id)
    worker.join(60)
    cancelled = app_tasks.get_task(duel_ctx, task.task_id)
    assert cancelled.status == "cancelled" and "was cancelled" in cancelled.error
    with session_scope(duel_ctx.engine) as s:
        assert s.scalar(sa.select(sa.func.count(ModelRecord.id))) == 0  # nothing registered
        runs = [(r.status, r.error_message) for r in s.scalars(sa.select(TrainingRun).order_by(TrainingRun.id))]
    assert [r[0] for r in runs] == ["failed", "cancelled"] and "max-runtime" in runs[0][1]


def test_a_stopped_worker_gives_its_task_back_and_its_run_is_interrupted(duel_ctx, monkeypatch):
    task = app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel"))
    original = app_tasks.HANDLERS["train"]

    def stopped_at_walk_forward(ctx, request, progress):
        def report(phase, fraction):
            if phase == "walk-forward":
                raise app_tasks.WorkerStopped("signal 15")  # what SIGTERM raises in the worker
            progress(phase, fraction)
        return original(ctx, request, report)

    monkeypatch.setitem(app_tasks.HANDLERS, "train", stopped_at_walk_forward)
    with pytest.raises(KeyboardInterrupt):
        app_tasks.run_worker(duel_ctx, once=True)
    back = app_tasks.get_task(duel_ctx, task.task_id)
    assert (back.status, back.attempts, back.message) == ("queued", 1, "the worker was stopped; requeued")
    with session_scope(duel_ctx.engine) as s:
        (run,) = s.scalars(sa.select(TrainingRun)).all()
    assert run.status == "interrupted" and "WorkerStopped" in run.error_message
    monkeypatch.setitem(app_tasks.HANDLERS, "train", original)
    app_tasks.run_worker(duel_ctx, once=True)  # the next worker finishes it
    done = app_tasks.get_task(duel_ctx, task.task_id)
    assert (done.status, done.attempts) == ("completed", 2)


def test_formguide_worker_once_runs_a_task_and_refuses_bad_flags_in_one_line(duel_ctx, db_url, tmp_path, capsys):
    from tests.helpers import run_cli

    bad = run_cli(["worker", "--once", "--poll", "0", "--db", db_url], capsys)
    assert bad.code == 2 and bad.err.strip().splitlines() == [
        "error: --poll and --lease must be positive seconds, got 0.0 and 60.0"]
    task = app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel"))
    ran = run_cli(["worker", "--once", "--db", db_url, "--artifacts", tmp_path / "artifacts"], capsys)
    assert ran.code == 0 and ran.out.startswith(f"task {task.task_id} completed: duel-DL v1")
    assert run_cli(["worker", "--once", "--db", db_url], capsys).out == ""  # nothing queued: exits at once


def test_staging_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path):
    models = tmp_path / "models"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    dead = models / f".staging-duel-DL-v1-{dead_pid}-abcd1234"
    young = models / f".staging-duel-DL-v2-{dead_pid}-abcd5678"
    live = models / f".staging-duel-DL-v3-{os.getpid()}-abcd9999"
    for folder in (dead, young, live):
        folder.mkdir(parents=True)
        (folder / "MODEL_CARD.md").write_text("half")
    old = time.time() - 600
    for folder in (dead, live):
        os.utime(folder, (old, old))
    assert app_tasks.sweep_staging(tmp_path) == [dead]
    assert not dead.exists() and young.exists() and live.exists()


# ----------------------------------------------------------------------------------- processes killed -9
def test_a_worker_killed_mid_task_is_requeued_and_completed_by_another_with_nothing_half_written(duel_ctx,
                                                                                                  db_url, tmp_path):
    art = str(tmp_path / "artifacts")
    task = app_tasks.submit_train(duel_ctx, app.TrainRequest(sport="duel"))
    first = cli_process("worker", "--db", db_url, "--artifacts", art, "--poll", "0.1", "--lease", "2", sleep=2.0)
    try:
        wait_for(lambda: app_tasks.get_task(duel_ctx, task.task_id).phase == "walk-forward", timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert app_tasks.get_task(duel_ctx, task.task_id).status == "running"  # nobody has noticed yet
    log = tmp_path / "second.out"
    with log.open("w") as fh:
        second = cli_process("worker", "--db", db_url, "--artifacts", art, "--poll", "0.1", "--lease", "2",
                             stdout_to=fh)
        try:
            done = wait_for(lambda: (t := app_tasks.get_task(duel_ctx, task.task_id)).status in tasks.FINISHED and t,
                            timeout=120)
            wait_for(lambda: "\n" in log.read_text())  # the worker's line about it
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=30)
    assert done.status == "completed", (done.error, err)
    assert done.attempts == 2 and done.result["version"] == 1
    assert log.read_text().startswith(f"task {task.task_id} completed: duel-DL v1")
    assert second.returncode == 130 and "interrupted" in err  # SIGTERM: stopped between tasks
    with session_scope(duel_ctx.engine) as s:
        models = [(m.name, m.version, m.status) for m in s.scalars(sa.select(ModelRecord))]
        runs = [(r.status, r.owner_pid, r.error_message) for r in s.scalars(
            sa.select(TrainingRun).where(TrainingRun.run_type == "train").order_by(TrainingRun.id))]
    assert models == [("duel-DL", 1, "champion")]  # one version, from the second worker
    assert [r[0] for r in runs] == ["interrupted", "succeeded"]
    assert runs[0][1] == first.pid and f"pid {first.pid}" in runs[0][2]
    models_dir = Path(art) / "models"
    assert sorted(p.name for p in models_dir.iterdir()) == ["duel-DL-v1"]  # no staging folder left


def test_a_killed_formguide_train_leaves_its_run_interrupted_once_another_process_opens_the_store(duel_ctx,
                                                                                                   db_url, tmp_path):
    art = str(tmp_path / "artifacts")
    train = cli_process("train", "--sport", "duel", "--db", db_url, "--artifacts", art, sleep=2.0)

    def running():
        """the run to be recorded as running"""
        with session_scope(duel_ctx.engine) as s:
            return s.scalar(sa.select(TrainingRun).where(TrainingRun.status == "running"))

    try:
        run = wait_for(running, timeout=60)
    finally:
        train.send_signal(signal.SIGKILL)
        train.communicate(timeout=30)
    assert (run.owner_pid, run.heartbeat_at is not None) == (train.pid, True)
    with session_scope(duel_ctx.engine) as s:
        assert s.get(TrainingRun, run.id).status == "running"  # what kill -9 left, as before
    listing = cli_process("runs", "list", "--db", db_url, "--json", "-")  # the next process to open the store
    out, err = listing.communicate(timeout=60)
    assert listing.returncode == 0, err
    (row,) = [r for r in json.loads(out) if r["id"] == run.id]
    assert row["status"] == "interrupted" and f"pid {train.pid}" in row["error"] and "is gone" in row["error"]
    assert not list((Path(art) / "models").glob(".staging-*")) if (Path(art) / "models").exists() else True


def test_runs_of_live_processes_are_left_alone_and_stale_ones_of_other_hosts_interrupted(engine):
    live = start_run(engine, sport="duel", run_type="train", model_name="duel-DL", config={})
    other = start_run(engine, sport="duel", run_type="train", model_name="duel-DL", config={})
    legacy = start_run(engine, sport="duel", run_type="train", model_name="duel-DL", config={})
    long_ago = utc_now() - timedelta(days=2)
    with engine.begin() as conn:
        conn.execute(sa.update(TrainingRun).where(TrainingRun.id == other)
                     .values(owner_host="elsewhere", heartbeat_at=utc_now() - timedelta(minutes=5)))
        conn.execute(sa.update(TrainingRun).where(TrainingRun.id == legacy)
                     .values(owner_host=None, owner_pid=None, heartbeat_at=None, started_at=long_ago))
    assert sorted(interrupt_dead_runs(engine)) == sorted([other, legacy])
    with session_scope(engine) as s:
        runs = {r.id: r for r in s.scalars(sa.select(TrainingRun))}
    assert runs[live].status == "running"  # this very process
    assert "no heartbeat from pid" in runs[other].error_message and "elsewhere" in runs[other].error_message
    assert "recorded before run heartbeats existed" in runs[legacy].error_message
    finish_run(engine, live, status="succeeded")
    assert interrupt_dead_runs(engine) == []


# --------------------------------------------------------------------------------------------- migration
def test_a_0005_store_upgrades_with_its_rows_and_a_stuck_run_is_interrupted(db_url):
    from tests.core.test_migrations import _upgrade_to

    engine = make_engine(db_url)
    try:
        _upgrade_to(engine, "0005")
        with engine.begin() as conn:
            for sql in (
                "INSERT INTO models (id, sport, name, version, model_type, status, created_at) VALUES "
                "(1, 'football', 'football-E0', 1, 'dixon-coles', 'champion', '2024-08-16 00:00:00')",
                "INSERT INTO training_runs (id, sport, model_id, model_name, run_type, status, started_at, log_loss) "
                "VALUES (1, 'football', 1, 'football-E0', 'train', 'succeeded', '2024-08-16 00:00:00', 0.97), "
                "(2, 'football', NULL, 'football-E0', 'train', 'running', '2024-08-17 00:00:00', NULL)",
            ):
                conn.execute(text(sql))
    finally:
        engine.dispose()
    engine = open_store(db_url)  # upgrades to 0006, then looks for runs whose process died
    try:
        with session_scope(engine) as s:
            runs = {r.id: r for r in s.scalars(sa.select(TrainingRun))}
            assert (runs[1].status, runs[1].log_loss, runs[1].model_id, runs[1].owner_pid) == ("succeeded", 0.97, 1,
                                                                                               None)
            assert runs[2].status == "interrupted" and "before run heartbeats existed" in runs[2].error_message
            assert [m.name for m in s.scalars(sa.select(ModelRecord))] == ["football-E0"]
        task = tasks.enqueue(engine, "train", {"sport": "football"})
        assert (task_row(engine, task.id).status, task_row(engine, task.id).cancel_requested) == ("queued", False)
    finally:
        engine.dispose()
