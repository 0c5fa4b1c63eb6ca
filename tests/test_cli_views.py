"""What a new user sees: every table fits an 80-column terminal, shown status is current, and F1 forecasts
land in the store like football's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select
from tests.helpers import E0_SEASONS, ingest_e0, run_cli

from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import Prediction


@pytest.fixture(scope="module")
def store(tmp_path_factory, football_dir):
    tmp = tmp_path_factory.mktemp("views")
    url = f"sqlite:///{tmp / 'views.sqlite'}"
    engine = open_store(url)
    ingest_e0(engine, football_dir, E0_SEASONS)
    engine.dispose()
    return url


def _lines(result) -> list[str]:
    assert result.code == 0, result.text
    return result.out.splitlines()


def test_every_table_fits_80_columns_and_wide_shows_more(store, football_dir, tmp_path, capsys):
    assert run_cli(["train", "--league", "E0", "--db", store], capsys, cwd=tmp_path).code == 0
    commands = [["ingest", "football", str(football_dir / "E0_2425.csv")], ["train", "--league", "E0", "--force"], ["backtest", "--league", "E0", "--from", "2025-01-01",
                "--plots", str(tmp_path)], ["predict", "--league", "E0", "--date", "2025-05-18"],
                ["simulate", "--league", "E0", "--season", "2425", "--n", "500"], ["models", "list"], ["runs", "list"],
                ["competitions"], ["info"]]
    for args in commands:
        lines = _lines(run_cli([*args, "--db", store], capsys, cwd=tmp_path))
        table = [line for line in lines if line[:1] in "┏┃┡│└"]
        assert table, (args, lines)
        widest = max(len(line) for line in table)
        assert widest <= 80, (args, widest, [line for line in table if len(line) > 80][:1])
    narrow = _lines(run_cli(["predict", "--league", "E0", "--date", "2025-05-18", "--db", store], capsys))
    wide = _lines(run_cli(["predict", "--league", "E0", "--date", "2025-05-18", "--wide", "--db", store], capsys))
    assert any("--wide shows all" in line for line in narrow)
    assert max(map(len, wide)) > 80 and not any("--wide shows all" in line for line in wide)
    def header(lines):
        return next(line for line in lines if line.startswith("┃"))

    assert "best H/D/A" in header(wide) and "best H/D/A" not in header(narrow)


def test_models_show_prints_the_status_the_model_has_now(store, tmp_path, capsys):
    assert run_cli(["train", "--league", "E0", "--model", "elo", "--db", store], capsys, cwd=tmp_path).code == 0
    first = json.loads(run_cli(["models", "list", "--json", "-", "--db", store], capsys).out)
    dc = next(m for m in first if m["model_type"] == "dixon-coles" and m["status"] == "champion") \
        if any(m["status"] == "champion" and m["model_type"] == "dixon-coles" for m in first) else \
        next(m for m in first if m["model_type"] == "dixon-coles")
    elo = next(m for m in first if m["model_type"] == "elo")
    assert run_cli(["models", "promote", f"football-E0:{elo['version']}", "--db", store], capsys).code == 0
    card = run_cli(["models", "show", f"football-E0:{dc['version']}", "--db", store], capsys)
    assert "- Status: retired" in card.out
    champ = run_cli(["models", "show", "football-E0@champion", "--db", store], capsys)
    assert "- Status: champion" in champ.out and "elo" in champ.out


def test_f1_forecasts_are_stored_per_driver_like_football(tmp_path, capsys):
    from tests.f1.test_season import ROUNDS, write_weekend

    rng = np.random.default_rng(3)
    for season in range(2013, 2024):
        for rnd in range(1, ROUNDS + 1):
            write_weekend(tmp_path / "races", season, rnd, rng)
    db = f"sqlite:///{tmp_path / 'f1.sqlite'}"
    assert run_cli(["ingest", "f1", tmp_path / "races", "--db", db], capsys).code == 0
    assert run_cli(["train", "--sport", "f1", "--db", db], capsys, cwd=tmp_path).code == 0
    result = run_cli(["predict", "--sport", "f1", "--race", "2023-06", "--json", "-", "--db", db], capsys)
    data = json.loads(result.out)
    (event,) = data["events"]
    engine = open_store(db)
    try:
        with session_scope(engine) as s:
            rows = s.execute(select(Prediction.event_id, Prediction.entry_id, Prediction.market,
                                    Prediction.model_id, Prediction.feature_set_version, Prediction.probabilities)).all()
    finally:
        engine.dispose()
    assert len(rows) == len(event["entries"]) == data["stored"]
    assert {(r.event_id, r.market, r.model_id, r.feature_set_version) for r in rows} == {
        (event["event_id"], "field", data["model_id"], data["feature_set_version"])}
    assert len({r.entry_id for r in rows}) == len(rows) and all(r.entry_id > 0 for r in rows)  # one per driver
    assert sum(r.probabilities["win"] for r in rows) == pytest.approx(1.0)


def test_a_served_result_is_kept_for_the_same_request_and_recomputed_when_the_data_change(store, football_dir,
                                                                                           tmp_path, capsys):
    from sqlalchemy import func

    from formguide.core.store.models import ServedResult

    args = ["predict", "--league", "E0", "--date", "2025-05-18", "--json", "-", "--db", store]
    first = json.loads(run_cli(args, capsys).out)
    engine = open_store(store)
    try:
        def counts():
            with session_scope(engine) as s:
                return (s.scalar(select(func.count()).select_from(ServedResult)),
                        s.scalar(select(func.count()).select_from(Prediction)))

        kept, predictions = counts()
        again = json.loads(run_cli(args, capsys).out)
        assert again == first  # the same result, read back
        assert counts() == (kept, predictions + first["stored"])  # one kept result; every serving recorded
        # a new import (even of an unchanged file) changes the data signature: the result is computed again
        assert run_cli(["ingest", "football", football_dir / "E0_2425.csv", "--db", store], capsys).code == 0
        assert json.loads(run_cli(args, capsys).out)["events"] == first["events"]
        assert counts()[0] == kept + 1
    finally:
        engine.dispose()
