"""Time from ``POST /api/v1/models/train`` to the task ``running``: in-process workers vs an external worker.

Builds a tiny football league in code (league FX, 10 teams, three double round-robin seasons with random
scores: no data file is read or committed), ingests it into a fresh temporary SQLite store per setup, then:

1. starts ``formguide serve --workers 1`` and submits ``--n`` Elo training tasks one at a time (each with its
   own ``date_to``, so each really trains), polling ``GET /api/v1/tasks/{id}`` every 10 ms: the time from
   sending the POST to the first poll that sees ``running`` (target < 1 s), and each task's completion;
2. the same with ``formguide serve --workers 0`` and a separate ``formguide worker`` (its default 1 s poll;
   the next POST comes right after the previous task ended, so it lands about one poll after the worker's
   last look).

Usage: ``python bench/bench_task_latency.py [--n 20] [--external-n 20] [--json out.json]``. The times include
the 10 ms polling (a poll sees ``running`` up to 10 ms after it happened).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "formguide.cli"]
TOKEN = "bench-token"
LEAGUE = "FX"
TEAMS = [f"Team {c}" for c in "ABCDEFGHIJ"]
SEASONS = (2021, 2022, 2023)


def write_league(folder: Path, seed: int = 0) -> list[Path]:
    """Three football-data.co.uk style seasons of league FX (teams of fixed strength, Poisson goals)."""
    rng = np.random.default_rng(seed)
    strength = dict(zip(TEAMS, np.linspace(0.4, -0.4, len(TEAMS)), strict=True))
    paths = []
    for start in SEASONS:
        pairs = [(h, a) for h in TEAMS for a in TEAMS if h != a]
        rng.shuffle(pairs)
        first = date(start, 8, 10)
        rows = []
        for i, (home, away) in enumerate(pairs):
            day = first + timedelta(days=i)  # a match a day: each date_to below sees one match less
            hg = int(rng.poisson(np.exp(0.25 + strength[home] - strength[away])))
            ag = int(rng.poisson(np.exp(0.0 + strength[away] - strength[home])))
            rows.append({"Div": LEAGUE, "Date": day.strftime("%d/%m/%Y"), "HomeTeam": home, "AwayTeam": away,
                         "FTHG": hg, "FTAG": ag, "FTR": "H" if hg > ag else "A" if ag > hg else "D"})
        path = folder / f"{LEAGUE}_{str(start)[2:]}{str(start + 1)[2:]}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        paths.append(path)
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(CLI + args, env=env, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_healthy(client: httpx.Client, proc: subprocess.Popen, timeout: float = 180.0) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if client.get("/health").status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer /health within {timeout:g} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT if "serve" in proc.args else signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(client: httpx.Client, n: int, last_day: date) -> list[dict[str, float | str]]:
    """Submit ``n`` tasks one at a time; per task: seconds to running and to its end, its final status and
    whether its run registered a version (a new ``date_to`` each time: new data, no skip as unchanged)."""
    out = []
    for i in range(n):
        body = {"sport": "football", "leagues": [LEAGUE], "model_type": "elo",
                "date_to": (last_day - timedelta(days=i)).isoformat()}
        t0 = time.perf_counter()
        r = client.post("/api/v1/models/train", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        posted = time.perf_counter() - t0
        if r.status_code != 202:
            raise SystemExit(f"POST /models/train answered {r.status_code}: {r.text}")
        task_id, running, seen = r.json()["task_id"], None, "queued"
        while True:
            task = client.get(f"/api/v1/tasks/{task_id}").json()
            seen = task["status"]
            if running is None and seen != "queued":
                running = time.perf_counter() - t0
            if seen in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.01)
        out.append({"post_s": posted, "to_running_s": running, "to_end_s": time.perf_counter() - t0,
                    "status": seen, "run": (task.get("result") or {}).get("status")})
    return out


def summary(label: str, rows: list[dict]) -> dict[str, object]:
    run = [float(r["to_running_s"]) for r in rows]
    end = [float(r["to_end_s"]) for r in rows]
    return {"setup": label, "tasks": len(rows), "completed": sum(r["status"] == "completed" for r in rows),
            "registered": sum(r["run"] == "registered" for r in rows),
            "to_running_median_s": round(statistics.median(run), 4), "to_running_max_s": round(max(run), 4),
            "to_running_min_s": round(min(run), 4), "post_median_s": round(statistics.median(
                float(r["post_s"]) for r in rows), 4), "task_median_s": round(statistics.median(end), 3)}


def run_setup(label: str, tmp: Path, env: dict[str, str], n: int, *, workers: int, external: bool) -> dict:
    db = f"sqlite:///{tmp / f'store-{workers}.sqlite'}"  # a fresh store each: every task trains for real
    subprocess.run(CLI + ["ingest", "football", str(tmp / "data"), "--db", db], env=env, cwd=REPO, check=True,
                   capture_output=True)
    port = _free_port()
    serve = _start(["serve", "--port", str(port), "--workers", str(workers), "--db", db, "--artifacts",
                    str(tmp / "artifacts")], env, tmp / f"serve-{workers}.log")
    worker = None
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            started = _wait_healthy(client, serve)
            if external:
                worker = _start(["worker", "--poll", "1", "--db", db, "--artifacts", str(tmp / "artifacts")], env,
                                tmp / "worker.log")
                t0 = time.perf_counter()
                while client.get("/health").json().get("workers_alive", 0) < 1:
                    if time.perf_counter() - t0 > 120:
                        raise SystemExit("the external worker never showed up in /health")
                    time.sleep(0.2)
            health = client.get("/health").json()
            rows = measure(client, n, date(SEASONS[-1], 8, 10) + timedelta(days=89))  # the last match day
    finally:
        if worker is not None:
            _stop(worker)
        _stop(serve)
    result = summary(label, rows)
    result.update(server_start_s=round(started, 1), workers_alive=health.get("workers_alive"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="tasks with the in-process worker")
    parser.add_argument("--external-n", type=int, default=20, help="tasks with an external worker (0: skip)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="formguide-bench-tasks-") as name:
        tmp = Path(name)
        env = {**os.environ, "FORMGUIDE_API_TOKEN": TOKEN, "FORMGUIDE_HOME": str(tmp / "home")}
        (tmp / "data").mkdir()
        write_league(tmp / "data")
        results = [run_setup("serve --workers 1", tmp, env, args.n, workers=1, external=False)]
        if args.external_n:
            results.append(run_setup("serve --workers 0 + formguide worker --poll 1", tmp, env, args.external_n,
                                     workers=0, external=True))
    for r in results:
        print(json.dumps(r))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
