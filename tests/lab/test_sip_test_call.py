"""The sip_test_call module from the controller against cs1: a real call, and a refused password.

Two active users of site ams (without forwarding or do-not-disturb, so the
call reaches the callee) are taken from the lab directory, their passwords
derived from the vault's master secret as the call servers' HA1 was. One
playbook, delegated to localhost as the release gate runs it, makes a call
(registered callee answers 200, media anchored on cs1's rtpengine, ACK and
BYE through cs1's Record-Route) and then one with a wrong caller password
(403, a clear message, no password in any output). The callee's binding is
removed before and must be gone after: the module unregisters it itself.

Only SIP goes to the lab, besides ``kamcmd ul.lookup`` / ``ul.rm`` on cs1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from voipctl.adapters import inventory
from voipctl.core.passwords import user_sip_password
from voiplab.lab import ansible_environment
from voiplab.topology import load_lab

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
SERVER = "cs1"
TIMEOUT = 5.0


def _forwards_or_refuses(user: dict) -> bool:
    features = user.get("features") or {}
    return bool(features.get("dnd") or features.get("call_forward"))


@pytest.fixture(scope="module")
def cs1() -> dict:
    """cs1's address, SIP domain and site; the caller and callee (extension, password) of that site."""
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    host = inventory.load(LAB).hosts[SERVER]
    master = host["vault_voip_sip_master_secret"]
    site = host["voip_site"]
    candidates = [
        user for user in host["voip_users"]
        if user["site"] == site and user.get("status", "active") == "active" and not _forwards_or_refuses(user)
    ]  # fmt: skip
    if len(candidates) < 2:
        pytest.fail(f"the lab directory has fewer than two active users of {site} without forwarding or DND")
    caller, callee = candidates[0], candidates[-1]

    def account(user: dict) -> dict:
        password = user_sip_password(master, user)
        return {"user": str(user["extension"]), "password": password}

    return {
        "address": str(host["ansible_host"]),
        "domain": str(host["voip_call_server"]["sip_domain"]),
        "caller": account(caller),
        "callee": account(callee),
    }


@pytest.fixture(scope="module")
def kamcmd():
    """``kamcmd`` on cs1 (ul.lookup and ul.rm only)."""
    os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab" / "containers.conf"))
    topology = load_lab(ROOT)
    container = topology.host(SERVER).container(topology.prefix)

    def run(*args: str) -> subprocess.CompletedProcess:
        assert args[0] in ("ul.lookup", "ul.rm"), args
        return subprocess.run(["podman", "exec", container, "kamcmd", *args], capture_output=True, text=True,
                              timeout=30, check=False)  # fmt: skip

    return run


@pytest.fixture
def callee_binding(cs1, kamcmd):
    """Start without a binding of the callee (the ``s:`` prefix: numeric AoR); yield a lookup of it."""
    aor = f"s:{cs1['callee']['user']}"
    kamcmd("ul.rm", "location", aor)

    def lookup() -> str:
        found = kamcmd("ul.lookup", "location", aor)
        return found.stdout + found.stderr

    yield lookup
    kamcmd("ul.rm", "location", aor)


def _ansible_playbook(playbook: Path) -> tuple[subprocess.CompletedProcess, dict]:
    extra = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}
    if "VOIPLAB_STATE_DIR" in os.environ:  # a worktree's tests against the lab of the main checkout
        extra["VOIPLAB_STATE_DIR"] = os.environ["VOIPLAB_STATE_DIR"]
    env = ansible_environment(ROOT, **extra)
    command = [shutil.which("ansible-playbook", path=env["PATH"]) or "ansible-playbook", "-i", str(LAB),
               str(playbook)]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    start = run.stdout.find("{")
    assert start >= 0, run.stdout[-3000:] + run.stderr[-2000:]
    report, _ = json.JSONDecoder().raw_decode(run.stdout[start:])
    return run, report


def test_a_call_is_answered_and_a_wrong_password_refused(tmp_path, cs1, callee_binding):
    wrong = "not-" + cs1["caller"]["password"]
    secrets_file = tmp_path / "accounts.yml"
    secrets_file.touch(mode=0o600)
    secrets_file.write_text(yaml.safe_dump({"accounts": {**cs1, "wrong": wrong}}))
    call = {
        "server": "{{ accounts.address }}", "domain": "{{ accounts.domain }}",
        "caller": "{{ accounts.caller }}", "callee": "{{ accounts.callee }}", "timeout": TIMEOUT,
    }  # fmt: skip
    playbook = [
        {
            "name": "Test calls through cs1 from the controller",
            "hosts": SERVER,
            "gather_facts": False,
            "vars_files": [str(secrets_file)],
            "tasks": [
                {"name": "A call", "voip.estate.sip_test_call": call, "delegate_to": "localhost"},
                # Two seconds apart: cs1 throttles a source (pike) per two-second unit.
                {"name": "Pause", "ansible.builtin.pause": {"seconds": 2}},
                {
                    "name": "A call with a wrong caller password",
                    "voip.estate.sip_test_call": {
                        **call,
                        "caller": {"user": "{{ accounts.caller.user }}", "password": "{{ accounts.wrong }}"},
                        "fail_on_unexpected": False,
                    },
                    "delegate_to": "localhost",
                },
            ],
        }
    ]
    (tmp_path / "call.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    run, report = _ansible_playbook(tmp_path / "call.yml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    tasks = report["plays"][0]["tasks"]
    answered, refused = tasks[0]["hosts"][SERVER], tasks[2]["hosts"][SERVER]
    invite = f"INVITE to {cs1['callee']['user']}@{cs1['domain']} via {cs1['address']}:5060/udp"

    assert answered["ok"] is True and answered["changed"] is False, answered["msg"]
    assert (answered["status"], answered["reason"]) == (200, "OK")
    assert 0 < answered["setup_ms"] < TIMEOUT * 1000
    assert answered["ack"] is answered["bye"] is answered["unregistered"] is True
    assert answered["codec"] in ("PCMA", "PCMU")
    assert answered["media"].startswith(f"{cs1['address']}:")  # anchored on cs1's rtpengine
    assert answered["msg"].startswith(f"{invite}: 200 OK in ")

    assert (refused["ok"], refused["changed"], refused["status"]) == (False, False, 403)
    assert refused["msg"] == f"{invite}: 403 Forbidden"
    assert refused["registered"] is refused["unregistered"] is True

    output = run.stdout + run.stderr
    for password in (cs1["caller"]["password"], cs1["callee"]["password"], wrong):
        assert password not in output
    # Gone, or (usrloc write-back, db_mode 2) kept expired until the next timer flush: no valid contact either way.
    binding = callee_binding()
    assert "AOR not found" in binding or "AOR has no contacts" in binding, (
        "the callee's binding was left behind"
    )
