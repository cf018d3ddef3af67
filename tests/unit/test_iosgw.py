"""lab/images/netdev/iosgw.py: the simulated IOS XE voice gateway.

Two layers: the SSH-free core (Device/Cli: grammar, rendering, save and replay)
and the real thing over SSH, driven by netmiko like a router.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException, NetmikoAuthenticationException

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import plan, strip_volatile
from voipctl.derive.netdev import GATEWAY_MANAGED

ROOT = Path(__file__).resolve().parents[2]
IOSGW = ROOT / "lab" / "images" / "netdev" / "iosgw.py"


def _load_iosgw():
    spec = importlib.util.spec_from_file_location("iosgw", IOSGW)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(spec.origin).rsplit("/", 1)[0])  # netflash.py beside it, as in the image
    sys.modules["iosgw"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


iosgw = _load_iosgw()

USER, PASSWORD, ENABLE = "admin", "lab-pass", "lab-enable"

# A hierarchical push the way playbooks send it: blocks without `exit`.
PUSH = [
    "isdn switch-type primary-net5",
    "voice service voip",
    " allow-connections sip to sip",
    " fax protocol t38 version 0 ls-redundancy 0 hs-redundancy 0 fallback none",
    " sip",
    "  bind control source-interface GigabitEthernet0/0/0",
    "  bind media source-interface GigabitEthernet0/0/0",
    "  session transport udp",
    "voice class codec 1",
    " codec preference 2 g711ulaw",
    " codec preference 1 g711alaw",
    "controller E1 0/1/0",
    " framing crc4",
    " linecode hdb3",
    " clock source line primary",
    " pri-group timeslots 1-31",
    "interface GigabitEthernet0/0/0",
    " ip address 10.231.0.41 255.255.255.0",
    "dial-peer voice 200 voip",
    " description to the call server",
    " destination-pattern 2...",
    " session protocol sipv2",
    " session target ipv4:10.231.0.10:5060",
    " voice-class codec 1",
    " dtmf-relay rtp-nte",
    " no vad",
    "dial-peer voice 100 pots",
    " incoming called-number .",
    " direct-inward-dial",
    " port 0/1/0:15",
    "voice-port 0/0/0",
    " station-id name Lobby",
    " station-id number 2001",
    " caller-id enable",
    " cptone de",
    "ntp server 10.231.0.1",
]

# What `show running-config` shows for PUSH after the factory configuration (secrets elided).
EXPECTED_BODY = """\
version 17.6
!
hostname gw1
!
enable secret 9 <hash>
!
username admin privilege 15 secret 9 <hash>
!
isdn switch-type primary-net5
!
voice service voip
 allow-connections sip to sip
 fax protocol t38 version 0 ls-redundancy 0 hs-redundancy 0 fallback none
 sip
  bind control source-interface GigabitEthernet0/0/0
  bind media source-interface GigabitEthernet0/0/0
  session transport udp
!
voice class codec 1
 codec preference 1 g711alaw
 codec preference 2 g711ulaw
!
controller E1 0/1/0
 framing crc4
 linecode hdb3
 clock source line primary
 pri-group timeslots 1-31
!
interface GigabitEthernet0/0/0
 ip address 10.231.0.41 255.255.255.0
!
interface Serial0/1/0:15
 no ip address
 isdn switch-type primary-net5
 isdn incoming-voice voice
 no cdp enable
!
voice-port 0/0/0
 station-id name Lobby
 station-id number 2001
 caller-id enable
 cptone DE
!
voice-port 0/1/0:15
!
dial-peer voice 100 pots
 incoming called-number .
 port 0/1/0:15
 direct-inward-dial
!
dial-peer voice 200 voip
 description to the call server
 destination-pattern 2...
 session protocol sipv2
 session target ipv4:10.231.0.10:5060
 voice-class codec 1
 dtmf-relay rtp-nte
 no vad
!
ntp server 10.231.0.1
!
end
"""


def body(running: str) -> str:
    """The configuration from `version` on, with the (salted) secret hashes elided."""
    text = running.replace("\r\n", "\n")
    text = text[text.index("version ") :]
    return re.sub(r"secret 9 \$9\$\S+", "secret 9 <hash>", text.rstrip("\n")) + "\n"


# -- the core, without SSH ------------------------------------------------------------


@pytest.fixture
def device(tmp_path):
    return iosgw.Device("gw1", USER, PASSWORD, ENABLE, tmp_path)


def configure(dev, *lines):
    """Run lines in configuration mode on the console; returns their outputs joined."""
    out = dev.execute("configure terminal")
    assert out.startswith("Enter configuration commands, one per line.  End with CNTL/Z.")
    outputs = [dev.execute(line) for line in lines]
    dev.execute("end")
    return "".join(outputs)


def section(dev, regex):
    return dev.execute(f"show running-config | section {regex}")


def test_factory_configuration(device):
    run = device.execute("show running-config")
    assert run.startswith("Building configuration...\n\nCurrent configuration : ")
    size = int(re.search(r"Current configuration : (\d+) bytes", run).group(1))
    assert size == len(run.split("\n", 3)[3])
    assert re.search(r"^! Last configuration change at \d\d:\d\d:\d\d UTC \w{3} \w{3} \d+ \d{4}$", run, re.M)
    assert body(run) == (
        "version 17.6\n!\nhostname gw1\n!\nenable secret 9 <hash>\n!\n"
        "username admin privilege 15 secret 9 <hash>\n!\n"
        "interface GigabitEthernet0/0/0\n no ip address\n!\nend\n"
    )
    user = re.search(r"^username admin privilege 15 secret 9 (\S+)$", run, re.M).group(1)
    assert iosgw.verify_secret(PASSWORD, "9", user)
    assert device.execute("show startup-config") == "startup-config is not present\n"


def test_push_renders_canonically_whatever_the_order(device, tmp_path):
    assert configure(device, *PUSH) == ""
    assert body(device.execute("show running-config")) == EXPECTED_BODY
    other = iosgw.Device("gw1", USER, PASSWORD, ENABLE, tmp_path / "other")
    blocks, block = [], []
    for line in PUSH:
        if not line.startswith(" ") and block:
            blocks.append(block)
            block = []
        block.append(line)
    blocks.append(block)
    # The global isdn switch-type first: the PRI's D-channel interface copies it when created.
    shuffled = [blocks[0], *reversed(blocks[1:])]
    assert configure(other, *[line for block in shuffled for line in block]) == ""
    assert body(other.execute("show running-config")) == EXPECTED_BODY


def test_single_valued_replaced_multi_valued_kept(device):
    configure(
        device,
        "dial-peer voice 200 voip",
        "session target ipv4:10.0.0.1",
        "session target dns:cs.example.net",
        "description one",
        "description two words",
        "ntp server 10.0.0.1",
        "ntp server 10.0.0.2 prefer",
        "logging host 10.0.0.9",
        "logging host 10.0.0.8",
        "username bob secret 0 first",
        "username bob privilege 5 secret 0 second",
    )
    assert section(device, "dial-peer") == (
        "dial-peer voice 200 voip\n description two words\n session target dns:cs.example.net\n"
    )
    assert device.execute("show running-config | include ^(ntp|logging)") == (
        "logging host 10.0.0.8\nlogging host 10.0.0.9\nntp server 10.0.0.1\nntp server 10.0.0.2 prefer\n"
    )
    bob = device.execute("show running-config | include ^username bob")
    assert bob.startswith("username bob privilege 5 secret 9 $9$") and bob.count("\n") == 1
    assert iosgw.verify_secret("second", "9", bob.split()[-1])


def test_no_forms(device):
    configure(device, *PUSH)
    configure(
        device,
        "interface GigabitEthernet0/0/0",
        "description uplink",
        "shutdown",
        "no description uplink",
        "no shutdown",
        "no ip address 10.231.0.41 255.255.255.0",
        "voice-port 0/0/0",
        "no station-id name",
        "dial-peer voice 200 voip",
        "vad",
        "no description",
        "no dial-peer voice 100",
        "no ntp server 10.231.0.1",
        "voice service voip",
        "no sip",
    )
    assert section(device, "^interface Gig") == "interface GigabitEthernet0/0/0\n no ip address\n"
    assert section(device, "^voice-port 0/0/0") == (
        "voice-port 0/0/0\n station-id number 2001\n caller-id enable\n cptone DE\n"
    )
    peers = section(device, "^dial-peer")
    assert "dial-peer voice 100" not in peers
    assert (
        "vad" not in peers and "description" not in peers and peers.startswith("dial-peer voice 200 voip\n")
    )
    assert "ntp server" not in device.execute("show running-config")
    assert section(device, "^voice service") == (
        "voice service voip\n allow-connections sip to sip\n"
        " fax protocol t38 version 0 ls-redundancy 0 hs-redundancy 0 fallback none\n"
    )
    # Removing the PRI group removes what it created, like IOS.
    configure(device, "controller E1 0/1/0", "no pri-group")
    run = device.execute("show running-config")
    assert "Serial0/1/0:15" not in run and "voice-port 0/1/0:15" not in run
    assert "No ISDN interfaces" in device.execute("show isdn status")


def test_t1_pri_group_uses_channel_23(device):
    configure(device, "controller T1 0/2/0", "framing esf", "linecode b8zs", "pri-group timeslots 1-24")
    run = device.execute("show running-config")
    assert "interface Serial0/2/0:23\n no ip address\n isdn incoming-voice voice\n no cdp enable\n" in run
    assert "voice-port 0/2/0:23\n" in run


def test_errors_look_like_ios(device):
    device.execute("configure terminal")
    prompt = "gw1(config)#"
    assert device.execute("frobnicate now") == (
        " " * len(prompt) + "^\n% Invalid input detected at '^' marker.\n\n"
    )
    assert device.execute("dial-peer voice 100 potatoes") == (
        " " * (len(prompt) + len("dial-peer voice 100 ")) + "^\n% Invalid input detected at '^' marker.\n\n"
    )
    assert device.execute("dial-peer voice") == "% Incomplete command.\n\n"
    assert device.execute("no") == "% Incomplete command.\n\n"
    device.execute("dial-peer voice 100 pots")
    # A voip-only command on a pots dial-peer is invalid, as on IOS.
    assert "% Invalid input" in device.execute("session target ipv4:10.0.0.1")
    assert "not a valid encrypted secret" in device.execute("enable secret 9 nothash")
    assert "already exists" in device.execute("dial-peer voice 100 voip")
    device.execute("end")
    assert "% Invalid input" in device.execute("show runningconfig")
    assert device.execute("show") == "% Incomplete command.\n\n"


def test_modes_prompts_and_implicit_exit(device):
    cli = device.session(user="admin")
    assert cli.prompt == "gw1>"
    steps = [
        ("enable", "gw1>"),
        (ENABLE, "gw1#"),
        ("conf t", "gw1(config)#"),
        ("voice service voip", "gw1(config-voi-serv)#"),
        ("sip", "gw1(conf-serv-sip)#"),
        ("exit", "gw1(config-voi-serv)#"),
        ("sip", "gw1(conf-serv-sip)#"),
        # not valid under sip nor voice service voip: runs in global configuration
        ("voice class codec 7", "gw1(config-class)#"),
        ("controller E1 0/3/0", "gw1(config-controller)#"),
        ("interface Loopback0", "gw1(config-if)#"),
        ("voice-port 0/0/1", "gw1(config-voiceport)#"),
        ("dial-peer voice 5 voip", "gw1(config-dial-peer)#"),
        ("sip-ua", "gw1(config-sip-ua)#"),
        ("retry invite 3", "gw1(config-sip-ua)#"),
        ("hostname gw9", "gw9(config)#"),
        ("hostname gw1", "gw1(config)#"),
        ("exit", "gw1#"),
        ("disable", "gw1>"),
    ]
    for line, prompt in steps:
        cli.execute(line)
        assert cli.prompt == prompt, line
    assert section(device, "sip-ua") == "sip-ua\n retry invite 3\n"
    assert section(device, "Loopback") == "interface Loopback0\n no ip address\n"
    cli.execute("enable")
    cli.execute(ENABLE)
    cli.execute("configure terminal")
    cli.execute("dial-peer voice 5 voip")
    assert cli.execute("do show running-config | include ^dial-peer") == "dial-peer voice 5 voip\n"
    cli.ctrl_z()
    assert cli.prompt == "gw1#"
    cli.execute("logout")
    assert cli.closed


def test_enable_and_privilege(device):
    cli = device.session(user="admin")
    assert "% Invalid input" in cli.execute("show running-config")
    assert "% Invalid input" in cli.execute("configure terminal")
    assert cli.execute("show clock").startswith("*")
    assert cli.execute("enable") == "Password: "
    assert cli.execute("wrong") == "Password: "
    assert cli.execute("wrong") == "Password: "
    assert cli.execute("wrong") == "% Bad secrets\n\n"
    assert cli.prompt == "gw1>"
    cli.execute("enable")
    assert cli.echo is False  # the secret is not echoed
    cli.execute(ENABLE)
    assert cli.prompt == "gw1#"
    # Without an enable secret any answer works.
    configure(device, "no enable secret")
    cli.execute("disable")
    cli.execute("enable")
    cli.execute("anything")
    assert cli.prompt == "gw1#"


def test_secrets_types_and_masking():
    h = iosgw.type9_hash("cisco", "abcdefghijklmn")
    assert iosgw.TYPE9_RE.fullmatch(h) and h == iosgw.type9_hash("cisco", "abcdefghijklmn")
    assert iosgw.verify_secret("cisco", "9", h) and not iosgw.verify_secret("Cisco", "9", h)
    assert iosgw.md5_crypt("cisco", "mERr") == "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0"
    assert iosgw.verify_secret("cisco", "5", "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0")
    assert iosgw.mask_secrets("username bob privilege 15 secret 0 s3cret") == (
        "username bob privilege 15 secret 0 <removed>"
    )
    assert iosgw.mask_secrets("enable secret s3cret") == "enable secret <removed>"


def test_filters():
    text = "a\n b1\n b2\nc\n d\n  e\nf\n"
    assert iosgw.apply_filter(text, "section", re.compile("^c")) == "c\n d\n  e\n"
    assert iosgw.apply_filter(text, "section", re.compile("d")) == " d\n  e\n"
    assert iosgw.apply_filter(text, "include", re.compile("b")) == " b1\n b2\n"
    assert iosgw.apply_filter(text, "exclude", re.compile("^ ")) == "a\nc\nf\n"
    assert iosgw.apply_filter(text, "begin", re.compile("^c")) == "c\n d\n  e\nf\n"
    assert iosgw.apply_filter(text, "count", re.compile("^ ")) == "Number of lines which match regexp = 4\n"


def test_show_commands(device):
    configure(device, *PUSH, "voice-port 0/0/0", "shutdown", "echo-cancel enable")
    isdn = device.execute("show isdn status")
    assert "ISDN Serial0/1/0:15 interface" in isdn
    assert re.search(r"Layer 1 Status:\s+ACTIVE", isdn)
    assert "State = MULTIPLE_FRAME_ESTABLISHED" in isdn
    ports = device.execute("show voice port summary").splitlines()
    assert [line.split()[0] for line in ports[3:]] == ["0/0/0", "0/1/0:15"]
    assert ports[3].split()[3:5] == ["down", "down"] and ports[3].split()[-1] == "y"
    peers = device.execute("show dial-peer voice summary").splitlines()
    assert [line.split()[:2] for line in peers[3:]] == [["100", "pots"], ["200", "voip"]]
    version = device.execute("show version")
    assert version.startswith("Cisco IOS XE Software, Version 17.6.5\n")
    assert re.search(r"^gw1 uptime is \d+ minutes?", version, re.M)
    assert device.execute("sh ver | include uptime").startswith("gw1 uptime is")


def test_save_restart_and_replay(device, tmp_path):
    configure(device, *PUSH)
    saved = device.execute("show running-config")
    assert device.execute("wr mem") == "Building configuration...\n[OK]\n"
    configure(device, "hostname unsaved", "no dial-peer voice 200")
    startup = device.execute("show startup-config")
    assert startup.startswith("Using ") and "! NVRAM config last updated at " in startup
    # A restart replays the startup-config: saved lines back, unsaved gone, hashes unchanged.
    again = iosgw.Device("ignored", USER, "other", None, tmp_path)
    assert body(again.execute("show running-config")) == EXPECTED_BODY
    secrets_of = lambda text: re.findall(r"\$9\$\S+", text)  # noqa: E731
    assert secrets_of(again.execute("show running-config")) == secrets_of(saved)
    # A backed-up config replays as is into a fresh device.
    fresh = iosgw.Device("gw1", USER, PASSWORD, None, tmp_path / "fresh")
    assert fresh.load_config(saved) == []
    assert secrets_of(fresh.execute("show running-config")) == secrets_of(saved)
    assert body(fresh.execute("show running-config")) == EXPECTED_BODY


def test_a_factory_device_is_restored_from_a_backup_by_plan_with_replace(device, tmp_path):
    """restore.yml's way (netdev_config replace): the backup pushed, the rest removed, text equal."""
    configure(device, *PUSH)
    backup = strip_volatile(device.execute("show running-config"))
    # A recreated device: factory configuration (other salts), plus drift by hand.
    fresh = iosgw.Device("gw1", USER, PASSWORD, "other-enable", tmp_path / "fresh")
    configure(fresh, "interface Loopback0", "dial-peer voice 999 voip", "logging host 10.0.0.9")
    todo = plan(fresh.execute("show running-config"), backup, list(GATEWAY_MANAGED), replace=True)
    assert "no interface Loopback0" in todo["commands"] and "no dial-peer voice 999 voip" in todo["commands"]
    assert not any(c.startswith(("no username", "no enable")) for c in todo["commands"])
    assert configure(fresh, *todo["commands"]) == ""
    assert plan(fresh.execute("show running-config"), backup, list(GATEWAY_MANAGED), replace=True) == {
        "commands": [], "added": [], "removed": [],
    }  # fmt: skip
    assert strip_volatile(fresh.execute("show running-config")) == backup


# -- over SSH, with netmiko -----------------------------------------------------------


@pytest.fixture
def gateway(tmp_path):
    servers = []

    def start():
        gw = iosgw.Gateway("gw1", USER, PASSWORD, ENABLE, tmp_path / "state")
        servers.append(iosgw.ServerThread(gw))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def connect(server, **kwargs):
    params = {"username": USER, "password": PASSWORD, "secret": ENABLE} | kwargs
    return ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=server.port, **params)


def test_ssh_wrong_password_refused(gateway):
    server = gateway()
    with pytest.raises(NetmikoAuthenticationException):
        connect(server, password="wrong")
    with pytest.raises(NetmikoAuthenticationException):
        connect(server, username="root")


def test_ssh_netmiko_configures_like_a_router(gateway, caplog):
    server = gateway()
    caplog.set_level(logging.INFO, logger="iosgw")
    conn = connect(server)
    try:
        assert conn.find_prompt() == "gw1>"
        conn.enable()
        assert conn.find_prompt() == "gw1#"
        out = conn.send_config_set(PUSH, error_pattern=r"% Invalid")
        assert "gw1(conf-serv-sip)#" in out and "gw1(config-dial-peer)#" in out
        assert body(conn.send_command("show running-config")) == EXPECTED_BODY
        # replace a single-valued line; remove a child line and a whole block
        conn.send_config_set(
            ["dial-peer voice 200 voip", "session target ipv4:10.231.0.11", "no description"],
            error_pattern="%",
        )
        conn.send_config_set(["no dial-peer voice 100", "username ops secret 0 pw0"], error_pattern="%")
        peers = conn.send_command("show running-config | section ^dial-peer")
        assert peers.splitlines() == [
            "dial-peer voice 200 voip",
            " destination-pattern 2...",
            " session protocol sipv2",
            " session target ipv4:10.231.0.11",
            " voice-class codec 1",
            " dtmf-relay rtp-nte",
            " no vad",
        ]
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["dial-peer voice 300 voip", "frobnicate"], error_pattern=r"% Invalid")
        conn.exit_config_mode()
        invalid = conn.send_command("show frobnicate")
        assert invalid.splitlines()[-1] == "% Invalid input detected at '^' marker."
        assert "show frobnicate" in conn.send_command("show frobnicate", strip_command=False)
        assert conn.send_command("show clock").startswith("*")
    finally:
        conn.disconnect()
    logged = [r.getMessage() for r in caplog.records if " config(" in r.getMessage()]
    assert any(m.endswith("config(ok): dial-peer voice 200 voip") for m in logged)
    assert any(m.endswith("config(invalid): frobnicate") for m in logged)
    assert any(m.endswith("username ops secret 0 <removed>") for m in logged)
    assert not any("pw0" in m for m in logged)


def test_ssh_save_restart_keeps_saved_config_only(gateway, tmp_path):
    server = gateway()
    conn = connect(server)
    conn.enable()
    conn.send_config_set(PUSH, error_pattern="%")
    assert "[OK]" in conn.save_config()
    conn.send_config_set(["ntp server 10.9.9.9"], error_pattern="%")
    assert "ntp server 10.9.9.9" in conn.send_command("show running-config")
    key_before = conn.remote_conn.get_transport().get_remote_server_key().asbytes()
    conn.disconnect()
    server.stop()

    server = gateway()
    conn = connect(server)
    try:
        conn.enable()
        assert conn.remote_conn.get_transport().get_remote_server_key().asbytes() == key_before
        running = conn.send_command("show running-config")
        assert body(running) == EXPECTED_BODY
        # `copy running-config startup-config` asks for the destination, Enter confirms.
        conn.send_config_set(["ntp server 10.9.9.8"], error_pattern="%")
        out = conn.send_command("copy running-config startup-config", expect_string=r"\]\? $")
        assert out.endswith("Destination filename [startup-config]? ")
        out = conn.send_command(
            "", expect_string="gw1#", cmd_verify=False, strip_command=False, strip_prompt=False
        )
        assert out.splitlines()[-3:] == ["Building configuration...", "[OK]", "gw1#"]
        assert "ntp server 10.9.9.8" in conn.send_command("show startup-config")
    finally:
        conn.disconnect()
    assert (tmp_path / "state" / "ssh_host_ed25519_key").exists()


def test_ssh_sessions_share_one_device(gateway):
    server = gateway()
    first, second = connect(server), connect(server)
    try:
        first.enable()
        second.enable()
        first.send_config_set(["voice-port 0/0/3", "description shared"], error_pattern="%")
        assert second.send_command("show running-config | section voice-port 0/0/3") == (
            "voice-port 0/0/3\n description shared"
        )
    finally:
        first.disconnect()
        second.disconnect()


def ssh_client(port):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, USER, PASSWORD, allow_agent=False, look_for_keys=False)
    return client


def test_ssh_terminal_echo_crlf_and_ctrl_z(gateway):
    server = gateway()
    client = ssh_client(server.port)
    try:
        chan = client.invoke_shell(term="vt100")

        def read_until(marker, timeout=5.0):
            data, end = b"", time.monotonic() + timeout
            while marker not in data and time.monotonic() < end:
                if chan.recv_ready():
                    data += chan.recv(65536)
                else:
                    time.sleep(0.01)
            assert marker in data, data
            return data

        read_until(b"gw1>")
        chan.send("enable\r")
        assert read_until(b"Password: ") == b"enable\r\nPassword: "
        chan.send(ENABLE + "\r")
        assert read_until(b"gw1#") == b"\r\ngw1#"  # the secret is not echoed
        chan.send("conf t\rhostnamx\x7fe gw1\r")
        out = read_until(b"e gw1\r\ngw1(config)#")
        assert b"Enter configuration commands, one per line.  End with CNTL/Z.\r\n" in out
        assert b"hostnamx\b \be gw1" in out
        chan.send("\x1a")
        assert read_until(b"gw1#").endswith(b"^Z\r\ngw1#")
        chan.send("show version\r")
        out = read_until(b"Configuration register is 0x2102")
        assert b"\r\n" in out and b"\n" not in out.replace(b"\r\n", b"")
        _, stdout, _ = client.exec_command("show clock")
        assert stdout.read().startswith(b"*")
    finally:
        client.close()


def test_entrypoint_serves_logs_and_stops_on_sigterm(tmp_path):
    """The container command line: logs to stdout, state in --state-dir, SIGTERM stops it (PID 1)."""
    args = ["--hostname", "gw7", "--listen-host", "127.0.0.1", "--listen-port", "0"]
    args += ["--username", USER, "--password", PASSWORD, "--state-dir", str(tmp_path)]
    proc = subprocess.Popen(
        [sys.executable, str(IOSGW), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        first = ""
        while "listening on" not in first:  # the boot's lines come first
            first = proc.stdout.readline()
            assert first, "iosgw ended before it listened"
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", first).group(1))
        client = ssh_client(port)
        try:
            _, stdout, _ = client.exec_command("show version")
            assert b"gw7 uptime is" in stdout.read()
        finally:
            client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "login admin from 127.0.0.1" in rest and "gw7: stopping" in rest
    assert (tmp_path / "ssh_host_ed25519_key").exists()
