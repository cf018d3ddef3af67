"""``voipctl generate-estate``: a synthetic, valid estate for benchmarks and examples.

Deterministic for a given ``--seed``: the same arguments always write the
same files. Hosts get documentation or benchmarking addresses (192.0.2.0/24,
198.51.100.0/24, 198.18.0.0/15): nothing generated is reachable.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import random
import re
from pathlib import Path
from typing import Any

from voipctl.console import err
from voipctl.errors import VoipctlError
from voipctl.model.fastyaml import BadScalar, Unsupported, resolve

# code, name, timezone, country code, area code, national number length
SITES = [
    ("ams", "Amsterdam", "Europe/Amsterdam", "31", "20", 9),
    ("thr", "Tehran", "Asia/Tehran", "98", "21", 10),
    ("rtm", "Rotterdam", "Europe/Amsterdam", "31", "10", 9),
    ("isf", "Isfahan", "Asia/Tehran", "98", "31", 10),
    ("lon", "London", "Europe/London", "44", "20", 10),
    ("ber", "Berlin", "Europe/Berlin", "49", "30", 10),
]
EMERGENCY = {"31": ["112"], "98": ["110", "115", "125"], "44": ["112", "999"], "49": ["110", "112"]}
FIRST = [
    "Jan",
    "Pieter",
    "Sanne",
    "Femke",
    "Daan",
    "Lotte",
    "Bram",
    "Eva",
    "Joost",
    "Anouk",
    "Ali",
    "Maryam",
    "Reza",
    "Zahra",
    "Hossein",
    "Fatemeh",
    "Mehdi",
    "Narges",
    "Sara",
    "Amir",
    "Ruben",
    "Noor",
    "Sven",
    "Iris",
    "Kian",
    "Parisa",
    "Babak",
    "Leila",
    "Thijs",
    "Fleur",
]
LAST = [
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Ahmadi",
    "Hosseini",
    "Mohammadi",
    "Rezaei",
    "Moradi",
    "Karimi",
    "Jafari",
    "Rahimi",
    "Kazemi",
    "Sadeghi",
    "Ghorbani",
    "Hashemi",
]
PHONE_MODELS = {
    "yealink-t54w": {"vendor": "yealink", "family": "t5x", "line_keys": 27, "firmware": "96.86.0.100"},
    "yealink-t46u": {"vendor": "yealink", "family": "t4x", "line_keys": 16, "firmware": "108.86.0.45"},
    "polycom-vvx450": {"vendor": "polycom", "family": "vvx", "line_keys": 12, "firmware": "6.4.6.2281"},
    "cisco-cp8841": {
        "vendor": "cisco",
        "family": "cp88xx",
        "line_keys": 5,
        "firmware": "sip88xx.14-2-1-0001-14",
    },
    "snom-d785": {"vendor": "snom", "family": "d7xx", "line_keys": 24, "firmware": "10.1.159.12"},
}
OUI = {"yealink": "80:5e:c0", "polycom": "64:16:7f", "cisco": "00:1b:54", "snom": "00:04:13"}
# Members of a generated hunt group at most: a ring_all group of one-device
# members stays within a call server's 30 branches, the others within 50.
HUNT_GROUP_SIZE = 24
HUNT_GROUPS = [
    ("reception", "Reception", "ring_all"),
    ("support", "Support desk", "round_robin"),
    ("sales", "Sales", "sequential"),
]


def generate(users: int, sites: int, seed: int = 1) -> dict[str, Any]:
    """The files of an estate: relative path -> data (written by ``write``)."""
    if not 1 <= sites <= len(SITES):
        raise VoipctlError(f"--sites must be 1-{len(SITES)}")
    if users < sites * 10:
        raise VoipctlError("--users must be at least 10 per site")
    rng = random.Random(seed)
    per_site = math.ceil(users / sites)
    digits = max(4, len(str(per_site + 200)) + 1)
    block = 10 ** (digits - 1)
    layout, site_data = _sites(rng, sites, per_site, block)
    files: dict[str, Any] = {}
    files["group_vars/all/sites.yml"] = {"voip_sites": site_data}
    files["group_vars/all/numbering.yml"] = {
        "voip_numbering": {
            "extension_digits": digits,
        }
    }
    files["group_vars/all/phone_models.yml"] = {"voip_phone_models": PHONE_MODELS}
    files["group_vars/all/hunt_groups.yml"] = {"voip_hunt_groups": _hunt_groups(layout, site_data, block)}
    user_list, devices_by_site = _users(rng, users, layout, site_data, block)
    files["group_vars/all/users.yml"] = {"voip_users": user_list}
    files["group_vars/all/trunks.yml"] = {"voip_trunks": [_trunk(s, site_data) for s in layout]}
    files["group_vars/all/cti.yml"] = {"voip_cti_accounts": _cti_accounts(layout)}
    files["group_vars/all/backup.yml"] = {
        "voip_backup_policy": {
            "server": "bak1",
            "time": "02:30",
            "before_change": True,
            "retention": {"daily": 7, "weekly": 4, "monthly": 12},
        }
    }
    files["group_vars/all/release.yml"] = {
        "voip_release": {
            "version": "2026.1.0",
            "components": {"kamailio": "5.6.3", "rtpengine": "10.5.3.5", "nginx": "1.22.1"},
        }
    }
    _infrastructure(files, layout, site_data, block, devices_by_site)
    return files


def _sites(rng: random.Random, sites: int, per_site: int, block: int) -> tuple[list[dict], dict[str, Any]]:
    """(layout: each site's numbers and network, ``voip_sites``) of the first ``sites`` sites."""
    site_data: dict[str, Any] = {}
    layout = []
    for index, (code, name, tz, cc, area, length) in enumerate(SITES[:sites]):
        first = (index + 2) * block
        did_digits = length - len(area)
        did_span = 10 ** len(str(per_site + 200))
        if did_span >= 10**did_digits:
            raise VoipctlError(f"too many users per site for {code}'s numbering")
        stem = f"+{cc}{area}" + str(rng.randrange(1, 10)) * (did_digits - len(str(did_span)) + 1)
        did_lo = int(stem[1:]) * did_span
        net = ["192.0.2", "198.51.100"][index] if index < 2 else f"198.18.{index}"
        layout.append(
            {
                "code": code,
                "first": first,
                "did_lo": did_lo,
                "did_hi": did_lo + did_span - 1,
                "cc": cc,
                "net": net,
            }
        )
        site_data[code] = {
            "name": name,
            "timezone": tz,
            "country_code": cc,
            "extensions": f"{first}-{first + block - 1}",
            "dids": f"+{did_lo}-+{did_lo + did_span - 1}",
            # Caller id of users without a DID, and their emergency callback number.
            "main_number": f"+{did_lo}",
            "emergency": EMERGENCY[cc],
            "ntp_servers": [f"{net}.31"],
            "voice_vlan": 110 + index,
            "voice_subnets": [f"10.{100 + index}.0.0/16"],
            "trunks": [f"{code}-sip1"],
        }
    return layout, site_data


def _hunt_groups(layout: list[dict], site_data: dict[str, Any], block: int) -> list[dict]:
    """``voip_hunt_groups``: the HUNT_GROUPS of every site, at the top of its extension block."""
    hunt = []
    for site in layout:
        for n, (gid, label, strategy) in enumerate(HUNT_GROUPS):
            hunt.append(
                {
                    "id": f"{site['code']}-{gid}",
                    "name": f"{label} {site_data[site['code']]['name']}",
                    "site": site["code"],
                    "extension": site["first"] + block - 10 + n,
                    "strategy": strategy,
                }
            )
    return hunt


def _trunk(site: dict, site_data: dict[str, Any]) -> dict:
    """A site's SIP trunk (an entry of ``voip_trunks``) carrying its DIDs."""
    return {
        "name": f"{site['code']}-sip1",
        "carrier": f"Carrier {site['code'].upper()}",
        "site": site["code"],
        "address": f"{site['net']}.200",
        "port": 5060,
        "transport": "udp",
        "credentials_ref": f"vault_trunk_{site['code']}_sip1_password",
        "realm": f"sip.carrier-{site['code']}.example",
        "did_ranges": [site_data[site["code"]]["dids"]],
        "classes_of_service": ["national", "international"],
        "channels": 60,
    }


def _cti_accounts(layout: list[dict]) -> list[dict]:
    """``voip_cti_accounts``: a recorder on every call server and a CRM for every site."""
    return [
        {
            "name": "recorder",
            "application": "Call recording",
            "source_networks": [f"{layout[0]['net']}.128/28"],
            "rights": ["monitor", "recording"],
            "call_servers": [f"cs{i + 1}" for i in range(len(layout))],
            "credentials_ref": "vault_cti_recorder_password",
        },
        {
            "name": "crm",
            "application": "CRM click-to-dial",
            "source_networks": [f"{layout[-1]['net']}.144/28"],
            "rights": ["call_control", "presence"],
            "sites": [s["code"] for s in layout],
            "credentials_ref": "vault_cti_crm_password",
        },
    ]


def _users(
    rng: random.Random, count: int, layout: list[dict], sites: dict, block: int
) -> tuple[list[dict], dict[str, list[str]]]:
    users: list[dict] = []
    taken_ids: set[str] = set()
    devices_by_site: dict[str, list[str]] = {s["code"]: [] for s in layout}
    next_ext = {s["code"]: s["first"] for s in layout}
    mac_counter = 0
    models = list(PHONE_MODELS)
    active_by_site: dict[str, list[int]] = {s["code"]: [] for s in layout}
    staffed: collections.Counter = collections.Counter()
    for n in range(count):
        site = layout[n % len(layout)]
        code = site["code"]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        base = re.sub(r"[^a-z]", "", (first[0] + last).lower())
        uid, k = base, 1
        while uid in taken_ids:
            k += 1
            uid = f"{base}{k}"
        taken_ids.add(uid)
        extension = next_ext[code]
        next_ext[code] += 1
        offset = extension - site["first"]
        user: dict[str, Any] = {
            "id": uid,
            "name": f"{first} {last}",
            "email": f"{uid}@example.com",
            "site": code,
            "extension": extension,
        }
        if rng.random() < 0.7:
            user["did"] = f"+{site['did_lo'] + offset}"
        roll = rng.random()
        user["class_of_service"] = (
            "internal" if roll < 0.1 else "national" if roll < 0.85 else "international"
        )
        leaver = rng.random() < 0.02
        features: dict[str, Any] = {"voicemail": rng.random() < 0.8}
        if not leaver and active_by_site[code] and rng.random() < 0.1:
            target = users[rng.choice(active_by_site[code][-50:])]["extension"]
            features["call_forward"] = (
                {"busy": target} if rng.random() < 0.5 else {"no_answer": target, "no_answer_timeout": 20}
            )
        if not leaver and rng.random() < 0.03:
            features["dnd"] = True
        seat = len(active_by_site[code])
        if not leaver and seat < len(HUNT_GROUPS):
            # The first active users of a site staff its hunt groups: none is empty.
            features["hunt_groups"] = [f"{code}-{HUNT_GROUPS[seat][0]}"]
        elif not leaver and rng.random() < 0.1:
            group = f"{code}-{rng.choice(HUNT_GROUPS)[0]}"
            if staffed[group] < HUNT_GROUP_SIZE:
                features["hunt_groups"] = [group]
        for group in features.get("hunt_groups", ()):
            staffed[group] += 1
        user["features"] = features
        if not leaver and user["class_of_service"] == "internal" and rng.random() < 0.2:
            user["grants"] = [
                {
                    "feature": "national",
                    "until": f"20{rng.randrange(27, 30)}-12-31",
                    "reason": f"project, ticket OPS-{rng.randrange(100, 999)}",
                }
            ]
        if leaver:
            user["status"] = "leaver"
            user["leave_date"] = f"2025-{rng.randrange(1, 13):02d}-15"
        else:
            user["status"] = "active"
            model = models[n % len(models)]
            mac_counter += 1
            mac = f"{OUI[PHONE_MODELS[model]['vendor']]}:" + ":".join(
                f"{b:02x}" for b in mac_counter.to_bytes(3, "big")
            )
            user["devices"] = [{"mac": mac, "model": model}]
            devices_by_site[code].append(mac)
            active_by_site[code].append(len(users))
        users.append(user)
    return users, devices_by_site


def _infrastructure(
    files: dict, layout: list[dict], sites: dict, block: int, devices: dict[str, list[str]]
) -> None:
    """Racks, hosts and their host_vars, patching and outlets of every site, and ``hosts.yml``."""
    hosts: dict[str, dict] = {
        "call_servers": {},
        "provisioning_servers": {},
        "backup_servers": {},
        "gateways": {},
        "access_switches": {},
    }
    racks: dict[str, Any] = {}
    cabling: dict[str, list[dict]] = {"panels": [], "connections": [], "outlets": []}
    for index, site in enumerate(layout):
        code, n = site["code"], index + 1
        rack_a, rack_b = f"{code}-r1", f"{code}-r2"
        racks[rack_a] = {"site": code, "room": f"{sites[code]['name']} equipment room", "height": 42}
        racks[rack_b] = {"site": code, "room": f"{sites[code]['name']} equipment room", "height": 42}
        for host, group, last_octet, rack, unit, height in _placed(index, rack_a, rack_b):
            hosts[group][host] = {"ansible_host": f"{site['net']}.{last_octet}", "voip_site": code}
            files[f"host_vars/{host}/rack.yml"] = {
                "voip_rack": {"rack": rack, "unit": unit, "height": height}
            }
        files[f"host_vars/cs{n}/call_server.yml"] = {
            "voip_call_server": {
                "sip_domain": f"{code}.voip.example.com",
                "sip_port": 5060,
                "rtp_ports": "20000-30000",
            }
        }
        files[f"host_vars/gw{n}/gateway.yml"] = {"voip_gateway": _gateway(site, block)}
        for s in (1, 2):
            _access_switch(files, cabling, index, s, sites[code], code, devices[code], rack_b)
        files["group_vars/all/racks.yml"] = {"voip_racks": racks}
    files["group_vars/all/patching.yml"] = {
        "voip_patch_panels": cabling["panels"],
        "voip_patch_connections": cabling["connections"],
    }
    files["group_vars/all/outlets.yml"] = {"voip_wall_outlets": cabling["outlets"]}
    files["hosts.yml"] = _hosts_file(hosts)


def _placed(index: int, rack_a: str, rack_b: str) -> list[tuple]:
    """(host, group, last octet, rack, unit, height) of the hosts of the site at ``index``."""
    n = index + 1
    placed = [(f"cs{n}", "call_servers", 11, rack_a, 20, 1), (f"gw{n}", "gateways", 41, rack_a, 30, 2)]
    if index == 0:
        placed += [
            ("prov1", "provisioning_servers", 21, rack_a, 22, 1),
            ("bak1", "backup_servers", 31, rack_a, 24, 2),
        ]
    placed += [
        (f"sw{2 * index + 1}", "access_switches", 51, rack_b, 30, 1),
        (f"sw{2 * index + 2}", "access_switches", 52, rack_b, 32, 1),
    ]
    return placed


def _gateway(site: dict, block: int) -> dict:
    """A site's ``voip_gateway``: one PRI span for the first 100 DIDs, FXS ports, an FXO port."""
    last = site["first"] + block - 1
    return {
        "model": "Cisco ISR 4331",
        "pri_spans": [
            {
                "port": "0/1/0",
                "switchtype": "primary-net5",
                "channels": 30,
                "clock_source": "line",
                "did_ranges": [f"+{site['did_lo']}-+{site['did_lo'] + 99}"],
            }
        ],
        "fxs_ports": [
            {"port": f"0/2/{p}", "extension": last - p, "description": desc}
            for p, desc in enumerate(["Fax", "Door intercom", "Lift emergency phone"])
        ],
        "fxo_ports": [{"port": "0/3/0", "route_to": site["first"] + block - 10}],
    }


def _access_switch(
    files: dict, cabling: dict, index: int, s: int, site: dict, code: str, macs: list[str], rack_b: str
) -> None:
    """Access switch ``s`` (1 or 2) of a site: its desk ports (40 phones), patch panel and wall outlets."""
    switch = f"sw{2 * index + s}"
    ports = [
        {"name": f"Gi1/0/{p + 1}", "description": "desk", "poe": True, "phone_mac": mac}
        for p, mac in enumerate(macs[(s - 1) * 40 : s * 40])
    ]
    ports.append({"name": "Gi1/0/48", "description": "uplink"})
    files[f"host_vars/{switch}/switch.yml"] = {
        "voip_switch": {"voice_vlan": site["voice_vlan"], "data_vlan": 10, "ports": ports}
    }
    panel = f"{rack_b}-pp{s}"
    cabling["panels"].append({"name": panel, "rack": rack_b, "unit": 44 - 2 * s, "ports": 48})
    # Every desk port is patched to the panel port of the same number,
    # whose fixed cable ends at a wall outlet on floor s.
    desks = ports[:-1]
    cabling["connections"].extend(
        {"a": f"{panel}:{p + 1}", "b": f"{switch}:{port['name']}"} for p, port in enumerate(desks)
    )
    cabling["outlets"].extend(
        {
            "name": f"{code}-{s}.{p + 1:02d}",
            "panel": f"{panel}:{p + 1}",
            "site": code,
            "room": f"{site['name']} floor {s}",
        }
        for p in range(len(desks))
    )


def _hosts_file(hosts: dict[str, dict]) -> dict:
    """``hosts.yml``: the Linux and the network device groups with their hosts."""
    return {
        "all": {
            "children": {
                "linux": {
                    "children": {
                        g: {"hosts": hosts[g]}
                        for g in ("call_servers", "provisioning_servers", "backup_servers")
                    }
                },
                "network_devices": {
                    "children": {g: {"hosts": hosts[g]} for g in ("gateways", "access_switches")}
                },
            }
        }
    }


# --- a small YAML writer: block style, indented sequences, flow leaves --------


def dump(data: Any, header: str = "") -> str:
    """YAML text that yamllint --strict accepts and the fast parser reads."""
    lines = ["---"]
    if header:
        lines.extend(f"# {line}" if line else "#" for line in header.splitlines())
    _block(data, 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    safe = re.fullmatch(r"[A-Za-z0-9_./@()][A-Za-z0-9_ ./@()+-]*", text) and text == text.strip()
    if safe and ": " not in text and _plain_is_string(text):
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    """A double-quoted YAML scalar that reads back as exactly ``text``.

    JSON's escapes are YAML's; characters a YAML reader would take for a line
    break or fold (C1 controls, DEL, U+2028, U+2029) are escaped too, so that
    a line break in a value stays a line break and never becomes a space.
    """
    body = json.dumps(text, ensure_ascii=False)[1:-1]
    return '"' + re.sub(r"[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", body) + '"'


def _plain_is_string(text: str) -> bool:
    try:
        return resolve(text) == text
    except (BadScalar, Unsupported):
        return False


def _is_leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) for v in value.values()) and len(value) <= 6
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return True


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _block(data: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(data, dict):
        for key, value in data.items():
            if (
                isinstance(value, (dict, list))
                and value
                and not (_is_leaf(value) and len(_flow(value)) < 100)
            ):
                lines.append(f"{pad}{_scalar(key)}:")
                _block(value, indent + 2, lines)
            else:
                lines.append(f"{pad}{_scalar(key)}: {_flow(value)}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and item and not (_is_leaf(item) and len(_flow(item)) < 100):
                sub: list[str] = []
                _block(item, indent + 2, sub)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {_flow(item)}")


def write(files: dict[str, Any], out: Path, header: str = "") -> list[Path]:
    """Write the generated files under ``out``; refuses to overwrite a non-empty directory."""
    if out.exists() and any(out.iterdir()):
        raise VoipctlError(f"{out} exists and is not empty", hint="choose a new directory")
    written = []
    for rel, data in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(data, header), encoding="utf-8")
        written.append(path)
    return written


def cmd_generate(args: argparse.Namespace) -> int:
    files = generate(args.users, args.sites, args.seed)
    header = f"Generated by `voipctl generate-estate --users {args.users} --sites {args.sites} --seed {args.seed}`."
    written = write(files, Path(args.output), header)
    err.print(
        f"generate-estate: {len(written)} files, {args.users} users, {args.sites} sites in {args.output}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("generate-estate", help="write a synthetic valid estate (benchmarks, examples)")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--sites", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1, help="same seed, same files")
    parser.add_argument("-o", "--output", required=True, help="new or empty directory")
    parser.set_defaults(func=cmd_generate)
