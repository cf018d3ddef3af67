"""Provisioning servers: nginx at the manifest's version, on the host address, serving
phone files to the voice networks only (HTTP from real lab sources)."""

from __future__ import annotations

import base64
import ipaddress
import subprocess
import urllib.error
import urllib.request

import pytest
from lab_expect import HOSTVARS, LAB

PROVISIONING = [h.name for h in LAB.hosts if "provisioning_servers" in h.groups]
FETCH = """
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=3).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


@pytest.fixture(params=PROVISIONING)
def prov(request):
    import testinfra

    return request.param, testinfra.get_host(f"podman://{LAB.prefix}{request.param}")


def voice_subnets(name: str) -> list[ipaddress.IPv4Network]:
    sites = HOSTVARS[name]["voip_sites"]
    return [ipaddress.ip_network(n) for site in sites.values() for n in site.get("voice_subnets", [])]


def status_from_controller(url: str, login: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if login:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(login).encode()).decode())
    try:
        return urllib.request.urlopen(request, timeout=3).status
    except urllib.error.HTTPError as exc:
        return exc.code


def a_phone_login(name: str) -> tuple[str, str]:
    """The provisioning login of the first phone of the directory (user: its bare MAC)."""
    from module_utils.voip_phone_files import device_http_password
    from voipctl.derive.secrets import purpose_key

    mac = next(d["mac"] for u in HOSTVARS[name]["voip_users"] for d in u.get("devices") or [])
    bare = mac.replace(":", "").lower()
    key = purpose_key(HOSTVARS[name]["vault_voip_sip_master_secret"], "phone-http")
    return bare, device_http_password(key, bare)


def status_from(peer: str, url: str) -> int:
    container = LAB.host(peer).container(LAB.prefix)
    done = subprocess.run(["podman", "exec", "-i", container, "python3", "-", url], input=FETCH,
                          capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
    return int(done.stdout.strip())


def test_nginx_at_the_manifest_version_running_on_the_host_address_only(prov):
    name, host = prov
    assert host.package("nginx").version.startswith(HOSTVARS[name]["voip_release"]["components"]["nginx"])
    assert host.service("nginx").is_running and host.service("nginx").is_enabled
    address = HOSTVARS[name]["ansible_host"]
    assert host.socket(f"tcp://{address}:80").is_listening
    assert not host.socket("tcp://0.0.0.0:80").is_listening
    if HOSTVARS[name].get("provisioning_server_tls"):
        assert host.socket(f"tcp://{address}:443").is_listening
        key = host.file("/etc/nginx/provisioning.key")
        assert (key.user, key.mode) == ("root", 0o600)
    assert host.run("nginx -t").rc == 0


def test_phone_files_are_not_world_readable(prov):
    _, host = prov
    root = host.file("/srv/provisioning")
    assert (root.user, root.group, root.mode) == ("root", "www-data", 0o750)
    logins = host.file("/etc/nginx/provisioning.htpasswd")
    assert (logins.user, logins.group, logins.mode) == ("root", "www-data", 0o640)


def test_voice_network_gets_files_but_no_listing(prov):
    name, _ = prov
    address = HOSTVARS[name]["ansible_host"]
    assert any(ipaddress.ip_address(LAB.gateway) in net for net in voice_subnets(name)), (
        "the controller is a phone"
    )
    # A phone's login is needed for anything; with one, no listing and no guessing.
    assert status_from_controller(f"http://{address}/") == 401
    login = a_phone_login(name)
    assert status_from_controller(f"http://{address}/", login) == 404
    assert status_from_controller(f"http://{address}/000000000000.unknown", login) == 404


def test_other_networks_are_refused(prov):
    name, _ = prov
    address = HOSTVARS[name]["ansible_host"]
    outside = [
        h.name
        for h in LAB.hosts
        if h.peer and not any(ipaddress.ip_address(h.address) in n for n in voice_subnets(name))
    ]
    assert outside, "the lab has a peer outside every voice subnet"
    for peer in outside:
        assert status_from(peer, f"http://{address}/000000000000.unknown") == 403, peer
