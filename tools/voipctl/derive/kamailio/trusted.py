"""The ``address`` table (trusted peers) and the other call servers and peers a contact may never be."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.derive.kamailio.common import KamailioDataError, parse_range

# Trusted peers are pinned by address, port and transport: one address
# group per transport (kamailio.cfg picks the group from the request's
# protocol). UDP peers are pinned to their SIP port too; TCP and TLS peers
# connect from ephemeral ports, so their rows match any port.
TRUSTED_GROUPS = {"udp": 1, "tcp": 2, "tls": 3}
TRUSTED_GROUP = TRUSTED_GROUPS["udp"]
# Every peer's address, any port and transport: a registered contact may
# never point there (kamailio.cfg refuses it at REGISTER and drops it at lookup).
PEER_HOSTS_GROUP = 9


def _peer_rows(address: str, transport: str, port: int, tag: str) -> list[dict[str, Any]]:
    """The address rows of one trusted peer: pinned by transport (and port over UDP), and its host."""
    if transport not in TRUSTED_GROUPS:
        raise KamailioDataError(f"{tag}: transport {transport!r} is not one of {', '.join(TRUSTED_GROUPS)}")
    pinned = {
        "grp": TRUSTED_GROUPS[transport],
        "ip_addr": address,
        "mask": 32,
        "port": int(port) if transport == "udp" else 0,
        "tag": tag,
    }
    return [pinned, {"grp": PEER_HOSTS_GROUP, "ip_addr": address, "mask": 32, "port": 0, "tag": tag}]


def _unique_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Address rows without a second row for the same key (the first one's tag is kept)."""
    seen: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault((row["grp"], row["ip_addr"], row["mask"], row["port"]), row)
    return list(seen.values())


def trusted_rows(
    peers: Iterable[Mapping[str, Any]],
    gateways: Iterable[Mapping[str, Any]],
    own_trunks: Iterable[Mapping[str, Any]],
    *,
    site: str,
) -> list[dict[str, Any]]:
    """Address rows: the other call servers, the site's gateways, then the site's own trunks (no repeats)."""
    rows: list[dict[str, Any]] = []
    for peer in peers:
        rows += _peer_rows(peer["address"], "udp", peer.get("port", 5060), f"callserver:{peer['name']}")
    for gateway in gateways:
        if gateway.get("site") == site:
            rows += _peer_rows(gateway["address"], "udp", 5060, f"gateway:{gateway['name']}")
    for trunk in own_trunks:
        port = trunk.get("port", 5060)
        transport = trunk.get("transport", "udp")
        rows += _peer_rows(trunk["address"], transport, port, f"trunk:{trunk['name']}")
    return _unique_rows(rows)


def peer_addresses(
    trunks: Iterable[Mapping[str, Any]],
    gateways: Iterable[Mapping[str, Any]],
    peers: Iterable[Mapping[str, Any]],
) -> list[str]:
    """Every peer of the estate (any site), sorted: a located contact is never one of them."""
    return sorted(
        {str(t["address"]) for t in trunks}
        | {str(g["address"]) for g in gateways}
        | {str(p["address"]) for p in peers}
    )


# Dispatcher sets of the other sites' call servers (one set per site, the
# first by name with the highest priority; probed, so a dead one is skipped).
PEER_SETS_FROM = 100


def peer_ranges(
    peers: Iterable[Mapping[str, Any]], sites: Mapping[str, Any], site: str | None = None
) -> list[dict[str, Any]]:
    """The other sites: each one's extension range and its call servers (calls there are relayed).

    One entry per other site, sorted by site: ``site``, ``setid`` (its
    dispatcher set), ``ext_from``, ``ext_to`` and ``servers`` (``name``,
    ``address``, ``port``, by name: the first is tried first). The call
    servers of ``site`` itself (a pair) are left out: its users are local
    on every member.
    """
    by_site: dict[str, list[Mapping[str, Any]]] = {}
    for peer in peers:
        if peer["site"] != site:
            by_site.setdefault(peer["site"], []).append(peer)
    ranges = []
    for n, other in enumerate(sorted(by_site, key=str)):
        lo, hi = parse_range(
            sites.get(other, {}).get("extensions"), f"voip_sites.{other}.extensions", e164=False
        )
        servers = [
            {"name": p["name"], "address": p["address"], "port": p.get("port", 5060)}
            for p in sorted(by_site[other], key=lambda p: str(p["name"]))
        ]
        ranges.append(
            {"site": other, "setid": PEER_SETS_FROM + n, "ext_from": lo, "ext_to": hi, "servers": servers}
        )
    return ranges


def peer_dispatcher_rows(ranges: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dispatcher rows of the other sites' call servers: probed (flag 8), the first by name first."""
    rows = []
    for entry in ranges:
        servers = entry["servers"]
        for i, server in enumerate(servers):
            rows.append(
                {"setid": entry["setid"], "destination": f"sip:{server['address']}:{server['port']}", "flags": 8,
                 "priority": len(servers) - i, "attrs": f"callserver={server['name']}",
                 "description": f"site {entry['site']}: call server {server['name']}"}
            )  # fmt: skip
    return rows


def site_members(peers: Iterable[Mapping[str, Any]], site: str) -> list[dict[str, Any]]:
    """The other call servers of ``site`` (this server's pair), by name: they share its registrations (DMQ)."""
    return [
        {"name": p["name"], "address": p["address"]}
        for p in sorted(peers, key=lambda p: str(p["name"]))
        if p["site"] == site
    ]
