"""Shared test helpers: real E0 stores and frames, and the CLI run in-process as the console script runs it."""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest


def copy_sqlite(source: Path | str, target: Path | str) -> Path:
    """A private copy of a SQLite store (SQLite's backup API: consistent even with a WAL); returns ``target``."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    return Path(target)


#: Three Premier League seasons: ingest in about a second, enough for train (one season learns, two evaluate).
E0_SEASONS = ("2223", "2324", "2425")
#: Four seasons: the smallest span on which every stage of the blend (base, stacker, calibrator) predicts.
BLEND_SEASONS = ("2122", "2223", "2324", "2425")


def e0_files(football_dir: Path, seasons: Sequence[str] = E0_SEASONS) -> list[Path]:
    """Paths of the real E0 files for ``seasons``; skips the test when one is missing."""
    paths = [Path(football_dir) / f"E0_{s}.csv" for s in seasons]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"real football files missing from {football_dir}: {', '.join(missing)}")
    return paths


def ingest_e0(engine, football_dir: Path, seasons: Sequence[str] = E0_SEASONS):
    """Ingest real E0 seasons into ``engine`` (in this process: no parser worker to start)."""
    from formguide.football.store_io import ingest_files

    report = ingest_files(engine, e0_files(football_dir, seasons), workers=0)
    rejected = [f.error for f in report.files if f.status != "ok"]
    assert not rejected, rejected
    return report


def e0_frame(football_dir: Path, seasons: Sequence[str] = BLEND_SEASONS) -> pd.DataFrame:
    """The canonical frame of real E0 seasons straight from the parser (no store), sorted by kick-off."""
    from formguide.football.parse import attach_wide_odds, parse_file

    parts = []
    for path in e0_files(football_dir, seasons):
        parsed = parse_file(path)
        parts.append(attach_wide_odds(parsed.matches, parsed.odds))
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values(["kickoff", "home_team"], kind="stable").reset_index(drop=True)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr with rich's line wrapping undone, for matching messages."""
        return " ".join((self.out + "\n" + self.err).split())


def run_cli(args: Sequence[object], capsys, cwd: Path | None = None) -> CliResult:
    """Run ``formguide ARGS`` through ``cli.main`` (FormguideError -> "error: ..." and exit 2), capturing output.

    ``cwd`` is where relative outputs (model cards under ``var/``) go. Anything other than a clean exit or
    a ``SystemExit`` propagates, so an unexpected traceback fails the test.
    """
    from formguide import cli

    capsys.readouterr()
    argv = ["formguide", *[str(a) for a in args]]
    old_argv, old_cwd = sys.argv, os.getcwd()
    code = 0
    try:
        sys.argv = argv
        if cwd is not None:
            os.chdir(cwd)
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
        with contextlib.suppress(OSError):
            os.chdir(old_cwd)
        gc.collect()  # close the pooled connections of the engines the command opened
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
