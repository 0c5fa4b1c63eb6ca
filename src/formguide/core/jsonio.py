"""JSON in one place: the encoder every output goes through, the canonical bytes every hash is taken over,
and atomic file writes.

* :func:`to_jsonable` turns numpy scalars and arrays, dates and times, pandas ``NaT``, paths, sets and
  pydantic models into plain JSON values, and every non-finite float (NaN, infinity: an estimate that does
  not exist) into ``null``. JSON written by formguide never holds ``NaN`` or ``Infinity``.
* :func:`canonical_json` is the deterministic form (sorted keys, no whitespace) that model hashes,
  fingerprints and configuration comparisons use; it refuses objects it cannot represent exactly.
* :func:`write_text_atomic` / :func:`write_json` write through a temporary file in the same folder and
  ``os.replace``: a reader sees the old or the new file, never half of one. Files get the usual
  permissions (``0666`` less the umask), not a temporary file's ``0600``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

import numpy as np

__all__ = ["canonical_json", "dumps", "to_jsonable", "write_json", "write_text_atomic"]


def to_jsonable(obj: Any, *, strict: bool = False) -> Any:
    """A JSON-ready copy of ``obj`` (see the module docstring).

    With ``strict`` an object of an unknown type raises ``TypeError`` (what gets hashed must be exact);
    otherwise it is written as its ``str``.
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.generic):
        if isinstance(obj, np.datetime64):
            return None if np.isnat(obj) else str(obj)
        return to_jsonable(obj.item(), strict=strict)
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), strict=strict)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, strict=strict) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, strict=strict) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat() if obj == obj else None  # pandas NaT is a datetime unequal to itself
    if isinstance(obj, set | frozenset):
        return sorted((to_jsonable(v, strict=strict) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):  # a pydantic model
        return to_jsonable(model_dump(mode="python"), strict=strict)
    if isinstance(obj, PurePath):
        return str(obj)
    if strict:
        raise TypeError(f"cannot store a {type(obj).__name__} in JSON exactly: {obj!r:.80}")
    return str(obj)


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """JSON text of ``obj`` for people and scripts (never ``NaN`` or ``Infinity``)."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False, ensure_ascii=False)


def canonical_json(obj: Any) -> bytes:
    """Deterministic UTF-8 JSON (sorted keys, no whitespace, no NaN): the bytes every hash is taken over."""
    return json.dumps(to_jsonable(obj, strict=True), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def write_text_atomic(path: str | os.PathLike, text: str | bytes) -> Path:
    """Write ``text`` (or bytes) to ``path`` atomically (temporary file + ``os.replace``); parents are created."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2) -> Path:
    """:func:`dumps` of ``obj`` written atomically to ``path`` (with a final newline)."""
    return write_text_atomic(path, dumps(obj, indent=indent) + "\n")
