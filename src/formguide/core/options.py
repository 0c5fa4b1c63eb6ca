"""Sport options: the typed, validated settings a sport adds to a use case (train, backtest, predict, simulate).

A sport declares one pydantic model per use case (:class:`UseCaseOptions`); the application layer validates
a request's ``options`` against the chosen sport's model, so an option the sport does not have is an error
that names the option and the sport, never silently ignored. Front ends build their inputs from the same
models (the CLI turns every field into a flag). Betting options shared by every sport with a market live
here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from formguide.core.errors import FormguideError

__all__ = [
    "USE_CASES",
    "BacktestBettingOptions",
    "NoOptions",
    "PredictBettingOptions",
    "SportOptions",
    "StakingOptions",
    "UseCaseOptions",
    "flag",
    "parse_options",
    "validation_message",
]

USE_CASES = ("train", "backtest", "predict", "simulate")
Tier = Literal["A", "B", "C", "D"]


class SportOptions(BaseModel):
    """Base of every sport's option model: unknown options are refused, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(SportOptions):
    """A use case the sport adds nothing to."""


class StakingOptions(SportOptions):
    """Fractional Kelly staking against a bankroll."""

    bankroll: float = Field(1000.0, gt=0, allow_inf_nan=False, description="Bankroll the stakes are a share of.")
    kelly: float = Field(0.25, gt=0, le=1, description="Kelly fraction (0 < f <= 1; 0.25 = quarter Kelly).")
    kelly_cap: float = Field(0.05, gt=0, le=1, description="Largest stake as a share of the bankroll (0 < c <= 1).")


class PredictBettingOptions(StakingOptions):
    """What a prediction shows: only rows with enough edge, or of a good enough tier."""

    min_edge: float | None = Field(None, ge=-1, le=10, allow_inf_nan=False,
                                   description="Only rows whose best edge is at least this (e.g. 0.05).")
    tier: Tier | None = Field(None, description="Only rows of this signal tier or better (A, B, C, D).")

    @field_validator("tier", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class BacktestBettingOptions(StakingOptions):
    """Betting simulated in a backtest: a bet wherever the edge reaches ``min_edge``."""

    min_edge: float = Field(0.02, ge=0, le=10, allow_inf_nan=False, description="Minimum edge to place a bet.")


@dataclass(frozen=True)
class UseCaseOptions:
    """The option model of each use case for one sport."""

    train: type[SportOptions] = NoOptions
    backtest: type[SportOptions] = NoOptions
    predict: type[SportOptions] = NoOptions
    simulate: type[SportOptions] = NoOptions

    def model(self, use_case: str) -> type[SportOptions]:
        if use_case not in USE_CASES:
            raise ValueError(f"unknown use case {use_case!r}; one of {', '.join(USE_CASES)}")
        return getattr(self, use_case)


def flag(name: str) -> str:
    """The command-line spelling of an option name: ``shots_weight`` -> ``--shots-weight``."""
    return "--" + name.replace("_", "-")


def validation_message(exc: ValidationError, *, where: str = "") -> str:
    """One line per problem of a pydantic error, naming each option as a flag (``--kelly: ...``)."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "value"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        given = err.get("input")
        shown = f" (got {given!r})" if given is not None and not isinstance(given, dict | list) else ""
        parts.append(f"{flag(loc) if loc.isidentifier() else loc}: {msg}{shown}")
    return (f"{where}: " if where else "") + "; ".join(parts)


def parse_options(model: type[SportOptions], values: dict[str, Any], *, sport: str, use_case: str) -> SportOptions:
    """Validate ``values`` against a sport's option model; an unknown option names the sport and what it takes."""
    allowed = list(model.model_fields)
    unknown = [k for k in values if k not in model.model_fields]
    if unknown:
        takes = ", ".join(flag(k) for k in allowed) if allowed else "no sport-specific options"
        names = ", ".join(flag(k) for k in unknown)
        raise FormguideError(f"{names} {'is' if len(unknown) == 1 else 'are'} not supported by {sport} {use_case} "
                             f"({sport} {use_case} takes {takes})")
    try:
        return model(**values)
    except ValidationError as exc:
        raise FormguideError(validation_message(exc, where=f"{sport} {use_case}")) from None
