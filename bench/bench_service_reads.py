"""Measure GET /metrics (median of 50 scrapes) and GET /api/v1/f1/races/2024-22/field (first, then repeated)
on a copy of the demo store served by `formguide serve` over loopback.

    .venv/bin/python bench/bench_service_reads.py [--store var/formguide.sqlite] [--artifacts var/formguide-artifacts]

The store is copied (SQLite backup API) so the demo store is never written. After the plain demo store it adds
1,000 finished and 200 queued tasks and 4 workers to the copy and scrapes again (the demo store has none).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

PORT = 8766


def _copy(src: Path, dst: Path) -> None:
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    with b:
        a.backup(b)
    a.close()
    b.close()


def _wait(client: httpx.Client, proc: subprocess.Popen, limit: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if client.get("/health").status_code == 200:
                return time.perf_counter() - start
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


def _timed(client: httpx.Client, url: str) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    r = client.get(url)
    return time.perf_counter() - t, r


def _scrapes(client: httpx.Client, n: int = 50) -> dict[str, float]:
    took, store = [], []
    for _ in range(n):
        dt, r = _timed(client, "/metrics")
        assert r.status_code == 200, r.text
        took.append(dt)
        line = next(x for x in r.text.splitlines() if x.startswith("formguide_store_scrape_seconds "))
        store.append(float(line.split()[1]))
    took.sort()
    return {"median_ms": 1000 * statistics.median(took), "p90_ms": 1000 * took[int(0.9 * n) - 1],
            "max_ms": 1000 * took[-1], "store_part_median_ms": 1000 * statistics.median(store),
            "bytes": len(r.content)}


def _add_tasks_and_workers(db: Path) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    con = sqlite3.connect(db)
    with con:
        rows = []
        for i in range(1200):
            done = i < 1000
            start = now - timedelta(seconds=3600 - i)
            rows.append(("train", "{}", "completed" if done else "queued", 1.0 if done else 0.0, now.isoformat(" "),
                         start.isoformat(" ") if done else None,
                         (start + timedelta(seconds=5 + i % 300)).isoformat(" ") if done else None))
        con.executemany("INSERT INTO tasks (kind, request, status, progress, created_at, started_at, completed_at, "
                        "attempts, max_attempts, cancel_requested) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 3, 0)", rows)
        con.executemany("INSERT INTO workers (owner, host, pid, started_at, heartbeat_at, tasks_done) "
                        "VALUES (?, 'bench', ?, ?, ?, 0)",
                        [(f"bench:{p}:x", p, now.isoformat(" "), (now - timedelta(seconds=p % 7)).isoformat(" "))
                         for p in range(100, 104)])
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, default=Path("var/formguide.sqlite"))
    ap.add_argument("--artifacts", type=Path, default=Path("var/formguide-artifacts"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-metrics-field-"))
    db, arts = tmp / "store.sqlite", tmp / "artifacts"
    _copy(args.store, db)
    shutil.copytree(args.artifacts, arts)
    env = dict(os.environ, FORMGUIDE_HOME=str(tmp))
    exe = Path(sys.executable).with_name("formguide")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(PORT), "--db", f"sqlite:///{db}", "--artifacts",
                             str(arts)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as client:
            print(f"server ready after {_wait(client, proc):.1f} s; load average {os.getloadavg()[0]:.1f}")
            url = "/api/v1/f1/races/2024-22/field"
            first, r = _timed(client, url)
            assert r.status_code == 200, r.text
            again = sorted(_timed(client, url)[0] for _ in range(20))
            print(f"field {url}: first {first:.3f} s, repeated median {1000 * statistics.median(again):.1f} ms "
                  f"(20 requests, max {1000 * again[-1]:.1f} ms), {len(r.content)} bytes")
            health = sorted(_timed(client, "/health")[0] for _ in range(50))
            print(f"baseline GET /health over the same loopback: median {1000 * statistics.median(health):.2f} ms")
            print("metrics, demo store as is:", {k: round(v, 2) for k, v in _scrapes(client).items()})
            _add_tasks_and_workers(db)
            print("metrics, +1000 finished/200 queued tasks, 4 workers:",
                  {k: round(v, 2) for k, v in _scrapes(client).items()})
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
