"""Gateways and switches through netmiko against the lab's gw1 (IOS voice gateway simulator) and sw1.

The lab converge (site.yml) has configured both. These tests change the
devices by hand over SSH, as an engineer would, and prove that
``playbooks/network.yml``:

- in check mode lists exactly the lines that would change and changes nothing;
- puts back a line changed by hand, removes a dial-peer the model does not
  have, and reports both in the diff; a second run changes nothing;
- removes a dial-peer (and its voice-port) removed from the model;
- with gw1 stopped, fails for gw1 with a clear message and still configures sw1;
- with gw1 presenting another host key than the pinned one (or none pinned),
  fails for gw1 before the login with both fingerprints, sends it nothing,
  and still configures sw1;

(their backups: tests/lab/test_backup.py).
No run prints the devices' password.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from netmiko import ConnectHandler

from voipctl.adapters import inventory
from voiplab.lab import ansible_environment
from voiplab.readiness import ssh_banner

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
STATE = ROOT / ".lab"
# The known_hosts file the lab inventory pins the devices' host keys in (voip_device_known_hosts).
KNOWN_HOSTS = STATE / "ssh" / "known_hosts"
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}


class Login(dict):
    """A device's address and login; its repr (in a failure report) shows no password."""

    def __repr__(self) -> str:
        return f"<login {self.get('voip_device_username')}@{self.get('ansible_host')}>"


@pytest.fixture(scope="module")
def devices():
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    inv = inventory.load(LAB, only=("ansible_host", "voip_device_username", "voip_device_password"))
    return {name: Login(inv.hosts[name]) for name in ("gw1", "sw1")}


def cli(devices, name: str, config: list[str] | None = None, show: str = "show running-config") -> str:
    """Log in to a device as an engineer would; push ``config`` (unsaved) and return ``show``'s output."""
    host = devices[name]
    conn = ConnectHandler(
        device_type="cisco_ios", host=host["ansible_host"], username=host["voip_device_username"],
        password=host["voip_device_password"], timeout=20,
        ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=str(KNOWN_HOSTS),
    )  # fmt: skip
    try:
        conn.enable()
        if config:
            conn.send_config_set(config, cmd_verify=False)
        return conn.send_command(show)
    finally:
        conn.disconnect()


def playbook(
    name: str, *args: str, inventory_dir: Path = LAB, check: bool = False
) -> subprocess.CompletedProcess:
    cmd = [
        str(ROOT / ".venv" / "bin" / "ansible-playbook"),
        "-i",
        str(inventory_dir),
        str(ROOT / "playbooks" / name),
    ]
    cmd += ["--diff", *args] + (["--check"] if check else [])
    env = ansible_environment(
        ROOT, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", VOIPLAB_STATE_DIR=str(STATE)
    )
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env)


def report(run: subprocess.CompletedProcess) -> dict[str, dict]:
    """The netdev task result of each device from the JSON report."""
    data, _ = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{") :])
    results = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("action") in ("voip.estate.netdev_config", "voip.estate.netdev_backup"):
                    results[host] = result
    return results


def no_password(run: subprocess.CompletedProcess, devices: dict) -> bool:
    passwords = {login["voip_device_password"] for login in devices.values()}
    return not any(p in run.stdout or p in run.stderr for p in passwords)


def test_converged_devices_match_the_model(devices):
    run = playbook("network.yml", check=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert no_password(run, devices)
    results = report(run)
    assert {h: r["changed"] for h, r in results.items()} == {"gw1": False, "sw1": False}
    gw = cli(devices, "gw1")
    for line in ("dial-peer voice 400 pots", " destination-pattern 2990", " session target ipv4:10.231.0.11:5060",
                 " pri-group timeslots 1-31", "voice-port 0/3/0", " connection plar opx 2900"):  # fmt: skip
        assert f"\n{line}" in gw, line
    sw = cli(devices, "sw1", show="show running-config interface GigabitEthernet1/0/1")
    for line in ("switchport voice vlan 110", "mls qos trust dscp", "spanning-tree portfast"):
        assert line in sw, line
    # Saved: the startup configuration is the running one.
    assert "dial-peer voice 400 pots" in cli(devices, "gw1", show="show startup-config")


def test_drift_is_listed_in_check_mode_then_repaired(devices):
    cli(devices, "gw1", ["dial-peer voice 400 pots", " destination-pattern 2999", "dial-peer voice 999 voip",
                         " description added by hand", " session protocol sipv2"])  # fmt: skip
    cli(devices, "sw1", ["interface GigabitEthernet1/0/2", " no switchport voice vlan"])

    check = playbook("network.yml", check=True)
    assert check.returncode == 0, check.stdout[-3000:]
    planned = report(check)
    assert planned["gw1"]["changed"] and planned["sw1"]["changed"]
    assert planned["gw1"]["commands"] == [
        "dial-peer voice 400 pots", " no destination-pattern 2999", " destination-pattern 2990",
        "no dial-peer voice 999 voip",
    ]  # fmt: skip
    assert planned["sw1"]["commands"] == ["interface GigabitEthernet1/0/2", " switchport voice vlan 110"]
    # Check mode changed nothing.
    assert " destination-pattern 2999" in cli(devices, "gw1")

    run = playbook("network.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert no_password(run, devices)
    done = report(run)
    assert done["gw1"]["changed"] and done["gw1"]["saved"]
    diff = done["gw1"]["diff"]
    assert "dial-peer voice 400 pots / destination-pattern 2999" in diff["before"]
    assert "dial-peer voice 999 voip" in diff["before"]
    assert "dial-peer voice 400 pots / destination-pattern 2990" in diff["after"]
    gw = cli(devices, "gw1")
    assert " destination-pattern 2990" in gw and "dial-peer voice 999" not in gw
    assert "switchport voice vlan 110" in cli(
        devices, "sw1", show="show running-config interface GigabitEthernet1/0/2"
    )
    again = playbook("network.yml")
    assert {h: r["changed"] for h, r in report(again).items()} == {"gw1": False, "sw1": False}


def test_dial_peer_removed_from_the_model_is_removed_from_the_device(devices, tmp_path):
    copy = tmp_path / "lab"
    shutil.copytree(LAB, copy, symlinks=True)
    gateway_file = copy / "host_vars" / "gw1" / "gateway.yml"
    data = yaml.safe_load(gateway_file.read_text())
    data["voip_gateway"]["fxs_ports"] = [p for p in data["voip_gateway"]["fxs_ports"] if p["port"] != "0/2/1"]
    gateway_file.write_text(yaml.safe_dump(data))
    try:
        run = playbook("network.yml", "--limit", "gw1", inventory_dir=copy)
        assert run.returncode == 0, run.stdout[-3000:]
        assert set(report(run)["gw1"]["commands"]) == {"no dial-peer voice 401 pots", "no voice-port 0/2/1"}
        gw = cli(devices, "gw1")
        assert "dial-peer voice 401" not in gw and "voice-port 0/2/1" not in gw
    finally:
        back = playbook("network.yml", "--limit", "gw1")
    assert back.returncode == 0 and "dial-peer voice 401 pots" in cli(devices, "gw1")


def test_stopped_gateway_fails_clearly_and_the_switch_is_still_configured(devices):
    cli(devices, "sw1", ["interface GigabitEthernet1/0/3", " no mls qos trust"])
    subprocess.run(
        ["podman", "stop", "-t", "2", "voiplab-gw1"], env=PODMAN_ENV, check=True, capture_output=True
    )
    try:
        run = playbook("network.yml")
        assert run.returncode != 0
        assert no_password(run, devices)
        results = report(run)
        assert results["gw1"]["failed"]
        assert "10.231.0.41:22: no SSH answer" in results["gw1"]["msg"]
        assert results["sw1"]["changed"] and not results["sw1"].get("failed")
        assert "mls qos trust dscp" in cli(
            devices, "sw1", show="show running-config interface GigabitEthernet1/0/3"
        )
    finally:
        subprocess.run(["podman", "start", "voiplab-gw1"], env=PODMAN_ENV, check=True, capture_output=True)
        deadline = time.monotonic() + 60
        while not ssh_banner(devices["gw1"]["ansible_host"], timeout=2.0) and time.monotonic() < deadline:
            time.sleep(1)
    # Its saved configuration came back with it.
    assert "dial-peer voice 400 pots" in cli(devices, "gw1")


def fingerprint(public_line: str) -> str:
    """``ssh-ed25519 SHA256:...`` of an OpenSSH public key line."""
    kind, blob = public_line.split()[:2]
    digest = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
    return f"{kind} SHA256:{digest}"


def other_key(tmp_path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    return " ".join((tmp_path / "other.pub").read_text().split()[:2])


def test_gateway_with_a_changed_host_key_is_refused_and_the_switch_is_still_configured(devices, tmp_path):
    presented = " ".join(
        (STATE / "ssh" / "hosts" / "gw1" / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    )
    impostor_pin = other_key(tmp_path)
    # The controller's pin for gw1 is another key now: for it, gw1's key changed.
    known = tmp_path / "known_hosts"
    known.write_text(
        "".join(
            f"{line.split()[0]} {impostor_pin}\n" if line.startswith("gw1,") else f"{line}\n"
            for line in KNOWN_HOSTS.read_text().splitlines()
        )
    )
    cli(devices, "gw1", ["dial-peer voice 400 pots", " destination-pattern 2998"])
    cli(devices, "sw1", ["interface GigabitEthernet1/0/4", " no mls qos trust"])
    try:
        run = playbook("network.yml", "-e", f"voip_device_known_hosts={known}")
        assert run.returncode != 0
        assert no_password(run, devices)
        results = report(run)
        msg = results["gw1"]["msg"]
        assert results["gw1"]["failed"] and "Traceback" not in run.stdout
        assert msg.startswith(
            f"10.231.0.41:22: changed SSH host key: {known} pins {fingerprint(impostor_pin)}"
        )
        assert f"the device presented {fingerprint(presented)}. Nothing was sent to it" in msg
        assert msg.endswith(f"replace its line in {known} (voip_device_known_hosts)")
        # Nothing was sent to gw1: the hand change is still there.
        assert " destination-pattern 2998" in cli(devices, "gw1")
        # The switch was configured all the same.
        assert results["sw1"]["changed"] and not results["sw1"].get("failed")
        assert "mls qos trust dscp" in cli(
            devices, "sw1", show="show running-config interface GigabitEthernet1/0/4"
        )
    finally:
        back = playbook("network.yml")
    assert back.returncode == 0, back.stdout[-3000:]
    assert " destination-pattern 2990" in cli(devices, "gw1")


def test_gateway_without_a_pinned_key_is_refused_with_the_key_it_presents(devices, tmp_path):
    presented = (STATE / "ssh" / "hosts" / "gw1" / "ssh_host_ed25519_key.pub").read_text()
    known = tmp_path / "known_hosts"
    known.write_text(
        "".join(f"{line}\n" for line in KNOWN_HOSTS.read_text().splitlines() if not line.startswith("gw1,"))
    )
    run = playbook("network.yml", "--limit", "gw1", "-e", f"voip_device_known_hosts={known}")
    assert run.returncode != 0
    msg = report(run)["gw1"]["msg"]
    assert msg.startswith(f"10.231.0.41:22: unknown SSH host key: {known} pins none for this device")
    assert f"which presented {fingerprint(presented)}. Nothing was sent to it" in msg
    assert known.read_text().count("\n") == len(KNOWN_HOSTS.read_text().splitlines()) - 1  # nothing learnt
