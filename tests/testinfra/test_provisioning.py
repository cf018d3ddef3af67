"""Provisioning servers: nginx at the manifest's version, on the host address, serving
phone files to the voice networks only (HTTP from real lab sources)."""

from __future__ import annotations

import base64
import ipaddress
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from lab_expect import HOSTVARS, LAB

PROVISIONING = [h.name for h in LAB.hosts if "provisioning_servers" in h.groups]
# From a lab peer: the address filter is the point, not the certificate.
FETCH = """
import ssl, sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=3, context=ssl._create_unverified_context()).status)
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


def answer_from_controller(url: str, login: tuple[str, str] | None = None, cadata: str | None = None):
    """(status, headers) of a GET from the controller (a voice network); HTTPS trusts ``cadata`` only."""
    request = urllib.request.Request(url)
    if login:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(login).encode()).decode())
    context = ssl.create_default_context(cadata=cadata) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=3, context=context) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers


def status_from_controller(url: str, login: tuple[str, str] | None = None, cadata: str | None = None) -> int:
    return answer_from_controller(url, login, cadata)[0]


def phone_base(name: str, host) -> tuple[str, str | None]:
    """(base URL, trusted certificate) phones fetch from: HTTPS with the server's certificate when TLS is on."""
    address = HOSTVARS[name]["ansible_host"]
    if HOSTVARS[name].get("provisioning_server_tls"):
        return f"https://{address}", host.file("/etc/nginx/provisioning.crt").content_string
    return f"http://{address}", None


def a_phone_login(name: str) -> tuple[str, str]:
    """The provisioning login of the first phone of the directory (user: its bare MAC)."""
    from ansible_collections.voip.estate.plugins.module_utils.voip_phone_files import device_http_password
    from voipctl.core.passwords import purpose_key

    device = next(d for u in HOSTVARS[name]["voip_users"] for d in u.get("devices") or [])
    bare = device["mac"].replace(":", "").lower()
    key = purpose_key(HOSTVARS[name]["vault_voip_sip_master_secret"], "phone-http")
    return bare, device_http_password(key, bare, int(device.get("password_rotation", 0)))


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
    name, host = prov
    base, cadata = phone_base(name, host)
    assert any(ipaddress.ip_address(LAB.gateway) in net for net in voice_subnets(name)), (
        "the controller is a phone"
    )
    # A phone's login is needed for anything; with one, no listing and no guessing.
    assert status_from_controller(f"{base}/", cadata=cadata) == 401
    login = a_phone_login(name)
    assert status_from_controller(f"{base}/", login, cadata) == 404
    assert status_from_controller(f"{base}/000000000000.unknown", login, cadata) == 404


def test_plain_http_answers_nothing_with_tls_on(prov):
    """403 for everything on port 80, a phone's login or not, and no login challenge (no password in clear)."""
    name, _ = prov
    if not HOSTVARS[name].get("provisioning_server_tls"):
        pytest.skip(f"{name} serves plain HTTP only (provisioning_server_tls off)")
    address, login = HOSTVARS[name]["ansible_host"], a_phone_login(name)
    for path in (f"{login[0]}.cfg", f"{login[0]}.xml", "y000000000000.cfg", "firmware/", ""):
        for credentials in (None, login):
            status, headers = answer_from_controller(f"http://{address}/{path}", credentials)
            assert status == 403 and "WWW-Authenticate" not in headers, (path, status)


def test_other_networks_are_refused(prov):
    name, host = prov
    base, _ = phone_base(name, host)
    outside = [
        h.name
        for h in LAB.hosts
        if h.peer and not any(ipaddress.ip_address(h.address) in n for n in voice_subnets(name))
    ]
    assert outside, "the lab has a peer outside every voice subnet"
    for peer in outside:
        assert status_from(peer, f"{base}/000000000000.unknown") == 403, peer
