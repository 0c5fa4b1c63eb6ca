"""``formguide schedule``: add (and the standard pair), list, enable/disable, run now, remove; a worker runs
what it queued, the task naming the schedule; bad input is one line and a non-zero exit."""

from __future__ import annotations

import json

import pytest
from tests.helpers import run_cli
from tests.test_contract_sport import DuelSport, write_duels

from formguide.core.sport import register_sport, unregister_sport


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh SQLite store under a private home, the duel sport with a data folder of its own."""
    monkeypatch.setenv("FORMGUIDE_HOME", str(tmp_path / "home"))
    for name in ("FORMGUIDE_DB_URL", "FORMGUIDE_ARTIFACTS", "FORMGUIDE_DATA"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home" / "data").mkdir(parents=True)
    write_duels(tmp_path / "home" / "data" / "duel_games.csv")
    register_sport("duel", DuelSport)
    yield tmp_path
    unregister_sport("duel")


def _json(result) -> dict:
    assert result.code == 0, result.text
    return json.loads(result.out)


def test_schedule_commands_from_add_to_a_worker_running_the_task(store, capsys):
    added = _json(run_cli(["schedule", "add", "imp", "--kind", "ingest", "--sport", "duel", "--cron", "30 6 * * *",
                           "--json", "-"], capsys))
    assert (added["kind"], added["cron"], added["request"], added["next_run_at"][11:16]) == (
        "ingest", "30 6 * * *", {"sport": "duel"}, "06:30")
    shown = run_cli(["schedule", "defaults", "--sport", "duel"], capsys)
    assert shown.code == 0 and "duel-refresh added: refresh duel at '0 6 * * *'" in shown.text
    assert "duel-retrain added: train duel at '0 5 * * 1'" in shown.text
    listed = _json(run_cli(["schedule", "list", "--json", "-"], capsys))["schedules"]
    assert [(s["name"], s["kind"], s["enabled"]) for s in listed] == [
        ("duel-refresh", "refresh", True), ("duel-retrain", "train", True), ("imp", "ingest", True)]
    table = run_cli(["schedule", "list", "--wide"], capsys)
    assert table.code == 0 and "duel-retrain" in table.out and "0 5 * * 1" in table.out

    off = run_cli(["schedule", "disable", "duel-refresh"], capsys)
    assert off.code == 0 and "duel-refresh disabled" in off.text
    assert _json(run_cli(["schedule", "list", "--json", "-"], capsys))["schedules"][0]["next_run_at"] is None
    on = run_cli(["schedule", "enable", "duel-refresh"], capsys)
    assert on.code == 0 and "enabled, next run" in on.text

    queued = _json(run_cli(["schedule", "run", "imp", "--json", "-"], capsys))
    assert (queued["kind"], queued["status"], queued["request"]) == ("ingest", "queued",
                                                                    {"sport": "duel", "schedule": "imp"})
    worked = run_cli(["worker", "--once"], capsys)
    assert worked.code == 0 and f"task {queued['task_id']} completed: duel: inserted 400" in worked.text
    last = _json(run_cli(["schedule", "list", "--json", "-"], capsys))["schedules"][2]
    assert (last["last_task_id"], last["last_task_status"]) == (queued["task_id"], "completed")

    gone = run_cli(["schedule", "remove", "imp"], capsys)
    assert gone.code == 0 and "imp removed" in gone.text
    assert len(_json(run_cli(["schedule", "list", "--json", "-"], capsys))["schedules"]) == 2


@pytest.mark.parametrize("args, expected", [
    (["add", "x", "--kind", "train", "--sport", "nope", "--cron", "0 6 * * *"], "unknown sport 'nope'"),
    (["add", "x", "--kind", "train", "--sport", "duel", "--cron", "0 6 * *"], "bad cron expression '0 6 * *'"),
    (["add", "x", "--kind", "train", "--sport", "duel", "--cron", "0 99 * * *"], "bad cron expression"),
    (["add", "x", "--kind", "backup", "--sport", "duel", "--cron", "0 6 * * *"], "unknown --kind 'backup'"),
    (["add", "x", "--kind", "train", "--sport", "duel", "--cron", "0 6 * * *", "--path", "a.csv"],
     "paths apply to ingest and refresh"),
    (["remove", "nope"], "no schedule named 'nope'"),
    (["run", "nope"], "no schedule named 'nope'"),
    (["enable", "nope"], "no schedule named 'nope'"),
    (["disable", "nope"], "no schedule named 'nope'"),
])
def test_bad_schedule_input_is_one_line(store, capsys, args, expected):
    result = run_cli(["schedule", *args], capsys)
    assert result.code != 0 and "Traceback" not in result.out + result.err
    assert [line for line in result.err.splitlines() if line.startswith("error:")] == [result.err.strip()]
    assert expected in result.text


def test_a_taken_name_is_refused(store, capsys):
    args = ["schedule", "add", "x", "--kind", "ingest", "--sport", "duel", "--cron", "@daily"]
    assert run_cli(args, capsys).code == 0
    again = run_cli(args, capsys)
    assert again.code != 0 and "a schedule named 'x' exists already" in again.text
    twice = run_cli(["schedule", "defaults", "--sport", "duel"], capsys)
    assert twice.code == 0
    assert "exists already" in run_cli(["schedule", "defaults", "--sport", "duel"], capsys).text
