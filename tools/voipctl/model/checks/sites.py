"""Sites and the numbering plan: ranges that do not overlap, emergency numbers, voice subnets, trunk lists.

``check_sites`` fills the context's ``ext_ranges`` and ``did_ranges``: every
later check finds a site's numbers there.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

from voipctl.core.dialling import dial_prefixes
from voipctl.model.checks.context import Context
from voipctl.model.types import parse_range, shown


def check_sites(ctx: Context) -> None:
    """Each site's ranges, country code, emergency numbers, voice subnets and trunks."""
    sites = ctx.get("voip_sites", {})
    ctx.ext_ranges = {n: parse_range(s["extensions"], e164=False) for n, s in sites.items()}
    ctx.did_ranges = {n: parse_range(s["dids"], e164=True) for n, s in sites.items()}
    _overlaps(ctx, "voip_sites", ctx.ext_ranges, "extensions", "extension range")
    _overlaps(ctx, "voip_sites", ctx.did_ranges, "dids", "DID range")
    subnets: list[tuple[Any, str, int]] = []
    trunk_names = {t["name"] for t in ctx.get("voip_trunks", []) if t}
    for name, site in sites.items():
        code = site.get("country_code")
        if code and not site["dids"].startswith("+" + code):
            ctx.err("voip_sites", (name, "dids"), f"{shown(site['dids'])} is not in country code +{code}")
        for i, number in enumerate(site["emergency"]):
            for other, (olo, ohi) in ctx.ext_ranges.items():
                if olo <= int(number) <= ohi and len(number) == len(str(olo)):
                    ctx.err(
                        "voip_sites",
                        (name, "emergency", i)
                        if isinstance(site["emergency"], list)
                        else (name, "emergency"),
                        f"emergency number {number} lies in site {other}'s extension range",
                    )
        if not site.get("voice_subnets"):
            ctx.err(
                "voip_sites",
                (name,),
                "no voice_subnets: the call servers take registrations only from the voice networks, "
                "so this site's phones could register from nowhere",
            )
        for i, net in enumerate(site.get("voice_subnets", [])):
            subnets.append((ipaddress.ip_network(net), name, i))
        _check_premium(ctx, name, site)
        for i, trunk in enumerate(site.get("trunks", [])):
            if trunk not in trunk_names:
                ctx.err("voip_sites", (name, "trunks", i), f"unknown trunk {shown(trunk)}")
            elif trunk in site["trunks"][:i]:
                ctx.err("voip_sites", (name, "trunks", i), f"trunk {shown(trunk)} is listed twice")
    subnets.sort(key=lambda s: (s[0].version, s[0].network_address))
    for (a, site_a, _ia), (b, site_b, ib) in itertools.pairwise(subnets):
        if a.version == b.version and a.overlaps(b):
            ctx.err(
                "voip_sites",
                (site_b, "voice_subnets", ib),
                f"voice subnet {b} overlaps {a} of site {site_a}",
            )


def _check_premium(ctx: Context, name: str, site: dict[str, Any]) -> None:
    """Premium-rate prefixes are national numbers as dialled: the national prefix, then 1-8 digits."""
    national, international = dial_prefixes(site.get("country_code"))
    for i, prefix in enumerate(site.get("premium_prefixes", [])):
        if (
            prefix.startswith(international)
            or not prefix.startswith(national)
            or not (len(national) < len(prefix) <= len(national) + 8)
        ):
            ctx.err(
                "voip_sites",
                (name, "premium_prefixes", i),
                f"{shown(prefix)} is not a national number range as dialled at the site: the national "
                f"prefix {national} and 1 to 8 digits (not the international prefix {international})",
            )


def check_numbering(ctx: Context) -> None:
    """Every site's extensions have the plan's number of digits."""
    plan = ctx.estate.get("voip_numbering")
    if not plan:
        return
    digits = plan["extension_digits"]
    for name, (lo, hi) in ctx.ext_ranges.items():
        if len(str(lo)) != digits or len(str(hi)) != digits:
            ctx.err(
                "voip_sites",
                (name, "extensions"),
                f"extensions must have {digits} digits (voip_numbering.extension_digits)",
            )


def _overlaps(ctx: Context, var: str, ranges: dict[str, tuple[int, int]], key: str, what: str) -> None:
    """Report each site's range that overlaps the one before it (by start)."""
    ordered = sorted(ranges.items(), key=lambda item: item[1])
    for (name_a, (_lo_a, hi_a)), (name_b, (lo_b, _hi_b)) in itertools.pairwise(ordered):
        if lo_b <= hi_a:
            ctx.err(var, (name_b, key), f"{what} overlaps site {name_a}'s")
