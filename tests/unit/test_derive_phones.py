"""voipctl.derive.phones: what each desk phone gets from the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.voip.estate.plugins.module_utils import voip_phone_templates as templates
from voipctl.core import passwords
from voipctl.core.passwords import SecretError
from voipctl.derive.phones import (
    PhoneDataError,
    bare_mac,
    phone_common,
    phone_data,
    utc_offset_minutes,
)

ROOT = Path(__file__).resolve().parents[2]
MASTER = "m" * 32
SITES = {
    "ams": {"timezone": "Europe/Amsterdam", "ntp_servers": ["10.0.0.31"], "voice_vlan": 110},
    "thr": {"timezone": "Asia/Tehran", "ntp_servers": ["10.0.0.31", "10.0.0.32"]},
}
MODELS = {
    "yealink-t54w": {"vendor": "yealink", "family": "t5x", "line_keys": 3, "firmware": "96.86.0.100"},
    "snom-d785": {"vendor": "snom", "family": "d7xx", "line_keys": 24, "firmware": "10.1.159.12"},
    "cisco-cp8841": {"vendor": "cisco", "family": "cp88xx", "line_keys": 2, "firmware": "sip88xx.14"},
}
SERVERS = [
    {"name": "cs1", "site": "ams", "address": "10.0.0.11", "sip_domain": "ams.test", "sip_port": 5060},
    {"name": "cs2", "site": "thr", "address": "10.0.0.12", "sip_domain": "thr.test"},
]
USERS = [
    {"id": "a", "name": "Ann", "site": "ams", "extension": 2001, "class_of_service": "national",
     "features": {"hunt_groups": ["rec"]}, "devices": [{"mac": "80:5E:C0:00:00:01", "model": "yealink-t54w"}]},
    {"id": "b", "name": "Bob", "site": "ams", "extension": 2002, "class_of_service": "national",
     "features": {"hunt_groups": ["rec"]}, "password_rotation": 2,
     "devices": [{"mac": "00-04-13-00-00-02", "model": "snom-d785"},
                 {"mac": "001b54000002", "model": "cisco-cp8841"}]},
    {"id": "c", "name": "Cas", "site": "ams", "extension": 2003, "class_of_service": "national",
     "features": {"hunt_groups": ["rec"]}, "devices": []},
    {"id": "d", "name": "Dirk", "site": "ams", "extension": 2004, "class_of_service": "national",
     "features": {"hunt_groups": ["rec"]}, "status": "leaver", "leave_date": "2026-01-01",
     "devices": [{"mac": "80:5e:c0:00:00:04", "model": "yealink-t54w"}]},
    {"id": "e", "name": "Elham", "site": "thr", "extension": 3001, "class_of_service": "national",
     "features": {"hunt_groups": ["rec"]}, "devices": [{"mac": "80:5e:c0:00:00:05", "model": "yealink-t54w"}]},
]  # fmt: skip


def data(**kw):
    args = dict(
        sites=SITES, users=USERS, phone_models=MODELS, call_servers=SERVERS, release={"components": {}},
        master_secret=MASTER, provisioning_url="http://prov.test/", syslog_server="10.0.0.31",
        today="2026-11-22",
    )  # fmt: skip
    args.update(kw)
    return phone_data(**args)


def by_mac(entries):
    return {e["mac"]: e for e in entries}


def test_one_entry_per_device_of_active_users():
    entries = data()
    assert [e["mac"] for e in entries] == ["805ec0000001", "000413000002", "001b54000002", "805ec0000005"]
    assert entries[0]["mac_colon"] == "80:5e:c0:00:00:01"
    assert {e["user"] for e in entries} == {"a", "b", "e"}  # leaver d and phoneless c have none


def test_account_is_homed_on_the_site_call_server_with_the_derived_password():
    e = by_mac(data())
    assert e["805ec0000001"]["account"] == {
        "username": "2001", "auth_name": "2001", "password": passwords.sip_password(MASTER, "a", 0),
        "domain": "ams.test", "registrar": "10.0.0.11", "port": 5060,
        "servers": [{"address": "10.0.0.11", "port": 5060}],
    }  # fmt: skip
    assert e["000413000002"]["account"]["password"] == passwords.sip_password(MASTER, "b", 2)
    assert e["805ec0000005"]["account"]["domain"] == "thr.test"
    assert e["805ec0000005"]["account"]["port"] == 5060


def test_a_sites_call_servers_are_every_lines_proxies_primary_first_by_name():
    cs3 = {"name": "cs3", "site": "ams", "address": "10.0.0.13", "sip_domain": "ams.test", "sip_port": 5070}
    # Listed in any order: the first by name is the primary.
    e = by_mac(data(call_servers=[cs3, *SERVERS]))
    for mac in ("805ec0000001", "000413000002", "001b54000002"):  # ams: the pair
        account = e[mac]["account"]
        assert account["servers"] == [
            {"address": "10.0.0.11", "port": 5060},
            {"address": "10.0.0.13", "port": 5070},
        ]
        assert (account["registrar"], account["port"], account["domain"]) == ("10.0.0.11", 5060, "ams.test")
    assert e["805ec0000005"]["account"]["servers"] == [{"address": "10.0.0.12", "port": 5060}]  # thr: one
    # Each entry has its own list: changing one phone's leaves the others'.
    e["805ec0000001"]["account"]["servers"].pop()
    assert len(e["000413000002"]["account"]["servers"]) == 2
    # Named first, a server is the primary wherever it is listed.
    swapped = by_mac(data(call_servers=[*SERVERS, {**cs3, "name": "cs0"}]))["805ec0000001"]["account"]
    assert [s["address"] for s in swapped["servers"]] == ["10.0.0.13", "10.0.0.11"]
    assert (swapped["registrar"], swapped["port"]) == ("10.0.0.13", 5070)


def test_a_pair_renders_primary_and_backup_for_every_vendor():
    cs3 = {"name": "cs3", "site": "ams", "address": "10.0.0.13", "sip_domain": "ams.test"}
    models = {**MODELS, "polycom-vvx": {"vendor": "polycom", "line_keys": 2, "firmware": "6.4"}}
    users = [{**USERS[0], "devices": [{"mac": f"80:5e:c0:00:01:0{i}", "model": m}]}
             for i, m in enumerate(sorted(models))]  # fmt: skip
    users = [{**u, "id": f"a{i}", "extension": 2100 + i} for i, u in enumerate(users)]
    for e in data(call_servers=[*SERVERS, cs3], users=users, phone_models=models):
        text = next(iter(templates.render(e).values()))
        assert text.index("10.0.0.11") < text.index("10.0.0.13"), e["vendor"]


def test_site_settings_firmware_and_syslog():
    e = by_mac(data())
    ams, thr = e["805ec0000001"], e["805ec0000005"]
    assert (ams["timezone"], ams["utc_offset_minutes"], ams["ntp_servers"], ams["voice_vlan"]) == (
        "Europe/Amsterdam", 60, ["10.0.0.31"], 110,
    )  # fmt: skip
    assert (thr["utc_offset_minutes"], thr["voice_vlan"]) == (210, None)
    assert ams["firmware"] == {
        "version": "96.86.0.100",
        "url": "http://prov.test/firmware/yealink/yealink-t54w/96.86.0.100",
    }
    assert ams["syslog_server"] == "10.0.0.31"
    assert data(syslog_server=None)[0]["syslog_server"] is None


def test_release_manifest_overrides_the_model_firmware():
    entries = data(release={"components": {"yealink-t54w": "96.86.0.120"}})
    assert entries[0]["firmware"]["version"] == "96.86.0.120"
    assert entries[1]["firmware"]["version"] == "10.1.159.12"


def test_firmware_rolls_out_site_by_site():
    release = {"components": {"yealink-t54w": "96.86.0.120"}, "firmware_sites": ["ams"]}
    e = by_mac(data(release=release))
    assert e["805ec0000001"]["firmware"]["version"] == "96.86.0.120"  # ams: rolled out
    assert e["805ec0000005"]["firmware"]["version"] == "96.86.0.100"  # thr: held back at the model's
    common = phone_common(sites=SITES, phone_models=MODELS, release=release, provisioning_url="http://p")
    assert common["sites"]["ams"]["firmware"]["yealink-t54w"]["version"] == "96.86.0.120"
    assert common["sites"]["thr"]["firmware"]["yealink-t54w"]["version"] == "96.86.0.100"
    # Both versions are served while the roll-out is under way; each once.
    images = [(i["model"], i["version"]) for i in common["firmware_images"]]
    assert ("yealink-t54w", "96.86.0.100") in images and ("yealink-t54w", "96.86.0.120") in images
    assert len(images) == len(set(images)) == len(MODELS) + 1
    release["firmware_sites"] = ["ams", "thr"]
    assert {e["firmware"]["version"] for e in data(release=release) if e["model"] == "yealink-t54w"} == {
        "96.86.0.120"
    }


def test_an_unassigned_phone_keeps_its_site_firmware():
    release = {"components": {"yealink-t54w": "96.86.0.120"}, "firmware_sites": ["ams"]}
    common = phone_common(sites=SITES, phone_models=MODELS, release=release, provisioning_url="http://p")
    thr = templates.unassigned_settings(common, "yealink-t54w", "thr")
    ams = templates.unassigned_settings(common, "yealink-t54w", "ams")
    assert thr["firmware_url"].endswith("/96.86.0.100") and ams["firmware_url"].endswith("/96.86.0.120")


def test_blf_keys_for_other_hunt_group_members_of_the_site_limited_by_line_keys():
    e = by_mac(data())
    # Ann: Bob and Cas (not herself, not the leaver Dirk, not Elham of the other site).
    assert e["805ec0000001"]["line_keys"] == [
        {"type": "blf", "extension": "2002", "label": "Bob"},
        {"type": "blf", "extension": "2003", "label": "Cas"},
    ]
    # cisco-cp8841 here has two line keys: one for the line, one BLF.
    assert [k["extension"] for k in e["001b54000002"]["line_keys"]] == ["2001"]
    assert e["805ec0000005"]["line_keys"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phone_models": {}}, "user a devices[0]: unknown phone model 'yealink-t54w'"),
        ({"call_servers": SERVERS[:1]}, "user e: site 'thr' has no call server"),
        ({"call_servers": [{**SERVERS[0], "sip_domain": None}]}, "call server cs1: voip_call_server.sip_domain"),
        ({"users": [{**USERS[0], "devices": [{"mac": "xx", "model": "snom-d785"}]}]},
         "user a devices[0].mac: 'xx' is not a MAC"),
        ({"users": [USERS[0], {**USERS[1], "devices": [{"mac": "80:5e:c0:00:00:01", "model": "snom-d785"}]}]},
         "user b devices[0]: MAC 80:5e:c0:00:00:01 is already a device of user a"),
        ({"sites": {"ams": SITES["ams"]}}, "user e: site 'thr' is not in voip_sites"),
        ({"sites": {**SITES, "ams": {"timezone": "Mars/Olympus"}}}, "voip_sites.ams.timezone: 'Mars/Olympus'"),
        ({"phone_models": {**MODELS, "snom-d785": {**MODELS["snom-d785"], "vendor": "acme"}}},
         "voip_phone_models.snom-d785.vendor: 'acme'"),
        ({"provisioning_url": ""}, "provisioning_url is not set"),
    ],
)  # fmt: skip
def test_errors_name_the_element(change, message):
    with pytest.raises(PhoneDataError) as err:
        data(**change)
    assert message in str(err.value)


def test_short_master_secret_is_refused():
    with pytest.raises(SecretError):
        data(master_secret="short")


def test_bare_mac_and_offsets():
    assert bare_mac("80.5e.c0.00.00.01") == "805ec0000001"
    assert utc_offset_minutes("UTC") == 0
    assert utc_offset_minutes("America/New_York") == -300


def test_common_has_site_and_model_settings():
    common = phone_common(sites=SITES, phone_models=MODELS, release={}, provisioning_url="http://p",
                          syslog_server="10.0.0.31", default_site="thr")  # fmt: skip
    assert common["timezone"] == "Asia/Tehran" and common["syslog_server"] == "10.0.0.31"
    assert common["sites"]["ams"]["voice_vlan"] == 110
    assert common["firmware"]["snom-d785"]["url"] == "http://p/firmware/snom/snom-d785/10.1.159.12"
    with pytest.raises(PhoneDataError, match="default_site"):
        phone_common(sites=SITES, phone_models=MODELS, release={}, provisioning_url="p", default_site="x")


def test_lab_inventory_gives_every_device_a_phone():
    group_vars = ROOT / "inventory" / "lab" / "group_vars" / "all"

    def load(name, key):
        return yaml.safe_load((group_vars / name).read_text())[key]

    users = load("users.yml", "voip_users")
    entries = phone_data(
        sites=load("sites.yml", "voip_sites"), users=users, phone_models=load("phone_models.yml", "voip_phone_models"),
        call_servers=[{"name": "cs1", "site": "ams", "address": "10.231.0.11", "sip_domain": "ams.voip.test"},
                      {"name": "cs2", "site": "thr", "address": "10.231.0.12", "sip_domain": "thr.voip.test"},
                      {"name": "cs3", "site": "ams", "address": "10.231.0.13", "sip_domain": "ams.voip.test"}],
        release=load("release.yml", "voip_release"), master_secret=MASTER, provisioning_url="http://10.231.0.21",
        today="2026-11-22",
    )  # fmt: skip
    devices = sum(len(u.get("devices") or []) for u in users if u.get("status", "active") == "active")
    assert len(entries) == devices and len({e["mac"] for e in entries}) == devices
    # ams has the pair cs1 (primary) and cs3; thr has cs2 alone.
    proxies = {e["site"]: [s["address"] for s in e["account"]["servers"]] for e in entries}
    assert proxies == {"ams": ["10.231.0.11", "10.231.0.13"], "thr": ["10.231.0.12"]}


def test_filters_over_hostvars_and_groups():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.voip.estate.plugins.filter.voip_phones import FilterModule

    filters = FilterModule().filters()
    common = {"voip_sites": SITES, "voip_users": USERS, "voip_phone_models": MODELS, "voip_release": {}}
    hostvars = {
        "prov1": {**common, "voip_site": "ams", "ansible_host": "10.0.0.21"},
        "cs1": {**common, "voip_site": "ams", "ansible_host": "10.0.0.11", "voip_call_server": {"sip_domain": "ams.test"}},
        "cs2": {**common, "voip_site": "thr", "ansible_host": "10.0.0.12", "voip_call_server": {"sip_domain": "thr.test"}},
    }  # fmt: skip
    groups = {"call_servers": ["cs1", "cs2"]}
    entries = filters["voip_phone_data"](
        "prov1", hostvars, groups, MASTER, "http://prov.test", today="2026-11-22"
    )
    assert entries == data(syslog_server=None)
    # As JSON (what the role passes to phone_files): the same list, compact.
    text = filters["voip_phone_data"]("prov1", hostvars, groups, MASTER, "http://prov.test", today="2026-11-22",
                                      as_json=True)  # fmt: skip
    assert isinstance(text, str) and ", " not in text and json.loads(text) == entries
    assert (
        filters["voip_phone_common"]("prov1", hostvars, "http://prov.test")["timezone"] == "Europe/Amsterdam"
    )
    with pytest.raises(
        AnsibleFilterError, match=r"voip_phone_data\(prov1\): user e: site 'thr' has no call server"
    ):
        filters["voip_phone_data"]("prov1", hostvars, {"call_servers": ["cs1"]}, MASTER, "http://p")


def test_the_phone_http_key_is_derived_for_its_purpose_only():
    from ansible_collections.voip.estate.plugins.filter.voip_phones import voip_phone_http_secret

    key = voip_phone_http_secret(MASTER)
    assert key == passwords.purpose_key(MASTER, "phone-http") and MASTER not in key
    assert key != passwords.purpose_key(MASTER, "other") and len(key) >= 32
    with pytest.raises(Exception, match="shorter than 16"):
        voip_phone_http_secret("short")
