"""Every command given bad input answers with one clear line and a non-zero exit, never a traceback, and
writes nothing."""

from __future__ import annotations

import pytest
from tests.helpers import run_cli


@pytest.fixture
def blocked(tmp_path):
    """A path that cannot be a folder: a plain file stands where its parent folder should be."""
    wall = tmp_path / "wall"
    wall.write_text("a file, not a folder")
    return wall


def _refused(result, *expected: str) -> str:
    text = result.text
    assert result.code != 0, text
    assert "Traceback" not in result.out + result.err and 'File "' not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.err
    for piece in expected:
        assert piece in text, text
    return text


CASES = [
    (["predict", "--league", "E0", "--json", "{wall}/out.json"], "cannot write {wall}/out.json"),
    (["simulate", "--league", "E0", "--season", "2425", "--json", "{wall}/sim.json"], "cannot write"),
    (["backtest", "--league", "E0", "--json", "{wall}/bt.json"], "cannot write"),
    (["backtest", "--league", "E0", "--plots", "{wall}/plots"], "cannot write"),
    (["models", "export", "{wall}/models.json"], "cannot write"),
    (["football", "download", "--leagues", "E0", "--seasons", "2324", "--dest", "{wall}/dl"], "cannot write into"),
    (["football", "download", "--leagues", "E0", "--seasons", "24/25"], "invalid season code '24/25'"),
    (["predict", "--league", "E0", "--kelly", "2"], "--kelly: Input should be less than or equal to 1"),
    (["predict", "--league", "E0", "--kelly", "0"], "--kelly: Input should be greater than 0"),
    (["predict", "--league", "E0", "--kelly-cap", "1.5"], "--kelly-cap: Input should be less than or equal to 1"),
    (["predict", "--league", "E0", "--bankroll", "-100"], "--bankroll: Input should be greater than 0"),
    (["backtest", "--league", "E0", "--bankroll", "-100"], "--bankroll: Input should be greater than 0"),
    (["predict", "--league", "E0", "--tier", "E"], "--tier: Input should be 'A', 'B', 'C' or 'D'"),
    (["train", "--league", "E0", "--xi", "-1"], "--xi: Input should be greater than or equal to 0"),
    (["train", "--league", "E0", "--stacker", "forest"], "--stacker: Input should be 'logistic' or 'lightgbm'"),
    (["train", "--league", "E0", "--calibration", "magic"], "--calibration: Input should be 'isotonic'"),
    (["train", "--league", "E0", "--overround", "fair"], "--overround: Input should be 'multiplicative'"),
    (["backtest", "--league", "E0", "--from", "2025-01-01", "--to", "2024-01-01"], "--from 2025-01-01 is after --to"),
    (["train", "--sport", "f1", "--xi", "0.002"], "--xi is not supported by f1 train", "--moment"),
    (["predict", "--sport", "f1", "--tier", "A"], "--tier is not supported by f1 predict"),
    (["train", "--sport", "f1", "--moment", "lunch"], "--moment: Input should be 'pre-quali' or 'post-quali'"),
    (["simulate", "--sport", "f1", "--season", "2024"], "simulate is not available for f1", "f1 season"),
    (["backtest", "--sport", "f1", "--refit", "weekly"], "--refit for f1 is a number of events"),
    (["train", "--league", "E0", "--eval-seasons", "0"], "Invalid value for '--eval-seasons'"),
    (["predict", "--league", "E0", "--days", "0"], "Invalid value for '--days'"),
    (["runs", "list", "--limit", "0"], "Invalid value for '--limit'"),
    (["simulate", "--league", "E0", "--season", "2324", "--deduction", "Everton"],
     "--deduction: 'Everton' is not TEAM=POINTS (e.g. Everton=8)"),
    (["simulate", "--league", "E0", "--season", "2324", "--deduction", "Everton=eight"],
     "--deduction: 'Everton=eight': the points after '=' must be a whole number, got 'eight'"),
    (["simulate", "--league", "E0", "--season", "2324", "--deduction", "Everton=8", "--deduction", "=2"],
     "--deduction: '=2' is not TEAM=POINTS"),
    (["simulate", "--sport", "f1", "--season", "2024", "--deduction", "Ferrari=5"],
     "--deduction is not supported by f1 simulate"),
    (["ingest", "cricket", "x.csv"], "unknown sport 'cricket'"),
    (["--log-level", "loud", "info"], "log level must be one of"),
    (["train", "--league", "E0", "--bet-type", "spread"], "football offers no bet type 'spread'; it offers 1x2"),
    (["predict", "--league", "E0", "--bet-type", "total"], "football offers no bet type 'total'; it offers 1x2"),
    (["train", "--sport", "nfl", "--max-runtime", "0"], "--max-runtime: Input should be greater than 0"),
    (["train", "--sport", "nfl", "--max-runtime", "-1"], "--max-runtime: Input should be greater than 0"),
    (["backtest", "--sport", "nfl", "--max-runtime", "0"], "--max-runtime: Input should be greater than 0"),
    (["train", "--all", "--max-runtime", "-1"], "--max-runtime: Input should be greater than 0"),
    (["train", "--sport", "nfl", "--bet-type", "spread", "--all-bet-types"],
     "--bet-type and --all-bet-types cannot be used together"),
    (["predict", "--sport", "nfl", "--bet-type", "total", "--all-bet-types"],
     "--bet-type and --all-bet-types cannot be used together"),
    (["train", "--all", "--league", "E0"], "--all runs every sport with its defaults; leave out --league"),
    (["predict", "--all", "--sport", "nfl", "--bet-type", "spread"], "leave out --sport, --bet-type"),
]


@pytest.mark.parametrize(("args", "expected"), [(c[0], c[1:]) for c in CASES],
                         ids=[" ".join(c[0][:3]) for c in CASES])
def test_bad_input_is_one_clear_line(args, expected, blocked, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    argv = [a.replace("{wall}", str(blocked)) for a in args]
    if argv[0] not in ("football", "--log-level"):
        argv += ["--db", db]
    _refused(run_cli(argv, capsys, cwd=tmp_path), *[e.replace("{wall}", str(blocked)) for e in expected])
    assert not any(p.name.endswith(".json") for p in tmp_path.rglob("*"))  # nothing half written


def test_version_and_info_say_where_everything_is(tmp_path, capsys):
    from formguide import __version__

    assert run_cli(["--version"], capsys).out.strip() == f"formguide {__version__}"
    db = tmp_path / "here.sqlite"
    info = run_cli(["info", "--db", f"sqlite:///{db}", "--json", "-"], capsys)
    assert info.code == 0
    import json

    data = json.loads(info.out)
    assert data["settings"]["store"] == f"sqlite:///{db}"
    assert data["settings"]["artifacts"] == str(tmp_path / "here-artifacts")
    from formguide.core.store.db import head_revision

    assert data["schema_revision"] == head_revision() and {s["name"] for s in data["sports"]} >= {"football", "f1"}
