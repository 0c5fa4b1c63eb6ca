from __future__ import annotations

import base64
import json
import math
import os
import threading
import uuid
from datetime import date, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text, update

from formguide.core.errors import ArtifactIntegrityError, FormguideError, ModelNotFoundError
from formguide.core.model_transfer import export_models, import_models
from formguide.core.registry import (
    canonical_json,
    champion,
    find_by_fingerprint,
    finish_run,
    get_model,
    list_models,
    list_runs,
    parameters_sha256,
    promote,
    register_model,
    start_run,
    verified_artifact,
    verified_parameters,
)
from formguide.core.store.db import open_store, session_scope
from formguide.core.store.models import ModelRecord, TrainingRun

PG_URL = os.environ.get("FORMGUIDE_TEST_PG_URL")


def _register(session, name="football-dc", *, parameters=None, artifact=None, status="candidate",
              fingerprint="f" * 64, config=None, sport="football"):
    return register_model(
        session,
        sport=sport,
        name=name,
        model_type="dixon_coles",
        parameters=parameters if parameters is not None else {"rho": -0.1, "attack": [0.3, -0.2, 0.05]},
        metrics={"evaluation": {"model": {"n": 380, "rps": 0.2012}}, "ece": float("nan")},
        config=config if config is not None else {"xi": 0.0019, "competitions": ["E0"]},
        feature_set_version="fs-1",
        data_fingerprint=fingerprint,
        training_competitions=["E0"],
        training_seasons=["2324", "2425"],
        artifact=artifact,
        status=status,
    )


def _count(engine, where: str = "") -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM models {where}")).scalar_one()


@pytest.fixture
def fresh_engine(db_url, tmp_path):
    """A second, empty store on the same backend as ``engine``: the target of an import."""
    if db_url.startswith("sqlite"):
        eng = open_store(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
        yield eng
        eng.dispose()
        return
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    eng = open_store(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ------------------------------------------------------------------ canonical JSON and hashes


def test_canonical_json_sorts_keys_and_drops_non_finite_numbers():
    obj = {"b": np.float64("nan"), "a": [np.int64(3), np.inf, -np.inf], "c": np.array([[1.5, 2.0]]),
           "d": (np.bool_(True), date(2024, 8, 16)), 7: "int key"}
    assert canonical_json(obj) == b'{"7":"int key","a":[3,null,null],"b":null,"c":[[1.5,2.0]],"d":[true,"2024-08-16"]}'


def test_canonical_json_rejects_objects_it_cannot_store():
    with pytest.raises(TypeError, match="object"):
        canonical_json({"x": object()})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_hash_survives_a_json_round_trip_and_key_order(params):
    """What the store hands back (JSON-loaded, any key order) must hash like what was registered."""
    stored = json.loads(canonical_json(params))
    reordered = dict(reversed(list(stored.items())))
    assert parameters_sha256(reordered) == parameters_sha256(params)
    assert canonical_json(json.loads(canonical_json(stored))) == canonical_json(stored)


def test_hash_covers_the_artifact_and_cannot_be_forged_across_the_boundary():
    params = {"w": [1.0, 2.0]}
    assert parameters_sha256(params) != parameters_sha256(params, b"")
    assert parameters_sha256(params, b"abc") != parameters_sha256(params, b"abd")
    assert parameters_sha256({"a": "x"}, b"") != parameters_sha256({"a": "x\n"})


# ------------------------------------------------------------------ register, resolve, promote


def test_versions_increment_per_name(engine):
    with session_scope(engine) as s:
        a1 = _register(s)
        a2 = _register(s)
        b1 = _register(s, name="football-elo")
        a3 = _register(s)
    assert [a1.version, a2.version, a3.version, b1.version] == [1, 2, 3, 1]
    with session_scope(engine) as s:
        rec = get_model(s, a2.id)
        assert rec.artifact_sha256 == parameters_sha256({"rho": -0.1, "attack": [0.3, -0.2, 0.05]})
        assert rec.metrics["ece"] is None  # NaN stored as null, on PostgreSQL too
        assert rec.training_seasons == ["2324", "2425"]
        assert [m.version for m in list_models(s, name="football-dc")] == [3, 2, 1]
        assert [m.name for m in list_models(s, sport="football")][0] == "football-dc"
        assert list_models(s, sport="f1") == []


def test_get_model_resolves_every_reference_form(engine):
    with session_scope(engine) as s:
        v1 = _register(s)
        v2 = _register(s)
        _register(s)
        promote(s, v2.id)
    with session_scope(engine) as s:
        assert get_model(s, v1.id).version == 1
        assert get_model(s, str(v1.id)).version == 1
        assert get_model(s, "football-dc").version == 3
        assert get_model(s, "football-dc:1").id == v1.id
        assert get_model(s, "football-dc:v2").id == v2.id
        assert get_model(s, "football-dc@champion").id == v2.id
        assert get_model(s, "football-dc@latest").version == 3


GET_MODEL_ERRORS = [
    ("nope", "no model named 'nope'; known model names: football-dc, football-elo"),
    ("football-dc:9", "has no version 9; versions: 1"),
    ("football-elo@champion", "has no champion"),
    ("nope@champion", "known model names"),
    ("football-dc:x", "bad version"),
    ("football-dc@best", "unknown model tag"),
    (999_999, "no model with id 999999"),
]


def test_get_model_errors_say_what_exists(engine):
    with session_scope(engine) as s:
        _register(s)
        _register(s, name="football-elo")
    with session_scope(engine) as s:
        for ref, message in GET_MODEL_ERRORS:
            with pytest.raises(ModelNotFoundError, match=message):
                get_model(s, ref)


def test_names_that_would_break_references_are_refused(engine):
    for name in ["", "a:b", "a@b", "123"]:
        with session_scope(engine) as s, pytest.raises(FormguideError, match="model name"):
            _register(s, name=name)
    assert _count(engine) == 0


def test_promotion_retires_the_previous_champion(engine):
    with session_scope(engine) as s:
        v1, v2, v3 = _register(s), _register(s), _register(s)
        other = _register(s, name="football-elo")
        promote(s, other.id)
        assert champion(s, "football-dc") is None
        promote(s, v1.id, reason="first")
    with session_scope(engine) as s:
        assert champion(s, "football-dc").id == v1.id
        promote(s, v3.id, reason="better rps")
    with session_scope(engine) as s:
        status = {m.version: m.status for m in list_models(s, name="football-dc")}
        assert status == {1: "retired", 2: "candidate", 3: "champion"}
        assert get_model(s, v3.id).promoted_at is not None
        assert champion(s, "football-elo").id == other.id  # other names untouched
        promote(s, v2.id)
        promote(s, v2.id)  # idempotent
        runs = [r for r in list_runs(s, model_name="football-dc") if r.run_type == "promotion"]
        assert any("better rps" in line for r in runs for line in r.logs)
    assert _count(engine, "WHERE name = 'football-dc' AND status = 'champion'") == 1
    with session_scope(engine) as s:
        assert champion(s, "football-dc").id == v2.id


def test_registering_as_champion_keeps_one_champion(engine):
    with session_scope(engine) as s:
        first = _register(s, status="champion")
        second = _register(s, status="champion")
        assert first.status == "retired"
        assert second.status == "champion"
    assert _count(engine, "WHERE status = 'champion'") == 1


def test_unknown_status_is_refused(engine):
    with session_scope(engine) as s, pytest.raises(FormguideError, match="unknown model status 'live'"):
        _register(s, status="live")


@pytest.mark.postgres
def test_concurrent_promotions_leave_one_champion(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks only matter with concurrent writers (PostgreSQL)")
    with session_scope(engine) as s:
        ids = [_register(s).id for _ in range(2)]
    errors: list[BaseException] = []
    first_locked = threading.Event()

    def second_promotion() -> None:
        try:
            first_locked.wait(5)
            with session_scope(engine) as s2:
                promote(s2, ids[1])  # blocks on the row lock until the first promotion commits
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    worker = threading.Thread(target=second_promotion)
    worker.start()
    with session_scope(engine) as s1:
        promote(s1, ids[0])
        first_locked.set()
        worker.join(0.5)
        assert worker.is_alive()  # it is waiting for our lock
    worker.join(10)
    assert not errors
    assert _count(engine, "WHERE status = 'champion'") == 1
    with session_scope(engine) as s:
        assert champion(s, "football-dc").id == ids[1]
        assert get_model(s, ids[0]).status == "retired"


# ------------------------------------------------------------------ integrity


def test_tampered_parameters_are_refused(engine):
    with session_scope(engine) as s:
        rec = _register(s)
        assert verified_parameters(rec) == {"rho": -0.1, "attack": [0.3, -0.2, 0.05]}
    with engine.begin() as conn:
        conn.execute(update(ModelRecord).where(ModelRecord.id == rec.id)
                     .values(parameters={"rho": -0.5, "attack": [0.3, -0.2, 0.05]}))
    with session_scope(engine) as s:
        loaded = get_model(s, rec.id)
        with pytest.raises(ArtifactIntegrityError) as info:
            verified_parameters(loaded)
        msg = str(info.value)
        assert "football-dc:1" in msg and rec.artifact_sha256 in msg
        assert parameters_sha256({"rho": -0.5, "attack": [0.3, -0.2, 0.05]}) in msg
        with pytest.raises(ArtifactIntegrityError):
            promote(s, rec.id)


def test_tampered_artifact_bytes_are_refused(engine):
    blob = bytes(range(256)) * 4
    with session_scope(engine) as s:
        rec = _register(s, artifact=blob)
    with session_scope(engine) as s:
        assert verified_artifact(get_model(s, rec.id)) == blob
    with engine.begin() as conn:
        conn.execute(update(ModelRecord).where(ModelRecord.id == rec.id).values(artifact=blob[:-1] + b"\x00"))
    with session_scope(engine) as s, pytest.raises(ArtifactIntegrityError, match="football-dc:1"):
        verified_parameters(get_model(s, rec.id))


def test_find_by_fingerprint_needs_same_data_and_same_config(engine):
    config = {"xi": 0.0019, "competitions": ["E0"]}
    with session_scope(engine) as s:
        _register(s, config=config)
        newest = _register(s, config=config)
        _register(s, config={"xi": 0.0025, "competitions": ["E0"]})
    with session_scope(engine) as s:
        same = {"competitions": ("E0",), "xi": np.float64(0.0019)}  # other key order, numpy, tuple
        assert find_by_fingerprint(s, "football-dc", "f" * 64, same).id == newest.id
        assert find_by_fingerprint(s, "football-dc", "f" * 64, {"xi": 0.002, "competitions": ["E0"]}) is None
        assert find_by_fingerprint(s, "football-dc", "e" * 64, config) is None
        assert find_by_fingerprint(s, "football-elo", "f" * 64, config) is None


# ------------------------------------------------------------------ training runs


def test_run_is_recorded_when_the_training_transaction_rolls_back(engine):
    run_id = None
    with pytest.raises(RuntimeError, match="diverged"), session_scope(engine) as s:
        run_id = start_run(engine, sport="football", run_type="train", model_name="football-dc",
                           config={"xi": np.float64(0.0019)})
        _register(s)
        raise RuntimeError("optimiser diverged")
    finish_run(engine, run_id, status="failed", error_message="optimiser diverged", logs=["step 1", "step 2"])
    assert _count(engine) == 0  # the model went with the rollback
    with session_scope(engine) as s:
        (run,) = list_runs(s, model_name="football-dc")
        assert run.id == run_id
        assert (run.status, run.error_message, run.logs) == ("failed", "optimiser diverged", ["step 1", "step 2"])
        assert run.config == {"xi": 0.0019}
        assert run.completed_at is not None and run.model_id is None


def test_finish_run_maps_metrics_and_dates(engine):
    run_id = start_run(engine, sport="football", run_type="train", model_name="football-dc", config={})
    with session_scope(engine) as s:
        model_id = _register(s).id
    finish_run(engine, run_id, status="succeeded", model_id=model_id, event_count=np.int64(760),
               date_from=np.datetime64("2023-08-11T19:00"), date_to="2025-05-25T16:00:00+01:00",
               metrics={"rps": np.float64(0.2011), "brier": 0.59, "log_loss": 0.99, "accuracy": 0.51,
                        "draw_accuracy": float("nan"), "ece": 0.012, "n": 760},
               data_fingerprint="a" * 64)
    with session_scope(engine) as s:
        run = s.get(TrainingRun, run_id)
        assert (run.status, run.model_id, run.event_count) == ("succeeded", model_id, 760)
        assert (run.rps, run.brier, run.log_loss, run.accuracy, run.ece) == (0.2011, 0.59, 0.99, 0.51, 0.012)
        assert run.draw_accuracy is None
        assert run.date_from == datetime(2023, 8, 11, 19, 0)
        assert run.date_to == datetime(2025, 5, 25, 15, 0)  # stored as naive UTC
        assert run.data_fingerprint == "a" * 64
    with pytest.raises(FormguideError, match="no training run with id 424242"):
        finish_run(engine, 424242, status="failed")


def test_list_runs_is_newest_first_and_limited(engine):
    ids = [start_run(engine, sport="football", run_type="train", model_name=name, config={})
           for name in ["a", "b", "a", "a"]]
    with session_scope(engine) as s:
        assert [r.id for r in list_runs(s, model_name="a")] == [ids[3], ids[2], ids[0]]
        assert [r.id for r in list_runs(s, limit=2)] == [ids[3], ids[2]]


# ------------------------------------------------------------------ export / import


def _populate(engine):
    with session_scope(engine) as s:
        v1 = _register(s, artifact=b"\x00\x01booster-bytes\xff")
        _register(s, parameters={"rho": np.float64(-0.0721), "home": 0.27, "teams": ["Arsenal", "Spurs"]})
        promote(s, v1.id, reason="baseline")
        _register(s, name="football-elo", parameters={"k": 20, "ratings": {"Arsenal": 1612.5}})
    run_id = start_run(engine, sport="football", run_type="train", model_name="football-dc", config={"xi": 0.002})
    finish_run(engine, run_id, status="succeeded", model_id=v1.id, metrics={"rps": 0.2}, event_count=380,
               date_from=datetime(2024, 8, 16), date_to=datetime(2025, 5, 25))
    return v1


def _snapshot(engine) -> dict:
    with session_scope(engine) as s:
        return {(m.name, m.version): (m.artifact_sha256, m.status, verified_artifact(m), verified_parameters(m))
                for m in list_models(s)}


def test_export_import_round_trips_into_a_fresh_store(engine, fresh_engine, tmp_path):
    _populate(engine)
    path = tmp_path / "out" / "models.json"
    with session_scope(engine) as s:
        assert export_models(s, path) == 3
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"]) == ("formguide-models", 1)

    with session_scope(fresh_engine) as s:
        report = import_models(s, path)
        assert len(report) == 3 and report.skipped == []
    assert _snapshot(fresh_engine) == _snapshot(engine)
    with session_scope(fresh_engine) as s:
        assert champion(s, "football-dc").version == 1
        runs = list_runs(s, model_name="football-dc")
        train = [r for r in runs if r.run_type == "train"]
        assert len(train) == 1 and train[0].rps == 0.2 and train[0].event_count == 380
        assert train[0].model_id == get_model(s, "football-dc:1").id
        assert train[0].date_to == datetime(2025, 5, 25)
        assert any(r.run_type == "promotion" for r in runs)

    with session_scope(fresh_engine) as s:  # idempotent
        again = import_models(s, path)
        assert list(again) == [] and len(again.skipped) == 3
        assert all("skipped" in m for m in again.messages)
    assert _count(fresh_engine) == 3


def test_export_selected_refs_only(engine, tmp_path):
    _populate(engine)
    path = tmp_path / "one.json"
    with session_scope(engine) as s:
        assert export_models(s, path, refs=["football-dc@champion", "football-dc:1"]) == 1
    (entry,) = json.loads(path.read_text())["models"]
    assert (entry["name"], entry["version"], entry["status"]) == ("football-dc", 1, "champion")
    assert base64.b64decode(entry["artifact"]) == b"\x00\x01booster-bytes\xff"


@pytest.mark.parametrize("tamper", ["parameters", "artifact"])
def test_tampered_export_imports_nothing(engine, fresh_engine, tmp_path, tamper):
    _populate(engine)
    path = tmp_path / "models.json"
    with session_scope(engine) as s:
        export_models(s, path)
    doc = json.loads(path.read_text())
    victim = next(m for m in doc["models"] if m["name"] == "football-dc" and m["version"] == 1)
    if tamper == "parameters":
        victim["parameters"]["rho"] = 0.5
    else:
        raw = bytearray(base64.b64decode(victim["artifact"]))
        raw[0] ^= 1
        victim["artifact"] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(doc))
    with pytest.raises(ArtifactIntegrityError, match=r"models\.json, model \d+ \(football-dc:1\)"), \
            session_scope(fresh_engine) as s:
        import_models(s, path)
    assert _count(fresh_engine) == 0
    with fresh_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TrainingRun)).scalar_one() == 0


def test_same_version_with_another_hash_is_a_clear_error(engine, fresh_engine, tmp_path):
    _populate(engine)
    path = tmp_path / "models.json"
    with session_scope(engine) as s:
        export_models(s, path)
    with session_scope(fresh_engine) as s:
        _register(s, name="football-elo", parameters={"k": 32})
    with pytest.raises(FormguideError, match="football-elo:1 already exists here .* different model"), \
            session_scope(fresh_engine) as s:
        import_models(s, path)
    assert _count(fresh_engine) == 1


def test_imported_champion_is_retired_when_the_name_already_has_one(engine, fresh_engine, tmp_path):
    _populate(engine)
    path = tmp_path / "models.json"
    with session_scope(engine) as s:
        export_models(s, path, refs=["football-dc:1"])
    with session_scope(fresh_engine) as s:  # a local history of the name whose versions do not clash
        s.add(ModelRecord(sport="football", name="football-dc", version=7, model_type="dixon_coles",
                          status="candidate", parameters={}, artifact_sha256=parameters_sha256({})))
    with session_scope(fresh_engine) as s:
        promote(s, get_model(s, "football-dc:7").id)
    with session_scope(fresh_engine) as s:
        report = import_models(s, path)
        (imported,) = report
        assert (imported.version, imported.status) == (1, "retired")
        assert "as retired" in report.messages[0]
        assert champion(s, "football-dc").version == 7
    assert _count(fresh_engine, "WHERE status = 'champion'") == 1


BAD_EXPORTS = [
    ("not json", "invalid JSON"),
    (json.dumps({"format": "something-else", "version": 1, "models": []}), "not a formguide model export"),
    (json.dumps({"format": "formguide-models", "version": 2, "models": []}), "version 2 is not supported"),
    (json.dumps({"format": "formguide-models", "version": 1, "models": [{"name": "x"}]}),
     "model 0: missing field 'sport'"),
]


def test_bad_export_files_are_clear_errors(engine, tmp_path):
    path = tmp_path / "bad.json"
    for content, message in BAD_EXPORTS:
        path.write_text(content)
        with pytest.raises(FormguideError, match=message), session_scope(engine) as s:
            import_models(s, path)
    with pytest.raises(FormguideError, match="no such model export file"), session_scope(engine) as s:
        import_models(s, tmp_path / "missing.json")


def test_export_refuses_a_tampered_model(engine, tmp_path):
    v1 = _populate(engine)
    with engine.begin() as conn:
        conn.execute(update(ModelRecord).where(ModelRecord.id == v1.id).values(parameters={"rho": 0.0}))
    with pytest.raises(ArtifactIntegrityError), session_scope(engine) as s:
        export_models(s, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_nan_parameters_hash_like_their_stored_form(engine):
    with session_scope(engine) as s:
        rec = _register(s, parameters={"w": np.array([1.0, np.nan]), "b": math.inf})
    with session_scope(engine) as s:
        assert verified_parameters(get_model(s, rec.id)) == {"w": [1.0, None], "b": None}
