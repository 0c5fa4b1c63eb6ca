"""Bookmaker odds in football-data.co.uk files: column names to (bookmaker, market, selection, closing),
and the wide reference prices (``odds_open_*``, ``odds_close_*``, ``odds_best_*``) used by models and backtests.

Columns are recognised by the site's documented name pattern, not by a per-season list, because
bookmakers come and go between seasons (Gamebookers until 2012/13, Betfair from 2024/25, ...).
A price column is ``<prefix>[C]<suffix>``: a bookmaker prefix, ``C`` for a closing price, then

* 1X2: ``H`` / ``D`` / ``A``, e.g. ``B365H``, ``PSCH`` (Pinnacle closing home), ``MaxCA``, ``BbAvD``;
* totals 2.5 goals: ``>2.5`` / ``<2.5``, e.g. ``B365>2.5``, ``P<2.5`` (Pinnacle), ``AvgC>2.5``;
* Asian handicap: ``AHH`` / ``AHA`` (home / away), e.g. ``B365AHH``, ``PCAHA`` (Pinnacle closing away),
  ``BbMxAHH`` (Betbrain maximum).

Prefixes in ``BOOKMAKERS`` get their stored name ("Bet365", "Pinnacle", ...; the aggregates ``Max``,
``Avg``, ``BbMx``, ``BbAv`` are "Market max" etc., not bookmakers, and keep that treatment). A prefix
never seen before is a bookmaker of that name (``XYZH`` is bookmaker "XYZ", 1X2 home): its prices
are stored and count towards the best price. In a file, an unknown prefix is only read when the
file has its full set for the market and timing (``XYZH``, ``XYZD``, ``XYZA``; ``XYZ>2.5`` and
``XYZ<2.5``), so that a stray column such as ``ID`` is not taken for a draw price
(``classify_odds_header``).

An Asian-handicap price is meaningless without its line, which the files give in separate columns: the
home side's handicap ``AHh`` (pre-closing) and ``AHCh`` (closing) from 2019/20, ``BbAHh`` for the Betbrain
prices before (``BbAH`` is the number of bookmakers, not read). ``handicap_line_column`` says which line
column a price is at; the stored price carries that row's line (``odds.line``), and a price whose line is
missing or not a multiple of 0.25 is not stored (``check_handicap_lines``). Over/under 2.5 prices carry the
line 2.5 (``MARKET_LINES``); 1X2 prices have none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from formguide.core.errors import DataValidationError
from formguide.football.schema import OUTCOMES_1X2, OUTCOMES_AH, OUTCOMES_OU

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
# <prefix><suffix>, the prefix possibly ending in the closing mark C (resolved by _split_prefix).
_RE_PRICE = re.compile(r"^(?P<stem>[A-Za-z0-9]+)(?P<sel>[HDA]|[<>]2\.5)$")
# <prefix>[C]AH<H|A> prices, AHh / <prefix>AHh / AHCh lines, BbAH (number of bookmakers).
_RE_ASIAN = re.compile(r"^(?:[A-Za-z0-9]*AH(?:C?h|[HA])|BbAH)$")
_RE_AH_PRICE = re.compile(r"^(?P<stem>[A-Za-z0-9]+?)AH(?P<sel>[HA])$")
_OU_SELECTION = {">": "over", "<": "under"}
_AH_SELECTION = {"H": "home", "A": "away"}

MARKET_1X2 = "1X2"
MARKET_OU = "OU2.5"
MARKET_AH = "AH"
#: Selections of each market, in canonical order.
MARKET_SELECTIONS: dict[str, tuple[str, ...]] = {MARKET_1X2: OUTCOMES_1X2, MARKET_OU: OUTCOMES_OU,
                                                 MARKET_AH: OUTCOMES_AH}
#: The line of a market whose line is fixed by its name (``odds.line``); the handicap's comes per row.
MARKET_LINES: dict[str, float] = {MARKET_OU: 2.5}

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
#: Wide Asian-handicap columns: the home line and the home / away prices at it, per kind of reference.
WIDE_AH_COLUMNS = [c for kind in ("open", "close", "best")
                   for c in (f"ah_line_{kind}", f"odds_{kind}_ah_home", f"odds_{kind}_ah_away")]


class OddsColumn(NamedTuple):
    bookmaker: str
    market: str
    selection: str
    is_closing: bool


def _split_prefix(stem: str, prefixes: Collection[str] = ()) -> tuple[str, bool]:
    """(bookmaker prefix, closing) of the part of a column name before its selection suffix.

    A known prefix wins (``VC`` is VC Bet, ``VCC`` VC Bet closing, ``PSC`` Pinnacle closing). An
    unknown one ending in ``C`` is that prefix's closing price unless ``prefixes`` (the other
    stems of the same file and market) shows the ``C`` to be part of the name: a file with
    ``ABCH`` and ``ABCCH`` has a bookmaker ``ABC``.
    """
    if stem in BOOKMAKERS:
        return stem, False
    if len(stem) > 1 and stem.endswith("C"):
        if stem[:-1] in BOOKMAKERS:
            return stem[:-1], True
        if stem + "C" not in prefixes:
            return stem[:-1], True
    return stem, False


def _price_parts(name: str) -> tuple[str, str, str] | None:
    """(market, selection, stem) of a price column's name, or None (line columns, ``BbAH``, anything else)."""
    if m := _RE_AH_PRICE.match(name):
        return MARKET_AH, _AH_SELECTION[m["sel"]], m["stem"]
    if _RE_ASIAN.match(name):
        return None
    if m := _RE_PRICE.match(name):
        sel = m["sel"]
        return (MARKET_1X2, sel, m["stem"]) if len(sel) == 1 else (MARKET_OU, _OU_SELECTION[sel[0]], m["stem"])
    return None


def _classify(name: str, stems: Collection[str] = ()) -> tuple[OddsColumn, bool, str] | None:
    """(kind, known prefix, prefix as written) of a price column, or None."""
    parts = _price_parts(name)
    if parts is None:
        return None
    market, selection, stem = parts
    prefix, closing = _split_prefix(stem, stems)
    known = prefix in BOOKMAKERS
    return OddsColumn(BOOKMAKERS.get(prefix, prefix), market, selection, closing), known, prefix


def classify_odds_column(name: str) -> OddsColumn | None:
    """What a football-data column holds, or None if it is not a 1X2, over/under 2.5 or Asian-handicap price.

    An unknown prefix is a bookmaker of that name: ``XYZCH`` is ("XYZ", "1X2", "H", closing), ``PCAHA``
    ("Pinnacle", "AH", "away", closing). Line columns (``AHh``, ``AHCh``, ``BbAHh``) are not prices: None.
    """
    got = _classify(name)
    return got[0] if got else None


def handicap_line_column(prefix: str, closing: bool, header: Collection[str]) -> str | None:
    """The column of ``header`` holding the line of an Asian-handicap price of ``prefix``, or None.

    A bookmaker's own line column (``<prefix>AHh``) if the file has one; the Betbrain prices (``BbMx``,
    ``BbAv``) are at ``BbAHh``; every other bookmaker's at the common ``AHh`` / ``AHCh`` (closing). A
    Betbrain price never falls back to the common line, which belongs to other bookmakers' prices.
    """
    return next((c for c in _line_candidates(prefix, closing) if c in header), None)


def _line_candidates(prefix: str, closing: bool) -> list[str]:
    """Line columns an Asian-handicap price of ``prefix`` may be at, the usual one last."""
    suffix = "AHCh" if closing else "AHh"
    return [prefix + suffix] + (["Bb" + suffix] if prefix.startswith("Bb") else [suffix])


class HeaderOdds(NamedTuple):
    """The price columns of one file's header (``classify_odds_header``)."""

    columns: dict[int, OddsColumn]  # header position -> kind
    new_bookmakers: dict[str, list[str]]  # unknown prefix read as a bookmaker -> its columns
    incomplete: list[str]  # columns of an unknown prefix without the full set: not read
    repeated: list[tuple[str, str]]  # (column, earlier column with the same kind): the later one not read
    lines: dict[int, str]  # header position of an Asian-handicap price -> its line column
    unlined: list[tuple[str, str]]  # (Asian-handicap price, the line column the header lacks): not read


def classify_odds_header(header: Sequence[str]) -> HeaderOdds:
    """Price columns of a header, by pattern (see the module docstring).

    Columns of an unknown prefix are read only when the header has the prefix's full set of
    selections for the market and timing. A second column with the same kind as an earlier one
    (e.g. ``PS>2.5`` next to ``P>2.5``, both Pinnacle) is left out rather than stored twice.
    """
    stems: dict[str, set[str]] = {}
    parts = {name: _price_parts(name) for name in header if name}
    for got in parts.values():
        if got:
            stems.setdefault(got[0], set()).add(got[2])
    found: list[tuple[int, str, OddsColumn, bool, str]] = []
    for i, name in enumerate(header):
        if parts.get(name) and (got := _classify(name, stems[parts[name][0]])):
            found.append((i, name, *got))
    # Full sets of the unknown prefixes: (bookmaker, market, closing) -> selections present.
    sets: dict[tuple[str, str, bool], set[str]] = {}
    for _, _, kind, known, _ in found:
        if not known:
            sets.setdefault((kind.bookmaker, kind.market, kind.is_closing), set()).add(kind.selection)
    present = set(parts)
    out = HeaderOdds({}, {}, [], [], {}, [])
    seen: dict[OddsColumn, str] = {}
    for i, name, kind, known, prefix in found:
        if not known and sets[(kind.bookmaker, kind.market, kind.is_closing)] != set(MARKET_SELECTIONS[kind.market]):
            out.incomplete.append(name)
            continue
        line = handicap_line_column(prefix, kind.is_closing, present) if kind.market == MARKET_AH else None
        if kind.market == MARKET_AH and line is None:
            out.unlined.append((name, _line_candidates(prefix, kind.is_closing)[-1]))
            continue
        if kind in seen:
            out.repeated.append((name, seen[kind]))
            continue
        seen[kind] = name
        out.columns[i] = kind
        if line is not None:
            out.lines[i] = line
        if not known:
            out.new_bookmakers.setdefault(kind.bookmaker, []).append(name)
    return out


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
    The Asian-handicap columns (``WIDE_AH_COLUMNS``, see ``_wide_handicap``) take the ``line`` column of
    ``odds`` (absent: no handicap price has a line, so none is used).
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
    line_grid = np.full((n, len(combos)), np.nan)
    if "line" in odds:
        line_grid[row, col] = odds["line"].to_numpy(dtype=float)[keep]
    filled[row, col] = True
    if filled.sum() != len(row):
        raise DataValidationError("odds contain more than one price for the same match, bookmaker and selection")
    position = {c: j for j, c in enumerate(combos)}
    books = {(m, b, c) for m, _, b, c in combos}

    def block(market: str, sels: tuple[str, ...], book: str, closing: bool, values: np.ndarray = grid
              ) -> np.ndarray:
        cols = [position.get((market, s, book, closing)) for s in sels]
        return np.column_stack([values[:, j] if j is not None else np.full(n, np.nan) for j in cols])

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
    ah_books = sorted((b, c) for (m, b, c) in books if m == MARKET_AH)
    wide |= _wide_handicap(lambda b, c: (block(MARKET_AH, OUTCOMES_AH, b, c),
                                         block(MARKET_AH, OUTCOMES_AH, b, c, line_grid)), ah_books, n)
    for col in WIDE_ODDS_COLUMNS + WIDE_AH_COLUMNS:
        out[col] = wide[col]
    return out


def _wide_handicap(prices_of: Callable[[str, bool], tuple[np.ndarray, np.ndarray]], books: list[tuple[str, bool]],
                   n: int) -> dict[str, np.ndarray]:
    """The wide Asian-handicap columns from each (bookmaker, closing)'s (n, 2) prices and their lines.

    Reference (open / close): the first bookmaker of the 1X2 priority lists with both prices at one line,
    its line and prices. Best: per selection the maximum over the closing prices at the closing reference
    line (exchange prices left out, as for 1X2); a match without a closing line takes the best pre-closing
    prices at the pre-closing reference line. A price at another line than the reference is never mixed in.
    """
    out: dict[str, np.ndarray] = {}
    lines: dict[str, np.ndarray] = {}
    for kind, closing, priority in (("open", False, OPEN_PRIORITY), ("close", True, CLOSE_PRIORITY)):
        prices, line = np.full((n, 2), np.nan), np.full(n, np.nan)
        for book in priority:
            p, h = prices_of(book, closing) if (book, closing) in books else (None, None)
            if p is None:
                continue
            take = np.isnan(line) & ~np.isnan(p).any(axis=1) & (h[:, 0] == h[:, 1])
            prices[take], line[take] = p[take], h[take, 0]
        lines[kind] = line
        out[f"ah_line_{kind}"], out[f"odds_{kind}_ah_home"], out[f"odds_{kind}_ah_away"] = line, prices[:, 0], prices[:, 1]
    best = {}
    for kind, closing in (("open", False), ("close", True)):
        at_line = []
        for book, c in books:
            if c == closing and book not in EXCLUDED_FROM_BEST:
                p, h = prices_of(book, c)
                at_line.append(np.where(h == lines[kind][:, None], p, np.nan))
        best[kind] = _row_max(at_line, n, 2)
    use_close = ~np.isnan(lines["close"])
    prices = np.where(use_close[:, None], best["close"], best["open"])
    out["ah_line_best"] = np.where(use_close, lines["close"], lines["open"])
    out["odds_best_ah_home"], out["odds_best_ah_away"] = prices[:, 0], prices[:, 1]
    return out
