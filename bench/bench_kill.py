"""Kill test of the job queue on PostgreSQL: 20 training tasks, 2 ``formguide worker`` processes, one of them
``kill -9``'d twice in the middle of a training run (and restarted after each kill).

Builds a private PostgreSQL schema and a small football store in code (league E0, 10 teams, 4 double
round-robin seasons from ``tests/core/test_concurrent_writers.write_league``), queues 20 ``train`` tasks
(``--force``, model types elo / poisson / dixon-coles in turn, each a few seconds), starts two workers with
a short lease (``--lease``, default 5 s), and kills worker 0 with SIGKILL while it is in a task's walk-forward
once ``--first-kill`` and again once ``--second-kill`` tasks have completed. At the end it checks that

- every task is ``completed`` (the killed ones on a later attempt),
- none ran twice to completion: exactly one succeeded training run and one model version per task (the
  tasks' ``run_id``\\ s are distinct; the interrupted attempts registered nothing),
- no training run is left ``running`` (the killed ones are ``interrupted``), no staging folder is left in
  the artifacts folder, and every published model folder belongs to a registered version,

and prints a summary table and one row per kill (the phase and progress the killed task's row held, which
lag the run by up to a heartbeat tick; how long until another worker took it back and completed it). A
staging folder of a run killed between staging and publishing is swept by a worker once 120 s old, so when
one is left the bench waits 125 s and checks again (the table shows both). Exit status 1 when a check fails.

Usage: ``python bench/bench_kill.py [--pg-url postgresql://postgres@127.0.0.1:5432/test] [--tasks 20]
[--lease 5] [--json out.json]`` (``FORMGUIDE_TEST_PG_URL`` is the default URL); ``--sqlite``: the same on a
SQLite file (the embedded default).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src"), str(Path(__file__).parent)]

from sqlalchemy import create_engine, text  # noqa: E402

from _common import format_table  # noqa: E402

MODEL_TYPES = ("elo", "poisson", "dixon-coles")


def _schema_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


class Workers:
    """``formguide worker`` subprocesses on one store; worker ``i`` can be killed and restarted."""

    def __init__(self, url: str, artifacts: Path, home: Path, lease: float, n: int = 2) -> None:
        self.url, self.artifacts, self.home, self.lease = url, artifacts, home, lease
        self.procs: list[subprocess.Popen] = [self._start(i) for i in range(n)]
        self.started = len(self.procs)

    def _start(self, i: int) -> subprocess.Popen:
        log = open(self.home / f"worker-{i}-{time.monotonic_ns()}.log", "w")  # noqa: SIM115 - lives with the process
        env = {**os.environ, "FORMGUIDE_HOME": str(self.home), "PYTHONPATH": str(REPO / "src")}
        return subprocess.Popen([sys.executable, "-m", "formguide.cli", "worker", "--poll", "0.2", "--lease",
                                 str(self.lease), "--db", self.url, "--artifacts", str(self.artifacts)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, i: int) -> int:
        pid = self.procs[i].pid
        os.kill(pid, signal.SIGKILL)
        self.procs[i].wait()
        self.procs[i] = self._start(i)
        self.started += 1
        return pid

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def _build_store(url: str, tmp: Path, n_tasks: int) -> tuple[list[int], float]:
    """Ingest the generated league and queue the training tasks; their ids and the ingest seconds."""
    from tests.core.test_concurrent_writers import write_league

    from formguide import app
    from formguide.app.tasks import submit_train

    folder = write_league(tmp / "data", divisions=("E0",), seasons=4)
    with app.Context.from_options(db_url=url, artifacts_dir=tmp / "artifacts") as ctx:
        start = time.perf_counter()
        ingested = app.ingest(ctx, app.IngestRequest(sport="football", paths=[folder]))
        seconds = time.perf_counter() - start
        assert ingested.files_rejected == 0 and ingested.inserted == 4 * 90, ingested.messages
        ids = [submit_train(ctx, app.TrainRequest(sport="football", competition="E0", force=True,
                                                  model_type=MODEL_TYPES[i % len(MODEL_TYPES)])).task_id
               for i in range(n_tasks)]
    return ids, seconds


def _tasks(conn) -> list[dict[str, Any]]:
    rows = conn.execute(text("SELECT id, status, attempts, lease_owner, phase, progress, result, error, "
                             "started_at, completed_at FROM tasks ORDER BY id")).mappings().all()
    out = [dict(r) for r in rows]
    for t in out:  # JSON comes back as text from SQLite's raw rows
        if isinstance(t["result"], str):
            t["result"] = json.loads(t["result"])
    return out


def _victim_task(conn, pid: int) -> dict[str, Any] | None:
    """The task worker ``pid`` is running, once it is inside the training (past validation)."""
    from formguide.core.heartbeat import HOST

    for t in _tasks(conn):
        if t["status"] == "running" and (t["lease_owner"] or "").startswith(f"{HOST}:{pid}:") and \
                (t["progress"] or 0) >= 0.05:
            return t
    return None


def _watch(engine, workers: Workers, kill_after: list[int], timeout: float) -> list[dict[str, Any]]:
    """Poll the queue until every task is finished, killing worker 0 mid-task at each threshold."""
    kills: list[dict[str, Any]] = []
    pending = list(kill_after)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with engine.connect() as conn:
            rows = _tasks(conn)
            done = sum(t["status"] == "completed" for t in rows)
            if pending and done >= pending[0]:
                victim = _victim_task(conn, workers.procs[0].pid)
                if victim is not None:
                    pid = workers.kill(0)
                    kills.append({"kill": len(kills) + 1, "after_completed": done, "pid": pid,
                                  "owner": victim["lease_owner"].rsplit(":", 1)[0] + ":",
                                  "task": victim["id"], "phase": victim["phase"],
                                  "progress": round(float(victim["progress"] or 0), 3), "at": time.monotonic()})
                    pending.pop(0)
            for k in kills:
                t = next(t for t in rows if t["id"] == k["task"])
                taken_back = t["status"] != "running" or not (t["lease_owner"] or "").startswith(k["owner"])
                if "requeued_s" not in k and taken_back:
                    k["requeued_s"] = round(time.monotonic() - k["at"], 1)
                if "completed_s" not in k and t["status"] == "completed":
                    k["completed_s"] = round(time.monotonic() - k["at"], 1)
        if all(t["status"] in ("completed", "failed", "cancelled") for t in rows) and not pending:
            return kills
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout} s: {[(t['id'], t['status']) for t in rows]}")


def _check(engine, artifacts: Path, ids: list[int], kills: list[dict[str, Any]]) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = [t for t in _tasks(conn) if t["id"] in ids]
        runs = dict(conn.execute(text("SELECT status, COUNT(*) FROM training_runs WHERE run_type = 'train' "
                                      "GROUP BY status")).all())
        models = conn.execute(text("SELECT COUNT(*) FROM models")).scalar()
        versions = {int(v) for (v,) in conn.execute(text("SELECT version FROM models WHERE name = 'football-E0'"))}
    run_ids = [t["result"]["run_id"] for t in rows if t["result"]]
    staging = sorted(p.name for p in (artifacts / "models").glob(".staging-*"))
    folders = {p.name for p in (artifacts / "models").iterdir() if not p.name.startswith(".")}
    killed = {k["task"] for k in kills}
    return {
        "tasks": len(rows), "completed": sum(t["status"] == "completed" for t in rows),
        "errors of tasks not completed": sorted({str(t["error"])[:300] for t in rows if t["status"] != "completed"}),
        "killed tasks completed on attempt 2": sum(t["attempts"] == 2 and t["status"] == "completed"
                                                   for t in rows if t["id"] in killed),
        "other tasks on attempt 1": sum(t["attempts"] == 1 for t in rows if t["id"] not in killed),
        "distinct run ids of the tasks": len(set(run_ids)),
        "succeeded training runs": int(runs.get("succeeded", 0)), "interrupted training runs": int(
            runs.get("interrupted", 0)), "running training runs": int(runs.get("running", 0)),
        "model versions": int(models), "model folders": len(folders),
        "folders without a version": sorted(folders - {f"football-E0-v{v}" for v in versions}),
        "staging folders left": staging,  # at the end (after the sweep when there were some)
    }


@contextmanager
def _store(pg_url: str | None, tmp: Path) -> Iterator[tuple[str, str]]:
    """A fresh store: a private PostgreSQL schema (dropped afterwards), or a SQLite file when ``pg_url`` is
    None; (the URL the workers get, the SQLAlchemy URL the bench reads with)."""
    if pg_url is None:
        url = f"sqlite:///{tmp / 'store.sqlite'}"
        yield url, url
        return
    base = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"kill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(pg_url, schema), _schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _passed(facts: dict[str, Any], n_tasks: int, kills: list[dict[str, Any]], planned: int) -> bool:
    return (facts["completed"] == n_tasks and facts["distinct run ids of the tasks"] == n_tasks
            and facts["succeeded training runs"] == n_tasks and facts["model versions"] == n_tasks
            and facts["model folders"] == n_tasks and facts["running training runs"] == 0
            and facts["interrupted training runs"] == len(kills) and not facts["staging folders left"]
            and not facts["folders without a version"] and len(kills) == planned
            and facts["killed tasks completed on attempt 2"] == len(kills))


def run(pg_url: str | None, n_tasks: int = 20, lease: float = 5.0, kill_after: tuple[int, int] = (4, 11),
        timeout: float = 900.0) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    """The kill test (on SQLite when ``pg_url`` is None); (summary rows, kill rows, every check passed)."""
    tmp = Path(tempfile.mkdtemp(prefix="formguide-kill-"))
    workers = None
    with _store(pg_url, tmp) as (url, read_url):
        try:
            ids, ingest_s = _build_store(url, tmp, n_tasks)
            engine = create_engine(read_url)
            start = time.monotonic()
            workers = Workers(url, tmp / "artifacts", tmp, lease)
            kills = _watch(engine, workers, list(kill_after), timeout)
            wall = time.monotonic() - start
            facts = _check(engine, tmp / "artifacts", ids, kills)
            at_end = facts["staging folders left"]
            if at_end:  # a kill between staging and publishing: a worker sweeps it once it is 120 s old
                time.sleep(125)
                facts = _check(engine, tmp / "artifacts", ids, kills)
            facts["staging folders when all finished (swept after 120 s)"] = at_end
            engine.dispose()
        finally:
            if workers is not None:
                workers.stop()
    ok = _passed(facts, n_tasks, kills, len(kill_after))
    summary = [{"what": "store", "value": "PostgreSQL" if pg_url else "SQLite"}]
    summary += [{"what": k, "value": v if not isinstance(v, list) else (", ".join(v) or "none")}
                for k, v in facts.items()]
    summary += [{"what": "workers started (2 + restarts)", "value": workers.started},
                {"what": "lease (s)", "value": lease}, {"what": "ingest (s)", "value": round(ingest_s, 2)},
                {"what": "wall: workers start to all finished (s)", "value": round(wall, 1)},
                {"what": "all checks passed", "value": ok}]
    for k in kills:
        k.pop("at"), k.pop("owner")
    return summary, kills, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("FORMGUIDE_TEST_PG_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--sqlite", action="store_true", help="Run it on a SQLite file instead.")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    summary, kills, ok = run(None if args.sqlite else args.pg_url, args.tasks, args.lease)
    print(format_table(summary))
    print()
    print(format_table(kills))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "kills": kills, "ok": ok}, indent=2,
                                              default=str) + "\n")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
