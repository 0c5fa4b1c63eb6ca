"""One run of the season pipeline (:func:`run_season`): ingest, fingerprints, reuse of unchanged races,
the prior model, every changed race, the document written, the run recorded in the store and the log."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from formguide.core.errors import DataValidationError
from formguide.core.jsonio import to_jsonable
from formguide.f1.season.championship import current_championship
from formguide.f1.season.config import SPORT, SeasonConfig, log_path, logger
from formguide.f1.season.document import (
    FORMAT_VERSION,
    build_document,
    read_previous,
    write_document,
    write_json_atomic,
)
from formguide.f1.season.fingerprints import canonical, code_version, race_fingerprints, race_hashes, sha
from formguide.f1.season.fits import prior_utilities, run_name
from formguide.f1.season.race import compute_races
from formguide.f1.simulate import check_weights

__all__ = ["run_season"]


@contextlib.contextmanager
def log_to_file(output: Path, verbose: bool) -> Iterator[None]:
    handler = logging.FileHandler(log_path(output), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(old)


def ingest(engine, data: Path, paths: Sequence[Path] | None) -> dict:
    from formguide.f1.store_io import ingest_f1

    layout, report = ingest_f1(engine, [data] if paths is None else list(paths))
    d = report.to_dict()
    rejected = [{"file": f.path, "error": f.error} for f in report.files if f.status == "rejected"]
    for r in rejected:
        logger.error("rejected %s: %s (kept out; retried at the next run or change)", r["file"], r["error"])
    return {"layout": layout, "sources": "all" if paths is None else [str(p) for p in paths],
            "inserted": d["inserted"], "updated": d["updated"], "unchanged": d["unchanged"],
            "rejected_rows": d["rejected"], "rejected": rejected}


def known_names(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    drivers = set(frame["driver"].dropna().astype(str)) | set(frame["driver_code"].dropna().astype(str))
    return sorted(drivers), sorted(set(frame["constructor"].dropna().astype(str)))


def run_season(config: SeasonConfig, *, trigger: str = "manual", changes: Sequence[str] = (),
               ingest_paths: Sequence[Path] | None = None) -> dict:
    """One pass of the pipeline (see the package docstring); returns the run's training-history entry.

    ``ingest_paths``: import only these sources (race folders that changed) instead of the whole data folder;
    the store keeps everything imported before. Errors in the configuration raise before any work. A failure
    later is recorded in the output's training history (when an output exists) and in the store's training
    runs, then raised.
    """
    config.validate()
    with log_to_file(config.output, config.verbose):
        return _run(config, trigger, changes, ingest_paths)


def _run(config: SeasonConfig, trigger: str, changes: Sequence[str], ingest_paths: Sequence[Path] | None) -> dict:
    from formguide.core.registry import finish_run, start_run
    from formguide.core.store.db import open_store
    from formguide.f1.features import f1_feature_set
    from formguide.f1.store_io import load_entries

    started = time.perf_counter()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    settings = config.settings() | {"code_version": code_version(), "format_version": FORMAT_VERSION}
    entry: dict[str, Any] = {"timestamp": stamp, "trigger": trigger, "status": "running", "configuration": settings,
                             "changes": list(changes)}
    for c in changes:
        logger.info("change: %s", c)
    previous = read_previous(config.output)
    engine = open_store(config.db)
    run_id = start_run(engine, sport=SPORT, run_type="season", model_name=run_name(config.model_type),
                       config=settings)
    logger.info("season run started (%s): data %s, output %s", trigger, config.data, config.output)
    try:
        entry["ingest"] = ingest(engine, config.data, ingest_paths)
        frame = load_entries(engine).reset_index(drop=True)
        if frame.empty:
            raise DataValidationError(f"the store holds no F1 races after importing {config.data}")
        seasons = sorted(int(s) for s in frame["season"].unique())
        season = config.season if config.season is not None else seasons[-1]
        if season not in seasons:
            raise DataValidationError(f"season {season} is not in the data; seasons available: "
                                      f"{seasons[0]}-{seasons[-1]}")
        in_season = frame[frame["season"] == season]
        known_d, known_t = known_names(in_season)
        check_weights(config.driver_weights, known_d, "driver")
        check_weights(config.team_weights, known_t, "team")
        settings["season"] = season
        fps = race_fingerprints(frame, season, settings)
        reuse: dict[str, dict] = {}
        if previous is not None and not config.force_retrain:
            old = {p.get("race_key"): p for p in previous.get("predictions", [])}
            for key, fp in zip(fps["race_key"], fps["fingerprint"], strict=True):
                if key in old and old[key].get("fingerprint") == fp:
                    reuse[key] = old[key]
        todo = fps[~fps["race_key"].isin(reuse)]
        logger.info("season %d: %d races, %d reused, %d to compute", season, len(fps), len(reuse), len(todo))
        stats = {"models_trained": 0, "models_loaded": 0}
        computed: dict[str, dict] = {}
        failed: list[dict] = []
        fit_seconds = 0.0
        if len(todo):
            t_fit = time.perf_counter()
            fs = f1_feature_set("pre-quali")
            X = fs.build(frame)
            races = race_hashes(frame)
            U, fits = prior_utilities(frame, X, season, config, engine, races, fs.version, stats)
            fit_seconds = time.perf_counter() - t_fit
            computed, failed = compute_races(frame, season, config, U, fits, todo)
        predictions = []
        for key, fp, up in zip(fps["race_key"], fps["fingerprint"], fps["upstream"], strict=True):
            p = reuse.get(key) or computed.get(key)
            if p is None:
                continue
            predictions.append(p | {"race_key": key, "fingerprint": fp, "upstream_fingerprint": up})
        run_fp = sha(canonical(settings), *fps["fingerprint"].tolist())
        entry |= {
            "status": "failed" if failed and not computed and len(todo) else
                      ("partial" if failed or entry["ingest"]["rejected"] else "ok"),
            "season": season, "races_in_season": int(len(fps)), "races_processed": int(len(todo)),
            "races_reused": len(reuse), "succeeded": len(computed), "failed": len(failed), "failures": failed,
            "fingerprint": run_fp, "training_seconds": round(fit_seconds, 3), **stats,
        }
        entry["duration_s"] = round(time.perf_counter() - started, 3)
        history = (previous or {}).get("metadata", {}).get("training_history", []) + [entry]
        championship = current_championship(predictions, frame, season, config)
        document = to_jsonable(build_document(config, settings, season, predictions, championship, history,
                                              fit_seconds, entry))
        write_document(config.output, document)
        logger.info("wrote %s: %d races (%d computed, %d reused, %d failed) in %.2f s", config.output,
                    len(predictions), len(computed), len(reuse), len(failed), entry["duration_s"])
        finish_run(engine, run_id, status=entry["status"], event_count=len(todo), data_fingerprint=run_fp,
                   logs=[f"{f['race_key']}: {f['error']}" for f in failed])
        return entry
    except BaseException as exc:
        entry |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                  "duration_s": round(time.perf_counter() - started, 3)}
        logger.error("season run failed: %s", entry["error"])
        with contextlib.suppress(Exception):
            finish_run(engine, run_id, status="failed", error_message=entry["error"])
        if previous is not None:
            with contextlib.suppress(Exception):
                previous["metadata"]["training_history"] = previous["metadata"].get("training_history", []) + [entry]
                write_json_atomic(config.output, to_jsonable(previous))
        raise
    finally:
        engine.dispose()
