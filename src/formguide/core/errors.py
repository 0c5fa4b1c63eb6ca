"""Errors a user sees. Each says what is wrong and where (file, row, column) when that is known."""

from __future__ import annotations


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


class DataValidationError(FormguideError):
    """Data in the store that a step cannot work with (e.g. too few matches to train)."""


class StoreError(FormguideError):
    """The database cannot be reached or used."""


class ModelNotFoundError(FormguideError):
    """No registered model matches the request (e.g. predicting a league with no trained model)."""


class ArtifactIntegrityError(FormguideError):
    """A stored model artifact whose sha256 does not match its recorded hash."""
