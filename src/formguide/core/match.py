"""Match sports: one row per event and a fixed set of outcome classes (football's home/draw/away).

:class:`MatchSport` implements the shape-level half of the sport contract: which rows are trainable, the
base-rate baseline, scoring forecasts next to the de-margined closing market on the same events, betting
at the best prices, reliability diagrams, and a day's predictions with fair odds, edges, Kelly stakes and
tiers. A match sport supplies its outcome classes, its markets (de-margined probabilities and prices), and
anything it adds (extra markets, its own baselines).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from formguide.core import markets as mk
from formguide.core.errors import DataValidationError
from formguide.core.lines import expected_profit, kelly_stake
from formguide.core.metrics import summarise
from formguide.core.options import BacktestBettingOptions, PredictBettingOptions, SportOptions
from formguide.core.sport import ForecastRow, PredictionBatch, Sport
from formguide.core.views import Column, TableView

if TYPE_CHECKING:
    from formguide.core.serving import ServedModel

__all__ = ["ExtraMarket", "MarketForecast", "MatchPrediction", "MatchSport"]

_TIER_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


class MarketForecast(BaseModel):
    """A further market the model prices (e.g. over/under 2.5 goals): its id, line and selection probabilities,
    and where a price exists the best price of each selection and the edge at it (expected profit per unit,
    allowing for a push)."""

    market: str
    line: float | None = None
    label: str
    probabilities: dict[str, float]
    price: dict[str, float | None] = {}
    edge: dict[str, float | None] = {}


@dataclass(frozen=True)
class ExtraMarket:
    """What :meth:`MatchSport.extra_markets` gives per further market, one array entry per predicted row.

    ``probabilities`` are each selection's (effective) win probability; ``prices`` the best decimal price on offer
    (NaN: none; None: the market is not priced); ``lose_probabilities`` the loss probability where a selection
    can push or half-settle (default ``1 - probability``, see :func:`formguide.core.lines.win_lose`)."""

    market: str
    line: float | None
    label: str
    probabilities: dict[str, np.ndarray]
    prices: dict[str, np.ndarray] | None = None
    lose_probabilities: dict[str, np.ndarray] | None = None

    @classmethod
    def of(cls, item: ExtraMarket | tuple) -> ExtraMarket:
        """An :class:`ExtraMarket` from itself or a ``(market, line, label, probabilities[, prices])`` tuple."""
        return item if isinstance(item, ExtraMarket) else cls(*item)

    def forecast(self, i: int) -> MarketForecast:
        """The market of row ``i`` for people and the store."""
        probs = {k: float(v[i]) for k, v in self.probabilities.items()}
        price: dict[str, float | None] = {}
        edge: dict[str, float | None] = {}
        for k, pw in probs.items():
            o = np.nan if self.prices is None or k not in self.prices else float(self.prices[k][i])
            if not np.isfinite(o) or o <= 1.0:
                continue
            pl = 1.0 - pw if self.lose_probabilities is None else float(self.lose_probabilities[k][i])
            price[k] = o
            edge[k] = float(expected_profit(pw, pl, o))
        return MarketForecast(market=self.market, line=self.line, label=self.label, probabilities=probs,
                              price=price, edge=edge)


class MatchPrediction(BaseModel):
    """One event of a match sport's prediction (the ``events`` of ``formguide predict --json``).

    ``lines``: each selection's handicap or total where the bet type has one (:meth:`MatchSport.bet_lines`);
    ``*_american``: the prices in American odds where the sport quotes them (``MatchSport.price_formats``);
    ``settlement`` and ``profit``: for an event already played, how the recommended bet settled (win, half-win,
    push, half-loss, loss) and what its stake made at the price (None without a bet or a result)."""

    event_id: int
    kickoff: str
    home_team: str
    away_team: str
    probabilities: dict[str, float]
    fair_odds: dict[str, float]
    market_prices: dict[str, float | None]
    edge: dict[str, float | None]
    selection: str | None
    best_edge: float | None
    stake: float
    tier: str
    actual: str | None = None
    markets: list[MarketForecast] = []
    lines: dict[str, float | None] | None = None
    market_prices_american: dict[str, float | None] | None = None
    fair_odds_american: dict[str, float] | None = None
    settlement: str | None = None
    profit: float | None = None


class MatchSport(Sport):
    """Events with a fixed set of outcome classes (football's H/D/A, a two-way result, a spread's cover or not).

    Betting hooks (backtests and predictions use the same ones; the defaults are a fixed-outcome market such as
    football's 1X2, where the backed class wins and every other loses):

    * :meth:`settlement` ``(frame) -> (n, k)``: how a bet on each class settled (1 win, 0.5 half-win, 0 push,
      -0.5 half-loss, -1 loss; NaN before the result; see :mod:`formguide.core.lines`). Default from
      :meth:`outcome`. A spread or total market settles its line here, so its pushes count.
    * :meth:`bet_probabilities` ``(forecast) -> (p_win, p_lose)``, each (n, k): the effective win and loss
      probability of a bet on each class (a half counted half, a push is the rest). Default: the forecast and
      one minus it. Edges are ``p_win (odds - 1) - p_lose`` and Kelly stakes allow for the push.
    * :meth:`closing_probabilities` ``(frame) -> (n, k)``: de-margined closing probabilities, the reference of
      each bet's closing-line value (price taken x closing probability - 1). Default: ``market_probabilities(
      frame, which="close")``.
    * :meth:`closing_prices` ``(frame) -> (n, k)``: the closing reference prices written in the bet ledger.
      Default: none (NaN).
    * :meth:`bet_lines` ``(frame) -> (n, k) | None``: the handicap or total of each bet, written in the ledger.
      Default: None (no lines).
    """

    #: Class labels in the order of ``predict_proba`` columns (ordinal, for RPS).
    outcome_labels: ClassVar[tuple[str, ...]]
    #: How each label reads as a recommended bet ("home", "draw", ...); the labels by default.
    selection_names: ClassVar[dict[str, str]] = {}
    #: Market id of the outcome classes in the ``predictions`` table.
    main_market: ClassVar[str] = "result"
    #: Shape of one event of ``formguide predict --json`` (its JSON Schema is documented in docs/).
    prediction_model: ClassVar[type[BaseModel]] = MatchPrediction
    #: Price formats shown beside decimal odds in predictions (``"american"``: +150 / -110); none by default.
    price_formats: ClassVar[tuple[str, ...]] = ()
    #: Index of the draw class for ``draw_accuracy`` (None: no draw).
    draw_index: ClassVar[int | None] = None
    #: Played events needed before a model is trained; before a walk-forward predicts.
    min_history: ClassVar[int] = 100
    min_train = 50
    headline_metric = "log_loss"
    promotion_metrics = ("log_loss", "rps", "brier")
    metric_columns = ("n", "rps", "brier", "log_loss", "accuracy", "draw_accuracy", "ece")
    lower_is_better = frozenset({"rps", "brier", "log_loss", "ece"})

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        return len(self.outcome_labels)

    # ---------------------------------------------------------------------------- sport supplies
    @abstractmethod
    def outcome(self, frame: pd.DataFrame) -> np.ndarray:
        """Class index per event in ``outcome_labels`` order; -1 where the event has no result yet."""

    def market_probabilities(self, frame: pd.DataFrame, *, which: str = "close",
                             method: str = "multiplicative") -> np.ndarray:
        """De-margined market probabilities (n, k); NaN rows where no prices exist (default: no market)."""
        return np.full((len(frame), self.n_outputs), np.nan)

    def best_odds(self, frame: pd.DataFrame) -> np.ndarray:
        """Best decimal price per outcome (n, k) a bettor could have taken; NaN where none."""
        return np.full((len(frame), self.n_outputs), np.nan)

    def prices_before_kickoff(self, frame: pd.DataFrame) -> np.ndarray:
        """The prices a prediction is compared with (default: :meth:`best_odds`)."""
        return self.best_odds(frame)

    def extra_markets(self, model: Any, rows: pd.DataFrame) -> list[ExtraMarket | tuple]:
        """Further markets the model prices (:class:`ExtraMarket`, or a ``(market id, line, label, {selection:
        probability per row})`` tuple), with their best prices where the sport has them."""
        return []

    def settlement(self, frame: pd.DataFrame) -> np.ndarray:
        """(n, k) settlement of a bet on each class; default: 1 for the class that happened, -1 for the others."""
        y = self.outcome(frame)
        s = np.where(np.arange(self.n_outputs)[None, :] == y[:, None], 1.0, -1.0)
        s[y < 0] = np.nan
        return s

    def bet_probabilities(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Effective (p_win, p_lose) of a bet on each class from the forecast; default: (forecast, 1 - forecast)."""
        return forecast, 1.0 - forecast

    def closing_probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """De-margined closing probabilities (n, k), the reference of closing-line value."""
        return self.market_probabilities(frame, which="close")

    def closing_prices(self, frame: pd.DataFrame) -> np.ndarray:
        """Closing reference prices (n, k) written in the bet ledger; default: none."""
        return np.full((len(frame), self.n_outputs), np.nan)

    def bet_lines(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The line (handicap or total) of a bet on each class (n, k), for the ledger; None: no lines."""
        return None

    def actual_results(self, frame: pd.DataFrame) -> dict[int, str]:
        """A text of each played event's result by event id (shown beside past predictions)."""
        y = self.outcome(frame)
        return {int(e): self.outcome_labels[k] for e, k in zip(frame[self.event_column], y, strict=True) if k >= 0}

    # -------------------------------------------------------------------------- shape-level parts
    def trainable(self, frame: pd.DataFrame) -> np.ndarray:
        return self.outcome(frame) >= 0

    def check_history(self, frame: pd.DataFrame, trainable: np.ndarray, competition: str) -> None:
        if int(trainable.sum()) < self.min_history:
            raise DataValidationError(f"only {int(trainable.sum())} played events for {competition}; need "
                                      f"{self.min_history}+")

    def baselines(self) -> dict[str, Any]:
        from formguide.core.baserates import OutcomeBaseRates

        k = self.n_outputs
        return {"base_rates": lambda: OutcomeBaseRates(self, k)}

    def forecast(self, model: Any, frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        return model.predict_proba(frame, X)

    def evaluated_events(self, frame: pd.DataFrame, forecast: np.ndarray, window: np.ndarray) -> np.ndarray:
        return window & (self.outcome(frame) >= 0) & ~np.isnan(forecast).any(axis=1)

    def _summary(self, probs: np.ndarray, y: np.ndarray, rows: np.ndarray) -> dict[str, Any] | None:
        ok = rows & (y >= 0) & ~np.isnan(probs).any(axis=1)
        if ok.sum() == 0:
            return None
        return summarise(probs[ok], y[ok], draw_index=self.draw_index)

    def evaluate(self, frame: pd.DataFrame, forecasts: dict[str, np.ndarray], window: np.ndarray) -> dict[str, Any]:
        y = self.outcome(frame)
        model = forecasts["model"]
        evaluated = self.evaluated_events(frame, model, window)
        market = self.market_probabilities(frame, which="close", method="multiplicative")
        has_market = evaluated & ~np.isnan(market).any(axis=1)
        times = frame[self.time_column][evaluated]
        report: dict[str, Any] = {
            "window": {"from": times.min().isoformat() if len(times) else None,
                       "to": times.max().isoformat() if len(times) else None, "n": int(evaluated.sum())},
            "model": self._summary(model, y, evaluated),
            "market": None,
            "baselines": {name: self._summary(p, y, evaluated) for name, p in forecasts.items() if name != "model"},
        }
        if has_market.sum():
            report["market"] = self._summary(market, y, has_market)
            report["market"]["model_on_same_events"] = self._summary(model, y, has_market)
        return report

    def reliability_plot(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, path: Path,
                         title: str) -> Path:
        from formguide.core.plots import reliability_diagram

        y = self.outcome(frame)
        return Path(reliability_diagram(forecast[rows], y[rows], list(self.outcome_labels), path, title=title))

    def betting(self, frame: pd.DataFrame, forecast: np.ndarray, rows: np.ndarray, options: SportOptions
                ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Flat and Kelly betting at the best prices, with pushes, closing-line value and a per-bet ``ledger``.

        The report's ``ledger`` holds one record per bet (see :func:`formguide.core.ledger.ledger_records`); the
        application layer writes it to a file or drops it."""
        from formguide.core.betting import simulate_bets
        from formguide.core.ledger import ledger_records

        if not isinstance(options, BacktestBettingOptions):
            return None
        odds = self.best_odds(frame)[rows]
        p_win, p_lose = self.bet_probabilities(forecast[rows])
        settlement = self.settlement(frame)[rows]
        close = self.closing_probabilities(frame)[rows]
        dates = frame.loc[rows, self.time_column].to_numpy()
        report: dict[str, Any] = {"odds": "best available closing price (else best opening)",
                                  "min_edge": options.min_edge,
                                  "clv": "price taken x de-margined closing probability - 1"}
        curves, sims = {}, {}
        for staking in ("flat", "kelly"):
            sim = simulate_bets(p_win, odds, dates=dates, min_edge=options.min_edge, staking=staking,
                                fraction=options.kelly, cap=options.kelly_cap, bankroll=options.bankroll,
                                settlement=settlement, lose_probs=p_lose, closing_probs=close)
            report[staking] = sim.to_dict()
            curves[staking] = (sim.bet_date, sim.bankroll)
            sims[staking] = sim
        lines = self.bet_lines(frame)
        names = [self.selection_names.get(o, o) for o in self.outcome_labels]
        report["ledger"] = ledger_records(frame.loc[rows], sims["flat"], sims["kelly"], names,
                                          event_column=self.event_column, time_column=self.time_column,
                                          closing_prices=self.closing_prices(frame)[rows],
                                          lines=None if lines is None else lines[rows])
        return report, curves

    # ---------------------------------------------------------------------------------- serving
    def predictions(self, served: ServedModel, target: np.ndarray, options: SportOptions) -> PredictionBatch:
        opts = options if isinstance(options, PredictBettingOptions) else PredictBettingOptions()
        rows = served.frame[target]
        events: list[dict[str, Any]] = []
        stored: list[ForecastRow] = []
        if not rows.empty:
            probs = served.estimator.predict_proba(rows, served.X[target])
            extra = self.extra_markets(served.estimator, rows)
            prices = self.prices_before_kickoff(rows)
            actual = self.actual_results(served.full_frame[served.full_frame[self.event_column]
                                                           .isin(rows[self.event_column])])
            events, stored = self._prediction_rows(rows, probs, prices, extra, actual, opts)
            self._bet_details(events, rows, served.full_frame, prices)
        events = self._filter(events, opts)
        keep = {e["event_id"] for e in events}
        stored = [r for r in stored if r.event_id in keep]
        return PredictionBatch(events=events, stored=stored, view=self.prediction_view(events))

    def _prediction_rows(self, rows: pd.DataFrame, probs: np.ndarray, prices: np.ndarray, extra: list,
                         actual: dict[int, str], opts: PredictBettingOptions
                         ) -> tuple[list[dict[str, Any]], list[ForecastRow]]:
        labels = self.outcome_labels
        names = [self.selection_names.get(o, o) for o in labels]
        tiers = mk.SignalTiers()
        p_win, p_lose = self.bet_probabilities(probs)
        edges = expected_profit(p_win, p_lose, prices)
        best = np.where(np.isnan(edges).all(axis=1), -1, np.nanargmax(np.nan_to_num(edges, nan=-np.inf), axis=1))
        pick = np.maximum(best, 0)[:, None]
        stakes = np.where(best >= 0, kelly_stake(np.take_along_axis(p_win, pick, 1)[:, 0],
                                                 np.take_along_axis(p_lose, pick, 1)[:, 0],
                                                 np.take_along_axis(prices, pick, 1)[:, 0],
                                                 fraction=opts.kelly, cap=opts.kelly_cap), 0.0) * opts.bankroll
        further = [ExtraMarket.of(m) for m in extra]
        events, stored = [], []
        for i, (_, r) in enumerate(rows.iterrows()):
            sel = int(best[i])
            best_edge = float(edges[i, sel]) if sel >= 0 else None
            stake = float(stakes[i]) if best_edge is not None and best_edge > 0 else 0.0
            p = {o: float(probs[i, j]) for j, o in enumerate(labels)}
            event_id = int(r[self.event_column])
            markets = [m.forecast(i) for m in further]
            event = MatchPrediction(
                event_id=event_id, kickoff=pd.Timestamp(r[self.time_column]).isoformat(),
                home_team=str(r["home_team"]), away_team=str(r["away_team"]), probabilities=p,
                fair_odds={o: 1 / v for o, v in p.items() if v > 0},
                market_prices={o: (None if np.isnan(prices[i, j]) else float(prices[i, j])) for j, o in enumerate(labels)},
                edge={o: (None if np.isnan(edges[i, j]) else float(edges[i, j])) for j, o in enumerate(labels)},
                selection=names[sel] if stake > 0 else None,
                best_edge=best_edge, stake=round(stake, 2),
                tier=str(tiers.tier(best_edge)) if best_edge is not None else "D",
                actual=actual.get(event_id), markets=markets)
            events.append(event.model_dump())
            stored.append(ForecastRow(event_id=event_id, market=self.main_market, probabilities=p,
                                      market_prices=event.market_prices, edge=event.edge, stake=event.stake,
                                      selection=event.selection, tier=event.tier))
            for m in markets:
                stored.append(ForecastRow(event_id=event_id, market=m.market, line=m.line, probabilities=m.probabilities,
                                          market_prices=m.price or None, edge=m.edge or None))
        return events, stored

    def _bet_details(self, events: list[dict[str, Any]], rows: pd.DataFrame, full_frame: pd.DataFrame,
                     prices: np.ndarray) -> None:
        """Add each event's lines, American prices and, once played, how its recommended bet settled and what the
        stake made: the result comes from ``full_frame`` (outcomes not hidden), never from the served rows."""
        from formguide.core.lines import profit_per_unit, settlement_words

        labels = self.outcome_labels
        names = [self.selection_names.get(o, o) for o in labels]
        ids = rows[self.event_column].to_numpy()
        played = full_frame.drop_duplicates(self.event_column).set_index(self.event_column).loc[ids].reset_index()
        settled = np.asarray(self.settlement(played), dtype=np.float64)
        lines = self.bet_lines(rows)
        american = "american" in self.price_formats
        for i, e in enumerate(events):
            if lines is not None:
                e["lines"] = {o: (None if np.isnan(lines[i, j]) else float(lines[i, j])) for j, o in enumerate(labels)}
            if american:
                e["market_prices_american"] = {o: _american(v) for o, v in e["market_prices"].items()}
                e["fair_odds_american"] = {o: _american(v) for o, v in e["fair_odds"].items() if v > 1.0}
            if e["selection"] is None or e["selection"] not in names:
                continue
            j = names.index(e["selection"])
            if np.isnan(settled[i, j]) or np.isnan(prices[i, j]):
                continue
            e["settlement"] = str(settlement_words(settled[i, j]))
            e["profit"] = round(float(e["stake"] * profit_per_unit(settled[i, j], prices[i, j])), 2)

    @staticmethod
    def _filter(events: list[dict[str, Any]], opts: PredictBettingOptions) -> list[dict[str, Any]]:
        if opts.min_edge is not None:
            events = [e for e in events if e["best_edge"] is not None and e["best_edge"] >= opts.min_edge]
        if opts.tier is not None:
            events = [e for e in events if _TIER_RANK[e["tier"]] <= _TIER_RANK[opts.tier]]
        return events

    def prediction_view(self, events: list[dict[str, Any]]) -> TableView:
        """The day's table: probabilities headed by the selection names (never a tier-like letter beside the tier),
        the bet, edge, tier and stake, and each further market that has a price (its best selection, probability,
        price and edge); further markets without prices are in the JSON only."""
        labels = self.outcome_labels
        has_line = any(e.get("lines") for e in events)
        settled = any(e.get("settlement") for e in events)
        cols = [Column(key="date", align="left"), Column(key="match", align="left", max_width=22)]
        if has_line:
            cols.append(Column(key="line", header=f"line ({self.selection_names.get(labels[0], labels[0])})",
                               digits=1))
        cols += [Column(key=o, header=self.selection_names.get(o, o), digits=2) for o in labels]
        cols += [Column(key="bet", align="left"), Column(key="edge", digits=3), Column(key="tier", align="left"),
                 Column(key="stake", digits=2, priority=1), Column(key="result", align="left", priority=1)]
        if settled:
            cols += [Column(key="settled", align="left", priority=1), Column(key="profit", digits=2, priority=1)]
        if "american" in self.price_formats:
            cols.append(Column(key="american", header="us " + "/".join(labels), priority=1))
        cols += [Column(key="best", header="best " + "/".join(labels), priority=2),
                 Column(key="fair", header="fair " + "/".join(labels), priority=3)]
        priced = list(dict.fromkeys(f"{m['market']} {m['label']}" for e in events for m in e["markets"]
                                    if m.get("price")))
        cols += [Column(key=k, align="left", priority=2) for k in priced]
        out = []
        for e in events:
            row = {"date": pd.Timestamp(e["kickoff"]).strftime("%d %b"), "match": f"{e['home_team']} v {e['away_team']}",
                   **e["probabilities"], "bet": e["selection"] or "-", "edge": e["best_edge"], "tier": e["tier"],
                   "stake": e["stake"], "result": e["actual"] or "",
                   "best": "/".join("-" if e["market_prices"][o] is None else f"{e['market_prices'][o]:.2f}"
                                    for o in labels),
                   "fair": "/".join(f"{e['fair_odds'][o]:.2f}" if o in e["fair_odds"] else "-" for o in labels)}
            if has_line:
                row["line"] = (e.get("lines") or {}).get(labels[0])
            if settled:
                row.update(settled=e.get("settlement") or "", profit=e.get("profit"))
            if e.get("market_prices_american"):
                row["american"] = "/".join(_american_text(e["market_prices_american"].get(o)) for o in labels)
            for m in e["markets"]:
                key = f"{m['market']} {m['label']}"
                if key in priced:
                    row[key] = _market_cell(m)
            out.append(row)
        return TableView(columns=cols, rows=out, empty="no events in that window match")


def _american(decimal: float | None) -> float | None:
    """American odds of a decimal price, to 0.1 (None for no price)."""
    if decimal is None or not np.isfinite(decimal) or decimal <= 1.0:
        return None
    return round(float(mk.decimal_to_american(decimal)), 1)


def _american_text(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0f}"


def _market_cell(m: dict[str, Any]) -> str:
    """A further market in one cell: the selection with the best edge at its price (else the likeliest one)."""
    edges = {k: v for k, v in (m.get("edge") or {}).items() if v is not None}
    if edges:
        sel = max(edges, key=lambda k: edges[k])
        return f"{sel} {m['probabilities'][sel]:.2f} @{m['price'][sel]:.2f} {edges[sel]:+.3f}"
    sel = max(m["probabilities"], key=lambda k: m["probabilities"][k])
    return f"{sel} {m['probabilities'][sel]:.2f}"
