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

BASE = Path(__file__).resolve().parents[1] / "data" / "estate_base"
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
TEXT_RULE = "is not plain text: no control character (line break, tab, ...) and no template marker"


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


CASES = [
    *hostile_text_cases(),
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
        "feature-code-twice",
        data(
            "group_vars/all/numbering.yml",
            lambda d: d["voip_numbering"]["feature_codes"].update(dnd_off="*78"),
        ),
        "group_vars/all/numbering.yml",
        "voip_numbering.feature_codes.dnd_off",
        "*78 is also used by dnd_on",
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
            lambda d: d["voip_release"].update(gateway_images={"ISR 9999": "17.9"}),
        ),
        "group_vars/all/release.yml",
        "voip_release.gateway_images.ISR 9999",
        "no gateway is a 'ISR 9999'",
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
        "outside-prefix-clash",
        data("group_vars/all/numbering.yml", lambda d: d["voip_numbering"].update(outside_prefix="2")),
        SITES,
        "voip_sites.ams.extensions",
        "start with the outside-line prefix 2",
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
