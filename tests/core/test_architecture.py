"""The layering rule: the core is sport-agnostic and never imports a sport package."""

from __future__ import annotations

import ast
from pathlib import Path

import formguide

SRC = Path(formguide.__file__).parent
SPORTS = sorted(p.name for p in SRC.iterdir() if p.is_dir() and p.name not in ("core", "__pycache__"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_there_are_sports_to_check():
    assert "football" in SPORTS


def test_core_never_imports_a_sport():
    offenders = []
    for path in (SRC / "core").rglob("*.py"):
        for name in _imports(path):
            if any(name == f"formguide.{s}" or name.startswith(f"formguide.{s}.") for s in SPORTS):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_sports_are_found_through_entry_points():
    from formguide.core.sport import FieldSport, MatchSport, available_sports, get_sport

    assert {"football", "f1"} <= set(available_sports())
    assert isinstance(get_sport("football"), MatchSport)
    assert isinstance(get_sport("f1"), FieldSport)
