"""The regression frameworks a user can train the NFL's mean margin and total with.

``sklearn`` (the default: ridge regression on standardised features with median imputation — on about
5,000 games of noisy football outcomes a linear model is hard to beat; its penalty ``alpha = 5000`` was
chosen on 2003-2008 walk-forward moneyline Brier, from 5 to 30,000: with market features and the prior mean
of ``estimator.prior_column`` 0.2133 at 1,000, 0.2125 at 5,000 and at 30,000; without them 0.2171 at 1,000
and 0.2170 at 5,000), ``lightgbm`` and ``xgboost``
(gradient-boosted trees, missing values handled natively) are core dependencies; ``h2o`` (H2O AutoML) is the
optional extra ``formguide[h2o]`` and needs Java. Every framework fits ``X -> y`` on numpy arrays, predicts,
and serialises to JSON (coefficients, a LightGBM model string, an XGBoost JSON model, an H2O binary model in base64).
Each honours the run's ``--max-runtime`` (``core.deadline``): the tree learners stop adding trees when it
passes, H2O AutoML gets the time left as its budget.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from formguide.core import deadline
from formguide.core.errors import FormguideError

__all__ = ["FRAMEWORKS", "Regressor", "make_regressor", "regressor_from_dict", "require_framework"]

FRAMEWORKS: tuple[str, ...] = ("sklearn", "lightgbm", "xgboost", "h2o")
#: Import name and the extra that installs it, for a framework outside the core dependencies.
_EXTRAS = {"h2o": ("h2o", "h2o")}


def nanmedian_columns(X: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median of each column ignoring NaN (NaN for an all-NaN column): ``np.nanmedian(X, axis=0)`` by one
    sort, without its column-by-column loop."""
    X = np.asarray(X, dtype=np.float64)
    ordered = np.sort(X, axis=0)  # NaN sort last
    count = np.sum(~np.isnan(X), axis=0)
    cols = np.arange(X.shape[1])
    lo, hi = np.maximum((count - 1) // 2, 0), np.maximum(count // 2, 0)
    return np.where(count > 0, 0.5 * (ordered[np.minimum(lo, len(X) - 1), cols] + ordered[np.minimum(hi, len(X) - 1), cols]),
                    np.nan)


def require_framework(framework: str) -> None:
    """Refuse an unknown framework, or one whose optional extra is not installed, naming what to install."""
    if framework not in FRAMEWORKS:
        raise FormguideError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    if framework in _EXTRAS:
        module, extra = _EXTRAS[framework]
        if importlib.util.find_spec(module) is None:
            raise FormguideError(f"the {framework} framework needs the optional extra: pip install "
                                 f"'formguide[{extra}]' (and Java for H2O)")


class Regressor(ABC):
    """``fit(X, y)``, ``predict(X)``, ``to_dict()``; the framework's own model underneath."""

    framework: str

    @abstractmethod
    def fit(self, X: NDArray[np.float64], y: NDArray[np.float64]) -> Regressor: ...

    @abstractmethod
    def predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]: ...

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...


class RidgeRegressor(Regressor):
    """Median imputation, standardisation, ridge: fitted state is three vectors and an intercept."""

    framework = "sklearn"

    def __init__(self, alpha: float = 5000.0) -> None:
        self.alpha = alpha

    def _design(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        Z = np.where(np.isnan(X), self.median_, X)
        return (Z - self.mean_) / self.scale_

    def fit(self, X: NDArray[np.float64], y: NDArray[np.float64]) -> RidgeRegressor:
        median = nanmedian_columns(X)  # NaN for a feature missing from every row (e.g. prices before 2006)
        self.median_ = np.where(np.isnan(median), 0.0, median)
        Z = np.where(np.isnan(X), self.median_, X)
        self.mean_ = Z.mean(axis=0)
        scale = Z.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        S = (Z - self.mean_) / self.scale_
        # sklearn's Ridge (centred, the intercept unpenalised) in closed form: the walk-forward refits it
        # every week, and its input checks cost more than the solve
        y_mean = float(np.mean(y))
        self.coef_ = np.linalg.solve(S.T @ S + self.alpha * np.eye(S.shape[1]), S.T @ (y - y_mean))
        self.intercept_ = y_mean - float(S.mean(axis=0) @ self.coef_)
        return self

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._design(X) @ self.coef_ + self.intercept_

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "alpha": self.alpha, "median": self.median_.tolist(),
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
                "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RidgeRegressor:
        r = cls(alpha=d["alpha"])
        r.median_, r.mean_, r.scale_ = (np.asarray(d[k], dtype=np.float64) for k in ("median", "mean", "scale"))
        r.coef_, r.intercept_ = np.asarray(d["coef"], dtype=np.float64), float(d["intercept"])
        return r


def _deadline_callback_lightgbm():
    def callback(env: Any) -> None:
        left = deadline.remaining()
        if left is not None and left <= 0:
            from lightgbm.callback import EarlyStopException

            raise EarlyStopException(env.iteration, env.evaluation_result_list)
    callback.order = 30  # type: ignore[attr-defined]
    return callback


class LightGBMRegressor(Regressor):
    framework = "lightgbm"

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.02, num_leaves: int = 7,
                 min_child_samples: int = 60, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 seed: int = 0) -> None:
        self.params = dict(n_estimators=n_estimators, learning_rate=learning_rate, num_leaves=num_leaves,
                           min_child_samples=min_child_samples, subsample=subsample, colsample_bytree=colsample_bytree,
                           seed=seed)

    def fit(self, X: NDArray[np.float64], y: NDArray[np.float64]) -> LightGBMRegressor:
        import lightgbm as lgb

        p = self.params
        train = lgb.Dataset(X, label=y, free_raw_data=True)
        self.booster_ = lgb.train(
            {"objective": "regression", "learning_rate": p["learning_rate"], "num_leaves": p["num_leaves"],
             "min_data_in_leaf": p["min_child_samples"], "bagging_fraction": p["subsample"], "bagging_freq": 1,
             "feature_fraction": p["colsample_bytree"], "seed": p["seed"], "num_threads": 1, "verbose": -1,
             "deterministic": True},
            train, num_boost_round=p["n_estimators"], callbacks=[_deadline_callback_lightgbm()])
        return self

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self.booster_.predict(X), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "params": self.params, "booster": self.booster_.model_to_string()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LightGBMRegressor:
        import lightgbm as lgb

        r = cls(**d["params"])
        r.booster_ = lgb.Booster(model_str=d["booster"])
        return r


class XGBoostRegressor(Regressor):
    framework = "xgboost"

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.02, max_depth: int = 3,
                 min_child_weight: float = 20.0, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 seed: int = 0) -> None:
        self.params = dict(n_estimators=n_estimators, learning_rate=learning_rate, max_depth=max_depth,
                           min_child_weight=min_child_weight, subsample=subsample, colsample_bytree=colsample_bytree,
                           seed=seed)

    def fit(self, X: NDArray[np.float64], y: NDArray[np.float64]) -> XGBoostRegressor:
        import xgboost as xgb

        p = self.params

        class _Deadline(xgb.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log) -> bool:  # noqa: ANN001 - xgboost's signature
                left = deadline.remaining()
                return left is not None and left <= 0

        self.booster_ = xgb.train(
            {"objective": "reg:squarederror", "eta": p["learning_rate"], "max_depth": p["max_depth"],
             "min_child_weight": p["min_child_weight"], "subsample": p["subsample"],
             "colsample_bytree": p["colsample_bytree"], "seed": p["seed"], "nthread": 1, "verbosity": 0},
            xgb.DMatrix(X, label=y, missing=np.nan), num_boost_round=p["n_estimators"], callbacks=[_Deadline()])
        return self

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        import xgboost as xgb

        return np.asarray(self.booster_.predict(xgb.DMatrix(X, missing=np.nan)), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "params": self.params,
                "booster": bytes(self.booster_.save_raw("json")).decode("utf-8")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> XGBoostRegressor:
        import xgboost as xgb

        r = cls(**d["params"])
        r.booster_ = xgb.Booster()
        r.booster_.load_model(bytearray(d["booster"].encode("utf-8")))
        return r


def _h2o_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("h2o")
    except PackageNotFoundError:
        return None


class H2ORegressor(Regressor):
    """H2O AutoML (GLM, GBM, random forest) under the run's time budget; the leader is kept as H2O's binary
    model (base64; open-source H2O cannot export MOJOs) with the h2o version it loads in, scored in H2O."""

    framework = "h2o"

    def __init__(self, max_models: int = 5, max_runtime_secs: float = 60.0, seed: int = 0) -> None:
        self.params = dict(max_models=max_models, max_runtime_secs=max_runtime_secs, seed=seed)

    @staticmethod
    def _h2o():
        require_framework("h2o")
        import h2o

        with contextlib.redirect_stdout(io.StringIO()):  # H2O prints its cluster banner and age warnings
            h2o.init(nthreads=2, max_mem_size="2G", verbose=False, bind_to_localhost=True)
        h2o.no_progress()
        return h2o

    @staticmethod
    def _frame(h2o: Any, X: NDArray[np.float64], y: NDArray[np.float64] | None = None) -> Any:
        import pandas as pd

        data = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        if y is not None:
            data["y"] = y
        # every column numeric: H2O would otherwise guess a 0/1 or all-missing column is categorical
        return h2o.H2OFrame(data, column_types=["numeric"] * data.shape[1])

    def fit(self, X: NDArray[np.float64], y: NDArray[np.float64]) -> H2ORegressor:
        from h2o.automl import H2OAutoML

        h2o = self._h2o()
        left = deadline.remaining()
        budget = int(self.params["max_runtime_secs"] if left is None else max(min(self.params["max_runtime_secs"], left), 1))
        aml = H2OAutoML(max_models=self.params["max_models"], max_runtime_secs=budget, seed=self.params["seed"],
                        sort_metric="RMSE", verbosity=None, include_algos=["GLM", "GBM", "DRF"])
        aml.train(x=[f"x{i}" for i in range(X.shape[1])], y="y", training_frame=self._frame(h2o, X, y))
        if aml.leader is None:
            raise FormguideError(f"H2O AutoML built no model within its {budget:g} s budget; "
                                 "give the run more --max-runtime")
        with tempfile.TemporaryDirectory() as tmp:  # MOJO export needs H2O-3 Secure: keep the binary model
            path = h2o.save_model(aml.leader, path=tmp, force=True)
            self.model_ = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        self.leader_ = aml.leader
        return self

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        h2o = self._h2o()
        model = getattr(self, "leader_", None)
        if model is None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "leader"
                path.write_bytes(base64.b64decode(self.model_))
                model = self.leader_ = h2o.load_model(str(path))
        pred = model.predict(self._frame(h2o, X)).as_data_frame(use_multi_thread=False)
        return pred.iloc[:, 0].to_numpy(dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "params": self.params, "model": self.model_,
                "h2o_version": _h2o_version()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> H2ORegressor:
        if d.get("h2o_version") != _h2o_version():
            raise FormguideError(f"this H2O model was saved by h2o {d.get('h2o_version')}, installed is "
                                 f"{_h2o_version()}: retrain it (H2O binary models load only in their version)")
        r = cls(**d["params"])
        r.model_ = d["model"]
        return r


_CLASSES: dict[str, type[Regressor]] = {"sklearn": RidgeRegressor, "lightgbm": LightGBMRegressor,
                                        "xgboost": XGBoostRegressor, "h2o": H2ORegressor}


def make_regressor(framework: str, **params: Any) -> Regressor:
    require_framework(framework)
    return _CLASSES[framework](**params)


def regressor_from_dict(d: dict[str, Any]) -> Regressor:
    require_framework(d["framework"])
    return _CLASSES[d["framework"]].from_dict(d)  # type: ignore[attr-defined]
