"""Errors a user sees. Each says what is wrong and where (file, row, column) when that is known."""

from __future__ import annotations

import errno


class FormguideError(Exception):
    """Base of every error formguide raises on purpose; the CLI prints these without a traceback."""


class IngestError(FormguideError):
    """A source file that cannot be imported; nothing from it is written."""

    def __init__(self, path: object, row: int | None, column: str | None, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.row = row
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __reduce__(self):  # picklable, so files can be parsed in a worker process
        return (_rebuild_ingest_error, (type(self), self.path, self.row, self.column, self.message))

    def __str__(self) -> str:
        parts = []
        if self.path:
            from pathlib import Path

            parts.append(Path(self.path).name)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        where = ", ".join(parts)
        return f"{where}: {self.message}" if where else self.message


class IngestFileNotFoundError(IngestError, FileNotFoundError):
    """A path given for import that does not exist; also a ``FileNotFoundError`` for generic handlers."""

    def __init__(self, path: object, row: int | None = None, column: str | None = None,
                 message: str = "no such file or folder") -> None:
        super().__init__(path, row, column, message)
        # OSError.__new__ took our positional arguments as (errno, strerror, ...); set the real values.
        self.errno = errno.ENOENT
        self.strerror = message
        self.filename = str(path)


class DownloadError(FormguideError):
    """A remote source could not be fetched; the message names the URL."""


def _rebuild_ingest_error(cls: type, path: object, row: int | None, column: str | None, message: str) -> IngestError:
    return cls(path, row, column, message)


class DataValidationError(FormguideError):
    """Data in the store that a step cannot work with (e.g. too few matches to train)."""


class StoreError(FormguideError):
    """The database cannot be reached or used."""


class ModelNotFoundError(FormguideError):
    """No registered model matches the request (e.g. predicting a league with no trained model)."""


class ArtifactIntegrityError(FormguideError):
    """A stored model artifact whose sha256 does not match its recorded hash."""
