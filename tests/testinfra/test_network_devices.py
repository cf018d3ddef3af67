"""Network devices of the lab answer SSH and speak an IOS CLI (netmiko)."""

from __future__ import annotations

from lab_expect import LAB
from netmiko import ConnectHandler

from voipctl.lab import ssh_banner


def test_device_answers_ssh(device_name):
    assert ssh_banner(LAB.host(device_name).address, timeout=3.0)


def test_device_shows_its_running_config(device_name):
    """Functional: netmiko logs in, enters enable mode and reads the configuration."""
    # The simulators' lab login; real credentials come from the vault (issue on gateways).
    conn = ConnectHandler(
        device_type="cisco_ios",
        host=LAB.host(device_name).address,
        username="root",
        password="root",
        secret="",
        timeout=20,
    )
    try:
        conn.enable()
        config = conn.send_command("show running-config")
    finally:
        conn.disconnect()
    assert f"hostname {device_name}" in config
