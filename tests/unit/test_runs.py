"""voipctl.runs: run records from ansible-runner's events and stats, names and counts only."""

from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace

import pytest

from voipctl import runs
from voipctl.errors import VoipctlError

SECRET = "s3cr3t-password-value"


def test_counts_and_changed_task_names_only():
    stats = {
        "ok": {"cs1": 5, "cs2": 4},
        "changed": {"cs1": 1},
        "failures": {"cs2": 1},
        "dark": {},
        "skipped": {"cs1": 2},
    }
    events = [
        {"event": "runner_on_ok", "event_data": {"host": "cs1", "task": "Sync the user tables",
                                                 "res": {"changed": True, "password": SECRET}}},
        {"event": "runner_on_ok", "event_data": {"host": "cs1", "task": "Read", "res": {"changed": False}}},
        {"event": "runner_on_failed", "event_data": {"host": "cs2", "task": "Sync", "res": {"msg": SECRET}}},
        {"event": "runner_on_ok", "event_data": {"host": "cs1", "task": "Sync the user tables", "res": {"changed": True}}},
    ]  # fmt: skip
    hosts, changed = runs.summarise(events, stats)
    assert hosts["cs1"] == {"ok": 5, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 2}
    assert hosts["cs2"]["failed"] == 1
    assert changed == [{"host": "cs1", "task": "Sync the user tables"}]
    assert SECRET not in json.dumps([hosts, changed])


def test_commit_dirty_flag_and_ticket_trailer(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "ops@example.com")
    git("config", "user.name", "Ops")
    (tmp_path / "a.yml").write_text("a: 1\n")
    git("add", "a.yml")
    git("commit", "-q", "-m", "users: add x\n\nTicket: OPS-9")
    info = runs.commit_info(tmp_path)
    assert len(info["commit"]) == 40 and info["dirty"] is False and info["commit_ticket"] == "OPS-9"
    (tmp_path / "a.yml").write_text("a: 2\n")
    assert runs.commit_info(tmp_path)["dirty"] is True
    assert runs.commit_info(tmp_path / "nowhere")["commit"] is None


def test_records_are_written_atomically_and_listed(tmp_path):
    path = runs.write_record(tmp_path / "runs", {"id": "20261130T010000000000Z", "playbook": "p.yml"})
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert runs.load_records(tmp_path / "runs") == [{"id": "20261130T010000000000Z", "playbook": "p.yml"}]
    (tmp_path / "runs" / "bad.json").write_text("{")
    with pytest.raises(VoipctlError, match="unreadable run record"):
        runs.load_records(tmp_path / "runs")


def test_apply_records_the_run(tmp_path, monkeypatch):
    runner = SimpleNamespace(
        status="successful", rc=0, stats={"ok": {"cs1": 3}, "changed": {"cs1": 1}},
        events=[{"event": "runner_on_ok", "event_data": {"host": "cs1", "task": "T", "res": {"changed": True}}}],
    )  # fmt: skip
    monkeypatch.setattr(runs, "run_playbook", lambda *a, **k: runner)
    monkeypatch.setattr(runs, "records_dir", lambda inv: tmp_path)
    monkeypatch.setenv("VOIP_ACTOR", "alice")
    args = SimpleNamespace(
        playbook="playbooks/users.yml", inventory=None, check=True, ticket="OPS-1", limit="cs1"
    )
    assert runs.cmd_apply(args) == 0
    (record,) = runs.load_records(tmp_path / "runs")
    assert (record["actor"], record["ticket"], record["check"], record["status"]) == (
        "alice",
        "OPS-1",
        True,
        "successful",
    )
    assert record["hosts"]["cs1"]["changed"] == 1 and record["changed_tasks"] == [
        {"host": "cs1", "task": "T"}
    ]
    args.ticket = "not a ticket"
    with pytest.raises(VoipctlError, match="is not a ticket"):
        runs.cmd_apply(args)
