"""playbooks/backup_schedule.yml: the controller's nightly backup timer follows voip_backup_policy.time.

The playbook runs on the controller (connection local) against a copy of
the lab inventory and writes the units under a temporary root, where
systemd is left alone: check mode writes nothing, the timer's OnCalendar is
the model's time, a second run changes nothing, a changed time changes the
timer (and only the timer).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from voipctl.adapters.playbook import parse_output

ROOT = Path(__file__).resolve().parents[2]
UNITS = "etc/systemd/system"


def schedule(inventory: Path, root: Path, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run the playbook; (the run, changed count of localhost)."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_VAULT_PASSWORD_FILE": str(ROOT / "lab" / "vault-password.lab"),
    }
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory),
         str(ROOT / "playbooks" / "backup_schedule.yml"), "-e", f"backup_schedule_root={root}", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    recap = parse_output(run.stdout.splitlines(True)).hosts.get("localhost", {})
    return run, recap.get("changed", -1)


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


def set_time(inventory: Path, time: str) -> None:
    backup = inventory / "group_vars" / "all" / "backup.yml"
    text, count = re.subn(r'^(  time: )"[0-9:]+"$', rf'\1"{time}"', backup.read_text(), flags=re.M)
    assert count == 1
    backup.write_text(text)


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "root"


def test_the_timer_follows_the_models_time(inv, root):
    set_time(inv, "03:45")
    run, changed = schedule(inv, root, "--check", "--diff")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert changed >= 1 and "+OnCalendar=*-*-* 03:45:00" in run.stdout
    assert not (root / UNITS / "voip-backup.timer").exists(), "check mode wrote a unit"

    run, changed = schedule(inv, root)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert changed >= 1
    timer = unit(root / UNITS / "voip-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:45:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    if shutil.which("systemd-analyze"):
        done = subprocess.run(
            ["systemd-analyze", "calendar", timer["Timer"]["OnCalendar"]], capture_output=True, text=True
        )
        assert done.returncode == 0 and "Normalized form: *-*-* 03:45:00" in done.stdout, done.stderr
    service = unit(root / UNITS / "voip-backup.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"] == (
        f"{ROOT}/.venv/bin/voipctl apply playbooks/backup.yml -i {inv}"
    ), "the run backs up the inventory the time came from"
    assert service["Service"]["WorkingDirectory"] == str(ROOT)
    assert service["Service"]["EnvironmentFile"].startswith("/etc/")
    assert "voip-users-apply.service" in service["Unit"]["After"].split()

    run, changed = schedule(inv, root)
    assert run.returncode == 0 and changed == 0, "a second run changes nothing"

    before = (root / UNITS / "voip-backup.service").read_text()
    set_time(inv, "01:05")
    run, changed = schedule(inv, root, "--diff")
    assert run.returncode == 0 and changed == 1, run.stdout[-3000:]
    assert "-OnCalendar=*-*-* 03:45:00" in run.stdout and "+OnCalendar=*-*-* 01:05:00" in run.stdout
    assert unit(root / UNITS / "voip-backup.timer")["Timer"]["OnCalendar"] == "*-*-* 01:05:00"
    assert (root / UNITS / "voip-backup.service").read_text() == before


def test_paths_systemd_would_interpret_are_refused(inv, root):
    run, _ = schedule(inv, root, "-e", '{"backup_schedule_checkout": "/srv/voip estate%i"}')
    assert run.returncode != 0 and "absolute paths of letters, digits" in run.stdout
    assert not (root / UNITS).exists()
