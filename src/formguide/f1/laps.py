"""FastF1 lap files (``transformed_<session>_laps_<season>.csv``): lap records and the wet-race flag.

A file holds one season of one session kind (``grand_prix`` = races, ``sprint``); the season comes
from the file name, the round from ``RoundNumber``. Only race laps (``grand_prix``) decide whether
a race was wet.

Wet rule: a race is wet when intermediate or full-wet tyres were used on at least
``WET_SHARE_THRESHOLD`` (2 %) of all laps driven. In the 2018-2024 files every race with any
intermediate/wet running is above 2 % (the smallest, 2018 German GP, is 2.8 %: rain late in the race
decided it), so the threshold only guards against a single driver's lone gamble on inters counting
as a wet race. ``wet_share`` keeps the continuous value for models that want it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from formguide.core.errors import IngestError, IngestFileNotFoundError

#: Share of race laps on INTERMEDIATE/WET tyres from which a race counts as wet.
WET_SHARE_THRESHOLD = 0.02
WET_COMPOUNDS = ("INTERMEDIATE", "WET")
FILE_PATTERN = re.compile(r"^transformed_(grand_prix|sprint)_laps_(\d{4})\.csv$")
#: Source column -> canonical lap column.
LAP_COLUMNS = {
    "Driver": "driver_code", "LapNumber": "lap", "LapTime": "lap_time", "Compound": "compound",
    "TyreLife": "tyre_life", "Stint": "stint", "TrackStatus": "track_status", "Position": "position",
    "RoundNumber": "round",
}
REQUIRED = ("Driver", "LapNumber", "Compound", "RoundNumber")


def lap_files(path: Path | str) -> list[Path]:
    """The lap files at ``path``: the file itself, or every matching file under a folder (sorted)."""
    path = Path(path)
    if not path.exists():
        raise IngestFileNotFoundError(path)
    if path.is_file():
        if not FILE_PATTERN.match(path.name):
            raise IngestError(path, None, None, "not a FastF1 lap file (expected transformed_<session>_laps_<year>.csv)")
        return [path]
    return sorted(p for p in path.rglob("*.csv") if FILE_PATTERN.match(p.name))


def is_lap_source(path: Path | str) -> bool:
    """True for a FastF1 lap file or a folder holding some (searched recursively)."""
    path = Path(path)
    if path.is_file():
        return bool(FILE_PATTERN.match(path.name))
    return path.is_dir() and any(FILE_PATTERN.match(p.name) for p in path.rglob("transformed_*_laps_*.csv"))


def read_lap_file(path: Path | str) -> pd.DataFrame:
    """One lap file as ``season, session, round, driver_code, lap, lap_time_ms, compound, tyre_life, stint,
    track_status, position`` (one row per driver and lap); errors name the file, row and column."""
    path = Path(path)
    m = FILE_PATTERN.match(path.name)
    if m is None:
        raise IngestError(path, None, None, "not a FastF1 lap file (expected transformed_<session>_laps_<year>.csv)")
    if not path.exists():
        raise IngestFileNotFoundError(path)
    try:
        raw = pd.read_csv(path, usecols=lambda c: c in LAP_COLUMNS,
                          dtype={"Driver": str, "Compound": str, "TrackStatus": str})
    except pd.errors.EmptyDataError as exc:
        raise IngestError(path, None, None, "empty file") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError(path, None, None, f"unreadable CSV: {exc}") from exc
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise IngestError(path, None, missing[0], "required column missing")
    if raw.empty:
        raise IngestError(path, None, None, "no laps in file")
    out = pd.DataFrame({"season": np.full(len(raw), int(m.group(2))),
                        "session": "race" if m.group(1) == "grand_prix" else "sprint"})
    for src, col in (("RoundNumber", "round"), ("LapNumber", "lap"), ("TyreLife", "tyre_life"),
                     ("Stint", "stint"), ("Position", "position"), ("LapTime", "lap_time")):
        values = pd.to_numeric(raw[src], errors="coerce") if src in raw else pd.Series(np.nan, index=raw.index)
        bad = values.isna() & raw[src].notna() if src in raw else pd.Series(False, index=raw.index)
        if src in REQUIRED:
            bad |= values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise IngestError(path, row + 2, src, f"not a number: {raw[src].iloc[row]!r}")
        out[col] = values.astype(float).to_numpy()
    out["round"] = out["round"].astype(np.int64)
    out["lap"] = out["lap"].astype(np.int64)
    out["lap_time_ms"] = np.round(out.pop("lap_time").to_numpy() * 1000.0)
    code = raw["Driver"]
    if code.isna().any():
        row = int(np.flatnonzero(code.isna().to_numpy())[0])
        raise IngestError(path, row + 2, "Driver", "driver code missing")
    out["driver_code"] = code.str.strip().str.upper().to_numpy()
    out["compound"] = raw["Compound"].str.strip().str.upper().to_numpy()
    out["track_status"] = raw["TrackStatus"].to_numpy() if "TrackStatus" in raw else None
    dup = out.duplicated(["round", "driver_code", "lap"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise IngestError(path, row + 2, "LapNumber", f"lap {out['lap'].iloc[row]} of {out['driver_code'].iloc[row]} "
                          f"in round {out['round'].iloc[row]} appears twice")
    return out


def wet_from_laps(season: np.ndarray, round_: np.ndarray, compound: np.ndarray,
                  threshold: float = WET_SHARE_THRESHOLD) -> pd.DataFrame:
    """``season, round, wet, wet_share`` per race from race laps' compounds (see the module docstring)."""
    frame = pd.DataFrame({"season": np.asarray(season, dtype=np.int64), "round": np.asarray(round_, dtype=np.int64),
                          "w": np.isin(np.asarray(compound, dtype=object), WET_COMPOUNDS).astype(float)})
    share = frame.groupby(["season", "round"], sort=True)["w"].mean().rename("wet_share").reset_index()
    share.insert(2, "wet", (share["wet_share"] >= threshold).astype(float))
    return share


def wet_races(laps_dir: Path | str | Iterable[Path], threshold: float = WET_SHARE_THRESHOLD) -> pd.DataFrame:
    """``season, round, wet (0/1 float), wet_share`` for every race in the race-lap files at ``laps_dir``.

    ``laps_dir`` is a folder (searched recursively; sprint files are ignored) or a list of files.
    """
    files = lap_files(laps_dir) if isinstance(laps_dir, (str, Path)) else [Path(p) for p in laps_dir]
    parts = []
    for f in files:
        m = FILE_PATTERN.match(f.name)
        if m is None or m.group(1) != "grand_prix":
            continue
        try:
            raw = pd.read_csv(f, usecols=["RoundNumber", "Compound"], dtype={"Compound": str})
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise IngestError(f, None, None, f"cannot read lap file: {exc}") from exc
        parts.append(pd.DataFrame({"season": int(m.group(2)), "round": raw["RoundNumber"].to_numpy(),
                                   "compound": raw["Compound"].to_numpy(dtype=object)}))
    if not parts:
        return pd.DataFrame({"season": pd.Series(dtype=np.int64), "round": pd.Series(dtype=np.int64),
                             "wet": pd.Series(dtype=float), "wet_share": pd.Series(dtype=float)})
    laps = pd.concat(parts, ignore_index=True)
    return wet_from_laps(laps["season"].to_numpy(), laps["round"].to_numpy(), laps["compound"].to_numpy(), threshold)
