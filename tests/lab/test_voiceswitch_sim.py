"""The voice access switch simulator (lab/images/netdev/voiceswitch.py), driven by netmiko.

A throwaway container from the lab's netdev image runs the launcher of this
checkout (mounted read-only) next to the lab; the tests talk to it over SSH
as the switch modules will (netmiko ``cisco_ios``): voice interface commands
shown in IOS form, their ``no`` forms, ``end`` leaving configuration mode,
``write memory`` surviving a restart while unsaved changes do not, IOS's
answer to an unknown command, and no password in the container's log.
Needs the lab's image and network (``make lab-up``); the lab's own containers
are not touched.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException

from tests.image_server import serving
from voiplab import deviceimages
from voiplab.podman import Podman
from voiplab.readiness import ssh_banner

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "lab" / "images" / "netdev" / "voiceswitch.py"
NETFLASH = ROOT / "lab" / "images" / "netdev" / "netflash.py"
# The lab bridge's address on this controller: the switch fetches images from it over HTTP.
CONTROLLER = "10.231.0.1"
IMAGE = "localhost/voiplab-netdev:latest"
NAME = "voiplab-swtest"
HOSTNAME = "swtest"
ADDRESS = "10.231.0.59"
# Fixed, so that a neighbour entry left by an earlier container on this
# address cannot point at a stale MAC.
MAC = "02:00:0a:e7:00:3b"
USERNAME = "admin"
PASSWORD = "swtest-Lab-9f3c"
INVALID = "% Invalid input detected at '^' marker."

VOICE_PORT = [
    "interface GigabitEthernet1/0/1",
    "description jdevries desk",
    "switchport mode access",
    "switchport access vlan 10",
    "switchport voice vlan 110",
    "mls qos trust dscp",
    "power inline never",
    "spanning-tree portfast",
]
# The same block as `show running-config` prints it (IOS order).
VOICE_PORT_SHOWN = [
    "interface GigabitEthernet1/0/1",
    " description jdevries desk",
    " switchport access vlan 10",
    " switchport mode access",
    " switchport voice vlan 110",
    " power inline never",
    " mls qos trust dscp",
    " spanning-tree portfast",
]


def _wait_for_ssh(timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ssh_banner(ADDRESS, timeout=0.5):
            return
        time.sleep(0.2)
    pytest.fail(f"{NAME} answered no SSH on {ADDRESS}:22 within {timeout:.0f}s")


@pytest.fixture(scope="module")
def podman() -> Podman:
    return Podman(ROOT / "lab" / "containers.conf")


@pytest.fixture(scope="module")
def switch(podman):
    """The simulator's container, removed at the end whatever happened."""
    podman.run(["rm", "-f", "-t", "2", NAME], what=f"removing a leftover {NAME}")
    podman.run(
        [
            "run",
            "-d",
            "--init",
            "--name",
            NAME,
            "--network",
            "voiplab",
            "--ip",
            ADDRESS,
            "--mac-address",
            MAC,
            "-v",
            f"{LAUNCHER}:/opt/netdev/voiceswitch.py:ro",
            "-v",
            f"{NETFLASH}:/opt/netdev/netflash.py:ro",
            IMAGE,
            "/opt/netdev/bin/python",
            "/opt/netdev/voiceswitch.py",
            "--hostname",
            HOSTNAME,
            "--listen-host",
            "0.0.0.0",
            "--listen-port",
            "22",
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
            "--state-dir",
            "/var/lib/voiceswitch",
            "--reload-seconds",
            "3",
        ],
        what=f"starting {NAME}",
    )
    try:
        _wait_for_ssh()
        yield NAME
    finally:
        podman.run(["rm", "-f", "-t", "2", NAME], check=False)


def _connect():
    return ConnectHandler(
        device_type="cisco_ios", host=ADDRESS, username=USERNAME, password=PASSWORD, conn_timeout=5
    )


def _interface(conn, name: str) -> list[str]:
    """The interface block of ``show running-config interface NAME``."""
    out = conn.send_command(f"show running-config interface {name}")
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("interface "))
    return lines[start : lines.index("end", start)]


def test_login_lands_in_privileged_exec_with_48_gigabit_ports(switch):
    with _connect() as conn:
        assert conn.find_prompt() == f"{HOSTNAME}#"
        conn.enable()  # what a module does; a no-op here
        running = conn.send_command("show running-config").splitlines()
    interfaces = [line for line in running if line.startswith("interface ")]
    assert interfaces == [f"interface GigabitEthernet1/0/{n}" for n in range(1, 49)]


def test_voice_port_shows_in_ios_form(switch):
    with _connect() as conn:
        output = conn.send_config_set(["mls qos", "vlan 110", "name VOICE", *VOICE_PORT])
        assert INVALID not in output
        assert conn.check_config_mode() is False  # `end` brought netmiko back to the # prompt
        assert _interface(conn, "Gi1/0/1") == VOICE_PORT_SHOWN
        running = conn.send_command("show running-config")
    assert "\nmls qos\n" in running
    assert "\nvlan 110\n name VOICE\n" in running
    assert "\n".join(VOICE_PORT_SHOWN) + "\n!" in running


def test_no_forms_remove_the_voice_lines(switch):
    with _connect() as conn:
        conn.send_config_set([line.replace("/0/1", "/0/2") for line in VOICE_PORT])
        output = conn.send_config_set(
            [
                "interface GigabitEthernet1/0/2",
                "no switchport voice vlan",
                "no mls qos trust",
                "no power inline never",
                "no spanning-tree portfast",
                "exit",
                "no mls qos",
            ]
        )
        assert INVALID not in output
        assert _interface(conn, "Gi1/0/2") == [
            "interface GigabitEthernet1/0/2",
            " description jdevries desk",
            " switchport access vlan 10",
            " switchport mode access",
        ]
        assert "\nmls qos\n" not in conn.send_command("show running-config")


def test_ntp_servers_and_logging_hosts_with_their_no_forms(switch):
    with _connect() as conn:
        output = conn.send_config_set(
            ["ntp server 10.0.0.31", "ntp server 10.0.0.32", "logging host 10.0.0.40"]
        )
        assert INVALID not in output
        running = conn.send_command("show running-config")
        assert "\nlogging host 10.0.0.40\n!\nntp server 10.0.0.31\nntp server 10.0.0.32\n!\nend" in running
        conn.send_config_set(["no ntp server 10.0.0.32", "no logging host 10.0.0.40"])
        running = conn.send_command("show running-config")
        assert (
            "ntp server 10.0.0.31" in running and "10.0.0.32" not in running and "logging host" not in running
        )
        assert INVALID in conn.send_config_set(["ntp server not-an-address"])


def test_unknown_command_is_invalid_input(switch):
    with _connect() as conn:
        assert INVALID in conn.send_command("frobnicate the switch")
        output = conn.send_config_set(
            ["interface GigabitEthernet1/0/3", "frobnicate", "power inline sometimes"]
        )
        assert output.count(INVALID) == 2
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(
                ["interface GigabitEthernet1/0/3", "frobnicate"], error_pattern=r"% Invalid input"
            )
        # netmiko raises without leaving configuration mode, as with real IOS:
        # EXEC commands are invalid there until the caller sends `end`.
        assert conn.find_prompt() == f"{HOSTNAME}(config-if)#"
        assert INVALID in conn.send_command("show running-config", expect_string=r"#")
        assert "interface GigabitEthernet1/0/3" in conn.send_command(
            "do show running-config", expect_string=r"#"
        )
        conn.exit_config_mode()
        assert _interface(conn, "Gi1/0/3") == ["interface GigabitEthernet1/0/3"]


def test_global_command_in_a_sub_mode_leaves_it(switch):
    with _connect() as conn:
        conn.config_mode()
        conn.send_command("interface GigabitEthernet1/0/4", expect_string=r"\(config-if\)#")
        conn.send_command("vlan 120", expect_string=r"\(config-vlan\)#")
        assert conn.find_prompt() == f"{HOSTNAME}(config-vlan)#"
        conn.send_command("mls qos", expect_string=r"#")
        assert conn.find_prompt() == f"{HOSTNAME}(config)#"
        conn.exit_config_mode()
        assert "\nvlan 120\n" in conn.send_command("show running-config")


def test_write_memory_survives_a_restart_unsaved_changes_do_not(switch, podman):
    saved = ["interface GigabitEthernet1/0/5", "switchport voice vlan 110", "power inline never"]
    unsaved = ["interface GigabitEthernet1/0/6", "switchport voice vlan 110", "spanning-tree portfast"]
    with _connect() as conn:
        conn.send_config_set(saved)
        assert "[OK]" in conn.save_config()
        conn.send_config_set(unsaved)
        assert _interface(conn, "Gi1/0/6") == [
            "interface GigabitEthernet1/0/6",
            " switchport voice vlan 110",
            " spanning-tree portfast",
        ]
    podman.run(["restart", "-t", "5", switch], what=f"restarting {switch}")
    _wait_for_ssh()
    with _connect() as conn:
        assert _interface(conn, "Gi1/0/5") == [
            "interface GigabitEthernet1/0/5",
            " switchport voice vlan 110",
            " power inline never",
        ]
        assert _interface(conn, "Gi1/0/6") == ["interface GigabitEthernet1/0/6"]
        assert "\nvlan 110\n" in conn.send_command("show startup-config")


def test_no_password_in_the_log(switch, podman):
    with _connect() as conn:
        conn.send_command("show version")
    result = podman.run(["logs", switch])
    log = result.stdout + result.stderr
    assert "SSH on 0.0.0.0:22 for user admin" in log
    assert PASSWORD not in log


# -- flash, boot images and reload (#29) ------------------------------------------------


@pytest.fixture
def web(tmp_path):
    """HTTP of ``tmp_path / 'www'`` on the lab bridge's address; yields (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    with serving(root, CONTROLLER) as base:
        yield root, base


def _refused() -> bool:
    try:
        socket.create_connection((ADDRESS, 22), timeout=1).close()
    except OSError:
        return True
    return False


def _reload(conn) -> None:
    """``reload`` confirmed; SSH goes away, then comes back."""
    assert conn.send_command_timing("reload").rstrip().endswith("Proceed with reload? [confirm]")
    conn.write_channel("\n")
    deadline = time.monotonic() + 5
    while not _refused() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _refused(), "SSH still answered after the reload was confirmed"
    conn.disconnect()
    _wait_for_ssh()


def _copy(conn, url: str) -> str:
    out = conn.send_command_timing(f"copy {url} flash:")
    assert out.rstrip().endswith("]?"), out
    return conn.send_command_timing("", read_timeout=30)


def test_an_image_is_copied_checked_and_booted_and_a_broken_one_boots_without_the_configuration(switch, web):
    netflash = deviceimages.netflash(ROOT)
    root, base = web
    good = netflash.image_bytes("c3750", "15.0(2)SE11", size=200_000)
    broken = netflash.image_bytes("c3750", "15.0(2)SE12", broken=True)
    (root / "c3750-15.0.2-SE11.bin").write_bytes(good)
    (root / "c3750-15.0.2-SE12.bin").write_bytes(broken)
    with _connect() as conn:
        factory = conn.send_command("show version")
        assert "Version 12.2(58)SE2" in factory and "System returned to ROM by power-on" in factory
        conn.send_config_set(VOICE_PORT)
        assert "[OK]" in conn.save_config()
        assert "[OK - 200000 bytes]" in _copy(conn, f"{base}/c3750-15.0.2-SE11.bin")
        verify = conn.send_command("verify /sha512 flash:c3750-15.0.2-SE11.bin")
        assert verify.strip().endswith(hashlib.sha512(good).hexdigest())
        assert "%" not in _copy(conn, f"{base}/c3750-15.0.2-SE12.bin")
        # The BOOT variable, as on a Catalyst: kept at once, not part of the configuration.
        conn.send_config_set(["boot system flash:c3750-15.0.2-SE11.bin"])
        assert "BOOT path-list      : flash:c3750-15.0.2-SE11.bin" in conn.send_command("show boot")
        assert "boot system" not in conn.send_command("show running-config")
        _reload(conn)
    with _connect() as conn:
        version = conn.send_command("show version")
        assert (
            "Version 15.0(2)SE11" in version
            and 'System image file is "flash:c3750-15.0.2-SE11.bin"' in version
        )
        assert "System returned to ROM by Reload Command" in version
        assert _interface(conn, "Gi1/0/1") == VOICE_PORT_SHOWN
        conn.send_config_set(["boot system flash:c3750-15.0.2-SE12.bin"])
        _reload(conn)
    with _connect() as conn:
        # The broken image boots (SSH answers) but without the startup-config: what a gate catches.
        assert "Version 15.0(2)SE12" in conn.send_command("show version")
        assert _interface(conn, "Gi1/0/1") == ["interface GigabitEthernet1/0/1"]
        assert "switchport voice vlan 110" in conn.send_command("show startup-config")
        conn.send_config_set(["boot system flash:c3750-15.0.2-SE11.bin"])
        _reload(conn)
    with _connect() as conn:
        assert "Version 15.0(2)SE11" in conn.send_command("show version")
        assert _interface(conn, "Gi1/0/1") == VOICE_PORT_SHOWN
        listing = conn.send_command("dir flash:")
        assert "c3750-ipservicesk9-mz.122-58.SE2.bin" in listing and "c3750-15.0.2-SE12.bin" in listing
        conn.send_command("delete /force flash:c3750-15.0.2-SE12.bin")
        assert "c3750-15.0.2-SE12.bin" not in conn.send_command("dir flash:")


def test_flash_refuses_paths_and_other_sources(switch):
    with _connect() as conn:
        assert "Invalid argument" in conn.send_command("verify /md5 flash:../startup-config")
        assert "Invalid argument" in conn.send_command("delete /force flash:/etc/passwd")
        assert INVALID in conn.send_command("boot system tftp://10.0.0.1/x.bin")
        assert "No such file" in conn.send_command("verify /md5 flash:nothing.bin")
