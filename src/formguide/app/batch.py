"""Use cases over several lines at once: every bet type of a sport (``--all-bet-types``) and every installed
sport with its defaults (``--all``), for training and for predictions.

Each (sport, competition, bet type) runs through the single use case (``app.train``/``app.predict``) and
keeps its own champion line. A run that fails (it reached ``--max-runtime``, too little history) is reported
beside the others instead of stopping them; a sport with nothing in the store is reported as skipped. Both
flags give one shape: ``sports[sport].competitions[code][bet type]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from formguide.app.common import Progress, resolve_competition, sport_and_options, stored_competitions
from formguide.app.context import Context
from formguide.app.schemas import (
    NotRun,
    PredictAllRequest,
    PredictBatchResult,
    PredictRequest,
    PredictResult,
    PredictSection,
    TrainAllRequest,
    TrainBatchResult,
    TrainRequest,
    TrainResult,
    TrainSection,
)
from formguide.core.errors import FormguideError, ModelNotFoundError
from formguide.core.options import flag
from formguide.core.sport import Sport, get_sport, sport_names
from formguide.core.views import Column, TableView

__all__ = ["predict_all", "predict_bet_types", "train_all", "train_bet_types"]

#: (competition, bet type) -> the one use case's result for it.
Runner = Callable[[str, str, Progress | None], Any]


def default_competitions(ctx: Context, sport: Sport) -> list[str]:
    """What ``--all`` covers of a sport: its default competition when stored, else every stored one with events."""
    stored = sorted(code for code, n in stored_competitions(ctx, sport).items() if n > 0)
    if sport.default_competition is None:
        return stored
    wanted = sport.default_competition.upper()
    return [code for code in stored if code.upper() == wanted]


def applicable_options(sport: Sport, use_case: str, options: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The options the sport's ``use_case`` takes, and the flags of those it does not (left out for it)."""
    fields = sport.options.model(use_case).model_fields
    return ({k: v for k, v in options.items() if k in fields}, [flag(k) for k in options if k not in fields])


def _run_lines(sport: Sport, competitions: list[str], run: Runner, progress: Progress | None,
               done: tuple[int, int]) -> dict[str, dict[str, Any]]:
    """Every (competition, bet type) of the sport through ``run``; a failed one becomes a :class:`NotRun`."""
    out: dict[str, dict[str, Any]] = {}
    k, total = done
    for code in competitions:
        for bet_type in sport.bet_types:
            def step(phase: str, fraction: float, k: int = k, bet_type: str = bet_type) -> None:
                if progress is not None:
                    progress(f"{sport.name} {bet_type} {phase}", (k + min(max(fraction, 0.0), 1.0)) / total)

            try:
                out.setdefault(code, {})[bet_type] = run(code, bet_type, step)
            except ModelNotFoundError as exc:
                out.setdefault(code, {})[bet_type] = NotRun(status="skipped", reason=str(exc))
            except FormguideError as exc:
                out.setdefault(code, {})[bet_type] = NotRun(status="failed", reason=str(exc))
            k += 1
    return out


def _entries(section: Any) -> list[tuple[str, str, Any]]:
    return [(code, bt, r) for code, by_bt in section.competitions.items() for bt, r in by_bt.items()]


# ------------------------------------------------------------------------------------------ training
def _train_section(lines: dict[str, dict[str, Any]]) -> TrainSection:
    results = [r for by_bt in lines.values() for r in by_bt.values()]
    failed = [r for r in results if isinstance(r, NotRun)]
    return TrainSection(status="failed" if failed else "done", competitions=lines,
                        reason=f"{len(failed)} of {len(results)} runs failed" if failed else None)


def train_bet_types(ctx: Context, request: TrainRequest, progress: Progress | None = None) -> TrainBatchResult:
    """Train every bet type of one sport (each its own line and champion) with the request's settings."""
    from formguide.app.modelling import train

    sport, _ = sport_and_options(request.sport, "train", request.options)  # bad options: one error, before any run
    competition = resolve_competition(ctx, sport, request.competition)

    def run(code: str, bet_type: str, step: Progress | None) -> TrainResult:
        return train(ctx, request.model_copy(update={"bet_type": bet_type, "all_bet_types": False,
                                                     "competition": code}), step)

    lines = _run_lines(sport, [competition], run, progress, (0, len(sport.bet_types)))
    return _train_result({sport.name: _train_section(lines)}, [])


def _every_sport(ctx: Context, use_case: str, request_options: dict[str, Any],
                 single: Callable[[Sport, str, str, dict[str, Any], Progress | None], Any],
                 section_type: type, section_of: Callable[[Any], Any], progress: Progress | None
                 ) -> tuple[dict[str, Any], list[str]]:
    """Run ``single(sport, competition, bet type, options, progress)`` over every installed sport's default
    competitions and bet types: a sport without data is skipped, options it lacks are left out and named."""
    plan = [(sport, default_competitions(ctx, sport)) for sport in map(get_sport, sport_names())]
    total = max(sum(len(c) * len(s.bet_types) for s, c in plan), 1)
    sections: dict[str, Any] = {}
    notes: list[str] = []
    done = 0
    for sport, competitions in plan:
        if not competitions:
            sections[sport.name] = section_type(status="skipped", reason=f"no {sport.name} data in the store")
            continue
        options, left_out = applicable_options(sport, use_case, request_options)
        if left_out:
            notes.append(f"{sport.name}: {', '.join(left_out)} left out ({sport.name} {use_case} has no such option)")

        def run(code: str, bet_type: str, step: Progress | None, sport: Sport = sport,
                options: dict[str, Any] = options) -> Any:
            return single(sport, code, bet_type, options, step)

        sections[sport.name] = section_of(_run_lines(sport, competitions, run, progress, (done, total)))
        done += len(competitions) * len(sport.bet_types)
    return sections, notes


def train_all(ctx: Context, request: TrainAllRequest, progress: Progress | None = None) -> TrainBatchResult:
    """Train every installed sport's default competition(s) and bet types with its first model and defaults."""
    from formguide.app.modelling import train

    def single(sport: Sport, code: str, bet_type: str, options: dict[str, Any], step: Progress | None
               ) -> TrainResult:
        return train(ctx, TrainRequest(sport=sport.name, bet_type=bet_type, competition=code, until=request.until,
                                       eval_seasons=request.eval_seasons, force=request.force,
                                       max_runtime=request.max_runtime, options=options), step)

    sections, notes = _every_sport(ctx, "train", request.options, single, TrainSection, _train_section, progress)
    return _train_result(sections, notes)


def _train_result(sections: dict[str, TrainSection], notes: list[str]) -> TrainBatchResult:
    result = TrainBatchResult(sports=sections, messages=notes)
    rows = []
    for name, section in sections.items():
        if not section.competitions:
            rows.append({"sport": name, "status": section.status, "note": section.reason})
        for code, bet_type, r in _entries(section):
            row: dict[str, Any] = {"sport": name, "competition": code, "bet_type": bet_type}
            if isinstance(r, NotRun):
                row.update(status=r.status, note=r.reason)
            else:
                promotion = (r.metrics or {}).get("promotion") or {}  # the score the promotion rule compared
                row.update(status=r.status, model=f"{r.name} v{r.version}" if r.version else r.name,
                           promoted="yes" if r.promoted else "no", metric=promotion.get("metric"),
                           value=promotion.get("candidate"), note=r.message)
            rows.append(row)
    cols = [Column(key="sport", align="left"), Column(key="competition", header="league", align="left"),
            Column(key="bet_type", header="bet type", align="left"), Column(key="status", align="left"),
            Column(key="model", align="left"), Column(key="promoted", align="left", priority=1),
            Column(key="metric", align="left", priority=1), Column(key="value", digits=4, priority=1),
            Column(key="note", align="left", priority=2, max_width=60)]
    result.views.append(TableView(title="training runs", columns=cols, rows=rows, empty="nothing to train"))
    failed = sum(1 for s in sections.values() for *_, r in _entries(s) if isinstance(r, NotRun) and r.status == "failed")
    if failed:
        result.messages.append(f"{failed} run(s) failed; `formguide runs list` has each reason")
    return result


# --------------------------------------------------------------------------------------- predictions
def _predict_section(lines: dict[str, dict[str, Any]]) -> PredictSection:
    results = [r for by_bt in lines.values() for r in by_bt.values()]
    served = [r for r in results if isinstance(r, PredictResult)]
    issues = [r for r in results if isinstance(r, NotRun)]
    if any(r.events for r in served):
        status, reason = ("failed", f"{sum(i.status == 'failed' for i in issues)} failed") if any(
            i.status == "failed" for i in issues) else ("done", None)
    elif served:
        status, reason = "no events", "no events in that window"
    else:
        status = "failed" if any(i.status == "failed" for i in issues) else "skipped"
        reason = issues[0].reason if issues else None
    return PredictSection(status=status, reason=reason, competitions=lines)


def predict_bet_types(ctx: Context, request: PredictRequest, progress: Progress | None = None
                      ) -> PredictBatchResult:
    """The champion of every bet type of one sport on the request's window."""
    from formguide.app.serving import predict

    sport, _ = sport_and_options(request.sport, "predict", request.options)
    competition = resolve_competition(ctx, sport, request.competition)

    def run(code: str, bet_type: str, step: Progress | None) -> PredictResult:
        return predict(ctx, request.model_copy(update={"bet_type": bet_type, "all_bet_types": False,
                                                       "competition": code}), step)

    lines = _run_lines(sport, [competition], run, progress, (0, len(sport.bet_types)))
    return _predict_result(request.date, request.days, {sport.name: _predict_section(lines)}, [])


def predict_all(ctx: Context, request: PredictAllRequest, progress: Progress | None = None) -> PredictBatchResult:
    """Every installed sport's events in the window (default: that one day), each bet type by its champion."""
    from formguide.app.serving import predict

    def single(sport: Sport, code: str, bet_type: str, options: dict[str, Any], step: Progress | None
               ) -> PredictResult:
        return predict(ctx, PredictRequest(sport=sport.name, bet_type=bet_type, competition=code, date=request.date,
                                           days=request.days, options=options), step)

    sections, notes = _every_sport(ctx, "predict", request.options, single, PredictSection, _predict_section,
                                   progress)
    return _predict_result(request.date, request.days, sections, notes)


def _predict_result(date: Any, days: int, sections: dict[str, PredictSection], notes: list[str]
                    ) -> PredictBatchResult:
    import pandas as pd

    start = (pd.Timestamp.now() if date is None else pd.Timestamp(date)).normalize()
    result = PredictBatchResult(date=start.date().isoformat(), days=days, sports=sections, messages=notes)
    rows = []
    for name, section in sections.items():
        if not section.competitions:
            rows.append({"sport": name, "status": section.status, "note": section.reason})
        for code, bet_type, r in _entries(section):
            if isinstance(r, NotRun):
                rows.append({"sport": name, "competition": code, "bet_type": bet_type, "status": r.status,
                             "note": r.reason})
                continue
            bets = sum(1 for e in r.events if e.get("stake"))
            rows.append({"sport": name, "competition": code, "bet_type": bet_type,
                         "status": "done" if r.events else "no events", "events": len(r.events), "bets": bets,
                         "note": r.model})
            result.views.extend(r.views)
            result.messages.extend(f"{name} {bet_type}: {m}" for m in r.messages)
    cols = [Column(key="sport", align="left"), Column(key="competition", header="league", align="left"),
            Column(key="bet_type", header="bet type", align="left"), Column(key="status", align="left"),
            Column(key="events", digits=0), Column(key="bets", digits=0),
            Column(key="note", align="left", max_width=40)]
    result.views.append(TableView(title=f"predictions from {start.date()} ({days} day(s))", columns=cols, rows=rows,
                                  empty="no sports installed"))
    return result
