import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression

from formguide.core.calibration import CALIBRATION_METHODS, MulticlassCalibrator
from formguide.core.metrics import ece, log_loss


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sample(n, seed):
    """True 3-way probabilities and outcomes drawn from them."""
    rng = np.random.default_rng(seed)
    true = rng.dirichlet([4.0, 2.5, 3.0], size=n)
    u = rng.random(n)[:, None]
    y = (u > np.cumsum(true, axis=1)).sum(axis=1)
    return true, y


TRUE_TRAIN, Y_TRAIN = _sample(12_000, 1)
TRUE_TEST, Y_TEST = _sample(12_000, 2)


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_calibrated_forecast_changes_little(method):
    cal = MulticlassCalibrator(method).fit(TRUE_TRAIN, Y_TRAIN)
    out = cal.predict_proba(TRUE_TEST)
    assert np.mean(np.abs(out - TRUE_TEST)) < 0.03
    assert abs(log_loss(out, Y_TEST) - log_loss(TRUE_TEST, Y_TEST)) < 0.01


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_miscalibrated_forecast_improves(method):
    # over-confident model: logits of the truth stretched by 2.5
    def overconfident(p):
        return _softmax(2.5 * np.log(p))

    raw_train, raw_test = overconfident(TRUE_TRAIN), overconfident(TRUE_TEST)
    cal = MulticlassCalibrator(method).fit(raw_train, Y_TRAIN)
    out = cal.predict_proba(raw_test)
    assert log_loss(out, Y_TEST) < log_loss(raw_test, Y_TEST) - 0.02
    assert ece(out, Y_TEST) < ece(raw_test, Y_TEST) / 2
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_json_round_trip_identical(method):
    cal = MulticlassCalibrator(method).fit(TRUE_TRAIN[:3000], Y_TRAIN[:3000])
    text = json.dumps(cal.to_dict())
    back = MulticlassCalibrator.from_dict(json.loads(text))
    assert back.method == method and back.n_classes_ == 3
    np.testing.assert_array_equal(back.predict_proba(TRUE_TEST), cal.predict_proba(TRUE_TEST))


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_missing_class_is_left_uncalibrated(method):
    keep = Y_TRAIN != 2
    probs, y = TRUE_TRAIN[keep], Y_TRAIN[keep]
    cal = MulticlassCalibrator(method).fit(probs, y)
    assert cal.identity_classes_ == [2]
    out = cal.predict_proba(TRUE_TEST)
    assert np.all(np.isfinite(out)) and np.all(out[:, 2] > 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    back = MulticlassCalibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back.identity_classes_ == [2]
    np.testing.assert_array_equal(back.predict_proba(TRUE_TEST), out)


FITTED = MulticlassCalibrator("isotonic").fit(TRUE_TRAIN[:2000], Y_TRAIN[:2000])


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.just(3)), elements=st.floats(0.0, 1.0)))
def test_predictions_are_distributions(weights):
    weights = weights + 1e-3
    out = FITTED.predict_proba(weights / weights.sum(axis=1, keepdims=True))
    assert np.all(out >= FITTED.eps / 2) and np.all(out <= 1)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_platt_recovers_known_map():
    # binary: truth is sigmoid(0.5 * logit(p) + 0.3); fitted slope/intercept should be close
    rng = np.random.default_rng(5)
    p = rng.uniform(0.02, 0.98, 40_000)
    logit = np.log(p / (1 - p))
    truth = 1 / (1 + np.exp(-(0.5 * logit + 0.3)))
    y = (rng.random(p.size) < truth).astype(int)
    cal = MulticlassCalibrator("platt").fit(np.column_stack([1 - p, p]), y)
    assert cal.maps_[1]["a"] == pytest.approx(0.5, abs=0.05)
    assert cal.maps_[1]["b"] == pytest.approx(0.3, abs=0.05)
    # class 0 sees logit(1 - p) = -logit(p), so its map is the mirror image
    assert cal.maps_[0]["a"] == pytest.approx(0.5, abs=0.05)
    assert cal.maps_[0]["b"] == pytest.approx(-0.3, abs=0.05)


def test_plain_isotonic_matches_sklearn():
    cal = MulticlassCalibrator("isotonic", prior_strength=0.0).fit(TRUE_TRAIN[:4000], Y_TRAIN[:4000])
    for j in range(3):
        iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
            TRUE_TRAIN[:4000, j], Y_TRAIN[:4000] == j
        )
        m = cal.maps_[j]
        np.testing.assert_allclose(np.interp(TRUE_TEST[:, j], m["x"], m["y"]), iso.predict(TRUE_TEST[:, j]))


def test_isotonic_prior_keeps_tails_off_zero_and_one():
    # 400 rows: the lowest forecasts for class 0 never hit, the highest always hit
    rng = np.random.default_rng(3)
    p0 = np.sort(rng.uniform(0.05, 0.95, 400))
    y = np.where(rng.random(400) < p0, 0, 1)
    y[:5], y[-5:] = 1, 0
    probs = np.column_stack([p0, 1 - p0])
    plain = MulticlassCalibrator("isotonic", prior_strength=0.0, eps=0.0).fit(probs, y)
    shrunk = MulticlassCalibrator("isotonic", prior_strength=10.0, eps=0.0).fit(probs, y)
    assert plain.maps_[0]["y"][0] == 0.0 and plain.maps_[0]["y"][-1] == 1.0
    assert 0.0 < shrunk.maps_[0]["y"][0] < 0.1
    assert 0.9 < shrunk.maps_[0]["y"][-1] < 1.0
    assert np.all(np.diff(shrunk.maps_[0]["y"]) >= 0)  # still monotone
    assert np.all(np.diff(shrunk.maps_[0]["x"]) > 0)


def test_errors():
    with pytest.raises(NotFittedError):
        MulticlassCalibrator().predict_proba(TRUE_TEST)
    with pytest.raises(ValueError, match="unknown calibration method"):
        MulticlassCalibrator("beta").fit(TRUE_TRAIN, Y_TRAIN)
    with pytest.raises(ValueError, match="prior_strength"):
        MulticlassCalibrator(prior_strength=-1).fit(TRUE_TRAIN, Y_TRAIN)
    with pytest.raises(ValueError, match="fitted on 3 classes"):
        FITTED.predict_proba(np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="outcome row"):
        MulticlassCalibrator().fit(TRUE_TRAIN[:3], np.array([0, 1, 5]))
    d = FITTED.to_dict()
    with pytest.raises(ValueError, match="format"):
        MulticlassCalibrator.from_dict({**d, "format": "pickle"})
    with pytest.raises(ValueError, match="n_classes"):
        MulticlassCalibrator.from_dict({**d, "n_classes": 4})
    with pytest.raises(ValueError, match="kind"):
        MulticlassCalibrator.from_dict({**d, "maps": [{"kind": "spline"}] * 3})


def test_sklearn_clone():
    c = clone(MulticlassCalibrator("platt", eps=1e-4))
    assert c.get_params() == {"method": "platt", "prior_strength": 10.0, "eps": 1e-4}
    assert not hasattr(c, "maps_")
