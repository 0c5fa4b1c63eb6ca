"""Fit speed and fit quality of formguide's Dixon-Coles / Poisson models against penaltyblog's.

Data: Premier League 2021/22-2023/24 (1,140 matches) from football-data.co.uk CSVs, decay xi = 0.0018 per
day from the last match. penaltyblog gets the weights from its own ``dixon_coles_weights``; formguide computes
them inside ``fit`` from the dates, so its timing includes that step (and team encoding, as does
penaltyblog's, whose constructor is timed with ``fit``).

Columns: median seconds per fit, speed ratio, both maximised log-likelihoods on the same weights, their
relative difference, and ``ll_pb_params_ours``: penaltyblog's fitted parameters scored by formguide's
likelihood, which must equal penaltyblog's own value if the two likelihoods are the same function.

    python bench/bench_dixon_coles.py --repeat 10

penaltyblog is a benchmark-only extra (``pip install penaltyblog``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from threadpoolctl import threadpool_limits  # noqa: E402

from _common import format_table, median, time_interleaved  # noqa: E402
from formguide.football.models.dixon_coles import DixonColesModel  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEASONS = ("2122", "2223", "2324")
XI = 0.0018


def data_dir() -> Path:
    return Path(os.environ.get("FORMGUIDE_DATA", REPO.parent / "shared" / "data")) / "football_data"


def load_matches(division: str = "E0", seasons: tuple[str, ...] = SEASONS, root: Path | None = None) -> pd.DataFrame:
    root = data_dir() if root is None else root
    frames = []
    for season in seasons:
        path = root / f"{division}_{season}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (set FORMGUIDE_DATA to the folder holding football_data/)")
        df = pd.read_csv(path, encoding="utf-8-sig", usecols=["Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG"])
        df = df.dropna(subset=["HomeTeam"])
        df["Date"] = pd.to_datetime(df["Date"], dayfirst=True, format="mixed")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["FTHG"] = out["FTHG"].astype(np.int64)
    out["FTAG"] = out["FTAG"].astype(np.int64)
    return out


def _ours_from_penaltyblog(pb_model: Any, rho_fitted: bool, xi: float) -> DixonColesModel:
    """penaltyblog's fitted parameters in formguide's parameterisation (same rates, centred ratings)."""
    teams = np.asarray(pb_model.teams, dtype=str)
    params = np.asarray(pb_model._params, dtype=np.float64)
    t = teams.size
    attack, defence = params[:t], params[t : 2 * t]
    rho = float(params[2 * t + 1]) if rho_fitted else 0.0
    model = DixonColesModel(xi=xi, rho=rho_fitted)
    model.teams_ = teams
    model.attack_ = attack - attack.mean()
    model.defence_ = defence - defence.mean()
    model.intercept_ = float(attack.mean() + defence.mean())
    model.home_advantage_ = float(params[2 * t])
    model.rho_ = rho
    model.ref_date_ = None
    return model


def run(
    repeat: int = 5,
    xi: float = XI,
    division: str = "E0",
    seasons: tuple[str, ...] = SEASONS,
    threads: int | None = 1,
) -> list[dict]:
    """One row per model: timings, speed ratio and log-likelihood agreement.

    ``threads`` caps BLAS and OpenMP threads for both libraries (``None`` leaves them alone): both solve
    problems of ~50 parameters, where threads only add hand-off cost, and penaltyblog's OpenMP loops are
    thereby measured single-threaded like formguide's numpy code. Fits alternate between the libraries.
    """
    try:
        from penaltyblog import __version__ as pb_version
        from penaltyblog.models import DixonColesGoalModel, PoissonGoalsModel, dixon_coles_weights
    except ImportError as exc:
        raise SystemExit(f"penaltyblog is needed for this benchmark (pip install penaltyblog): {exc}") from None

    df = load_matches(division, seasons)
    home, away = df["HomeTeam"].to_numpy(), df["AwayTeam"].to_numpy()
    hg, ag, dates = df["FTHG"].to_numpy(), df["FTAG"].to_numpy(), df["Date"]
    weights = dixon_coles_weights(dates, xi)

    rows = []
    for name, with_rho, pb_cls in (("dixon_coles", True, DixonColesGoalModel), ("poisson", False, PoissonGoalsModel)):
        def fit_ours(rho=with_rho):
            return DixonColesModel(xi=xi, rho=rho).fit(home, away, hg, ag, dates)

        def fit_pb(cls=pb_cls):
            model = cls(hg, ag, home, away, weights=weights)
            model.fit()
            return model

        with threadpool_limits(threads):
            fit_ours()  # warm caches and imports outside the timed calls
            fit_pb()
            seconds, last = time_interleaved({"ours": fit_ours, "pb": fit_pb}, repeat)
        t_ours, t_pb, ours, pb = seconds["ours"], seconds["pb"], last["ours"], last["pb"]
        ll_ours = ours.loglik(home, away, hg, ag, weights=weights)
        ll_pb = float(pb.loglikelihood)
        ll_pb_params = _ours_from_penaltyblog(pb, with_rho, xi).loglik(home, away, hg, ag, weights=weights)
        rows.append({
            "model": name,
            "matches": int(len(df)),
            "ours_s": median(t_ours),
            "penaltyblog_s": median(t_pb),
            "speedup": median(t_pb) / median(t_ours),
            "ours_iter": ours.n_iter_,
            "ll_ours": ll_ours,
            "ll_penaltyblog": ll_pb,
            "rel_diff": abs(ll_ours - ll_pb) / abs(ll_pb),
            "ll_pb_params_ours": ll_pb_params,
            "penaltyblog": pb_version,
            "repeat": repeat,
            "threads": "default" if threads is None else threads,
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed fits per library (median reported)")
    parser.add_argument("--xi", type=float, default=XI, help="time decay per day")
    parser.add_argument("--division", default="E0")
    parser.add_argument("--seasons", nargs="+", default=list(SEASONS))
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP thread cap for both; 0 = no cap")
    args = parser.parse_args(argv)
    rows = run(args.repeat, args.xi, args.division, tuple(args.seasons), args.threads or None)
    print(format_table(rows))


if __name__ == "__main__":
    main()
