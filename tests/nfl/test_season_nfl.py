"""``simulate --sport nfl``: the season simulation served from a real moneyline champion on a small store.

The store holds the real 2023 and 2024 seasons (games.csv only); the champion is trained once, as of the
day after the 2024 regular season, so serving it from that day needs no refit. The real 2024 season is the
check: simulated from after its last week every probability is 0 or 1 and names the real division winners,
1 seeds and the 14 playoff teams (read from the real playoff games).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.helpers import run_cli

from formguide.core.errors import FormguideError
from formguide.core.serving import serve
from formguide.core.sport import get_sport
from formguide.core.store.db import open_store
from formguide.core.training import TrainPlan, train
from formguide.nfl.season import NEEDS_MONEYLINE, simulate_remaining
from formguide.nfl.store_io import ingest_files
from formguide.nfl.teams import franchise_codes

DATA_DIR = Path(os.environ.get("FORMGUIDE_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
GAMES_CSV = DATA_DIR / "nfl_games" / "games.csv"
SEASONS = (2023, 2024)
AFTER_2024 = pd.Timestamp("2025-01-06")  # the day after the last 2024 regular-season game
LINE = "nfl-NFL-moneyline"
#: One day for every mid-season test: the champion is refitted as of it once (then read from the fit cache).
MID_SEASON = "2024-12-20"


@pytest.fixture(scope="module")
def games() -> pd.DataFrame:
    if not GAMES_CSV.is_file():
        pytest.skip(f"real NFL games not found at {GAMES_CSV} (set FORMGUIDE_DATA)")
    return pd.read_csv(GAMES_CSV)


@pytest.fixture(scope="module")
def store(tmp_path_factory, games) -> str:
    """URL of a SQLite store with the real 2023-2024 games and a moneyline champion as of 2025-01-06."""
    tmp = tmp_path_factory.mktemp("nfl-season")
    path = tmp / "games.csv"
    games[games["season"].isin(SEASONS)].to_csv(path, index=False)
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    engine = open_store(url)
    ingest_files(engine, [path])
    sport = get_sport("nfl")
    train(engine, sport, TrainPlan("NFL", LINE, "distribution", until=AFTER_2024.to_pydatetime(), eval_seasons=1,
                                   cadence=sport.train_cadence), artifacts_dir=tmp / "artifacts")
    engine.dispose()
    return url


def _simulate(url: str, date_from: str | None, *, n: int = 2000, seed: int = 0, season: str = "2024",
              bet_type: str = "moneyline"):
    sport = get_sport("nfl").bet_type_view(bet_type)
    engine = open_store(url)

    def served(as_of: pd.Timestamp, frame: pd.DataFrame | None = None):
        return serve(engine, sport, "NFL", LINE, as_of, frame=frame)

    try:
        return simulate_remaining(sport, engine, "NFL", season, None if date_from is None else pd.Timestamp(date_from),
                                  n=n, seed=seed, serve=served)
    finally:
        engine.dispose()


def _table(out) -> pd.DataFrame:
    return pd.DataFrame(out.data["table"]).set_index("team")


def _real_2024(games: pd.DataFrame) -> tuple[set[str], set[str], set[str]]:
    """Playoff teams, division winners and 1 seeds of 2024 from its playoff games."""
    po = games[(games["season"] == 2024) & games["game_type"].isin(["WC", "DIV"])]
    home, away = (dict(zip(po["game_id"], franchise_codes(po[c]), strict=True)) for c in ("home_team", "away_team"))
    wc = po["game_id"][po["game_type"] == "WC"]
    in_wc = {home[g] for g in wc} | {away[g] for g in wc}
    byes = {home[g] for g in po["game_id"][po["game_type"] == "DIV"]} - in_wc
    return in_wc | byes, {home[g] for g in wc} | byes, byes


def test_after_the_last_week_the_real_2024_outcome_is_certain(store, games) -> None:
    out = _simulate(store, None, n=500)
    table = _table(out)
    field, winners, byes = _real_2024(games)
    assert out.data["from"] == "2025-01-06" and out.data["n_simulated"] == 0 and out.data["refitted"] is None
    assert len(field) == 14 and len(winners) == 8 and len(byes) == 2
    for column, teams in (("p_playoffs", field), ("p_division", winners), ("p_first_seed", byes)):
        assert set(table[column].unique()) <= {0.0, 1.0}
        assert set(table.index[table[column] == 1.0]) == teams, column
    assert table.loc["KC", "record"] == "15-2" and table.loc["DET", "expected_wins"] == 15.0
    assert table.loc["DET", "win_totals"] == {"15": 1.0}


def test_mid_season_keeps_real_results_and_simulates_the_rest(store, games) -> None:
    out = _simulate(store, MID_SEASON, n=4000, seed=7)
    table = _table(out)
    reg = games[(games["season"] == 2024) & (games["game_type"] == "REG")]
    before = reg[pd.to_datetime(reg["gameday"]) < pd.Timestamp(MID_SEASON)]
    assert out.data["n_simulated"] == len(reg) - len(before) and out.data["n_games"] == len(reg) == 272
    home, away = franchise_codes(before["home_team"]), franchise_codes(before["away_team"])
    diff = (before["home_score"] - before["away_score"]).to_numpy()
    wins = pd.Series(np.r_[home[diff > 0], away[diff < 0]]).value_counts()
    losses = pd.Series(np.r_[home[diff < 0], away[diff > 0]]).value_counts()
    assert table["wins"].to_dict() == {t: int(wins.get(t, 0)) for t in table.index}
    assert table["losses"].to_dict() == {t: int(losses.get(t, 0)) for t in table.index}
    for team, row in table.iterrows():
        assert sum(row["win_totals"].values()) == pytest.approx(1.0)
        assert min(float(k) for k in row["win_totals"]) >= row["wins"], team
        assert row["wins"] <= row["wins_10"] <= row["wins_50"] <= row["wins_90"] <= row["games"] - row["losses"]
        assert row["p_first_seed"] <= row["p_division"] + 1e-12 <= row["p_playoffs"] + 2e-12
    assert np.allclose(table.groupby("division")["p_division"].sum(), 1.0)
    assert np.allclose(table.groupby("conference")["p_playoffs"].sum(), 7.0)
    assert np.allclose(table.groupby("conference")["p_first_seed"].sum(), 1.0)
    assert ((table["p_playoffs"] > 0.05) & (table["p_playoffs"] < 0.95)).any()


def test_the_same_seed_gives_the_same_numbers(store) -> None:
    first, again = (_simulate(store, MID_SEASON, n=3000, seed=5) for _ in range(2))
    other = _simulate(store, MID_SEASON, n=3000, seed=6)
    assert first.data["table"] == again.data["table"]
    assert first.data["table"] != other.data["table"]


def test_a_spread_or_total_view_asks_for_the_moneyline_champion(store) -> None:
    for bet_type in ("spread", "total"):
        with pytest.raises(FormguideError, match="simulate needs the NFL moneyline champion"):
            _simulate(store, None, bet_type=bet_type)
    assert "--bet-type moneyline" in NEEDS_MONEYLINE


@pytest.mark.parametrize(("args", "message"), [
    (["--season", "2019"], "error: no regular-season games for NFL season 2019; seasons in the store: 2023, 2024"),
    (["--season", "24x"], "error: --season '24x': an NFL season is a year"),
    (["--season", "1998"], "error: --season 1998: NFL seasons start at 1999"),
    (["--season", "2024", "--from", "2024-03-01"], "error: --from 2024-03-01 lies outside the 2024 regular "
                                                   "season: give a day from 2024-09-05 (first game) to 2025-01-06"),
    (["--season", "2024", "--from", "2025-02-01"], "error: --from 2025-02-01 lies outside the 2024 regular"),
])
def test_bad_requests_are_one_line_errors(store, capsys, args, message) -> None:
    result = run_cli(["simulate", "--sport", "nfl", "--db", store, *args], capsys)
    assert result.code == 2
    assert result.text.startswith(message)
    assert len(result.err.strip().splitlines()) <= 2 and "Traceback" not in result.err  # rich may wrap at 80


def test_without_a_champion_simulate_says_how_to_train_one(tmp_path, games, capsys) -> None:
    path = tmp_path / "games.csv"
    games[games["season"] == 2024].to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(url)
    ingest_files(engine, [path])
    engine.dispose()
    result = run_cli(["simulate", "--sport", "nfl", "--season", "2024", "--db", url], capsys)
    assert result.code == 2
    assert result.text.startswith("error: no trained model for nfl-NFL-moneyline")
    assert "formguide train --sport nfl" in result.text and "Traceback" not in result.err


def test_cli_simulates_from_a_day_and_writes_json(store, tmp_path, capsys) -> None:
    target = tmp_path / "sim.json"
    result = run_cli(["simulate", "--sport", "nfl", "--season", "2024", "--from", MID_SEASON, "--simulations",
                      "1000", "--seed", "3", "--db", store, "--json", target], capsys)
    assert result.code == 0, result.text
    assert "NFL 2024: 1000 simulations of" in result.text and "division ties: head-to-head" in result.text
    data = json.loads(target.read_text())
    assert data["from"] == MID_SEASON and data["seed"] == 3 and len(data["table"]) == 32


def test_lines_of_games_from_the_day_on_are_hidden():
    """Strictly as of a day, later games have no closing line or price yet: the simulation must not read them."""
    from formguide.nfl.features.market import MARKET_INPUTS
    from formguide.nfl.season import _hide_lines_from

    kickoff = pd.to_datetime(["2024-10-27 13:00", "2024-11-01 20:15", "2024-11-03 13:00"])
    frame = pd.DataFrame({"kickoff": kickoff, **{c: [1.0, 2.0, 3.0] for c in MARKET_INPUTS}, "home_score": [20, 21, 3]})
    out = _hide_lines_from(frame, pd.Timestamp("2024-11-01"))
    assert out.loc[0, list(MARKET_INPUTS)].tolist() == [1.0] * len(MARKET_INPUTS)
    assert out.loc[1:, list(MARKET_INPUTS)].isna().all().all()
    assert out["home_score"].tolist() == [20, 21, 3] and frame.loc[2, "spread_line"] == 3.0  # input untouched
