"""collections/ansible_collections/voip/estate/plugins/action/netdev_backup: the module's backup, in Ansible's worker.

The SSH layer is a stand-in (``voip_netdev.connect`` returns a fake
session): what is tested is what the action plugin and the module do with
what the device returns, side by side - the same result, byte for byte, the
same file with the same mode, the same failures, and no password anywhere in
a result. The host key checks and the real session are tested against the
gateway simulator in the repository's tests (tests/unit/test_netdev_security.py).
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.voip.estate.plugins.module_utils import voip_netdev

PASSWORD = "device-login-Pa55"
RUNNING = (
    "Building configuration...\r\n\r\nCurrent configuration : 1234 bytes\r\n"
    "! Last configuration change at 02:00:00 UTC Sat Dec 5 2026\r\n"
    "version 17.9\r\nhostname gw1\r\nusername admin privilege 15 secret 9 $9$abc\r\n!\r\nend\r\n"
)
STORED = "version 17.9\nhostname gw1\nusername admin privilege 15 secret 9 $9$abc\n!\nend\n"


class FakeSession:
    def __init__(self, device):
        self.device = device

    def send_command(self, command, read_timeout=None):
        assert command == "show running-config"
        self.device["commands"].append(command)
        if isinstance(self.device["config"], Exception):
            raise self.device["config"]
        return self.device["config"]

    def disconnect(self):
        self.device["disconnected"] += 1


@pytest.fixture
def device(monkeypatch):
    """The device behind voip_netdev.connect: what it returns, what it was sent, its sessions."""
    state = {"config": RUNNING, "commands": [], "disconnected": 0, "connected": []}

    def connect(params):
        state["connected"].append(params)
        refused = state.get("refuse")  # an exception, when the test sets one
        if refused is not None:
            raise refused
        return FakeSession(state)

    monkeypatch.setattr(voip_netdev, "connect", connect)
    return state


def args(tmp_path, **extra):
    return {"host": "192.0.2.41", "port": 22, "username": "admin", "password": PASSWORD,
            "known_hosts": str(tmp_path / "known_hosts"), "dest": str(tmp_path / "stage" / "gw1" / "running-config"),
            } | extra  # fmt: skip


def by_action(action_runner, module_runner, how, task_args, check=False, diff=False):
    """The result of a task run by the action plugin or by the module alone."""
    if how == "action":
        return action_runner("netdev_backup", task_args, check=check, diff=diff)
    code, result = module_runner("netdev_backup", task_args, check=check, diff=diff)[:2]
    assert code == (1 if result.get("failed") else 0)
    return result


@pytest.mark.parametrize("how", ["action", "module"])
def test_check_apply_reapply_with_the_diff(device, tmp_path, action_runner, module_runner, how):
    task = args(tmp_path)
    dest = task["dest"]
    checked = by_action(action_runner, module_runner, how, task, check=True, diff=True)
    assert checked["changed"] and not os.path.exists(dest)
    applied = by_action(action_runner, module_runner, how, task, diff=True)
    assert applied["changed"]
    with open(dest) as handle:
        assert handle.read() == STORED
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert not [n for n in os.listdir(os.path.dirname(dest)) if n != "running-config"]  # no temporary left
    again = by_action(action_runner, module_runner, how, task, diff=True)
    assert not again["changed"]
    digest = voip_netdev.sha256(STORED)
    assert (applied["sha256"], applied["size"], applied["lines"]) == (digest, len(STORED), 5)
    assert applied["diff"] == {"before": "", "after": f"sha256 {digest}\n"}
    assert again["diff"] == {"before": f"sha256 {digest}\n", "after": f"sha256 {digest}\n"}
    assert "diff" not in by_action(action_runner, module_runner, how, task)
    assert device["commands"] == ["show running-config"] * 4 and device["disconnected"] == 4


def comparable(result: dict) -> str:
    """A result as the play sees it, without what only a module process adds."""
    return json.dumps({k: v for k, v in result.items() if not k.startswith("_ansible")}, sort_keys=True)


@pytest.mark.parametrize("check", [False, True])
@pytest.mark.parametrize("diff", [False, True])
@pytest.mark.parametrize("before", [None, STORED, "hostname old\n"])
def test_the_action_returns_what_the_module_returns(
    device, tmp_path, action_runner, module_runner, check, diff, before
):
    results, files = [], []
    for how in ("module", "action"):
        task = args(tmp_path, dest=str(tmp_path / how / "running-config"))
        if before is not None:
            os.makedirs(tmp_path / how)
            (tmp_path / how / "running-config").write_text(before)
        result = by_action(action_runner, module_runner, how, task, check=check, diff=diff)
        results.append(comparable(result).replace(f"/{how}/", "/HOW/"))
        files.append(
            (tmp_path / how / "running-config").read_text() if os.path.exists(task["dest"]) else None
        )
    assert results[0] == results[1]
    assert files[0] == files[1]
    assert PASSWORD not in results[1]
    assert (
        json.loads(results[1])["invocation"]["module_args"]["password"]
        == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    )


FAILURES = {
    # name: (what the device does, the message's start, what it must not show)
    "refused key": (
        {"refuse": voip_netdev.NetdevError("192.0.2.41:22: changed SSH host key: pins ssh-ed25519 SHA256:x")},
        "192.0.2.41:22: changed SSH host key",
        None,
    ),
    "secret in a device error": (
        {"refuse": voip_netdev.NetdevError("192.0.2.41:22: refused 'enable secret 9 $9$topsecret'")},
        "192.0.2.41:22: refused 'enable secret 9 ********",
        "$9$topsecret",
    ),
    "empty configuration": (
        {"config": "Building configuration...\r\n\r\n"},
        "192.0.2.41: the device returned an empty",
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
@pytest.mark.parametrize("how", ["action", "module"])
def test_a_failure_fails_the_host_with_its_message_and_writes_nothing(
    device, tmp_path, action_runner, module_runner, how, name
):
    behaviour, start, hidden = FAILURES[name]
    device.update(behaviour)
    task = args(tmp_path)
    result = by_action(action_runner, module_runner, how, task)
    assert result["failed"] and result["msg"].startswith(start), result["msg"]
    assert not os.path.exists(task["dest"])
    text = json.dumps(result)
    assert PASSWORD not in text and (hidden is None or hidden not in text)


@pytest.mark.parametrize("how", ["action", "module"])
def test_an_unwritable_dest_is_named(device, tmp_path, action_runner, module_runner, how):
    (tmp_path / "stage").write_text("a file where the stage's directory should be\n")
    result = by_action(action_runner, module_runner, how, args(tmp_path))
    assert result["failed"] and result["msg"].startswith(
        f"cannot write {tmp_path / 'stage' / 'gw1' / 'running-config'}: "
    )


def test_an_unexpected_error_fails_this_host_alone_with_no_password(device, tmp_path, action_runner):
    """In the worker an exception would be Ansible's 'unexpected failure'; the module process's traceback went
    to module_stderr unmasked. The action plugin fails the host with the error, masked, the session closed."""
    device["config"] = EOFError(
        f"session closed after 'username admin password {PASSWORD}' (login {PASSWORD})"
    )
    result = action_runner("netdev_backup", args(tmp_path))
    assert result["failed"]
    assert result["msg"].startswith(
        "192.0.2.41:22: cannot back up: EOFError: session closed after 'username admin password ********"
    )
    assert PASSWORD not in json.dumps(result)
    assert device["disconnected"] == 1 and not os.path.exists(args(tmp_path)["dest"])


def test_the_arguments_are_checked_with_the_modules_spec(device, tmp_path, action_runner):
    with pytest.raises(
        AnsibleActionFail, match=r"Unsupported parameters for \(voip.estate.netdev_backup\) module: colour"
    ):
        action_runner("netdev_backup", args(tmp_path, colour="blue"))
    with pytest.raises(AnsibleActionFail, match="missing required arguments: dest"):
        action_runner("netdev_backup", {k: v for k, v in args(tmp_path).items() if k != "dest"})
    assert device["connected"] == []
    result = action_runner(
        "netdev_backup", args(tmp_path, port="2022", dest="~/x/running-config"), check=True
    )
    params = result["invocation"]["module_args"]
    assert params["port"] == 2022 and params["timeout"] == 20 and params["device_type"] == "cisco_ios"
    assert params["dest"] == os.path.expanduser("~/x/running-config") == result["path"]
    assert device["connected"][0]["port"] == 2022
