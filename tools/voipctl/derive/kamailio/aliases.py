"""The ``dbaliases`` table: the numbers that reach a local account (DIDs, hunt groups, gateway ports)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _alias(alias: Any, domain: str, username: Any, target_domain: str) -> dict[str, Any]:
    return {"alias_username": alias, "alias_domain": domain, "username": username, "domain": target_domain}


def alias_rows(
    local_users: Iterable[Mapping[str, Any]],
    hunt_groups: Iterable[Mapping[str, Any]],
    gateways: Iterable[Mapping[str, Any]],
    *,
    site: str,
    domain: str,
) -> list[dict[str, Any]]:
    """Alias rows: the users' DIDs, then the site's hunt groups' DIDs, then its gateways' FXS ports.

    Gateway port maps: an FXS port's extension (fax, door phone, analog
    phone) is an alias whose domain is the gateway's address; the call
    server relays it there (route DIAL).
    """
    rows = [_alias(u["did"], domain, str(u["extension"]), domain) for u in local_users if u.get("did")]
    rows += [
        _alias(g["did"], domain, str(g["extension"]), domain)
        for g in hunt_groups
        if g.get("site") == site and g.get("did")
    ]
    rows += [
        _alias(str(ext), domain, str(ext), gateway["address"])
        for gateway in gateways
        if gateway.get("site") == site
        for ext in gateway.get("fxs_extensions") or []
    ]
    return rows
