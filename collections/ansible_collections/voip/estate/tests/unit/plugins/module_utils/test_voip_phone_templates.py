"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_phone_templates: the files each vendor's phones request."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.voip.estate.plugins.module_utils import voip_phone_templates as t

PASSWORD = "s3cretpassw0rdxyzabc"
NASTY = 'O\'Brien & <Co> "quoted"'


def entry(vendor, mac="805ec0000001", name=NASTY, **kw):
    e = {
        "mac": mac, "vendor": vendor, "model": f"{vendor}-x", "user": "obrien", "site": "ams",
        "display_name": name, "extension": "2001",
        "firmware": {"version": "1.2.3", "url": "http://prov.test/firmware/v/m/1.2.3"},
        "account": {"username": "2001", "auth_name": "2001", "password": PASSWORD, "domain": "ams.test",
                    "registrar": "10.0.0.11", "port": 5060},
        "timezone": "Asia/Tehran", "utc_offset_minutes": 210, "ntp_servers": ["10.0.0.31", "10.0.0.32"],
        "voice_vlan": 110, "syslog_server": "10.0.0.40",
        "line_keys": [{"type": "blf", "extension": "2002", "label": NASTY},
                      {"type": "blf", "extension": "2003", "label": "Cas"}],
    }  # fmt: skip
    e.update(kw)
    return e


def yealink_keys(text):
    lines = text.splitlines()
    assert lines[0] == "#!version:1.0.0.1"
    pairs = {}
    for line in lines[1:]:
        if line.startswith("#") or not line.strip():
            continue
        key, sep, value = line.partition(" = ")
        assert sep, f"not a key = value line: {line!r}"
        assert key not in pairs, f"{key} twice"
        pairs[key] = value
    return pairs


def test_yealink_key_value_file():
    files = t.render(entry("yealink"))
    assert list(files) == ["805ec0000001.cfg"]
    keys = yealink_keys(files["805ec0000001.cfg"])
    assert keys["account.1.enable"] == "1"
    assert keys["account.1.display_name"] == NASTY
    assert keys["account.1.label"] == "2001"
    assert keys["account.1.auth_name"] == keys["account.1.user_name"] == "2001"
    assert keys["account.1.password"] == PASSWORD
    assert keys["account.1.sip_server.1.address"] == "ams.test"
    assert keys["account.1.sip_server.1.port"] == "5060"
    assert keys["account.1.outbound_proxy.1.address"] == "10.0.0.11"
    assert (keys["network.vlan.internet_port.enable"], keys["network.vlan.internet_port.vid"]) == ("1", "110")
    assert keys["local_time.ntp_server1"] == "10.0.0.31"
    assert keys["local_time.time_zone"] == "+3:30"
    assert keys["local_time.time_zone_name"] == "Asia/Tehran"
    assert keys["syslog.server"] == "10.0.0.40"
    assert keys["firmware.url"] == "http://prov.test/firmware/v/m/1.2.3"
    assert (keys["linekey.2.type"], keys["linekey.2.value"], keys["linekey.3.value"]) == (
        "16",
        "2002",
        "2003",
    )
    common = yealink_keys(t.render_common()[t.YEALINK_COMMON])
    assert common["auto_provision.mode"] == "1"


def test_polycom_xml_file_and_master():
    text = t.render(entry("polycom"))["805ec0000001.cfg"]
    root = ET.fromstring(text.encode())
    assert root.tag == "PHONE_CONFIG"
    attrs = root.find("ALL").attrib
    assert attrs["reg.1.address"] == "2001"
    assert attrs["reg.1.auth.userId"] == "2001"
    assert attrs["reg.1.auth.password"] == PASSWORD
    assert attrs["reg.1.displayName"] == NASTY
    assert attrs["reg.1.server.1.address"] == "ams.test"
    assert attrs["reg.1.outboundProxy.address"] == "10.0.0.11"
    assert attrs["device.net.vlanId"] == "110"
    assert attrs["tcpIpApp.sntp.address"] == "10.0.0.31"
    assert attrs["tcpIpApp.sntp.gmtOffset"] == str(210 * 60)
    assert attrs["attendant.resourceList.1.address"] == "2002@ams.test"
    assert attrs["attendant.resourceList.1.label"] == NASTY
    master = ET.fromstring(t.render_common()[t.POLYCOM_MASTER].encode())
    assert master.tag == "APPLICATION" and master.attrib["CONFIG_FILES"] == "[MACADDRESS].cfg"


def test_cisco_flat_profile():
    text = t.render(entry("cisco"))["805ec0000001.xml"]
    root = ET.fromstring(text.encode())
    assert root.tag == "flat-profile"
    get = {child.tag: (child.text or "") for child in root}
    assert get["Display_Name_1_"] == NASTY
    assert get["User_ID_1_"] == "2001"
    assert get["Password_1_"] == PASSWORD
    assert get["Proxy_1_"] == "ams.test"
    assert get["Outbound_Proxy_1_"] == "10.0.0.11:5060"
    assert (get["Enable_VLAN"], get["VLAN_ID"]) == ("Yes", "110")
    assert get["Primary_NTP_Server"] == "10.0.0.31"
    assert get["Time_Zone"] == "GMT+03:30"
    assert get["Upgrade_Rule"] == "http://prov.test/firmware/v/m/1.2.3.loads"
    assert get["Extended_Function_2_"].startswith("fnc=blf+sd+cp;sub=2002@ams.test;nme=O'Brien & <Co>")


def test_snom_settings():
    text = t.render(entry("snom"))["805ec0000001.xml"]
    root = ET.fromstring(text.encode())
    assert root.tag == "settings"
    get = {child.tag: (child.text or "") for child in root.find("phone-settings")}
    assert get["user_realname1"] == NASTY
    assert get["user_name1"] == "2001"
    assert get["user_pass1"] == PASSWORD
    assert get["user_host1"] == "ams.test"
    assert get["vlan_id"] == "110"
    assert get["ntp_server"] == "10.0.0.31"
    assert get["timezone"] == "Asia/Tehran"
    assert get["firmware_status"] == "http://prov.test/firmware/v/m/1.2.3"
    fkeys = [k.text for k in root.find("functionKeys")]
    assert fkeys == ["blf <sip:2002@ams.test>", "blf <sip:2003@ams.test>"]


@pytest.mark.parametrize("vendor", sorted(t.EXTENSIONS))
def test_line_breaks_cannot_inject_settings(vendor):
    text = next(iter(t.render(entry(vendor, name="Eve\naccount.1.password = x\r<x/>")).values()))
    assert "\naccount.1.password = x" not in text
    if vendor != "yealink":
        ET.fromstring(text.encode())


@pytest.mark.parametrize("vendor", sorted(t.EXTENSIONS))
def test_unassigned_profile_has_no_account(vendor):
    settings = {"timezone": "Europe/Amsterdam", "utc_offset_minutes": 60, "ntp_servers": ["10.0.0.31"],
                "voice_vlan": 110, "firmware_url": "http://p/fw", "model": "m1", "site": "ams"}  # fmt: skip
    files = t.render_unassigned(vendor, "805ec0000009", settings)
    name, text = next(iter(files.items()))
    assert name == f"805ec0000009.{t.EXTENSIONS[vendor]}"
    assert "unassigned" in text and "2001" not in text and "10.0.0.31" in text and "http://p/fw" in text
    if vendor == "yealink":
        assert yealink_keys(text)["account.1.enable"] == "0"
    else:
        ET.fromstring(text.encode())
    assert t.read_marker(text) == {"vendor": vendor, "model": "m1", "site": "ams", "user": "unassigned"}
    assert t.sniff_vendor(name, text) == vendor


@pytest.mark.parametrize("vendor", sorted(t.EXTENSIONS))
def test_marker_and_sniffing(vendor):
    name, text = next(iter(t.render(entry(vendor)).items()))
    assert t.read_marker(text) == {"vendor": vendor, "model": f"{vendor}-x", "site": "ams", "user": "obrien"}
    unmarked = "\n".join(line for line in text.splitlines() if t.MARKER not in line)
    assert t.sniff_vendor(name, unmarked) == vendor


@pytest.mark.parametrize("vendor", sorted(t.EXTENSIONS))
def test_changed_keys_name_settings_never_values(vendor):
    before = next(iter(t.render(entry(vendor)).values()))
    account = {**entry(vendor)["account"], "password": "n3wpassword"}
    after = next(iter(t.render(entry(vendor, account=account, voice_vlan=120)).values()))
    keys = t.changed_keys(before, after)
    assert keys and not any(PASSWORD in k or "n3wpassword" in k or "120" in k for k in keys)
    assert len(keys) >= 2


def test_unknown_vendor_and_missing_account():
    with pytest.raises(t.TemplateError, match="unknown phone vendor 'acme'"):
        t.render(entry("acme"))
    bad = entry("yealink")
    del bad["account"]
    with pytest.raises(t.TemplateError, match="phone 805ec0000001"):
        t.render(bad)
