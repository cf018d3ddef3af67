"""CTI accounts: unique names, known rights, narrow source networks, real call servers and sites."""

from __future__ import annotations

import ipaddress

from voipctl.model.checks.context import CALL_SERVERS, Context
from voipctl.model.schema import CTI_RIGHTS
from voipctl.model.types import shown

# The widest prefix a CTI account's source networks may span, alone or together, per IP version.
CTI_WIDEST = {4: 8, 6: 32}


def check_cti(ctx: Context) -> None:
    """Each CTI account: a unique name, known rights, its networks, call servers and sites."""
    names: set[str] = set()
    rights = set(CTI_RIGHTS)
    by_site = ctx.call_servers_by_site()
    for i, account in enumerate(ctx.get("voip_cti_accounts", [])):
        if account is None:
            continue
        ctx.name_once("voip_cti_accounts", i, account["name"], names, "CTI account")
        for j, right in enumerate(account["rights"]):
            if right not in rights:
                ctx.err(
                    "voip_cti_accounts",
                    (i, "rights", j),
                    f"unknown CTI right {shown(right)} (known: {', '.join(CTI_RIGHTS)})",
                )
        _check_cti_networks(ctx, i, account["source_networks"])
        for j, host in enumerate(account.get("call_servers", ())):
            if host not in ctx.hosts or not ctx.in_group(host, CALL_SERVERS):
                ctx.err(
                    "voip_cti_accounts",
                    (i, "call_servers", j),
                    f"{shown(host)} is not a host in {CALL_SERVERS}",
                )
        _check_cti_pairs(ctx, i, account.get("call_servers", ()), by_site)
        for j, site in enumerate(account.get("sites", ())):
            ctx.site_ref(ctx.origins["voip_cti_accounts"], (i, "sites", j), site)


def _check_cti_pairs(ctx: Context, i: int, named: list[str], by_site: dict) -> None:
    """An account naming a call server names every call server of its site.

    An error, not a warning: the account exists only on the servers it
    names, so its application would lose CTI exactly when the site fails
    over to the member left out, and nothing shows it until then; naming
    the other member too costs nothing (its source networks and rights
    stay the same), and ``sites`` names a site's servers all at once.
    """
    listed = set(named)
    for site, members in by_site.items():
        missing = [h for h in members if h not in listed]
        if len(members) < 2 or not missing or len(missing) == len(members):
            continue
        j = next(j for j, host in enumerate(named) if host in members)
        ctx.err(
            "voip_cti_accounts",
            (i, "call_servers", j),
            f"names {named[j]} but not {', '.join(missing)} of site {site}'s call servers "
            f"({', '.join(members)}): the application would lose CTI when the site fails over to "
            f"{missing[0]}; name every call server of the site (or the site in sites)",
        )


def _check_cti_networks(ctx: Context, i: int, texts: list[str]) -> None:
    """The networks a CTI client may connect from: each, and all together, at most a /8 (IPv6: /32)."""
    networks = [ipaddress.ip_network(text) for text in texts]
    for j, net in enumerate(networks):
        widest = CTI_WIDEST[net.version]
        if net.prefixlen < widest:
            reason = "lets anyone in" if net.prefixlen == 0 else f"is wider than a /{widest}"
            ctx.err(
                "voip_cti_accounts",
                (i, "source_networks", j),
                f"{net} {reason}; name the application's own networks",
            )
    for version, widest in CTI_WIDEST.items():
        listed = [net for net in networks if net.version == version]
        union = list(ipaddress.collapse_addresses(listed))
        total = sum(net.num_addresses for net in union)
        # Within the limit, or no wider than one of them (judged on its own above).
        if total <= 2 ** ((32 if version == 4 else 128) - widest) or total == max(
            net.num_addresses for net in listed
        ):
            continue
        together = ", ".join(str(net) for net in union[:4]) + (", ..." if len(union) > 4 else "")
        what = (
            f"every IPv{version} address: that lets anyone in"
            if union[0].prefixlen == 0
            else f"more than a /{widest} ({total} addresses)"
        )
        ctx.err(
            "voip_cti_accounts",
            (i, "source_networks"),
            f"together these networks make {together}, {what}; name the application's own networks",
        )
