"""Concurrent writers on PostgreSQL: two ``formguide ingest football`` of the same folder started together, and
a training run at the same time, all succeed (or wait their turn) and leave no duplicate row. On SQLite too
(``db_url`` runs both; PostgreSQL with ``FORMGUIDE_TEST_PG_URL``).

Before the fix the second ingest died with a ``UniqueViolation`` traceback on ``competitions`` (the first one's
uncommitted competition, season, teams and odds types were invisible to it, and its inserts then collided).
The files are a small generated league (``write_league``), also the fixture of ``bench/bench_kill.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import text

from formguide.core.store.db import make_engine, open_store, session_scope

ROOT = Path(__file__).resolve().parents[2]

HEADER = ["Div", "Date", "Time", "HomeTeam", "AwayTeam", "FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR", "HS", "AS",
          "HST", "AST", "B365H", "B365D", "B365A", "PSCH", "PSCD", "PSCA", "B365>2.5", "B365<2.5"]


def _odds(p: np.ndarray, margin: float = 1.05) -> list[str]:
    return [f"{1 / (q * margin):.2f}" for q in p]


def write_league(folder: Path, *, divisions: tuple[str, ...] = ("E0",), seasons: int = 4, teams: int = 10,
                 first_year: int = 2019, seed: int = 0) -> Path:
    """football-data style files ``<div>_<yyyy>.csv``: a double round robin per season (a match day a week,
    Saturdays from mid-August), Poisson goals from fixed team strengths, pre-match and closing prices."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for div in divisions:
        names = [f"{div} Team {chr(65 + i)}" for i in range(teams)]
        attack = rng.normal(0.0, 0.25, teams)
        for k in range(seasons):
            year = first_year + k
            start = date(year, 8, 10) + timedelta(days=(5 - date(year, 8, 10).weekday()) % 7)
            pairs = [(h, a) for h in range(teams) for a in range(teams) if h != a]
            rng.shuffle(pairs)
            per_day = teams // 2
            rows = []
            for i, (h, a) in enumerate(pairs):
                day = start + timedelta(weeks=i // per_day)
                lh, la = np.exp(0.3 + attack[h] - attack[a]), np.exp(attack[a] - attack[h])
                hg, ag = int(rng.poisson(lh)), int(rng.poisson(la))
                p = np.array([0.45 + 0.3 * np.tanh(attack[h] - attack[a]), 0.27, 0.0])
                p[2] = 1 - p[0] - p[1]
                over = 1 - np.exp(-(lh + la)) * (1 + (lh + la) + (lh + la) ** 2 / 2)
                rows.append([div, day.strftime("%d/%m/%Y"), "15:00", names[h], names[a], str(hg), str(ag),
                             "H" if hg > ag else "A" if hg < ag else "D", str(hg // 2), str(ag // 2),
                             "H" if hg // 2 > ag // 2 else "A" if hg // 2 < ag // 2 else "D",
                             str(8 + hg * 3), str(6 + ag * 3), str(3 + hg), str(2 + ag),
                             *_odds(p), *_odds(p, 1.03), *_odds(np.array([over, 1 - over]))])
            lines = [",".join(HEADER)] + [",".join(r) for r in rows]
            (folder / f"{div}_{year % 100:02d}{(year + 1) % 100:02d}.csv").write_text("\n".join(lines) + "\n")
    return folder


def formguide(*args: str, db_url: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "FORMGUIDE_DB_URL": db_url, "FORMGUIDE_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "formguide.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


DUPLICATES = {
    "competitions": "sport, code", "seasons": "competition_id, code", "teams": "sport, kind, name",
    "team_aliases": "sport, source, alias", "events": "sport, external_key",
    "odds_types": "bookmaker, market, selection, is_closing", "results": "event_id",
    "odds": "event_id, type_id, line",
}


def duplicate_rows(engine) -> dict[str, int]:
    """Rows beyond the first of each natural key, per table (0 everywhere in a consistent store)."""
    out = {}
    with engine.connect() as conn:
        for table, key in DUPLICATES.items():
            out[table] = int(conn.execute(text(
                f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM {table} GROUP BY {key}) g")).scalar())
    return out


def test_two_ingests_of_one_folder_and_a_training_run_at_once_all_succeed_without_duplicates(db_url, tmp_path):
    folder = write_league(tmp_path / "football_data", divisions=("E0", "E1"), seasons=4)
    engine = open_store(db_url)  # migrated before the processes start, as `make demo` leaves a store
    first = formguide("ingest", "football", *(str(folder / f"E0_{s}.csv") for s in ("1920", "2021", "2122")),
                      db_url=db_url, home=tmp_path)
    assert first.wait(120) == 0, first.stderr.read()  # three seasons, so the training run has something to train
    runs = [formguide("ingest", "football", str(folder), db_url=db_url, home=tmp_path) for _ in range(3)]
    runs.append(formguide("train", "--league", "E0", "--force", db_url=db_url, home=tmp_path))
    outcome = [(p.wait(300), p.stdout.read(), p.stderr.read()) for p in runs]
    for rc, out, err in outcome:
        assert rc == 0 and "Traceback" not in err and "UniqueViolation" not in err + out, (rc, out[-2000:],
                                                                                            err[-2000:])
    with engine.connect() as conn:
        events = conn.execute(text("SELECT COUNT(*) FROM events")).scalar()
        competitions = conn.execute(text("SELECT COUNT(*) FROM competitions")).scalar()
        running = conn.execute(text("SELECT COUNT(*) FROM training_runs WHERE status = 'running'")).scalar()
    assert (events, competitions, running) == (2 * 4 * 90, 2, 0)
    assert duplicate_rows(engine) == dict.fromkeys(DUPLICATES, 0)
    engine.dispose()


def test_two_runs_registering_one_line_at_once_take_consecutive_versions(db_url):
    """Two workers training one line: the second registration waits for the first's commit and takes the next
    version (before, both read the same newest version and the second died on the unique (name, version))."""
    from formguide.core import registry

    engine = open_store(db_url)
    fields = {"sport": "football", "name": "football-E0", "model_type": "elo", "parameters": {"k": 20},
              "metrics": {}, "config": {}, "feature_set_version": None, "data_fingerprint": None,
              "training_competitions": ["E0"], "training_seasons": ["2122"]}
    second: dict[str, object] = {}

    def register_second() -> None:
        own = make_engine(db_url)  # another worker's connection
        try:
            with session_scope(own) as s:
                second["version"] = registry.register_model(s, **fields).version
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            second["error"] = exc
        finally:
            own.dispose()

    with session_scope(engine) as s:
        assert registry.register_model(s, **fields).version == 1  # flushed, not committed yet
        other = threading.Thread(target=register_second)
        other.start()
        time.sleep(1.0)  # the other registration is waiting now (before the fix: on the unique index)
        assert other.is_alive()
    other.join(30)
    assert second == {"version": 2}
    engine.dispose()
