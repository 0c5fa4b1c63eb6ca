"""Reading nflverse CSV files strictly: quoted fields with embedded newlines, cut-off rows, numbers, team codes.

Every NFL reader goes through :func:`read_table`, which finds the records of a file with array operations
(quote parity over the bytes, so a newline inside a quoted field is no record break), checks that every
record has as many fields as the header (a file cut part-way through a row names its line and first
missing column), and gives the cells as stripped text ('' and whitespace-only cells, such as the injury
reports' ``"\\n    "`` placeholders, become missing). Row numbers in messages are the file's line numbers
of the record (the header is line 1), so they can be found in an editor even after embedded newlines.

:func:`detect` tells the four nflverse files apart by their header.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from formguide.core.errors import DataValidationError, IngestError
from formguide.nfl.teams import UnknownTeamError, franchise

__all__ = ["KIND_GAMES", "KIND_INJURIES", "KIND_TEAM_EPA", "KIND_TEAM_STATS", "NflFileError", "Table", "detect",
           "detect_header", "read_header", "read_table"]

KIND_GAMES, KIND_TEAM_STATS, KIND_TEAM_EPA, KIND_INJURIES = "games", "team-stats", "team-epa", "injuries"
#: Header columns that identify each file (checked in this order: the most specific first).
_MARKERS: tuple[tuple[str, frozenset[str]], ...] = (
    (KIND_GAMES, frozenset({"game_id", "gameday", "home_team", "away_team", "home_score", "away_score"})),
    (KIND_INJURIES, frozenset({"season", "week", "team", "game_type", "gsis_id", "report_status"})),
    (KIND_TEAM_EPA, frozenset({"season", "week", "team", "off_epa_total", "def_epa_total"})),
    (KIND_TEAM_STATS, frozenset({"season", "week", "team", "season_type", "opponent_team"})),
)


class NflFileError(IngestError, DataValidationError):
    """An NFL source file that cannot be imported, naming file, row (line) and column; nothing from it is stored."""


@dataclass
class Table:
    """A CSV file read whole: stripped text cells (missing = NaN) and the line of each record."""

    path: Path
    header: list[str]
    frame: pd.DataFrame  # one column per header name, text (object) cells
    lines: np.ndarray  # file line on which each record (row of ``frame``) starts
    sha256: str

    def fail(self, index: int, column: str | None, message: str) -> NflFileError:
        """The error for the record at ``index`` (a position in ``frame``)."""
        return NflFileError(self.path, int(self.lines[index]), column, message)

    def text(self, column: str) -> np.ndarray:
        """A column's cells as an object array (NaN where missing)."""
        return self.frame[column].to_numpy(dtype=object, na_value=np.nan)

    def numbers(self, column: str, *, integer: bool = False, non_negative: bool = False,
                required: bool = False, what: str = "a number") -> np.ndarray:
        """A column as floats (NaN where empty); a cell that is not a (whole, non-negative) number is an error."""
        raw = self.frame[column]
        missing = raw.isna().to_numpy()
        if raw.dtype.kind == "f":
            values = raw.to_numpy(dtype=float)
        else:
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~missing & ~np.isfinite(values)
        if integer:
            bad |= ~missing & np.isfinite(values) & (values != np.round(values))
        if non_negative:
            bad |= ~missing & (values < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self.fail(i, column, f"{column} must be {what}, got {raw.iloc[i]!r}")
        if required and missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise self.fail(i, column, f"{column} is empty")
        return values

    def choice(self, column: str, allowed: Sequence[str], *, required: bool = True) -> np.ndarray:
        """A text column whose cells must be one of ``allowed`` (empty only when not ``required``)."""
        values = self.text(column)
        present = self.frame[column].notna().to_numpy()
        bad = present & ~self.frame[column].isin(list(allowed)).to_numpy()
        if required:
            bad |= ~present
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            got = "empty" if not present[i] else repr(values[i])
            raise self.fail(i, column, f"{column} must be one of {', '.join(allowed)}, got {got}")
        return values

    def teams(self, column: str, *, rows: np.ndarray | None = None) -> np.ndarray:
        """Franchise codes of a team column (every season's spelling); empty or unknown codes are errors.

        ``rows`` (a boolean mask) limits the check to those records; the others come back as NaN.
        """
        raw = self.frame[column]
        mask = np.ones(len(raw), dtype=bool) if rows is None else rows
        empty = mask & raw.isna().to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise self.fail(i, column, f"{column} is empty")
        codes, uniques = pd.factorize(raw.where(mask))
        mapped = []
        for code in uniques.tolist():  # a few dozen distinct spellings, not one call per row
            try:
                mapped.append(franchise(code))
            except UnknownTeamError:
                mapped.append(None)
        table = np.array(mapped + [np.nan], dtype=object)  # code -1 (masked out) takes the trailing NaN
        out = table[codes]
        unknown = mask & pd.isna(out)
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise self.fail(i, column, f"unknown NFL team code {raw.iloc[i]!r}")
        return out


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NflFileError(path, line, None, "file is not valid UTF-8 (nflverse files are UTF-8)") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_header(path: Path | str) -> list[str]:
    """The header of a CSV file (its first record), stripped; [] for an empty file."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    text = head.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    first = next(csv.reader(io.StringIO(text)), [])
    return [h.strip() for h in first]


def detect_header(header: Sequence[str]) -> str | None:
    """Which nflverse file a header belongs to: games, team-stats, team-epa, injuries, or None."""
    names = set(header)
    for kind, marker in _MARKERS:
        if marker <= names:
            return kind
    return None


def detect(path: Path | str) -> str | None:
    """``"games"``, ``"team-stats"``, ``"team-epa"`` or ``"injuries"`` from a CSV file's header; None otherwise."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return detect_header(read_header(path))
    except (OSError, csv.Error):
        return None


def _label(header: list[str], i: int) -> str:
    return header[i] if i < len(header) and header[i] else f"field {i + 1}"


def _records(path: Path, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Start line, field count, start and end offset of every record, and the field separators (byte offsets).

    A quote character flips "inside a quoted field"; commas and newlines count only outside (an escaped
    quote ``""`` flips twice, so the parity stays right).
    """
    inside = np.bitwise_xor.accumulate((b == 34).view(np.uint8)) if len(b) else np.zeros(0, np.uint8)
    outside = inside == 0
    newlines = np.flatnonzero(b == 10)
    breaks = newlines[outside[newlines]]
    starts = np.concatenate(([0], breaks + 1))
    stops = np.concatenate((breaks, [len(b)]))
    if starts[-1] >= len(b):  # the file ends with a newline: no record after it
        starts, stops = starts[:-1], stops[:-1]
    lines = 1 + np.searchsorted(newlines, starts)
    if len(b) and inside[-1]:
        raise NflFileError(path, int(lines[-1]), None, "file ends inside a quoted field (truncated download?)")
    commas = np.flatnonzero(b == 44)
    commas = commas[outside[commas]]
    fields = np.searchsorted(commas, stops) - np.searchsorted(commas, starts) + 1
    return lines, fields, starts, stops, commas


def _padded_cells(b: np.ndarray, starts: np.ndarray, commas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(record, field) of every cell that may begin or end with whitespace (a superset; few in practice).

    Found on the bytes: a space, tab or newline next to a comma, quote, line break or the file's ends.
    Stripping just these cells afterwards spares a string operation on every cell of the file.
    """
    ws = np.flatnonzero((b == 32) | (b == 9) | (b == 10))
    if not ws.size:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    edge = np.zeros(len(ws), dtype=bool)
    before, after = ws - 1, ws + 1
    ok = before >= 0
    edge[~ok] = True
    edge[ok] |= np.isin(b[before[ok]], (10, 34, 44))
    ok = after < len(b)
    edge[~ok] = True
    edge[ok] |= np.isin(b[after[ok]], (10, 34, 44))
    pos = ws[edge]
    record = np.searchsorted(starts, pos, side="right") - 1
    field_no = np.searchsorted(commas, pos) - np.searchsorted(commas, starts[record])
    cells = np.unique(np.stack([record, field_no], axis=1), axis=0) if len(pos) else np.empty((0, 2), np.int64)
    return cells[:, 0], cells[:, 1]


def read_table(path: Path | str, required: Sequence[str] = (),
               numeric: Callable[[str], bool] | Sequence[str] = ()) -> Table:
    """Read a whole CSV file, refusing one that cannot be trusted (ragged or cut-off rows, bad quoting).

    Columns named by ``numeric`` (names, or a test of a name) are read as floats by pandas' C reader when
    every cell is a number; otherwise they come as text and :meth:`Table.numbers` names the bad cell.
    """
    path = Path(path)
    if not path.is_file():
        raise NflFileError(path, None, None, "not a file")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    text = _decode(path, data)
    if not text.strip():
        raise NflFileError(path, None, None, "file is empty")
    b = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    lines, fields, starts, stops, commas = _records(path, b)
    header = [h.strip() for h in next(csv.reader(io.StringIO(text[: text.find("\n") if "\n" in text else None])))]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise NflFileError(path, 1, name, "column appears twice in the header")
        seen.add(name)
    for name in required:
        if name not in seen:
            raise NflFileError(path, 1, name, "required column is missing")
    _check_fields(path, b, header, lines[1:], fields[1:], starts[1:], stops[1:])
    frame = _read_cells(text, header, numeric) if len(lines) > 1 else pd.DataFrame(columns=header)
    lines = lines[1:]
    if len(frame) != len(lines):
        raise NflFileError(path, None, None, f"read {len(frame)} rows but found {len(lines)} records; "
                           "stray quote characters?")
    values = [frame.iloc[:, j].to_numpy(dtype=float if frame.dtypes.iloc[j].kind == "f" else object, copy=True)
              for j in range(len(header))]
    records, field_nos = _padded_cells(b, starts, commas)
    for r, j in zip(records.tolist(), field_nos.tolist(), strict=True):
        if r == 0 or j >= len(header):  # the header itself; a field past the header cannot occur (checked)
            continue
        cell = values[j][r - 1]
        if isinstance(cell, str):
            cell = cell.strip()
            values[j][r - 1] = cell if cell else np.nan
    out = pd.DataFrame({name: pd.Series(values[j], dtype=values[j].dtype) for j, name in enumerate(header)})
    keep = out.notna().any(axis=1).to_numpy()  # blank lines, and lines of nothing but separators
    if not keep.all():
        out, lines = out.loc[keep].reset_index(drop=True), lines[keep]
    if out.empty:
        raise NflFileError(path, None, None, "file has a header but no rows")
    return Table(path=path, header=header, frame=out, lines=np.asarray(lines, dtype=np.int64), sha256=sha)


def _read_cells(text: str, header: list[str], numeric: Callable[[str], bool] | Sequence[str]) -> pd.DataFrame:
    is_numeric = numeric if callable(numeric) else set(numeric).__contains__
    floats = {j: np.float64 for j, name in enumerate(header) if is_numeric(name)}

    def read(dtypes: dict) -> pd.DataFrame:
        return pd.read_csv(io.StringIO(text), header=0, names=list(range(len(header))),
                           dtype={j: dtypes.get(j, object) for j in range(len(header))}, keep_default_na=False,
                           na_values=[""], skip_blank_lines=False, engine="c")

    if floats:
        try:
            return read(floats)
        except ValueError:  # a cell that is no number: read as text, Table.numbers names it
            pass
    return read({})


def _check_fields(path: Path, b: np.ndarray, header: list[str], lines: np.ndarray, fields: np.ndarray,
                  starts: np.ndarray, stops: np.ndarray) -> None:
    """Every record has as many fields as the header; blank lines are allowed, a cut-off last row is named."""
    n_head = len(header)
    candidates = np.flatnonzero(fields != n_head)
    if not candidates.size:
        return

    def blank(k: int) -> bool:
        return not bytes(b[starts[k]:stops[k]]).strip(b", \t\"")

    bad = [int(k) for k in candidates if not (fields[k] == 1 and blank(int(k)))]
    if not bad:
        return
    k = bad[0]
    got = int(fields[k])
    last = next(i for i in range(len(lines) - 1, -1, -1) if not blank(i))
    if got < n_head and k == last:
        raise NflFileError(path, int(lines[k]), _label(header, got),
                           f"file ends part-way through this row ({got} of {n_head} fields; truncated download?)")
    column = _label(header, got) if got < n_head else f"field {n_head + 1}"
    raise NflFileError(path, int(lines[k]), column, f"row has {got} fields but the header has {n_head}")
