"""Table-driven bad-input cases for `voipctl validate`.

Each case patches a copy of the small valid estate in tests/data/estate_base
and names the finding it must produce: file (relative to the inventory), key
path and a fragment of the message. The base itself must validate clean, so
every finding below is caused by its patch.
"""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from voipctl.generate import dump
from voipctl.model.checks import validate
from voipctl.model.types import SHOWN_LIMIT, shown

BASE = Path(__file__).resolve().parents[1] / "data" / "estate_base"
# A good device image of the base estate's gateway model (each case spoils one value).
IMAGE = {"version": "17.9.4a", "image": "isr4300-universalk9.17.09.04a.SPA.bin", "sha512": "a" * 128}
TODAY = datetime.date(2026, 6, 1)
USERS = "group_vars/all/users.yml"
SITES = "group_vars/all/sites.yml"
HOSTS = "hosts.yml"
PATCHING = "group_vars/all/patching.yml"
OUTLETS = "group_vars/all/outlets.yml"


Edit = Callable[[Path], None]


def data(file: str, change: Callable[[Any], Any]) -> Edit:
    """Load ``file`` as YAML, let ``change`` mutate it in place, write it back."""

    def apply(root: Path) -> None:
        path = root / file
        loaded = yaml.safe_load(path.read_text()) if path.exists() else {}
        change(loaded)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(loaded))

    return apply


def text(file: str, old: str, new: str) -> Edit:
    """Replace ``old`` (which must occur) by ``new`` in the raw text of ``file``."""

    def apply(root: Path) -> None:
        path = root / file
        body = path.read_text()
        assert old in body, f"test setup: {old!r} not in {file}"
        path.write_text(body.replace(old, new, 1))

    return apply


def raw(file: str, body: str) -> Edit:
    def apply(root: Path) -> None:
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)

    return apply


def user(i: int, **changes: Any) -> Edit:
    """Set keys of voip_users[i] (value None deletes the key)."""

    def change(d: dict) -> None:
        for key, value in changes.items():
            if value is None:
                d["voip_users"][i].pop(key, None)
            else:
                d["voip_users"][i][key] = value

    return data(USERS, change)


def leaver(i: int) -> Edit:
    """Turn voip_users[i] into a proper leaver (no devices, no hunt groups)."""

    def change(d: dict) -> None:
        u = d["voip_users"][i]
        u.update(status="leaver", leave_date="2026-01-31")
        u.pop("devices", None)
        u.get("features", {}).pop("hunt_groups", None)

    return data(USERS, change)


def site(name: str, **changes: Any) -> Edit:
    return data(SITES, lambda d: d["voip_sites"][name].update(changes))


def host_var(host: str, file: str, var: str, change: Callable[[Any], Any]) -> Edit:
    return data(f"host_vars/{host}/{file}", lambda d: change(d[var]))


@dataclass
class Case:
    id: str
    edits: tuple[Edit, ...]
    file: str
    path: str
    fragment: str
    severity: str = "error"


def case(
    id: str, edits: Edit | tuple[Edit, ...], file: str, path: str, fragment: str, severity: str = "error"
):
    return Case(id, edits if isinstance(edits, tuple) else (edits,), file, path, fragment, severity)


def fwd(i: int, **targets: Any) -> Edit:
    return data(USERS, lambda d: d["voip_users"][i]["features"].update(call_forward=targets))


GATEWAY = "host_vars/gw1/gateway.yml"
SWITCH = "host_vars/sw1/switch.yml"
# Text that must never reach Jinja, a device CLI, a config file or a SIP header.
HOSTILE_TEXT = {
    "jinja-expression": "{{ lookup('pipe', 'id') }}",
    "jinja-statement": "Jan {% if true %}x{% endif %}",
    "jinja-comment": "Jan {# x #}",
    "newline-command": "Fax\nusername backdoor privilege 15 secret 0 x",
    "carriage-return": "Fax\r\nswitchport mode trunk",
    "tab": "Jan\tde Vries",
    "nul": "Jan\x00",
    "c1-next-line": "Jan\x85de Vries",
    "delete": "Jan\x7f",
}
TEXT_RULE = "is not plain text: no control character (line break, tab, ...), no Unicode line separator"


def hostile_text_cases() -> list[Case]:
    """Every hostile text in a user's name, an FXS port's and a switch port's description."""
    cases = []
    for kind, value in HOSTILE_TEXT.items():
        cases += [
            case(f"text-{kind}-user-name", user(0, name=value), USERS, "voip_users[0].name", TEXT_RULE),
            case(
                f"text-{kind}-fxs-description",
                host_var(
                    "gw1",
                    "gateway.yml",
                    "voip_gateway",
                    lambda g, v=value: g["fxs_ports"][0].update(description=v),
                ),
                GATEWAY,
                "voip_gateway.fxs_ports[0].description",
                TEXT_RULE,
            ),
            case(
                f"text-{kind}-switch-port-description",
                host_var(
                    "sw1", "switch.yml", "voip_switch", lambda w, v=value: w["ports"][0].update(description=v)
                ),
                SWITCH,
                "voip_switch.ports[0].description",
                TEXT_RULE,
            ),
        ]
    return cases


HUNT = "group_vars/all/hunt_groups.yml"
CTI = "group_vars/all/cti.yml"
TRUNKS = "group_vars/all/trunks.yml"
BACKUP = "group_vars/all/backup.yml"
CALL_SERVER = "host_vars/cs1/call_server.yml"


def hunt(i: int, **changes: Any) -> Edit:
    return data(HUNT, lambda d: d["voip_hunt_groups"][i].update(changes))


def cti(i: int, *networks: str) -> Edit:
    return data(CTI, lambda d: d["voip_cti_accounts"][i].update(source_networks=list(networks)))


def trunk(i: int, **changes: Any) -> Edit:
    return data(TRUNKS, lambda d: d["voip_trunks"][i].update(changes))


def call_server(**changes: Any) -> Edit:
    return host_var("cs1", "call_server.yml", "voip_call_server", lambda c: c.update(changes))


def switch(host: str, **changes: Any) -> Edit:
    return host_var(host, "switch.yml", "voip_switch", lambda s: s.update(changes))


def working_hours(**changes: Any) -> Edit:
    hours = {"start": "07:00", "end": "19:00", "days": ["mon", "tue", "wed", "thu", "fri"], **changes}
    return data(BACKUP, lambda d: d.update(voip_health_policy={"working_hours": hours}))


def backup(**changes: Any) -> Edit:
    return data(BACKUP, lambda d: d["voip_backup_policy"].update(changes))


def device_mac(i: int, mac: str) -> Edit:
    return data(USERS, lambda d: d["voip_users"][i]["devices"][0].update(mac=mac))


def port_mac(host: str, port: int, mac: str) -> Edit:
    return host_var(host, "switch.yml", "voip_switch", lambda s: s["ports"][port].update(phone_mac=mac))


def grants(i: int, *features: str) -> Edit:
    return user(i, grants=[{"feature": f, "until": "2027-01-01", "reason": "project"} for f in features])


def cf(i: int) -> str:
    return f"voip_users[{i}].features.call_forward"


# In the base: svos (voip_users[8], 2004) forwards no_answer to rrahimi (voip_users[0], 2000).
LOOP = "forward loop: "


def forward_loop_cases() -> list[Case]:
    """Forwards (any kind, by extension or DID) and hunt group overflows that come back to their start."""
    return [
        case("loop-self-extension-unconditional", fwd(0, unconditional=2000), USERS, f"{cf(0)}.unconditional",
             "forwards to the user's own extension 2000: the call would come straight back"),
        case("loop-self-extension-no-answer", fwd(2, no_answer=2001, no_answer_timeout=20), USERS,
             f"{cf(2)}.no_answer", "forwards to the user's own extension 2001"),
        case("loop-self-did", fwd(6, busy="+31206666003"), USERS, f"{cf(6)}.busy",
             "forwards to the user's own DID +31206666003: the call would come straight back"),
        case("loop-self-did-unconditional", fwd(4, unconditional="+31206666002"), USERS,
             f"{cf(4)}.unconditional", "forwards to the user's own DID +31206666002"),
        case("loop-two-busy-no-answer", fwd(0, busy=2004), USERS, f"{cf(0)}.busy",
             LOOP + "user rrahimi (2000) -busy-> user svos (2004) -no_answer-> user rrahimi (2000): "
             "a call would go round forever"),
        case("loop-two-unconditional", (fwd(2, unconditional=2002), fwd(4, unconditional=2001)), USERS,
             f"{cf(2)}.unconditional",
             LOOP + "user svisser (2001) -unconditional-> user nmeijer (2002) -unconditional-> user svisser (2001)"),
        case("loop-three-mixed-kinds",
             (fwd(10, busy=2006), fwd(12, no_answer=2008), fwd(16, unconditional=2005)), USERS, f"{cf(10)}.busy",
             LOOP + "user jhosseini (2005) -busy-> user zpeters (2006) -no_answer-> user nvisser (2008) "
             "-unconditional-> user jhosseini (2005)"),
        case("loop-reported-at-its-first-user",
             (fwd(16, unconditional=2005), fwd(10, busy=2008)), USERS, f"{cf(10)}.busy",
             LOOP + "user jhosseini (2005) -busy-> user nvisser (2008) -unconditional-> user jhosseini (2005)"),
        case("loop-two-kinds-to-one-user", (fwd(12, busy=2008, no_answer=2008), fwd(16, busy=2006)), USERS,
             f"{cf(12)}.busy", LOOP + "user zpeters (2006) -busy/no_answer-> user nvisser (2008) -busy->"),
        case("loop-via-did", (fwd(4, unconditional="+31206666003"), fwd(6, busy=2002)), USERS,
             f"{cf(4)}.unconditional",
             LOOP + "user nmeijer (2002) -unconditional to +31206666003-> user emeijer (2003) -busy-> "
             "user nmeijer (2002)"),
        case("loop-across-sites", (fwd(1, busy=2001), fwd(2, busy=3000)), USERS, f"{cf(1)}.busy",
             LOOP + "user bjansen (3000) -busy-> user svisser (2001) -busy-> user bjansen (3000)"),
        case("loop-via-hunt-group-overflow", (fwd(6, unconditional=2990), hunt(0, overflow=2003)), USERS,
             f"{cf(6)}.unconditional",
             LOOP + "user emeijer (2003) -unconditional-> hunt group ams-reception (2990) -overflow-> "
             "user emeijer (2003)"),
        case("loop-via-hunt-group-did",
             (hunt(1, did="+31206666991", overflow=2006), fwd(12, no_answer="+31206666991")), USERS,
             f"{cf(12)}.no_answer",
             LOOP + "user zpeters (2006) -no_answer to +31206666991-> hunt group ams-support (2991) -overflow->"),
        case("hunt-overflow-to-itself", hunt(0, overflow=2990), HUNT, "voip_hunt_groups[0].overflow",
             "overflows to the hunt group's own extension 2990: unanswered calls would ring it again and again"),
        case("hunt-overflow-to-own-did", hunt(3, did="+982133333990", overflow="+982133333990"), HUNT,
             "voip_hunt_groups[3].overflow", "overflows to the hunt group's own DID +982133333990"),
        case("hunt-overflow-pair", (hunt(3, overflow=3991), hunt(4, overflow=3990)), HUNT,
             "voip_hunt_groups[3].overflow",
             LOOP + "hunt group thr-reception (3990) -overflow-> hunt group thr-support (3991) -overflow-> "
             "hunt group thr-reception (3990)"),
        case("hunt-overflow-chain-of-three",
             (hunt(0, overflow=2991), hunt(1, overflow=2992), hunt(2, overflow=2990)), HUNT,
             "voip_hunt_groups[0].overflow",
             LOOP + "hunt group ams-reception (2990) -overflow-> hunt group ams-support (2991) -overflow-> "
             "hunt group ams-sales (2992) -overflow-> hunt group ams-reception (2990)"),
    ]  # fmt: skip


NOT_A_TZ = "is not a time zone (an IANA name such as 'Europe/Amsterdam')"
NOT_A_HOST = "; name the host's own address"


def value_cases() -> list[Case]:
    """Values of the right format that still cannot work: ports, zones, peers, VLANs, store, MACs, dates."""
    ntp = "voip_sites.ams.ntp_servers[0]"
    return [
        # RTP ports
        case("rtp-ports-beyond-65535", call_server(rtp_ports="20000-70000"), CALL_SERVER,
             "voip_call_server.rtp_ports", "'20000-70000': ports end at 65535, not 70000"),
        case("rtp-ports-below-1024", call_server(rtp_ports="80-2000"), CALL_SERVER,
             "voip_call_server.rtp_ports", "ports below 1024 are the system's"),
        case("rtp-ports-start-after-end", call_server(rtp_ports="30000-20000"), CALL_SERVER,
             "voip_call_server.rtp_ports", "the range is empty (start 30000 after end 20000)"),
        case("rtp-ports-not-a-range", call_server(rtp_ports="20000"), CALL_SERVER,
             "voip_call_server.rtp_ports", "is not a quoted port range such as '20000-30000'"),
        case("rtp-ports-six-digits", call_server(rtp_ports="20000-100000"), CALL_SERVER,
             "voip_call_server.rtp_ports", "is not a quoted port range"),
        # time zones
        case("timezone-typo", site("ams", timezone="Europe/Amsterdan"), SITES, "voip_sites.ams.timezone",
             f"'Europe/Amsterdan' {NOT_A_TZ}; did you mean 'Europe/Amsterdam'?"),
        case("timezone-offset", site("ams", timezone="UTC+1"), SITES, "voip_sites.ams.timezone",
             f"'UTC+1' {NOT_A_TZ}"),
        case("timezone-path", site("thr", timezone="../../etc/passwd"), SITES, "voip_sites.thr.timezone",
             f"'../../etc/passwd' {NOT_A_TZ}"),
        case("timezone-absolute-path", site("thr", timezone="/usr/share/zoneinfo/Asia/Tehran"), SITES,
             "voip_sites.thr.timezone", NOT_A_TZ),
        case("timezone-localtime", site("thr", timezone="localtime"), SITES, "voip_sites.thr.timezone",
             f"'localtime' {NOT_A_TZ}"),
        case("timezone-lower-case", site("ams", timezone="europe/amsterdam"), SITES,
             "voip_sites.ams.timezone", NOT_A_TZ),
        case("timezone-number", site("ams", timezone=1), SITES, "voip_sites.ams.timezone",
             "1 is not a time zone such as 'Europe/Amsterdam'"),
        # peers: NTP servers, trunks, hosts, SIP domains
        case("ntp-unspecified", site("ams", ntp_servers=["0.0.0.0"]), SITES, ntp,
             "'0.0.0.0' is the unspecified address ('any'), which names no host" + NOT_A_HOST),
        case("ntp-unspecified-v6", site("ams", ntp_servers=["::"]), SITES, ntp, "'::' is the unspecified address"),
        case("ntp-broadcast", site("ams", ntp_servers=["255.255.255.255"]), SITES, ntp,
             "'255.255.255.255' is the broadcast address"),
        case("ntp-multicast", site("ams", ntp_servers=["224.0.1.1"]), SITES, ntp,
             "'224.0.1.1' is a multicast address: it names a group, not a host"),
        case("ntp-multicast-v6", site("ams", ntp_servers=["ff05::101"]), SITES, ntp, "is a multicast address"),
        case("ntp-loopback", site("ams", ntp_servers=["127.0.0.1"]), SITES, ntp,
             "'127.0.0.1' is a loopback address: it names the machine itself, never the peer"),
        case("ntp-loopback-v6", site("ams", ntp_servers=["::1"]), SITES, ntp, "'::1' is a loopback address"),
        case("ntp-loopback-v4-mapped", site("ams", ntp_servers=["::ffff:127.0.0.1"]), SITES, ntp,
             "is a loopback address"),
        case("ntp-this-network", site("thr", ntp_servers=["198.51.100.31", "0.1.2.3"]), SITES,
             "voip_sites.thr.ntp_servers[1]", "in 0.0.0.0/8 ('this network')"),
        case("ntp-reserved", site("ams", ntp_servers=["240.0.0.1"]), SITES, ntp, "in the reserved range 240.0.0.0/4"),
        case("trunk-address-unspecified", trunk(0, address="0.0.0.0"), TRUNKS, "voip_trunks[0].address",
             "'0.0.0.0' is the unspecified address"),
        case("trunk-address-multicast", trunk(1, address="239.255.255.250"), TRUNKS, "voip_trunks[1].address",
             "is a multicast address"),
        case("trunk-address-loopback", trunk(0, address="127.0.0.53"), TRUNKS, "voip_trunks[0].address",
             "is a loopback address"),
        case("trunk-address-localhost", trunk(0, address="localhost"), TRUNKS, "voip_trunks[0].address",
             "'localhost' is this machine (localhost), never the peer"),
        case("trunk-address-numeric-form", trunk(0, address="0x7f.1"), TRUNKS, "voip_trunks[0].address",
             "is a numeric address in a non-standard form"),
        case("host-address-unspecified",
             text(HOSTS, "cs2: {ansible_host: 198.51.100.11", "cs2: {ansible_host: 0.0.0.0"), HOSTS,
             "all.children.linux.children.call_servers.hosts.cs2.ansible_host", "is the unspecified address"),
        case("host-address-broadcast",
             text(HOSTS, "gw2: {ansible_host: 198.51.100.41", "gw2: {ansible_host: 255.255.255.255"), HOSTS,
             "all.children.network_devices.children.gateways.hosts.gw2.ansible_host", "is the broadcast address"),
        case("host-address-multicast",
             text(HOSTS, "sw4: {ansible_host: 198.51.100.52", "sw4: {ansible_host: ff02::1"), HOSTS,
             "all.children.network_devices.children.access_switches.hosts.sw4.ansible_host",
             "'ff02::1' is a multicast address"),
        case("sip-domain-loopback", call_server(sip_domain="127.0.0.1"), CALL_SERVER,
             "voip_call_server.sip_domain", "is a loopback address"),
        # VLANs
        case("data-vlan-is-voice-vlan", switch("sw1", data_vlan=110), SWITCH, "voip_switch.data_vlan",
             "data VLAN 110 is the switch's voice VLAN: the PCs' data and the phones' voice must be on separate"),
        case("data-vlan-is-voice-vlan-thr", switch("sw3", data_vlan=111), "host_vars/sw3/switch.yml",
             "voip_switch.data_vlan", "data VLAN 111 is the switch's voice VLAN"),
        case("data-vlan-is-site-voice-vlan", switch("sw3", voice_vlan=112, data_vlan=111),
             "host_vars/sw3/switch.yml", "voip_switch.data_vlan", "data VLAN 111 is site thr's voice VLAN"),
        # premium-rate ranges are national numbers as dialled at the site
        case("premium-international-prefix", site("ams", premium_prefixes=["0044900"]), SITES,
             "voip_sites.ams.premium_prefixes[0]", "'0044900' is not a national number range"),
        case("premium-no-prefix", site("ams", premium_prefixes=["900"]), SITES, "voip_sites.ams.premium_prefixes[0]",
             "the national prefix 0 and 1 to 8 digits"),
        case("premium-prefix-alone", site("ams", premium_prefixes=["0"]), SITES, "voip_sites.ams.premium_prefixes[0]",
             "is not a national number range"),
        case("premium-not-digits", site("ams", premium_prefixes=["09*0"]), SITES, "voip_sites.ams.premium_prefixes[0]",
             "a quoted string of digits"),
        # the working day of the health policy (toll fraud after hours)
        case("working-day-ends-before-it-starts", working_hours(start="19:00", end="07:00"), BACKUP,
             "voip_health_policy.working_hours.end", "the working day ends at 07:00, not after it starts (19:00)"),
        case("working-day-of-no-length", working_hours(start="08:00", end="08:00"), BACKUP,
             "voip_health_policy.working_hours.end", "not after it starts"),
        case("working-week-of-no-days", working_hours(days=[]), BACKUP, "voip_health_policy.working_hours.days",
             "no working day"),
        case("working-day-unknown", working_hours(days=["mon", "Mon"]), BACKUP,
             "voip_health_policy.working_hours.days[1]", "'Mon' is not one of 'mon', 'tue'"),
        case("working-day-24h", working_hours(end="24:00"), BACKUP, "voip_health_policy.working_hours.end",
             "a time of day HH:MM"),
        # the backup store
        case("backup-store-root", backup(store="/"), BACKUP, "voip_backup_policy.store",
             "'/' is a system directory: backups are written to and pruned from <store>/<host>/"),
        case("backup-store-double-slash", backup(store="//"), BACKUP, "voip_backup_policy.store",
             "is a system directory"),
        case("backup-store-etc", backup(store="/etc"), BACKUP, "voip_backup_policy.store",
             "'/etc' is a system directory"),
        case("backup-store-var-slash", backup(store="/var/"), BACKUP, "voip_backup_policy.store",
             "'/var/' is a system directory"),
        case("backup-store-home", backup(store="/home"), BACKUP, "voip_backup_policy.store", "is a system directory"),
        case("backup-store-usr-local", backup(store="/usr/local"), BACKUP, "voip_backup_policy.store",
             "is a system directory"),
        case("backup-store-climbs", backup(store="/srv/backups/../../etc"), BACKUP, "voip_backup_policy.store",
             "climbs with '..'"),
        case("backup-store-tmp", backup(store="/tmp/backups"), BACKUP, "voip_backup_policy.store",
             "is below /tmp, which does not keep files"),
        case("backup-store-relative", backup(store="backups"), BACKUP, "voip_backup_policy.store",
             "'backups' is not an absolute path"),
        # device MACs
        case("mac-broadcast", device_mac(0, "ff:ff:ff:ff:ff:ff"), USERS, "voip_users[0].devices[0].mac",
             "'ff:ff:ff:ff:ff:ff' is the broadcast MAC address, not a device's"),
        case("mac-broadcast-upper", device_mac(2, "FF:FF:FF:FF:FF:FF"), USERS, "voip_users[2].devices[0].mac",
             "is the broadcast MAC address"),
        case("mac-multicast", device_mac(4, "01:00:5e:00:00:01"), USERS, "voip_users[4].devices[0].mac",
             "'01:00:5e:00:00:01' is a multicast MAC address (the first octet is odd), not a device's"),
        case("mac-multicast-upper", device_mac(4, "01:00:5E:7F:FF:FA"), USERS, "voip_users[4].devices[0].mac",
             "is a multicast MAC address"),
        case("mac-multicast-ipv6", device_mac(6, "33:33:00:00:00:01"), USERS, "voip_users[6].devices[0].mac",
             "is a multicast MAC address"),
        case("mac-all-zero", device_mac(8, "00:00:00:00:00:00"), USERS, "voip_users[8].devices[0].mac",
             "is the all-zero MAC address"),
        case("switch-phone-mac-multicast",
             port_mac("sw1", 0, "01:80:C2:00:00:0E"),
             SWITCH, "voip_switch.ports[0].phone_mac", "is a multicast MAC address"),
        case("switch-phone-mac-broadcast",
             port_mac("sw3", 1, "ff:ff:ff:ff:ff:ff"),
             "host_vars/sw3/switch.yml", "voip_switch.ports[1].phone_mac", "is the broadcast MAC address"),
        # grants
        case("grant-twice", grants(6, "international", "international"), USERS,
             "voip_users[6].grants[1].feature", "international is already granted by grants[0]: keep one grant"),
        case("grant-twice-among-others", grants(14, "national", "voicemail", "conference", "voicemail"), USERS,
             "voip_users[14].grants[3].feature", "voicemail is already granted by grants[1]"),
        # dates: only YYYY-MM-DD
        case("date-iso-week", user(6, grants=[{"feature": "national", "until": "2026-W05-1", "reason": "x"}]),
             USERS, "voip_users[6].grants[0].until", "'2026-W05-1' is not a date YYYY-MM-DD"),
        case("date-basic-format", user(1, leave_date="20261231"), USERS, "voip_users[1].leave_date",
             "'20261231' is not a date YYYY-MM-DD"),
        case("date-unpadded", user(1, leave_date="2026-6-1"), USERS, "voip_users[1].leave_date",
             "'2026-6-1' is not a date YYYY-MM-DD"),
        case("date-with-time", user(1, leave_date="2026-12-31T00:00"), USERS, "voip_users[1].leave_date",
             "'2026-12-31T00:00' is not a date YYYY-MM-DD"),
        case("date-ordinal", user(1, leave_date="2026-365"), USERS, "voip_users[1].leave_date",
             "'2026-365' is not a date YYYY-MM-DD"),
    ]  # fmt: skip


def cti_cases() -> list[Case]:
    """CTI source networks that, alone or together, let (almost) anyone in."""
    nets = "voip_cti_accounts[1].source_networks"
    return [
        case("cti-open-to-all-v6", cti(1, "::/0"), CTI, f"{nets}[0]", "::/0 lets anyone in"),
        case("cti-open-to-all-after-a-good-one", cti(0, "192.0.2.128/28", "0.0.0.0/0"), CTI,
             "voip_cti_accounts[0].source_networks[1]", "0.0.0.0/0 lets anyone in"),
        case("cti-two-halves", cti(1, "0.0.0.0/1", "128.0.0.0/1"), CTI, nets,
             "together these networks make 0.0.0.0/0, every IPv4 address: that lets anyone in"),
        case("cti-half-is-too-wide", cti(1, "0.0.0.0/1", "128.0.0.0/1"), CTI, f"{nets}[1]",
             "128.0.0.0/1 is wider than a /8"),
        case("cti-v6-halves", cti(1, "::/1", "8000::/1"), CTI, nets, "every IPv6 address: that lets anyone in"),
        case("cti-wider-than-slash-8", cti(1, "10.0.0.0/7"), CTI, f"{nets}[0]", "10.0.0.0/7 is wider than a /8"),
        case("cti-v6-wider-than-slash-32", cti(1, "2001:db8::/31"), CTI, f"{nets}[0]", "is wider than a /32"),
        case("cti-many-small-make-a-big-one", cti(1, "10.0.0.0/9", "10.128.0.0/9", "11.0.0.0/9"), CTI, nets,
             "together these networks make 10.0.0.0/8, 11.0.0.0/9, more than a /8 (25165824 addresses)"),
        case("cti-v6-together-too-wide", cti(0, "2001:db8::/33", "2001:db8:8000::/33", "2001:dba::/32"), CTI,
             "voip_cti_accounts[0].source_networks", "more than a /32"),
    ]  # fmt: skip


CASES = [
    *hostile_text_cases(),
    *forward_loop_cases(),
    *value_cases(),
    *cti_cases(),
    # --- formats ---------------------------------------------------------
    case(
        "mac-short",
        data(USERS, lambda d: d["voip_users"][0]["devices"][0].update(mac="80:5E:C0:12:34")),
        USERS,
        "voip_users[0].devices[0].mac",
        "is not a MAC address",
    ),
    case(
        "mac-dashes",
        data(USERS, lambda d: d["voip_users"][5]["devices"][0].update(mac="80-5e-c0-00-00-06")),
        USERS,
        "voip_users[5].devices[0].mac",
        "is not a MAC address",
    ),
    case(
        "did-not-e164", user(0, did="0206666000"), USERS, "voip_users[0].did", "is not a quoted E.164 number"
    ),
    case(
        "did-unquoted",
        text(USERS, 'did: "+31206666000"', "did: +31206666000"),
        USERS,
        "voip_users[0].did",
        "is not a string",
    ),
    case(
        "extension-text", user(2, extension="20x1"), USERS, "voip_users[2].extension", "is not a whole number"
    ),
    case(
        "extension-bool", user(2, extension=True), USERS, "voip_users[2].extension", "is not a whole number"
    ),
    case(
        "cos-unknown",
        user(1, class_of_service="global"),
        USERS,
        "voip_users[1].class_of_service",
        "'global' is not one of",
    ),
    case("status-unknown", user(1, status="retired"), USERS, "voip_users[1].status", "is not one of"),
    case(
        "leave-date-invalid",
        user(1, leave_date="2026-02-30"),
        USERS,
        "voip_users[1].leave_date",
        "is not a date",
    ),
    case(
        "grant-until-text",
        user(6, grants=[{"feature": "international", "until": "soon", "reason": "x"}]),
        USERS,
        "voip_users[6].grants[0].until",
        "is not a date",
    ),
    case(
        "leave-date-timestamp",
        # An unquoted YAML timestamp is a datetime: refused, not cut to its day.
        text(USERS, "status: active", "leave_date: 2026-09-30 10:00:00\n    status: active"),
        USERS,
        "voip_users[0].leave_date",
        "2026-09-30 10:00:00 is a timestamp; give a date YYYY-MM-DD",
    ),
    case(
        "grant-no-reason",
        user(6, grants=[{"feature": "international", "until": "2027-01-01"}]),
        USERS,
        "voip_users[6].grants[0].reason",
        "missing required key 'reason'",
    ),
    case(
        "user-typo-key",
        data(USERS, lambda d: d["voip_users"][3].update(extention=3001)),
        USERS,
        "voip_users[3].extention",
        "unknown key 'extention'",
    ),
    case(
        "email-invalid",
        user(4, email="nmeijer-at-example"),
        USERS,
        "voip_users[4].email",
        "is not an e-mail address",
    ),
    case("user-id-invalid", user(4, id="N Meijer"), USERS, "voip_users[4].id", "is not a user id"),
    case("user-missing-site", user(4, site=None), USERS, "voip_users[4].site", "missing required key 'site'"),
    case(
        "forward-target-garbage",
        fwd(6, busy="reception"),
        USERS,
        "voip_users[6].features.call_forward.busy",
        "is not a forward target",
    ),
    case(
        "voicemail-number",
        data(USERS, lambda d: d["voip_users"][6]["features"].update(voicemail=3)),
        USERS,
        "voip_users[6].features.voicemail",
        "is not true, false or an e-mail address",
    ),
    case(
        "no-answer-timeout-range",
        fwd(6, no_answer=2000, no_answer_timeout=500),
        USERS,
        "voip_users[6].features.call_forward.no_answer_timeout",
        "is outside 5-120",
    ),
    case("users-not-a-list", raw(USERS, "---\nvoip_users: everyone\n"), USERS, "voip_users", "is not a list"),
    case(
        "user-not-a-mapping",
        raw(USERS, "---\nvoip_users: [42]\n"),
        USERS,
        "voip_users[0]",
        "is not a mapping",
    ),
    case(
        "site-range-empty",
        site("ams", extensions="2999-2000"),
        SITES,
        "voip_sites.ams.extensions",
        "the range is empty",
    ),
    case("site-dids-not-range", site("ams", dids="+3120666"), SITES, "voip_sites.ams.dids", "is not a range"),
    case(
        "site-dids-lengths",
        site("ams", dids="+31206666000-+312066669999"),
        SITES,
        "voip_sites.ams.dids",
        "same number of digits",
    ),
    case(
        "emergency-unquoted",
        text(SITES, 'emergency: ["112"]', "emergency: [112]"),
        SITES,
        "voip_sites.ams.emergency",
        "is not a quoted emergency number",
    ),
    case(
        "voice-vlan-range",
        site("thr", voice_vlan=5000),
        SITES,
        "voip_sites.thr.voice_vlan",
        "is outside 1-4094",
    ),
    case(
        "voice-subnet-host-bits",
        site("thr", voice_subnets=["10.101.0.1/16"]),
        SITES,
        "voip_sites.thr.voice_subnets[0]",
        "has host bits set",
    ),
    case(
        "phone-vendor-unknown",
        data(
            "group_vars/all/phone_models.yml",
            lambda d: d["voip_phone_models"]["snom-d785"].update(vendor="nokia"),
        ),
        "group_vars/all/phone_models.yml",
        "voip_phone_models.snom-d785.vendor",
        "'nokia' is not one of",
    ),
    case(
        "phone-line-keys-zero",
        data(
            "group_vars/all/phone_models.yml",
            lambda d: d["voip_phone_models"]["snom-d785"].update(line_keys=0),
        ),
        "group_vars/all/phone_models.yml",
        "voip_phone_models.snom-d785.line_keys",
        "is outside 1-64",
    ),
    case(
        "trunk-address-invalid",
        data("group_vars/all/trunks.yml", lambda d: d["voip_trunks"][0].update(address="999.1.1.1")),
        "group_vars/all/trunks.yml",
        "voip_trunks[0].address",
        "is not an IP address or host name",
    ),
    case(
        "trunk-secret-inline",
        data("group_vars/all/trunks.yml", lambda d: d["voip_trunks"][1].update(credentials_ref="s3cret!")),
        "group_vars/all/trunks.yml",
        "voip_trunks[1].credentials_ref",
        "is not the name of a vault variable",
    ),
    case(
        "trunk-username-with-space",
        trunk(0, username="ams trunk"),
        TRUNKS,
        "voip_trunks[0].username",
        "is not a SIP user name",
    ),
    case(
        "trunk-username-too-long",
        trunk(1, username="u" * 65),
        TRUNKS,
        "voip_trunks[1].username",
        "is not a SIP user name",
    ),
    case(
        "trunk-username-template",
        trunk(0, username="{{ x }}"),
        TRUNKS,
        "voip_trunks[0].username",
        "is not a SIP user name",
    ),
    case(
        "trunk-realm-quote", trunk(0, realm='sip"x'), TRUNKS, "voip_trunks[0].realm", "is not a digest realm"
    ),
    case(
        "trunk-register-not-bool", trunk(0, register="sometimes"), TRUNKS, "voip_trunks[0].register", "bool"
    ),
    case(
        "trunk-udp-without-realm",
        data(TRUNKS, lambda d: d["voip_trunks"][1].pop("realm")),
        TRUNKS,
        "voip_trunks[1]",
        "trunk 'thr-sip1' has no realm: over udp its password answers a challenge of any realm",
        severity="warning",
    ),
    case(
        "trunk-registered-by-two-sites",
        (trunk(0, register=True), site("thr", trunks=["ams-sip1", "thr-sip1"])),
        TRUNKS,
        "voip_trunks[0].register",
        "trunk 'ams-sip1' would be registered by the call servers of 2 sites (ams: cs1; thr: cs2): "
        "one account registers the call servers of one site",
    ),
    case(
        "trunk-register-no-site-uses-it",
        (trunk(0, register=True), site("ams", trunks=["thr-sip1"])),
        TRUNKS,
        "voip_trunks[0].register",
        "no call server registers trunk 'ams-sip1': no site with a call server uses it (sites using it: none)",
    ),
    case(
        "trunk-cos-internal",
        data(
            "group_vars/all/trunks.yml", lambda d: d["voip_trunks"][0].update(classes_of_service=["internal"])
        ),
        "group_vars/all/trunks.yml",
        "voip_trunks[0].classes_of_service[0]",
        "'internal' is not one of",
    ),
    case(
        "cti-network-invalid",
        data(
            "group_vars/all/cti.yml",
            lambda d: d["voip_cti_accounts"][0].update(source_networks=["10.0.0.0/33"]),
        ),
        "group_vars/all/cti.yml",
        "voip_cti_accounts[0].source_networks[0]",
        "is not a network",
    ),
    case(
        "host-address-invalid",
        text(HOSTS, "cs2: {ansible_host: 198.51.100.11", "cs2: {ansible_host: 10.0.0.300"),
        HOSTS,
        "all.children.linux.children.call_servers.hosts.cs2.ansible_host",
        "is not an IP address or host name",
    ),
    case(
        "rack-height-zero",
        data("group_vars/all/racks.yml", lambda d: d["voip_racks"]["thr-r2"].update(height=0)),
        "group_vars/all/racks.yml",
        "voip_racks.thr-r2.height",
        "is outside 1-60",
    ),
    case(
        "backup-time-invalid",
        data("group_vars/all/backup.yml", lambda d: d["voip_backup_policy"].update(time="25:00")),
        "group_vars/all/backup.yml",
        "voip_backup_policy.time",
        "is not a time of day",
    ),
    case(
        "backup-retention-zero",
        data("group_vars/all/backup.yml", lambda d: d["voip_backup_policy"]["retention"].update(daily=0)),
        "group_vars/all/backup.yml",
        "voip_backup_policy.retention.daily",
        "is outside 1-366",
    ),
    case(
        "release-version-empty",
        data("group_vars/all/release.yml", lambda d: d["voip_release"]["components"].update(kamailio="")),
        "group_vars/all/release.yml",
        "voip_release.components.kamailio",
        "is not a version string",
    ),
    case(
        "pri-channels",
        host_var("gw1", "gateway.yml", "voip_gateway", lambda g: g["pri_spans"][0].update(channels=40)),
        "host_vars/gw1/gateway.yml",
        "voip_gateway.pri_spans[0].channels",
        "is outside 1-31",
    ),
    case(
        "pri-switchtype",
        host_var(
            "gw2", "gateway.yml", "voip_gateway", lambda g: g["pri_spans"][0].update(switchtype="euro-isdn")
        ),
        "host_vars/gw2/gateway.yml",
        "voip_gateway.pri_spans[0].switchtype",
        "is not one of",
    ),
    # --- malformed files: reported with file and line, never a traceback --
    case(
        "yaml-bad-indent",
        text(USERS, "    name: Reza Rahimi", "      name: Reza Rahimi"),
        USERS,
        "",
        "invalid YAML",
    ),
    case(
        "yaml-unclosed-flow",
        text(
            USERS,
            '- {mac: "80:5e:c0:00:00:01", model: yealink-t54w}',
            '- {mac: "80:5e:c0:00:00:01", model: yealink-t54w',
        ),
        USERS,
        "",
        "invalid YAML",
    ),
    case(
        "yaml-impossible-date",
        text(USERS, "status: active", "leave_date: 2026-13-01\n    status: active"),
        USERS,
        "",
        "not a valid timestamp",
    ),
    case(
        "vars-file-not-mapping",
        raw("group_vars/all/extra.yml", "---\n- just\n- a list\n"),
        "group_vars/all/extra.yml",
        "",
        "must be a mapping",
    ),
    # --- uniqueness -------------------------------------------------------
    case(
        "duplicate-user-id", user(2, id="rrahimi"), USERS, "voip_users[2].id", "duplicate user id 'rrahimi'"
    ),
    case(
        "duplicate-extension",
        user(2, extension=2000),
        USERS,
        "voip_users[2].extension",
        "extension 2000 is already used by user rrahimi",
    ),
    case(
        "duplicate-did",
        user(4, did="+31206666000"),
        USERS,
        "voip_users[4].did",
        "DID +31206666000 is already used by user rrahimi",
    ),
    case(
        "duplicate-mac-other-case",
        data(USERS, lambda d: d["voip_users"][2]["devices"][0].update(mac="80:5E:C0:00:00:01")),
        USERS,
        "voip_users[2].devices[0].mac",
        "is already used by user rrahimi",
    ),
    case(
        "duplicate-ip",
        text(HOSTS, "cs2: {ansible_host: 198.51.100.11", "cs2: {ansible_host: 192.0.2.11"),
        HOSTS,
        "all.children.linux.children.call_servers.hosts.cs2.ansible_host",
        "address 192.0.2.11 is also used by host cs1",
    ),
    case(
        "rack-units-overlap",
        host_var("prov1", "rack.yml", "voip_rack", lambda r: r.update(unit=20)),
        "host_vars/prov1/rack.yml",
        "voip_rack.unit",
        "unit 20 of rack ams-r1 is already used by host cs1",
    ),
    case(
        "rack-panel-overlaps-host",
        data(
            "group_vars/all/patching.yml", lambda d: d["voip_patch_panels"][0].update(rack="ams-r1", unit=30)
        ),
        "group_vars/all/patching.yml",
        "voip_patch_panels[0].unit",
        "is already used by host gw1",
    ),
    case(
        "patch-port-twice",
        data("group_vars/all/patching.yml", lambda d: d["voip_patch_connections"][1].update(b="sw1:Gi1/0/1")),
        "group_vars/all/patching.yml",
        "voip_patch_connections[1].b",
        "port sw1:Gi1/0/1 is already patched by voip_patch_connections[0].b",
    ),
    case(
        "patch-panel-name-twice",
        data("group_vars/all/patching.yml", lambda d: d["voip_patch_panels"][1].update(name="ams-r2-pp1")),
        "group_vars/all/patching.yml",
        "voip_patch_panels[1].name",
        "already a patch panel or host name",
    ),
    case(
        "extension-of-hunt-group",
        user(0, extension=2990),
        USERS,
        "voip_users[0].extension",
        "already used by hunt group ams-reception",
    ),
    case(
        "fxs-extension-of-user",
        host_var("gw1", "gateway.yml", "voip_gateway", lambda g: g["fxs_ports"][0].update(extension=2000)),
        "host_vars/gw1/gateway.yml",
        "voip_gateway.fxs_ports[0].extension",
        "already used by user rrahimi",
    ),
    case(
        "switch-port-twice",
        host_var("sw1", "switch.yml", "voip_switch", lambda s: s["ports"][1].update(name="Gi1/0/1")),
        "host_vars/sw1/switch.yml",
        "voip_switch.ports[1].name",
        "port Gi1/0/1 is listed twice",
    ),
    case(
        "trunk-name-twice",
        data("group_vars/all/trunks.yml", lambda d: d["voip_trunks"][1].update(name="ams-sip1")),
        "group_vars/all/trunks.yml",
        "voip_trunks[1].name",
        "duplicate trunk name",
    ),
    case(
        "feature-codes-are-not-applied",
        data(
            "group_vars/all/numbering.yml",
            lambda d: d["voip_numbering"].update(feature_codes={"dnd_on": "*78"}),
        ),
        "group_vars/all/numbering.yml",
        "voip_numbering.feature_codes",
        "feature_codes is no longer part of the model: the call servers implement no star codes",
    ),
    case(
        "sip-domain-twice",
        host_var(
            "cs2",
            "call_server.yml",
            "voip_call_server",
            lambda c: c.update(sip_domain="ams.voip.example.com"),
        ),
        "host_vars/cs2/call_server.yml",
        "voip_call_server.sip_domain",
        "is also used by cs1",
    ),
    case(
        "gateway-port-twice",
        host_var("gw1", "gateway.yml", "voip_gateway", lambda g: g["fxs_ports"][1].update(port="0/1/0")),
        "host_vars/gw1/gateway.yml",
        "voip_gateway.fxs_ports[1].port",
        "already used by pri_spans[0]",
    ),
    case(
        "site-ranges-overlap",
        site("thr", extensions="2500-3499"),
        SITES,
        "voip_sites.thr.extensions",
        "extension range overlaps site ams's",
    ),
    case(
        "trunk-tls-options-ping",
        data(
            "group_vars/all/trunks.yml",
            lambda d: d["voip_trunks"][0].update(transport="tls", port=5061, options_ping=True),
        ),
        "group_vars/all/trunks.yml",
        "voip_trunks[0].options_ping",
        "a TLS trunk cannot be pinged",
    ),
    case(
        "voice-subnets-missing",
        data(SITES, lambda d: d["voip_sites"]["thr"].pop("voice_subnets")),
        SITES,
        "voip_sites.thr",
        "no voice_subnets: the call servers take registrations only from the voice networks",
    ),
    case(
        "voice-subnets-empty",
        site("thr", voice_subnets=[]),
        SITES,
        "voip_sites.thr",
        "this site's phones could register from nowhere",
    ),
    case(
        "voice-subnets-overlap",
        site("thr", voice_subnets=["10.100.128.0/17"]),
        SITES,
        "voip_sites.thr.voice_subnets[0]",
        "overlaps 10.100.0.0/16 of site ams",
    ),
    case(
        "switch-mac-twice",
        host_var(
            "sw2",
            "switch.yml",
            "voip_switch",
            lambda s: s["ports"].insert(0, {"name": "Gi1/0/9", "phone_mac": "80:5e:c0:00:00:01"}),
        ),
        "host_vars/sw2/switch.yml",
        "voip_switch.ports[0].phone_mac",
        "is also connected to sw1 port Gi1/0/1",
    ),
    # --- references -------------------------------------------------------
    case("user-site-unknown", user(0, site="rtm"), USERS, "voip_users[0].site", "unknown site 'rtm'"),
    case(
        "phone-model-unknown",
        data(USERS, lambda d: d["voip_users"][3]["devices"][0].update(model="yealink-t99")),
        USERS,
        "voip_users[3].devices[0].model",
        "unknown phone model 'yealink-t99'",
    ),
    case(
        "hunt-group-unknown",
        data(USERS, lambda d: d["voip_users"][6]["features"].update(hunt_groups=["ams-billing"])),
        USERS,
        "voip_users[6].features.hunt_groups[0]",
        "unknown hunt group 'ams-billing'",
    ),
    case(
        "forward-to-missing-extension",
        fwd(6, busy=2500),
        USERS,
        "voip_users[6].features.call_forward.busy",
        "forward target 2500 is not an extension in the estate",
    ),
    case(
        "forward-to-leaver",
        (leaver(4), fwd(6, busy=2002)),
        USERS,
        "voip_users[6].features.call_forward.busy",
        "belongs to leaver nmeijer",
    ),
    case(
        "site-trunk-unknown",
        site("ams", trunks=["ams-sip9"]),
        SITES,
        "voip_sites.ams.trunks[0]",
        "unknown trunk 'ams-sip9'",
    ),
    case(
        "cti-right-unknown",
        data("group_vars/all/cti.yml", lambda d: d["voip_cti_accounts"][1]["rights"].append("admin")),
        "group_vars/all/cti.yml",
        "voip_cti_accounts[1].rights[2]",
        "unknown CTI right 'admin'",
    ),
    case(
        "cti-call-server-not-one",
        data("group_vars/all/cti.yml", lambda d: d["voip_cti_accounts"][0].update(call_servers=["gw1"])),
        "group_vars/all/cti.yml",
        "voip_cti_accounts[0].call_servers[0]",
        "'gw1' is not a host in call_servers",
    ),
    case(
        "release-firmware-site-unknown",
        data("group_vars/all/release.yml", lambda d: d["voip_release"].update(firmware_sites=["ams", "xyz"])),
        "group_vars/all/release.yml",
        "voip_release.firmware_sites[1]",
        "unknown site 'xyz'",
    ),
    case(
        "release-gateway-model-unknown",
        data(
            "group_vars/all/release.yml",
            lambda d: d["voip_release"].update(
                device_images={"ISR 9999": {"version": "17.9.4a", "image": "isr.bin", "sha512": "a" * 128}}
            ),
        ),
        "group_vars/all/release.yml",
        "voip_release.device_images.ISR 9999",
        "no gateway or switch is a 'ISR 9999'",
    ),
    # Each value of a device image reaches a device's command line: a shape to match, or refused.
    *(
        case(
            f"release-device-image-{name}",
            data(
                "group_vars/all/release.yml",
                lambda d, f=field, v=value: d["voip_release"].update(
                    device_images={"Cisco ISR 4331": dict(IMAGE, **{f: v})}
                ),
            ),
            "group_vars/all/release.yml",
            f"voip_release.device_images.Cisco ISR 4331.{field}",
            expected,
        )
        for name, field, value, expected in (
            ("path", "image", "../../etc/passwd", "a plain image file name"),
            ("command", "version", "17.9\nreload", "a device software version"),
            ("digest", "sha512", "A" * 128, "lowercase hexadecimal"),
            # A switch's saved configuration and VLAN database are files on flash too.
            ("switch-config", "image", "config.text", "ending in .bin"),
        )
    ),
    case(
        "release-device-model-of-both-kinds",
        (
            host_var("sw1", "switch.yml", "voip_switch", lambda s: s.update(model="Cisco ISR 4331")),
            data(
                "group_vars/all/release.yml",
                lambda d: d["voip_release"].update(device_images={"Cisco ISR 4331": IMAGE}),
            ),
        ),
        "group_vars/all/release.yml",
        "voip_release.device_images.Cisco ISR 4331",
        "the model of a gateway and of a switch",
    ),
    case(
        "release-device-model-without-image",
        (
            host_var("sw1", "switch.yml", "voip_switch", lambda s: s.update(model="Catalyst 9200")),
            data(
                "group_vars/all/release.yml",
                lambda d: d["voip_release"].update(device_images={"Cisco ISR 4331": IMAGE}),
            ),
        ),
        "group_vars/all/release.yml",
        "voip_release.device_images",
        "no image for the model 'Catalyst 9200'",
        severity="warning",
    ),
    case(
        "apt-repository-duplicate",
        raw(
            "group_vars/all/repositories.yml",
            "voip_apt_repositories:\n  - {name: r, uri: 'http://a/', suite: ./}\n"
            "  - {name: r, uri: 'http://b/', suite: ./}\n",
        ),
        "group_vars/all/repositories.yml",
        "voip_apt_repositories[0].name",
        "duplicate repository 'r'",
    ),
    case(
        "os-updates-origin-empty",
        raw("group_vars/all/os_updates.yml", "voip_os_updates:\n  security_origins:\n    - {}\n"),
        "group_vars/all/os_updates.yml",
        "voip_os_updates.security_origins[0]",
        "names no origin, label or suite",
    ),
    case(
        "os-updates-origin-template",
        raw(
            "group_vars/all/os_updates.yml",
            'voip_os_updates:\n  security_origins:\n    - {label: \'{{ lookup("pipe", "id") }}\'}\n',
        ),
        "group_vars/all/os_updates.yml",
        "voip_os_updates.security_origins[0].label",
        "an apt Release field",
    ),
    case(
        "os-updates-origin-unknown-field",
        raw(
            "group_vars/all/os_updates.yml",
            "voip_os_updates:\n  security_origins:\n    - {label: Debian-Security, codename: bookworm}\n",
        ),
        "group_vars/all/os_updates.yml",
        "voip_os_updates.security_origins[0].codename",
        "",
    ),
    case(
        "os-updates-no-origins",
        raw("group_vars/all/os_updates.yml", "voip_os_updates:\n  security_origins: []\n"),
        "group_vars/all/os_updates.yml",
        "voip_os_updates.security_origins",
        "",
    ),
    case(
        "os-updates-pending-days-yaml11",
        raw(
            "group_vars/all/os_updates.yml",
            "voip_os_updates:\n  security_origins: [{label: X}]\n  pending_days: 010\n",
        ),
        "group_vars/all/os_updates.yml",
        "voip_os_updates.pending_days",
        "is ambiguous",
    ),
    case(
        "apt-repository-uri",
        raw(
            "group_vars/all/repositories.yml",
            "voip_apt_repositories:\n  - {name: r, uri: 'ftp://a/', suite: ./}\n",
        ),
        "group_vars/all/repositories.yml",
        "voip_apt_repositories[0].uri",
        "is not an http://, https:// or file: URI",
    ),
    case(
        "test-call-user-of-another-site",
        host_var(
            "cs1",
            "call_server.yml",
            "voip_call_server",
            lambda s: s.update(test_call={"caller": "nobody", "callee": "nobody"}),
        ),
        "host_vars/cs1/call_server.yml",
        "voip_call_server.test_call.caller",
        "'nobody' is not an active user of site",
        severity="warning",
    ),
    case(
        "backup-server-wrong-group",
        data("group_vars/all/backup.yml", lambda d: d["voip_backup_policy"].update(server="prov1")),
        "group_vars/all/backup.yml",
        "voip_backup_policy.server",
        "'prov1' is not a host in backup_servers",
    ),
    case(
        "switch-mac-unknown",
        host_var(
            "sw1", "switch.yml", "voip_switch", lambda s: s["ports"][0].update(phone_mac="00:11:22:33:44:55")
        ),
        "host_vars/sw1/switch.yml",
        "voip_switch.ports[0].phone_mac",
        "is not a device of any user",
    ),
    case(
        "patch-device-unknown",
        data("group_vars/all/patching.yml", lambda d: d["voip_patch_connections"][0].update(a="pp9:1")),
        "group_vars/all/patching.yml",
        "voip_patch_connections[0].a",
        "unknown device 'pp9'",
    ),
    case(
        "patch-panel-port-range",
        data(
            "group_vars/all/patching.yml", lambda d: d["voip_patch_connections"][0].update(a="ams-r2-pp1:49")
        ),
        "group_vars/all/patching.yml",
        "voip_patch_connections[0].a",
        "has ports 1-48",
    ),
    case(
        "patch-switch-port-unknown",
        data("group_vars/all/patching.yml", lambda d: d["voip_patch_connections"][0].update(b="sw1:Gi9/9/9")),
        "group_vars/all/patching.yml",
        "voip_patch_connections[0].b",
        "switch sw1 has no port 'Gi9/9/9'",
    ),
    case(
        "host-rack-unknown",
        host_var("cs1", "rack.yml", "voip_rack", lambda r: r.update(rack="ams-r9")),
        "host_vars/cs1/rack.yml",
        "voip_rack.rack",
        "unknown rack 'ams-r9'",
    ),
    case(
        "host-rack-other-site",
        host_var("cs2", "rack.yml", "voip_rack", lambda r: r.update(rack="ams-r1", unit=40)),
        "host_vars/cs2/rack.yml",
        "voip_rack.rack",
        "rack ams-r1 is at site ams, host cs2 at site thr",
    ),
    case(
        "host-rack-too-high",
        host_var("gw1", "rack.yml", "voip_rack", lambda r: r.update(unit=42)),
        "host_vars/gw1/rack.yml",
        "voip_rack.unit",
        "units 42-43 do not fit in rack ams-r1 (42 units)",
    ),
    case(
        "panel-rack-unknown",
        data(PATCHING, lambda d: d["voip_patch_panels"][0].update(rack="ams-r9")),
        PATCHING,
        "voip_patch_panels[0].rack",
        "unknown rack 'ams-r9'",
    ),
    case(
        "patch-both-ends-same",
        data(PATCHING, lambda d: d["voip_patch_connections"][0].update(b="ams-r2-pp1:1")),
        PATCHING,
        "voip_patch_connections[0].b",
        "both ends are port ams-r2-pp1:1",
    ),
    case(
        "patch-panel-to-panel",
        data(PATCHING, lambda d: d["voip_patch_connections"][0].update(b="ams-r2-pp2:20")),
        PATCHING,
        "voip_patch_connections[0]",
        "joins two patch panels (ams-r2-pp1:1 and ams-r2-pp2:20)",
    ),
    case(
        "patch-cord-across-sites",
        data(PATCHING, lambda d: d["voip_patch_connections"][0].update(b="cs2:eth1")),
        PATCHING,
        "voip_patch_connections[0]",
        "ams-r2-pp1 is at site ams, cs2 at site thr",
    ),
    case(
        "phone-patched-nowhere",
        data(PATCHING, lambda d: d["voip_patch_connections"].pop(2)),
        "host_vars/sw1/switch.yml",
        "voip_switch.ports[2].phone_mac",
        "on sw1:Gi1/0/3 is patched nowhere",
        "warning",
    ),
    case(
        "outlet-panel-unknown",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][0].update(panel="ams-r2-pp9:1")),
        OUTLETS,
        "voip_wall_outlets[0].panel",
        "unknown patch panel 'ams-r2-pp9'",
    ),
    case(
        "outlet-panel-not-a-port",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][0].update(panel="ams-r2-pp1")),
        OUTLETS,
        "voip_wall_outlets[0].panel",
        "is not a panel port such as 'ams-r2-pp1:14'",
    ),
    case(
        "outlet-port-range",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][0].update(panel="ams-r2-pp1:49")),
        OUTLETS,
        "voip_wall_outlets[0].panel",
        "panel ams-r2-pp1 has ports 1-48, not 49",
    ),
    case(
        "outlet-port-twice",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][1].update(panel="ams-r2-pp1:1")),
        OUTLETS,
        "voip_wall_outlets[1].panel",
        "panel port ams-r2-pp1:1 already ends wall outlet 'ams-1.01'",
    ),
    case(
        "outlet-name-twice",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][1].update(name="ams-1.01")),
        OUTLETS,
        "voip_wall_outlets[1].name",
        "duplicate wall outlet 'ams-1.01' (first at voip_wall_outlets[0])",
    ),
    case(
        "outlet-name-format",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][0].update(name="desk 1")),
        OUTLETS,
        "voip_wall_outlets[0].name",
        "is not an outlet label",
    ),
    case(
        "outlet-site-differs-from-rack",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][0].update(site="thr")),
        OUTLETS,
        "voip_wall_outlets[0].site",
        "outlet at site thr, but panel ams-r2-pp1 is in rack ams-r2 at site ams",
    ),
    case(
        "outlet-site-unknown",
        data(OUTLETS, lambda d: d["voip_wall_outlets"][0].update(site="rtm")),
        OUTLETS,
        "voip_wall_outlets[0].site",
        "unknown site 'rtm'",
    ),
    case(
        "trunk-site-unknown",
        data("group_vars/all/trunks.yml", lambda d: d["voip_trunks"][0].update(site="lon")),
        "group_vars/all/trunks.yml",
        "voip_trunks[0].site",
        "unknown site 'lon'",
    ),
    case(
        "hunt-overflow-missing",
        data("group_vars/all/hunt_groups.yml", lambda d: d["voip_hunt_groups"][0].update(overflow=2555)),
        "group_vars/all/hunt_groups.yml",
        "voip_hunt_groups[0].overflow",
        "is not an extension in the estate",
    ),
    case(
        "fxo-route-missing",
        host_var("gw1", "gateway.yml", "voip_gateway", lambda g: g["fxo_ports"][0].update(route_to=2444)),
        "host_vars/gw1/gateway.yml",
        "voip_gateway.fxo_ports[0].route_to",
        "is not an extension in the estate",
    ),
    case(
        "host-site-unknown",
        text(
            HOSTS,
            "gw2: {ansible_host: 198.51.100.41, voip_site: thr}",
            "gw2: {ansible_host: 198.51.100.41, voip_site: tehran}",
        ),
        HOSTS,
        "all.children.network_devices.children.gateways.hosts.gw2.voip_site",
        "unknown site 'tehran'",
    ),
    case(
        "estate-var-in-host-vars",
        raw("host_vars/cs1/users.yml", "---\nvoip_users: []\n"),
        "host_vars/cs1/users.yml",
        "voip_users",
        "estate-wide: define it only in group_vars/all",
    ),
    case(
        "host-needs-site",
        text(
            HOSTS, "sw4: {ansible_host: 198.51.100.52, voip_site: thr}", "sw4: {ansible_host: 198.51.100.52}"
        ),
        HOSTS,
        "all.children.network_devices.children.access_switches.hosts.sw4",
        "needs voip_site",
    ),
    case(
        "gateway-on-non-gateway",
        raw(
            "host_vars/prov1/gateway.yml",
            "---\nvoip_gateway:\n  fxs_ports:\n    - {port: 0/0/0, extension: 2500}\n",
        ),
        "host_vars/prov1/gateway.yml",
        "voip_gateway",
        "host prov1 is not in group gateways",
    ),
    case("sites-missing", raw(SITES, "---\n# nothing\n"), "group_vars/all", "", "voip_sites is not defined"),
    # --- policy -----------------------------------------------------------
    case(
        "extension-outside-site",
        user(6, extension=3500),
        USERS,
        "voip_users[6].extension",
        "extension 3500 is outside site ams's range 2000-2999",
    ),
    case(
        "did-outside-site",
        user(6, did="+31207777000"),
        USERS,
        "voip_users[6].did",
        "DID +31207777000 is outside site ams's range",
    ),
    case(
        "leaver-with-devices",
        user(6, status="leaver", leave_date="2026-01-31"),
        USERS,
        "voip_users[6].devices",
        "leaver emeijer still holds 1 device(s)",
    ),
    case(
        "leaver-in-hunt-group",
        (
            leaver(0),
            data(USERS, lambda d: d["voip_users"][0]["features"].update(hunt_groups=["ams-reception"])),
        ),
        USERS,
        "voip_users[0].features.hunt_groups[0]",
        "leaver rrahimi is still a member of hunt group",
    ),
    case(
        "leaver-without-date",
        (leaver(6), user(6, leave_date=None)),
        USERS,
        "voip_users[6].status",
        "a leaver needs a leave_date",
    ),
    case(
        "grant-unknown-feature",
        user(6, grants=[{"feature": "teleport", "until": "2027-01-01", "reason": "x"}]),
        USERS,
        "voip_users[6].grants[0].feature",
        "grant for unknown feature 'teleport'",
    ),
    case(
        "grant-expired",
        user(6, grants=[{"feature": "international", "until": "2026-05-31", "reason": "trip"}]),
        USERS,
        "voip_users[6].grants[0].until",
        "grant of international expired on 2026-05-31",
        "warning",
    ),
    case(
        "forward-international-needs-cos",
        fwd(6, unconditional="+442071234567"),
        USERS,
        "voip_users[6].features.call_forward.unconditional",
        "needs class of service international",
    ),
    case(
        "forward-premium-needs-international",
        (site("ams", premium_prefixes=["0900"]), fwd(6, unconditional="+31900123456")),
        USERS,
        "voip_users[6].features.call_forward.unconditional",
        "forward to +31900123456 needs class of service international (the user's is national",
    ),
    case(
        "forward-national-internal-user",
        fwd(14, busy="+31201112222"),
        USERS,
        "voip_users[14].features.call_forward.busy",
        "needs class of service national (the user's is internal",
    ),
    case(
        "forward-voicemail-off",
        fwd(9, no_answer="voicemail"),
        USERS,
        "voip_users[9].features.call_forward.no_answer",
        "voicemail is off",
    ),
    case(
        "forward-to-self",
        fwd(6, busy=2003),
        USERS,
        "voip_users[6].features.call_forward.busy",
        "forwards to the user's own extension",
    ),
    case(
        "switch-vlan-differs",
        host_var("sw3", "switch.yml", "voip_switch", lambda s: s.update(voice_vlan=110)),
        "host_vars/sw3/switch.yml",
        "voip_switch.voice_vlan",
        "voice VLAN 110 differs from site thr's 111",
    ),
    case(
        "fxs-outside-site",
        host_var("gw2", "gateway.yml", "voip_gateway", lambda g: g["fxs_ports"][0].update(extension=2555)),
        "host_vars/gw2/gateway.yml",
        "voip_gateway.fxs_ports[0].extension",
        "outside site thr's range",
    ),
    case(
        "pri-dids-outside-site",
        host_var(
            "gw1",
            "gateway.yml",
            "voip_gateway",
            lambda g: g["pri_spans"][0].update(did_ranges=["+31207777000-+31207777099"]),
        ),
        "host_vars/gw1/gateway.yml",
        "voip_gateway.pri_spans[0].did_ranges[0]",
        "outside site ams's DID range",
    ),
    case(
        "site-without-call-server",
        (
            text(
                HOSTS,
                "cs2: {ansible_host: 198.51.100.11, voip_site: thr}",
                "cs2: {ansible_host: 198.51.100.11, voip_site: ams}",
            ),
        ),
        SITES,
        "voip_sites.thr",
        "site thr has 10 active user(s) but no call server",
    ),
    case(
        "cti-open-to-all",
        data(
            "group_vars/all/cti.yml",
            lambda d: d["voip_cti_accounts"][1].update(source_networks=["0.0.0.0/0"]),
        ),
        "group_vars/all/cti.yml",
        "voip_cti_accounts[1].source_networks[0]",
        "lets anyone in",
    ),
    case(
        "trunk-secret-plaintext-number",
        raw("group_vars/all/secrets.yml", "---\nvault_trunk_ams_sip1_password: 44123456\n"),
        "group_vars/all/trunks.yml",
        "voip_trunks[0].credentials_ref",
        "holds a plain-text value in group_vars/all/",
    ),
    case(
        "trunk-secret-plaintext",
        raw("group_vars/all/secrets.yml", "---\nvault_trunk_ams_sip1_password: hunter2\n"),
        "group_vars/all/trunks.yml",
        "voip_trunks[0].credentials_ref",
        "holds a plain-text value in group_vars/all/",
    ),
    case(
        "did-on-no-trunk",
        (
            data(
                "group_vars/all/trunks.yml",
                lambda d: d["voip_trunks"][0].update(did_ranges=["+31206666000-+31206666099"]),
            ),
            user(6, did="+31206666500"),
        ),
        USERS,
        "voip_users[6].did",
        "is on no trunk or PRI span",
        "warning",
    ),
    # Routes and hunt groups the call servers could not apply as the model says.
    case(
        "trunk-destination-twice",
        trunk(1, address="192.0.2.200"),
        TRUNKS,
        "voip_trunks[1].address",
        "thr-sip1 has the address, port and transport of trunk ams-sip1",
    ),
    case(
        "site-lists-a-trunk-twice",
        site("ams", trunks=["ams-sip1", "ams-sip1"]),
        SITES,
        "voip_sites.ams.trunks[1]",
        "trunk 'ams-sip1' is listed twice",
    ),
    case(
        "channel-limited-trunk-of-two-sites",
        site("thr", trunks=["thr-sip1", "ams-sip1"]),
        TRUNKS,
        "voip_trunks[0].channels",
        "ams-sip1 is a route of sites ams, thr: each call server counts its own calls",
    ),
    case(
        "hunt-overflow-to-an-external-number",
        hunt(0, overflow="+31612345678"),
        HUNT,
        "voip_hunt_groups[0].overflow",
        "overflow to the external number +31612345678: a hunt group has no class of service",
    ),
    # Every site reaches the PSTN for its emergency numbers and has a callback number.
    case(
        "emergency-without-any-route",
        (
            data(TRUNKS, lambda d: d["voip_trunks"].pop(1)),
            site("thr", trunks=[]),
            host_var("gw2", "gateway.yml", "voip_gateway", lambda g: g.pop("pri_spans")),
        ),
        SITES,
        "voip_sites.thr.emergency",
        "site thr has no route for its emergency numbers",
    ),
    case(
        "main-number-outside-the-sites-dids",
        site("ams", main_number="+31207777000"),
        SITES,
        "voip_sites.ams.main_number",
        "+31207777000 is not in the site's DIDs",
    ),
    case(
        "users-without-did-and-no-main-number",
        data(SITES, lambda d: d["voip_sites"]["thr"].pop("main_number")),
        SITES,
        "voip_sites.thr",
        "have no DID and the site has no main_number",
    ),
    case(
        "grant-of-a-feature-no-host-applies",
        grants(6, "conference"),
        USERS,
        "voip_users[6].grants[0].feature",
        "conference cannot be granted: no host would apply it (the estate has no conference bridge)",
    ),
    case(
        "emergency-in-extension-range",
        site("ams", emergency=["2112"]),
        SITES,
        "voip_sites.ams.emergency[0]",
        "emergency number 2112 lies in site ams's extension range",
    ),
    case(
        "numbering-digits",
        data("group_vars/all/numbering.yml", lambda d: d["voip_numbering"].update(extension_digits=5)),
        SITES,
        "voip_sites.ams.extensions",
        "extensions must have 5 digits",
    ),
    case(
        "outside-prefix-is-not-applied",
        data("group_vars/all/numbering.yml", lambda d: d["voip_numbering"].update(outside_prefix="0")),
        "group_vars/all/numbering.yml",
        "voip_numbering.outside_prefix",
        "outside_prefix is no longer part of the model: the call servers take PSTN numbers as dialled",
    ),
    case(
        "country-code-mismatch",
        site("ams", country_code="44"),
        SITES,
        "voip_sites.ams.dids",
        "is not in country code +44",
    ),
    case(
        "active-after-leave-date",
        user(6, leave_date="2026-05-01"),
        USERS,
        "voip_users[6].leave_date",
        "still active",
        "warning",
    ),
    case(
        "hunt-group-empty",
        data(USERS, lambda d: d["voip_users"][2]["features"].pop("hunt_groups")),
        "group_vars/all/hunt_groups.yml",
        "voip_hunt_groups[1]",
        "'ams-support' has no active members",
        "warning",
    ),
]


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    root = tmp_path / "estate"
    shutil.copytree(BASE, root)
    return root


def test_base_estate_is_clean():
    result = validate(BASE, TODAY)
    assert result.problems == []


def test_there_are_at_least_sixty_cases_with_unique_ids():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_reported(estate: Path, bad: Case):
    for edit in bad.edits:
        edit(estate)
    problems = validate(estate, TODAY).problems
    matching = [
        p
        for p in problems
        if p.file == bad.file
        and p.path == bad.path
        and bad.fragment in p.message
        and p.severity == bad.severity
    ]
    assert matching, "expected {} {}: {} ~ {!r}; got:\n{}".format(
        bad.severity, bad.file, bad.path, bad.fragment, "\n".join(p.render() for p in problems)
    )
    # A finding names the line whenever it sits in a file (not for a missing variable).
    if bad.file != "group_vars/all":
        assert matching[0].line is not None, matching[0].render()
    if bad.severity == "warning":
        assert not [p for p in problems if p.severity == "error"], (
            "a warning-only case must not produce errors"
        )


def test_number_and_device_clashes_of_users_word_for_word(estate: Path):
    """The per-user checks run inline for speed and fall back to the general ones on a finding:
    every message, path, line and the order of several findings on one user stay as they were."""

    def add_users(loaded: Any) -> None:
        users = loaded["voip_users"]
        base = {**users[0], "devices": []}
        users.append(
            {
                **base,
                "id": "dupall",
                "devices": [
                    {"mac": "80:5E:C0:00:00:01", "model": "yealink-t54w"},
                    {"mac": "80:5e:c0:00:00:02", "model": "nosuch"},
                ],
            }
        )
        users.append({**base, "id": "outside", "extension": 3999, "did": "+982133333001"})
        users.append({**base, "id": "extonly", "extension": 2998, "did": "+982133333002"})
        users.append({**base, "id": "nosite", "site": "zzz", "extension": 9999})
        users.append({**base, "id": "dupdid", "extension": 2997, "did": "+31206666000"})
        users.append({**base, "id": "bjansen", "extension": 2996})

    data(USERS, add_users)(estate)
    rendered = [p.render() for p in validate(estate, TODAY).problems]
    assert rendered == [
        "error: group_vars/all/users.yml:244: voip_users[20].extension: extension 2000 is already used by user rrahimi (voip_users[0])",
        "error: group_vars/all/users.yml:245: voip_users[20].did: DID +31206666000 is already used by user rrahimi (voip_users[0])",
        "error: group_vars/all/users.yml:252: voip_users[20].devices[0].mac: MAC 80:5E:C0:00:00:01 is already used by user rrahimi (voip_users[0].devices[0])",
        "error: group_vars/all/users.yml:253: voip_users[20].devices[1].mac: MAC 80:5e:c0:00:00:02 is already used by user bjansen (voip_users[1].devices[0])",
        "error: group_vars/all/users.yml:253: voip_users[20].devices[1].model: unknown phone model 'nosuch'",
        "error: group_vars/all/users.yml:258: voip_users[21].extension: extension 3999 is outside site ams's range 2000-2999",
        "error: group_vars/all/users.yml:259: voip_users[21].did: DID +982133333001 is outside site ams's range +31206666000-+31206666999",
        "error: group_vars/all/users.yml:259: voip_users[21].did: DID +982133333001 is already used by user ejansen (voip_users[3])",
        "error: group_vars/all/users.yml:271: voip_users[22].did: DID +982133333002 is outside site ams's range +31206666000-+31206666999",
        "error: group_vars/all/users.yml:271: voip_users[22].did: DID +982133333002 is already used by user adeboer (voip_users[5])",
        "error: group_vars/all/users.yml:281: voip_users[23].site: unknown site 'zzz' (sites: ams, thr)",
        "error: group_vars/all/users.yml:283: voip_users[23].did: DID +31206666000 is already used by user rrahimi (voip_users[0])",
        "error: group_vars/all/users.yml:295: voip_users[24].did: DID +31206666000 is already used by user rrahimi (voip_users[0])",
        "error: group_vars/all/users.yml:302: voip_users[25].id: duplicate user id 'bjansen' (first at voip_users[1])",
        "error: group_vars/all/users.yml:307: voip_users[25].did: DID +31206666000 is already used by user rrahimi (voip_users[0])",
        "error: host_vars/gw1/gateway.yml:13: voip_gateway.fxs_ports[1].extension: extension 2998 is already used by user extonly (voip_users[22])",
        "error: host_vars/gw1/gateway.yml:14: voip_gateway.fxs_ports[2].extension: extension 2997 is already used by user dupdid (voip_users[24])",
        "error: host_vars/gw2/gateway.yml:12: voip_gateway.fxs_ports[0].extension: extension 3999 is already used by user outside (voip_users[21])",
    ]


# Legitimate values next to the refused ones above: each estate still validates clean.
LEGIT = {
    "forward-chain-without-loop": (
        fwd(0, busy=2001),
        fwd(2, busy=2002, no_answer=2003, no_answer_timeout=20),
    ),
    "forward-to-one-another-s-voicemail": (fwd(0, busy="voicemail"), fwd(2, unconditional=2000)),
    "forward-to-other-user-s-did": fwd(4, unconditional="+31206666003"),
    "hunt-overflow-to-a-member": hunt(0, overflow=2000),
    "hunt-overflow-chain": (hunt(0, overflow=2991), hunt(1, overflow=2992), hunt(2, overflow=2004)),
    "cti-slash-24": cti(1, "10.20.30.0/24"),
    "cti-slash-8": cti(1, "10.0.0.0/8"),
    "cti-v4-and-v6": cti(1, "192.0.2.0/24", "2001:db8:10::/48"),
    "cti-v6-slash-32": cti(1, "2001:db8::/32"),
    "cti-two-slash-9s-make-a-slash-8": cti(1, "10.0.0.0/9", "10.128.0.0/9"),
    "timezone-amsterdam": site("ams", timezone="Europe/Amsterdam"),
    "timezone-utc": site("ams", timezone="UTC"),
    "timezone-three-parts": site("thr", timezone="America/Argentina/Buenos_Aires"),
    "rtp-ports-widest": call_server(rtp_ports="1024-65535"),
    "rtp-ports-one-port": call_server(rtp_ports="40000-40000"),
    "ntp-v6-and-name": site("ams", ntp_servers=["192.0.2.123", "2001:db8::123"]),
    "trunk-by-name": trunk(0, address="sip.carrier.example"),
    # A site without a trunk or PRI of its own: another site's trunk carries its numbers.
    "emergency-over-another-sites-trunk": (
        data(TRUNKS, lambda d: d["voip_trunks"][0]["did_ranges"].append("+982133333000-+982133333999")),
        data(TRUNKS, lambda d: d["voip_trunks"].pop(1)),
        site("thr", trunks=[]),
        host_var("gw2", "gateway.yml", "voip_gateway", lambda g: g.pop("pri_spans")),
    ),
    # Ansible may manage this machine: simulators and containers on a loopback address.
    "host-on-loopback": text(HOSTS, "cs2: {ansible_host: 198.51.100.11", "cs2: {ansible_host: 127.77.0.2"),
    "host-localhost": text(HOSTS, "gw2: {ansible_host: 198.51.100.41", "gw2: {ansible_host: localhost"),
    "trunk-link-local-v6": trunk(1, address="fe80::1"),
    "trunk-credentials-and-registration": (
        trunk(0, username="+31201234000", realm="sip.carrier.example", register=True),
        trunk(1, username="thr.pbx_1", register=False),
    ),
    # Another site's trunk in a site's list is registered by that site's call server.
    # (Without channels: a channel-limited trunk is for one site's calls.)
    "trunk-registered-by-the-site-that-lists-it": (
        trunk(1, register=True),
        data(TRUNKS, lambda d: [t.pop("channels") for t in d["voip_trunks"]]),
        site("ams", trunks=["ams-sip1", "thr-sip1"]),
        site("thr", trunks=["ams-sip1"]),
    ),
    "data-vlan-own": switch("sw1", data_vlan=20),
    "no-data-vlan": host_var("sw2", "switch.yml", "voip_switch", lambda s: s.pop("data_vlan")),
    "backup-store-srv": backup(store="/srv/backups"),
    "backup-store-var-backups-sub": backup(store="/var/backups/voip"),
    "backup-store-mnt-sub": backup(store="/mnt/nas/voip/"),
    "mac-upper-case-unicast": data(
        USERS,
        lambda d: d["voip_users"][0]["devices"].append({"mac": "80:5E:C0:AB:CD:EF", "model": "snom-d785"}),
    ),
    "mac-locally-administered": data(
        USERS,
        lambda d: d["voip_users"][2]["devices"].append({"mac": "02:00:00:00:00:01", "model": "snom-d785"}),
    ),
    "grants-of-two-features": grants(14, "national", "voicemail"),
    "date-unquoted": text(USERS, "status: active", "leave_date: 2026-09-30\n    status: active"),
    "date-quoted": user(6, grants=[{"feature": "national", "until": "2026-12-31", "reason": "x"}]),
}


@pytest.mark.parametrize("edits", LEGIT.values(), ids=LEGIT.keys())
def test_legitimate_values_still_validate(estate: Path, edits: Edit | tuple[Edit, ...]):
    for edit in edits if isinstance(edits, tuple) else (edits,):
        edit(estate)
    problems = validate(estate, TODAY).problems
    assert problems == [], "\n".join(p.render() for p in problems)


def test_each_forward_loop_is_reported_once(estate: Path):
    # rrahimi (2000) forwards to svos (2004, who forwards back) and to svisser (2001, who
    # forwards back): two loops through rrahimi, each named once, from rrahimi.
    fwd(0, unconditional=2001, busy=2004)(estate)
    fwd(2, no_answer=2000, no_answer_timeout=20)(estate)
    loops = [p.render() for p in validate(estate, TODAY).problems if "forward loop" in p.message]
    assert loops == [
        "error: group_vars/all/users.yml:13: voip_users[0].features.call_forward.busy: forward loop: "
        "user rrahimi (2000) -busy-> user svos (2004) -no_answer-> user rrahimi (2000): "
        "a call would go round forever",
        "error: group_vars/all/users.yml:13: voip_users[0].features.call_forward.unconditional: forward loop: "
        "user rrahimi (2000) -unconditional-> user svisser (2001) -no_answer-> user rrahimi (2000): "
        "a call would go round forever",
    ]


def test_a_tangle_of_forwards_is_bounded(estate: Path):
    """Every ams user forwards to every other: far more loops than are worth listing, found fast."""

    def tangle(d: dict) -> None:
        ams = [u for u in d["voip_users"] if u["site"] == "ams"]
        for i, u in enumerate(ams):
            others = [o["extension"] for o in ams if o is not u]
            u["features"]["call_forward"] = {
                "unconditional": others[i % len(others)],
                "busy": others[(i + 3) % len(others)],
                "no_answer": others[(i + 5) % len(others)],
            }

    data(USERS, tangle)(estate)
    problems = validate(estate, TODAY).problems
    loops = [p for p in problems if "forward loop" in p.message]
    more = [p for p in problems if "in more loops than listed here" in p.message]
    assert 1 <= len(loops) <= 10
    assert len(more) == 1 and more[0].line is not None, "\n".join(p.render() for p in problems)


HUGE = 1_000_000


@pytest.mark.parametrize(
    ("change", "path", "value"),
    [
        (lambda v: user(0, name=v), "voip_users[0].name", "A" * HUGE),
        (lambda v: device_mac(2, v), "voip_users[2].devices[0].mac", "8x" * HUGE),
        (lambda v: site("ams", timezone=v), "voip_sites.ams.timezone", "Europe/" + "x" * HUGE),
        (lambda v: trunk(0, address=v), "voip_trunks[0].address", "a" * HUGE),
        (lambda v: user(1, leave_date=v), "voip_users[1].leave_date", "2026-" + "1" * HUGE),
        (lambda v: cti(1, v), "voip_cti_accounts[1].source_networks[0]", "10.0.0.0/" + "x" * HUGE),
        (lambda v: call_server(rtp_ports=v), "voip_call_server.rtp_ports", "9" * HUGE + "-1"),
        # A hostile key is cut short in the key path too.
        (lambda v: user(3, **{v: 1}), "voip_users[3]." + "k" * 40 + f"… ({HUGE} characters)", "k" * HUGE),
    ],
    ids=["text", "mac", "timezone", "address", "date", "network", "port-range", "unknown-key"],
)
def test_a_huge_value_is_cut_short_in_its_message(
    estate: Path, change: Callable[[str], Edit], path: str, value: str
):
    change(value)(estate)
    problems = [p for p in validate(estate, TODAY).problems if p.path == path]
    assert problems, path
    for problem in problems:
        assert f"…' ({len(value)} characters)" in problem.message, problem.message[:300]
        assert len(problem.message) < 250, problem.message[:300]


def test_shown_cuts_every_kind_of_value():
    assert shown("abc") == "'abc'"
    assert shown("A" * 50_000) == "'" + "A" * SHOWN_LIMIT + "…' (50000 characters)"
    assert shown(7) == "7"
    assert shown(list(range(100))).endswith("(100 items)") and len(shown(list(range(100)))) < 100
    assert len(shown({"k": "v" * 10_000})) < 100
    assert len(shown(10**5000)) < 100  # beyond Python's digit limit for str()
