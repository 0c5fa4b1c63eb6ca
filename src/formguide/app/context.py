"""The context every use case runs in: the settings, the store (opened and migrated once), the artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from formguide.core.settings import Settings, load_settings

__all__ = ["Context"]


@dataclass
class Context:
    """One process's view of formguide: front ends make one and hand it to every use case."""

    settings: Settings = field(default_factory=load_settings)
    _engine: Engine | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_options(cls, **overrides: Any) -> Context:
        """A context from flag values (``db_url``, ``artifacts_dir``, ``data_dir``, ``log_level``; None = unset)."""
        return cls(load_settings(**overrides))

    @property
    def engine(self) -> Engine:
        """The store's engine, migrated to the newest schema the first time it is asked for."""
        if self._engine is None:
            from formguide.core.store.db import open_store

            self._engine = open_store(self.settings.store_url)
        return self._engine

    @property
    def artifacts(self) -> Path:
        return self.settings.artifacts

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
