"""The JSON shapes are documented by JSON Schemas generated from the pydantic models, and stay current."""

from __future__ import annotations

import json
from pathlib import Path

from formguide.app.schemas import json_schemas

DOCS = Path(__file__).resolve().parents[1] / "docs" / "json-schemas"


def test_the_documented_schemas_are_the_generated_ones():
    generated = json_schemas()
    on_disk = {p.name.removesuffix(".schema.json"): json.loads(p.read_text()) for p in DOCS.glob("*.schema.json")}
    assert set(on_disk) == set(generated), "run `python -m formguide.app.schemas docs/json-schemas`"
    for name, schema in generated.items():
        assert on_disk[name] == json.loads(json.dumps(schema)), f"{name}: run `python -m formguide.app.schemas`"
    assert {"predict-event-football", "predict-event-f1", "predict", "train"} <= set(generated)
    event = generated["predict-event-football"]
    assert {"event_id", "kickoff", "probabilities", "edge", "stake", "tier"} <= set(event["properties"])
    assert {"entries", "event_id"} <= set(generated["predict-event-f1"]["properties"])
