"""The layering rule: the core, the application layer, the CLI and the service (API and web UI) are sport-agnostic; they never
import a sport package and never branch on a sport's name. Sports plug in through the contract only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import formguide

SRC = Path(formguide.__file__).parent
LAYERS = ("core", "app", "cli", "service")
SPORTS = sorted(p.name for p in SRC.iterdir()
                if p.is_dir() and p.name not in (*LAYERS, "__pycache__") and (p / "sport.py").exists())


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
    assert {"football", "f1"} <= set(SPORTS)


def test_no_layer_imports_a_sport():
    offenders = []
    for layer in LAYERS:
        for path in (SRC / layer).rglob("*.py"):
            for name in _imports(path):
                if any(name == f"formguide.{s}" or name.startswith(f"formguide.{s}.") for s in SPORTS):
                    offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_no_layer_branches_on_a_sport_name():
    pattern = re.compile(r"""sport(?:_name|\.name)?\s*[!=]=\s*['"]""")
    offenders = [f"{p.relative_to(SRC)}:{i}" for layer in LAYERS for p in (SRC / layer).rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_the_check_would_catch_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from formguide.football.sport import FootballSport\n")
    assert "formguide.football.sport" in _imports(bad)


def test_sports_are_found_through_entry_points():
    from formguide.core.fieldsport import FieldSport
    from formguide.core.match import MatchSport
    from formguide.core.sport import available_sports, get_sport

    assert {"football", "f1"} <= set(available_sports())
    assert isinstance(get_sport("football"), MatchSport)
    assert isinstance(get_sport("f1"), FieldSport)
