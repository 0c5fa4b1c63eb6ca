"""Report figures: files are real PNGs, and the numbers behind them are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from formguide.core.plots import (
    bankroll_curve,
    drawdown,
    position_heatmap,
    position_matrix,
    reliability_curves,
    reliability_diagram,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 2000  # a drawn figure, not an empty canvas header


def test_reliability_curves_bin_a_small_example():
    probs = np.array(
        [
            [0.05, 0.25, 0.70],
            [0.15, 0.25, 0.60],
            [0.55, 0.25, 0.20],
            [0.65, 0.15, 0.20],
            [0.95, 0.00, 0.05],
        ]
    )
    outcome = np.array([2, 1, 0, 2, 0])
    tables = reliability_curves(probs, outcome, ["H", "D", "A"], n_bins=2)
    home, draw, away = tables
    np.testing.assert_array_equal(home.bin_edges, [0.0, 0.5, 1.0])
    # Home forecasts 0.05, 0.15 fall in [0, 0.5) with no hits; 0.55, 0.65, 0.95 in [0.5, 1] with 2 hits.
    np.testing.assert_array_equal(home.count, [2, 3])
    np.testing.assert_allclose(home.mean_predicted, [0.10, (0.55 + 0.65 + 0.95) / 3])
    np.testing.assert_allclose(home.observed_freq, [0.0, 2 / 3])
    # Draw forecasts all below 0.5: one hit in five; the upper bin is empty (NaN, count 0).
    np.testing.assert_array_equal(draw.count, [5, 0])
    np.testing.assert_allclose(draw.observed_freq[0], 0.2)
    assert np.isnan(draw.mean_predicted[1])
    np.testing.assert_array_equal(away.count, [3, 2])
    np.testing.assert_allclose(away.observed_freq, [1 / 3, 1 / 2])
    # Labels work the same as indices.
    by_label = reliability_curves(probs, ["A", "D", "H", "A", "H"], ["H", "D", "A"], n_bins=2)
    for a, b in zip(tables, by_label, strict=True):
        np.testing.assert_array_equal(a.count, b.count)
        np.testing.assert_array_equal(a.observed_freq, b.observed_freq)


def test_reliability_curves_reject_bad_input():
    probs = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        reliability_curves(probs, [0, 1], ["H", "A"])
    with pytest.raises(ValueError, match="outcome row 1 is 3, outside the class range 0..2"):
        reliability_curves(probs, [0, 3], ["H", "D", "A"])
    with pytest.raises(ValueError, match=r"outcome row 0 is 'X', not one of the classes"):
        reliability_curves(probs, ["X", "H"], ["H", "D", "A"])
    with pytest.raises(ValueError, match="1-D with 2 entries"):
        reliability_curves(probs, [0], ["H", "D", "A"])


def test_reliability_diagram_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([3, 2, 2], size=600)
    outcome = (rng.random(600)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    out = reliability_diagram(
        probs, outcome, ["home", "draw", "away"], tmp_path / "sub" / "rel.png", n_bins=8
    )
    assert out == tmp_path / "sub" / "rel.png"
    assert_png(out)


def test_drawdown_values():
    peak, dd = drawdown([100, 120, 90, 130, 117, 140])
    np.testing.assert_array_equal(peak, [100, 120, 120, 130, 130, 140])
    np.testing.assert_array_equal(dd, [0, 0, 30, 0, 13, 0])
    with pytest.raises(ValueError, match="entry 1 is not finite"):
        drawdown([1.0, np.nan])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        drawdown([])


def test_bankroll_curve_writes_png(tmp_path):
    dates = pd.date_range("2024-08-01", periods=50, freq="D").to_numpy()
    rng = np.random.default_rng(1)
    curves = {
        "kelly/4": (dates, 100 * np.cumprod(1 + rng.normal(0.002, 0.03, 50))),
        "flat": (dates, 100 + np.cumsum(rng.normal(0.1, 2.0, 50))),
        "by bet": (np.arange(50), np.cumsum(rng.normal(0, 1, 50))),  # profit from 0: absolute drawdown
    }
    out = bankroll_curve(
        {k: v for k, v in curves.items() if k != "by bet"}, tmp_path / "bank.png", title="EPL"
    )
    assert_png(out)
    assert_png(bankroll_curve({"by bet": curves["by bet"]}, tmp_path / "profit.png"))
    with pytest.raises(ValueError, match="curve 'flat': 50 dates but 3 bankroll values"):
        bankroll_curve({"flat": (dates, [1.0, 2.0, 3.0])}, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="curves is empty"):
        bankroll_curve({}, tmp_path / "none.png")


def _sim_frame() -> pd.DataFrame:
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]])
    frame = pd.DataFrame({"team": ["Arsenal", "Chelsea", "Spurs"], "expected_points": [80.0, 70.0, 60.0]})
    # Columns deliberately out of order: pos_10-style names must sort numerically.
    for j in (2, 0, 1):
        frame[f"pos_{j + 1}"] = probs[:, j]
    return frame


def test_position_matrix_reads_pos_columns_in_numeric_order():
    teams, positions, matrix = position_matrix(_sim_frame())
    assert teams == ["Arsenal", "Chelsea", "Spurs"]
    assert positions == [1, 2, 3]
    np.testing.assert_allclose(matrix, [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]])
    wide = pd.DataFrame({f"pos_{k}": [0.0] for k in (10, 2, 1)}, index=["X"])
    teams, positions, _ = position_matrix(wide)
    assert teams == ["X"] and positions == [1, 2, 10]
    with pytest.raises(ValueError, match="no position columns"):
        position_matrix(pd.DataFrame({"team": ["A"]}))


def test_position_heatmap_writes_png(tmp_path):
    assert_png(position_heatmap(_sim_frame(), tmp_path / "heat.png"))
