"""Ingest benchmark through the real CLI: every football-data file into a fresh SQLite store, then again.

Each ingest is ``formguide ingest football <folder> --json`` in its own process, so its wall time
includes interpreter start-up and migrations. Memory is measured two ways, both covering the CLI and
the parser worker it starts: ``peak_MB`` is the largest resident set of any one process of the tree
(``RUSAGE_CHILDREN`` of a fresh measuring process, as ``/usr/bin/time -v`` reports it) and
``tree_peak_MB`` the largest sum over the live tree, sampled from ``/proc`` every 50 ms (Linux; it
counts pages shared between the processes twice, so it is an upper bound).

Usage: ``python bench/bench_ingest.py [--repeat N]``. With ``FORMGUIDE_BENCH_PG_URL`` set (e.g.
``postgresql://postgres@127.0.0.1:5432/test``) the same runs are made on PostgreSQL too, in a private
schema dropped afterwards; there is no PostgreSQL target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import format_table, median  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data"))
CLI = [sys.executable, "-m", "formguide.cli"]
TARGET_SECONDS = 15.0
TARGET_MB = 1500.0
REIMPORT_SECONDS = 8.0
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20


def _tree_rss_mb(root: int) -> float:
    """Summed resident memory (MB) of ``root`` and its live descendants, walked through ``/proc``."""
    total, frontier, seen = 0, [root], set()
    while frontier:
        pid = frontier.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1])  # resident pages
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    frontier += [int(c) for c in fh.read().split()]
        except OSError:  # the process ended while being read
            continue
    return total * _PAGE_MB


def _measure(db_url: str) -> dict:
    """One CLI ingest in this (fresh) process: wall seconds, both peak memories, the report counts."""
    t0 = time.perf_counter()
    args = ["ingest", "football", str(DATA / "football_data"), "--db", db_url, "--json", "-"]
    proc = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree_peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not done.is_set():
            if os.path.isdir("/proc"):
                tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"ingest failed ({proc.returncode}):\n{err[-3000:]}")
    report = json.loads(out)
    return {"seconds": wall, "peak_MB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
            "tree_peak_MB": tree_peak,
            "matches": report["inserted"] + report["updated"] + report["unchanged"],
            "inserted": report["inserted"], "unchanged": report["unchanged"],
            "files_rejected": report["files_rejected"]}


def _isolated(db_url: str) -> dict:
    """``_measure`` in a fresh interpreter, so that RUSAGE_CHILDREN sees this ingest and nothing else."""
    proc = subprocess.run([sys.executable, __file__, "--measure", db_url], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"measurement failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _runs(backend: str, repeat: int, fresh: Callable[[], str]) -> list[dict]:
    first, again = [], []
    for _ in range(repeat):
        url = fresh()
        first.append(_isolated(url))
        again.append(_isolated(url))
    assert all(r["inserted"] == r["matches"] and r["files_rejected"] == 0 for r in first), first
    assert all(r["unchanged"] == r["matches"] for r in again), again
    rows = []
    for name, runs in (("first import", first), ("re-import (all unchanged)", again)):
        seconds = median([r["seconds"] for r in runs])
        peak, tree = max(r["peak_MB"] for r in runs), max(r["tree_peak_MB"] for r in runs)
        if backend != "sqlite":
            target, ok = "-", "-"
        elif runs is first:
            target = f"< {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB"
            ok = seconds < TARGET_SECONDS and tree < TARGET_MB
        else:
            target, ok = f"< {REIMPORT_SECONDS:.0f} s", seconds < REIMPORT_SECONDS
        rows.append({"benchmark": f"ingest football_data, {backend}, {name}", "matches": runs[-1]["matches"],
                     "seconds": seconds, "peak_MB": peak, "tree_peak_MB": tree, "target": target,
                     "ok": str(ok)})
    return rows


def run(repeat: int = 1) -> list[dict]:
    """Median wall seconds and peak memory of a first import and a re-import (SQLite; PostgreSQL if set)."""
    if not (DATA / "football_data").is_dir():
        raise FileNotFoundError(f"football data not found at {DATA / 'football_data'} (set FORMGUIDE_DATA)")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        names = (f"sqlite:///{tmp}/bench{i}.sqlite" for i in range(repeat))
        rows += _runs("sqlite", repeat, lambda: next(names))
    pg = os.environ.get("FORMGUIDE_BENCH_PG_URL")
    if pg:
        from sqlalchemy import create_engine, text

        admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1))
        schemas: list[str] = []

        def fresh_pg() -> str:
            schemas.append(f"bench_{uuid.uuid4().hex[:12]}")
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schemas[-1]}"'))
            return f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schemas[-1]}"

        try:
            rows += _runs("postgresql", repeat, fresh_pg)
        finally:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement (the median time is shown)")
    ap.add_argument("--measure", metavar="DB_URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.measure)))
        return
    print(format_table(run(args.repeat)))


if __name__ == "__main__":
    main()
