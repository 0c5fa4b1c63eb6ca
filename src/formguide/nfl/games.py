"""nflverse ``games.csv`` -> the canonical NFL games frame (one row per game), pure and strict.

The frame (:data:`GAME_COLUMNS`) is what every NFL step reads: the store's loader gives back exactly the
same columns (plus ``event_id`` and ``status``). Teams are franchise codes (``teams.franchise``), so a
rating follows the Rams from ``STL`` to ``LA``. ``spread_line`` is the source's: the points by which the
HOME team is favoured (home covers when ``home_score - away_score > spread_line``); prices are American
odds as written. ``kickoff`` is ``gameday`` + ``gametime`` as naive US-Eastern wall-clock time (``gametime``
is empty for 1999: 13:00 then).

A file that cannot be trusted raises :class:`~formguide.nfl.csvfile.NflFileError` (a
``DataValidationError``) naming file, row (line) and column: unknown team codes, a non-numeric or negative
score, a score for one side only, a duplicated ``game_id`` (both rows named), a team playing twice in one
week, a price that is no American price. Doubtful but possible rows are kept with a warning naming file
and row: moneylines favouring one side and the spread the other; prices for a spread or total with no line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from formguide.nfl.csvfile import Table, read_table

__all__ = ["COMPETITION", "GAME_COLUMNS", "GAME_TYPES", "PRICE_COLUMNS", "ParsedGames", "canonical_games",
           "parse_games"]

COMPETITION = "NFL"
GAME_TYPES = ("REG", "WC", "DIV", "CON", "SB")
DEFAULT_KICKOFF_TIME = "13:00"
#: American prices of the closing markets, as in the source.
PRICE_COLUMNS = ["home_moneyline", "away_moneyline", "home_spread_odds", "away_spread_odds", "over_odds",
                 "under_odds"]
_TEXT = ["game_id", "season", "competition", "game_type", "home_team", "away_team", "roof", "surface",
         "home_qb_id", "away_qb_id", "home_qb_name", "away_qb_name", "home_coach", "away_coach"]
_FLOAT = ["home_score", "away_score", "home_rest", "away_rest", "overtime", "temp", "wind", "spread_line",
          "total_line", *PRICE_COLUMNS]
_BOOL = ["playoff", "neutral", "div_game"]
#: The canonical games frame, in this order.
GAME_COLUMNS = ["game_id", "season", "competition", "week", "game_type", "playoff", "kickoff", "home_team",
                "away_team", "home_score", "away_score", "neutral", "home_rest", "away_rest", "div_game", "overtime",
                "roof", "surface", "temp", "wind", "home_qb_id", "away_qb_id", "home_qb_name", "away_qb_name",
                "home_coach", "away_coach", "spread_line", "total_line", *PRICE_COLUMNS]
_COPIED_TEXT = ["home_qb_id", "away_qb_id", "home_qb_name", "away_qb_name", "home_coach", "away_coach"]
_COPIED_FLOAT = ["home_rest", "away_rest", "temp", "wind", "spread_line", "total_line"]
REQUIRED_COLUMNS = ["game_id", "season", "game_type", "week", "gameday", "gametime", "away_team", "away_score",
                    "home_team", "home_score", "location", "overtime", "away_rest", "home_rest", "div_game", "roof",
                    "surface", "temp", "wind", *_COPIED_TEXT, "spread_line", "total_line", *PRICE_COLUMNS]

_NUMERIC_SOURCE = ["season", "week", "home_score", "away_score", "overtime", "home_rest", "away_rest", "div_game",
                   "temp", "wind", "spread_line", "total_line", *PRICE_COLUMNS]


@dataclass
class ParsedGames:
    """One games file parsed: the canonical frame, the file line of each frame row, warnings, content hash."""

    path: Path
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    sha256: str | None = None


def canonical_games(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with exactly :data:`GAME_COLUMNS` (plus any leading extra columns given) in canonical types.

    Parser and store loader both end here, so a round trip compares like with like on any pandas version.
    """
    extra = [c for c in frame.columns if c not in GAME_COLUMNS]
    out = {}
    for col in extra + GAME_COLUMNS:
        values = frame[col]
        if col in _TEXT:
            arr = values.to_numpy(dtype=object, na_value=np.nan)
            out[col] = pd.Series(np.where(pd.isna(arr), np.nan, arr).astype(object), dtype=object)
        elif col in _FLOAT:
            out[col] = pd.Series(values.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)
        elif col in _BOOL:
            out[col] = pd.Series(values.to_numpy(dtype=bool), dtype=bool)
        elif col == "week":
            out[col] = pd.Series(values.to_numpy(dtype=np.int64), dtype=np.int64)
        elif col == "kickoff":
            out[col] = pd.Series(pd.to_datetime(values).to_numpy().astype("datetime64[ns]"))
        else:
            out[col] = pd.Series(values.to_numpy())
    return pd.DataFrame(out)


def _kickoff(t: Table) -> np.ndarray:
    day = t.frame["gameday"]
    if day.isna().any():
        i = int(np.flatnonzero(day.isna().to_numpy())[0])
        raise t.fail(i, "gameday", "gameday is empty")
    dates = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise t.fail(i, "gameday", f"gameday must be a date YYYY-MM-DD, got {day.iloc[i]!r}")
    clock = t.frame["gametime"].fillna(DEFAULT_KICKOFF_TIME)
    times = pd.to_datetime("2000-01-01 " + clock, format="%Y-%m-%d %H:%M", errors="coerce")
    if times.isna().any():
        i = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise t.fail(i, "gametime", f"gametime must be HH:MM (US Eastern), got {clock.iloc[i]!r}")
    offset = (times - pd.Timestamp("2000-01-01")).to_numpy()
    return (dates.to_numpy() + offset).astype("datetime64[ns]")


def _scores(t: Table) -> tuple[np.ndarray, np.ndarray]:
    what = "a whole number of points (0 or more)"
    home = t.numbers("home_score", integer=True, non_negative=True, what=what)
    away = t.numbers("away_score", integer=True, non_negative=True, what=what)
    one_side = np.isnan(home) != np.isnan(away)
    if one_side.any():
        i = int(np.flatnonzero(one_side)[0])
        column = "away_score" if np.isnan(away[i]) else "home_score"
        raise t.fail(i, column, "score given for one side only")
    return home, away


def _prices(t: Table) -> dict[str, np.ndarray]:
    out = {}
    for col in PRICE_COLUMNS:
        values = t.numbers(col, what="an American price (+100 or more, -100 or less)")
        bad = ~np.isnan(values) & (np.abs(values) < 100)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise t.fail(i, col, f"{col} must be an American price (+100 or more, -100 or less), "
                         f"got {t.frame[col].iloc[i]!r}")
        out[col] = values
    return out


def _flag(t: Table, column: str) -> np.ndarray:
    values = t.numbers(column, required=True, what="0 or 1")
    bad = (values != 0) & (values != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise t.fail(i, column, f"{column} must be 0 or 1, got {t.frame[column].iloc[i]!r}")
    return values == 1


def _check_unique(t: Table, frame: pd.DataFrame) -> None:
    """A game_id once per file, and a team at most once per (season, week): the key team reports join on."""
    ids = frame["game_id"]
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        second = int(np.flatnonzero(dup & (ids == ids.iloc[first]).to_numpy())[1])
        raise t.fail(second, "game_id", f"game_id {ids.iloc[first]} appears twice (rows {t.lines[first]} and "
                     f"{t.lines[second]})")
    sides = pd.DataFrame({"season": np.concatenate([frame["season"]] * 2),
                          "week": np.concatenate([frame["week"]] * 2),
                          "team": np.concatenate([frame["home_team"], frame["away_team"]]),
                          "row": np.concatenate([np.arange(len(frame))] * 2),
                          "column": ["home_team"] * len(frame) + ["away_team"] * len(frame)})
    twice = sides.duplicated(["season", "week", "team"], keep=False).to_numpy()
    if twice.any():
        clash = sides[twice].sort_values(["row"], kind="stable")
        key = clash.iloc[0][["season", "week", "team"]].tolist()
        same = clash[(clash[["season", "week", "team"]] == key).all(axis=1)]
        a, b = int(same["row"].iloc[0]), int(same["row"].iloc[1])
        raise t.fail(b, str(same["column"].iloc[1]), f"{key[2]} plays twice in season {key[0]} week {key[1]} "
                     f"(rows {t.lines[a]} and {t.lines[b]})")


def _warnings(t: Table, frame: pd.DataFrame) -> list[str]:
    """Rows kept but worth a look: the markets disagree on the favourite; prices for a line that is missing."""
    name = t.path.name
    notes = []
    home_ml, away_ml = frame["home_moneyline"].to_numpy(), frame["away_moneyline"].to_numpy()
    # Decimal odds order the sides the same way as implied probability; American odds do not (-105 vs +105).
    with np.errstate(invalid="ignore"):
        home_dec = np.where(home_ml > 0, 1 + home_ml / 100, 1 + 100 / -home_ml)
        away_dec = np.where(away_ml > 0, 1 + away_ml / 100, 1 + 100 / -away_ml)
    spread = frame["spread_line"].to_numpy()
    ml_home_fav, ml_away_fav = home_dec < away_dec, away_dec < home_dec
    disagree = (ml_home_fav & (spread < 0)) | (ml_away_fav & (spread > 0))
    for i in np.flatnonzero(disagree).tolist():
        notes.append(f"{name}: row {t.lines[i]}, columns home_moneyline/away_moneyline/spread_line: moneylines "
                     f"({home_ml[i]:+.0f} home, {away_ml[i]:+.0f} away) "
                     f"and spread_line {spread[i]:+g} disagree on the favourite of {frame['game_id'].iloc[i]} (kept)")
    for line, prices in (("spread_line", ("home_spread_odds", "away_spread_odds")),
                         ("total_line", ("over_odds", "under_odds"))):
        orphan = frame[line].isna().to_numpy() & frame[list(prices)].notna().any(axis=1).to_numpy()
        for i in np.flatnonzero(orphan).tolist():
            notes.append(f"{name}: row {t.lines[i]}, column {line}: {'/'.join(prices)} without a {line}; "
                         "those prices are not stored as odds")
    return notes


def parse_games(path: Path | str) -> ParsedGames:
    """Parse an nflverse ``games.csv`` into the canonical frame, sorted by kickoff then game_id."""
    t = read_table(path, REQUIRED_COLUMNS, numeric=_NUMERIC_SOURCE)
    n = len(t.frame)
    game_id = t.text("game_id")
    if pd.isna(game_id).any():
        i = int(np.flatnonzero(pd.isna(game_id))[0])
        raise t.fail(i, "game_id", "game_id is empty")
    season = t.numbers("season", integer=True, non_negative=True, required=True, what="a year")
    week = t.numbers("week", integer=True, non_negative=True, required=True, what="a week number")
    game_type = t.choice("game_type", GAME_TYPES)
    home, away = t.teams("home_team"), t.teams("away_team")
    same = home == away
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise t.fail(i, "away_team", f"home and away team are the same franchise ({home[i]})")
    location = t.choice("location", ("Home", "Neutral"))
    home_score, away_score = _scores(t)
    frame = pd.DataFrame({
        "game_id": game_id, "season": season.astype(np.int64).astype(str), "competition": [COMPETITION] * n,
        "week": week.astype(np.int64), "game_type": game_type, "playoff": game_type != "REG",
        "kickoff": _kickoff(t), "home_team": home, "away_team": away, "home_score": home_score,
        "away_score": away_score, "neutral": location == "Neutral",
        "home_rest": t.numbers("home_rest"), "away_rest": t.numbers("away_rest"),
        "div_game": _flag(t, "div_game"), "overtime": t.numbers("overtime"),
        "roof": t.frame["roof"].str.lower().to_numpy(dtype=object),
        "surface": t.frame["surface"].str.lower().to_numpy(dtype=object),
        **{c: t.numbers(c) for c in ("temp", "wind", "spread_line", "total_line")},
        **{c: t.text(c) for c in _COPIED_TEXT},
        **_prices(t),
    })
    _check_unique(t, frame)
    warnings = _warnings(t, frame)
    order = np.lexsort((frame["game_id"].to_numpy(dtype=str), frame["kickoff"].to_numpy()))
    frame = canonical_games(frame.iloc[order].reset_index(drop=True))
    return ParsedGames(path=t.path, frame=frame, warnings=warnings, lines=t.lines[order], sha256=t.sha256)
