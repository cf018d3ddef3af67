"""What the documentation pages show, computed from a validated model.

Pure functions over ``voipctl.model.checks.Result`` (the validated estate
variables and hosts): no file is read here and nothing is rendered. Each
function runs in one pass over its collection with dict lookups, so the
pages of a 100,000-user estate cost seconds, not hours. The model has been
validated before any of this runs: references resolve, units do not
overlap, ranges parse.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.adapters import hosts as derive_hosts
from voipctl.core.activity import effective_class_of_service, is_leaver
from voipctl.core.ranges import parse_range
from voipctl.derive.kamailio import pstn_routes
from voipctl.derive.release import components_of
from voipctl.model.schema import CLASSES_OF_SERVICE
from voipctl.model.types import did_number, normalise_mac

# Rack device kinds by inventory group, first match wins (colours in the CSS).
KINDS = (
    ("call_servers", "call-server"),
    ("gateways", "gateway"),
    ("access_switches", "switch"),
    ("provisioning_servers", "server"),
    ("backup_servers", "server"),
)
# The hops of a phone's path, in order: (key, column title).
HOPS = (
    ("outlet", "Wall outlet"),
    ("panel", "Patch panel port"),
    ("switch", "Switch port"),
    ("vlan", "Voice VLAN"),
    ("mac", "Phone MAC"),
    ("user", "User and extension"),
    ("did", "DID"),
)
MAX_FREE_BLOCKS = 12


def groups_by_name(host_groups: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """``{group: [hosts]}`` from ``{host: groups}``, hosts in inventory order."""
    found: dict[str, list[str]] = defaultdict(list)
    for host, groups in host_groups.items():
        for group in groups:
            found[group].append(host)
    return dict(found)


def kind_of(groups: Iterable[str]) -> str:
    names = set(groups)
    return next((kind for group, kind in KINDS if group in names), "host")


# -- racks ---------------------------------------------------------------------


def racks(
    estate: Mapping[str, Any], hosts: Mapping[str, Mapping[str, Any]], host_groups: Mapping[str, set[str]]
) -> dict[str, list[dict[str, Any]]]:
    """Per site, its racks: name, room, height and ``units`` from the top down.

    Each unit is ``{unit, device}``; ``device`` (or None for an empty unit)
    is set on the device's lowest unit as ``{name, kind, unit, height,
    label}`` and is ``"cont"`` on the units above it, so that a drawing can
    span it.
    """
    placed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for host, values in hosts.items():
        spot = values.get("voip_rack")
        if spot:
            groups = sorted(g for g in host_groups.get(host, ()) if g not in ("all", "ungrouped"))
            placed[spot["rack"]].append(
                {
                    "name": host,
                    "kind": kind_of(groups),
                    "unit": spot["unit"],
                    "height": spot.get("height", 1),
                    "label": ", ".join(g for g in groups if g not in ("linux", "network_devices")),
                }
            )
    for panel in estate.get("voip_patch_panels") or ():
        if panel:
            placed[panel["rack"]].append(
                {
                    "name": panel["name"],
                    "kind": "panel",
                    "unit": panel["unit"],
                    "height": panel.get("height", 1),
                    "label": f"patch panel, {panel['ports']} ports",
                }
            )
    by_site: dict[str, list[dict[str, Any]]] = {site: [] for site in estate.get("voip_sites") or {}}
    for name, rack in (estate.get("voip_racks") or {}).items():
        at: dict[int, Any] = {}
        devices = sorted(placed.get(name, ()), key=lambda d: d["unit"])
        for device in devices:
            at[device["unit"]] = device
            for u in range(device["unit"] + 1, device["unit"] + device["height"]):
                at[u] = "cont"
        height = rack["height"]
        used = sum(min(d["height"], height - d["unit"] + 1) for d in devices)
        by_site.setdefault(rack["site"], []).append(
            {
                "name": name,
                "site": rack["site"],
                "room": rack.get("room", ""),
                "height": height,
                "units": [{"unit": u, "device": at.get(u)} for u in range(height, 0, -1)],
                "devices": devices,
                "used": used,
                "free": height - used,
            }
        )
    return by_site


# -- patching and the path of each phone -------------------------------------


def _end(text: str, panels: Mapping[str, Any]) -> tuple[str, str]:
    device, _, port = text.partition(":")
    return (device, str(int(port))) if device in panels else (device, port)


NO_DID = "none (extension only)"


def patching(
    estate: Mapping[str, Any], hosts: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """Panel port maps, the path of every phone on a switch port, and counts.

    A path runs wall outlet -> panel port -> switch port -> voice VLAN ->
    phone MAC -> user and extension -> DID; a hop that the model does not
    give is None and ``missing`` says why.
    """
    panels = {p["name"]: p for p in estate.get("voip_patch_panels") or () if p}
    racks_ = estate.get("voip_racks") or {}
    cords: dict[tuple[str, str], tuple[str, str]] = {}
    cables: dict[tuple[str, str], str] = {}
    for conn in estate.get("voip_patch_connections") or ():
        if not conn:
            continue
        a, b = _end(conn["a"], panels), _end(conn["b"], panels)
        cords[a], cords[b] = b, a
        if conn.get("cable"):
            cables[a] = cables[b] = conn["cable"]
    outlets = {}
    for outlet in estate.get("voip_wall_outlets") or ():
        if outlet:
            outlets[_end(outlet["panel"], panels)] = outlet
    users_by_mac: dict[str, Mapping[str, Any]] = {}
    for user in estate.get("voip_users") or ():
        for device in (user or {}).get("devices") or ():
            users_by_mac[normalise_mac(device["mac"])] = user
    phones_on: dict[tuple[str, str], str] = {}
    paths: list[dict[str, Any]] = []
    for host, values in hosts.items():
        switch = values.get("voip_switch")
        if not switch:
            continue
        for port in switch["ports"]:
            if "phone_mac" not in port:
                continue
            mac = normalise_mac(port["phone_mac"])
            phones_on[(host, port["name"])] = mac
            paths.append(_path(host, values.get("voip_site"), switch, port, mac, cords, panels, outlets,
                               users_by_mac))  # fmt: skip
    maps = []
    for name, panel in panels.items():
        rows = []
        for n in range(1, panel["ports"] + 1):
            key = (name, str(n))
            far = cords.get(key)
            outlet = outlets.get(key)
            mac = phones_on.get(far) if far else None
            user = users_by_mac.get(mac) if mac else None
            rows.append(
                {
                    "port": n,
                    "outlet": outlet,
                    "patched_to": f"{far[0]}:{far[1]}" if far else None,
                    "cable": cables.get(key),
                    "mac": mac,
                    "user": user,
                }
            )
        rack = racks_.get(panel["rack"], {})
        maps.append(
            {
                "name": name,
                "rack": panel["rack"],
                "site": rack.get("site"),
                "unit": panel["unit"],
                "ports": rows,
                "patched": sum(1 for r in rows if r["patched_to"]),
                "outlets": sum(1 for r in rows if r["outlet"]),
            }
        )
    counts = {
        "phones": len(paths),
        "complete": sum(1 for p in paths if p["complete"]),
        "devices": len(users_by_mac),
        "off_switch": len(users_by_mac.keys() - set(phones_on.values())),
        "outlets": len(outlets),
    }
    return maps, paths, counts


def _path(
    host: str,
    site: str | None,
    switch: Mapping[str, Any],
    port: Mapping[str, Any],
    mac: str,
    cords: Mapping[tuple[str, str], tuple[str, str]],
    panels: Mapping[str, Any],
    outlets: Mapping[tuple[str, str], Mapping[str, Any]],
    users_by_mac: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    missing: list[str] = []
    far = cords.get((host, port["name"]))
    panel_port = outlet = None
    if far is None:
        missing.append("the switch port is patched nowhere")
    elif far[0] not in panels:
        missing.append(f"the switch port is patched to {far[0]}:{far[1]}, not to a patch panel")
    else:
        panel_port = f"{far[0]}:{far[1]}"
        outlet = outlets.get(far)
        if outlet is None:
            missing.append(f"no wall outlet ends on {panel_port}")
    user = users_by_mac.get(mac)
    if user is None:
        missing.append("the MAC is no user's device")
    hops = {
        "outlet": outlet["name"] if outlet else None,
        "panel": panel_port,
        "switch": f"{host}:{port['name']}",
        "vlan": switch["voice_vlan"],
        "mac": mac,
        "user": user,
        # A user without a DID is reached by extension only: a choice, not a gap.
        "did": (user.get("did") or NO_DID) if user else None,
    }
    return {
        "site": site,
        "hops": hops,
        "room": (outlet or {}).get("room"),
        "complete": not missing,
        "missing": missing,
    }


# -- numbering -------------------------------------------------------------------


def _free_blocks(lo: int, hi: int, used: Iterable[int]) -> tuple[list[tuple[int, int]], int]:
    """The first MAX_FREE_BLOCKS free blocks of [lo, hi] and how many blocks there are."""
    blocks: list[tuple[int, int]] = []
    count = 0
    start = lo
    for number in sorted(n for n in set(used) if lo <= n <= hi):
        if number > start:
            count += 1
            if len(blocks) < MAX_FREE_BLOCKS:
                blocks.append((start, number - 1))
        start = number + 1
    if start <= hi:
        count += 1
        if len(blocks) < MAX_FREE_BLOCKS:
            blocks.append((start, hi))
    return blocks, count


def _stats(lo: int, hi: int, used: Iterable[int], e164: bool) -> dict[str, Any]:
    used = set(used)
    size = hi - lo + 1
    blocks, count = _free_blocks(lo, hi, used)
    fmt = (lambda n: f"+{n}") if e164 else str
    return {
        "range": f"{fmt(lo)}-{fmt(hi)}",
        "size": size,
        "used": len(used),
        "free": size - len(used),
        "utilisation": round(100 * len(used) / size, 1) if size else 0.0,
        "free_blocks": [fmt(a) if a == b else f"{fmt(a)}-{fmt(b)}" for a, b in blocks],
        "free_block_count": count,
    }


def numbering(estate: Mapping[str, Any], hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The plan (``voip_numbering``) and per site: ranges, what uses them, free numbers, utilisation."""
    sites = estate.get("voip_sites") or {}
    ext_by: dict[str, Counter] = {s: Counter() for s in sites}
    ext_used: dict[str, set[int]] = {s: set() for s in sites}
    did_by: dict[str, Counter] = {s: Counter() for s in sites}
    did_used: dict[str, set[int]] = {s: set() for s in sites}
    for user in estate.get("voip_users") or ():
        if not user or user["site"] not in sites:
            continue
        what = "leavers (kept until purged)" if is_leaver(user) else "active users"
        ext_by[user["site"]][what] += 1
        ext_used[user["site"]].add(user["extension"])
        if user.get("did"):
            did_by[user["site"]][what] += 1
            did_used[user["site"]].add(did_number(user["did"]))
    for group in estate.get("voip_hunt_groups") or ():
        if not group or group["site"] not in sites:
            continue
        ext_by[group["site"]]["hunt groups"] += 1
        ext_used[group["site"]].add(group["extension"])
        if group.get("did"):
            did_by[group["site"]]["hunt groups"] += 1
            did_used[group["site"]].add(did_number(group["did"]))
    for values in hosts.values():
        site = values.get("voip_site")
        for port in (values.get("voip_gateway") or {}).get("fxs_ports") or ():
            if site in sites:
                ext_by[site]["gateway FXS ports"] += 1
                ext_used[site].add(port["extension"])
    trunk_dids: dict[str, list[str]] = defaultdict(list)
    for trunk in estate.get("voip_trunks") or ():
        if trunk:
            trunk_dids[trunk["site"]].extend(f"{r} (trunk {trunk['name']})" for r in trunk["did_ranges"])
    for host, values in hosts.items():
        for span in (values.get("voip_gateway") or {}).get("pri_spans") or ():
            for text in span.get("did_ranges") or ():
                trunk_dids[values.get("voip_site")].append(f"{text} (PRI {host} {span['port']})")
    plan = estate.get("voip_numbering") or {}
    result = []
    for name, site in sites.items():
        elo, ehi = parse_range(site["extensions"], e164=False)
        dlo, dhi = parse_range(site["dids"], e164=True)
        result.append(
            {
                "name": name,
                "title": site["name"],
                "emergency": site["emergency"]
                if isinstance(site["emergency"], list)
                else [site["emergency"]],
                "extensions": {**_stats(elo, ehi, ext_used[name], False), "by": dict(ext_by[name])},
                "dids": {**_stats(dlo, dhi, did_used[name], True), "by": dict(did_by[name])},
                "inbound": trunk_dids.get(name, []),
            }
        )
    return {"plan": plan, "sites": result}


# -- trunks, gateways, classes of service ----------------------------------------


def trunks(
    estate: Mapping[str, Any],
    hosts: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, list[str]],
    today: datetime.date,
) -> dict[str, Any]:
    """Trunks, gateways with their ports, and per site which class of service uses which trunk."""
    sites = estate.get("voip_sites") or {}
    trunk_list = [t for t in estate.get("voip_trunks") or () if t]
    cos_users: dict[str, Counter] = {s: Counter() for s in sites}
    for user in estate.get("voip_users") or ():
        if user and not is_leaver(user) and user["site"] in sites:
            cos_users[user["site"]][effective_class_of_service(user, today)] += 1
    # Each site's call servers by name (the first is the phones' primary): a site may have a pair.
    servers: dict[str, list[str]] = {}
    for server in sorted(derive_hosts.call_servers(hosts, groups), key=lambda s: str(s["name"])):
        servers.setdefault(server["site"], []).append(server["name"])
    all_gateways = derive_hosts.gateways(hosts, groups)
    matrix = []
    for name in sites:
        # The call servers' own routes (voipctl.derive.kamailio), in the order calls try them.
        routes = pstn_routes(name, sites, trunk_list, all_gateways)
        rows = []
        for cos in CLASSES_OF_SERVICE:
            used = [r["name"] for r in routes.get(cos, ())]
            rows.append({"cos": cos, "users": cos_users[name][cos], "trunks": used})
        everyone = sum(cos_users[name].values())
        rows.append(
            {"cos": "emergency", "users": everyone, "trunks": [r["name"] for r in routes["emergency"]]}
        )
        matrix.append({"site": name, "call_servers": servers.get(name, []), "rows": rows})
    gateways = []
    for gw in all_gateways:
        values = hosts[gw["name"]].get("voip_gateway") or {}
        gateways.append(
            {
                **gw,
                "model": values.get("model", ""),
                "call_servers": servers.get(gw["site"], []),
                "pri_spans": values.get("pri_spans") or [],
                "fxs_ports": values.get("fxs_ports") or [],
                "fxo_ports": values.get("fxo_ports") or [],
            }
        )
    return {
        "trunks": [{**t, "call_servers": servers.get(t["site"], [])} for t in trunk_list],
        "matrix": matrix,
        "gateways": gateways,
    }


# -- the user directory (no secrets) ----------------------------------------------

# The only user keys a page shows; nothing else of a user entry reaches a page.
DIRECTORY_KEYS = ("id", "name", "site", "extension", "did", "class_of_service", "status", "leave_date")


def directory(estate: Mapping[str, Any], today: datetime.date) -> dict[str, Any]:
    """Per site counts and one row per user with the DIRECTORY_KEYS only (and the effective class)."""
    sites = estate.get("voip_sites") or {}
    summary: dict[str, Counter] = {s: Counter() for s in sites}
    rows = []
    for user in estate.get("voip_users") or ():
        if not user:
            continue
        row = {key: user.get(key) for key in DIRECTORY_KEYS}
        row["status"] = row["status"] or "active"
        row["devices"] = len(user.get("devices") or ())
        leaver = is_leaver(user)
        row["effective_cos"] = None if leaver else effective_class_of_service(user, today)
        counts = summary.setdefault(user["site"], Counter())
        counts[row["status"]] += 1
        counts["devices"] += row["devices"]
        if not leaver:
            counts[row["effective_cos"]] += 1
        rows.append(row)
    return {"summary": {s: dict(c) for s, c in summary.items()}, "users": rows}


# -- releases --------------------------------------------------------------------


def releases(
    estate: Mapping[str, Any],
    hosts: Mapping[str, Mapping[str, Any]],
    host_groups: Mapping[str, set[str]],
    recorded: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The manifest, and per host the components it runs with target and last recorded versions.

    ``recorded``: host -> its latest release record (``voipctl release``), if any.
    """
    manifest = estate.get("voip_release") or {}
    components = manifest.get("components") or {}
    images = manifest.get("device_images") or {}
    rows = []
    for host, values in hosts.items():
        record = recorded.get(host) or {}
        after = record.get("after") or {}
        wanted = [(c, components[c]) for c in components_of(sorted(host_groups.get(host, ())), components)]
        device = values.get("voip_gateway") or values.get("voip_switch") or {}
        if device.get("model"):
            wanted.append(("ios", (images.get(device["model"]) or {}).get("version")))
        if not wanted:
            continue
        for component, target in wanted:
            rows.append(
                {
                    "host": host,
                    "site": values.get("voip_site"),
                    "component": component,
                    "target": target,
                    "recorded": after.get(component),
                    "result": record.get("result"),
                    "run": record.get("run"),
                }
            )
    phones = []
    firmware_sites = manifest.get("firmware_sites")
    for model, spec in (estate.get("voip_phone_models") or {}).items():
        phones.append(
            {
                "model": model,
                "vendor": spec["vendor"],
                "family": spec["family"],
                "model_firmware": spec["firmware"],
                "manifest_firmware": components.get(model),
                "sites": ", ".join(firmware_sites) if firmware_sites else "every site",
            }
        )
    return {"manifest": manifest, "hosts": rows, "phones": phones}


# -- run records: last health and backup runs -------------------------------------

STATUS_PLAYBOOKS = {"health": "playbooks/health.yml", "backup": "playbooks/backup.yml"}


def run_status(records: list[dict[str, Any]] | None, last: int = 15) -> dict[str, Any]:
    """The latest apply of health.yml and of backup.yml (per host counts) and the newest runs.

    ``records``: the run records (``voipctl runs``), oldest first, or None when there are none.
    """
    if not records:
        return {"present": False, "latest": {}, "runs": []}
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        for key, playbook in STATUS_PLAYBOOKS.items():
            if record.get("playbook") == playbook and not record.get("check"):
                latest[key] = record
    newest = [_run_row(r) for r in reversed(records[-last:])]
    return {"present": True, "latest": {k: _run_row(r) for k, r in latest.items()}, "runs": newest}


def _run_row(record: Mapping[str, Any]) -> dict[str, Any]:
    hosts = record.get("hosts") or {}
    return {
        "id": record.get("id"),
        "playbook": record.get("playbook"),
        "started": record.get("started"),
        "finished": record.get("finished"),
        "status": record.get("status"),
        "rc": record.get("rc"),
        "commit": (record.get("commit") or "")[:10] + ("+dirty" if record.get("dirty") else ""),
        "actor": record.get("actor"),
        "ticket": record.get("ticket"),
        "check": bool(record.get("check")),
        "hosts": [
            {
                "host": host,
                **{k: int(c.get(k, 0)) for k in ("ok", "changed", "failed", "unreachable", "skipped")},
                "state": "failed" if c.get("failed") else "unreachable" if c.get("unreachable") else "ok",
            }
            for host, c in sorted(hosts.items())
        ],
    }
