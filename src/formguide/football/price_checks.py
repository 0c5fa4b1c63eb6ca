"""The price cells of one football-data file checked: invalid prices, blank prices, Asian-handicap lines.

Every check is an array operation over the file's (matches, price columns) block; what it finds is a
warning naming file, row and column, or, for a file whose prices cannot be trusted (many invalid prices,
or any with ``bad_odds="raise"``), an ``IngestError``. A handicap price is only meaningful at its line,
so one whose line is blank, not a number or not a multiple of 0.25 is dropped with a warning, and never
costs the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from formguide.core.errors import IngestError
from formguide.football.csvread import Raw
from formguide.football.odds import OddsColumn

__all__ = ["FileCells", "check_prices", "handicap_lines", "warn_missing_prices"]

# Invalid prices in more rows than this (or 1% of the matches) mean a broken file, not a typo.
MAX_BAD_ODDS_ROWS = 5
# Rows named one by one in the warnings about one handicap line column; the rest are counted.
MAX_LINE_WARNINGS = 5

PriceColumns = list[tuple[int, str, OddsColumn]]  # (header position, name, kind) in canonical order


@dataclass(frozen=True)
class FileCells:
    """Where the match rows of a file are: for messages naming a row and the cell as written."""

    path: Path
    raw: Raw
    record: np.ndarray  # position of each match in the raw records
    rows: np.ndarray  # line of each match in the file (header = line 1)

    def cell(self, r: int, position: int) -> str:
        return self.raw.source(int(self.record[r]), position).strip()


def check_prices(cells: FileCells, odds_cols: PriceColumns, values: np.ndarray, invalid: np.ndarray,
                 bad_odds: Literal["warn", "raise"], warnings: list[str]) -> np.ndarray:
    """The prices with invalid cells (not a number, or not above 1.0) blanked, each with a warning.

    Raises for the first invalid price with ``bad_odds="raise"``, or when more rows hold one than a file
    plausibly does (``MAX_BAD_ODDS_ROWS`` or 1% of the matches).
    """
    with np.errstate(invalid="ignore"):
        bad = invalid | (values <= 1.0)
    if not bad.any():
        return values
    n_bad = int(bad.any(axis=1).sum())
    limit = max(MAX_BAD_ODDS_ROWS, len(values) // 100)
    if bad_odds == "raise" or n_bad > limit:
        r, j = (int(x) for x in np.argwhere(bad)[0])
        i, name, _ = odds_cols[j]
        many = f" ({n_bad} rows have invalid prices)" if n_bad > limit else ""
        raise IngestError(cells.path, int(cells.rows[r]), name,
                          f"odds must be a decimal price above 1.0, got '{cells.cell(r, i)}'{many}")
    for r, j in np.argwhere(bad):
        i, name, _ = odds_cols[j]
        warnings.append(f"{cells.path.name}, row {cells.rows[r]}, column {name}: ignored invalid price "
                        f"'{cells.cell(r, i)}'")
    return np.where(bad, np.nan, values)


def warn_missing_prices(path: Path, warnings: list[str], odds_cols: PriceColumns, values: np.ndarray,
                        played: np.ndarray, rows: np.ndarray) -> None:
    """One warning per bookmaker, market and timing whose prices are blank for some matches.

    Closing prices are only expected for matches already played.
    """
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for j, (_, _, kind) in enumerate(odds_cols):
        groups.setdefault((kind.bookmaker, kind.market, kind.is_closing), []).append(j)
    for (book, market, closing), cols in groups.items():
        block = values[:, cols]
        if np.isnan(block).all():
            continue
        expected = played if closing else np.ones(len(rows), dtype=bool)
        missing = np.isnan(block).any(axis=1) & expected
        if missing.any():
            names = ", ".join(odds_cols[j][1] for j in cols)
            shown = ", ".join(map(str, rows[missing][:5])) + (", ..." if missing.sum() > 5 else "")
            warnings.append(f"{path.name}: {book} {market} {'closing' if closing else 'pre-closing'} prices "
                            f"({names}) missing for {int(missing.sum())} match(es) (rows {shown})")


def handicap_lines(cells: FileCells, odds_cols: PriceColumns, lines_of: dict[int, str],
                   line_cols: list[tuple[int, str]], values: np.ndarray, invalid: np.ndarray, prices: np.ndarray,
                   warnings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(line values, line column of each price column: -1 none) of the file's Asian-handicap prices.

    ``line_cols`` are the (header position, name) of the line columns, ``values`` / ``invalid`` their
    cells. Where a row has handicap prices but their line is unusable, those prices are blanked in
    ``prices`` (in place) and the row named in a warning; unusable lines come back as NaN.
    """
    names = [name for _, name in line_cols]
    index = np.array([names.index(lines_of[i]) if i in lines_of else -1 for i, _, _ in odds_cols], dtype=np.int64)
    values = np.where(invalid, np.nan, values)
    with np.errstate(invalid="ignore"):
        off_grid = np.isfinite(values) & (np.abs(values * 4.0 - np.round(values * 4.0)) > 1e-9)
    for c, (position, line) in enumerate(line_cols):
        cols = np.flatnonzero(index == c)
        why = np.select([invalid[:, c], off_grid[:, c], np.isnan(values[:, c])],
                        ["is not a number", "is not a multiple of 0.25", "is blank"], "")
        hits = np.flatnonzero((why != "") & ~np.isnan(prices[:, cols]).all(axis=1))
        priced = ", ".join(odds_cols[j][1] for j in cols)
        for r in hits[:MAX_LINE_WARNINGS]:
            cell = cells.cell(r, position)
            shown = f"handicap line '{cell}'" if cell else "handicap line"
            warnings.append(f"{cells.path.name}, row {cells.rows[r]}, column {line}: {shown} {why[r]}: the row's "
                            f"Asian-handicap prices ({priced}) are not stored")
        if len(hits) > MAX_LINE_WARNINGS:
            more = hits[MAX_LINE_WARNINGS:]
            warnings.append(f"{cells.path.name}, column {line}: {len(more)} more rows with an unusable handicap "
                            f"line (rows {', '.join(map(str, cells.rows[more[:5]]))}"
                            f"{', ...' if len(more) > 5 else ''}): their Asian-handicap prices are not stored")
        prices[np.ix_(hits, cols)] = np.nan
        values[off_grid[:, c], c] = np.nan
    return values, index
