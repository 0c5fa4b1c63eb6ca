"""Read football-data.co.uk league-season CSV files into the canonical match and odds frames.

The files vary by era: dates as dd/mm/yy or dd/mm/yyyy, a kick-off ``Time`` only from 2019/20,
UTF-8 byte-order marks, bookmakers that come and go, re-saved copies with integers written as
``6.0``, empty trailing rows and blank or ``Unnamed*`` header cells. Columns are therefore selected
by name (odds by name pattern, see ``odds.py``) and every value is checked; a file that cannot be
trusted raises ``IngestError`` naming the file, the line and the column, so nothing half-read
reaches the store.

Rows without a result are fixtures still to be played and are kept with NaN goals. A match the
file shows as not played to the end is kept with a status instead of rejecting the file, with a
warning naming file and row: ``abandoned`` (a half-time score without a full-time one),
``awarded`` (a result letter without goals), ``unplayed`` (no result though dated before the
file's last played match). Such matches carry no result and stay out of the canonical frame
(``store_io.load_frame``). Price columns of a bookmaker prefix never seen before are read by the
name pattern (``odds.py``) and count towards the best price. Asian-handicap prices are read with the
row's line (``AHh`` / ``AHCh`` / ``BbAHh``); a price whose line column is missing, or whose line is blank,
not a number or not a multiple of 0.25, is not stored, with a warning naming file, row and column.
Invalid single prices (``0``, ``#``, a stray word) occur in the published files; by default they
are dropped with a warning, ``bad_odds="raise"`` rejects them, and a file with many of them is
rejected either way.

Parsing is vectorised per file: line structure from numpy over the bytes, cells from the pandas C
reader (numbers straight to float), checks as array operations. The only per-row Python is the
sha256 of each row and the ``csv``-module path for the rare file that uses quote characters.
"""

from __future__ import annotations

import hashlib
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from formguide.core.errors import FormguideError, IngestError, IngestFileNotFoundError
from formguide.football.csvread import Raw, decode, read_cells, scan_quoted, scan_unquoted
from formguide.football.odds import (
    MARKET_LINES,
    MARKET_SELECTIONS,
    OddsColumn,
    attach_wide_odds,
    classify_odds_header,
    is_asian_handicap_column,
)
from formguide.football.price_checks import FileCells, check_prices, handicap_lines, warn_missing_prices
from formguide.football.schema import MATCH_COLUMNS, ODDS_COLUMNS, RESULT_COLUMNS, STAT_COLUMNS

__all__ = ["NO_RESULT_STATUSES", "ParsedFile", "attach_wide_odds", "iter_csv_files", "parse_file", "parse_worker"]

REQUIRED_COLUMNS = ("Div", "Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG")
_TEXT_COLUMNS = ("Div", "Date", "Time", "HomeTeam", "AwayTeam", "FTR", "HTR", "Referee")
_GOAL_COLUMNS = {"FTHG": "home_goals", "FTAG": "away_goals", "HTHG": "ht_home_goals", "HTAG": "ht_away_goals"}
_STAT_COLUMNS = {
    "HS": "home_shots", "AS": "away_shots", "HST": "home_shots_on_target", "AST": "away_shots_on_target",
    "HC": "home_corners", "AC": "away_corners", "HF": "home_fouls", "AF": "away_fouls",
    "HY": "home_yellow", "AY": "away_yellow", "HR": "home_red", "AR": "away_red",
}
_WHAT = {
    "FTHG": "goals", "FTAG": "goals", "HTHG": "half-time goals", "HTAG": "half-time goals",
    "HS": "shots", "AS": "shots", "HST": "shots on target", "AST": "shots on target", "HC": "corners",
    "AC": "corners", "HF": "fouls", "AF": "fouls", "HY": "yellow cards", "AY": "yellow cards",
    "HR": "red cards", "AR": "red cards",
}
# Documented football-data columns that carry nothing the canonical frames hold.
_KNOWN_UNUSED = {
    "Bb1X2", "BbOU", "Attendance", "HHW", "AHW", "HO", "AO", "HFKC", "AFKC", "HBP", "ABP",
}
_FILE_NAME = re.compile(r"^(?P<div>[A-Za-z0-9]+)_(?P<season>\d{4})\.csv$", re.IGNORECASE)
# Matches stored without a result although the row has one in part (abandoned, awarded): more than
# this (or 1% of the matches) mean a broken file.
_MAX_NO_RESULT_ROWS = 5
#: ``events.status`` of matches kept in the store without a result and out of the canonical frame.
NO_RESULT_STATUSES = ("abandoned", "awarded", "unplayed")
_MARKET_ORDER = {market: k for k, market in enumerate(MARKET_SELECTIONS)}

@dataclass
class ParsedFile:
    """One football-data file read into the canonical frames.

    ``matches`` has ``schema.MATCH_COLUMNS`` plus ``row_hash`` (sha256 of the normalised row and its
    odds, to tell unchanged from corrected rows) and ``status`` (``events.status``: finished,
    scheduled, or one of ``NO_RESULT_STATUSES``, whose rows have NaN goals, statistics and result),
    sorted by kickoff. ``row_numbers[i]`` is the line of ``matches.iloc[i]`` in the file (header =
    line 1). Prices are kept wide and compact, ``odds_prices[i, j]`` being the price of kind
    ``odds_kinds[j]`` for ``matches.iloc[i]`` (NaN: none), so that a file crosses a process boundary
    cheaply; ``odds`` is the long frame (``schema.ODDS_COLUMNS``, one row per price), built on first use.
    The file's handicap line columns are ``line_values`` (matches, line columns; NaN where unusable) and
    ``line_index[j]`` the line column of kind ``j`` (-1: none); ``odds_lines`` is the line of every price.
    """

    path: Path
    competition: str
    season: str
    matches: pd.DataFrame
    odds_prices: np.ndarray
    odds_kinds: list[OddsColumn]
    row_numbers: np.ndarray
    content_hash: str
    encoding: str
    warnings: list[str] = field(default_factory=list)
    line_values: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    line_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @cached_property
    def odds_lines(self) -> np.ndarray:
        """(matches, kinds): the line of each price (``odds.line``): the row's handicap, 2.5, or NaN (1X2)."""
        out = np.full(self.odds_prices.shape, np.nan)
        for j, kind in enumerate(self.odds_kinds):
            if j < len(self.line_index) and self.line_index[j] >= 0:
                out[:, j] = self.line_values[:, self.line_index[j]]
            elif kind.market in MARKET_LINES:
                out[:, j] = MARKET_LINES[kind.market]
        return out

    @cached_property
    def odds(self) -> pd.DataFrame:
        return _long_odds(self.matches, self.odds_prices, self.odds_kinds, self.odds_lines)


def _long_odds(matches: pd.DataFrame, prices: np.ndarray, kinds: list[OddsColumn], lines: np.ndarray
               ) -> pd.DataFrame:
    """One row per price present, in match order then the file's canonical column order."""
    r, j = np.nonzero(~np.isnan(prices))
    long = {c: matches[c].to_numpy()[r] for c in ("competition", "season", "kickoff", "home_team", "away_team")}
    long.update({
        "bookmaker": np.array([c.bookmaker for c in kinds], dtype=object)[j],
        "market": np.array([c.market for c in kinds], dtype=object)[j],
        "selection": np.array([c.selection for c in kinds], dtype=object)[j],
        "price": prices[r, j],
        "is_closing": np.array([c.is_closing for c in kinds], dtype=bool)[j],
        "line": lines[r, j],
    })
    return pd.DataFrame({c: long[c] for c in ODDS_COLUMNS})


def iter_csv_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Files to import: folders expand to their ``*.csv`` files (sorted); every path must exist."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    seen: set[Path] = set()
    for item in items:
        p = Path(item)
        if not p.exists():
            raise IngestFileNotFoundError(p, message=f"no such file or folder: {p}")
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() == ".csv" and f.is_file())
            if not found:
                raise IngestError(p, None, None, f"folder {p} contains no .csv files")
        else:
            found = [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def parse_worker(conn: Connection, bad_odds: Literal["warn", "raise"] = "warn") -> None:
    """Body of a parser process: parse each path received on ``conn`` and send back the ``ParsedFile``
    or the ``IngestError``, until ``None`` arrives.

    It lives here, not with the store code, so that a worker process imports the parser only and
    starts fast. An unexpected failure is sent back as a ``RuntimeError`` carrying the traceback.
    """
    while (path := conn.recv()) is not None:
        try:
            result: ParsedFile | Exception = parse_file(path, bad_odds=bad_odds)
        except FormguideError as exc:
            result = exc
        except Exception:  # noqa: BLE001 - reported to the parent, which raises it
            result = RuntimeError(f"parsing {path} failed in a worker process:\n{traceback.format_exc()}")
        conn.send(result)


# ----------------------------------------------------------------------------------------------
# Value checks


def _first(mask: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the first True cell in file order."""
    hits = np.argwhere(mask if mask.ndim == 2 else mask[:, None])
    return (int(hits[0, 0]), int(hits[0, 1])) if len(hits) else None


def _text(raw: Raw, pos: dict[str, int], name: str) -> np.ndarray:
    """A text column stripped of surrounding spaces, None for blanks (work done once per distinct value)."""
    if name not in pos:
        return np.full(len(raw.lines), None, dtype=object)
    codes, uniques = pd.factorize(raw.strings[pos[name]].to_numpy(dtype=object, na_value=None))
    stripped = np.array([str(u).strip() or None for u in uniques] + [None], dtype=object)
    return stripped[codes]  # code -1 (blank) takes the trailing None


def _result_codes(home: np.ndarray, away: np.ndarray) -> np.ndarray:
    return np.where(home > away, "H", np.where(home < away, "A", "D"))


def _check_result(path: Path, rows: np.ndarray, codes: np.ndarray, home: np.ndarray, away: np.ndarray,
                  cols: tuple[str, str, str], label: str) -> None:
    """One side only, unknown codes, codes without a score, codes contradicting the score."""
    hcol, acol, rcol = cols
    hit = _first(np.isnan(home) != np.isnan(away))
    if hit:
        r = hit[0]
        missing = acol if np.isnan(away[r]) else hcol
        raise IngestError(path, int(rows[r]), missing, f"{label} goals given for one side only")
    given = ~pd.isna(codes)
    hit = _first(given & ~((codes == "H") | (codes == "D") | (codes == "A")))
    if hit:
        raise IngestError(path, int(rows[hit[0]]), rcol, f"result code must be H, D or A, got '{codes[hit[0]]}'")
    scored = ~np.isnan(home)
    hit = _first(given & ~scored)
    if hit:
        raise IngestError(path, int(rows[hit[0]]), hcol, f"{label} result '{codes[hit[0]]}' given without goals")
    hit = _first(given & scored & (codes != _result_codes(home, away).astype(object)))
    if hit:
        r = hit[0]
        raise IngestError(path, int(rows[r]), rcol,
                          f"{label} result '{codes[r]}' contradicts the score {int(home[r])}-{int(away[r])}")


def _parse_kickoff(path: Path, rows: np.ndarray, date: np.ndarray, time: np.ndarray | None) -> np.ndarray:
    """Day-first dates with 2- or 4-digit years (decided per value), plus hh:mm when a Time column exists."""
    codes, uniques = pd.factorize(date)
    days = pd.Series(uniques, dtype=str)
    day = pd.to_datetime(days, format="%d/%m/%Y", errors="coerce").fillna(
        pd.to_datetime(days, format="%d/%m/%y", errors="coerce"))  # %y: 69-99 -> 19xx, 00-68 -> 20xx
    hit = _first(day.isna().to_numpy()[codes])
    if hit:
        raise IngestError(path, int(rows[hit[0]]), "Date",
                          f"unrecognised date '{date[hit[0]]}' (expected a day-first dd/mm/yy or dd/mm/yyyy)")
    kickoff = day.to_numpy().astype("datetime64[ns]")[codes]
    if time is not None:
        codes, uniques = pd.factorize(np.where(pd.isna(time), "00:00", time))
        clocks = pd.Series(uniques, dtype=str)
        clock = pd.to_datetime(clocks, format="%H:%M", errors="coerce").fillna(
            pd.to_datetime(clocks, format="%H:%M:%S", errors="coerce"))
        hit = _first(clock.isna().to_numpy()[codes])
        if hit:
            raise IngestError(path, int(rows[hit[0]]), "Time",
                              f"unrecognised kick-off time '{time[hit[0]]}' (expected hh:mm)")
        kickoff = kickoff + (clock - pd.Timestamp("1900-01-01")).to_numpy().astype("timedelta64[ns]")[codes]
    return kickoff


def _season_code(start: int) -> str:
    return f"{start % 100:02d}{(start + 1) % 100:02d}"


def _row_hashes(texts: list[np.ndarray], numbers: np.ndarray, odds_values: np.ndarray,
                odds_labels: list[str], suffix: np.ndarray | None = None) -> list[str]:
    """sha256 per match of its text fields (then ``suffix``, per row), numbers and prices: equal
    content gives an equal hash.

    Numbers enter as little-endian float64 bytes (one NaN pattern for blanks) after the file's odds
    column labels; odds columns that are blank throughout a file are not part of it.
    """
    text = texts[0].astype(object)
    for part in texts[1:]:
        text = text + "|" + np.where(pd.isna(part), "", part).astype(object)
    if suffix is not None:
        text = text + suffix.astype(object)
    present = ~np.isnan(odds_values).all(axis=0)
    block = np.column_stack([numbers, odds_values[:, present]]).astype("<f8")
    block[np.isnan(block)] = np.nan
    labels = ("\x00" + "|".join(np.array(odds_labels, dtype=object)[present]) + "\x00").encode("utf-8")
    blob = np.ascontiguousarray(block)
    return [hashlib.sha256(t.encode("utf-8") + labels + row.tobytes()).hexdigest()
            for t, row in zip(text, blob, strict=True)]


def _match_status(path: Path, rows: np.ndarray, home: np.ndarray, away: np.ndarray, day: np.ndarray,
                  hg: np.ndarray, hthg: np.ndarray, htag: np.ndarray, ftr: np.ndarray, awarded: np.ndarray,
                  abandoned: np.ndarray, warnings: list[str]) -> np.ndarray:
    """``events.status`` of each row (file order), with one warning per match stored without a result.

    finished: full-time score; scheduled: no result yet; abandoned: a half-time score only;
    awarded: a result letter without goals; unplayed: no result although dated before the
    file's last finished match (postponed, or cancelled). More abandoned or awarded rows than a
    file plausibly holds mean a broken file (e.g. goal columns blanked), which is rejected.
    """
    finished = ~np.isnan(hg)
    status = np.where(finished, "finished", "scheduled").astype(object)
    status[abandoned] = "abandoned"
    status[awarded] = "awarded"
    odd = abandoned | awarded
    n_odd, limit = int(odd.sum()), max(_MAX_NO_RESULT_ROWS, len(rows) // 100)
    if n_odd > limit:
        r = int(np.flatnonzero(odd)[0])
        raise IngestError(path, int(rows[r]), "FTHG",
                          f"{'result' if awarded[r] else 'half-time score'} given without a full-time score "
                          f"({n_odd} rows have no full-time score but a result or half-time score)")
    if finished.any():
        last = day[finished].max()
        status[(status == "scheduled") & (day < last)] = "unplayed"
    else:
        last = None
    for r in np.flatnonzero(status != np.where(finished, "finished", "scheduled")):
        if status[r] == "abandoned":
            what = f"a half-time score ({int(hthg[r])}-{int(htag[r])}) but no full-time score"
        elif status[r] == "awarded":
            what = f"result '{ftr[r]}' but no goals"
        else:
            what = f"no result although the file has results up to {last}"
        warnings.append(f"{path.name}, row {rows[r]}: {home[r]} v {away[r]} on {day[r]} has {what}: "
                        f"stored as {status[r]}, without a result, and left out of training and fixtures")
    return status


# ----------------------------------------------------------------------------------------------
# The parser


def _classify_header(path: Path, header: list[str], warnings: list[str]
                     ) -> tuple[dict[str, int], list[tuple[int, str, OddsColumn]], list[str], dict[int, str]]:
    """Positions of the columns used, the price columns (canonical order), the unrecognised names and
    the line column of each Asian-handicap price (by header position).

    Price columns are read by name pattern (``odds.classify_odds_header``); a bookmaker prefix not
    seen before, and a price column left out (a prefix without its full set of selections, a second
    column for the same prices, a handicap price without its line column), each get one warning.
    """
    pos: dict[str, int] = {}
    unknown: list[str] = []
    named = ["" if name.startswith("Unnamed") else name for name in header]
    priced = classify_odds_header(named)
    odds_cols = [(i, header[i], kind) for i, kind in priced.columns.items()]
    used = ({header[i] for i in priced.columns} | set(priced.lines.values()) | set(_TEXT_COLUMNS)
            | set(_GOAL_COLUMNS) | set(_STAT_COLUMNS))
    for i, name in enumerate(named):
        if not name:
            continue
        if name in pos or (name in used and name in named[:i]):
            raise IngestError(path, 1, name, "column appears twice in the header")
        if i in priced.columns or name in used:
            pos[name] = i
        elif name in priced.incomplete or (
                name not in _KNOWN_UNUSED and not is_asian_handicap_column(name)
                and name not in {n for n, _ in priced.repeated}):
            unknown.append(name)
    for name in REQUIRED_COLUMNS:
        if name not in pos:
            raise IngestError(path, 1, name, "required column is missing")
    for book, names in priced.new_bookmakers.items():
        warnings.append(f"{path.name}: read columns {', '.join(names)} as prices of bookmaker '{book}', "
                        "a prefix not seen before")
    for name, first in priced.repeated:
        warnings.append(f"{path.name}: ignored column {name}: same prices as column {first}")
    for name, line in priced.unlined:
        warnings.append(f"{path.name}, row 1, column {name}: Asian-handicap price without its line column {line} "
                        "in the header: not stored")
    # Same prices in a canonical order, whatever the column order of the file.
    odds_cols.sort(key=lambda c: (_MARKET_ORDER[c[2].market], c[2].is_closing, c[2].bookmaker,
                                  MARKET_SELECTIONS[c[2].market].index(c[2].selection)))
    return pos, odds_cols, unknown, priced.lines


def parse_file(path: str | Path, *, bad_odds: Literal["warn", "raise"] = "warn") -> ParsedFile:
    """Read and validate one football-data.co.uk CSV file.

    Raises ``IngestError`` (file, line, column) on anything that makes the file untrustworthy:
    malformed CSV, missing columns, unknown dates, impossible scores or results, duplicate matches,
    a file cut off mid-row, a file whose name says another league or season than its content.
    Invalid single prices are dropped with a warning unless ``bad_odds="raise"``. Abandoned, awarded
    and unplayed matches are kept, without a result, with a warning (see ``_match_status``).
    """
    if bad_odds not in ("warn", "raise"):
        raise ValueError(f"bad_odds must be 'warn' or 'raise', got {bad_odds!r}")
    path = Path(path)
    if not path.exists():
        raise IngestFileNotFoundError(path, message=f"no such file: {path}")
    if not path.is_file():
        raise IngestError(path, None, None, f"{path} is not a file")
    data = path.read_bytes()
    content_hash = hashlib.sha256(data).hexdigest()
    text, encoding, warnings = decode(path, data)
    if not text.strip():
        raise IngestError(path, None, None, "file is empty")
    raw = scan_quoted(path, text) if '"' in text else scan_unquoted(path, text)
    pos, odds_cols, unknown, lines_of = _classify_header(path, raw.header, warnings)
    if unknown:
        warnings.append(f"{path.name}: ignored unrecognised columns {', '.join(unknown)}")
    int_names = [c for c in list(_GOAL_COLUMNS) + list(_STAT_COLUMNS) if c in pos]
    line_names = sorted(set(lines_of.values()), key=pos.__getitem__)
    numeric_cols = [pos[c] for c in int_names] + [i for i, _, _ in odds_cols] + [pos[c] for c in line_names]
    read_cells(path, raw, [pos[c] for c in _TEXT_COLUMNS if c in pos], numeric_cols)

    # --- rows that hold a match
    home, away, date = (_text(raw, pos, c) for c in ("HomeTeam", "AwayTeam", "Date"))
    no_identity = pd.isna(home) & pd.isna(away) & pd.isna(date)
    stray = no_identity & ~raw.empty
    if stray.any():
        warnings.append(f"{path.name}: skipped {int(stray.sum())} row(s) without teams or date "
                        f"(rows {', '.join(map(str, raw.lines[stray][:5]))})")
    record = np.flatnonzero(~no_identity)  # positions in the raw records
    if not record.size:
        raise IngestError(path, None, None, "file has a header but no match rows")
    n = len(record)
    rows = raw.lines[record]
    home, away, date = home[record], away[record], date[record]
    div, time, ftr, htr, referee = (_text(raw, pos, c)[record] for c in ("Div", "Time", "FTR", "HTR", "Referee"))
    numbers, invalid = raw.numbers[record], raw.invalid[record]

    for col, values in (("HomeTeam", home), ("AwayTeam", away), ("Date", date), ("Div", div)):
        hit = _first(pd.isna(values))
        if hit:
            raise IngestError(path, int(rows[hit[0]]), col, f"{col} is empty")
    hit = _first(div != div[0])
    if hit:
        raise IngestError(path, int(rows[hit[0]]), "Div", f"file mixes divisions: '{div[hit[0]]}' after '{div[0]}'")
    competition = str(div[0])
    hit = _first(home == away)
    if hit:
        raise IngestError(path, int(rows[hit[0]]), "AwayTeam", f"home and away team are the same ('{home[hit[0]]}')")
    kickoff = _parse_kickoff(path, rows, date, time if "Time" in pos else None)

    # --- goals and statistics: non-negative integers (possibly written as 6.0) or blank
    k = len(int_names)
    int_vals = numbers[:, :k]
    with np.errstate(invalid="ignore"):
        int_bad = invalid[:, :k] | (~np.isnan(int_vals) & ((int_vals < 0) | (int_vals != np.floor(int_vals))))
    hit = _first(int_bad)
    if hit:
        r, j = hit
        name = int_names[j]
        raise IngestError(path, int(rows[r]), name, f"{_WHAT[name]} must be a non-negative integer, "
                                                    f"got '{raw.source(record[r], pos[name]).strip()}'")
    nan = np.full(n, np.nan)
    ints = {name: int_vals[:, j] for j, name in enumerate(int_names)}
    hg, ag = ints["FTHG"], ints["FTAG"]
    if "FTR" not in pos and (~np.isnan(hg) | ~np.isnan(ag)).any():
        raise IngestError(path, 1, "FTR", "required column is missing (the file has full-time goals)")
    # A result letter without goals: a match awarded at the table (its half-time cells are not checked).
    awarded = np.isnan(hg) & np.isnan(ag) & np.isin(ftr, ["H", "D", "A"])
    _check_result(path, rows, np.where(awarded, None, ftr), hg, ag, ("FTHG", "FTAG", "FTR"), "full-time")
    hthg, htag = ints.get("HTHG", nan), ints.get("HTAG", nan)
    _check_result(path, rows, np.where(awarded, None, htr), np.where(awarded, np.nan, hthg),
                  np.where(awarded, np.nan, htag), ("HTHG", "HTAG", "HTR"), "half-time")
    # A half-time score without a full-time one: a match abandoned after half-time.
    abandoned = ~awarded & ~np.isnan(hthg) & np.isnan(hg)
    for ht, ft, col in ((hthg, hg, "HTHG"), (htag, ag, "HTAG")):
        hit = _first(ht > ft)
        if hit:
            r = hit[0]
            raise IngestError(path, int(rows[r]), col,
                              f"half-time goals ({int(ht[r])}) exceed full-time goals ({int(ft[r])})")

    # --- one row per match: home, away and date identify it
    day = kickoff.astype("datetime64[D]")
    team_codes, _ = pd.factorize(np.concatenate([home, away]))
    day_num = day.astype(np.int64)
    key = (team_codes[:n].astype(np.int64) * (n + 1) + team_codes[n:]) * 100_000 + (day_num - day_num.min())
    _, first_pos, inverse = np.unique(key, return_index=True, return_inverse=True)
    hit = _first(np.arange(n) != first_pos[inverse])
    if hit:
        r = hit[0]
        raise IngestError(path, int(rows[r]), "HomeTeam", f"duplicate match {home[r]} v {away[r]} on {day[r]} "
                                                          f"(first at row {rows[first_pos[inverse[r]]]})")

    status = _match_status(path, rows, home, away, day, hg, hthg, htag, ftr, awarded, abandoned, warnings)

    # --- season: from the dates, checked against the file name
    first_idx = int(np.argmin(kickoff))
    first_day = pd.Timestamp(kickoff[first_idx])
    start = first_day.year if first_day.month >= 7 else first_day.year - 1
    season = _season_code(start)
    hit = _first(kickoff >= np.datetime64(f"{start + 1}-09-01"))
    if hit:
        raise IngestError(path, int(rows[hit[0]]), "Date",
                          f"{day[hit[0]]} lies outside season {season}, which starts {day[first_idx]}: "
                          "the file mixes seasons")
    named = _FILE_NAME.match(path.name)
    if named:
        if named["div"].upper() != competition.upper():
            raise IngestError(path, int(rows[0]), "Div",
                              f"file name says league {named['div']} but the rows are {competition}")
        if named["season"] != season:
            raise IngestError(path, int(rows[first_idx]), "Date",
                              f"file name says season {named['season']} but the matches start "
                              f"{day[first_idx]}, i.e. season {season}")

    # --- odds, and the lines of the handicap prices
    cells, n_odds = FileCells(path, raw, record, rows), len(odds_cols)
    odds_vals = check_prices(cells, odds_cols, numbers[:, k:k + n_odds], invalid[:, k:k + n_odds], bad_odds,
                             warnings)
    warn_missing_prices(path, warnings, odds_cols, odds_vals, ~np.isnan(hg), rows)
    raw_lines = numbers[:, k + n_odds:]
    line_vals, line_index = handicap_lines(cells, odds_cols, lines_of, [(pos[c], c) for c in line_names], raw_lines,
                                           invalid[:, k + n_odds:], odds_vals, warnings)

    # --- assemble, sorted by kickoff
    o = np.argsort(kickoff, kind="stable")
    comp_col, season_col = np.full(n, competition, dtype=object), np.full(n, season, dtype=object)
    columns: dict[str, np.ndarray] = {
        "competition": comp_col, "season": season_col, "kickoff": kickoff[o], "home_team": home[o],
        "away_team": away[o],
    }
    for src, dst in _GOAL_COLUMNS.items():
        columns[dst] = ints.get(src, nan)[o]
    columns["result"] = ftr[o]
    for src, dst in _STAT_COLUMNS.items():
        columns[dst] = ints.get(src, nan)[o]
    columns["referee"] = referee[o]
    odds_vals, line_vals = odds_vals[o], line_vals[o]
    kinds = [c for _, _, c in odds_cols]
    labels = [f"{c.bookmaker}/{c.market}/{c.selection}/{'close' if c.is_closing else 'open'}" for c in kinds]
    labels += [f"line/{name}" for name in line_names]
    stacked = np.column_stack([columns[c] for c in RESULT_COLUMNS + STAT_COLUMNS])
    texts = [comp_col, season_col, np.datetime_as_string(columns["kickoff"], unit="m"), columns["home_team"],
             columns["away_team"], columns["result"], columns["referee"]]
    status = status[o]
    # Played and scheduled rows hash as before statuses existed; the others add their status, which
    # for "unplayed" depends on other rows of the file.
    suffix = np.where(np.isin(status, NO_RESULT_STATUSES), "|" + status.astype(object), "")
    priced = np.column_stack([odds_vals, raw_lines[o]])
    columns["row_hash"] = np.array(_row_hashes(texts, stacked, priced, labels, suffix), dtype=object)
    off = np.isin(status, NO_RESULT_STATUSES)
    if off.any():  # stored without a result: no goals, result letter or statistics
        for col in RESULT_COLUMNS + STAT_COLUMNS:
            columns[col] = np.where(off, np.nan, columns[col])
        columns["result"] = np.where(off, None, columns["result"])
    columns["status"] = status.astype(object)
    for col in ("result", "referee"):  # object dtype keeps None (not NaN) for a missing value, as in schema.py
        columns[col] = pd.Series(columns[col], dtype=object)
    matches = pd.DataFrame({c: columns[c] for c in MATCH_COLUMNS + ["row_hash", "status"]})

    return ParsedFile(path=path, competition=competition, season=season, matches=matches, odds_prices=odds_vals,
                      odds_kinds=kinds, row_numbers=rows[o], content_hash=content_hash, encoding=encoding,
                      warnings=warnings, line_values=line_vals, line_index=line_index)
