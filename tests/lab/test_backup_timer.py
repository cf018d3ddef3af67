"""The backup policy's time takes effect: ``playbooks/backup_schedule.yml`` installs the
controller's nightly backup timer at ``voip_backup_policy.time`` (here under a temporary root;
with VOIPLAB_TIMER_LIVE=1 also into the controller's own systemd, then removed)."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

import pytest

from voipctl import inventory
from voipctl.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"


@pytest.fixture(scope="module")
def estate():
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    inv = inventory.load(LAB, only=("voip_backup_policy", "vault_backup_key", "vault_netdev_password",
                                     "vault_voip_sip_master_secret"))  # fmt: skip
    return inv.hosts["cs1"]


@pytest.fixture(scope="module")
def secrets(estate):
    return [estate[k] for k in ("vault_backup_key", "vault_netdev_password", "vault_voip_sip_master_secret")]


def playbook(secrets, name: str, *args: str, inventory_path: Path = LAB) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory_path),
         str(ROOT / "playbooks" / name), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False, env=ansible_environment(ROOT),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    assert not any(s in run.stdout or s in run.stderr for s in secrets), f"a secret in the output of {name}"
    return run


def test_the_timer_fires_at_the_models_time(tmp_path, secrets, estate):
    time = estate["voip_backup_policy"]["time"]
    playbook(secrets, "backup_schedule.yml", "-e", f"backup_schedule_root={tmp_path}")
    units = tmp_path / "etc" / "systemd" / "system"
    timer = configparser.ConfigParser(interpolation=None)
    timer.optionxform = str
    timer.read_string((units / "voip-backup.timer").read_text())
    assert timer["Timer"]["OnCalendar"] == f"*-*-* {time}:00" and timer["Timer"]["Persistent"] == "true"
    done = subprocess.run(["systemd-analyze", "verify", str(units / "voip-backup.service"),
                           str(units / "voip-backup.timer")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    if os.environ.get("VOIPLAB_TIMER_LIVE") != "1":
        return
    # The controller's own systemd: what it parsed, then removed again.
    try:
        playbook(secrets, "backup_schedule.yml")
        shown = subprocess.run(["systemctl", "show", "voip-backup.timer", "-p", "TimersCalendar", "-p", "UnitFileState"],
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert f"OnCalendar=*-*-* {time}:00" in shown and "UnitFileState=enabled" in shown, shown
    finally:
        subprocess.run(
            ["systemctl", "disable", "--now", "voip-backup.timer"], capture_output=True, check=False
        )
        for name in ("voip-backup.service", "voip-backup.timer"):
            Path("/etc/systemd/system", name).unlink(missing_ok=True)
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True, check=False)
