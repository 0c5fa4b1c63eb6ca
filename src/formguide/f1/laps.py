"""FastF1 lap files (``transformed_<session>_laps_<season>.csv``): lap records and the wet-race flag.

A file holds one season of one session kind (``grand_prix`` = races, ``sprint``); the season comes
from the file name, the round from ``RoundNumber``. Only race laps (``grand_prix``) decide whether
a race was wet.

Wet rule: a race is wet when intermediate or full-wet tyres were used on at least
``WET_SHARE_THRESHOLD`` (2 %) of all laps driven. In the 2018-2024 files every race with any
intermediate/wet running is above 2 % (the smallest, 2018 German GP, is 2.8 %: rain late in the race
decided it), so the threshold only guards against a single driver's lone gamble on inters counting
as a wet race. ``wet_share`` keeps the continuous value for models that want it.

Duplicate laps: a driver's lap may appear more than once in a file (the store keeps one row per race,
session, driver and lap). A red-flag restart is the usual cause: the timing feed can record the lap
that was suspended (the car stopped in the pit lane, so usually no lap time, the tyres it came in on)
and again the lap completed after the restart (a lap time, often with new tyres and stint, since tyres
may be changed under the red flag, and the running order the race went on with). The rule:

* rows with the same stored values (lap time, compound, tyre life, stint, track status, position) are
  one lap: the first is kept, the repeats are dropped (other columns, e.g. ``Time``, are not stored and
  do not count);
* rows that differ: keep the row **with a lap time**; when several (or none) have one, keep the **later
  row in the file**. The timed row is the lap that was actually completed, and the later row is the
  feed's last word on the lap (after the restart), whose tyres and position are those the race
  continued with; the suspended lap's partial record is the one dropped. Rows are never merged.

Both cases are reported as warnings, one per dropped row (the first ``MAX_ROW_WARNINGS``, then a count),
in the style of ``IngestError``: ``transformed_grand_prix_laps_2024.csv, row 1234: ...``. The real
2018-2024 files hold no duplicate laps.

Truncated files: every CSV row must have as many fields as the header (``check_row_lengths``, also used
for the Ergast tables and race folders). A file cut part-way through a row (still being written, an
interrupted download) is rejected with file, row and the first missing column, so nothing from it is
stored; a last line without a line break is accepted with a warning (its last value may be cut short,
which no field count can tell).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
#: Stored lap values; rows of one driver and lap that agree on all of them are identical duplicates.
LAP_VALUES = ("lap_time_ms", "compound", "tyre_life", "stint", "track_status", "position")
#: Row-level warnings listed per file before the rest are only counted.
MAX_ROW_WARNINGS = 20
_WHITESPACE = b" \t\r"


# --- rows cut short ------------------------------------------------------------------------------------

@dataclass
class _Records:
    """Where a CSV's records start (physical line, header = 1), their field counts and which are blank."""

    lines: np.ndarray
    fields: np.ndarray
    blank: np.ndarray
    open_quote: bool  # the data ends inside a quoted value


def _records_fast(data: bytes) -> _Records:
    """Vectorised over the bytes: a quote character toggles quoting (``""`` toggles twice), so separators
    and line breaks preceded by an odd number of quotes are inside a value."""
    b = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(b == 10)
    commas = np.flatnonzero(b == 44)
    quotes = np.flatnonzero(b == 34)
    ends = breaks
    if quotes.size:
        ends = breaks[(np.searchsorted(quotes, breaks) & 1) == 0]
        commas = commas[(np.searchsorted(quotes, commas) & 1) == 0]
    starts = np.concatenate(([0], ends + 1))
    if starts[-1] >= b.size:
        starts = starts[:-1]
    else:
        ends = np.append(ends, b.size)  # a last record without a line break (or inside an open quote)
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    blank = np.zeros(len(starts), dtype=bool)
    for i in np.flatnonzero(fields == 1).tolist():  # few: header-only files, blank lines
        blank[i] = not data[starts[i]:ends[i]].strip(_WHITESPACE)
    return _Records(np.searchsorted(breaks, starts) + 1, fields, blank, bool(quotes.size & 1))


def _records_csv(data: bytes) -> _Records:
    """The csv module's reading (a quote opens a value only at its start, as for pandas): used to confirm
    a problem the fast count found in a file with quote characters."""
    text = data.decode("utf-8-sig", "replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    lines, fields, blank = [], [], []
    prev = 0
    for rec in reader:
        lines.append(prev + 1)
        prev = reader.line_num
        fields.append(len(rec))
        blank.append(not rec or (len(rec) == 1 and not rec[0].strip(" \t\r")))
    open_quote = False
    if lines:
        tail = "".join(io.StringIO(text, newline="").readlines()[lines[-1] - 1:])  # the lines csv counted
        try:
            for _ in csv.reader(io.StringIO(tail, newline=""), strict=True):
                pass
        except csv.Error:
            open_quote = True
    return _Records(np.array(lines, dtype=np.int64), np.array(fields, dtype=np.int64), np.array(blank, dtype=bool),
                    open_quote)


def _row_problem(rec: _Records) -> tuple[int, str] | None:
    """``(record, kind)`` of the first bad record, kind "open", "cut" or "length"; None when all is well."""
    rows = np.flatnonzero(~rec.blank)
    if rows.size < 2 and not rec.open_quote:
        return None
    head = int(rows[0]) if rows.size else 0
    if rec.open_quote:
        return len(rec.fields) - 1, "open"
    bad = rows[1:][rec.fields[rows[1:]] != rec.fields[head]]
    if not bad.size:
        return None
    i = int(bad[0])
    return i, "cut" if rec.fields[i] < rec.fields[head] and i == rows[-1] else "length"


def check_row_lengths(path: Path | str, data: bytes,
                      error: Callable[[Path, int | None, str | None, str], IngestError] = IngestError) -> list[str]:
    """Check that every record of CSV ``data`` has as many fields as the header; returns warnings.

    Quote-aware and vectorised over the bytes (a 5 MB lap file costs a few milliseconds; a problem found
    in a file with quote characters is confirmed with the csv module). Blank lines are skipped. A short
    last record is a file that ends part-way through a row; a short or long record elsewhere is a
    malformed row; a quote still open at the end is a file cut inside a quoted value (or an unbalanced
    quote). Each raises ``error(path, line, column, message)``: line numbers count the header as 1,
    ``column`` is the first missing column (the one being written when the file ends inside its
    quotes). A last line without a line break only gives a warning: a value cut short there leaves
    the field count whole, so it cannot be told from a complete row.
    """
    path = Path(path)
    if not data:
        return []
    rec = _records_fast(data)
    problem = _row_problem(rec)
    if problem is not None and b'"' in data:
        rec = _records_csv(data)
        problem = _row_problem(rec)
    rows = np.flatnonzero(~rec.blank)
    if problem is not None:
        i, kind = problem
        head = int(rows[0]) if rows.size else 0
        first = data.split(b"\n", int(rec.lines[head]))[int(rec.lines[head]) - 1]
        header = [h.strip().strip('"') for h in first.decode("utf-8-sig", "replace").split(",")]
        n_head, got = int(rec.fields[head]), int(rec.fields[i])

        def label(k: int) -> str:
            return header[k] if 0 <= k < len(header) and header[k] else f"field {k + 1}"

        line = int(rec.lines[i])
        if kind == "open":
            raise error(path, line, label(got - 1), "malformed CSV: the file ends inside a quoted value "
                        f"(an unbalanced quote, or a row cut part-way: {got} of {n_head} fields begun)")
        if kind == "cut":
            raise error(path, line, label(got), f"file ends part-way through this row ({got} of {n_head} "
                        "fields; truncated, or still being written?)")
        raise error(path, line, label(got) if got < n_head else f"field {n_head + 1}",
                    f"row has {got} fields but the header has {n_head}")
    if data[-1:] != b"\n" and rows.size > 1 and rows[-1] == len(rec.lines) - 1:
        return [f"{path.name}, row {int(rec.lines[rows[-1]])}: last line has no line break; if the file was "
                "still being written its last value may be cut short"]
    return []


# --- duplicate laps --------------------------------------------------------------------------------------

def _resolve_duplicates(path: Path, out: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop repeated laps of a driver by the module docstring's rule; returns the frame and the warnings."""
    key = ["round", "driver_code", "lap"]
    repeated = out.duplicated(key, keep=False).to_numpy()
    if not repeated.any():
        return out, []
    rows = np.flatnonzero(repeated)
    sub = out.iloc[rows]
    values = sub[list(LAP_VALUES)].astype(object).where(sub[list(LAP_VALUES)].notna(), None)
    groups: dict[tuple, list[tuple[int, tuple]]] = {}
    for r, k, v in zip(rows.tolist(), sub[key].itertuples(index=False, name=None),
                       values.itertuples(index=False, name=None), strict=True):
        groups.setdefault(k, []).append((r, v))
    drop: list[int] = []
    notes: list[tuple[int, str]] = []
    at = LAP_VALUES.index("lap_time_ms")
    for (rnd, code, lap), members in groups.items():
        timed = [m for m in members if m[1][at] is not None]
        winner = (timed or members)[-1]
        kept = next(m for m in members if m[1] == winner[1])  # the first of the rows equal to the winner
        distinct_timed = {m[1] for m in timed}
        if len(distinct_timed) == 1:
            reason = "the only one with a lap time"
        elif timed:
            reason = "the later of the rows with a lap time"
        else:
            reason = f"the later row; {'neither' if len(members) == 2 else 'none'} has a lap time"
        times = "twice" if len(members) == 2 else f"{len(members)} times"
        for r, v in members:
            if r == kept[0]:
                continue
            drop.append(r)
            others = [m[0] + 2 for m in members if m[0] != r]
            also = f"also row{'s' if len(others) > 1 else ''} {', '.join(map(str, others))}"
            where = f"{path.name}, row {r + 2}: lap {lap} of {code} in round {rnd} appears {times} ({also})"
            if v == kept[1]:
                same = "" if len(members) == 2 else f" as row {kept[0] + 2}"
                notes.append((r, f"{where} with the same values{same}; the repeat is dropped"))
            else:
                notes.append((r, f"{where} with different values; kept row {kept[0] + 2} ({reason}), "
                                 f"dropped row {r + 2}"))
    notes.sort()
    warnings = [n for _, n in notes[:MAX_ROW_WARNINGS]]
    if len(notes) > MAX_ROW_WARNINGS:
        warnings.append(f"{path.name}: {len(notes) - MAX_ROW_WARNINGS} more duplicate lap rows dropped "
                        f"({len(notes)} in all; only the first {MAX_ROW_WARNINGS} are listed)")
    keep = np.ones(len(out), dtype=bool)
    keep[drop] = False
    return out[keep].reset_index(drop=True), warnings


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


def _upper(values: pd.Series) -> np.ndarray:
    """Stripped upper-case text (missing stays NaN), worked out once per distinct value."""
    codes, uniques = pd.factorize(values)
    norm = np.array([str(u).strip().upper() for u in uniques] + [np.nan], dtype=object)
    return norm[codes]


def read_lap_file(path: Path | str, warnings: list[str] | None = None) -> pd.DataFrame:
    """One lap file as ``season, session, round, driver_code, lap, lap_time_ms, compound, tyre_life, stint,
    track_status, position`` (one row per driver and lap); errors name the file, row and column.

    Duplicate laps are resolved (module docstring); their warnings, and a note on a last line without
    a line break, are appended to ``warnings`` when a list is given.
    """
    path = Path(path)
    m = FILE_PATTERN.match(path.name)
    if m is None:
        raise IngestError(path, None, None, "not a FastF1 lap file (expected transformed_<session>_laps_<year>.csv)")
    if not path.exists():
        raise IngestFileNotFoundError(path)
    data = path.read_bytes()
    notes = check_row_lengths(path, data)
    try:
        raw = pd.read_csv(io.BytesIO(data), usecols=lambda c: c in LAP_COLUMNS,
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
    out["driver_code"] = _upper(code)
    out["compound"] = _upper(raw["Compound"])
    out["track_status"] = raw["TrackStatus"].to_numpy() if "TrackStatus" in raw else None
    out, dup_notes = _resolve_duplicates(path, out)
    if warnings is not None:
        warnings += notes + dup_notes
    return out


def wet_from_laps(season: np.ndarray, round_: np.ndarray, compound: np.ndarray,
                  threshold: float = WET_SHARE_THRESHOLD) -> pd.DataFrame:
    """``season, round, wet, wet_share`` per race from race laps' compounds (see the module docstring)."""
    frame = pd.DataFrame({"season": np.asarray(season, dtype=np.int64), "round": np.asarray(round_, dtype=np.int64),
                          "w": np.isin(np.asarray(compound, dtype=object), WET_COMPOUNDS).astype(float)})
    share = frame.groupby(["season", "round"], sort=True)["w"].mean().rename("wet_share").reset_index()
    share.insert(2, "wet", (share["wet_share"] >= threshold).astype(float))
    return share


def wet_races(laps_dir: Path | str | Iterable[Path], threshold: float = WET_SHARE_THRESHOLD,
              warnings: list[str] | None = None) -> pd.DataFrame:
    """``season, round, wet (0/1 float), wet_share`` for every race in the race-lap files at ``laps_dir``.

    ``laps_dir`` is a folder (searched recursively; sprint files are ignored) or a list of files. Files are
    read by ``read_lap_file``, so a duplicated lap counts once and a truncated file is an error, exactly
    as when the laps are imported (the wet flag from files equals the one from stored laps).
    """
    files = lap_files(laps_dir) if isinstance(laps_dir, (str, Path)) else [Path(p) for p in laps_dir]
    parts = []
    for f in files:
        m = FILE_PATTERN.match(f.name)
        if m is None or m.group(1) != "grand_prix":
            continue
        frame = read_lap_file(f, warnings=warnings)
        parts.append(frame[["season", "round", "compound"]])
    if not parts:
        return pd.DataFrame({"season": pd.Series(dtype=np.int64), "round": pd.Series(dtype=np.int64),
                             "wet": pd.Series(dtype=float), "wet_share": pd.Series(dtype=float)})
    laps = pd.concat(parts, ignore_index=True)
    return wet_from_laps(laps["season"].to_numpy(), laps["round"].to_numpy(), laps["compound"].to_numpy(), threshold)
