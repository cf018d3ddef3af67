"""Hosts: sites and addresses, call servers, gateways, access switches, the backup server.

Run after the users: a switch port's phone is looked up in the context's
``device_macs``, a call server's test users by id.
"""

from __future__ import annotations

from typing import Any

from voipctl.core.activity import is_leaver
from voipctl.model.checks.context import BACKUP_SERVERS, CALL_SERVERS, GATEWAYS, SWITCHES, Context
from voipctl.model.loader import Origin
from voipctl.model.types import normalise_mac, parse_range, shown


def check_host_models(ctx: Context) -> None:
    """Each host's site and address, and its call server, gateway or switch variables."""
    addresses: dict[str, str] = {}
    switch_macs: dict[str, str] = {}
    domains: dict[str, tuple[str, Any]] = {}  # SIP domain -> (first call server, its site)
    for host, values in ctx.hosts.items():
        origins = ctx.host_origins[host]
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


def _check_call_server(
    ctx: Context, host: str, site: str | None, server: dict[str, Any], domains: dict[str, tuple[str, Any]]
) -> None:
    """A call server is in its group, has its site's SIP domain (no other site's), and active test users of its site."""
    if not ctx.in_group(host, CALL_SERVERS):
        ctx.host_err(host, "voip_call_server", (), f"host {host} is not in group {CALL_SERVERS}")
    domain = server["sip_domain"]
    if domain in domains and domains[domain][1] != site:
        # The call servers of one site (a pair) share its domain; two sites never do.
        ctx.host_err(
            host,
            "voip_call_server",
            ("sip_domain",),
            f"SIP domain {domain} is also used by {domains[domain][0]} (site {domains[domain][1]})",
        )
    domains.setdefault(domain, (host, site))
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
