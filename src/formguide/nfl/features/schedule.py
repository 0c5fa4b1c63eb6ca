"""Schedule and conditions of a game: pre-game facts from the fixture list, no outcomes.

* Rest: days since each team's previous game as the source gives it (``home_rest``/``away_rest``;
  nflverse counts 7 before week 1), their difference, a bye before the game (rest >= 13 days), a short
  week (rest <= 5: Thursday games), plus the playoff, divisional-game and neutral-site flags.
* Weather and field: temperature (°F) and wind (mph) as reported (NaN where missing: most indoor games
  and some recent ones), an indoor flag (roof ``dome`` or ``closed``; ``open`` retractable roofs count as
  outdoors) and a natural-grass flag (``grass``, ``dessograss``; NaN where the surface is unknown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formguide.nfl.features.elo import neutral_flags, playoff_flags

__all__ = ["SCHEDULE_COLUMNS", "WEATHER_COLUMNS", "BYE_REST", "SHORT_REST", "schedule_features",
           "weather_features"]

BYE_REST = 13
SHORT_REST = 5
SCHEDULE_COLUMNS: tuple[str, ...] = ("home_rest_days", "away_rest_days", "rest_diff", "home_bye", "away_bye",
                                     "home_short_week", "away_short_week", "playoff", "div_game", "neutral_site")
WEATHER_COLUMNS: tuple[str, ...] = ("temp_f", "wind_mph", "indoors", "grass")
_INDOOR_ROOFS = ("dome", "closed")
_GRASS = ("grass", "dessograss")


def _flag(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    return np.where(known, values.astype(np.float64), np.nan)


def schedule_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Rest days, byes, short weeks and the playoff, divisional and neutral-site flags."""
    hr = frame["home_rest"].to_numpy(dtype=np.float64)
    ar = frame["away_rest"].to_numpy(dtype=np.float64)
    div = (pd.to_numeric(frame["div_game"].astype(object).where(frame["div_game"].notna()).astype(float))
           .to_numpy(dtype=np.float64) if "div_game" in frame else np.full(len(frame), np.nan))
    return pd.DataFrame({
        "home_rest_days": hr, "away_rest_days": ar, "rest_diff": hr - ar,
        "home_bye": _flag(hr >= BYE_REST, ~np.isnan(hr)), "away_bye": _flag(ar >= BYE_REST, ~np.isnan(ar)),
        "home_short_week": _flag(hr <= SHORT_REST, ~np.isnan(hr)),
        "away_short_week": _flag(ar <= SHORT_REST, ~np.isnan(ar)),
        "playoff": playoff_flags(frame).astype(np.float64),
        "div_game": div,
        "neutral_site": neutral_flags(frame).astype(np.float64),
    }, index=frame.index)


def weather_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Temperature, wind, indoor and natural-grass flags."""
    roof = frame["roof"].astype(object).where(frame["roof"].notna(), "").astype(str).str.strip().str.lower()
    surface = frame["surface"].astype(object).where(frame["surface"].notna(), "").astype(str).str.strip().str.lower()
    return pd.DataFrame({
        "temp_f": frame["temp"].to_numpy(dtype=np.float64),
        "wind_mph": frame["wind"].to_numpy(dtype=np.float64),
        "indoors": _flag(roof.isin(_INDOOR_ROOFS).to_numpy(), (roof != "").to_numpy()),
        "grass": _flag(surface.isin(_GRASS).to_numpy(), (surface != "").to_numpy()),
    }, index=frame.index)
