"""Desk phone files as phones fetch them: per vendor, from the model, and usable.

Every active user's phone file is fetched from the controller (a voice
network) as a phone fetches it (HTTPS when the lab has TLS on), parsed the
way its vendor writes it, checked against the model, and then used: a SIPp
phone configured only from the fetched file (account, password, server)
registers with the call server, and through the backup the file names when
its site has a pair (ams: cs1, then cs3). With TLS on, plain HTTP gives
nothing: no file, no firmware, no login challenge.
"""

from __future__ import annotations

import base64
import dataclasses
import xml.etree.ElementTree as ET

import pytest
from phone_http import file_url, http_exchange, http_get

pytestmark = pytest.mark.lab


def parse(vendor: str, text: str) -> dict[str, str]:
    """(user, password, domain, proxy, backup, vlan, name) as the vendor's file states them ("" when no backup)."""
    if vendor == "yealink":
        kv = dict(
            line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith("#")
        )
        return {"user": kv["account.1.user_name"], "password": kv["account.1.password"],
                "domain": kv["account.1.sip_server.1.address"], "proxy": kv["account.1.outbound_proxy.1.address"],
                "backup": kv.get("account.1.outbound_proxy.2.address", ""),
                "vlan": kv["network.vlan.internet_port.vid"], "name": kv["account.1.display_name"]}  # fmt: skip
    root = ET.fromstring(text)
    if vendor == "polycom":
        a = root.find("ALL").attrib
        if a.get("reg.1.server.2.address"):  # a pair: the servers by address, the domain in reg.1.address
            domain, proxy = a["reg.1.address"].partition("@")[2], a["reg.1.server.1.address"]
        else:
            domain, proxy = a["reg.1.server.1.address"], a["reg.1.outboundProxy.address"]
        return {"user": a["reg.1.auth.userId"], "password": a["reg.1.auth.password"], "domain": domain,
                "proxy": proxy, "backup": a.get("reg.1.server.2.address", ""),
                "vlan": a["device.net.vlanId"], "name": a["reg.1.displayName"]}  # fmt: skip
    if vendor == "cisco":
        f = {child.tag: child.text or "" for child in root}
        return {"user": f["User_ID_1_"], "password": f["Password_1_"], "domain": f["Proxy_1_"],
                "proxy": f["Outbound_Proxy_1_"].split(":")[0],
                "backup": f.get("Alternate_Outbound_Proxy_1_", "").split(":")[0],
                "vlan": f["VLAN_ID"], "name": f["Display_Name_1_"]}  # fmt: skip
    if vendor == "snom":
        s = {child.tag: child.text or "" for child in root.find("phone-settings")}
        return {"user": s["user_name1"], "password": s["user_pass1"], "domain": s["user_host1"],
                "proxy": s["user_outbound1"].split(":")[0], "backup": s.get("user_outbound2", "").split(":")[0],
                "vlan": s["vlan_id"], "name": s["user_realname1"]}  # fmt: skip
    raise AssertionError(f"no parser for {vendor}")


def file_name(vendor: str, mac: str) -> str:
    bare = mac.replace(":", "").lower()
    return f"{bare}.cfg" if vendor in ("yealink", "polycom") else f"{bare}.xml"


@pytest.fixture(scope="module")
def provisioning(estate):
    name = estate.hosts_in("provisioning_servers")[0]
    return estate.hosts[name]


def fetch(server: dict, name: str, login: tuple[str, str]) -> str:
    status, text = http_get(file_url(server, name), login)
    assert status == 200, (name, status)
    return text


def devices(users, estate):
    models = estate.hosts["cs1"]["voip_phone_models"]
    for user in users.values():
        if user.status != "active":
            continue
        for device in user.model.get("devices") or []:
            yield user, device, models[device["model"]]["vendor"]


def backups(estate, site_servers) -> dict[str, str]:
    """The address of each site's backup call server (the second by name), "" for a site with one."""
    return {site: estate.hosts[names[1]]["ansible_host"] if len(names) > 1 else ""
            for site, names in site_servers.items()}  # fmt: skip


def test_every_active_users_phone_file_matches_the_model(
    users, estate, provisioning, device_login, site_servers
):
    vlans = {site: data["voice_vlan"] for site, data in estate.hosts["cs1"]["voip_sites"].items()}
    backup = backups(estate, site_servers)
    vendors = set()
    for user, device, vendor in devices(users, estate):
        name = file_name(vendor, device["mac"])
        settings = parse(vendor, fetch(provisioning, name, device_login(device["mac"])))
        assert settings == {"user": user.extension, "password": user.password, "domain": user.domain,
                            "proxy": user.server, "backup": backup[user.site], "vlan": str(vlans[user.site]),
                            "name": user.model["name"]}, user.id  # fmt: skip
        vendors.add(vendor)
    assert vendors == {"yealink", "polycom", "cisco", "snom"}, "the lab has a phone of every vendor"


@pytest.mark.parametrize("vendor", ["yealink", "polycom", "cisco", "snom"])
def test_a_phone_configured_from_its_file_registers(
    users, estate, provisioning, register, vendor, device_login
):
    user, device, _ = next(d for d in devices(users, estate) if d[2] == vendor)
    name = file_name(vendor, device["mac"])
    settings = parse(vendor, fetch(provisioning, name, device_login(device["mac"])))
    # Only what the file says: the account, its password and the server.
    phone = dataclasses.replace(user, extension=settings["user"], password=settings["password"],
                                domain=settings["domain"], server=settings["proxy"])  # fmt: skip
    assert register(phone).final == "200"


@pytest.mark.parametrize("vendor", ["yealink", "polycom", "cisco", "snom"])
def test_a_phone_of_a_pair_registers_through_the_backup_its_file_names(
    users, estate, provisioning, register, vendor, device_login, site_servers
):
    """The same account, from the file alone, registers at the backup (cs3): what the phone does on failover."""
    paired = [d for d in devices(users, estate) if d[2] == vendor and len(site_servers[d[0].site]) > 1]
    assert paired, f"the lab has a {vendor} phone at a site with two call servers (ams)"
    user, device, _ = paired[0]
    settings = parse(
        vendor, fetch(provisioning, file_name(vendor, device["mac"]), device_login(device["mac"]))
    )
    assert settings["backup"] and settings["backup"] != settings["proxy"]
    phone = dataclasses.replace(user, extension=settings["user"], password=settings["password"],
                                domain=settings["domain"], server=settings["backup"])  # fmt: skip
    assert register(phone).final == "200"


def test_a_phone_fetches_only_its_own_file_with_its_own_login(users, estate, provisioning, device_login):
    (_, mine, vendor), (_, other, _) = list(devices(users, estate))[:2]
    url = file_url(provisioning, file_name(vendor, mine["mac"]))
    user, password = device_login(mine["mac"])
    assert http_get(url)[0] == 401, "no login: the challenge phones answer with their credentials"
    assert http_get(url, (user, password + "x"))[0] == 401
    assert http_get(url, device_login(other["mac"]))[0] == 403, "another phone's login"
    assert http_get(url, (user, password))[0] == 200
    # The vendors' common files: any phone's login.
    for name in ("y000000000000.cfg", "000000000000.cfg"):
        assert http_get(file_url(provisioning, name), device_login(other["mac"]))[0] == 200


def test_each_models_firmware_is_served_where_its_phone_files_point(
    users, estate, provisioning, device_login
):
    """The version is the model's (or the release manifest's); the file is what the lab serves in its place."""
    models = estate.hosts["cs1"]["voip_phone_models"]
    components = (estate.hosts["cs1"].get("voip_release") or {}).get("components") or {}
    seen = set()
    for _, device, vendor in devices(users, estate):
        if device["model"] in seen:
            continue
        seen.add(device["model"])
        version = str(components.get(device["model"]) or models[device["model"]]["firmware"])
        url = file_url(provisioning, f"firmware/{vendor}/{device['model']}/{version}")
        login = device_login(device["mac"])
        assert url in fetch(provisioning, file_name(vendor, device["mac"]), login)
        status, body = http_get(url, login)
        assert status == 200 and body.startswith(
            f"LAB STAND-IN FIRMWARE: {vendor} {device['model']} {version}"
        )
        assert http_get(url)[0] == 401
    assert len(seen) >= 4


def test_files_are_served_over_https_with_the_lab_certificate(
    users, estate, provisioning, device_login, podman_exec, tmp_path
):
    """HTTPS on the same rules; the client trusts only the certificate the provisioning server made."""
    import ssl
    import urllib.error
    import urllib.request

    name = estate.hosts_in("provisioning_servers")[0]
    cafile = tmp_path / "provisioning.crt"
    cafile.write_text(podman_exec(name, "cat", "/etc/nginx/provisioning.crt").stdout)
    context = ssl.create_default_context(cafile=str(cafile))
    _, device, vendor = next(devices(users, estate))
    user, password = device_login(device["mac"])
    request = urllib.request.Request(
        f"https://{provisioning['ansible_host']}/{file_name(vendor, device['mac'])}"
    )
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=5, context=context) as answer:
        assert answer.status == 200 and parse(vendor, answer.read().decode())["user"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request.full_url, timeout=5, context=context)
    assert refused.value.code == 401


def test_plain_http_gives_nothing_when_tls_is_on(users, estate, provisioning, device_login):
    """No phone file, no firmware and no login challenge in clear: 403 for everything, with or without a login.

    A 401 over plain HTTP would invite a phone to send its password in clear.
    """
    assert provisioning.get("provisioning_server_tls"), "the lab serves phones over HTTPS"
    address = provisioning["ansible_host"]
    _, device, vendor = next(devices(users, estate))
    login = device_login(device["mac"])
    model = estate.hosts["cs1"]["voip_phone_models"][device["model"]]
    paths = [file_name(vendor, device["mac"]), "y000000000000.cfg", "000000000000.cfg", "",
             f"firmware/{vendor}/{device['model']}/{model['firmware']}", "000000000000.unknown"]  # fmt: skip
    for path in paths:
        for credentials in (None, login):
            status, headers, body = http_exchange(f"http://{address}/{path}", credentials)
            assert status == 403, (path, credentials is not None, status)
            assert "WWW-Authenticate" not in headers, path
            assert login[1] not in body and "password" not in body.lower(), path
    # The same file over HTTPS with the same login: the phone's way.
    assert http_get(file_url(provisioning, paths[0]), login)[0] == 200
