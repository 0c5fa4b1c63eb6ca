"""Reading a football-data CSV into records, fast and strictly: encodings, quoted files, ragged rows.

The unquoted files (almost all of them) are split with plain string operations; a file with quotes goes
through the ``csv`` module. Either way every record must have as many fields as the header, and a file cut
part-way through a row is refused with its line named.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from formguide.core.errors import IngestError

__all__ = ["Raw", "decode", "read_cells", "scan_quoted", "scan_unquoted"]

_BOM_AS_LATIN1 = "\u00ef\u00bb\u00bf"




@dataclass
class Raw:
    """A file split into records: text columns as strings, the numeric columns as one float array."""

    text: str
    header: list[str]
    lines: np.ndarray  # line number of each record
    empty: np.ndarray  # record holds nothing but separators / whitespace
    records: list[list[str]] | None = None  # only for files with quotes (csv-module path)
    strings: dict[int, pd.Series] = field(default_factory=dict)  # header position -> raw text, NaN blank
    numbers: np.ndarray | None = None  # (records, numeric columns), NaN blank
    invalid: np.ndarray | None = None  # numeric cells that are not finite numbers
    _physical: list[str] | None = None

    def source(self, record: int, col: int) -> str:
        """The text of one cell as written in the file (for messages)."""
        if self.records is not None:
            fields = self.records[record + 1]
        else:
            if self._physical is None:
                self._physical = self.text.split("\n")
            fields = self._physical[int(self.lines[record]) - 1].split(",")
        return fields[col] if col < len(fields) else ""


def decode(path: Path, data: bytes) -> tuple[str, str, list[str]]:
    try:
        text, encoding, notes = data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
        notes = [f"{path.name}: not valid UTF-8, read as Latin-1"]
        if text.startswith(_BOM_AS_LATIN1):
            text = text[len(_BOM_AS_LATIN1):]
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding, notes


def _label(header: list[str], i: int) -> str:
    return header[i] if i < len(header) and header[i] else f"field {i + 1}"


def _check_field_counts(path: Path, header: list[str], fields: np.ndarray, blank: np.ndarray,
                        lines: np.ndarray) -> None:
    n_head = len(header)
    bad = np.flatnonzero((fields != n_head) & ~blank)
    if not bad.size:
        return
    k = bad[0]
    got = int(fields[k])
    non_blank = np.flatnonzero(~blank)
    if got < n_head and k == non_blank[-1]:
        raise IngestError(path, int(lines[k]), _label(header, got),
                          f"file ends part-way through this row ({got} of {n_head} fields; truncated download?)")
    column = _label(header, got) if got < n_head else f"field {n_head + 1}"
    raise IngestError(path, int(lines[k]), column, f"row has {got} fields but the header has {n_head}")


def scan_unquoted(path: Path, text: str) -> Raw:
    """Header, line numbers and field counts of a file without quote characters, from byte positions."""
    b = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    newline = np.flatnonzero(b == 10)
    n_lines = len(newline) + (0 if len(b) and b[-1] == 10 else 1)
    ends = np.append(newline, len(b))[:n_lines]  # each line ends before this byte

    def per_line(mask: np.ndarray) -> np.ndarray:
        total = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
        return np.diff(np.concatenate(([0], total[ends])))

    commas = per_line(b == 44)
    content = per_line((b != 44) & (b != 32) & (b != 9) & (b != 10))
    header = [h.strip() for h in text[: newline[0] if len(newline) else len(text)].split(",")]
    lines = np.arange(2, n_lines + 1)
    fields, empty = commas[1:] + 1, content[1:] == 0
    _check_field_counts(path, header, fields, empty & (commas[1:] == 0), lines)
    return Raw(text, header, lines, empty)


def read_cells(path: Path, raw: Raw, text_cols: list[int], numeric_cols: list[int]) -> None:
    """Fill ``raw.strings`` / ``raw.numbers``. Quote-free files go through the pandas C reader, twice
    (text columns, then numbers straight into one float block), which beats one mixed read."""
    n = len(raw.lines)
    if raw.records is not None:
        body = raw.records[1:]
        width = len(raw.header)
        frame = pd.DataFrame([r if len(r) == width else [""] * width for r in body],
                             columns=list(range(width)), dtype=str) if body else None
    else:
        def read(use: list[int], dtype: type) -> pd.DataFrame:
            return pd.read_csv(io.StringIO(raw.text), header=None, skiprows=1, names=list(range(len(raw.header))),
                               usecols=use, dtype=dtype, keep_default_na=False, na_values=[""],
                               skip_blank_lines=False, quoting=csv.QUOTE_NONE, engine="c")

        frame = None
        if n and text_cols:
            frame = read(text_cols, str)
        if n and numeric_cols:
            try:
                in_file_order = read(numeric_cols, np.float64).to_numpy(dtype=np.float64)
                raw.numbers = in_file_order[:, np.argsort(np.argsort(numeric_cols))]
                raw.invalid = np.isinf(raw.numbers)
            except ValueError:  # a non-number somewhere: read those columns as text, find it below
                extra = read(numeric_cols, str)
                frame = extra if frame is None else pd.concat([frame, extra], axis=1)
        if frame is not None and len(frame) != n:  # cannot happen for quote-free text; guards row numbers
            raise IngestError(path, None, None, f"read {len(frame)} rows but found {n} lines")
    for i in text_cols:
        raw.strings[i] = frame[i] if frame is not None else pd.Series([], dtype=str)
    if raw.numbers is None:
        if frame is None:
            raw.numbers, raw.invalid = np.empty((n, len(numeric_cols))), np.zeros((n, len(numeric_cols)), bool)
        else:
            raw.numbers, raw.invalid = _to_float(frame[numeric_cols] if numeric_cols else frame.iloc[:, :0])


def scan_quoted(path: Path, text: str) -> Raw:
    """Files with quote characters (never seen in football-data, but valid CSV): the csv module."""
    reader = csv.reader(io.StringIO(text), strict=True)
    records: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    try:
        for rec in reader:
            starts.append(prev + 1)
            prev = reader.line_num
            records.append(rec)
    except csv.Error as exc:
        row = prev + 1
        physical = text.split("\n")
        line = physical[row - 1] if row - 1 < len(physical) else ""
        odd = [i for i, f in enumerate(line.split(",")) if f.count('"') % 2]
        header = [h.strip() for h in records[0]] if records else []
        column = _label(header, odd[0]) if odd else None
        raise IngestError(path, row, column, f"malformed CSV ({exc}); unbalanced quotes?") from None
    header = [h.strip() for h in records[0]]
    body = records[1:]
    fields = np.array([len(r) for r in body], dtype=np.int64)
    empty = np.array([not any(f.strip() for f in r) for r in body], dtype=bool)
    lines = np.array(starts[1:], dtype=np.int64)
    _check_field_counts(path, header, fields, empty & (fields <= 1), lines)
    return Raw(text, header, lines, empty, records=records)


def _to_float(block: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(values, invalid) of text cells: blanks become NaN; ``invalid`` marks cells that are not finite numbers."""
    values = np.full(block.shape, np.nan)
    invalid = np.zeros(block.shape, dtype=bool)
    for j in range(block.shape[1]):  # per column; only for files holding a non-number somewhere
        s = block.iloc[:, j].astype(str).str.strip()
        empty = (s.isna() | (s == "")).to_numpy()
        num = pd.to_numeric(s.where(~empty), errors="coerce").to_numpy(dtype=float)
        invalid[:, j] = ~empty & ~np.isfinite(num)
        values[:, j] = np.where(invalid[:, j], np.nan, num)
    return values, invalid
