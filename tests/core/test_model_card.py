from __future__ import annotations

import re
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from formguide.core.model_card import EVALUATION_COLUMNS, render_model_card
from formguide.core.store.models import ModelRecord

MODEL_SCORES = {"n": 380, "rps": 0.2011, "brier": 0.5912, "log_loss": 0.9921, "accuracy": 0.5132,
                "draw_accuracy": None, "ece": 0.0123}
MARKET_SCORES = {"n": 380, "rps": 0.1967, "brier": 0.5804, "log_loss": 0.9788, "accuracy": 0.5289,
                 "draw_accuracy": 0.0, "ece": 0.0108}


def _record(**overrides) -> ModelRecord:
    fields = dict(
        id=4, sport="football", name="football-dc", version=3, model_type="dixon_coles", status="champion",
        parameters={"rho": -0.0721, "home_advantage": 0.2712, "attack": {f"T{i}": i / 10 for i in range(20)},
                    "teams": [f"T{i}" for i in range(20)], "weights": [0.5, 0.25, 1.0],
                    "optimiser": {"iterations": 41, "converged": True}},
        artifact_sha256="ab" * 32,
        metrics={
            "data": {"n_events": 3420, "date_from": "2016-08-13", "date_to": "2025-05-25",
                     "competitions": ["E0", "E1"], "seasons": ["1617", "2425"]},
            "evaluation": {
                "window": {"from": "2024-08-16", "to": "2025-05-25", "n": 380},
                "model": MODEL_SCORES,
                "market": MARKET_SCORES,
                "baselines": {"base_rates": {"n": 380, "rps": 0.2301, "brier": 0.6512},
                              "elo": {"n": 380, "rps": 0.2055}},
            },
        },
        training_competitions=["E0"], training_seasons=["2425"], config={"xi": 0.0019, "max_goals": 10},
        created_at=datetime(2025, 6, 1, 12, 0, 5), feature_set_version="fs-1", data_fingerprint="cd" * 32,
    )
    fields.update(overrides)
    return ModelRecord(**fields)


def _rows(card: str) -> dict[str, list[str]]:
    """Evaluation table rows by label, cells stripped."""
    section = card.split("## Evaluation", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| |"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            rows[cells[0]] = cells[1:]
    return rows


def test_card_has_identity_and_training_range():
    card = render_model_card(_record())
    assert card.startswith("# football-dc v3\n")
    for text in ["- Sport: football", "- Type: dixon_coles", "- Version: 3", "- Status: champion",
                 "- Events: 3420", "- From: 2016-08-13", "- To: 2025-05-25", "- Competitions: E0, E1",
                 "- Seasons: 1617, 2425", "`fs-1`", "ab" * 32]:
        assert text in card


def test_evaluation_table_holds_the_recorded_numbers():
    rows = _rows(render_model_card(_record()))
    assert list(rows) == ["model", "market", "baseline: base_rates", "baseline: elo"]
    assert rows["model"] == ["380", "0.2011", "0.5912", "0.9921", "0.5132", "–", "0.0123"]
    assert rows["market"] == ["380", "0.1967", "0.5804", "0.9788", "0.5289", "0.0000", "0.0108"]
    assert rows["baseline: base_rates"][:3] == ["380", "0.2301", "0.6512"]
    assert rows["baseline: elo"][1] == "0.2055"
    card = render_model_card(_record())
    assert "2024-08-16 to 2025-05-25, 380 events" in card
    assert "market (0.1967) beats the model (0.2011) by 0.0044" in card


def test_missing_market_and_evaluation():
    metrics = _record().metrics
    no_market = {**metrics, "evaluation": {**metrics["evaluation"], "market": None}}
    rows = _rows(render_model_card(_record(metrics=no_market)))
    assert "market" not in rows and "model" in rows
    assert "No evaluation recorded." in render_model_card(_record(metrics={}))


def test_training_range_falls_back_to_config_and_record_columns():
    card = render_model_card(_record(metrics={}, config={"date_from": "2020-01-01", "date_to": "2021-01-01"}))
    assert "- From: 2020-01-01" in card and "- To: 2021-01-01" in card
    assert "- Competitions: E0" in card and "- Seasons: 2425" in card


def test_parameters_show_scalars_and_summarise_arrays():
    card = render_model_card(_record())
    params = card.split("## Parameters", 1)[1].split("\n## ", 1)[0]
    assert "| `rho` | -0.0721 |" in params
    assert "| `home_advantage` | 0.2712 |" in params
    assert "| `teams` | array of 20 |" in params
    assert "| `weights` | [0.5, 0.25, 1] |" in params
    assert "| `attack` | 20 entries (min 0, max 1.9) |" in params
    assert "| `optimiser.iterations` | 41 |" in params
    assert "T19" not in params  # long arrays are summarised, not printed


def test_feature_importance_top_15_and_reliability_link():
    importance = {f"feat_{i:02d}": float(i) for i in range(20)}
    card = render_model_card(_record(), reliability_png="plots/rel.png", feature_importance=importance)
    assert "![Reliability diagram](plots/rel.png)" in card
    assert "top 15 of 20" in card
    assert "| 1 | `feat_19` | 19 |" in card
    assert "`feat_05`" in card and "`feat_04`" not in card
    plain = render_model_card(_record())
    assert "Reliability" not in plain and "Feature importance" not in plain


scores = st.floats(min_value=0, max_value=3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({c: scores for c in EVALUATION_COLUMNS if c != "n"}), st.integers(1, 10**6))
def test_every_model_score_appears_in_its_row(values, n):
    metrics = {"evaluation": {"model": {"n": n, **values}, "market": None, "baselines": {}}}
    rows = _rows(render_model_card(_record(metrics=metrics)))
    assert rows["model"] == [str(n)] + [f"{values[c]:.4f}" for c in EVALUATION_COLUMNS if c != "n"]


def test_pipes_in_names_do_not_break_the_table():
    metrics = {"evaluation": {"model": MODEL_SCORES, "baselines": {"a|b": {"rps": 0.3}}}}
    rows = _rows(render_model_card(_record(metrics=metrics)))
    assert rows["baseline: a\\|b"] == ["–", "0.3000", "–", "–", "–", "–", "–"]
