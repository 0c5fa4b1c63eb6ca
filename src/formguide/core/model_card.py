"""Model cards: a Markdown page per registered model saying what it was trained on and how well it did.

Pure rendering from a :class:`~formguide.core.store.models.ModelRecord`; nothing is recomputed, so the
card shows exactly the numbers the registry holds. The evaluation is read from
``record.metrics["evaluation"]``::

    {"window": {"from": iso, "to": iso, "n": int},
     "model": {"n", "rps", "brier", "log_loss", "accuracy", "draw_accuracy", "ece"},
     "market": {...} or None,
     "baselines": {"base_rates": {...}, "elo": {...}}}

and the training data from ``record.metrics["data"]`` (``n_events``/``n``, ``date_from``, ``date_to``,
``competitions``, ``seasons``), falling back to ``record.config`` and the record's training columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from formguide.core.store.models import ModelRecord

__all__ = ["EVALUATION_COLUMNS", "render_model_card"]

EVALUATION_COLUMNS = ("n", "rps", "brier", "log_loss", "accuracy", "draw_accuracy", "ece")
_LOWER_IS_BETTER = frozenset({"rps", "brier", "log_loss", "ece"})
_MAX_INLINE_LIST = 5
_MAX_FLAT_MAPPING = 10
_TOP_FEATURES = 15
_DASH = "–"


def _cell(value: Any) -> str:
    """One table cell: floats to 4 decimals, missing/NaN as a dash, pipes escaped."""
    if value is None:
        return _DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else _DASH
    return str(value).replace("|", "\\|").replace("\n", " ")


def _scalar(value: Any) -> str:
    """A parameter value: floats to 4 significant digits (parameters span many magnitudes)."""
    if isinstance(value, float) and not isinstance(value, bool):
        return f"{value:.4g}" if math.isfinite(value) else "NaN"
    return _cell(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _numeric(values: list) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
            and math.isfinite(float(v))]


def _summarise_list(values: list) -> str:
    if len(values) <= _MAX_INLINE_LIST and all(_is_scalar(v) for v in values):
        return "[" + ", ".join(_scalar(v) for v in values) + "]"
    nums = _numeric(values)
    text = f"array of {len(values)}"
    if nums and len(nums) == len(values):
        text += f" (min {min(nums):.4g}, mean {sum(nums) / len(nums):.4g}, max {max(nums):.4g})"
    return text


def _summary_rows(mapping: Mapping, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(key, value) rows for scalars; long lists and big mappings are described by their size."""
    rows: list[tuple[str, str]] = []
    for key in sorted(mapping, key=str):
        value = mapping[key]
        label = f"{prefix}{key}"
        if _is_scalar(value):
            rows.append((label, _scalar(value)))
        elif isinstance(value, list | tuple):
            rows.append((label, _summarise_list(list(value))))
        elif isinstance(value, Mapping):
            if depth < 1 and len(value) <= _MAX_FLAT_MAPPING:
                rows.extend(_summary_rows(value, prefix=f"{label}.", depth=depth + 1))
            else:
                nums = _numeric(list(value.values()))
                text = f"{len(value)} entries"
                if nums and len(nums) == len(value):
                    text += f" (min {min(nums):.4g}, max {max(nums):.4g})"
                rows.append((label, text))
        else:
            rows.append((label, type(value).__name__))
    return rows


def _key_value_table(rows: list[tuple[str, str]], header: tuple[str, str]) -> list[str]:
    out = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    out += [f"| `{_cell(k)}` | {_cell(v)} |" for k, v in rows]
    return out


def _first(*candidates: Any) -> Any:
    for c in candidates:
        if c is not None and c != [] and c != "":
            return c
    return None


def _training_data(record: ModelRecord) -> list[str]:
    metrics = record.metrics or {}
    config = record.config or {}
    data = metrics.get("data") if isinstance(metrics.get("data"), Mapping) else {}
    n = _first(data.get("n_events"), data.get("n"), config.get("n_events"))
    date_from = _first(data.get("date_from"), config.get("date_from"))
    date_to = _first(data.get("date_to"), config.get("date_to"))
    competitions = _first(data.get("competitions"), record.training_competitions, config.get("competitions"))
    seasons = _first(data.get("seasons"), record.training_seasons, config.get("seasons"))

    def joined(values: Any) -> str:
        if values is None:
            return _DASH
        if isinstance(values, str):
            return values
        return ", ".join(str(v) for v in values)

    return [
        f"- Events: {_cell(n)}",
        f"- From: {_cell(date_from)}",
        f"- To: {_cell(date_to)}",
        f"- Competitions: {joined(competitions)}",
        f"- Seasons: {joined(seasons)}",
    ]


def _evaluation(evaluation: Mapping, columns: tuple[str, ...], lower: frozenset[str], headline: str) -> list[str]:
    rows: list[tuple[str, Mapping]] = []
    if isinstance(evaluation.get("model"), Mapping):
        rows.append(("model", evaluation["model"]))
    if isinstance(evaluation.get("market"), Mapping):
        rows.append(("market", evaluation["market"]))
    baselines = evaluation.get("baselines") or {}
    for name, scores in baselines.items():
        if isinstance(scores, Mapping):
            rows.append((f"baseline: {name}", scores))
    out: list[str] = []
    window = evaluation.get("window")
    if isinstance(window, Mapping):
        out += [f"Out-of-sample window: {_cell(window.get('from'))} to {_cell(window.get('to'))}, "
                f"{_cell(window.get('n'))} events.", ""]
    if not rows:
        return out + ["No evaluation scores recorded."]
    out.append("| | " + " | ".join(columns) + " |")
    out.append("|---|" + "---:|" * len(columns))
    for label, scores in rows:
        out.append(f"| {_cell(label)} | " + " | ".join(_cell(scores.get(c)) for c in columns) + " |")
    lower_cols = [c for c in columns if c in lower]
    higher_cols = [c for c in columns if c not in lower and c not in ("n", "races", "entries", "events")]
    if lower_cols:
        out += ["", f"Lower is better for {_words(lower_cols)}" + (f"; higher for {_words(higher_cols)}."
                                                                  if higher_cols else ".")]
    verdict = _versus(rows, headline)
    if verdict:
        out += ["", verdict]
    return out


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _versus(rows: list[tuple[str, Mapping]], metric: str) -> str:
    """One sentence comparing the model's headline metric with the best other row, so the card cannot oversell."""
    scores = {label: s.get(metric) for label, s in rows}
    mine = scores.pop("model", None)
    others = {k: v for k, v in scores.items() if isinstance(v, int | float) and math.isfinite(v)}
    if not isinstance(mine, int | float) or not math.isfinite(mine) or not others:
        return ""
    best_label, best = min(others.items(), key=lambda kv: kv[1])
    if mine < best:
        return f"{metric}: the model ({mine:.4f}) beats every reference; the best, {best_label}, scores {best:.4f}."
    if mine == best:
        return f"{metric}: the model ties {best_label} at {mine:.4f}."
    return f"{metric}: {best_label} ({best:.4f}) beats the model ({mine:.4f}) by {mine - best:.4f}."


def render_model_card(
    record: ModelRecord,
    *,
    sport: Any = None,
    reliability_png: str | None = None,
    feature_importance: dict[str, float] | None = None,
) -> str:
    """The Markdown model card of ``record``: identity, training data, parameters, evaluation.

    ``sport`` (the record's plug-in) gives the metric columns, which are lower-is-better, the headline metric
    and its notes; without it the match-sport columns are used.
    """
    columns = tuple(getattr(sport, "metric_columns", EVALUATION_COLUMNS))
    lower = frozenset(getattr(sport, "lower_is_better", _LOWER_IS_BETTER))
    headline = getattr(sport, "headline_metric", "rps")
    lines = [f"# {record.name} v{record.version}", ""]
    lines += [
        f"- Sport: {_cell(record.sport)}",
        f"- Type: {_cell(record.model_type)}",
        f"- Version: {_cell(record.version)}",
        f"- Status: {_cell(record.status)}",
    ]
    if record.id is not None:
        lines.append(f"- Registry id: {record.id}")
    if record.created_at is not None:
        lines.append(f"- Created: {record.created_at.isoformat(sep=' ', timespec='seconds')} UTC")
    if record.promoted_at is not None:
        lines.append(f"- Promoted: {record.promoted_at.isoformat(sep=' ', timespec='seconds')} UTC")
    if record.feature_set_version:
        lines.append(f"- Feature set: `{record.feature_set_version}`")
    if record.data_fingerprint:
        lines.append(f"- Data fingerprint: `{record.data_fingerprint}`")
    if record.artifact_sha256:
        lines.append(f"- sha256: `{record.artifact_sha256}`")

    lines += ["", "## Training data", ""] + _training_data(record)

    lines += ["", "## Parameters", ""]
    params = _summary_rows(record.parameters or {})
    lines += _key_value_table(params, ("parameter", "value")) if params else ["No parameters recorded."]

    evaluation = (record.metrics or {}).get("evaluation")
    lines += ["", "## Evaluation", ""]
    lines += (_evaluation(evaluation, columns, lower, headline) if isinstance(evaluation, Mapping)
              else ["No evaluation recorded."])

    if reliability_png:
        lines += ["", "## Calibration", "", f"![Reliability diagram]({reliability_png})"]

    if feature_importance:
        ranked = sorted(feature_importance.items(), key=lambda kv: (-float(kv[1]), str(kv[0])))
        total = sum(abs(float(v)) for _, v in feature_importance.items())
        lines += ["", f"## Feature importance (top {min(_TOP_FEATURES, len(ranked))} of {len(ranked)})", "",
                  "| rank | feature | importance | share |", "|---:|---|---:|---:|"]
        for rank, (feature, value) in enumerate(ranked[:_TOP_FEATURES], start=1):
            share = f"{abs(float(value)) / total:.1%}" if total > 0 else _DASH
            lines.append(f"| {rank} | `{_cell(str(feature))}` | {float(value):.4g} | {share} |")

    if record.config:
        config_rows = _summary_rows(record.config)
        if config_rows:
            lines += ["", "## Configuration", ""] + _key_value_table(config_rows, ("setting", "value"))
    notes = sport.card_notes(record) if sport is not None else ""
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"
