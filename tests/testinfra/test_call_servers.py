"""Call servers: Kamailio and rtpengine installed, running, listening, populated from the model."""

from __future__ import annotations

import pytest
import yaml
from lab_expect import HOSTVARS, LAB, ROOT, hosts_of

from voipctl.adapters.hosts import gateways
from voipctl.core.activity import users_of_site
from voipctl.derive.kamailio import pstn_routes, site_trunks

CALL_SERVERS = [h.name for h in LAB.hosts if "call_servers" in h.groups]


@pytest.fixture(params=CALL_SERVERS)
def cs(request):
    import testinfra

    return request.param, testinfra.get_host(f"podman://{LAB.prefix}{request.param}")


def test_packages_at_the_manifest_version(cs):
    name, host = cs
    release = HOSTVARS[name]["voip_release"]["components"]
    assert host.package("kamailio").version.startswith(release["kamailio"])
    assert host.package("rtpengine-daemon").version.startswith(release["rtpengine"])
    assert not host.package("rtpengine").is_installed  # no DKMS metapackage


@pytest.mark.parametrize("service", ["kamailio", "rtpengine-daemon"])
def test_services_running_and_enabled(cs, service):
    _, host = cs
    assert host.service(service).is_running
    assert host.service(service).is_enabled


def test_sip_listens_on_the_host_address_only(cs):
    name, host = cs
    address = HOSTVARS[name]["ansible_host"]
    assert host.socket(f"udp://{address}:5060").is_listening
    assert host.socket(f"tcp://{address}:5060").is_listening
    assert not host.socket("udp://0.0.0.0:5060").is_listening


def test_tls_and_the_cti_https_listen_with_a_private_key(cs):
    name, host = cs
    address = HOSTVARS[name]["ansible_host"]
    assert host.socket(f"tcp://{address}:5061").is_listening
    assert host.socket(f"tcp://{address}:8443").is_listening
    assert not host.socket(f"tcp://{address}:8080").is_listening, "no plain-HTTP CTI"
    key = host.file("/etc/kamailio/tls/server.key")
    assert (key.user, key.group, key.mode) == ("root", "kamailio", 0o640)
    # The certificate names the address the peers and CTI clients connect to.
    text = host.check_output("openssl x509 -noout -ext subjectAltName -in /etc/kamailio/tls/server.crt")
    assert f"IP Address:{address}" in text
    tls_cfg = host.file("/etc/kamailio/tls.cfg").content_string
    assert "verify_certificate = yes" in tls_cfg.split("[client:default]", 1)[1]


def test_installed_config_validates(cs):
    _, host = cs
    assert host.run("kamailio -c -f /etc/kamailio/kamailio.cfg").rc == 0
    cfg = host.file("/etc/kamailio/kamailio.cfg")
    assert (cfg.user, cfg.group, cfg.mode) == ("root", "kamailio", 0o640)


def test_subscribers_are_the_sites_active_users_with_ha1_only(cs):
    name, host = cs
    hv = HOSTVARS[name]
    expected = sorted(str(u["extension"]) for u in users_of_site(hv["voip_users"], hv["voip_site"]))
    db = "/var/lib/kamailio/kamailio.sqlite"
    rows = host.check_output(f"sqlite3 {db} 'select username from subscriber order by username'").split()
    assert rows == expected
    # No plain passwords on the server.
    assert host.check_output(f"sqlite3 {db} \"select count(*) from subscriber where password != ''\"") == "0"
    dbfile = host.file(db)
    assert (dbfile.user, dbfile.mode & 0o007) == ("kamailio", 0)


def test_trunk_accounts_are_the_routed_trunks_registering_where_the_model_says(cs):
    """uacreg: one row per trunk the server routes calls to; only its own register: true trunks register.

    Read without the password column (the rows hold the trunks' passwords).
    """
    name, host = cs
    hv = HOSTVARS[name]
    site, sites, trunks = hv["voip_site"], hv["voip_sites"], hv["voip_trunks"]
    routes = pstn_routes(site, sites, trunks, gateways(HOSTVARS, {"gateways": hosts_of("gateways")}))
    routed = dict.fromkeys(r["name"] for found in routes.values() for r in found if r["kind"] == "trunk")
    own = {t["name"] for t in site_trunks(site, sites, trunks) if t.get("register")}
    defaults = yaml.safe_load(
        (ROOT / "collections/ansible_collections/voip/estate/roles/kamailio/defaults/main.yml").read_text()
    )
    expires = hv.get("kamailio_trunk_register_expires", defaults["kamailio_trunk_register_expires"])
    expected = sorted(f"{n}|{expires if n in own else 0}|{0 if n in own else 1}" for n in routed)
    db = "/var/lib/kamailio/kamailio.sqlite"
    rows = host.check_output(f"sqlite3 {db} 'select l_uuid, expires, flags from uacreg'").split()
    assert sorted(rows) == expected
    assert host.check_output(f"sqlite3 {db} \"select count(*) from uacreg where auth_password = ''\"") == "0"
