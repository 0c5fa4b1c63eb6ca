"""Bookmaker odds in football-data.co.uk files: column names to (bookmaker, market, selection, closing),
and the wide reference prices (``odds_open_*``, ``odds_close_*``, ``odds_best_*``) used by models and backtests.

Columns are recognised by name pattern, not by a per-season list, because bookmakers come and go
between seasons (Gamebookers until 2012/13, Betfair from 2024/25, ...):

* 1X2: ``<book>[C]<H|D|A>``, e.g. ``B365H``, ``PSCH`` (Pinnacle closing home), ``MaxCA``, ``BbAvD``;
* totals 2.5 goals: ``<book>[C]<>|<>2.5``, e.g. ``B365>2.5``, ``P<2.5`` (Pinnacle), ``AvgC>2.5``.

Asian handicap columns (``AHh``, ``B365AHH``, ``PCAHA``, ``BbAHh``, ...) are recognised and ignored:
a handicap price is meaningless without its line, and no model here prices handicaps.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from formguide.core.errors import DataValidationError
from formguide.football.schema import OUTCOMES_1X2, OUTCOMES_OU

# football-data prefix -> bookmaker name stored in the odds table.
BOOKMAKERS: dict[str, str] = {
    "B365": "Bet365",
    "BW": "Bet&Win",
    "IW": "Interwetten",
    "PS": "Pinnacle",
    "P": "Pinnacle",  # totals columns use P>2.5 / PC>2.5 for Pinnacle
    "WH": "William Hill",
    "VC": "VC Bet",
    "LB": "Ladbrokes",
    "GB": "Gamebookers",
    "SB": "Sportingbet",
    "SJ": "Stan James",
    "BS": "Blue Square",
    "SO": "Sporting Odds",
    "SY": "Stanleybet",
    "BF": "Betfair",
    "BFE": "Betfair exchange",
    "1XB": "1xBet",
    "Max": "Market max",
    "Avg": "Market average",
    "BbMx": "Betbrain max",
    "BbAv": "Betbrain average",
}
# Longest first so that BFE wins over BF and PS over P.
_PREFIX = "|".join(sorted((re.escape(p) for p in BOOKMAKERS if p != "P"), key=len, reverse=True))
_RE_1X2 = re.compile(rf"^(?P<book>{_PREFIX})(?P<closing>C?)(?P<sel>[HDA])$")
_RE_OU = re.compile(rf"^(?P<book>{_PREFIX}|P)(?P<closing>C?)(?P<sel>[<>])2\.5$")
_RE_ASIAN = re.compile(r"^[A-Za-z0-9]*AH(?:C?h|[HA])?$")
_OU_SELECTION = {">": "over", "<": "under"}

MARKET_1X2 = "1X2"
MARKET_OU = "OU2.5"

# Reference prices (see schema.py): first bookmaker with a complete set of prices for the match wins.
OPEN_PRIORITY = ("Pinnacle", "Market average", "Betbrain average", "Bet365")
CLOSE_PRIORITY = ("Pinnacle", "Market average")
# Exchange prices are before commission (2-5% of winnings) and beat the market maximum about half the
# time in 2024/25, the only season that has them; a "best" that used them would not be a price a
# bettor got, and would jump at 2024/25.
EXCLUDED_FROM_BEST = ("Betfair exchange",)

WIDE_ODDS_COLUMNS = [
    f"odds_{kind}_{sel}" for sels in (OUTCOMES_1X2, OUTCOMES_OU) for kind in ("open", "close", "best") for sel in sels
]


class OddsColumn(NamedTuple):
    bookmaker: str
    market: str
    selection: str
    is_closing: bool


def classify_odds_column(name: str) -> OddsColumn | None:
    """What a football-data column holds, or None if it is not a 1X2 / over-under 2.5 price."""
    m = _RE_1X2.match(name)
    if m:
        return OddsColumn(BOOKMAKERS[m["book"]], MARKET_1X2, m["sel"], m["closing"] == "C")
    m = _RE_OU.match(name)
    if m:
        return OddsColumn(BOOKMAKERS[m["book"]], MARKET_OU, _OU_SELECTION[m["sel"]], m["closing"] == "C")
    return None


def is_asian_handicap_column(name: str) -> bool:
    return bool(_RE_ASIAN.match(name))


def _codes(*columns: tuple[pd.Series, pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of (left, right) value pairs that agree across both sides, combined over columns."""
    left = np.zeros(len(columns[0][0]), dtype=np.int64)
    right = np.zeros(len(columns[0][1]), dtype=np.int64)
    for a, b in columns:
        codes, uniques = pd.factorize(np.concatenate([np.asarray(a), np.asarray(b)]))
        left = left * (len(uniques) + 1) + codes[: len(a)]
        right = right * (len(uniques) + 1) + codes[len(a):]
    return left, right


def _match_rows(matches: pd.DataFrame, odds: pd.DataFrame) -> np.ndarray:
    """Row of ``matches`` for each odds row (-1 where none); raises if a match key appears twice."""
    def kick(frame: pd.DataFrame) -> pd.Series:
        return pd.to_datetime(frame["kickoff"]).astype("datetime64[ns]").astype(np.int64)

    def text(frame: pd.DataFrame, col: str) -> np.ndarray:
        return frame[col].to_numpy(dtype=object)

    teams = pd.factorize(np.concatenate([text(matches, "home_team"), text(matches, "away_team"),
                                         text(odds, "home_team"), text(odds, "away_team")]))[0]
    n, k = len(matches), len(odds)
    home = (teams[:n], teams[2 * n: 2 * n + k])
    away = (teams[n: 2 * n], teams[2 * n + k:])
    left, right = _codes((text(matches, "competition"), text(odds, "competition")),
                         (text(matches, "season"), text(odds, "season")), (kick(matches), kick(odds)))
    span = int(teams.max()) + 2 if len(teams) else 1
    left = (left * span + home[0]) * span + away[0]
    right = (right * span + home[1]) * span + away[1]
    index = pd.Index(left)
    if not index.is_unique:
        dup = matches.iloc[int(np.flatnonzero(index.duplicated())[0])]
        raise DataValidationError(
            f"matches contain the same match twice: {dup['home_team']} v {dup['away_team']} on {dup['kickoff']}"
        )
    return index.get_indexer(right)


def _first_complete(blocks: list[np.ndarray], n: int, k: int) -> np.ndarray:
    """Row-wise: prices of the first block whose k selections are all present, else NaN."""
    out = np.full((n, k), np.nan)
    chosen = np.zeros(n, dtype=bool)
    for block in blocks:
        take = ~chosen & ~np.isnan(block).any(axis=1)
        out[take] = block[take]
        chosen |= take
    return out


def _row_max(blocks: list[np.ndarray], n: int, k: int) -> np.ndarray:
    if not blocks:
        return np.full((n, k), np.nan)
    return np.fmax.reduce(np.stack(blocks), axis=0)  # fmax ignores NaN unless all are NaN


def attach_wide_odds(matches: pd.DataFrame, odds: pd.DataFrame) -> pd.DataFrame:
    """``matches`` with the wide reference odds columns added (NaN where no price exists).

    open: Pinnacle, else market average, else Betbrain average, else Bet365 (pre-closing prices);
    close: Pinnacle closing, else market average closing;
    best: per selection the maximum over all closing bookmaker prices of the market if the match has
    any, else over all pre-closing ones (including market / Betbrain maxima); exchange prices
    (``EXCLUDED_FROM_BEST``) are left out because they are quoted before commission.
    A reference bookmaker is used only with a complete set of prices for the market, so that the
    three 1X2 prices always come from one book. Odds rows whose key matches no match are ignored.
    """
    out = matches.copy()
    n = len(out)
    row = _match_rows(matches, odds)
    keep = row >= 0
    row = row[keep]
    # One column per (market, selection, bookmaker, closing) present: a pivot done with integer codes.
    parts = [pd.factorize(odds[c].to_numpy(dtype=object)[keep]) for c in ("market", "selection", "bookmaker")]
    closing = odds["is_closing"].to_numpy(dtype=bool)[keep]
    combined = ((parts[0][0] * len(parts[1][1]) + parts[1][0]) * len(parts[2][1]) + parts[2][0]) * 2 + closing
    col, combo_codes = pd.factorize(combined)
    combos = []
    for code in combo_codes:
        rest, c = divmod(int(code), 2)
        rest, b = divmod(rest, len(parts[2][1]))
        m, s = divmod(rest, len(parts[1][1]))
        combos.append((parts[0][1][m], parts[1][1][s], parts[2][1][b], bool(c)))
    grid = np.full((n, len(combos)), np.nan)
    filled = np.zeros((n, len(combos)), dtype=bool)
    grid[row, col] = odds["price"].to_numpy(dtype=float)[keep]
    filled[row, col] = True
    if filled.sum() != len(row):
        raise DataValidationError("odds contain more than one price for the same match, bookmaker and selection")
    position = {c: j for j, c in enumerate(combos)}
    books = {(m, b, c) for m, _, b, c in combos}

    def block(market: str, sels: tuple[str, ...], book: str, closing: bool) -> np.ndarray:
        cols = [position.get((market, s, book, closing)) for s in sels]
        return np.column_stack([grid[:, j] if j is not None else np.full(n, np.nan) for j in cols])

    wide: dict[str, np.ndarray] = {}
    for market, sels in ((MARKET_1X2, OUTCOMES_1X2), (MARKET_OU, OUTCOMES_OU)):
        k = len(sels)
        opening = _first_complete([block(market, sels, b, False) for b in OPEN_PRIORITY], n, k)
        closing = _first_complete([block(market, sels, b, True) for b in CLOSE_PRIORITY], n, k)
        usable = sorted((b, c) for (m, b, c) in books if m == market and b not in EXCLUDED_FROM_BEST)
        all_close = [block(market, sels, b, True) for b, c in usable if c]
        all_open = [block(market, sels, b, False) for b, c in usable if not c]
        best_close, best_open = _row_max(all_close, n, k), _row_max(all_open, n, k)
        has_close = ~np.isnan(best_close).all(axis=1)
        best = np.where(has_close[:, None], best_close, best_open)
        for j, sel in enumerate(sels):
            wide[f"odds_open_{sel}"], wide[f"odds_close_{sel}"], wide[f"odds_best_{sel}"] = (
                opening[:, j], closing[:, j], best[:, j])
    for col in WIDE_ODDS_COLUMNS:
        out[col] = wide[col]
    return out
