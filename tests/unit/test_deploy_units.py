"""deploy/systemd: the daily users apply and the health check units are well-formed, and the nightly
backup (role backup_schedule, at voip_backup_policy.time) comes after the users apply."""

from __future__ import annotations

import configparser
import datetime
import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
BACKUP_TEMPLATES = (
    REPO
    / "collections/ansible_collections/voip/estate/roles"
    / "backup_schedule"
    / "templates"
    / "etc"
    / "systemd"
    / "system"
)


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


def test_the_nightly_backup_comes_after_the_users_apply():
    """The backup waits for a users apply still running (After=), and the shipped models start it later."""
    service = (BACKUP_TEMPLATES / "voip-backup.service.j2").read_text()
    [after] = re.findall(r"^After=(.*)$", service, flags=re.M)
    assert "voip-users-apply.service" in after.split() and (UNITS / "voip-users-apply.service").is_file()
    timer = unit("voip-users-apply.timer")["Timer"]
    start = datetime.datetime.strptime(timer["OnCalendar"].split()[-1], "%H:%M:%S")
    latest = start + datetime.timedelta(minutes=int(timer["RandomizedDelaySec"].removesuffix("min")))
    for env in ("lab", "example"):
        policy = yaml.safe_load((REPO / "inventory" / env / "group_vars" / "all" / "backup.yml").read_text())
        backup = datetime.datetime.strptime(policy["voip_backup_policy"]["time"], "%H:%M")
        assert backup > latest, f"{env}: the backup at {backup:%H:%M} may start before the users apply"
