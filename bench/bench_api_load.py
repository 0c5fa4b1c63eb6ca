"""Load bench of GET /api/v1/predictions: a bounded open-loop load on loopback, with and without online rows.

Serves a copy of the demo store (``make demo`` fills ``$FORMGUIDE_HOME``, default ``var/``) with ``formguide
serve`` (uvicorn, one worker process) in a subprocess on 127.0.0.1, materialises the champions' rows of the days
asked for (``formguide materialise --date``), then sends requests on a fixed schedule (open loop: request i is
due at ``t0 + i / rate`` whatever the earlier ones did, so a slow server cannot slow the load down) for
``--seconds``, alternating the football and NFL URLs. Latency is measured from each request's due time (a
request sent late because the client fell behind counts its wait). Every request has a timeout; anything but a
200 is an error. Then the same load without the online rows (the previous path: the use case's kept result
and a ``predictions`` write per request) as the peer, in the same run, after checking both paths answer the
same JSON.

    .venv/bin/python bench/bench_api_load.py [--rate 200] [--seconds 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
FOOTBALL = "/api/v1/predictions?sport=football&league=E0&date=2025-05-18"
NFL = "/api/v1/predictions?sport=nfl&league=NFL&date=2024-12-01"
#: (sport, league, day) materialised for the two URLs.
WINDOWS = (("football", "E0", "2025-05-18"), ("nfl", "NFL", "2024-12-01"))


def _copy_store(home: Path, target: Path) -> Path:
    """A consistent copy of the demo store (SQLite's backup API, WAL included) and its artifacts folder."""
    src = home / "formguide.sqlite"
    if not src.is_file():
        raise SystemExit(f"no demo store at {src}: run `make demo` first (or set FORMGUIDE_HOME)")
    db = target / "formguide.sqlite"
    with sqlite3.connect(src) as a, sqlite3.connect(db) as b:
        a.backup(b)
    if (home / "formguide-artifacts").is_dir():
        shutil.copytree(home / "formguide-artifacts", target / "formguide-artifacts")
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _formguide(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "formguide.cli", *args], env=env, capture_output=True, text=True,
                          check=False)


def _start_server(db: Path, port: int, env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    log = (db.parent / "server.log").open("w")  # a file, never a pipe nobody reads (a full pipe stalls the server)
    command = [sys.executable, "-m", "formguide.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--db",
               f"sqlite:///{db}"]
    if "--workers" in _formguide("serve", "--help", env=env).stdout:
        command += ["--workers", "0"]  # no job worker thread: nothing is trained here
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}: {(db.parent / 'server.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not answer /health within 180 s")


async def _load(base: str, urls: list[str], rate: float, seconds: float, timeout: float) -> dict[str, Any]:
    """Open-loop load: request i due at t0 + i / rate; latency from the due time; every outcome recorded."""
    n = int(rate * seconds)
    latency = np.full(n, np.nan)
    sent = np.full(n, np.nan)
    status = np.zeros(n, dtype=int)
    which = np.arange(n) % len(urls)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.5

        async def one(i: int) -> None:
            due = t0 + i / rate
            sent[i] = loop.time()
            try:  # every request ends within the timeout: the run stops by itself
                response = await asyncio.wait_for(client.get(urls[which[i]]), timeout)
                status[i] = response.status_code
            except (httpx.HTTPError, TimeoutError):
                status[i] = -1
            latency[i] = loop.time() - due

        tasks = []
        for i in range(n):
            delay = t0 + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        finished = loop.time()
    sent_rate = n / max(float(np.nanmax(sent)) - t0, 1e-9)
    answered_rate = float((status == 200).sum()) / (finished - t0)
    return _stats(latency, status, which, urls, sent_rate, answered_rate, seconds, float(np.nanmax(sent - (
        t0 + np.arange(n) / rate))))


def _stats(latency: np.ndarray, status: np.ndarray, which: np.ndarray, urls: list[str], reached: float,
           answered: float, seconds: float, send_lag: float) -> dict[str, Any]:
    def block(mask: np.ndarray) -> dict[str, Any]:
        ok = mask & (status == 200)
        ms = latency[ok] * 1000
        return {"requests": int(mask.sum()), "errors": int((mask & (status != 200)).sum()),
                "p50_ms": round(float(np.percentile(ms, 50)), 2) if ms.size else None,
                "p95_ms": round(float(np.percentile(ms, 95)), 2) if ms.size else None,
                "p99_ms": round(float(np.percentile(ms, 99)), 2) if ms.size else None,
                "max_ms": round(float(ms.max()), 2) if ms.size else None}

    out = {"rate_sent": round(reached, 1), "rate_answered": round(answered, 1), "seconds": seconds,
           "max_send_lag_ms": round(send_lag * 1000, 2), **block(np.ones(len(status), bool))}
    out["by_url"] = {url: block(which == k) for k, url in enumerate(urls)}
    out["statuses"] = {str(s): int((status == s).sum()) for s in np.unique(status)}
    return out


def _answers(base: str, urls: list[str]) -> tuple[dict[str, Any], dict[str, float]]:
    """Each URL's JSON and how long its first request took."""
    bodies, first = {}, {}
    for url in urls:
        start = time.perf_counter()
        r = httpx.get(base + url, timeout=120)
        first[url] = round(time.perf_counter() - start, 3)
        if r.status_code != 200:
            raise SystemExit(f"{url} answered {r.status_code}: {r.text[:300]}")
        bodies[url] = r.json()
    return bodies, first


def _server_cpu(pid: int) -> float:
    """CPU seconds the server process has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load per path (default 60)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per-request timeout in seconds")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("FORMGUIDE_HOME", REPO / "var")))
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--redis", default=None, metavar="URL", help="mirror the rows to this Redis and read them "
                        "from there (default: the store's table)")
    args = parser.parse_args()

    urls = [FOOTBALL, NFL]
    with tempfile.TemporaryDirectory(prefix="formguide-load-") as tmp:
        folder = Path(tmp)
        db = _copy_store(args.home, folder)
        env = {**os.environ, "FORMGUIDE_HOME": str(folder), "FORMGUIDE_LOG_LEVEL": "WARNING"}
        env.pop("FORMGUIDE_REDIS_URL", None)
        if args.redis:  # the rows mirrored to Redis, and read from there
            env["FORMGUIDE_REDIS_URL"] = args.redis
        materialised = {}
        for sport, league, day in WINDOWS:
            start = time.perf_counter()
            done = _formguide("materialise", "--sport", sport, "--league", league, "--date", day, "--db",
                              f"sqlite:///{db}", "--json", "-", env=env)
            if done.returncode != 0:
                raise SystemExit(f"materialise {sport} failed: {done.stderr or done.stdout}")
            lines = json.loads(done.stdout)["lines"]
            materialised[sport] = {"seconds": round(time.perf_counter() - start, 2),
                                   "rows": sum(x["rows"] for x in lines), "lines": [x["line"] for x in lines]}
        port = _free_port()
        server, startup = _start_server(db, port, env)
        base = f"http://127.0.0.1:{port}"
        try:
            online_bodies, online_first = _answers(base, urls)
            cpu = _server_cpu(server.pid)
            online = asyncio.run(_load(base, urls, args.rate, args.seconds, args.timeout))
            online["server_cpu_s"] = round(_server_cpu(server.pid) - cpu, 1)
            with sqlite3.connect(db) as conn:  # the peer: the same server, the previous path
                conn.execute("DELETE FROM online_features")
            peer_bodies, peer_first = _answers(base, urls)
            same = {url: online_bodies[url] == peer_bodies[url] for url in urls}
            _answers(base, urls)  # the previous path keeps the result: its load starts warm too
            cpu = _server_cpu(server.pid)
            peer = asyncio.run(_load(base, urls, args.rate, args.seconds, args.timeout))
            peer["server_cpu_s"] = round(_server_cpu(server.pid) - cpu, 1)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            tail = (folder / "server.log").read_text().strip().splitlines()[-5:]
    report = {"rate": args.rate, "seconds": args.seconds, "server": "formguide serve: uvicorn, 1 worker process",
              "online_backend": "redis" if args.redis else "table",
              "cpus": os.cpu_count(), "startup_s": round(startup, 1), "materialise": materialised,
              "first_request_s": {"online": online_first, "previous": peer_first}, "same_json": same,
              "online": online, "previous": peer, "server_log_tail": tail}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    target_met = online["p99_ms"] is not None and online["p99_ms"] < 25 and online["errors"] == 0
    print(f"online rows: p99 {online['p99_ms']} ms, {online['errors']} errors at {online['rate_answered']} answered/s "
          f"(target p99 < 25 ms, 0 errors: {'met' if target_met else 'missed'}); previous path: p99 "
          f"{peer['p99_ms']} ms, {peer['errors']} errors", file=sys.stderr)


if __name__ == "__main__":
    main()
