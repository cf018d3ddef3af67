"""The restore drill of cs1: destroyed, recreated bare, restored from its backup (not converged).

A backup of cs1 is taken, its container removed and recreated from the bare
image by ``voipctl lab up`` (no Kamailio, no configuration), and
``playbooks/restore.yml`` restores it from the latest point. Then every
active user of its site registers by SIPp and a call between two users is
answered. A point whose checksums fail is refused before the host is touched.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}


def playbook(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    from voipctl.lab import ansible_environment

    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "lab"),
         str(ROOT / "playbooks" / name), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False, env=ansible_environment(ROOT),
    )  # fmt: skip
    if check:
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    return run


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=PODMAN_ENV, capture_output=True, text=True, check=check)


def test_a_damaged_point_is_refused_before_the_host_is_touched(estate):
    store = estate.hosts["cs1"]["voip_backup_policy"]["store"]
    playbook("backup.yml", "--limit", "cs1,localhost")
    latest = sorted(podman("exec", "voiplab-bak1", "ls", "-1", f"{store}/cs1").stdout.split())[-1]
    stored = f"{store}/cs1/{latest}/host.tar.gz.enc"
    podman("exec", "voiplab-bak1", "sh", "-c", f"printf x >> {stored}")
    try:
        run = playbook("restore.yml", "-e", "restore_host=cs1", check=False)
        assert run.returncode != 0
        assert "fails its checksums" in run.stdout and "host.tar.gz.enc: size" in run.stdout
        assert "Put the files and databases back" not in run.stdout, "refused before anything was restored"
    finally:
        podman("exec", "voiplab-bak1", "rm", "-rf", f"{store}/cs1/{latest}")


def test_cs1_destroyed_and_restored_serves_its_users_again(estate, users, register, call, answering):
    playbook("backup.yml", "--limit", "cs1,localhost")
    podman("rm", "-f", "voiplab-cs1")
    up = subprocess.run([str(ROOT / ".venv" / "bin" / "voipctl"), "lab", "up"], cwd=ROOT, capture_output=True,
                        text=True, check=False, timeout=600)  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    assert (
        podman("exec", "voiplab-cs1", "test", "-e", "/etc/kamailio/kamailio.cfg", check=False).returncode != 0
    ), "the recreated cs1 is bare"
    playbook("restore.yml", "-e", "restore_host=cs1")
    site = estate.hosts["cs1"]["voip_site"]
    active = [u for u in users.values() if u.status == "active" and u.site == site]
    assert active
    for user in active:
        assert register(user).final == "200", user.id
    caller = active[0]
    callee = next(u for u in active[1:] if not (u.model.get("features") or {}).get("dnd"))
    waiter = answering(callee)
    result = call(caller, callee.extension)
    waiter()
    assert result.final == "200", result.log
