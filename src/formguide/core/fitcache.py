"""The fit cache: fitted models kept for reuse, keyed by everything their fit depended on.

A key is a sha256 over the model's configuration and a fingerprint of the exact training rows, so an entry is
only ever reused for the same fit. Entries are hash-checked like registry versions (a changed entry is
refused), are not model versions (no champion, not listed by ``models list``), and can be dropped at any
time: a miss only costs the fit. The serving layer keeps a champion refitted as of a date here; the F1
season pipeline its block fits.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from formguide.core.errors import ArtifactIntegrityError
from formguide.core.jsonio import canonical_json
from formguide.core.store.db import session_scope
from formguide.core.store.models import FitCacheEntry

__all__ = ["cache_key", "get", "put"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def cache_key(*parts: Any) -> str:
    """sha256 over the canonical JSON of each part (configuration dicts, fingerprints, versions)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(canonical_json(part))
        h.update(b"\x1f")
    return h.hexdigest()


def _sha(parameters: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(parameters)).hexdigest()


def get(engine: Engine, key: str) -> dict[str, Any] | None:
    """The parameters stored under ``key`` (hash-checked), or None."""
    with session_scope(engine) as s:
        entry = s.get(FitCacheEntry, key)
        if entry is None:
            return None
        if _sha(entry.parameters) != entry.parameters_sha256:
            raise ArtifactIntegrityError(f"fit cache entry {key[:12]} fails its integrity check; refusing to load it "
                                         "(delete the row from fit_cache to refit)")
        entry.used_at = _now()
        return dict(entry.parameters)


def put(engine: Engine, key: str, *, sport: str, model_type: str, parameters: dict[str, Any]) -> None:
    """Keep ``parameters`` under ``key`` (a concurrent writer of the same key wins; both wrote the same fit)."""
    import json

    params = json.loads(canonical_json(parameters))
    try:
        with session_scope(engine) as s:
            if s.scalar(select(FitCacheEntry.key).where(FitCacheEntry.key == key)) is not None:
                return
            now = _now()
            s.add(FitCacheEntry(key=key, sport=sport, model_type=model_type, parameters=params,
                                parameters_sha256=_sha(params), created_at=now, used_at=now))
    except IntegrityError:
        return
