"""Network devices of the lab answer SSH and speak an IOS CLI (netmiko)."""

from __future__ import annotations

import os
from pathlib import Path

from lab_expect import LAB
from netmiko import ConnectHandler

from voipctl.adapters import inventory
from voiplab.readiness import ssh_banner

ROOT = Path(__file__).resolve().parents[2]


def test_device_answers_ssh(device_name):
    assert ssh_banner(LAB.host(device_name).address, timeout=3.0)


def test_device_shows_its_running_config(device_name):
    """Functional: netmiko logs in, enters enable mode and reads the configuration."""
    # The devices' login from the inventory (the password from the vault).
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    login = inventory.load(ROOT / "inventory" / "lab", only=("voip_device_username", "voip_device_password"))
    conn = ConnectHandler(
        device_type="cisco_ios",
        host=LAB.host(device_name).address,
        username=login.hosts[device_name]["voip_device_username"],
        password=login.hosts[device_name]["voip_device_password"],
        timeout=20,
        # The device's host key pinned, as the modules pin it.
        ssh_strict=True,
        system_host_keys=False,
        alt_host_keys=True,
        alt_key_file=str(LAB.ssh_dir / "known_hosts"),
    )
    try:
        conn.enable()
        config = conn.send_command("show running-config")
    finally:
        conn.disconnect()
    assert f"hostname {device_name}" in config
