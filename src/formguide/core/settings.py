"""Settings: the one place formguide reads its configuration from.

Each setting comes from, in order: a command-line flag (or an argument of :class:`Settings`), a
``FORMGUIDE_*`` environment variable, or a default. Defaults never depend on the working directory:

========================  ==========================  =====================================================
setting                   environment variable         default
========================  ==========================  =====================================================
``home``                  ``FORMGUIDE_HOME``           ``$XDG_DATA_HOME/formguide`` (``~/.local/share/formguide``)
``db_url``                ``FORMGUIDE_DB_URL``         ``sqlite:///<home>/formguide.sqlite``
``artifacts_dir``         ``FORMGUIDE_ARTIFACTS``      beside the store: ``<store file>-artifacts/`` for SQLite,
                                                       ``<home>/artifacts/<database>-<hash>/`` for a server
``data_dir``              ``FORMGUIDE_DATA``           ``<home>/data``
``log_level``             ``FORMGUIDE_LOG_LEVEL``      ``WARNING`` (``FORMGUIDE_LOG`` is read too)
``api_token``             ``FORMGUIDE_API_TOKEN``      none: the HTTP API's write endpoints answer 403
``redis_url``             ``FORMGUIDE_REDIS_URL``      none: online rows live in the store's table only
``mlflow_uri``            ``FORMGUIDE_MLFLOW_URI``     none: training runs are not mirrored to MLflow
========================  ==========================  =====================================================

A relative path or SQLite file given by the user is resolved against the working directory once, when the
settings are made, and shown absolute from then on (``formguide info``). Model cards and plots belong to
their store: two stores never share an artifacts folder unless told to.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from formguide.core.errors import FormguideError

__all__ = ["LOG_LEVELS", "Settings", "load_settings"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "formguide"


def _sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for an in-memory database or another backend)."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split("://", 1)[1] if "://" in url else ""
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


class Settings(BaseSettings):
    """Where the store, the data and the artifacts are, and how much to log (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix="FORMGUIDE_", extra="ignore", validate_default=True,
                                      populate_by_name=True)

    home: Path = Field(default_factory=_default_home, description="Folder for the default store and artifacts.")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL of the store.")
    artifacts_dir: Path | None = Field(default=None, validation_alias=AliasChoices(
                                       "FORMGUIDE_ARTIFACTS", "FORMGUIDE_ARTIFACTS_DIR"),
                                       description="Folder for model cards and plots.")
    data_dir: Path | None = Field(default=None, validation_alias=AliasChoices("FORMGUIDE_DATA",
                                  "FORMGUIDE_DATA_DIR"), description="Folder of the source data sets.")
    log_level: str = Field(default="WARNING", validation_alias=AliasChoices("FORMGUIDE_LOG_LEVEL",
                           "FORMGUIDE_LOG"), description="Console log level.")
    api_token: SecretStr | None = Field(default=None, description=(
        "Bearer token the HTTP API's write endpoints require (none set: they are refused)."))
    redis_url: str | None = Field(default=None, description=(
        "Redis URL of the online store's mirror (extra [redis]); none: served rows are read from the store."))
    mlflow_uri: str | None = Field(default=None, description=(
        "MLflow tracking URI that training runs and champions are mirrored to (e.g. sqlite:///mlflow.db); "
        "none: no mirroring. Needs the [mlflow] extra."))
    drift_refresh_s: float = Field(default=0.0, ge=0, allow_inf_nan=False, description=(
        "Seconds after which a /metrics scrape refreshes a champion's drift report in the background; 0: off "
        "(the gauges show the reports computed on request)."))

    @field_validator("home", "artifacts_dir", "data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().absolute()

    @field_validator("db_url", mode="after")
    @classmethod
    def _absolute_sqlite(cls, value: str | None) -> str | None:
        if not value:
            return None
        path = _sqlite_path(value)
        if path is not None and not path.is_absolute():
            query = value.split("?", 1)[1] if "?" in value else None
            value = f"sqlite:///{path.expanduser().absolute()}" + (f"?{query}" if query else "")
        return value

    @field_validator("mlflow_uri", mode="after")
    @classmethod
    def _absolute_mlflow(cls, value: str | None) -> str | None:
        """A relative SQLite file or a plain path (``x.db``/``x.sqlite``: SQLite, else a file-store folder) made
        absolute once, like ``db_url``: MLflow would resolve it against whatever directory a later process
        runs in."""
        if not value or not value.strip():
            return None
        value = value.strip()
        if "://" not in value and not value.startswith("file:"):
            plain = Path(value).expanduser().absolute()
            return f"sqlite:///{plain}" if plain.suffix in (".db", ".sqlite") else plain.as_uri()
        path = _sqlite_path(value)
        if path is not None and not path.is_absolute():
            return f"sqlite:///{path.expanduser().absolute()}"
        return value

    @field_validator("log_level", mode="after")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return level

    # ------------------------------------------------------------------------------- resolved values
    @property
    def store_url(self) -> str:
        """The store's URL: the setting, else the embedded SQLite file under ``home``."""
        return self.db_url or f"sqlite:///{self.home / 'formguide.sqlite'}"

    @property
    def artifacts(self) -> Path:
        """Folder of model cards and plots: the setting, else one that belongs to the store."""
        if self.artifacts_dir is not None:
            return self.artifacts_dir
        path = _sqlite_path(self.store_url)
        if path is not None:
            return path.with_name(f"{path.stem}-artifacts")
        tag = hashlib.sha256(self.store_url.encode()).hexdigest()[:8]
        database = self.store_url.rsplit("/", 1)[-1].split("?", 1)[0] or "memory"
        return self.home / "artifacts" / f"{database}-{tag}"

    @property
    def data(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.home / "data"

    @property
    def log_level_number(self) -> int:
        return int(logging.getLevelName(self.log_level))

    def describe(self) -> dict[str, Any]:
        """Resolved values, the password of a server URL hidden (what ``formguide info`` shows)."""
        from formguide.core.store.db import redact_url

        return {"store": redact_url(self.store_url), "artifacts": str(self.artifacts), "data": str(self.data),
                "home": str(self.home), "log_level": self.log_level,
                "mlflow": redact_url(self.mlflow_uri) if self.mlflow_uri else "off"}


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment with ``overrides`` (None values ignored); a bad value is a clear error."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
                             for e in exc.errors())
        raise FormguideError(f"invalid settings: {problems}") from None
