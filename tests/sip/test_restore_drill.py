"""The restore drill of cs1 (`voipctl drill restore cs1`): destroyed, recreated bare, restored, checked.

A backup of cs1 is taken; the drill removes its container, recreates it from
the bare image (no Kamailio, no configuration), restores it with
``playbooks/restore.yml`` from the latest point (not a converge) and checks
that every active user of its site registers by SIPp and a call between two
users is answered. A point whose checksums fail is refused before the host
is touched.
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


def test_restore_drill_of_cs1_passes():
    """`voipctl drill restore cs1`: destroyed, recreated bare, restored, its users register and call again."""
    playbook("backup.yml", "--limit", "cs1,localhost")
    drill = subprocess.run([str(ROOT / ".venv" / "bin" / "voipctl"), "drill", "restore", "cs1"], cwd=ROOT,
                           capture_output=True, text=True, check=False, timeout=1800)  # fmt: skip
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    assert "restore drill of cs1: passed" in drill.stdout
    for step in (
        "destroy the container",
        "recreate it bare",
        "restore (restore.yml)",
        "verify (call server)",
    ):
        assert step in drill.stdout
    assert "bare from its image" in drill.stdout and "1 passed" in drill.stdout


def test_restore_drill_of_prov1_passes_and_leaves_nothing_to_converge():
    """The provisioning server: its phone files, logins, firmware and nginx come back exactly."""
    playbook("backup.yml", "--limit", "prov1,localhost")
    drill = subprocess.run([str(ROOT / ".venv" / "bin" / "voipctl"), "drill", "restore", "prov1"], cwd=ROOT,
                           capture_output=True, text=True, check=False, timeout=1800)  # fmt: skip
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    assert "restore drill of prov1: passed" in drill.stdout and "verify (provisioning server)" in drill.stdout
    check = playbook("provisioning.yml", "--check", "--limit", "prov1,localhost")
    assert "changed=0" in check.stdout.split("PLAY RECAP")[-1].split("prov1", 1)[1].splitlines()[0]
