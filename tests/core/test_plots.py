"""Report figures: the numbers behind them, what each figure shows, and that the file written is a PNG.

The drawing is checked on the unsaved :class:`~matplotlib.figure.Figure` from each ``..._figure``
function: which points, bins, curves, labels and limits it holds, against values worked out by hand or
recomputed here independently of :mod:`formguide.core.plots`.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.image import imread

from formguide.core import plots
from formguide.core.plots import (
    bankroll_curve,
    bankroll_figure,
    drawdown,
    position_heatmap,
    position_heatmap_figure,
    position_matrix,
    reliability_curves,
    reliability_diagram,
    reliability_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Five matches, classes H/D/A; outcomes A, D, H, A, H.
SMALL_PROBS = np.array(
    [
        [0.05, 0.25, 0.70],
        [0.15, 0.25, 0.60],
        [0.55, 0.25, 0.20],
        [0.65, 0.15, 0.20],
        [0.95, 0.00, 0.05],
    ]
)
SMALL_OUTCOME = np.array([2, 1, 0, 2, 0])


def legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None, "axes has no legend"
    return [t.get_text() for t in legend.get_texts()]


# ---------------------------------------------------------------- reliability: numbers


def test_reliability_curves_bin_a_small_example():
    tables = reliability_curves(SMALL_PROBS, SMALL_OUTCOME, ["H", "D", "A"], n_bins=2)
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
    by_label = reliability_curves(SMALL_PROBS, ["A", "D", "H", "A", "H"], ["H", "D", "A"], n_bins=2)
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
    with pytest.raises(ValueError, match="probs is empty"):
        reliability_figure(np.empty((0, 3)), [], ["H", "D", "A"])


# ---------------------------------------------------------------- reliability: the figure


def test_reliability_figure_shows_every_filled_bin_of_a_small_example():
    fig = reliability_figure(SMALL_PROBS, SMALL_OUTCOME, ["H", "D", "A"], n_bins=2, title="EPL 2024/25")
    assert isinstance(fig, Figure)
    top, bottom = fig.axes  # exactly two axes: curves over histogram
    assert top.get_title() == "EPL 2024/25"
    assert top.get_ylabel() == "observed frequency"
    assert bottom.get_xlabel() == "predicted probability"
    assert bottom.get_ylabel() == "forecasts"
    assert top.get_xlim() == (0.0, 1.0) and top.get_ylim() == (0.0, 1.0)
    assert bottom.get_xlim() == (0.0, 1.0)  # shared x
    assert legend_labels(top) == ["perfect calibration", "H", "D", "A"]

    diagonal = top.get_lines()[0]
    assert diagonal.get_label() == "perfect calibration"
    np.testing.assert_array_equal(diagonal.get_xdata(), [0, 1])
    np.testing.assert_array_equal(diagonal.get_ydata(), [0, 1])

    # Worked out by hand from the five matches (see test_reliability_curves_bin_a_small_example);
    # the draw's upper bin is empty and must not be drawn.
    expected = {
        "H": ([0.10, (0.55 + 0.65 + 0.95) / 3], [0.0, 2 / 3], [2, 3], [2, 3]),
        "D": ([0.18], [0.2], [5], [5, 0]),
        "A": ([0.15, 0.65], [1 / 3, 1 / 2], [3, 2], [3, 2]),
    }
    curves = top.containers
    assert [c.get_label() for c in curves] == ["H", "D", "A"]
    stairs = bottom.patches
    assert len(stairs) == 3
    for curve, step, (name, (x, y, n, hist)) in zip(curves, stairs, expected.items(), strict=True):
        points = curve.lines[0]
        np.testing.assert_allclose(points.get_xdata(), x, err_msg=name)
        np.testing.assert_allclose(points.get_ydata(), y, err_msg=name)
        # Error bars: 95 % binomial half-width around each point.
        half = 1.96 * np.sqrt(np.array(y) * (1 - np.array(y)) / np.array(n))
        segments = curve.lines[2][0].get_segments()
        assert len(segments) == len(x), name
        for seg, xi, yi, hi in zip(segments, x, y, half, strict=True):
            np.testing.assert_allclose(seg, [[xi, yi - hi], [xi, yi + hi]], err_msg=name)
        # Histogram underneath: every bin, empty ones included, in the curve's colour.
        data = step.get_data()
        np.testing.assert_array_equal(data.values, hist, err_msg=name)
        np.testing.assert_array_equal(data.edges, [0.0, 0.5, 1.0], err_msg=name)
        assert to_rgba(step.get_edgecolor()) == to_rgba(points.get_color()), name
    assert len({to_rgba(c.lines[0].get_color()) for c in curves}) == 3  # one colour per class


def test_reliability_figure_bins_match_an_independent_count():
    rng = np.random.default_rng(0)
    n, n_bins = 600, 8
    probs = rng.dirichlet([3, 2, 2], size=n)
    outcome = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    names = ["home", "draw", "away"]
    top, bottom = reliability_figure(probs, outcome, names, n_bins=n_bins).axes
    edges = np.linspace(0, 1, n_bins + 1)
    assert [c.get_label() for c in top.containers] == names
    for j, (curve, step) in enumerate(zip(top.containers, bottom.patches, strict=True)):
        counts, _ = np.histogram(probs[:, j], bins=edges)
        data = step.get_data()
        np.testing.assert_allclose(data.edges, edges)
        np.testing.assert_array_equal(data.values, counts)
        assert data.values.sum() == n
        filled = np.flatnonzero(counts)
        points = curve.lines[0]
        x, y = np.asarray(points.get_xdata()), np.asarray(points.get_ydata())
        assert len(x) == len(filled), f"{names[j]}: {len(x)} points for {len(filled)} non-empty bins"
        for xi, yi, b in zip(x, y, filled, strict=True):
            in_bin = (probs[:, j] >= edges[b]) & (probs[:, j] < edges[b + 1])
            assert edges[b] <= xi <= edges[b + 1]
            assert xi == pytest.approx(probs[in_bin, j].mean())
            assert yi == pytest.approx(np.mean(outcome[in_bin] == j))


# ---------------------------------------------------------------- bankroll


def test_drawdown_values():
    peak, dd = drawdown([100, 120, 90, 130, 117, 140])
    np.testing.assert_array_equal(peak, [100, 120, 120, 130, 130, 140])
    np.testing.assert_array_equal(dd, [0, 0, 30, 0, 13, 0])
    with pytest.raises(ValueError, match="entry 1 is not finite"):
        drawdown([1.0, np.nan])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        drawdown([])


def test_bankroll_figure_draws_one_labelled_curve_per_strategy():
    curves = {
        "kelly/4": (np.arange(6), [100, 120, 90, 130, 117, 140]),  # two drawdowns, worst 30 below 120
        "flat": (np.arange(4), [100, 101, 102, 103]),  # never below its peak
        "by bet": (np.arange(3), [0, -2, 1]),  # profit from 0: absolute drawdown
    }
    fig = bankroll_figure(curves, title="EPL")
    (ax,) = fig.axes
    assert ax.get_title() == "EPL"
    assert ax.get_ylabel() == "bankroll"
    assert legend_labels(ax) == [
        "kelly/4 (final 140, max drawdown 25.0%)",
        "flat (final 103, max drawdown 0.0%)",
        "by bet (final 1, max drawdown 2)",
    ]
    lines = ax.get_lines()
    assert len(lines) == 3
    for line, (x, y) in zip(lines, curves.values(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), x)
        np.testing.assert_array_equal(line.get_ydata(), y)
    # One shaded band per strategy, one polygon per drawdown episode, spanning bankroll to peak.
    bands = ax.collections
    assert len(bands) == 3
    assert [len(b.get_paths()) for b in bands] == [2, 0, 1]
    for (bankroll_at, peak_at), path in zip([((2, 90), (2, 120)), ((4, 117), (4, 130))],
                                            bands[0].get_paths(), strict=True):
        vertices = {tuple(v) for v in path.vertices}
        assert bankroll_at in vertices and peak_at in vertices
    vertices = {tuple(v) for v in bands[2].get_paths()[0].vertices}
    assert (1, -2) in vertices and (1, 0) in vertices
    for band, line in zip([bands[0], bands[2]], [lines[0], lines[2]], strict=True):
        assert to_rgba(band.get_facecolor()[0], alpha=1) == to_rgba(line.get_color())  # shaded in its curve's colour


def test_bankroll_figure_on_dates():
    dates = pd.date_range("2024-08-01", periods=50, freq="D").to_numpy()
    rng = np.random.default_rng(1)
    kelly = 100 * np.cumprod(1 + rng.normal(0.002, 0.03, 50))
    (ax,) = bankroll_figure({"kelly/4": (dates, kelly)}).axes
    assert ax.get_title() == "Bankroll"
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), dates)
    np.testing.assert_allclose(line.get_ydata(), kelly)
    lo, hi = ax.get_xlim()
    assert lo <= mdates.date2num(dates[0]) and mdates.date2num(dates[-1]) <= hi
    peak = np.maximum.accumulate(kelly)
    assert legend_labels(ax) == [f"kelly/4 (final {kelly[-1]:.4g}, max drawdown {np.max(1 - kelly / peak):.1%})"]


def test_bankroll_figure_rejects_bad_curves():
    dates = pd.date_range("2024-08-01", periods=50, freq="D").to_numpy()
    with pytest.raises(ValueError, match="curve 'flat': 50 dates but 3 bankroll values"):
        bankroll_figure({"flat": (dates, [1.0, 2.0, 3.0])})
    with pytest.raises(ValueError, match="curve 'x': bankroll entry 1 is not finite"):
        bankroll_figure({"x": ([0, 1], [1.0, np.inf])})
    with pytest.raises(ValueError, match="curves is empty"):
        bankroll_figure({})


# ---------------------------------------------------------------- season simulation


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


def test_position_heatmap_figure_shows_each_cell():
    matrix = np.array([[0.7, 0.296, 0.004], [0.2, 0.5, 0.3], [0.1, 0.204, 0.696]])
    frame = pd.DataFrame({"team": ["Arsenal", "Chelsea", "Spurs"]})
    for j in (2, 0, 1):  # out of order on purpose
        frame[f"pos_{j + 1}"] = matrix[:, j]
    fig = position_heatmap_figure(frame, title="EPL 2025/26")
    ax, colorbar = fig.axes
    assert ax.get_title() == "EPL 2025/26"
    assert ax.get_xlabel() == "final position"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Arsenal", "Chelsea", "Spurs"]
    assert colorbar.get_ylabel() == "probability"
    (image,) = ax.images
    np.testing.assert_allclose(image.get_array(), matrix)  # rows in frame order, columns by position
    assert image.get_clim() == (0.0, 0.7)
    # A percent label in every cell of at least 0.5 % (so not the 0.4 % one), white on dark cells.
    labels = {tuple(t.get_position()): (t.get_text(), t.get_color()) for t in ax.texts}
    assert labels == {
        (0, 0): ("70", "white"), (1, 0): ("30", "black"),
        (0, 1): ("20", "black"), (1, 1): ("50", "white"), (2, 1): ("30", "black"),
        (0, 2): ("10", "black"), (1, 2): ("20", "black"), (2, 2): ("70", "white"),
    }


def test_position_heatmap_figure_labels_teams_from_the_index():
    frame = pd.DataFrame({"pos_1": [0.6, 0.4], "pos_2": [0.4, 0.6]}, index=["Leeds", "Burnley"])
    ax, _ = position_heatmap_figure(frame).axes
    assert ax.get_title() == "Final position probabilities"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Leeds", "Burnley"]
    assert len(ax.texts) == 4


# ---------------------------------------------------------------- the files written


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize(
    "draw, tall",
    [
        (lambda path: reliability_diagram(SMALL_PROBS, SMALL_OUTCOME, ["H", "D", "A"], path, n_bins=2,
                                          title="custom"), True),
        (lambda path: bankroll_curve({"flat": (np.arange(4), [1.0, 2.0, 1.5, 3.0])}, path, title="custom"), False),
        (lambda path: position_heatmap(_sim_frame(), path, title="custom"), False),
    ],
    ids=["reliability_diagram", "bankroll_curve", "position_heatmap"],
)
def test_saving_functions_write_their_figure_as_png(tmp_path, monkeypatch, draw, tall):
    saved: list[Figure] = []
    real_save = plots._save

    def spy(fig, path):
        saved.append(fig)
        return real_save(fig, path)

    monkeypatch.setattr(plots, "_save", spy)
    target = tmp_path / "sub" / "figure.png"
    out = draw(target)
    assert out == target
    (fig,) = saved
    assert fig.axes[0].get_title() == "custom"  # the arguments reach the figure that is saved
    width, height = _png_size(out.read_bytes())
    assert (height > width) == tall  # the reliability diagram is portrait, the others landscape
    # The file is that figure: its pixel size is the figure's tight bounding box (plus the 0.1 in pad)
    # at the module's dpi, and it is drawn on (not a blank canvas).
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    assert width == pytest.approx((box.width + 0.2) * plots._DPI, abs=2)
    assert height == pytest.approx((box.height + 0.2) * plots._DPI, abs=2)
    pixels = imread(out)
    assert pixels.shape[:2] == (height, width)
    assert (pixels[..., :3] < 0.99).any(axis=2).mean() > 0.02
