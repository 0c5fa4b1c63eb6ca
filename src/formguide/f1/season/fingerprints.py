"""Fingerprints of a season's races: ``sha256(settings, upstream, race, calendar)`` per race (see the package
docstring), and the code version that is part of the settings."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import pkgutil
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["canonical", "chain", "code_version", "race_fingerprints", "race_hashes", "sha"]


def sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\x1f")
    return h.hexdigest()


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def race_hashes(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per race (date order): ``race_id, season, round, date, run, race_hash``.

    The hash covers every schema column except the store's ``race_id``, rows ordered by driver.
    """
    cols = [c for c in frame.columns if c != "race_id"]
    ordered = frame.sort_values(["date", "race_id", "driver"], kind="stable")
    row_hash = pd.util.hash_pandas_object(ordered[cols], index=False).to_numpy(dtype=np.uint64)
    race = ordered["race_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, race[1:] != race[:-1]])
    ends = np.r_[starts[1:], race.size]
    first = ordered.iloc[starts]
    hashes = [hashlib.sha256(row_hash[a:b].tobytes()).hexdigest() for a, b in zip(starts, ends, strict=True)]
    run = ordered["position"].notna().to_numpy()
    run_race = np.logical_or.reduceat(run, starts) if race.size else np.zeros(0, dtype=bool)
    return pd.DataFrame({"race_id": first["race_id"].to_numpy(), "season": first["season"].to_numpy(),
                         "round": first["round"].to_numpy(), "date": first["date"].to_numpy(),
                         "run": run_race, "race_hash": hashes})


def chain(hashes: Sequence[str]) -> list[str]:
    """``out[i]`` = hash of everything before item ``i``."""
    out, acc = [], sha("start")
    for h in hashes:
        out.append(acc)
        acc = sha(acc, h)
    return out


def race_fingerprints(frame: pd.DataFrame, season: int, settings: Mapping[str, Any]) -> pd.DataFrame:
    """Per race of ``season``: ``race_key``, ``race_hash``, ``upstream`` and ``fingerprint`` (see the module doc)."""
    races = race_hashes(frame)
    races["upstream"] = chain(races["race_hash"].tolist())
    s = races[races["season"] == season].copy()
    calendar = sha(canonical([[int(r), str(d)] for r, d in zip(s["round"], s["date"], strict=True)]),
                    canonical(frame.loc[frame["season"] == season].groupby("round")["has_sprint"].any()
                               .astype(bool).to_dict()))
    settings_hash = sha(canonical(dict(settings)))
    s["race_key"] = [f"{season}-{int(r):02d}" for r in s["round"]]
    s["fingerprint"] = [sha(settings_hash, up, rh, calendar)
                        for up, rh in zip(s["upstream"], s["race_hash"], strict=True)]
    return s.reset_index(drop=True)


def _modules(package: ModuleType) -> list[ModuleType]:
    """A package and its modules, in name order."""
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    return [package] + [importlib.import_module(f"{package.__name__}.{n}") for n in names]


def code_version() -> str:
    """Short hash of the code that turns data into this file's numbers: simulation, points, this pipeline,
    the model and the feature set (its own version hash), so that changed code recomputes every race."""
    from formguide.core import field as core_field
    from formguide.f1 import models, points, season, simulate
    from formguide.f1.features import f1_feature_set

    mods = (core_field, points, *_modules(simulate), models, *_modules(season))
    src = "".join(inspect.getsource(m) for m in mods)
    return hashlib.sha256((src + f1_feature_set("pre-quali").version).encode()).hexdigest()[:12]
