"""The lab estate with an N-user directory, for benchmarks that converge the real lab.

A copy of ``inventory/lab`` (every host, connection, vault and lab setting)
whose directory is a generated one (``voipctl generate-estate``, seeded): the
users, hunt groups and numbering of the generated estate's two sites, which
are the lab's sites ``ams`` and ``thr``. The lab's four-digit plan holds at
most 2,000 users, so the copy takes the generated plan (five digits at
10,000 users) and moves what refers to numbers, phones or users along with
it: the gateway's FXS/FXO ports and PRI DIDs, the switch's phone ports, the
trunk's DID ranges and the release test call. The copy must validate like any
inventory (``validate``); the benchmark refuses it otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from voipctl.core.ranges import parse_range
from voipctl.generate import dump, generate

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "inventory" / "lab"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _dump(path: Path, data: Any) -> None:
    # The generator's writer: the block style `voipctl user` edits in place.
    path.write_text(dump(data, "Written by bench/lab_estate.py for make bench."))


def copy_lab(out: Path) -> Path:
    """A copy of the lab inventory at ``out`` that works from there.

    The lab finds its phone firmware relative to the inventory directory;
    the copy names the repository's ``lab/firmware`` instead.
    """
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(LAB, out)
    provisioning = out / "group_vars" / "provisioning_servers" / "provisioning.yml"
    data = _load(provisioning)
    data["provisioning_server_firmware_source"] = str(ROOT / "lab" / "firmware")
    _dump(provisioning, data)
    return out


def lab_estate(users: int, work: Path) -> Path:
    """Write the lab inventory with ``users`` generated users under ``work``; return its path."""
    out = copy_lab(work / f"lab-{users}")
    files = generate(users, 2, seed=1)
    all_vars = out / "group_vars" / "all"

    generated_sites = files["group_vars/all/sites.yml"]["voip_sites"]
    sites = _load(all_vars / "sites.yml")
    for code, site in sites["voip_sites"].items():
        site["extensions"] = generated_sites[code]["extensions"]
        site["dids"] = generated_sites[code]["dids"]
        site["main_number"] = generated_sites[code]["main_number"]
    _dump(all_vars / "sites.yml", sites)

    numbering = _load(all_vars / "numbering.yml")
    numbering["voip_numbering"]["extension_digits"] = files["group_vars/all/numbering.yml"]["voip_numbering"][
        "extension_digits"
    ]
    _dump(all_vars / "numbering.yml", numbering)

    directory = files["group_vars/all/users.yml"]["voip_users"]
    _dump(all_vars / "users.yml", {"voip_users": directory})
    if set(files["group_vars/all/phone_models.yml"]["voip_phone_models"]) - set(
        _load(all_vars / "phone_models.yml")["voip_phone_models"]
    ):
        raise SystemExit("bench: the generated estate uses phone models the lab has no firmware for")
    hunt = files["group_vars/all/hunt_groups.yml"]["voip_hunt_groups"]
    _dump(all_vars / "hunt_groups.yml", {"voip_hunt_groups": hunt})

    trunks = _load(all_vars / "trunks.yml")
    for trunk in trunks["voip_trunks"]:
        trunk["did_ranges"] = [generated_sites[code]["dids"] for code in sites["voip_sites"]]
    _dump(all_vars / "trunks.yml", trunks)

    active = [u for u in directory if u.get("status", "active") == "active"]
    by_site = {code: [u for u in active if u["site"] == code] for code in sites["voip_sites"]}

    # The release test call: two active users of each call server's site.
    for cs in ("cs1", "cs2"):
        path = out / "host_vars" / cs / "call_server.yml"
        data = _load(path)
        site = _load(out / "hosts.yml")  # the host's site is in hosts.yml
        site_code = _host_site(site, cs)
        callers = [u for u in by_site[site_code] if not u.get("features", {}).get("dnd")]
        if "test_call" in data["voip_call_server"]:
            data["voip_call_server"]["test_call"] = {"caller": callers[0]["id"], "callee": callers[1]["id"]}
        _dump(path, data)

    # The gateway's numbers move into the generated plan of its site.
    hosts = _load(out / "hosts.yml")
    for gw_dir in (out / "host_vars").iterdir():
        path = gw_dir / "gateway.yml"
        if not path.is_file():
            continue
        data = _load(path)
        gateway = data["voip_gateway"]
        code = _host_site(hosts, gw_dir.name)
        last = parse_range(generated_sites[code]["extensions"], e164=False)[1]
        did_lo = parse_range(generated_sites[code]["dids"], e164=True)[0]
        reception = next(g["extension"] for g in hunt if g["site"] == code and g["strategy"] == "ring_all")
        for span in gateway.get("pri_spans", []):
            span["did_ranges"] = [f"+{did_lo + 900}-+{did_lo + 999}"]
        for n, port in enumerate(gateway.get("fxs_ports", [])):
            port["extension"] = last - n
        for port in gateway.get("fxo_ports", []):
            port["route_to"] = reception
            if "number" in port:
                port["number"] = f"+{did_lo + 999}"
        _dump(path, data)

    # The switch's phone ports carry the first phones of its site.
    for sw_dir in (out / "host_vars").iterdir():
        path = sw_dir / "switch.yml"
        if not path.is_file():
            continue
        data = _load(path)
        phones = iter(u for u in by_site[_host_site(hosts, sw_dir.name)] if u.get("devices"))
        for port in data["voip_switch"]["ports"]:
            if "phone_mac" in port:
                user = next(phones)
                port["phone_mac"] = user["devices"][0]["mac"]
                port["description"] = f"{user['id']} desk"
        _dump(path, data)
    return out


def _host_site(hosts: dict, host: str) -> str:
    """The ``voip_site`` of ``host`` in an inventory's hosts.yml (host_vars do not set it in the lab)."""

    def walk(group: dict) -> str | None:
        if host in (group.get("hosts") or {}):
            return (group["hosts"][host] or {}).get("voip_site")
        for child in (group.get("children") or {}).values():
            found = walk(child or {})
            if found:
                return found
        return None

    site = walk(hosts["all"])
    if site is None:
        raise SystemExit(f"bench: no voip_site for {host} in the lab's hosts.yml")
    return site
