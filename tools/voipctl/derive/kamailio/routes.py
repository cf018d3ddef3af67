"""The routes to the PSTN and the ``dispatcher`` table: which trunks and gateways a call tries, in order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.derive.kamailio.common import KamailioDataError, parse_range

# Dispatcher sets: the PSTN routes of each kind of call, tried in order
# (highest priority first; kamailio.cfg selects with algorithm 8 and fails
# over to the next route on a timeout or a server failure).
ROUTE_SETS = {"national": 10, "international": 11, "emergency": 12}


def site_trunks(
    site: str, sites: Mapping[str, Any], trunks: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The trunks of ``site`` in the order calls try them: ``voip_sites.<site>.trunks``, else those homed there."""
    trunks = list(trunks)
    names = (sites.get(site) or {}).get("trunks")
    if names:
        by_name = {t["name"]: t for t in trunks}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise KamailioDataError(f"voip_sites.{site}.trunks: unknown trunk(s) {', '.join(missing)}")
        return [by_name[n] for n in names]
    return [t for t in trunks if t.get("site") == site]


def _carries_site(trunk: Mapping[str, Any], site: Mapping[str, Any]) -> bool:
    """True when ``trunk`` carries numbers of ``site`` (a DID range overlapping the site's)."""
    lo, hi = parse_range(site.get("dids"), "dids", e164=True)
    for text in trunk.get("did_ranges") or ():
        tlo, thi = parse_range(text, "did_ranges", e164=True)
        if tlo <= hi and lo <= thi:
            return True
    return False


def trunk_uri(trunk: Mapping[str, Any]) -> str:
    """The SIP URI calls are sent to a trunk by: its address, port and transport."""
    transport = trunk.get("transport", "udp")
    return f"sip:{trunk['address']}:{trunk.get('port', 5060)};transport={transport}"


def pstn_routes(
    site: str,
    sites: Mapping[str, Any],
    trunks: Iterable[Mapping[str, Any]],
    gateways: Iterable[Mapping[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """The routes to the PSTN of each kind of call from ``site``, in the order they are tried.

    National and international calls: the site's trunks that allow the
    class of service, then the site's gateways with PRI spans. Emergency
    calls: every trunk of the site, the site's PRI gateways, then any other
    trunk that carries the site's numbers (the caller's own DID or the
    site's main number goes with the call, so the PSAP learns where the
    caller is and can call back). Each route: ``name``, ``uri``, ``kind``.
    """
    trunks = list(trunks)
    own = site_trunks(site, sites, trunks)
    pri = [
        {"name": g["name"], "uri": f"sip:{g['address']}:5060;transport=udp", "kind": "gateway"}
        for g in gateways
        if g.get("site") == site and g.get("pri_spans")
    ]

    def as_route(trunk: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": trunk["name"], "uri": trunk_uri(trunk), "kind": "trunk"}

    routes = {
        cos: [as_route(t) for t in own if cos in (t.get("classes_of_service") or ())] + pri
        for cos in ("national", "international")
    }
    others = [t for t in trunks if t not in own and _carries_site(t, sites[site])]
    routes["emergency"] = [as_route(t) for t in own] + pri + [as_route(t) for t in others]
    return routes


def dispatcher_rows(routes: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Dispatcher rows: one set per kind of call, the first route with the highest priority."""
    rows = []
    for kind, found in routes.items():
        for i, route in enumerate(found):
            rows.append(
                {"setid": ROUTE_SETS[kind], "destination": route["uri"], "flags": 0, "priority": len(found) - i,
                 "attrs": f"{route['kind']}={route['name']}", "description": f"{kind}: {route['kind']} {route['name']}"}
            )  # fmt: skip
    return rows
