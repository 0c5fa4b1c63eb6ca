"""Race scenarios (dry, wet, safety car) and their effects estimated on past races: a scale on log-strengths
(how much the condition reshuffles the order) and a multiplier on retirements."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from formguide.core.errors import DataValidationError, FormguideError
from formguide.f1.simulate.plackett_luce import finisher_orders, grid_slot, pl_newton

__all__ = ["SCENARIOS", "ScenarioEffect", "estimate_scenario_effects", "fit_scale"]

#: Scenarios and the race-level condition that defines each: (column, value).
SCENARIOS: dict[str, tuple[str, float]] = {
    "dry": ("wet", 0.0),
    "wet": ("wet", 1.0),
    "safety_car": ("safety_car", 1.0),
}


@dataclass(frozen=True)
class ScenarioEffect:
    """What a scenario changes in a simulated race, and the evidence behind it."""

    name: str
    condition: str               # e.g. "wet == 1"
    scale: float                 # multiplies log-strengths (relative to all races where the flag is known)
    scale_se: float              # standard error of the scale (delta method)
    dnf_multiplier: float        # multiplies retirement probabilities (relative to all such races)
    n_races: int                 # races of the scenario the estimates use
    n_reference_races: int       # all races where the condition is known (the reference)
    scale_vs_complement: float   # scale against the races without the condition (e.g. wet vs dry)
    dnf_multiplier_vs_complement: float
    complement: str              # e.g. "wet == 0"
    observed_dnf: int
    expected_dnf: float
    utility: str                 # base utility the scale was fitted on
    seasons: tuple[int, int]     # first and last season of the races used

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seasons"] = list(self.seasons)
        return d


def _base_utility(frame: pd.DataFrame, utility: str) -> NDArray[np.float64]:
    if utility == "grid":
        return -np.log(grid_slot(frame))
    if utility not in frame.columns:
        raise DataValidationError(f"utility column {utility!r} not in the frame; use 'grid' or one of "
                                  f"{', '.join(map(str, frame.columns))}")
    return frame[utility].to_numpy(dtype=np.float64, na_value=np.nan)


def fit_scale(frame: pd.DataFrame, utility: ArrayLike, rows: ArrayLike | None = None) -> tuple[float, float, int]:
    """Scale ``c`` maximising the Plackett–Luce likelihood of the finishers' order under ``c * utility``.

    Finishers are entries with ``dnf == 0`` of run races (among ``rows`` when given); retirements are
    modelled apart, so this is the scale to use when a simulation draws them separately. Returns ``(c, its
    standard error, races used)``; ``(nan, nan, 0)`` when no race has two finishers with a utility.
    """
    x = np.asarray(utility, dtype=np.float64)
    if x.shape != (len(frame),):
        raise ValueError(f"utility must have one value per frame row ({len(frame)}), got shape {x.shape}")
    keep = np.ones(len(frame), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    orders = finisher_orders(frame, keep & np.isfinite(x))
    if orders.n_races == 0:
        return float("nan"), float("nan"), 0
    xs = orders.take(x)
    c, se, _ = pl_newton(np.zeros_like(xs), xs, orders.mask, start=1.0)
    return c, se, orders.n_races


def estimate_scenario_effects(
    frame: pd.DataFrame,
    scenarios: Sequence[str] = tuple(SCENARIOS),
    utility: str = "grid",
) -> dict[str, ScenarioEffect]:
    """Estimate each scenario's scale and DNF multiplier from the run races of ``frame``.

    Only races with a known finishing order and a known value of the scenario's condition count (``wet``
    comes from lap data, so the wet and dry scenarios use 2018 on; ``safety_car`` goes back to 1973: a
    condition counts from the first season in which it was ever 1, earlier zeros meaning "not recorded").
    ``utility`` is ``"grid"`` (``-log`` of the starting slot) or a column of base log-strengths. Raises
    :class:`DataValidationError` naming the scenario when it has no usable race.
    """
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise FormguideError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    run = frame["position"].notna().to_numpy()
    x = _base_utility(frame, utility)
    season = frame["season"].to_numpy()
    dnf = frame["dnf"].to_numpy(dtype=np.float64, na_value=np.nan)
    out: dict[str, ScenarioEffect] = {}
    for name in scenarios:
        col, value = SCENARIOS[name]
        flag = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
        known = run & np.isfinite(flag)
        ever = season[known & (flag == 1)]
        if ever.size:  # before a condition was first recorded, 0 means "not recorded", not "did not happen"
            known &= season >= ever.min()
        inside = known & (flag == value)
        outside = known & (flag != value)
        if not inside.any():
            raise DataValidationError(f"scenario {name!r}: no run race with {col} == {value:g} in the data "
                                      f"({int(known.sum())} entries have {col} known)")
        c_in, se_in, n_in = fit_scale(frame, x, inside)
        c_all, se_all, n_all = fit_scale(frame, x, known)
        c_out, _, _ = fit_scale(frame, x, outside) if outside.any() else (float("nan"), 0.0, 0)
        if n_in == 0:
            raise DataValidationError(f"scenario {name!r}: its races have no finishers with a known grid slot")
        # Retirements: observed over expected from each season's rate among the known races.
        has_dnf = known & np.isfinite(dnf)
        seasons, s_codes = np.unique(season[has_dnf], return_inverse=True)
        rate = (np.bincount(s_codes, weights=dnf[has_dnf], minlength=seasons.size)
                / np.bincount(s_codes, minlength=seasons.size))
        expected_all = np.full(len(frame), np.nan)
        expected_all[has_dnf] = rate[s_codes]
        o_in, e_in = float(dnf[inside & has_dnf].sum()), float(expected_all[inside & has_dnf].sum())
        o_out, e_out = float(dnf[outside & has_dnf].sum()), float(expected_all[outside & has_dnf].sum())
        mult = o_in / e_in if e_in > 0 else float("nan")
        mult_out = o_out / e_out if e_out > 0 else float("nan")
        scale = c_in / c_all
        se = abs(scale) * math.sqrt((se_in / c_in) ** 2 + (se_all / c_all) ** 2)
        used = season[inside]
        out[name] = ScenarioEffect(
            name=name, condition=f"{col} == {value:g}", scale=float(scale), scale_se=float(se),
            dnf_multiplier=float(mult), n_races=int(n_in), n_reference_races=int(n_all),
            scale_vs_complement=float(c_in / c_out) if np.isfinite(c_out) else float("nan"),
            dnf_multiplier_vs_complement=float(mult / mult_out) if mult_out and np.isfinite(mult_out) else float("nan"),
            complement=f"{col} != {value:g}", observed_dnf=int(o_in), expected_dnf=float(e_in), utility=utility,
            seasons=(int(used.min()), int(used.max())),
        )
    return out
