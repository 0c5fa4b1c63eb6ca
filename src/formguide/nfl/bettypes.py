"""The NFL's bet types, read from one predictive distribution per game.

Every bet type compares a game's value with a line: the home margin with 0 (moneyline), the home margin
with the closing spread (spread: the home side covers when ``margin > spread_line``, nflverse's
"points the home team is favoured by"), the total points with the closing total (total). A forecast is three
columns, ``[value > line, value == line, value < line]`` — home win / tie / away win, home covers / push /
away covers, over / push / under — so a push (or a tie) is a probability of its own, never folded into a
side. Scores (Brier, log loss, accuracy, ECE) are of the side probability given no push, on the games that
did not push, as the market's de-vigged price is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BET_TYPES", "BetType", "bet_type", "week_ids"]


@dataclass(frozen=True)
class BetType:
    name: str
    #: What the distribution is of: the home margin or the total points.
    target: str
    #: Names of the three forecast columns (side A, push, side B).
    labels: tuple[str, str, str]
    #: Market id of the predictions and odds tables.
    market: str

    def value(self, frame: pd.DataFrame) -> np.ndarray:
        """The game's margin or total (NaN when not played)."""
        home, away = (frame[c].to_numpy(dtype=np.float64) for c in ("home_score", "away_score"))
        return home - away if self.target == "margin" else home + away

    def line(self, frame: pd.DataFrame) -> np.ndarray:
        """The threshold the value is compared with (NaN where the game has no such line)."""
        if self.name == "moneyline":
            return np.zeros(len(frame))
        column = "spread_line" if self.name == "spread" else "total_line"
        return frame[column].to_numpy(dtype=np.float64)

    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        """0 (side A), 1 (push), 2 (side B); -1 where unplayed or without a line."""
        v, ln = self.value(frame), self.line(frame)
        out = np.where(v > ln, 0, np.where(v == ln, 1, 2))
        return np.where(np.isnan(v) | np.isnan(ln), -1, out)

    @property
    def sides(self) -> tuple[str, str]:
        return self.labels[0], self.labels[2]


BET_TYPES: dict[str, BetType] = {
    "moneyline": BetType("moneyline", "margin", ("home", "tie", "away"), "moneyline"),
    "spread": BetType("spread", "margin", ("home", "push", "away"), "spread"),
    "total": BetType("total", "total", ("over", "push", "under"), "total"),
}


def bet_type(name: str) -> BetType:
    try:
        return BET_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown NFL bet type {name!r}; one of {', '.join(BET_TYPES)}") from None


def week_ids(frame: pd.DataFrame) -> np.ndarray:
    """One id per NFL week (season and week number): the walk-forward predicts a week at a time."""
    return (frame["season"].astype(str) + "-" + frame["week"].astype(int).map("{:02d}".format)).to_numpy()
