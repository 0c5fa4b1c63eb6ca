"""Small helpers shared by the benchmarks: repeated timing and a plain-text table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def time_calls(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Run ``fn`` ``repeat`` times; return the wall-clock seconds of each call and the last result."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    seconds: list[float] = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def time_interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Time several callables in turn, ``repeat`` rounds, so that changing machine load hits each alike.

    Returns the seconds of each call per name and each callable's last result.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    seconds: dict[str, list[float]] = {name: [] for name in fns}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            seconds[name].append(time.perf_counter() - start)
    return seconds, results


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if 100 <= abs(value) < 1e9:
            return f"{value:.6f}"
        if value == 0 or 1e-3 <= abs(value) < 100:
            return f"{value:.6g}"
        return f"{value:.3e}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows of dicts as an aligned text table; columns default to the keys of the first row."""
    if not rows:
        return "(no rows)"
    cols = list(columns) if columns is not None else list(rows[0])
    cells = [[_cell(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(lines)
