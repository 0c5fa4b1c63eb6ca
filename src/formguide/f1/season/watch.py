"""Watch mode (:func:`watch_season`): keep the season JSON current as files under the data folder change."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from formguide.core.errors import FormguideError
from formguide.f1.season.config import SeasonConfig, log_path, logger
from formguide.f1.season.pipeline import run_season

__all__ = ["watch_season"]


def _changed_units(data: Path, paths: Sequence[Path]) -> list[Path] | None:
    """Race folders holding the changed paths, or None when the whole data folder must be imported again
    (an Ergast folder, lap files, or a change outside any race folder)."""
    from formguide.f1.racefolder import RACE_FILE

    data = data.resolve()
    if (data / RACE_FILE).is_file() or (data / "races.csv").is_file():
        return None
    units: set[Path] = set()
    for p in paths:
        q = p.resolve()
        q = q if q.is_dir() else q.parent
        while not (q / RACE_FILE).is_file():
            if q == data or data not in q.parents:
                return None
            q = q.parent
        units.add(q)
    return sorted(units)


def watch_season(config: SeasonConfig, stop: threading.Event, *, debounce_s: float = 5.0, poll_s: float = 0.05,
                 initial_run: bool = True, on_run: Callable[[dict | None, BaseException | None], None] | None = None
                 ) -> None:
    """Keep ``config.output`` current while ``stop`` is not set (blocking; run it in a thread or the main loop).

    Every create/modify/delete/move under ``config.data`` restarts a ``debounce_s`` timer; when it expires a
    run starts (one at a time, in the calling thread: changes during a run are collected by the watcher and
    trigger the next one). Runs import only the race folders that changed, plus any rejected before. A file
    that fails to import (e.g. half-written) or a deleted one is reported in the log and the training history,
    and retried at the next change. Setting ``stop`` ends watching after the current run has written its
    file, so the JSON is always a complete one. Changes are the ``watchfiles`` package's; its own output, log
    and temporary files are ignored.
    """
    from watchfiles import Change, watch

    config.validate()
    if debounce_s < 0:
        raise FormguideError(f"debounce must be >= 0 seconds, got {debounce_s}")
    own = {config.output.resolve(), log_path(config.output).resolve()}
    kinds = {Change.added: "created", Change.modified: "modified", Change.deleted: "deleted"}
    retry: set[Path] = set()

    def keep(change: Change, path: str) -> bool:
        p = Path(path)
        if p.resolve() in own or p.name.startswith(f".{config.output.name}."):
            return False
        return not (change == Change.modified and p.is_dir())

    def work(items: list[tuple[str, Path]] | None) -> None:
        try:
            units = None if items is None else _changed_units(config.data, [p for _, p in items])
            if units is not None:
                units = sorted(set(units) | {u for u in retry if u.exists()})
            described = ["initial run"] if items is None else [f"{k} {p}" for k, p in items]
            entry = run_season(config, trigger="watch", changes=described, ingest_paths=units)
            retry.clear()
            retry.update(Path(r["file"]).resolve() for r in entry["ingest"]["rejected"])
            if on_run:
                on_run(entry, None)
        except Exception as exc:  # reported; the next change retries
            logger.error("watch run failed: %s", exc)
            if on_run:
                on_run(None, exc)

    pending: dict[tuple[str, Path], None] | None = None if initial_run else {}  # None: the initial run is due
    last = 0.0
    tick = max(1, round(poll_s * 1000))  # ms: how often the stop event and the debounce timer are looked at
    for batch in watch(config.data, watch_filter=keep, step=tick, rust_timeout=tick, yield_on_timeout=True,
                       stop_event=stop):
        for change, path in sorted(batch, key=lambda c: (c[1], c[0])):
            if change == Change.deleted:
                logger.warning("deleted %s: what was imported from it stays in the store", path)
            if pending is not None:
                pending[(kinds[change], Path(path))] = None
            last = time.monotonic()
        if stop.is_set():
            break
        if pending is None or (pending and time.monotonic() - last >= debounce_s):
            items, pending = pending, {}
            work(None if items is None else list(items))
