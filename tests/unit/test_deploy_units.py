"""deploy/systemd: the daily users apply units are well-formed and run users.yml."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text())
    return parser


def test_service_runs_the_users_playbook_once():
    service = unit("voip-users-apply.service")
    assert service["Service"]["Type"] == "oneshot"
    assert "playbooks/users.yml" in service["Service"]["ExecStart"]
    assert service["Service"]["EnvironmentFile"].startswith("/etc/")


def test_timer_fires_daily_and_catches_up():
    timer = unit("voip-users-apply.timer")["Timer"]
    assert timer["Persistent"] == "true"
    done = subprocess.run(
        ["systemd-analyze", "calendar", timer["OnCalendar"]], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Normalized form: *-*-* 02:00:00" in done.stdout
