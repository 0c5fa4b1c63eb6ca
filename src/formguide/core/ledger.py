"""The bet ledger of a backtest: one row per bet, so every number of the betting report can be checked by hand.

A row holds the event (id, kickoff, teams), the selection backed (a word: home/draw/away, cover, over...),
its line where the market has one, the price taken, the model's win and loss probability and edge, how the
bet settled (win, half-win, push, half-loss, loss), the flat stake and profit, the Kelly stake and profit,
the closing reference price, the de-margined closing probability and the closing-line value (CLV = price x
closing probability - 1). :func:`ledger_records` builds the rows (pure); :func:`write_ledger` writes them as
CSV or JSON by the file's extension, atomically.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formguide.core.betting import BetSimulation
from formguide.core.errors import FormguideError
from formguide.core.jsonio import to_jsonable, write_json, write_text_atomic
from formguide.core.lines import settlement_words

__all__ = ["LEDGER_COLUMNS", "LEDGER_FORMATS", "check_ledger_path", "ledger_records", "write_ledger"]

#: Columns of a ledger, in order (``line`` only where the sport's bets have lines).
LEDGER_COLUMNS: tuple[str, ...] = (
    "event_id", "date", "home_team", "away_team", "selection", "line", "price", "probability", "lose_probability",
    "edge", "settlement", "stake", "profit", "kelly_stake", "kelly_profit", "closing_price", "closing_probability",
    "clv",
)
#: File extensions a ledger can be written as.
LEDGER_FORMATS: tuple[str, ...] = (".csv", ".json")


def ledger_records(events: pd.DataFrame, flat: BetSimulation, kelly: BetSimulation, selections: Sequence[str], *,
                   event_column: str = "event_id", time_column: str = "kickoff",
                   closing_prices: np.ndarray | None = None, lines: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One record per bet of the two runs over ``events`` (the rows both simulations were given, in order).

    Flat and Kelly staking back the same selections (a bet needs a positive edge either way), so one row holds
    both stakes; ``closing_prices`` and ``lines`` are (len(events), k) beside the selections."""
    if not np.array_equal(flat.bet_row, kelly.bet_row) or not np.array_equal(flat.bet_outcome, kelly.bet_outcome):
        raise ValueError("flat and Kelly runs backed different bets; a ledger row needs both on the same bet")
    row, side = flat.bet_row, flat.bet_outcome
    names = np.asarray(list(selections), dtype=object)
    data: dict[str, Any] = {
        "event_id": events[event_column].to_numpy()[row],
        "date": pd.DatetimeIndex(events[time_column].to_numpy()[row]).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    for col in ("home_team", "away_team"):
        if col in events.columns:
            data[col] = events[col].astype(str).to_numpy()[row]
    data["selection"] = names[side]
    if lines is not None:
        data["line"] = np.asarray(lines, dtype=np.float64)[row, side]
    data |= {
        "price": flat.bet_odds, "probability": flat.bet_prob, "lose_probability": flat.bet_lose_prob,
        "edge": flat.bet_edge, "settlement": settlement_words(flat.bet_settlement), "stake": flat.bet_stake,
        "profit": flat.bet_profit, "kelly_stake": kelly.bet_stake, "kelly_profit": kelly.bet_profit,
        "closing_price": (np.full(row.shape, np.nan) if closing_prices is None
                          else np.asarray(closing_prices, dtype=np.float64)[row, side]),
        "closing_probability": flat.bet_closing_prob, "clv": flat.bet_clv,
    }
    return to_jsonable(pd.DataFrame(data).to_dict("records"))


def check_ledger_path(path: str | Path) -> Path:
    """The ledger path, refusing an extension other than .csv or .json (one line naming the file)."""
    target = Path(path)
    if target.suffix.lower() not in LEDGER_FORMATS:
        raise FormguideError(f"ledger file {target} must end in .csv or .json (got {target.suffix or 'no extension'!r})")
    return target


def write_ledger(path: str | Path, records: Sequence[dict[str, Any]]) -> Path:
    """Write the ledger as CSV or JSON (by extension), atomically; a missing value is empty (CSV) or null (JSON)."""
    target = check_ledger_path(path)
    if target.suffix.lower() == ".json":
        return write_json(target, list(records))
    frame = pd.DataFrame(list(records))
    if frame.empty:
        frame = pd.DataFrame(columns=[c for c in LEDGER_COLUMNS if c != "line"])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return write_text_atomic(target, buffer.getvalue())
