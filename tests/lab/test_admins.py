"""Administrators against the lab: someone the model does not list loses the account at the next converge.

An account in the administrator group that ``voip_admins`` does not list
(left over from a former colleague, or added by hand) is removed by
os_baseline, while the account Ansible connects with stays. With the old
role, only accounts the model marked ``state: absent`` were removed, so this
test's account survived the converge.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from voiplab.lab import ansible_environment
from voiplab.topology import load_lab

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}
STRAY = "strayadmin"


def on(host: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", "exec", f"voiplab-{host}", *command], env=PODMAN_ENV, capture_output=True,
                          text=True, check=check)  # fmt: skip


def test_an_administrator_the_model_does_not_list_is_removed():
    lab = load_lab(ROOT)
    login = lab.host("cs1").login
    key = (lab.ssh_dir / "id_ed25519.pub").read_text().strip()
    on("cs1", "sh", "-c", 'id -u "$1" >/dev/null 2>&1 || useradd --create-home --groups sudo "$1"; '
       'install -d -m 0700 -o "$1" -g "$1" /home/"$1"/.ssh; printf "%s\\n" "$2" > /home/"$1"/.ssh/authorized_keys; '
       'chown "$1:$1" /home/"$1"/.ssh/authorized_keys', "sh", STRAY, key)  # fmt: skip
    assert on("cs1", "id", "-nG", STRAY).stdout.split().count("sudo") == 1
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(ROOT / "playbooks" / "os_baseline.yml"),
         "--limit", "cs1"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False, env=ansible_environment(ROOT),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert f"item={STRAY}" in run.stdout
    assert on("cs1", "id", STRAY, check=False).returncode != 0, f"{STRAY} still has an account"
    assert on("cs1", "test", "-e", f"/home/{STRAY}", check=False).returncode != 0, (
        "its home (and keys) remain"
    )
    assert on("cs1", "id", "-nG", login).stdout.split().count("sudo") == 1, (
        "the connection's account must stay"
    )
