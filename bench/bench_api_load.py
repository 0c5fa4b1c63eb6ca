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


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (status line, headers, a Content-Length body); returns the status code."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return status


async def _load(port: int, urls: list[str], rate: float, seconds: float, timeout: float,
                connections: int = 64) -> dict[str, Any]:
    """Open-loop load: request i is due at t0 + i / rate and queued then, whatever the earlier ones did; a pool of
    keep-alive connections sends them (a plain HTTP/1.1 client: httpx's pool spent more CPU than the server once
    requests queued). Latency runs from the due time, so time spent queued counts; a request not answered within
    ``timeout`` of its due time is an error (its connection is replaced), so the run ends by itself."""
    n = int(rate * seconds)
    latency, sent = np.full(n, np.nan), np.full(n, np.nan)
    status = np.zeros(n, dtype=int)
    which = np.arange(n) % len(urls)
    requests = [f"GET {u} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for u in urls]
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    t0 = loop.time() + 0.5

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (i := await queue.get()) is not None:
            due = t0 + i / rate
            left = due + timeout - loop.time()
            sent[i] = loop.time()
            try:
                if left <= 0:
                    raise TimeoutError
                writer.write(requests[which[i]])
                status[i] = await asyncio.wait_for(_response(reader), left)
            except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                status[i] = -1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            latency[i] = loop.time() - due
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    for i in range(n):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    finished = loop.time()
    queued = float(np.nanmax(sent - (t0 + np.arange(n) / rate)))
    return _stats(latency, status, which, urls, float((status == 200).sum()) / (finished - t0), seconds, queued)


def _stats(latency: np.ndarray, status: np.ndarray, which: np.ndarray, urls: list[str], answered: float,
           seconds: float, queued: float) -> dict[str, Any]:
    def block(mask: np.ndarray) -> dict[str, Any]:
        ok = mask & (status == 200)
        ms = latency[ok] * 1000
        return {"requests": int(mask.sum()), "errors": int((mask & (status != 200)).sum()),
                "p50_ms": round(float(np.percentile(ms, 50)), 2) if ms.size else None,
                "p95_ms": round(float(np.percentile(ms, 95)), 2) if ms.size else None,
                "p99_ms": round(float(np.percentile(ms, 99)), 2) if ms.size else None,
                "max_ms": round(float(ms.max()), 2) if ms.size else None}

    out = {"rate_answered": round(answered, 1), "seconds": seconds, "max_queued_ms": round(queued * 1000, 2),
           **block(np.ones(len(status), bool))}
    out["by_url"] = {url: block(which == k) for k, url in enumerate(urls)}
    out["statuses"] = {str(s): int((status == s).sum()) for s in np.unique(status)}
    return out


def _answers(base: str, urls: list[str]) -> tuple[dict[str, Any], dict[str, float]]:
    """Each URL's JSON and how long its first request took."""
    bodies, first = {}, {}
    for url in urls:
        start = time.perf_counter()
        r = httpx.get(base + url, timeout=600)
        first[url] = round(time.perf_counter() - start, 3)
        if r.status_code != 200:
            raise SystemExit(f"{url} answered {r.status_code}: {r.text[:300]}")
        bodies[url] = r.json()
    return bodies, first


def _drain(base: str, limit: float = 600.0) -> float:
    """Seconds until the server answers /health within 50 ms again: an overloaded phase leaves requests queued
    in the server (a client's timeout does not stop a request already handed to a worker thread)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        t = time.perf_counter()
        try:
            if httpx.get(base + "/health", timeout=limit).status_code == 200 and time.perf_counter() - t < 0.05:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return round(time.perf_counter() - start, 1)


def _server_cpu(pid: int) -> float:
    """CPU seconds the server process has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peer(db: Path, base: str, urls: list[str], online_bodies: dict[str, Any], args: argparse.Namespace
          ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool]]:
    """The same load on the previous path: the online rows deleted, the same server (its kept results warm)."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM online_features")
    conn.close()
    peer_bodies, peer_first = _answers(base, urls)
    same = {url: online_bodies[url] == peer_bodies[url] for url in urls}
    _answers(base, urls)  # the previous path keeps the result: its load starts warm too
    server_pid = args.server_pid
    cpu = _server_cpu(server_pid)
    peer = asyncio.run(_load(args.port, urls, args.rate, args.seconds, args.timeout))
    peer["server_cpu_s"] = round(_server_cpu(server_pid) - cpu, 1)
    peer["drain_s"] = _drain(base, limit=60.0)
    return peer, peer_first, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load per path (default 60)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per-request timeout in seconds")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("FORMGUIDE_HOME", REPO / "var")))
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--no-peer", action="store_true", help="leave out the previous path's run")
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
        args.port, args.server_pid = port, server.pid
        try:
            online_bodies, online_first = _answers(base, urls)
            cpu = _server_cpu(server.pid)
            online = asyncio.run(_load(port, urls, args.rate, args.seconds, args.timeout))
            online["server_cpu_s"] = round(_server_cpu(server.pid) - cpu, 1)
            online["drain_s"] = _drain(base)
            peer, peer_first, same = _peer(db, base, urls, online_bodies, args) if not args.no_peer else ({}, {}, {})
        finally:
            if args.redis:  # the mirror's keys of this temporary store, and nothing else
                from formguide.core.online import RedisStore

                mirror = RedisStore(args.redis, RedisStore.prefix_for(f"sqlite:///{db}"))
                for key in mirror.client.scan_iter(f"{mirror.prefix}:*"):
                    mirror.client.delete(key)
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
          f"{peer.get('p99_ms')} ms, {peer.get('errors')} errors", file=sys.stderr)


if __name__ == "__main__":
    main()
