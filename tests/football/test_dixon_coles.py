"""Dixon-Coles / Poisson goal model: likelihood, gradient, recovery, real-data convergence, persistence, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from formguide.core.estimators import NotFittedError
from formguide.football.models.dixon_coles import (
    ConvergenceError,
    DixonColesModel,
    _encode_teams,
    dixon_coles_matrix,
)
from formguide.football.models.dixon_coles_problem import Problem as _Problem

TRUE_HOME, TRUE_RHO, TRUE_INTERCEPT = 0.27, -0.12, np.log(1.15)


def _round_robin(n_teams: int, rounds: int) -> tuple[np.ndarray, np.ndarray]:
    h, a = np.meshgrid(np.arange(n_teams), np.arange(n_teams), indexing="ij")
    off = h != a
    return np.tile(h[off], rounds), np.tile(a[off], rounds)


def _simulate(seed: int = 7, n_teams: int = 20, rounds: int = 4, rho: float = TRUE_RHO):
    """Scores drawn from a known Dixon-Coles model, plus the truth."""
    rng = np.random.default_rng(seed)
    attack = rng.normal(0, 0.3, n_teams)
    defence = rng.normal(0, 0.25, n_teams)
    attack -= attack.mean()
    defence -= defence.mean()
    hi, ai = _round_robin(n_teams, rounds)
    lam = np.exp(TRUE_INTERCEPT + TRUE_HOME + attack[hi] + defence[ai])
    mu = np.exp(TRUE_INTERCEPT + attack[ai] + defence[hi])
    m = dixon_coles_matrix(lam, mu, rho, 12).reshape(hi.size, -1)
    cell = (m.cumsum(axis=1) < rng.random(hi.size)[:, None]).sum(axis=1)
    cell = np.minimum(cell, m.shape[1] - 1)
    hg, ag = np.divmod(cell, 13)
    names = np.array([f"team{i:02d}" for i in range(n_teams)])
    dates = pd.Timestamp("2020-08-01") + pd.to_timedelta(np.arange(hi.size) // 10 * 3, unit="D")
    return names[hi], names[ai], hg.astype(float), ag.astype(float), dates, attack, defence


@pytest.fixture(scope="module")
def simulated():
    return _simulate()


@pytest.fixture(scope="module")
def fitted(simulated):
    home, away, hg, ag, dates, *_ = simulated
    return DixonColesModel(xi=0.0).fit(home, away, hg, ag, dates)


# ---------------------------------------------------------------- likelihood and gradient
def _problem(simulated, use_rho=True, l2=0.0, weighted=True):
    home, away, hg, ag, dates, *_ = simulated
    teams, codes = _encode_teams(np.concatenate([home, away]))
    n = home.size
    w = np.exp(-0.003 * np.arange(n)[::-1]) if weighted else np.ones(n)
    return _Problem(codes[:n], codes[n:], hg, ag, w, teams.size, use_rho, l2), codes[:n], codes[n:], w


@pytest.mark.parametrize(("use_rho", "l2"), [(True, 0.0), (False, 0.0), (True, 0.5)])
def test_analytic_gradient_matches_central_differences(simulated, use_rho, l2):
    problem, *_ = _problem(simulated, use_rho, l2)
    rng = np.random.default_rng(3)
    theta = problem.start() + rng.normal(0, 0.05, problem.size)
    if use_rho:
        theta[-1] = -0.08
    _, grad = problem.objective(theta)
    eps = 1e-6
    numeric = np.empty_like(theta)
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = eps
        numeric[k] = (problem.objective(theta + step)[0] - problem.objective(theta - step)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def test_likelihood_matches_direct_sum_over_matches(simulated):
    """The sufficient-statistic objective equals the textbook per-match weighted log-likelihood."""
    problem, hi, ai, w = _problem(simulated)
    _, _, hg, ag, *_ = simulated
    rng = np.random.default_rng(11)
    theta = problem.start() + rng.normal(0, 0.1, problem.size)
    theta[-1] = 0.05
    t = problem.n_teams
    a, d, c, h, r = theta[:t], theta[t : 2 * t], theta[2 * t], theta[2 * t + 1], theta[-1]
    lam, mu = np.exp(c + h + a[hi] + d[ai]), np.exp(c + a[ai] + d[hi])
    tau = np.ones_like(lam)
    tau = np.where((hg == 0) & (ag == 0), 1 - r * lam * mu, tau)
    tau = np.where((hg == 0) & (ag == 1), 1 + r * lam, tau)
    tau = np.where((hg == 1) & (ag == 0), 1 + r * mu, tau)
    tau = np.where((hg == 1) & (ag == 1), 1 - r, tau)
    direct = np.sum(w * (poisson.logpmf(hg, lam) + poisson.logpmf(ag, mu) + np.log(tau)))
    assert problem.loglik(theta) == pytest.approx(direct, rel=1e-12)


# ---------------------------------------------------------------- recovery and fitted state
def test_recovers_known_parameters(simulated, fitted):
    *_, attack, defence = simulated
    m = fitted
    assert m.converged_ and m.n_iter_ > 0
    order = np.argsort(m.teams_)
    assert np.corrcoef(m.attack_[order], attack)[0, 1] > 0.9
    assert np.corrcoef(m.defence_[order], defence)[0, 1] > 0.85
    assert np.abs(m.attack_[order] - attack).max() < 0.2
    assert m.home_advantage_ == pytest.approx(TRUE_HOME, abs=0.06)
    assert m.rho_ == pytest.approx(TRUE_RHO, abs=0.07)
    assert m.intercept_ == pytest.approx(TRUE_INTERCEPT, abs=0.06)
    assert abs(m.attack_.sum()) < 1e-9 and abs(m.defence_.sum()) < 1e-9


def test_fit_is_a_maximum(simulated, fitted):
    home, away, hg, ag, dates, *_ = simulated
    base = fitted.loglik(home, away, hg, ag, dates)
    assert base == pytest.approx(fitted.loglik_, rel=1e-12)
    for attr, delta in (("home_advantage_", 0.01), ("rho_", 0.01), ("intercept_", 0.01)):
        clone = DixonColesModel.from_dict(fitted.to_dict())
        setattr(clone, attr, getattr(clone, attr) + delta)
        assert clone.loglik(home, away, hg, ag, dates) < base


def test_poisson_model_is_dixon_coles_without_rho(simulated):
    home, away, hg, ag, dates, *_ = simulated
    p = DixonColesModel(xi=0.0, rho=False).fit(home, away, hg, ag, dates)
    q = DixonColesModel(xi=0.0, rho=False).fit(home, away, hg, ag, dates)
    assert p.rho_ == 0.0
    np.testing.assert_allclose(p.attack_, q.attack_, atol=1e-6)
    assert p.loglik_ == pytest.approx(q.loglik_, rel=1e-10)
    # the Poisson rate equations: fitted total goals equal observed total goals
    lam, mu = p.expected_goals(home, away)
    assert lam.sum() == pytest.approx(hg.sum(), rel=1e-5)
    assert mu.sum() == pytest.approx(ag.sum(), rel=1e-5)


def test_xi_decay_downweights_old_matches():
    """A team strong early and weak late is rated lower when old matches count less."""
    home, away, hg, ag, dates, *_ = _simulate(seed=5, n_teams=10, rounds=6, rho=0.0)
    hg, ag = hg.copy(), ag.copy()
    early = np.arange(home.size) < home.size // 2
    hg[(home == "team00") & early] += 3
    ag[(away == "team00") & early] += 3
    flat = DixonColesModel(xi=0.0, rho=False).fit(home, away, hg, ag, dates)
    decayed = DixonColesModel(xi=0.02, rho=False).fit(home, away, hg, ag, dates)
    i = int(np.searchsorted(flat.teams_, "team00"))
    assert decayed.attack_[i] < flat.attack_[i] - 0.2
    # the loglik of the decayed fit weighs the newest match by 1 and older ones less
    last = slice(home.size - 1, home.size)
    one = decayed.loglik(home[last], away[last], hg[last], ag[last], dates[last])
    w = np.exp(-0.02 * ((dates[-1] - dates) / pd.Timedelta(days=1)).to_numpy())
    assert one == pytest.approx(decayed.loglik(home[last], away[last], hg[last], ag[last], weights=[1.0]))
    assert w[0] < w[-1] == 1.0
    assert decayed.loglik(home, away, hg, ag, dates) == pytest.approx(decayed.loglik(home, away, hg, ag, weights=w))


# ---------------------------------------------------------------- prediction
def test_probabilities_are_valid(fitted):
    teams = fitted.teams_
    home, away = np.meshgrid(teams, teams, indexing="ij")
    off = home != away
    home, away = home[off], away[off]
    m = fitted.score_matrix(home, away)
    assert m.shape == (home.size, 11, 11)
    assert (m >= 0).all()
    np.testing.assert_allclose(m.sum(axis=(1, 2)), 1.0, atol=1e-12)
    p = fitted.predict_proba(home, away)
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    markets = fitted.predict_markets(home, away, total_lines=(1.5, 2.5), ah_lines=(-0.25, 0.5))
    np.testing.assert_allclose(markets["home"] + markets["draw"] + markets["away"], 1.0, atol=1e-12)
    np.testing.assert_allclose(markets["over_2.5"] + markets["under_2.5"], 1.0, atol=1e-12)
    np.testing.assert_allclose(markets["ah_-0.25_home"] + markets["ah_-0.25_away"], 1.0, atol=1e-12)
    assert (markets["over_1.5"] >= markets["over_2.5"]).all()
    np.testing.assert_allclose(markets["btts_yes"] + markets["btts_no"], 1.0, atol=1e-12)


def test_expected_goals_and_home_advantage(fitted):
    t = fitted.teams_
    lam, mu = fitted.expected_goals([t[0], t[1]], [t[1], t[0]])
    np.testing.assert_allclose(lam[0] / mu[1], np.exp(fitted.home_advantage_))
    lam1, mu1 = fitted.expected_goals(t[0], t[1])  # scalars work too
    assert lam1.shape == (1,) and lam1[0] == pytest.approx(lam[0])


@settings(max_examples=80, deadline=None)
@given(st.floats(0.05, 6.0), st.floats(0.05, 6.0), st.floats(-0.99, 0.99), st.integers(1, 12))
def test_score_matrix_is_a_distribution_for_any_rates(lam, mu, rho, max_goals):
    m = dixon_coles_matrix([lam], [mu], rho, max_goals)
    assert (m >= 0).all()
    assert m.sum() == pytest.approx(1.0)


def test_unknown_teams(fitted):
    with pytest.raises(KeyError, match=r"Newcastle.*Sunderland|Sunderland.*Newcastle"):
        fitted.predict_proba(["Sunderland", fitted.teams_[0]], [fitted.teams_[1], "Newcastle"])
    avg = DixonColesModel.from_dict({**fitted.to_dict(), "params": {**fitted.get_params(), "unknown": "average"}})
    lam0, _ = avg.expected_goals(["Sunderland"], [fitted.teams_[1]])
    penalised = DixonColesModel.from_dict(
        {**fitted.to_dict(), "params": {**fitted.get_params(), "unknown": "average", "promoted_penalty": 0.2}})
    lam1, mu1 = penalised.expected_goals(["Sunderland"], [fitted.teams_[1]])
    assert lam1[0] == pytest.approx(lam0[0] * np.exp(-0.2))
    np.testing.assert_allclose(penalised.predict_proba(["Sunderland"], ["Luton"]).sum(), 1.0)


# ---------------------------------------------------------------- persistence
def test_json_round_trip(fitted):
    text = json.dumps(fitted.to_dict())
    back = DixonColesModel.from_dict(json.loads(text))
    assert type(back) is DixonColesModel
    t = fitted.teams_
    np.testing.assert_array_equal(back.predict_proba(t[:5], t[5:10]), fitted.predict_proba(t[:5], t[5:10]))
    assert back.get_params() == fitted.get_params()
    poisson_model = DixonColesModel.from_dict(json.loads(json.dumps(DixonColesModel(xi=0.001, rho=False).to_dict())))
    assert poisson_model.rho is False and poisson_model.xi == 0.001
    legacy = {**DixonColesModel(xi=0.001).to_dict(), "model": "PoissonModel"}  # written by older versions
    assert DixonColesModel.from_dict(legacy).rho is False
    with pytest.raises(ValueError, match="unknown model"):
        DixonColesModel.from_dict({"model": "Pickle", "params": {}})


def test_fit_frame_uses_only_played_rows(simulated):
    home, away, hg, ag, dates, *_ = simulated
    frame = pd.DataFrame({"home_team": home, "away_team": away, "home_goals": hg, "away_goals": ag,
                          "kickoff": dates})
    fixtures = frame.iloc[:3].assign(home_goals=np.nan, away_goals=np.nan, kickoff=dates[-1] + pd.Timedelta(days=7))
    m = DixonColesModel().fit_frame(pd.concat([frame, fixtures], ignore_index=True))
    direct = DixonColesModel().fit(home, away, hg, ag, dates)
    assert m.n_matches_ == home.size
    assert m.loglik_ == pytest.approx(direct.loglik_, rel=1e-12)
    assert m.ref_date_ == dates.max()


# ---------------------------------------------------------------- errors
def _good(simulated):
    home, away, hg, ag, dates, *_ = simulated
    return {"home_teams": home.astype(object), "away_teams": away.astype(object), "home_goals": hg.copy(), "away_goals": ag.copy(),
            "dates": dates}


def _with(simulated, **changes):
    args = _good(simulated)
    for key, (pos, value) in changes.items():
        args[key][pos] = value
    return args


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"home_goals": (4, np.nan)}, r"home_goals has 1 NaN.*position 4"),
        ({"away_goals": (9, -1)}, r"away_goals has 1 negative.*position 9"),
        ({"home_goals": (2, 1.5)}, r"home_goals must be whole numbers \(position 2"),
        ({"away_teams": (3, None)}, r"away_teams has 1 missing team names \(first at position 3"),
    ],
)
def test_bad_values_raise(simulated, changes, message):
    with pytest.raises(ValueError, match=message):
        DixonColesModel().fit(**_with(simulated, **changes))


def test_bad_shapes_and_dates_raise(simulated):
    args = _good(simulated)
    with pytest.raises(ValueError, match="mismatched lengths"):
        DixonColesModel().fit(**{**args, "away_goals": args["away_goals"][:-1]})
    with pytest.raises(ValueError, match="dates are required"):
        DixonColesModel(xi=0.002).fit(**{**args, "dates": None})
    with pytest.raises(ValueError, match="after ref_date"):
        DixonColesModel(ref_date="2020-09-01").fit(**args)
    args["away_teams"][0] = args["home_teams"][0]
    with pytest.raises(ValueError, match="home and away team are the same"):
        DixonColesModel().fit(**args)
    with pytest.raises(ValueError, match="xi must be"):
        DixonColesModel(xi=-1).fit(**_good(simulated))


def test_unidentifiable_data_is_refused(simulated):
    args = _good(simulated)
    goalless = args["home_teams"] == "team03"
    args["home_goals"][goalless] = 0
    args["away_goals"][args["away_teams"] == "team03"] = 0
    with pytest.raises(ValueError, match=r"\['team03'\] scored no goals"):
        DixonColesModel().fit(**args)
    # with a ridge penalty the estimate exists and stays finite
    m = DixonColesModel(l2=1.0).fit(**args)
    assert np.isfinite(m.attack_).all() and m.attack_[3] == m.attack_.min()

    two_leagues = {"home_teams": np.array(["a", "b", "c", "d"] * 3), "away_teams": np.array(["b", "a", "d", "c"] * 3),
                   "home_goals": np.array([1, 2, 0, 3] * 3), "away_goals": np.array([1, 0, 2, 1] * 3)}
    with pytest.raises(ValueError, match="never met"):
        DixonColesModel(xi=0).fit(**two_leagues)


def test_non_convergence_raises(simulated):
    with pytest.raises(ConvergenceError, match="without converging"):
        DixonColesModel(maxiter=2).fit(**_good(simulated))


def test_unfitted_model_refuses_to_predict():
    with pytest.raises(NotFittedError, match="not fitted"):
        DixonColesModel().predict_proba(["a"], ["b"])


# ---------------------------------------------------------------- real data
LEAGUES = ("E0", "SP1", "D1", "I1", "F1")


def _season(folder: Path, name: str) -> pd.DataFrame:
    df = pd.read_csv(folder / name, encoding="utf-8-sig", usecols=["Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG"])
    df = df.dropna(subset=["HomeTeam"])
    df["Date"] = pd.to_datetime(df["Date"], dayfirst=True, format="mixed")
    return df


def _check_real_fit(df: pd.DataFrame, label: str) -> None:
    m = DixonColesModel().fit(df["HomeTeam"], df["AwayTeam"], df["FTHG"], df["FTAG"], df["Date"])
    assert m.converged_, label
    assert 0 < m.home_advantage_ < 0.6, label
    assert -0.4 < m.rho_ < 0.4, label
    # tau stays positive for every pairing of the league's teams
    home, away = np.meshgrid(m.teams_, m.teams_, indexing="ij")
    off = home != away
    lam, mu = m.expected_goals(home[off], away[off])
    assert (1 - m.rho_ * lam * mu > 0).all() and (1 + m.rho_ * np.maximum(lam, mu) > 0).all(), label
    again = m.loglik(df["HomeTeam"], df["AwayTeam"], df["FTHG"], df["FTAG"], df["Date"])
    assert again == pytest.approx(m.loglik_, rel=1e-12), label


@pytest.mark.parametrize(("league", "season"), [("E0", "1314"), ("SP1", "2324"), ("D1", "1112"), ("I1", "1920"),
                                                ("F1", "0708")])
def test_converges_on_real_seasons(football_dir, league, season):
    """One season per big-five league (the full set runs in the slow test below)."""
    _check_real_fit(_season(football_dir, f"{league}_{season}.csv"), f"{league}_{season}")


def test_rho_is_kept_feasible_on_real_season(football_dir):
    """Eredivisie 2023/24: the unconstrained rho would make tau(0, 1) = 1 + rho * lam negative for PSV at home to
    Volendam (lam about 5.5), so rho is held at the edge of its feasible interval."""
    df = _season(football_dir, "N1_2324.csv")
    m = DixonColesModel().fit(df["HomeTeam"], df["AwayTeam"], df["FTHG"], df["FTAG"], df["Date"])
    home, away = np.meshgrid(m.teams_, m.teams_, indexing="ij")
    off = home != away
    lam, mu = m.expected_goals(home[off], away[off])
    edge = (1 + m.rho_ * np.maximum(lam, mu)).min()
    assert 0 < edge < 0.01
    _check_real_fit(df, "N1_2324")


@pytest.mark.slow
def test_converges_on_every_big_five_season(football_dir):
    files = sorted(f for lg in LEAGUES for f in football_dir.glob(f"{lg}_*.csv"))
    assert len(files) >= 100
    for path in files:
        _check_real_fit(_season(football_dir, path.name), path.name)


def test_matches_penaltyblog_loglik(football_dir):
    """An independent implementation reaches the same maximum on the bench data (E0 2021/22-2023/24)."""
    pb = pytest.importorskip("penaltyblog.models")
    df = pd.concat([_season(football_dir, f"E0_{s}.csv") for s in ("2122", "2223", "2324")], ignore_index=True)
    w = pb.dixon_coles_weights(df["Date"], 0.0018)
    theirs = pb.DixonColesGoalModel(df["FTHG"].astype(int), df["FTAG"].astype(int), df["HomeTeam"], df["AwayTeam"],
                                    weights=w)
    theirs.fit()
    ours = DixonColesModel(xi=0.0018).fit(df["HomeTeam"], df["AwayTeam"], df["FTHG"], df["FTAG"], df["Date"])
    ll = ours.loglik(df["HomeTeam"], df["AwayTeam"], df["FTHG"], df["FTAG"], weights=w)
    assert ll == pytest.approx(theirs.loglikelihood, rel=1e-6)
    assert ll >= theirs.loglikelihood - 1e-6
