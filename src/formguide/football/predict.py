"""Football predictions and season simulations from the champion model, through the core pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from formguide.core import markets as mk
from formguide.core.errors import DataValidationError, FormguideError
from formguide.core.markets import SignalTiers
from formguide.core.pipeline import predict_as_of, store_predictions
from formguide.core.sport import MatchSport as Sport
from formguide.football.markets import odds_matrix
from formguide.football.models import score_markets
from formguide.football.simulate import simulate_season

OUTCOMES = ("H", "D", "A")
_TIER_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


def _prices(frame: pd.DataFrame) -> np.ndarray:
    """Best price known before kick-off: best closing if recorded, else best opening."""
    best = odds_matrix(frame, "best")
    opening = odds_matrix(frame, "open")
    return np.where(np.isnan(best), opening, best)


def predict_fixtures(engine: Engine, sport: Sport, competition: str, as_of: datetime, *, days: int = 7,
                     min_edge: float | None = None, tier: str | None = None, bankroll: float = 1000.0,
                     kelly_fraction: float = 0.25, kelly_cap: float = 0.05,
                     tiers: SignalTiers | None = None, store: bool = True) -> dict[str, Any]:
    """Probabilities (1X2, over/under 2.5), fair odds, edge, Kelly stake and tier for the next fixtures."""
    ctx = predict_as_of(engine, sport, competition, as_of, days=days)
    frame, X, target, est, model = ctx["frame"], ctx["X"], ctx["target"], ctx["estimator"], ctx["model"]
    rows = frame[target]
    tiers = tiers or SignalTiers()
    out: list[dict[str, Any]] = []
    if not rows.empty:
        probs = est.predict_proba(rows, X[target])
        over = None
        if hasattr(est, "score_matrix"):
            over = score_markets.over_under(est.score_matrix(rows))[:, 0]
        prices = _prices(rows)
        edges = np.where(np.isnan(prices), np.nan, probs * np.nan_to_num(prices, nan=1.0) - 1.0)
        best_sel = np.where(np.isnan(edges).all(axis=1), -1, np.nanargmax(np.nan_to_num(edges, nan=-np.inf), axis=1))
        actual = _actual_results(engine, sport, competition, rows["event_id"].to_numpy())
        for i, (_, r) in enumerate(rows.iterrows()):
            p = {o: float(probs[i, j]) for j, o in enumerate(OUTCOMES)}
            if over is not None:
                p["over_2.5"], p["under_2.5"] = float(over[i]), float(1 - over[i])
            sel = int(best_sel[i])
            best_edge = float(edges[i, sel]) if sel >= 0 else float("nan")
            stake = 0.0
            if sel >= 0 and best_edge > 0:
                stake = float(kelly_fraction_fn(probs[i, sel], prices[i, sel], kelly_fraction, kelly_cap)) * bankroll
            row_tier = str(tiers.tier(best_edge)) if sel >= 0 else "D"
            out.append({
                "event_id": int(r["event_id"]), "kickoff": r["kickoff"].isoformat(), "home_team": r["home_team"],
                "away_team": r["away_team"], "probabilities": p,
                "fair_odds": {o: 1 / v for o, v in p.items() if v > 0},
                "market_prices": {o: (None if np.isnan(prices[i, j]) else float(prices[i, j]))
                                  for j, o in enumerate(OUTCOMES)},
                "edge": {o: (None if np.isnan(edges[i, j]) else float(edges[i, j])) for j, o in enumerate(OUTCOMES)},
                "selection": OUTCOMES[sel] if sel >= 0 and best_edge > 0 else None,
                "best_edge": best_edge, "stake": round(stake, 2), "tier": row_tier,
                "actual": actual.get(int(r["event_id"])),
            })
    if min_edge is not None:
        out = [r for r in out if r["best_edge"] == r["best_edge"] and r["best_edge"] >= min_edge]
    if tier is not None:
        out = [r for r in out if _TIER_RANK[r["tier"]] <= _TIER_RANK[tier]]
    if store and out:
        store_predictions(engine, model.id, out, ctx["feature_set_version"], as_of)
    return {"competition": competition, "as_of": as_of.isoformat(), "model": f"{model.name} v{model.version} "
            f"({model.model_type})", "model_id": model.id, "refitted": ctx["refitted"],
            "feature_set_version": ctx["feature_set_version"], "predictions": out}


def kelly_fraction_fn(p: float, odds: float, fraction: float, cap: float) -> float:
    return float(mk.kelly_fraction(p, odds, fraction=fraction, cap=cap))


def _actual_results(engine: Engine, sport: Sport, competition: str, event_ids: np.ndarray) -> dict[int, str]:
    """Results already in the store (for past dates), shown beside the predictions."""
    full = sport.load_frame(engine, [competition])
    sub = full[full["event_id"].isin(event_ids) & full["home_goals"].notna()]
    return {int(r.event_id): f"{int(r.home_goals)}-{int(r.away_goals)} {r.result}" for r in sub.itertuples()}


def simulate_remaining(engine: Engine, sport: Sport, competition: str, season: str, date_from: datetime | None,
                       *, n: int = 20000, seed: int | None = None) -> dict[str, Any]:
    """Simulate the rest of a season from the champion goal model's score distributions."""
    full = sport.load_frame(engine, [competition])
    season_rows = full[full["season"] == season]
    if season_rows.empty:
        known = ", ".join(sorted(full["season"].unique()))
        raise DataValidationError(f"no events for {competition} season {season}; seasons in the store: {known}")
    if date_from is None:
        played = season_rows[season_rows["home_goals"].notna()]
        date_from = (played["kickoff"].max() + pd.Timedelta(days=1)).normalize().to_pydatetime() if len(played) \
            else season_rows["kickoff"].min().normalize().to_pydatetime()
    ctx = predict_as_of(engine, sport, competition, date_from, days=10_000)
    frame, est, model = ctx["frame"], ctx["estimator"], ctx["model"]
    if not hasattr(est, "score_matrix"):
        raise FormguideError(f"{model.name} v{model.version} is a {model.model_type} model without score "
                             "distributions; simulate needs a goal model (train --model dixon-coles or blend)")
    in_season = (frame["season"] == season).to_numpy()
    played = frame[in_season & frame["home_goals"].notna().to_numpy()]
    fixtures = frame[in_season & frame["home_goals"].isna().to_numpy()]
    score_probs = est.score_matrix(fixtures) if len(fixtures) else np.zeros((0, 1, 1))
    sim = simulate_season(played, fixtures, score_probs, n=n, seed=seed)
    table = sim.to_frame()
    return {"competition": competition, "season": season, "from": pd.Timestamp(date_from).date().isoformat(),
            "model": f"{model.name} v{model.version} ({model.model_type})", "refitted": ctx["refitted"],
            "n_simulations": n, "n_fixtures": len(fixtures), "table": table.to_dict(orient="records"),
            "simulation": sim.to_dict()}
