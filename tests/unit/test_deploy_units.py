"""deploy/systemd: the daily users apply and the health check units are well-formed."""

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


def test_health_runs_every_five_minutes_into_the_textfile_collector():
    service = unit("voip-health.service")["Service"]
    assert (
        'voipctl" health' in service["ExecStart"] and "--format prometheus --output" in service["ExecStart"]
    )
    assert service["SuccessExitStatus"] == "1 2"  # findings are results, not a failed unit
    timer = unit("voip-health.timer")["Timer"]
    assert timer["OnUnitActiveSec"] == "5min"
