"""os_baseline on every Linux host of the lab: packages, time, admins, sshd, firewall, logs."""

from __future__ import annotations

import socket
import subprocess

import pytest
from lab_expect import LAB, var


def ssh_cmd(address: str, user: str, *remote: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        "ssh", "-i", str(LAB.ssh_dir / "id_ed25519"),
        "-o", f"UserKnownHostsFile={LAB.ssh_dir / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", *extra, f"{user}@{address}", *remote,
    ]  # fmt: skip


# -- packages and services ---------------------------------------------------------


def test_base_packages_installed(host, baseline_defaults):
    missing = [p for p in baseline_defaults["os_baseline_packages"] if not host.package(p).is_installed]
    assert missing == []


@pytest.mark.parametrize("service", ["ssh", "chrony", "nftables"])
def test_service_running_and_enabled(host, service):
    svc = host.service(service)
    assert svc.is_running, f"{service} is not running"
    assert svc.is_enabled, f"{service} is not enabled"


# -- time ----------------------------------------------------------------------------


def test_timezone_is_the_sites(host, hostvars):
    expected = hostvars["voip_sites"][hostvars["voip_site"]]["timezone"]
    assert host.check_output("timedatectl show -p Timezone --value") == expected


def test_chrony_follows_the_site_time_server(host, hostvars):
    servers = (
        var(hostvars, "os_baseline_ntp_servers")
        if "os_baseline_ntp_servers" in hostvars
        else (hostvars["voip_sites"][hostvars["voip_site"]].get("ntp_servers", []))
    )
    if not servers:
        # The site's time server itself: it serves its own clock at the configured stratum.
        stratum = hostvars["os_baseline_ntp_local_stratum"]
        assert host.socket("udp://0.0.0.0:123").is_listening
        assert f"local stratum {stratum}" in host.file("/etc/chrony/chrony.conf").content_string
        return
    # Wait (bounded) for chrony to select a source, then check it is the site's server.
    host.run("chronyc waitsync 30 0 0 1")
    sources = host.check_output("chronyc -n sources")
    selected = [line.split()[1] for line in sources.splitlines() if line.startswith("^*")]
    assert selected and selected[0] in servers, sources


# -- administrators --------------------------------------------------------------------


def test_admins_present_with_only_their_keys(host, hostvars):
    for admin in hostvars["voip_admins"]:
        user = host.user(admin["name"])
        if admin.get("state", "present") == "absent":
            assert not user.exists, f"{admin['name']} should have been removed"
            continue
        assert user.exists
        assert "sudo" in user.groups
        keys = host.file(f"/home/{admin['name']}/.ssh/authorized_keys")
        assert keys.user == admin["name"] and keys.mode & 0o077 == 0
        assert sorted(keys.content_string.split("\n")) == sorted(
            ["", *[k.strip() for k in admin["ssh_keys"]]]
        )


def test_admin_logs_in_with_key_and_has_sudo(lab_host, hostvars):
    admin = next(a for a in hostvars["voip_admins"] if a.get("state", "present") == "present")
    result = subprocess.run(
        ssh_cmd(lab_host.address, admin["name"], "sudo", "-n", "id", "-u"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_sudoers_dropin_mode(host):
    f = host.file("/etc/sudoers.d/voip-estate-admins")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o440)


# -- sshd --------------------------------------------------------------------------


def test_sshd_effective_settings(host):
    effective = dict(line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line)
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitemptypasswords"] == "no"
    assert effective["permitrootlogin"] == "no"
    assert effective["allowgroups"] == "sudo"
    for forwarding in ("x11forwarding", "allowagentforwarding", "allowtcpforwarding",
                       "allowstreamlocalforwarding", "gatewayports", "permittunnel"):  # fmt: skip
        assert effective[forwarding] == "no", forwarding


def test_root_cannot_log_in_even_with_an_authorised_key(host, lab_host):
    """Functional: a key in root's authorized_keys (planted by someone the estate does not know) opens
    nothing. With the old settings (PermitRootLogin prohibit-password, root in AllowGroups) it logged in."""
    key = (LAB.ssh_dir / "id_ed25519.pub").read_text().strip()
    host.run("install -d -m 0700 /root/.ssh")
    host.run(
        f"printf '%s\\n' '{key}' > /root/.ssh/voip-test-planted && chmod 0600 /root/.ssh/voip-test-planted"
    )
    host.run("cp -p /root/.ssh/authorized_keys /root/.ssh/voip-test-saved 2>/dev/null; "
             "cp -p /root/.ssh/voip-test-planted /root/.ssh/authorized_keys")  # fmt: skip
    try:
        result = subprocess.run(ssh_cmd(lab_host.address, "root", "id", "-u"), capture_output=True, text=True,
                                timeout=30)  # fmt: skip
    finally:
        host.run("if [ -e /root/.ssh/voip-test-saved ]; then mv /root/.ssh/voip-test-saved /root/.ssh/authorized_keys; "
                 "else rm -f /root/.ssh/authorized_keys; fi; rm -f /root/.ssh/voip-test-planted")  # fmt: skip
    assert result.returncode == 255 and "Permission denied" in result.stderr, (result.stdout, result.stderr)


def test_administrator_cannot_forward_through_the_host(lab_host, hostvars):
    """Functional: an administrator's session may not open a TCP forward (a call server is no jump host)."""
    admin = next(a for a in hostvars["voip_admins"] if a.get("state", "present") == "present")
    result = subprocess.run(
        ssh_cmd(lab_host.address, admin["name"], extra=("-W", f"{lab_host.address}:22")),
        input="", capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert "administratively prohibited" in result.stderr, result.stderr[-500:]


def test_sshd_offers_public_key_only(lab_host):
    """Functional: a client that has no key is told only 'publickey' can continue."""
    result = subprocess.run(
        [
            "ssh", "-v", "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no",
            "-o", f"UserKnownHostsFile={LAB.ssh_dir / 'known_hosts'}", "-o", "ConnectTimeout=5",
            f"nobody@{lab_host.address}", "true",
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    methods = [line for line in result.stderr.splitlines() if "Authentications that can continue" in line]
    assert methods and methods[-1].rstrip().endswith("continue: publickey"), result.stderr[-500:]


# -- firewall ------------------------------------------------------------------------


def test_firewall_policy_is_drop(host):
    ruleset = host.check_output("nft list chain inet voip_estate input")
    assert "policy drop;" in ruleset
    f = host.file("/etc/nftables.conf")
    assert (f.user, f.mode) == ("root", 0o640)


def _tcp_probe(address: str, port: int, timeout: float = 2.0) -> str:
    """'open', 'refused' (the host answered: the firewall let it through) or 'filtered' (dropped)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "filtered"


def test_sip_reaches_only_call_servers(lab_host):
    """Functional: SIP (5060/tcp) passes the firewall of call servers and is dropped elsewhere."""
    state = _tcp_probe(lab_host.address, 5060)
    if "call_servers" in lab_host.groups:
        assert state in ("open", "refused")
    else:
        assert state == "filtered"


def test_unlisted_port_is_dropped(lab_host):
    assert _tcp_probe(lab_host.address, 9) == "filtered"  # discard: no service offers it


# -- logs --------------------------------------------------------------------------------


def test_journald_retention(host, hostvars):
    conf = host.file("/etc/systemd/journald.conf.d/50-voip-estate.conf").content_string
    assert f"SystemMaxUse={var(hostvars, 'os_baseline_journald_max_use')}" in conf
    assert f"MaxRetentionSec={var(hostvars, 'os_baseline_journald_max_retention')}" in conf
    assert host.service("systemd-journald").is_running
