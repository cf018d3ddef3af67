"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_phone_templates (and voip_phone_failover): the files each vendor's phones request."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.voip.estate.plugins.module_utils import voip_phone_failover as failover
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


# -- Failover: a site with a backup call server ---------------------------------

ONE_SERVER = Path(__file__).parent / "fixtures" / "phone_files_one_server"
PAIR = [{"address": "10.0.0.11", "port": 5060}, {"address": "10.0.0.13", "port": 5070}]
HOSTILE = "cs\"3'\n<x>&y=z"


def with_servers(vendor, servers, **kw):
    account = {**entry(vendor)["account"], "servers": servers}
    if servers:
        account.update(registrar=servers[0]["address"], port=servers[0]["port"])
    return entry(vendor, account=account, **kw)


def text_of(e):
    return next(iter(t.render(e).values()))


def xml_settings(vendor, text):
    root = ET.fromstring(text.encode())
    if vendor == "polycom":
        return root.find("ALL").attrib
    children = root if vendor == "cisco" else root.find("phone-settings")
    return {child.tag: child.text or "" for child in children}


def settings(vendor, text):
    return yealink_keys(text) if vendor == "yealink" else xml_settings(vendor, text)


@pytest.mark.parametrize("vendor", sorted(t.EXTENSIONS))
@pytest.mark.parametrize("servers", [None, [{"address": "10.0.0.11", "port": 5060}]], ids=["no-list", "one"])
def test_one_call_server_gives_the_file_phones_had_before_failover(vendor, servers):
    """Byte for byte what the renderer gave before sites could have several call servers (fixtures)."""
    expected = (ONE_SERVER / f"{vendor}.{t.EXTENSIONS[vendor]}").read_text()
    e = entry(vendor) if servers is None else with_servers(vendor, servers)
    assert text_of(e) == expected


def test_yealink_names_both_outbound_proxies_with_the_timers():
    keys = yealink_keys(text_of(with_servers("yealink", PAIR)))
    assert keys["account.1.sip_server.1.address"] == "ams.test"  # the shared domain
    assert keys["account.1.outbound_proxy_enable"] == "1"
    assert [keys[f"account.1.outbound_proxy.{n}.{k}"] for n in (1, 2) for k in ("address", "port")] == [
        "10.0.0.11", "5060", "10.0.0.13", "5070",
    ]  # fmt: skip
    assert keys["account.1.sip_server.1.expires"] == str(failover.REGISTER_EXPIRES) == "60"
    assert keys["account.1.sip_server.1.retry_counts"] == str(failover.FAILOVER_RETRIES)
    assert keys["account.1.sip_server.1.register_on_enable"] == "1"
    assert keys["account.1.sip_server.1.failback_mode"] == "3"  # duration
    assert keys["account.1.sip_server.1.failback_timeout"] == str(failover.FAILBACK_SECONDS) == "60"
    assert keys["account.1.outbound_proxy_fallback_interval"] == "60"


def test_polycom_names_both_servers_by_address_and_keeps_the_domain_in_the_address():
    attrs = xml_settings("polycom", text_of(with_servers("polycom", PAIR)))
    assert attrs["reg.1.address"] == "2001@ams.test"
    assert (attrs["reg.1.server.1.address"], attrs["reg.1.server.1.port"]) == ("10.0.0.11", "5060")
    assert (attrs["reg.1.server.2.address"], attrs["reg.1.server.2.port"]) == ("10.0.0.13", "5070")
    for n in (1, 2):
        assert attrs[f"reg.1.server.{n}.expires"] == "60"
        assert attrs[f"reg.1.server.{n}.expires.overlap"] == str(failover.REREGISTER_MARGIN)
        assert attrs[f"reg.1.server.{n}.retryTimeOut"] == str(failover.RETRY_INTERVAL_MS) == "1000"
        assert attrs[f"reg.1.server.{n}.retryMaxCount"] == "2"
        assert attrs[f"reg.1.server.{n}.failOver.reRegisterOn"] == "1"
        assert attrs[f"reg.1.server.{n}.failOver.failRegistrationOn"] == "1"
        assert attrs[f"reg.1.server.{n}.failOver.failBack.mode"] == "duration"
        assert attrs[f"reg.1.server.{n}.failOver.failBack.timeout"] == "60"
    assert attrs["reg.1.outboundProxy.address"] == ""  # one proxy cannot fail over: the servers are direct
    assert attrs["attendant.resourceList.1.address"] == "2002@ams.test"


def test_cisco_names_the_alternate_outbound_proxy_with_dual_registration_and_timers():
    get = xml_settings("cisco", text_of(with_servers("cisco", PAIR)))
    assert (get["Proxy_1_"], get["Alternate_Proxy_1_"]) == ("ams.test", "ams.test")
    assert get["Outbound_Proxy_1_"] == "10.0.0.11:5060"
    assert get["Alternate_Outbound_Proxy_1_"] == "10.0.0.13:5070"
    assert (get["Use_Outbound_Proxy_1_"], get["Use_OB_Proxy_In_Dialog_1_"]) == ("Yes", "Yes")
    assert get["Dual_Registration_1_"] == "Yes"
    assert get["Register_Expires_1_"] == "60"
    assert get["Proxy_Fallback_Intvl_1_"] == "60"
    assert get["SIP_Timer_B"] == get["SIP_Timer_F"] == str(failover.TRANSACTION_TIMEOUT) == "4"


def test_snom_fails_over_to_a_second_identity_through_the_backup():
    get = xml_settings("snom", text_of(with_servers("snom", PAIR)))
    assert get["user_outbound1"] == "10.0.0.11:5060"
    assert get["user_failover_identity1"] == "2"
    assert get["user_outbound2"] == "10.0.0.13:5070"
    # The same account on identity 2.
    for key in ("name", "pname", "pass", "host", "realname"):
        assert get[f"user_{key}2"] == get[f"user_{key}1"], key
    assert get["user_active2"] == "on"
    assert get["user_expiry1"] == get["user_expiry2"] == "60"
    assert get["retry_after_failed_register"] == "60"


@pytest.mark.parametrize("vendor", sorted(t.EXTENSIONS))
def test_a_third_call_server_is_not_named(vendor):
    three = [*PAIR, {"address": "10.0.0.99", "port": 5060}]
    text = text_of(with_servers(vendor, three))
    assert "10.0.0.13" in text and "10.0.0.99" not in text
    assert text == text_of(with_servers(vendor, PAIR))


@pytest.mark.parametrize("vendor", sorted(t.EXTENSIONS))
def test_a_hostile_server_address_stays_one_escaped_value(vendor):
    """Quotes, a line break, <, & and = in an address: the same settings, the address one value, no new key."""
    hostile = [{"address": "10.0.0.11", "port": 5060}, {"address": HOSTILE, "port": 5060}]
    plain = settings(vendor, text_of(with_servers(vendor, PAIR)))
    text = text_of(with_servers(vendor, hostile))
    got = settings(vendor, text)  # parses: XML well-formed, Yealink one key per line, none twice
    assert got.keys() == plain.keys()
    cleaned = t.clean(HOSTILE)
    assert cleaned == "cs\"3' <x>&y=z"
    backup = {
        "yealink": "account.1.outbound_proxy.2.address",
        "polycom": "reg.1.server.2.address",
        "cisco": "Alternate_Outbound_Proxy_1_",
        "snom": "user_outbound2",
    }[vendor]
    assert got[backup] in (cleaned, f"{cleaned}:5060")
    assert "\n<x>" not in text and "cs\"3'\n" not in text
    if vendor != "yealink":
        assert "<x>" not in text and "&y" not in text  # escaped as &lt;x&gt; and &amp;y
