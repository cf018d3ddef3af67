"""Network devices (#23): pinned host keys, one show command per entry, masked secrets, per-device logins.

The modules run for real (module_runner) against the lab's gateway simulator
(lab/images/netdev/iosgw.py) served in-process over SSH, with netmiko and
paramiko unmocked: what is refused is refused by the code the playbooks run.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import socket
import sys
from pathlib import Path

import asyncssh
import paramiko
import pytest
from netmiko.exceptions import NetmikoTimeoutException

from ansible_collections.voip.estate.plugins.module_utils import voip_netdev
from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    mask,
    refused_show_commands,
    show_command_problem,
)
from voipctl.adapters import inventory
from voiplab import containers, images, keys, lab, readiness, topology

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "admin", "lab-pass"


def _load_iosgw():
    spec = importlib.util.spec_from_file_location("iosgw", ROOT / "lab" / "images" / "netdev" / "iosgw.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(spec.origin).rsplit("/", 1)[0])  # netflash.py beside it, as in the image
    sys.modules["iosgw"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


iosgw = sys.modules.get("iosgw") or _load_iosgw()


# -- the mask ----------------------------------------------------------------------------

MASKED = [
    # (line, what stays)
    ("username admin privilege 15 secret 9 $9$abc", "username admin privilege 15 secret 9 "),
    ("username admin secret 0 plain", "username admin secret 0 "),
    ("username bob password 7 0822455D0A16", "username bob password 7 "),
    ("USERNAME Bob PASSWORD Plain", "USERNAME Bob PASSWORD "),
    ("username  admin   privilege 15   secret  5   $1$x", "username  admin   privilege 15   secret  5   "),
    ("username admin\tsecret\t9\t$9$tab", "username admin\tsecret\t9\t"),
    ("enable secret s3cret", "enable secret "),
    ("enable secret level 15 5 $1$hash", "enable secret "),
    ("enable password 7 0822455D0A16", "enable password 7 "),
    ("Enable Secret 8 $8$x", "Enable Secret 8 "),
    (" key-string 7 0822455D0A16", " key-string 7 "),
    (" key-string plainkey", " key-string "),
    ("  KEY-STRING   0   plainkey", "  KEY-STRING   0   "),
    ("standby 1 authentication md5 key-string 7 0822455D0A16", "standby 1 authentication md5 key-string 7 "),
    (
        "snmp-server user mon MONGRP v3 auth sha authpass1 priv aes 128 privpass1",
        "snmp-server user mon MONGRP v3 auth sha ",
    ),
    (
        "snmp-server user mon G v3 auth md5 authpass1 priv des privpass1",
        "snmp-server user mon G v3 auth md5 ",
    ),
    (
        "snmp-server user mon G v3 encrypted auth sha 0A1B priv 3des 0C2D",
        "snmp-server user mon G v3 encrypted auth sha ",
    ),
    ("SNMP-SERVER USER mon G V3 AUTH SHA256 authpass1", "SNMP-SERVER USER mon G V3 AUTH SHA256 "),
    ("snmp-server user mon G v3 priv aes 256 privpass1", "snmp-server user mon G v3 priv aes 256 "),
    ("snmp-server community public RO 10", "snmp-server community "),
    ("snmp-server community 7 hidden RW", "snmp-server community 7 "),
    ("snmp-server host 192.0.2.9 version 2c commstring", "snmp-server host 192.0.2.9 version 2c "),
    (
        "snmp-server host 192.0.2.9 informs version 2c commstring udp-port 162",
        "snmp-server host 192.0.2.9 informs version 2c ",
    ),
    ("snmp-server host 192.0.2.9 commstring", "snmp-server host 192.0.2.9 "),
    ("tacacs-server key 7 0822455D0A16", "tacacs-server key 7 "),
    ("tacacs-server host 192.0.2.5 key tacsecret", "tacacs-server host 192.0.2.5 key "),
    (" key 7 0822455D0A16", " key 7 "),
    (
        "radius-server host 192.0.2.6 auth-port 1812 acct-port 1813 key radsecret",
        "radius-server host 192.0.2.6 auth-port 1812 acct-port 1813 key ",
    ),
    ("crypto isakmp key 6 isakmpsecret address 192.0.2.7", "crypto isakmp key 6 "),
    ("crypto isakmp key isakmpsecret address 0.0.0.0 0.0.0.0", "crypto isakmp key "),
    (" pre-shared-key local 0 ikev2secret", " pre-shared-key "),
    (" pre-shared-key address 192.0.2.8 key kringsecret", " pre-shared-key "),
    (" ppp chap password 7 0822455D0A16", " ppp chap password 7 "),
    (" ppp chap password chapsecret", " ppp chap password "),
    (" wpa-psk ascii 0 wifisecret", " wpa-psk ascii 0 "),
    (" wpa-psk hex 7 0822455D0A16", " wpa-psk hex 7 "),
    (
        " credentials username gw1 password 0 sipsecret realm lab.example",
        " credentials username gw1 password 0 ",
    ),
    (
        " credentials number 2900 username gw1 password 7 0822455D0A16 realm r",
        " credentials number 2900 username gw1 password 7 ",
    ),
    (
        " authentication username gw1 password 0 sipsecret realm lab.example",
        " authentication username gw1 password 0 ",
    ),
    (" authentication username gw1 password sipsecret", " authentication username gw1 password "),
    ("ntp authentication-key 1 md5 ntpsecret 7", "ntp authentication-key 1 "),
    (" ip ospf message-digest-key 1 md5 7 0822455D0A16", " ip ospf message-digest-key 1 "),
    (" ip ospf authentication-key ospfsecret", " ip ospf authentication-key "),
    (" standby 1 authentication text hsrpsecret", " standby 1 authentication text "),
    (" standby 10 authentication hsrpsecret", " standby 10 authentication "),
    (" vrrp 1 authentication text vrrpsecret", " vrrp 1 authentication text "),
    (" ip nhrp authentication nhrpsecret", " ip nhrp authentication "),
    (" password 7 0822455D0A16", " password 7 "),
    (" password 7", " password "),
    ('username x secret 0 "with spaces inside"', "username x secret 0 "),
]


@pytest.mark.parametrize(("line", "kept"), MASKED)
def test_every_secret_and_the_rest_of_its_line_is_masked(line, kept):
    masked = mask(line)
    assert masked == kept + voip_netdev.MASK
    for word in line[len(kept) :].split():
        if len(word) > 3:
            assert word not in masked


@pytest.mark.parametrize(
    "line",
    [
        "key chain VOICE-KC",
        " key 1",  # a key chain's key number: masked (harmless) - but never the chain's name
        "service password-encryption",
        "snmp-server host 192.0.2.9 version 3 priv monuser",
        "snmp-server group MONGRP v3 priv",
        "dial-peer voice 400 pots",
        " destination-pattern 2990",
        " ip ospf authentication message-digest",
        "standby 1 authentication md5 key-chain HSRP-KC",
        "username admin privilege 15",
    ],
)
def test_lines_without_a_secret_keep_what_names_them(line):
    masked = mask(line)
    if line == " key 1":
        assert masked == " key " + voip_netdev.MASK
    else:
        assert masked == line


def test_several_lines_are_masked_line_by_line():
    text = "enable secret 9 $9$a\r\nhostname gw1\nsnmp-server community pub RO\n"
    assert mask(text) == "enable secret 9 ********\r\nhostname gw1\nsnmp-server community ********\n"


# -- one show command per entry ------------------------------------------------------------

ATTACKS = {
    "LF": "show version\nconfigure terminal\nhostname pwned\nend",
    "CR": "show version\rconfigure terminal\rhostname pwned\rend",
    "CRLF": "show version\r\nconfigure terminal\r\nhostname pwned\r\nend",
    "Ctrl-Z": "show version\x1aconfigure terminal\x1ahostname pwned\x1a",
    "Ctrl-U": "show version\x15configure terminal",
    "backspace": "show version" + "\x08" * 12 + "configure terminal",
    "DEL": "show version" + "\x7f" * 12 + "configure terminal",
    "NUL": "show version\x00configure terminal",
    "ESC": "show version\x1b[Aconfigure terminal",
    "Ctrl-C": "show version\x03configure terminal",
    "tab": "show ver\tconfigure",
    "NEL U+0085": "show version\x85configure terminal",
    "LINE SEPARATOR U+2028": "show version\u2028configure terminal",
    "PARAGRAPH SEPARATOR U+2029": "show version\u2029configure terminal",
    "vertical tab": "show version\x0bconfigure terminal",
    "form feed": "show version\x0cconfigure terminal",
    "non-ASCII": "show versión",
    "semicolon": "show version ; configure terminal",
    "help": "show ?",
    "redirect": "show running-config | redirect tftp://192.0.2.66/gw1.cfg",
    "tee": "show running-config | tee flash:copy.cfg",
    "append": "show running-config | append flash:copy.cfg",
    "greater-than": "show running-config > flash:copy.cfg",
    "empty pipe": "show running-config |",
    "not show": "configure terminal",
    "abbreviated": "sh run",
    "bare show": "show",
    "leading spaces then not show": "  write memory",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_more_than_one_show_command_in_an_entry_is_refused(name):
    assert show_command_problem(ATTACKS[name]) is not None


@pytest.mark.parametrize(
    "command",
    [
        "show version",
        "show isdn status",
        "show voice port summary",
        "  show dial-peer voice summary  ",
        "show running-config | section dial-peer",
        "show running-config | include hostname",
        "show running-config | i hostname",
        "show running-config | exclude ^!",
        "show running-config | begin voice-port",
        "show running-config | count dial-peer",
    ],
)
def test_one_show_command_with_an_output_filter_is_accepted(command):
    assert show_command_problem(command) is None


def test_the_refusal_names_the_entry_and_shows_its_control_characters():
    refused = refused_show_commands(["show version", ATTACKS["LF"], "show clock"])
    assert len(refused) == 1
    assert refused[0].startswith("commands[1] 'show version\\nconfigure terminal")
    assert "a line feed (U+000A)" in refused[0]


# -- the modules against a gateway over SSH -----------------------------------------------------


def new_key(path: Path) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    return key


def sha256_fingerprint(key: asyncssh.SSHKey) -> str:
    blob = key.export_public_key("openssh").split()[1]
    return "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")


def known_hosts_line(port: int, key: asyncssh.SSHKey) -> str:
    kind, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"[127.0.0.1]:{port} {kind} {blob}\n"


@pytest.fixture
def gateway(tmp_path):
    """The simulator with a host key of its own; its key and port."""
    key = new_key(tmp_path / "gw_host_key")
    device = iosgw.Gateway("gw1", USER, PASSWORD, None, tmp_path / "state", host_key=tmp_path / "gw_host_key")
    server = iosgw.ServerThread(device)
    yield server, key
    server.stop()


def args(server, known_hosts: Path, **extra):
    return {"host": "127.0.0.1", "port": server.port, "username": USER, "password": PASSWORD,
            "known_hosts": str(known_hosts), "timeout": 10} | extra  # fmt: skip


def hostname(server) -> str:
    return server.gateway.device.hostname


def test_a_pinned_key_connects(gateway, tmp_path, module_runner):
    server, key = gateway
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(server.port, key))
    code, result, _ = module_runner("netdev_command", args(server, known, commands=["show version"]))
    assert code == 0, result
    assert "show version" in result["outputs"]


def test_a_changed_host_key_fails_before_the_login_with_both_fingerprints(gateway, tmp_path, module_runner):
    server, key = gateway
    pinned = new_key(tmp_path / "old_key")
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(server.port, pinned))
    before = known.read_text()
    intended = "hostname impostor-accepted\n"
    code, result, raw = module_runner("netdev_config", args(server, known, intended=intended))
    assert code == 1 and result["failed"]
    msg = result["msg"]
    assert msg.startswith(f"127.0.0.1:{server.port}: changed SSH host key: {known} pins ssh-ed25519 ")
    assert sha256_fingerprint(pinned) in msg and sha256_fingerprint(key) in msg
    assert msg.index(sha256_fingerprint(pinned)) < msg.index(sha256_fingerprint(key))
    assert msg.endswith(f"replace its line in {known} (voip_device_known_hosts)") and "Traceback" not in raw
    assert hostname(server) == "gw1"  # nothing was sent
    assert known.read_text() == before  # and nothing learnt


def test_an_unknown_host_fails_with_the_presented_fingerprint(gateway, tmp_path, module_runner):
    server, key = gateway
    other = new_key(tmp_path / "other")
    known = tmp_path / "known_hosts"
    # A key for the device's address on port 22 and for another host: neither is this device.
    known.write_text(known_hosts_line(22, key).replace(f"[127.0.0.1]:{22}", "127.0.0.1")
                     + known_hosts_line(server.port, other).replace("127.0.0.1", "192.0.2.41"))  # fmt: skip
    code, result, raw = module_runner("netdev_command", args(server, known, commands=["show version"]))
    assert code == 1
    assert "unknown SSH host key" in result["msg"] and sha256_fingerprint(key) in result["msg"]
    assert str(known) in result["msg"] and "Traceback" not in raw


def test_the_system_and_user_known_hosts_are_not_trusted(gateway, tmp_path, module_runner, monkeypatch):
    server, key = gateway
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(known_hosts_line(server.port, key))
    monkeypatch.setenv("HOME", str(home))
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code, result, _ = module_runner("netdev_command", args(server, empty, commands=["show version"]))
    assert code == 1 and "unknown SSH host key" in result["msg"]
    assert empty.read_text() == ""  # not added (no auto-add)


def test_a_missing_known_hosts_file_is_named(gateway, tmp_path, module_runner):
    server, _ = gateway
    code, result, _ = module_runner(
        "netdev_backup", args(server, tmp_path / "nope", dest=str(tmp_path / "cfg"))
    )
    assert code == 1 and f"the known_hosts file {tmp_path / 'nope'} does not exist" in result["msg"]
    assert not (tmp_path / "cfg").exists()


# -- the backup in Ansible's worker (action plugin netdev_backup) ----------------------------------


def test_the_action_plugin_backs_up_over_the_pinned_key_as_the_module_does(
    gateway, tmp_path, action_runner, module_runner
):
    server, key = gateway
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(server.port, key))
    results = {}
    for how in ("module", "action"):
        task = args(server, known, dest=str(tmp_path / how / "running-config"))
        if how == "module":
            code, result, _ = module_runner("netdev_backup", task, diff=True)
            assert code == 0, result
        else:
            result = action_runner("netdev_backup", task, diff=True)
        assert result["changed"] and not result.get("failed"), result
        stored = (tmp_path / how / "running-config").read_text()
        assert "hostname gw1" in stored and "Building configuration" not in stored
        assert (tmp_path / how / "running-config").stat().st_mode & 0o777 == 0o600
        assert PASSWORD not in json.dumps(result)
        results[how] = {k: v for k, v in result.items() if k not in ("path", "invocation")}
    assert results["action"] == results["module"]
    again = action_runner(
        "netdev_backup", args(server, known, dest=str(tmp_path / "action" / "running-config"))
    )
    assert not again["changed"]


def test_the_action_plugin_refuses_a_changed_host_key_before_the_login(gateway, tmp_path, action_runner):
    server, key = gateway
    pinned = new_key(tmp_path / "old_key")
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(server.port, pinned))
    result = action_runner("netdev_backup", args(server, known, dest=str(tmp_path / "cfg")))
    assert result["failed"]
    assert result["msg"].startswith(
        f"127.0.0.1:{server.port}: changed SSH host key: {known} pins ssh-ed25519 "
    )
    assert sha256_fingerprint(pinned) in result["msg"] and sha256_fingerprint(key) in result["msg"]
    assert not (tmp_path / "cfg").exists() and PASSWORD not in json.dumps(result)


def test_an_unreachable_device_fails_with_its_address(tmp_path, action_runner):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(
        f"[127.0.0.1]:{port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFa\n"
    )
    task = {"host": "127.0.0.1", "port": port, "username": USER, "password": PASSWORD,
            "known_hosts": str(known), "timeout": 3, "dest": str(tmp_path / "cfg")}  # fmt: skip
    result = action_runner("netdev_backup", task)
    assert result["failed"] and result["msg"].startswith(f"127.0.0.1:{port}: "), result
    assert not (tmp_path / "cfg").exists() and PASSWORD not in json.dumps(result)


def test_the_action_plugin_imports_netmiko_when_ansible_loads_it():
    """ansible-playbook's strategy loads the plugin before it forks the workers: netmiko is imported once."""
    plugin = importlib.import_module("ansible_collections.voip.estate.plugins.action.netdev_backup")
    assert plugin.netmiko is sys.modules["netmiko"] and plugin.paramiko is sys.modules["paramiko"]


@pytest.mark.parametrize(
    "name", ["LF", "CR", "CRLF", "Ctrl-Z", "Ctrl-U", "NEL U+0085", "LINE SEPARATOR U+2028"]
)
def test_a_second_command_in_an_entry_never_reaches_the_device(gateway, tmp_path, module_runner, name):
    server, key = gateway
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(server.port, key))
    code, result, _ = module_runner("netdev_command", args(server, known, commands=[ATTACKS[name]]))
    assert code == 1 and "nothing was run: commands[0]" in result["msg"]
    assert hostname(server) == "gw1" and "pwned" not in server.gateway.device.running_config()


def test_a_host_key_refusal_inside_netmikos_exception_is_found():
    bad = paramiko.BadHostKeyException("192.0.2.41", object(), object())
    try:
        try:
            raise bad
        except paramiko.SSHException:
            raise NetmikoTimeoutException("A paramiko SSHException occurred") from None
    except NetmikoTimeoutException as exc:
        wrapped = exc
    wrapped.__context__ = bad  # netmiko raises inside its except block: the context, not the cause
    assert voip_netdev._host_key_error(wrapped) is bad
    assert voip_netdev._host_key_error(NetmikoTimeoutException("TCP connection to device failed")) is None


# -- per-device logins ------------------------------------------------------------------------------


def test_a_device_uses_its_own_vault_login_and_the_others_the_shared_one(inv):
    (inv / "group_vars" / "network_devices" / "per_device.yml").write_text(
        "---\nvault_netdev_passwords:\n  gw1: gw1-own-password\nvault_netdev_usernames:\n  gw1: gw1-admin\n"
    )
    loaded = inventory.load(
        inv, only=("voip_device_username", "voip_device_password", "voip_device_known_hosts")
    )
    gw1, sw1 = loaded.hosts["gw1"], loaded.hosts["sw1"]
    assert (gw1["voip_device_username"], gw1["voip_device_password"]) == ("gw1-admin", "gw1-own-password")
    assert sw1["voip_device_username"] == "admin"
    assert sw1["voip_device_password"] not in ("", "gw1-own-password")
    assert gw1["voip_device_known_hosts"].endswith("/ssh/known_hosts")


# -- the lab's simulators get stable, pinned keys -----------------------------------------------------


def test_lab_simulators_get_host_keys_in_the_pinned_known_hosts(tmp_path, monkeypatch):
    topo = topology.load_lab(ROOT)
    monkeypatch.setattr(topo, "state_dir", tmp_path)
    keys.ensure_keys(topo)
    lines = (tmp_path / "ssh" / "known_hosts").read_text().splitlines()
    names = [line.split()[0] for line in lines]
    assert "gw1,10.231.0.41" in names and "sw1,10.231.0.51" in names
    gw1_key = (tmp_path / "ssh" / "hosts" / "gw1" / "ssh_host_ed25519_key").read_bytes()
    keys.ensure_keys(topo)  # again (a later `lab up`): the same keys
    assert (tmp_path / "ssh" / "hosts" / "gw1" / "ssh_host_ed25519_key").read_bytes() == gw1_key
    assert (tmp_path / "ssh" / "known_hosts").read_text().splitlines() == lines
    for name in ("gw1", "sw1"):
        args = containers.run_args(topo, topo.host(name), "img")
        mount = (
            f"{tmp_path / 'ssh' / 'hosts' / name / 'ssh_host_ed25519_key'}:{containers.DEVICE_HOST_KEY}:ro"
        )
        assert mount in args
        assert args[args.index("--host-key") + 1] == containers.DEVICE_HOST_KEY


def test_lab_up_of_some_hosts_leaves_the_others_alone(tmp_path, monkeypatch):
    topo = topology.load_lab(ROOT)
    monkeypatch.setattr(topo, "state_dir", tmp_path)
    calls = []
    monkeypatch.setattr(images, "load_recipes", lambda d: {"netdev": type("R", (), {"ref": "netdev:1"})()})
    monkeypatch.setattr(
        images, "ensure_images", lambda podman, recipes, wanted, *a: {w: "id" for w in wanted}
    )
    monkeypatch.setattr(keys, "ensure_certificates", lambda lab_: [])
    monkeypatch.setattr(containers, "ensure_network", lambda podman_, lab_: "exists")
    monkeypatch.setattr(containers, "lab_containers", lambda p: {})
    monkeypatch.setattr(
        containers, "ensure_container", lambda p, lab_, host, *a: calls.append(host.name) or "created"
    )
    monkeypatch.setattr(
        readiness, "poll_ready", lambda hosts, timeout: ({h.name: "SSH-2.0" for h in hosts}, [])
    )
    rows = lab.up(topo, object(), only=["gw1", "sw1"])
    assert calls == ["gw1", "sw1"]
    assert ("voiplab-gw1", "created") in rows and not any("cs1" in obj for obj, _ in rows)
    assert "sw1,10.231.0.51" in (tmp_path / "ssh" / "known_hosts").read_text()


def test_the_restore_drill_reads_a_device_only_with_its_pinned_key(gateway, tmp_path):
    """voipctl drill restore reads the recreated device's configuration: with the pinned key only
    (before, it accepted any key, so an impostor could answer the drill's 'is it bare' question)."""
    from voipctl.errors import VoipctlError
    from voiplab import drill

    server, key = gateway
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(server.port, key))
    assert "hostname gw1" in drill.device_config("127.0.0.1", server.port, USER, PASSWORD, str(known))
    known.write_text(known_hosts_line(server.port, new_key(tmp_path / "other")))
    with pytest.raises(VoipctlError, match="does not match"):
        drill.device_config("127.0.0.1", server.port, USER, PASSWORD, str(known))
    with pytest.raises(VoipctlError, match="does not exist"):
        drill.device_config("127.0.0.1", server.port, USER, PASSWORD, str(tmp_path / "missing"))
