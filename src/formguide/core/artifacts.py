"""Artifact folders (model cards, reliability diagrams, plots): staged, then moved into place.

Files of a model version are written into a hidden staging folder beside their final place and moved there
(``os.replace``) only after the store committed the version, so a failed registration leaves no files and
a reader never sees half a folder. Every folder lives under the store's artifacts folder (settings), so
two stores never overwrite each other's cards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

__all__ = ["discard", "model_dir", "plots_dir", "publish", "stage"]


def model_dir(artifacts: Path, name: str, version: int) -> Path:
    return Path(artifacts) / "models" / f"{name}-v{version}"


def plots_dir(artifacts: Path) -> Path:
    return Path(artifacts) / "plots"


def stage(final: Path) -> Path:
    """A fresh, empty staging folder for ``final`` (same parent, so the move is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    folder = final.parent / f".staging-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def publish(staged: Path, final: Path) -> Path:
    """Move a staged folder into place (replacing an older folder of the same name)."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
        os.replace(staged, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, final)
    return final


def discard(staged: Path | None) -> None:
    if staged is not None:
        shutil.rmtree(staged, ignore_errors=True)
