"""Trunks and the PSTN: trunk definitions and registration, each site's emergency route and caller id, DIDs on a trunk.

A site uses the trunks of its ``trunks`` list, else the trunks homed there
(as ``derive.kamailio`` routes them).
"""

from __future__ import annotations

import bisect
from typing import Any

from voipctl.model.checks.context import GATEWAYS, Context
from voipctl.model.types import parse_range, shown
from voipctl.model.yamlfile import VaultValue


def check_trunks(ctx: Context) -> None:
    """Each trunk: a unique name and destination, its site, vaulted credentials, realm, classes of service."""
    names: set[str] = set()
    destinations: dict[tuple, str] = {}
    all_vars = ctx.inv.all_vars()
    for i, trunk in enumerate(ctx.get("voip_trunks", [])):
        if trunk is None:
            continue
        ctx.name_once("voip_trunks", i, trunk["name"], names, "trunk name")
        ctx.site_ref(ctx.origins["voip_trunks"], (i, "site"), trunk["site"])
        ref = trunk["credentials_ref"]
        secret = all_vars.get(ref)
        if trunk.get("transport", "udp") != "tls" and not trunk.get("realm"):
            ctx.warn(
                "voip_trunks",
                (i,),
                f"trunk {shown(trunk['name'])} has no realm: over {trunk.get('transport', 'udp')} its "
                "password answers a challenge of any realm (one a party on the path chose); set the "
                "carrier's digest realm",
            )
        if secret is not None and not isinstance(secret.value, VaultValue):
            # A number is plain text too (and YAML may have changed it: 0044 is 36).
            ctx.err(
                "voip_trunks",
                (i, "credentials_ref"),
                f"{ref} holds a plain-text value in {secret.origin.file}; vault it",
            )
        if not trunk["classes_of_service"]:
            ctx.err("voip_trunks", (i, "classes_of_service"), "no class of service may use this trunk")
        where = (str(trunk["address"]).lower(), trunk.get("port", 5060), trunk.get("transport", "udp"))
        if where in destinations:
            ctx.err(
                "voip_trunks",
                (i, "address"),
                f"{trunk['name']} has the address, port and transport of trunk {destinations[where]}: "
                "one destination is one trunk (its calls and channels are counted by it)",
            )
        destinations.setdefault(where, trunk["name"])
        if trunk.get("transport") == "tls" and trunk.get("options_ping"):
            ctx.err(
                "voip_trunks",
                (i, "options_ping"),
                "the health check's SIP OPTIONS speak UDP and TCP, not TLS: "
                "a TLS trunk cannot be pinged (remove options_ping)",
            )
        if trunk.get("register"):
            _check_trunk_registration(ctx, i, trunk)


def _check_trunk_registration(ctx: Context, i: int, trunk: dict) -> None:
    """A registering trunk has call servers that register it: those of one site that uses the trunk.

    A site uses the trunks of its ``trunks`` list, else the trunks homed
    there (derive.kamailio.site_trunks); only those are trusted for the
    inbound calls the registration asks for. Every call server of that
    site registers the account with its own Contact: the carrier then
    reaches whichever member is up (what a pair is for).
    """
    by_site = ctx.call_servers_by_site()
    users = []
    for name, site in ctx.get("voip_sites", {}).items():
        listed = (site or {}).get("trunks")
        if (trunk["name"] in listed) if listed else trunk["site"] == name:
            users.append(name)
    registrars = {site: by_site[site] for site in users if site in by_site}
    if not registrars:
        ctx.err(
            "voip_trunks",
            (i, "register"),
            f"no call server registers trunk {shown(trunk['name'])}: no site with a call server uses it "
            f"(sites using it: {', '.join(users) or 'none'})",
        )
    elif len(registrars) > 1:
        named = "; ".join(f"{site}: {', '.join(hosts)}" for site, hosts in registrars.items())
        # Each site's servers would register the same account with their
        # Contacts: the carrier's inbound calls (a PSAP's callback too)
        # would reach a site that does not have the number.
        ctx.err(
            "voip_trunks",
            (i, "register"),
            f"trunk {shown(trunk['name'])} would be registered by the call servers of {len(registrars)} sites "
            f"({named}): "
            "one account registers the call servers of one site (a pair registers it from each member, "
            "so that the carrier reaches either); give each site its own trunk",
        )


def check_site_pstn(ctx: Context) -> None:
    """Every site reaches the PSTN for its emergency numbers, and every caller has a caller id.

    The routes (derive.kamailio.pstn_routes): the site's trunks, a
    gateway of the site with PRI spans, another site's trunk that
    carries the site's numbers. A user without a DID calls out (and is
    called back after an emergency call) on the site's main number.
    """
    sites = ctx.get("voip_sites", {})
    trunks = [t for t in ctx.get("voip_trunks", []) if t]
    pri_sites = {
        values.get("voip_site")
        for host, values in ctx.hosts.items()
        if ctx.in_group(host, GATEWAYS) and (values.get("voip_gateway") or {}).get("pri_spans")
    }
    without_did: dict[str, int] = {}
    for user in ctx.active_users():
        if not user.get("did"):
            without_did[user["site"]] = without_did.get(user["site"], 0) + 1
    own_of = {
        name: site.get("trunks") or [t["name"] for t in trunks if t["site"] == name]
        for name, site in sites.items()
    }
    _check_shared_channels(ctx, trunks, own_of)
    for name, site in sites.items():
        lo, hi = ctx.did_ranges[name]
        main = site.get("main_number")
        if main and not lo <= int(main[1:]) <= hi:
            ctx.err("voip_sites", (name, "main_number"), f"{main} is not in the site's DIDs {site['dids']}")
        if not main and without_did.get(name):
            ctx.err(
                "voip_sites",
                (name,),
                f"{without_did[name]} active user(s) of {name} have no DID and the site has no main_number: "
                "their calls would reach the PSTN, and an emergency service, without a callback number",
            )
        own = own_of[name]
        carried = [
            t["name"]
            for t in trunks
            if t["name"] not in own
            and any(
                tlo <= hi and lo <= thi for tlo, thi in (parse_range(r, e164=True) for r in t["did_ranges"])
            )
        ]
        if not own and name not in pri_sites and not carried:
            ctx.err(
                "voip_sites",
                (name, "emergency"),
                f"site {name} has no route for its emergency numbers: no trunk of its own, no gateway with "
                "PRI spans, and no other trunk carries its DIDs",
            )


def _check_shared_channels(ctx: Context, trunks: list[dict[str, Any]], own_of: dict[str, list[str]]) -> None:
    """A trunk with a channel limit is the route of one site only (``own_of``: each site's trunks)."""
    users_of: dict[str, list[str]] = {}
    for name, own in own_of.items():
        for trunk in own:
            users_of.setdefault(trunk, []).append(name)
    by_site = ctx.call_servers_by_site()
    for i, trunk in enumerate(trunks):
        sharing = users_of.get(trunk["name"], [])
        if trunk.get("channels") and len(sharing) > 1:
            ctx.err(
                "voip_trunks",
                (i, "channels"),
                f"{trunk['name']} is a route of sites {', '.join(sharing)}: each call server counts its own "
                "calls, so together they could exceed the trunk's channels; give each site a trunk of its own",
            )
        elif trunk.get("channels") and len(servers := by_site.get(sharing[0] if sharing else None, [])) > 1:
            # A warning: the model cannot split the channels (each member
            # may carry them all when the other is down), and the count is
            # the call servers' to share.
            ctx.rep.warning(
                ctx.origins["voip_trunks"],
                (i, "channels"),
                f"each call server of site {sharing[0]} ({', '.join(servers)}) counts {trunk['name']}'s calls "
                f"on its own: together they may offer the carrier up to {trunk['channels'] * len(servers)} calls "
                f"on its {trunk['channels']} channels, and the carrier refuses those beyond",
            )


def check_did_coverage(ctx: Context) -> None:
    """Warn of each claimed DID that no trunk or PRI span carries."""
    ranges = [parse_range(r, e164=True) for t in ctx.get("voip_trunks", []) if t for r in t["did_ranges"]]
    for values in ctx.hosts.values():
        for span in (values.get("voip_gateway") or {}).get("pri_spans", ()):
            ranges.extend(parse_range(r, e164=True) for r in span.get("did_ranges", ()))
    if not ranges:
        return
    ranges = _merge(ranges)  # sorted and disjoint: the one that may hold a number is found by bisection
    starts = [lo for lo, _hi in ranges]
    for number, (what, origin, sub) in ctx.dids.items():
        at = bisect.bisect_right(starts, number) - 1
        if at < 0 or number > ranges[at][1]:
            ctx.rep.warning(
                origin,
                sub,
                f"DID +{number} of {what} is on no trunk or PRI span: inbound calls cannot reach it",
            )


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` sorted, with overlapping or adjacent ones joined."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
