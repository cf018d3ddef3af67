"""Hosts: sites and addresses, call servers, gateways, access switches, the backup server.

Run after the users: a switch port's phone is looked up in the context's
``device_macs``, a call server's test users by id.
"""

from __future__ import annotations

from typing import Any

from voipctl.core.activity import is_leaver
from voipctl.model.checks.context import BACKUP_SERVERS, CALL_SERVERS, GATEWAYS, SWITCHES, Context
from voipctl.model.loader import Origin
from voipctl.model.types import INVENTORY_NAME, normalise_mac, parse_range, shown


def check_host_models(ctx: Context) -> None:
    """Each host's name, site and address, and its call server, gateway or switch variables."""
    addresses: dict[str, str] = {}
    switch_macs: dict[str, str] = {}
    domains: dict[str, tuple[str, Any]] = {}  # SIP domain -> (first call server, its site)
    for host, values in ctx.hosts.items():
        origins = ctx.host_origins[host]
        if not INVENTORY_NAME.match(host):
            ctx.rep.error(
                origins["@host"],
                (),
                f"host name {shown(host)}: letters, digits, '.', '-' and '_' only, at most 63, starting with "
                "a letter or digit (the name goes into configuration files and device commands)",
            )
        site = values.get("voip_site")
        if site is not None and not ctx.site_ref(origins["voip_site"], (), site):
            site = None
        if site is None and "voip_site" not in origins:
            for group in (CALL_SERVERS, GATEWAYS, SWITCHES):
                if ctx.in_group(host, group):
                    ctx.rep.error(origins["@host"], (), f"host {host} in {group} needs voip_site")
                    break
        address = values.get("ansible_host")
        if address is not None:
            if address in addresses:
                ctx.host_err(
                    host,
                    "ansible_host",
                    (),
                    f"address {address} is also used by host {addresses[address]}",
                )
            else:
                addresses[address] = host
        server = values.get("voip_call_server")
        if server:
            _check_call_server(ctx, host, site, server, domains)
        gateway = values.get("voip_gateway")
        if gateway:
            _check_gateway(ctx, host, site, gateway)
        switch = values.get("voip_switch")
        if switch:
            _check_switch(ctx, host, site, switch, switch_macs)


def _domain_key(domain: str) -> str:
    """A SIP domain as DNS compares it: case-blind (a trailing dot is refused by the schema)."""
    return domain.lower()


def _check_call_server(
    ctx: Context, host: str, site: str | None, server: dict[str, Any], domains: dict[str, tuple[str, Any]]
) -> None:
    """A call server is in its group, has its site's SIP domain (no other site's), and active test users of its site."""
    if not ctx.in_group(host, CALL_SERVERS):
        ctx.host_err(host, "voip_call_server", (), f"host {host} is not in group {CALL_SERVERS}")
    domain = server["sip_domain"]
    # AMS.voip.test and ams.voip.test name one domain: two sites never share it,
    # whatever the spelling (the spelling within one site: check_call_server_pairs).
    key = _domain_key(domain)
    if key in domains and domains[key][1] != site:
        # The call servers of one site (a pair) share its domain; two sites never do.
        first, first_site = domains[key]
        spelt = ctx.hosts[first]["voip_call_server"]["sip_domain"]
        ctx.host_err(
            host,
            "voip_call_server",
            ("sip_domain",),
            f"SIP domain {domain} is also used by {first} (site {first_site})"
            + (f" as {spelt}" if spelt != domain else "")
            + ": two sites never share a domain (their users' HA1 digests and the phones' domain would collide)",
        )
    domains.setdefault(key, (host, site))
    for role, uid in (server.get("test_call") or {}).items():
        user = ctx.users_by_id().get(uid)
        if user is None or is_leaver(user) or user.get("site") != site:
            # A warning, not an error: a leaver or a move must still go
            # through; the release gate's test call fails until this is fixed.
            ctx.rep.warning(
                ctx.host_origins[host]["voip_call_server"],
                ("test_call", role),
                f"{shown(uid)} is not an active user of site {site}: the release gate's test call "
                f"({role}) will fail; name another test user",
            )


def check_call_server_pairs(ctx: Context) -> None:
    """Every call server has voip_call_server; the call servers of one site agree on what they share.

    The call servers of a site (``Context.call_servers_by_site``: by name,
    the first the phones' primary proxy) serve the same users: they share
    the SIP domain (the realm of the users' HA1 digests, the phones'
    domain) and the SIP port. Each member is compared with the first that
    has a valid ``voip_call_server``; per-host values (``rtp_ports``,
    ``test_call``) may differ. A member whose ``voip_call_server`` failed
    its schema is not compared (its own error says it all).
    """
    for site, members in ctx.call_servers_by_site().items():
        # Hosts without a (known) site are no pair: their voip_site's own error says it.
        valid = [h for h in members if ctx.hosts[h].get("voip_call_server")] if site in ctx.ext_ranges else []
        first = valid[0] if valid else None
        for host in members:
            if "voip_call_server" not in ctx.host_origins[host]:
                _missing_call_server(ctx, host, site, members, first)
            elif host in valid and host != first:
                _compare_members(ctx, site, members, first, host)


def _missing_call_server(ctx: Context, host: str, site: Any, members: list[str], first: str | None) -> None:
    if first is None:
        ctx.rep.error(
            ctx.host_origins[host]["@host"],
            (),
            f"host {host} in {CALL_SERVERS} needs voip_call_server (its sip_domain at least)",
        )
        return
    origin = ctx.host_origins[first]["voip_call_server"]
    domain = ctx.hosts[first]["voip_call_server"]["sip_domain"]
    ctx.rep.error(
        ctx.host_origins[host]["@host"],
        (),
        f"host {host} in {CALL_SERVERS} needs voip_call_server: the call servers of site {site} "
        f"({', '.join(members)}) share its sip_domain and sip_port; {first} has sip_domain {domain} "
        f"({ctx.where(origin, ('sip_domain',))})",
    )


def _compare_members(ctx: Context, site: Any, members: list[str], first: str, host: str) -> None:
    """``host`` has what ``first`` (the site's first call server) has of what they must share."""
    mine, theirs = ctx.hosts[host]["voip_call_server"], ctx.hosts[first]["voip_call_server"]
    origin, first_origin = (
        ctx.host_origins[host]["voip_call_server"],
        ctx.host_origins[first]["voip_call_server"],
    )
    pair = f"the call servers of site {site} ({', '.join(members)})"
    if mine["sip_domain"] != theirs["sip_domain"]:
        only_case = _domain_key(mine["sip_domain"]) == _domain_key(theirs["sip_domain"])
        hint = (
            " (they differ only in case, but a digest is computed over the exact text)" if only_case else ""
        )
        ctx.rep.error(
            origin,
            ("sip_domain",),
            f"SIP domain {mine['sip_domain']} differs from {first}'s {theirs['sip_domain']} "
            f"({ctx.where(first_origin, ('sip_domain',))}): {pair} share one SIP domain, the realm of "
            f"the users' HA1 digests and the phones' domain{hint}",
        )
    port, first_port = mine.get("sip_port", 5060), theirs.get("sip_port", 5060)
    if port != first_port:
        ctx.rep.error(
            origin,
            ("sip_port",) if "sip_port" in mine else (),
            f"SIP port {port}{'' if 'sip_port' in mine else ' (the default)'} differs from {first}'s "
            f"{first_port} ({ctx.where(first_origin, ('sip_port',) if 'sip_port' in theirs else ())}): "
            f"{pair} are one SIP service on one port (a phone that fails over by DNS, one name for "
            "the members' addresses, or whose backup proxy has no port of its own, reaches the backup "
            "on the primary's port)",
        )


def _check_gateway(ctx: Context, host: str, site: str | None, gateway: dict[str, Any]) -> None:
    origin = ctx.host_origins[host]["voip_gateway"]
    if not ctx.in_group(host, GATEWAYS):
        ctx.rep.error(origin, (), f"host {host} is not in group {GATEWAYS}")
    ports: dict[str, str] = {}
    for kind in ("pri_spans", "fxs_ports", "fxo_ports"):
        for i, port in enumerate(gateway.get(kind, ())):
            name = port["port"]
            if name in ports:
                ctx.rep.error(origin, (kind, i, "port"), f"port {name} is already used by {ports[name]}")
            ports.setdefault(name, f"{kind}[{i}]")
    for i, span in enumerate(gateway.get("pri_spans", ())):
        for j, text in enumerate(span.get("did_ranges", ())):
            lo, hi = parse_range(text, e164=True)
            if site is not None:
                slo, shi = ctx.did_ranges[site]
                if lo < slo or hi > shi:
                    ctx.rep.error(
                        origin,
                        ("pri_spans", i, "did_ranges", j),
                        f"{text} is outside site {site}'s DID range",
                    )
    for i, port in enumerate(gateway.get("fxs_ports", ())):
        if site is not None:
            ctx.in_site(origin, ("fxs_ports", i), site, port["extension"], None)
        ctx.claim_extension(
            port["extension"], f"FXS port {host}:{port['port']}", origin, ("fxs_ports", i, "extension")
        )


def _check_switch(
    ctx: Context, host: str, site: str | None, switch: dict[str, Any], seen_macs: dict[str, str]
) -> None:
    origin = ctx.host_origins[host]["voip_switch"]
    if not ctx.in_group(host, SWITCHES):
        ctx.rep.error(origin, (), f"host {host} is not in group {SWITCHES}")
    if site is not None:
        wanted = ctx.get("voip_sites", {})[site].get("voice_vlan")
        if wanted is not None and switch["voice_vlan"] != wanted:
            ctx.rep.error(
                origin,
                ("voice_vlan",),
                f"voice VLAN {switch['voice_vlan']} differs from site {site}'s {wanted}",
            )
    _check_data_vlan(ctx, origin, site, switch)
    names: set[str] = set()
    for i, port in enumerate(switch["ports"]):
        if port["name"] in names:
            ctx.rep.error(origin, ("ports", i, "name"), f"port {port['name']} is listed twice")
        names.add(port["name"])
        if "phone_mac" in port:
            mac = normalise_mac(port["phone_mac"])
            if mac not in ctx.device_macs and mac not in ctx.uncertain:
                ctx.rep.error(
                    origin, ("ports", i, "phone_mac"), f"{port['phone_mac']} is not a device of any user"
                )
            if mac in seen_macs:
                ctx.rep.error(
                    origin,
                    ("ports", i, "phone_mac"),
                    f"{port['phone_mac']} is also connected to {seen_macs[mac]}",
                )
            seen_macs.setdefault(mac, f"{host} port {port['name']}")


def _check_data_vlan(ctx: Context, origin: Origin, site: str | None, switch: dict[str, Any]) -> None:
    data = switch.get("data_vlan")
    if data is None:
        return
    site_voice = ctx.get("voip_sites", {})[site].get("voice_vlan") if site is not None else None
    if data == switch["voice_vlan"]:
        where = "the switch's voice VLAN"
    elif data == site_voice:
        where = f"site {site}'s voice VLAN"
    else:
        return
    ctx.rep.error(
        origin,
        ("data_vlan",),
        f"data VLAN {data} is {where}: the PCs' data and the phones' voice must be on separate VLANs",
    )


def check_backup(ctx: Context) -> None:
    """The backup policy (when there is a valid one) names a backup server."""
    server = (ctx.estate.get("voip_backup_policy") or {}).get("server")
    if server is not None and (server not in ctx.hosts or not ctx.in_group(server, BACKUP_SERVERS)):
        ctx.err("voip_backup_policy", ("server",), f"{shown(server)} is not a host in {BACKUP_SERVERS}")


def check_call_server_coverage(ctx: Context) -> None:
    """Every site with active users has a call server."""
    served = ctx.call_server_sites()
    counts: dict[str, int] = {}
    for user in ctx.active_users():
        counts[user["site"]] = counts.get(user["site"], 0) + 1
    for site, count in counts.items():
        if site in ctx.ext_ranges and site not in served:
            ctx.err(
                "voip_sites",
                (site,),
                f"site {site} has {count} active user(s) but no call server (a host in {CALL_SERVERS} with voip_site: {site})",
            )


def check_health_policy(ctx: Context) -> None:
    """The working day of the health policy starts before it ends and has days."""
    hours = (ctx.estate.get("voip_health_policy") or {}).get("working_hours")
    if not isinstance(hours, dict):
        return
    start, end = hours.get("start"), hours.get("end")
    if isinstance(start, str) and isinstance(end, str) and end <= start:
        ctx.err("voip_health_policy", ("working_hours", "end"),
                f"the working day ends at {end}, not after it starts ({start})")  # fmt: skip
    if hours.get("days") == []:
        ctx.err(
            "voip_health_policy", ("working_hours", "days"), "no working day: every call would be after hours"
        )
