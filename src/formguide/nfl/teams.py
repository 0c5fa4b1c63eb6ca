"""NFL franchises: one code per franchise for every season, its conference and division.

Sources name teams as they were called that season (games.csv and the injury reports: ``STL`` until 2015,
``SD`` until 2016, ``OAK`` until 2019) or by nflfastR's standardised codes (team stats: ``LA``, ``LAC``,
``LV`` from 2003 on, and ``JAC`` for the Jaguars in a few 2001-2002 rows). Ratings follow the franchise, so
every reader maps codes here, once: :func:`franchise` of a source code gives the franchise code (the
current one: ``LA``, ``LAC``, ``LV``, ``JAX``). Divisions are those of 2002 onwards (32 teams); Houston
joined in 2002, and 1999-2001 divisions differ (see :func:`division`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["ALIASES", "DIVISIONS", "FRANCHISES", "UnknownTeamError", "conference", "division", "franchise",
           "franchise_codes"]

#: Division of each franchise from 2002 (the 32-team alignment).
DIVISIONS: dict[str, tuple[str, ...]] = {
    "AFC East": ("BUF", "MIA", "NE", "NYJ"),
    "AFC North": ("BAL", "CIN", "CLE", "PIT"),
    "AFC South": ("HOU", "IND", "JAX", "TEN"),
    "AFC West": ("DEN", "KC", "LV", "LAC"),
    "NFC East": ("DAL", "NYG", "PHI", "WAS"),
    "NFC North": ("CHI", "DET", "GB", "MIN"),
    "NFC South": ("ATL", "CAR", "NO", "TB"),
    "NFC West": ("ARI", "LA", "SF", "SEA"),
}
#: Divisions of 1999-2001 (31 teams, three divisions a conference), where they differ from DIVISIONS.
DIVISIONS_1999: dict[str, tuple[str, ...]] = {
    "AFC East": ("BUF", "IND", "MIA", "NE", "NYJ"),
    "AFC Central": ("BAL", "CIN", "CLE", "JAX", "PIT", "TEN"),
    "AFC West": ("DEN", "KC", "LV", "LAC", "SEA"),
    "NFC East": ("ARI", "DAL", "NYG", "PHI", "WAS"),
    "NFC Central": ("CHI", "DET", "GB", "MIN", "TB"),
    "NFC West": ("ATL", "CAR", "LA", "NO", "SF"),
}
FRANCHISES: tuple[str, ...] = tuple(sorted(t for teams in DIVISIONS.values() for t in teams))
#: Former or alternative codes -> franchise code.
ALIASES: dict[str, str] = {"STL": "LA", "LAR": "LA", "SD": "LAC", "OAK": "LV", "JAC": "JAX", "WSH": "WAS"}


class UnknownTeamError(ValueError):
    """A team code that names no NFL franchise (the reader reports file, row and column)."""


def franchise(code: str) -> str:
    """The franchise code of a source's team code (any season's spelling, any case)."""
    key = str(code).strip().upper()
    key = ALIASES.get(key, key)
    if key not in FRANCHISES:
        raise UnknownTeamError(f"unknown NFL team code {code!r}")
    return key


def franchise_codes(codes: Iterable[str] | pd.Series) -> np.ndarray:
    """:func:`franchise` of many codes at once; raises for the first unknown one."""
    values = pd.Series(list(codes) if not isinstance(codes, pd.Series) else codes, dtype=object)
    upper = values.astype(str).str.strip().str.upper().replace(ALIASES)
    bad = ~upper.isin(FRANCHISES)
    if bad.any():
        raise UnknownTeamError(f"unknown NFL team code {values[bad].iloc[0]!r}")
    return upper.to_numpy(dtype=object)


def division(team: str, season: int) -> str:
    """The franchise's division in ``season`` (1999-2001 had three divisions a conference)."""
    table = DIVISIONS_1999 if season < 2002 else DIVISIONS
    code = franchise(team)
    for name, members in table.items():
        if code in members:
            return name
    raise UnknownTeamError(f"{team!r} did not play in {season}")  # Houston before 2002


def conference(team: str, season: int) -> str:
    return division(team, season).split()[0]
