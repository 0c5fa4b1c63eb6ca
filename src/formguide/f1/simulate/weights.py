"""Analyst overrides: a driver's or a team's strength multiplied by a weight."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from formguide.core.errors import FormguideError

__all__ = ["apply_weights", "check_weights"]


def check_weights(weights: Mapping[str, object] | None, known: Sequence[str], what: str) -> dict[str, float]:
    """Validated analyst weights: known keys, positive finite numbers. Errors list the known keys."""
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise FormguideError(f"{what} weights must be a mapping like {{\"VER\": 1.2}}, got {type(weights).__name__}")
    known_set = set(known)
    bad_keys = [k for k in weights if k not in known_set]
    if bad_keys:
        raise FormguideError(f"unknown {what}(s) {', '.join(map(repr, bad_keys))} in {what} weights; known: "
                             f"{', '.join(sorted(known_set))}")
    out: dict[str, float] = {}
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise FormguideError(f"{what} weight for {k!r} must be a positive number, got {v!r}")
        if not math.isfinite(float(v)) or float(v) <= 0:
            raise FormguideError(f"{what} weight for {k!r} must be a positive number, got {v!r}")
        out[str(k)] = float(v)
    return out


def apply_weights(
    log_strength: ArrayLike,
    drivers: Sequence[str],
    constructors: Sequence[str],
    driver_weights: Mapping[str, object] | None = None,
    team_weights: Mapping[str, object] | None = None,
    driver_aliases: Sequence[str] | None = None,
) -> NDArray[np.float64]:
    """Multiply strengths by analyst weights: ``log_strength + log(weight)`` per matching driver and team.

    Drivers match on ``drivers`` or, when given, ``driver_aliases`` (e.g. three-letter codes next to
    driverRefs); teams on ``constructors``. Unknown keys raise an error that lists the known ones.
    """
    u = np.array(log_strength, dtype=np.float64)
    drivers = [str(d) for d in drivers]
    aliases = [str(a) for a in driver_aliases] if driver_aliases is not None else drivers
    teams = [str(c) for c in constructors]
    if not (len(u) == len(drivers) == len(teams) == len(aliases)):
        raise ValueError("log_strength, drivers, constructors (and driver_aliases) must have equal lengths")
    known_drivers = sorted(set(drivers) | set(aliases))
    dw = check_weights(driver_weights, known_drivers, "driver")
    tw = check_weights(team_weights, sorted(set(teams)), "team")
    for key, w in dw.items():
        hit = np.array([d == key or a == key for d, a in zip(drivers, aliases, strict=True)])
        u[hit] += math.log(w)
    for key, w in tw.items():
        u[np.array([t == key for t in teams])] += math.log(w)
    return u
