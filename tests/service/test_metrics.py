"""``GET /metrics``: Prometheus text with request counts and latency per route template and status, tasks by
status, task durations and worker heartbeats read from the store at scrape time, collectors added by others,
and one registry per app (two apps never clash). On SQLite and, when ``FORMGUIDE_TEST_PG_URL`` is set, PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from formguide.core import tasks
from formguide.core.heartbeat import utc_now
from formguide.core.settings import Settings
from formguide.core.store.db import session_scope
from formguide.core.store.models import Task, Worker
from formguide.service.api import create_app
from formguide.service.metrics import register_collector


def _client(db_url: str, tmp_path) -> TestClient:
    return TestClient(create_app(Settings(db_url=db_url, artifacts_dir=tmp_path / "artifacts")))


def _samples(client: TestClient) -> dict[str, list]:
    """Every sample of a scrape by sample name (``..._total``, ``..._bucket``), after checking the format."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def _value(samples: dict[str, list], name: str, **labels: str) -> float | None:
    for s in samples.get(name, []):
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def test_requests_are_counted_and_timed_per_route_template_and_status(engine, db_url, tmp_path):
    with _client(db_url, tmp_path) as client:
        before = _samples(client)
        assert _value(before, "formguide_http_requests_total", route="/api/v1/models/{model_id}") is None
        for model_id in (123456, 654321):  # two raw paths, one template
            assert client.get(f"/api/v1/models/{model_id}").status_code == 404
        assert client.get("/api/v1/sports").status_code == 200
        assert client.get("/no/such/page").status_code == 404
        after = _samples(client)
    requests = "formguide_http_requests_total"
    assert _value(after, requests, method="GET", route="/api/v1/models/{model_id}", status="404") == 2
    assert _value(after, requests, route="/api/v1/sports", status="200") == 1
    assert _value(after, requests, route="unmatched", status="404") == 1  # never the raw path
    assert not any("123456" in s.labels.get("route", "") for s in after[requests])
    assert _value(after, requests, route="/metrics", status="200") == 1  # the first scrape
    latency = "formguide_http_request_duration_seconds"
    assert _value(after, f"{latency}_count", route="/api/v1/models/{model_id}", status="404") == 2
    buckets = [s for s in after[f"{latency}_bucket"] if s.labels["route"] == "/api/v1/sports"]
    assert {"0.001", "0.01", "0.1", "+Inf"} <= {s.labels["le"] for s in buckets}
    assert max(s.value for s in buckets) == 1 and _value(after, f"{latency}_sum", route="/api/v1/sports") > 0


def test_tasks_by_status_follow_the_queue_and_durations_come_from_finished_tasks(engine, db_url, tmp_path):
    ids = [tasks.enqueue(engine, "train", {"n": i}).id for i in range(3)]
    tasks.cancel(engine, ids[0])
    now = utc_now()
    with session_scope(engine) as s:  # a finished task that ran 42 s
        s.add(Task(kind="train", request={}, status="completed", created_at=now - timedelta(seconds=50),
                   started_at=now - timedelta(seconds=45), completed_at=now - timedelta(seconds=3)))
    with _client(db_url, tmp_path) as client:
        first = _samples(client)
        assert _value(first, "formguide_store_up") == 1
        assert _value(first, "formguide_tasks", status="queued") == 2
        assert _value(first, "formguide_tasks", status="cancelled") == 1
        assert _value(first, "formguide_tasks", status="completed") == 1
        assert _value(first, "formguide_tasks", status="running") == 0  # every status, 0 when none
        done = dict(kind="train", status="completed")
        assert _value(first, "formguide_task_duration_seconds_bucket", le="30.0", **done) == 0
        assert _value(first, "formguide_task_duration_seconds_bucket", le="60.0", **done) == 1
        assert _value(first, "formguide_task_duration_seconds_gsum", **done) == pytest.approx(42.0)
        tasks.enqueue(engine, "train", {"n": 9})
        assert _value(_samples(client), "formguide_tasks", status="queued") == 3  # read at scrape time


def test_a_worker_row_gives_its_heartbeat_age_and_a_stopped_one_none(engine, db_url, tmp_path):
    now = utc_now()
    with session_scope(engine) as s:
        s.add(Worker(owner="host-a:101:abc", host="host-a", pid=101, started_at=now - timedelta(minutes=5),
                     heartbeat_at=now - timedelta(seconds=30), tasks_done=4))
        s.add(Worker(owner="host-a:102:def", host="host-a", pid=102, started_at=now - timedelta(minutes=5),
                     heartbeat_at=now - timedelta(seconds=60), stopped_at=now - timedelta(seconds=59)))
    with _client(db_url, tmp_path) as client:
        samples = _samples(client)
    age = _value(samples, "formguide_worker_heartbeat_age_seconds", worker="host-a:101:abc", host="host-a")
    assert age is not None and 30 <= age < 90
    assert _value(samples, "formguide_worker_tasks_done", worker="host-a:101:abc") == 4
    assert _value(samples, "formguide_worker_heartbeat_age_seconds", worker="host-a:102:def") is None


class _Drift:
    def collect(self):
        gauge = GaugeMetricFamily("formguide_test_drift_psi", "A collector another part of the service adds.",
                                  labels=["feature"])
        gauge.add_metric(["elo_diff"], 0.07)
        yield gauge


def test_a_registered_collector_is_scraped_and_each_app_has_its_own_registry(db_url, tmp_path):
    one, two = create_app(Settings(db_url=db_url, artifacts_dir=tmp_path)), create_app(
        Settings(db_url=db_url, artifacts_dir=tmp_path))  # two apps in one process: no duplicate-name clash
    register_collector(one, _Drift())
    with TestClient(one) as c1, TestClient(two) as c2:
        c1.get("/api/v1/sports")
        s1, s2 = _samples(c1), _samples(c2)
    assert _value(s1, "formguide_test_drift_psi", feature="elo_diff") == pytest.approx(0.07)
    assert "formguide_test_drift_psi" not in s2
    assert _value(s1, "formguide_http_requests_total", route="/api/v1/sports") == 1
    assert _value(s2, "formguide_http_requests_total", route="/api/v1/sports") is None


def test_a_scrape_with_the_store_unreachable_still_answers_with_store_up_0(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    client = TestClient(create_app(Settings(db_url=f"sqlite:///{blocker}/sub/store.sqlite",
                                            artifacts_dir=tmp_path / "a")))
    samples = _samples(client)  # no lifespan: the store is only touched by the scrape
    assert _value(samples, "formguide_store_up") == 0
    assert "formguide_tasks" not in samples
