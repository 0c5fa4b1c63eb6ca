"""MLflow mirroring (core.mlflow_mirror) through the use cases, against a local SQLite tracking URI in tmp_path.

Two real Premier League seasons and the cheap ``elo``/``poisson`` models keep each training to about a second.
Every test runs with connections to anything but loopback refused, so mirroring is shown not to phone home.
"""

from __future__ import annotations

import builtins
import json
import os
import socket
import sys
from pathlib import Path

import pytest
from tests.helpers import ingest_e0, run_cli

from formguide.app import TrainRequest, promote_model, train
from formguide.app.context import Context
from formguide.core import mlflow_mirror
from formguide.core.errors import DataValidationError
from formguide.core.settings import load_settings
from formguide.core.store.db import session_scope
from formguide.core.store.models import TrainingRun
from formguide.core.tasks import TaskCancelled

os.environ.update(mlflow_mirror.QUIET_ENV)  # MLflow 3 decides on telemetry when first imported: before that
mlflow = pytest.importorskip("mlflow", reason="the [mlflow] extra (mlflow-skinny) is not installed")
from mlflow import MlflowClient  # noqa: E402

SEASONS = ("2324", "2425")
LINE = "football-E0"


def _loopback(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths
        return True
    host = str(address[0])
    return host in ("localhost", "::1") or host.startswith("127.")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse (and record) every connection to a non-loopback address while a test runs."""
    attempts: list[object] = []
    real_connect, real_create = socket.socket.connect, socket.create_connection

    def connect(self, address):  # type: ignore[no-untyped-def]
        if not _loopback(address):
            attempts.append(address)
            raise OSError(f"test: no network ({address})")
        return real_connect(self, address)

    def create_connection(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _loopback(address):
            attempts.append(address)
            raise OSError(f"test: no network ({address})")
        return real_create(address, *args, **kwargs)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "localhost", socket.gethostname()) and not _loopback((name,)):
            attempts.append(name)
            raise OSError(f"test: no name lookups ({name})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == [], f"mirroring tried to reach the network: {attempts}"


@pytest.fixture(scope="module")
def tracking(tmp_path_factory) -> str:
    """One SQLite tracking store for the module (creating MLflow's schema costs seconds); every test has its own
    formguide store, and its runs are told apart by the ``formguide.store`` tag, as two real stores' would be."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    yield uri
    mlflow_mirror._mirrors.pop(uri, None)


@pytest.fixture
def ctx(tmp_path, football_dir, tracking):
    context = Context(load_settings(db_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
                                    artifacts_dir=tmp_path / "artifacts", mlflow_uri=tracking))
    ingest_e0(context.engine, football_dir, SEASONS)
    yield context
    context.close()


def _client(ctx: Context) -> MlflowClient:
    uri = ctx.settings.mlflow_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _store(ctx: Context) -> str:
    return mlflow_mirror._store_tag(ctx.engine)


def _runs(ctx: Context) -> list:
    """This test's store's mirrored runs, oldest first."""
    client = _client(ctx)
    experiment = client.get_experiment_by_name(mlflow_mirror.experiment_name(LINE))
    assert experiment is not None
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"],
                              filter_string=f"tags.`formguide.store` = '{_store(ctx)}'")


def _versions(ctx: Context) -> list:
    name = mlflow_mirror.registered_name(LINE)
    return [v for v in _client(ctx).search_model_versions(f"name='{name}'")
            if v.tags.get("formguide.store") == _store(ctx)]


def _train(ctx: Context, model: str, **kwargs):
    return train(ctx, TrainRequest(sport="football", competition="E0", model_type=model, **kwargs))


def test_a_registered_run_is_mirrored_with_params_metrics_card_and_champion_alias(ctx, tmp_path):
    result = _train(ctx, "elo")
    assert result.status == "registered" and result.promoted
    assert any(m.startswith("MLflow: run ") for m in result.messages), result.messages
    [run] = _runs(ctx)
    data = run.data
    assert run.info.status == "FINISHED"
    assert data.tags["formguide.run_id"] == str(result.run_id)
    assert data.tags["formguide.model_id"] == str(result.model_id)
    assert (data.tags["formguide.version"], data.tags["formguide.run_status"]) == ("1", "succeeded")
    assert data.params["model_type"] == "elo" and data.params["competition"] == "E0"
    assert data.params["feature_set_version"] and len(data.params["data_fingerprint"]) == 64
    assert data.params["training_seasons"] == ",".join(SEASONS)
    assert data.params["evaluation.date_from"].startswith("2024-")
    model = result.metrics["evaluation"]["model"]
    for name in ("brier", "log_loss", "rps"):
        assert data.metrics[name] == pytest.approx(model[name])
    assert data.metrics["market.log_loss"] == pytest.approx(result.metrics["evaluation"]["market"]["log_loss"])
    assert any(k.startswith("baseline.") for k in data.metrics)

    client = _client(ctx)
    files = {f.path for f in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/MODEL_CARD.md", "model/formguide_model.json", "model/reliability.png"} <= files
    folder = Path(client.download_artifacts(run.info.run_id, "model", str(tmp_path / "down")))
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card == Path(result.model_card).read_text(encoding="utf-8")
    assert json.loads((folder / "formguide_model.json").read_text())["model_id"] == result.model_id
    assert not (tmp_path / "down" / "mlruns").exists() and not Path("mlruns").exists()

    champion = client.get_model_version_by_alias(mlflow_mirror.registered_name(LINE), mlflow_mirror.ALIAS)
    assert champion.tags["formguide.model_id"] == str(result.model_id)
    assert champion.run_id == run.info.run_id


def test_skipped_failed_and_cancelled_runs_are_logged_and_promote_moves_the_alias(ctx):
    first = _train(ctx, "elo")
    skipped = _train(ctx, "elo")
    assert skipped.status == "skipped"
    second = _train(ctx, "poisson")
    with pytest.raises(DataValidationError):
        _train(ctx, "elo", seasons=["2425"])  # one season: nothing to evaluate on

    def cancel(phase: str, fraction: float) -> None:  # what a worker's progress report does after a cancel
        raise TaskCancelled("cancelled by test")

    with pytest.raises(TaskCancelled):
        train(ctx, TrainRequest(sport="football", competition="E0", model_type="poisson", force=True), cancel)

    runs = _runs(ctx)
    by_run = {r.data.tags["formguide.run_id"]: r for r in runs}
    assert by_run[str(skipped.run_id)].info.status == "FINISHED"
    assert by_run[str(skipped.run_id)].data.tags["formguide.run_status"] == "skipped"
    assert by_run[str(skipped.run_id)].data.tags["formguide.note"].startswith("skipped:")
    [failed] = [r for r in runs if r.data.tags["formguide.run_status"] == "failed"]
    assert failed.info.status == "FAILED" and "DataValidationError" in failed.data.tags["formguide.error"]
    [cancelled] = [r for r in runs if r.data.tags["formguide.run_status"] == "cancelled"]
    assert cancelled.info.status == "KILLED" and cancelled.data.params["model_type"] == "poisson"
    assert len(runs) == 5

    client, name = _client(ctx), mlflow_mirror.registered_name(LINE)
    loser = first if second.promoted else second
    promote_model(ctx, str(loser.model_id))
    champion = client.get_model_version_by_alias(name, mlflow_mirror.ALIAS)
    assert champion.tags["formguide.model_id"] == str(loser.model_id)
    assert champion.tags["formguide.status"] == "champion"
    statuses = {v.tags["formguide.model_id"]: v.tags["formguide.status"] for v in _versions(ctx)}
    assert statuses[str(loser.model_id)] == "champion" and "retired" in statuses.values()

    promote_model(ctx, str(loser.model_id))  # again: idempotent, no second MLflow version of the same model
    assert len(_versions(ctx)) == len(statuses) == 2


def test_a_mirroring_failure_is_a_warning_and_never_fails_the_run(ctx, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("tracking server on fire")

    monkeypatch.setattr(MlflowClient, "log_batch", broken)
    with caplog.at_level("WARNING", logger="formguide.mlflow"):
        result = _train(ctx, "elo")
    assert any("tracking server on fire" in r.getMessage() for r in caplog.records)
    assert result.status == "registered"
    [warning] = [m for m in result.messages if m.startswith("warning: MLflow")]
    assert "tracking server on fire" in warning and "\n" not in warning
    with session_scope(ctx.engine) as s:
        assert s.get(TrainingRun, result.run_id).status == "succeeded"


def test_without_the_extra_the_error_is_one_line_and_nothing_runs(ctx, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_mlflow(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "mlflow" or name.startswith("mlflow."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mlflow)
    for module in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(mlflow_mirror, "_mirrors", {})  # no open client; the module's comes back afterwards
    with pytest.raises(mlflow_mirror.MirrorUnavailable) as raised:
        _train(ctx, "elo")
    assert str(raised.value) == mlflow_mirror.MISSING_EXTRA
    assert str(raised.value) == "MLflow mirroring needs the [mlflow] extra: pip install 'formguide[mlflow]'"
    cli = run_cli(["train", "--league", "E0", "--model", "elo", "--db", ctx.settings.db_url, "--mlflow-uri",
                   ctx.settings.mlflow_uri], capsys)
    assert cli.code != 0 and cli.text.strip() == f"error: {mlflow_mirror.MISSING_EXTRA}", cli.text
    with session_scope(ctx.engine) as s:
        assert s.query(TrainingRun).count() == 0  # refused before a run was started


def test_the_cli_flags_train_and_promote_mirror(ctx, tracking, capsys):
    """``--mlflow-uri`` on ``formguide train`` and ``formguide models promote`` (flags -> the Context's settings)."""
    db = ctx.settings.db_url
    ctx.settings = load_settings(db_url=db, artifacts_dir=ctx.settings.artifacts_dir)  # off unless flagged
    common = ["--db", db, "--artifacts", ctx.settings.artifacts_dir]
    plain = run_cli(["train", "--league", "E0", "--model", "elo", *common], capsys)
    assert plain.code == 0 and "MLflow" not in plain.text
    flagged = run_cli(["train", "--league", "E0", "--model", "poisson", *common, "--mlflow-uri", tracking], capsys)
    assert flagged.code == 0 and "MLflow: run " in flagged.text, flagged.text
    ctx.settings = load_settings(db_url=db, mlflow_uri=tracking)
    # the unflagged run is mirrored only if it is still the champion (the alias backfills the champion's run)
    expected = {"poisson"} | ({"elo"} if "poisson" in flagged.text and "kept as candidate" in flagged.text else set())
    assert {r.data.tags["formguide.model_type"] for r in _runs(ctx)} == expected
    promoted = run_cli(["models", "promote", f"{LINE}:1", *common, "--mlflow-uri", tracking], capsys)
    assert promoted.code == 0, promoted.text
    champion = _client(ctx).get_model_version_by_alias(mlflow_mirror.registered_name(LINE), mlflow_mirror.ALIAS)
    assert champion.tags["formguide.version"] == "1" and champion.tags["formguide.store"] == _store(ctx)
    assert {r.data.tags["formguide.model_type"] for r in _runs(ctx)} == {"elo", "poisson"}


def test_the_network_guard_would_catch_a_connection(no_network):
    with pytest.raises(OSError, match="no network"):
        socket.create_connection(("203.0.113.7", 443), timeout=0.1)  # TEST-NET-3: never routed anyway
    with pytest.raises(OSError, match="no network"), socket.socket() as sock:
        sock.connect(("203.0.113.7", 443))
    with pytest.raises(OSError, match="no name lookups"):
        socket.getaddrinfo("config.mlflow-telemetry.io", 443)
    assert no_network == [("203.0.113.7", 443), ("203.0.113.7", 443), "config.mlflow-telemetry.io"]
    no_network.clear()  # seen: this test's own attempts are not a failure


def test_telemetry_is_off_before_mlflow_is_used(monkeypatch):
    from mlflow.environment_variables import MLFLOW_DISABLE_TELEMETRY
    from mlflow.telemetry import get_telemetry_client

    for name in mlflow_mirror.QUIET_ENV:
        monkeypatch.delenv(name, raising=False)
    mlflow_mirror._import_mlflow()
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true" and os.environ["DO_NOT_TRACK"] == "true"
    assert MLFLOW_DISABLE_TELEMETRY.get() is True and get_telemetry_client() is None


def test_a_file_store_uri_works_too(ctx, tmp_path):
    """MLflow 3.17 refuses its file store unless MLFLOW_ALLOW_FILE_STORE is set; choosing a file: URI sets it."""
    uri = (tmp_path / "mlruns").as_uri()
    ctx.settings = load_settings(db_url=ctx.settings.db_url, artifacts_dir=ctx.settings.artifacts_dir, mlflow_uri=uri)
    try:
        result = _train(ctx, "elo")
        [run] = _runs(ctx)
        assert run.data.tags["formguide.model_id"] == str(result.model_id) and run.info.status == "FINISHED"
        champion = _client(ctx).get_model_version_by_alias(mlflow_mirror.registered_name(LINE), mlflow_mirror.ALIAS)
        assert champion.tags["formguide.model_id"] == str(result.model_id)
        assert (tmp_path / "mlruns").is_dir()
    finally:
        mlflow_mirror._mirrors.pop(uri, None)


def test_settings_make_the_uri_absolute_and_empty_means_off(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(mlflow_uri="sqlite:///m.db").mlflow_uri == f"sqlite:///{tmp_path / 'm.db'}"
    assert load_settings(mlflow_uri="m.db").mlflow_uri == f"sqlite:///{tmp_path / 'm.db'}"
    assert load_settings(mlflow_uri="runs").mlflow_uri == (tmp_path / "runs").as_uri()
    assert load_settings(mlflow_uri=" ").mlflow_uri is None
    assert load_settings().describe()["mlflow"] == "off"
    assert load_settings(mlflow_uri="http://me:secret@127.0.0.1:5000").describe()["mlflow"] == "http://me:***@127.0.0.1:5000"
    monkeypatch.setenv("FORMGUIDE_MLFLOW_URI", "http://127.0.0.1:5000")
    assert load_settings().mlflow_uri == "http://127.0.0.1:5000"
    assert mlflow_mirror.open_mirror(None) is None


def test_a_tracking_server_that_is_down_costs_seconds_not_minutes(monkeypatch):
    """MLflow's own retry defaults took 253 s to give up on a refused port; the mirror's give up in seconds."""
    import time

    for name in mlflow_mirror.PATIENCE_ENV:
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    try:
        mirror = mlflow_mirror.open_mirror(uri)
        started = time.perf_counter()
        [warning] = mlflow_mirror._safely("a probe", lambda: [mirror._experiment(LINE)])
        assert time.perf_counter() - started < 30
        assert warning.startswith("warning: MLflow mirroring of a probe failed") and len(warning) < 400
    finally:
        mlflow_mirror._mirrors.pop(uri, None)


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_postgresql_store_is_mirrored_the_same_way(db_url, tmp_path, football_dir, tracking):
    context = Context(load_settings(db_url=db_url, artifacts_dir=tmp_path / "artifacts", mlflow_uri=tracking))
    try:
        ingest_e0(context.engine, football_dir, SEASONS)
        result = _train(context, "elo")
        [run] = _runs(context)
        assert run.data.tags["formguide.run_id"] == str(result.run_id) and run.info.status == "FINISHED"
        assert run.data.metrics["log_loss"] == pytest.approx(result.metrics["evaluation"]["model"]["log_loss"])
        champion = _client(context).get_model_version_by_alias(mlflow_mirror.registered_name(LINE),
                                                               mlflow_mirror.ALIAS)
        assert (champion.tags["formguide.model_id"], champion.tags["formguide.store"]) == (str(result.model_id),
                                                                                         _store(context))
    finally:
        context.close()
