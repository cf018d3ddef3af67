"""The sip_options module from the controller against the lab's call servers (reads only).

A tiny playbook over the ``call_servers`` group, delegated to localhost as
the health checks run it, must get ``200`` from every call server over UDP
and TCP, with a latency, in normal and in check mode; a port where nothing
listens (the firewall drops it) must time out with a message naming the
target. Nothing is changed on any host.
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
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
# Nothing listens there on a call server; the firewall drops it without an answer.
CLOSED_PORT = 5099

PING = [
    {
        "name": "Ask the call servers",
        "hosts": "call_servers",
        "gather_facts": False,
        "tasks": [
            {
                "name": "SIP OPTIONS from the controller",
                "voip.estate.sip_options": {
                    "target": "{{ ansible_host }}",
                    "transport": "{{ item }}",
                    "timeout": 2,
                    "headers": ["Allow"],
                },
                "delegate_to": "localhost",
                "loop": ["udp", "tcp"],
            }
        ],
    }
]


@pytest.fixture(scope="module")
def call_servers() -> dict[str, str]:
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    inv = inventory.load(LAB, only=("ansible_host",))
    return {name: inv.hosts[name]["ansible_host"] for name in inv.hosts_in("call_servers")}


def _environment() -> dict[str, str]:
    extra = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}
    if "VOIPLAB_STATE_DIR" in os.environ:  # a worktree's tests against the lab of the main checkout
        extra["VOIPLAB_STATE_DIR"] = os.environ["VOIPLAB_STATE_DIR"]
    return ansible_environment(ROOT, **extra)


def _ansible(tool: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = _environment()
    command = [shutil.which(tool, path=env["PATH"]) or tool, "-i", str(LAB), *args]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    start = run.stdout.find("{")
    assert start >= 0, run.stdout[-3000:] + run.stderr[-2000:]
    report, _ = json.JSONDecoder().raw_decode(run.stdout[start:])
    return run, report


@pytest.mark.parametrize("check", [False, True])
def test_every_call_server_answers_200_with_a_latency(tmp_path, call_servers, check):
    playbook = tmp_path / "ping.yml"
    playbook.write_text(yaml.safe_dump(PING, sort_keys=False))
    run, report = _ansible("ansible-playbook", str(playbook), *(["--check"] if check else []))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    hosts = report["plays"][0]["tasks"][0]["hosts"]
    assert set(hosts) == set(call_servers) and {"cs1", "cs2"} <= set(hosts)
    for name, address in call_servers.items():
        results = hosts[name]["results"]
        assert [r["item"] for r in results] == ["udp", "tcp"]
        for result in results:
            where = f"{name} {result['item']}"
            assert result["ok"] is True and result["changed"] is False, where
            assert (result["status"], result["address"]) == (200, address), where
            assert 0 < result["latency_ms"] < 1000, where
            assert result["headers"]["Server"], where  # the call server names itself
            assert set(result["headers"]) == {"Server", "User-Agent", "Allow"}, where
            assert result["msg"].startswith(f"{address}:5060/{result['item']} answered 200 "), where


def test_a_port_with_nothing_listening_times_out_naming_the_target(call_servers):
    address = call_servers["cs1"]
    run, report = _ansible(
        "ansible",
        "localhost",
        "-m",
        "voip.estate.sip_options",
        "-a",
        f"target={address} port={CLOSED_PORT} timeout=1",
    )
    assert run.returncode != 0
    result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == f"no answer from {address}:{CLOSED_PORT}/udp within 1.0 s"
    assert (result["ok"], result["status"], result["latency_ms"]) == (False, None, None)
