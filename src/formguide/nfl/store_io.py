"""NFL ingest: any of the four nflverse files (or folders holding them) into the store; frames back out.

Files are recognised by their header (:func:`detect`): ``games`` (``games.csv``), ``team-stats``
(``team_stats_week.csv``), ``team-epa`` (``team_week_epa_*.csv``) and ``injuries`` (``injuries.csv``).
Games are written first whatever the order given, because team reports attach to stored games
(``store_games``, ``store_reports`` say what is stored and how re-imports are told apart).

Same rules as every sport: one transaction per file with its ``imports`` record; a rejected file (bad
cell, unknown team code, duplicate game, truncated row, a path that is no NFL file) leaves the store as
it was and is recorded with its error naming file, row and column; an unchanged file changes nothing
(every row counted unchanged); a corrected row is rewritten. Inside a folder (searched recursively) CSV
files that are none of the four are skipped; a folder with none of them is rejected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import Engine, insert

from formguide.core.errors import FormguideError, IngestError, IngestFileNotFoundError
from formguide.core.sport import FileReport, IngestReport
from formguide.core.store.locks import take_turn
from formguide.core.store.models import ImportRecord
from formguide.nfl.csvfile import KIND_GAMES, KIND_INJURIES, KIND_TEAM_EPA, KIND_TEAM_STATS, detect
from formguide.nfl.games import parse_games
from formguide.nfl.injuries import parse_injuries
from formguide.nfl.stats import parse_team_stats
from formguide.nfl.store_games import SPORT, load_games, write_games
from formguide.nfl.store_reports import load_injuries, load_team_stats, write_injuries, write_stats

__all__ = ["KINDS", "count_units", "detect", "ingest_files", "load_games", "load_injuries", "load_team_stats"]

#: The files an NFL ingest reads, in the order they are written.
KINDS = (KIND_GAMES, KIND_TEAM_STATS, KIND_TEAM_EPA, KIND_INJURIES)
_NOT_NFL = ("not an NFL file: the header matches none of games.csv, team_stats_week.csv, the team EPA file or "
            "injuries.csv")


def _units(paths: Sequence[Path | str]) -> tuple[list[tuple[str, Path]], list[tuple[Path, IngestError]]]:
    """The NFL files behind ``paths`` (each once, games first) and the paths that are none."""
    found: list[tuple[str, Path]] = []
    bad: list[tuple[Path, IngestError]] = []
    seen: set[Path] = set()
    for item in paths:
        path = Path(item)
        if not path.exists():
            bad.append((path, IngestFileNotFoundError(path)))
            continue
        if path.is_dir():
            kinds = [(detect(f), f) for f in sorted(path.rglob("*.csv")) if f.is_file()]
            hits = [(k, f) for k, f in kinds if k is not None]
            if not hits:
                bad.append((path, IngestError(path, None, None, "folder holds no NFL file (games.csv, "
                                              "team_stats_week.csv, team EPA, injuries.csv)")))
        else:
            kind = detect(path)
            hits = [(kind, path)] if kind else []
            if kind is None:
                bad.append((path, IngestError(path, 1, None, _NOT_NFL)))
        for kind, f in hits:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                found.append((kind, f))  # type: ignore[arg-type]
    found.sort(key=lambda u: KINDS.index(u[0]))  # stable: games first, reports after
    return found, bad


def count_units(paths: Sequence[Path | str]) -> int:
    """How many files an ingest of ``paths`` reports (one per NFL file, one per rejected path)."""
    found, bad = _units(paths)
    return len(found) + len(bad)


def _record(report: FileReport, sha: str | None) -> dict:
    return {"sport": SPORT, "path": report.path, "sha256": sha, "status": report.status,
            "inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged,
            "rejected": report.rejected, "new_teams": report.new_teams, "error": report.error}


def _count_rows(path: Path) -> tuple[int, str | None]:
    """Non-blank lines after the header, and the content hash, of a rejected file (0, None if unreadable)."""
    try:
        data = path.read_bytes() if path.is_file() else None
    except OSError:
        data = None
    if data is None:
        return 0, None
    rows = sum(1 for line in data.splitlines() if line.strip(b", \t\r"))
    return max(rows - 1, 0), hashlib.sha256(data).hexdigest()


def _import_one(engine: Engine, kind: str, path: Path) -> FileReport:
    """Parse and write one file in its own transaction (with its imports record)."""
    if kind == KIND_GAMES:
        parsed, write = parse_games(path), write_games
    elif kind == KIND_INJURIES:
        parsed, write = parse_injuries(path), write_injuries
    else:
        parsed, write = parse_team_stats(path), write_stats
    with engine.begin() as conn:
        take_turn(conn)  # one ingest transaction at a time: two would insert the same new rows (core.store.locks)
        report = write(conn, parsed)  # type: ignore[operator]
        conn.execute(insert(ImportRecord.__table__).values(**_record(report, parsed.sha256)))
    return report


def ingest_files(engine: Engine, paths: Sequence[Path | str] | Path | str, *,
                 progress: Callable[[int], None] | None = None) -> IngestReport:
    """Import NFL files and folders; one transaction per file; every file, rejected or not, is reported.

    ``layout`` of the report names what was found (e.g. ``games + team-stats + injuries``); ``found`` of
    each file says which of the four it is.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    units, bad = _units(paths)
    report = IngestReport()
    kinds = [k for k in KINDS if any(u[0] == k for u in units)]
    report.layout = " + ".join(kinds) if kinds else None

    def rejected(path: Path, kind: str | None, exc: FormguideError) -> None:
        rows, sha = _count_rows(path)
        file_report = FileReport(path=str(path), status="rejected", found=kind, error=str(exc), rejected=rows)
        with engine.begin() as conn:
            conn.execute(insert(ImportRecord.__table__).values(**_record(file_report, sha)))
        report.files.append(file_report)
        if progress:
            progress(1)

    for path, exc in bad:
        rejected(path, None, exc)
    for kind, path in units:
        try:
            file_report = _import_one(engine, kind, path)
        except FormguideError as exc:
            rejected(path, kind, exc)
            continue
        report.files.append(file_report)
        if progress:
            progress(1)
    return report
