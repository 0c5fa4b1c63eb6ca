"""Frames <-> JSON text per row, column by column: the NFL store keeps game details and team reports as JSON.

Tens of thousands of rows of a hundred statistics each: building one ``dict`` per row and calling
``json.dumps`` would be the slowest step of an import. Here each column is turned into JSON text with one
array operation (numbers in their shortest round-trip form, so a float read back is the float written;
whole numbers without a decimal point; text through ``json.dumps`` once per distinct value), and the
columns are joined into one object per row. Reading back parses all rows in one ``json.loads`` call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["json_lists", "json_objects", "parse_many", "text_hashes"]

_EXACT_INT = float(2 ** 53)
_END = "\x1e"  # the record separator: never in JSON text, which escapes control characters


def _number_text(values: np.ndarray) -> np.ndarray:
    """JSON numbers: whole numbers as integers, others in the shortest text that reads back exactly."""
    v = np.asarray(values, dtype=np.float64)
    codes, uniques = pd.factorize(v, use_na_sentinel=True)  # statistics repeat: format each value once
    uniques = np.asarray(uniques, dtype=np.float64)
    if not np.isfinite(uniques).all():
        raise ValueError("JSON holds no infinite numbers")
    text = uniques.astype(str).astype(object)  # numpy writes the shortest repr that reads back exactly
    whole = (uniques == np.round(uniques)) & (np.abs(uniques) < _EXACT_INT)
    text[whole] = uniques[whole].astype(np.int64).astype(str).astype(object)
    return np.append(text, "null").astype(object)[codes]


def _text(values: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(values.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
    table = np.array([json.dumps(str(u), ensure_ascii=False) for u in uniques] + ["null"], dtype=object)
    return table[codes]


def _column_text(values: pd.Series) -> np.ndarray:
    """JSON text of each cell of one column."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.where(values.to_numpy(dtype=bool), "true", "false").astype(object)
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.DatetimeIndex(values)
        suffix = "Z" if stamps.tz is not None else ""
        if stamps.tz is not None:
            stamps = stamps.tz_convert("UTC").tz_localize(None)
        raw = stamps.to_numpy().astype("datetime64[s]")
        text = np.char.add(np.char.add('"', np.datetime_as_string(raw, unit="s")), suffix + '"').astype(object)
        text[np.isnat(raw)] = "null"
        return text
    if pd.api.types.is_numeric_dtype(dtype):
        return _number_text(values.to_numpy(dtype=np.float64, na_value=np.nan))
    return _text(values)


def json_objects(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> np.ndarray:
    """One JSON object (text) per row with ``columns`` as keys in that order; NaN/None/NaT are ``null``.

    Every key and value text goes, row by row, into one ``str.join`` with a control character closing
    each row (JSON escapes every control character, so none occurs inside a value), and one ``split``
    cuts the rows apart again: two C calls for the whole frame, whatever its size.
    """
    columns = list(frame.columns if columns is None else columns)
    n = len(frame)
    if not columns or not n:
        return np.full(n, "{}", dtype=object)
    pieces = np.empty((n, 2 * len(columns) + 1), dtype=object)
    for j, col in enumerate(columns):
        pieces[:, 2 * j] = ("{" if j == 0 else ", ") + json.dumps(str(col)) + ": "
        pieces[:, 2 * j + 1] = _column_text(frame[col])
    pieces[:, -1] = "}" + _END
    rows = "".join(pieces.ravel().tolist()).split(_END)[:-1]
    return np.array(rows, dtype=object)


def json_lists(items: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JSON lists of ``items`` (JSON texts) per group, in item order; returns (sorted group keys, list texts).

    ``groups`` is an integer key per item (items of one group need not be adjacent). Joined and cut like
    :func:`json_objects`: no Python work per group.
    """
    groups = np.asarray(groups)
    if not len(groups):
        return groups[:0], np.empty(0, dtype=object)
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    keys, starts = np.unique(sorted_groups, return_index=True)
    first = np.zeros(len(order), dtype=bool)
    first[starts] = True
    last = np.zeros(len(order), dtype=bool)
    last[np.r_[starts[1:] - 1, len(order) - 1]] = True
    pieces = np.empty((len(order), 3), dtype=object)
    pieces[:, 0] = np.where(first, "[", ",")
    pieces[:, 1] = np.asarray(items, dtype=object)[order]
    pieces[:, 2] = np.where(last, "]" + _END, "")
    texts = "".join(pieces.ravel().tolist()).split(_END)[:-1]
    return keys, np.array(texts, dtype=object)


def parse_many(texts: Sequence[str]) -> list:
    """Every JSON text parsed, in one ``json.loads`` call (a list of the values)."""
    if len(texts) == 0:
        return []
    return json.loads("[" + ",".join(texts) + "]")


def text_hashes(texts: Sequence[str] | np.ndarray) -> np.ndarray:
    """A 64-bit hash (16 hex digits) of each text, for ``row_hash`` columns: unchanged text, unchanged hash."""
    if len(texts) == 0:
        return np.empty(0, dtype=object)
    h = pd.util.hash_pandas_object(pd.Series(np.asarray(texts, dtype=object), dtype=object), index=False)
    return np.char.mod("%016x", h.to_numpy(dtype=np.uint64)).astype(object)
