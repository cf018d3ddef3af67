"""What a Kamailio call server needs, derived from the estate model.

One function, ``call_server_data``, turns the model (sites, users, hunt
groups, trunks, gateways, CTI accounts, other call servers) into the data
the kamailio role renders and syncs: subscribers (HA1 only), aliases (DIDs
and hunt groups), per-user preferences (class of service on the day,
caller id, forwarding, DND, voicemail), trusted peers, dispatcher
destinations, the trunks' accounts (credentials and registrations: the uac
module's ``uacreg`` table), CTI accounts, and the numbering of this and the
other sites.

One builder per table, each in its own module: ``subscribers``,
``aliases``, ``preferences``, ``trusted`` (and the peers), ``routes``
(the PSTN routes and the dispatcher), ``trunks`` (uacreg) and ``cti``
(the htable of credential digests); ``call_server_data`` composes them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.activity import as_date, users_of_site
from voipctl.core.dialling import DIAL_PREFIXES, dial_prefixes
from voipctl.derive.kamailio.aliases import alias_rows
from voipctl.derive.kamailio.common import KamailioDataError, VoicemailBox, parse_range
from voipctl.derive.kamailio.cti import CTI_DENIED_RPC, cti_data
from voipctl.derive.kamailio.preferences import preference_rows
from voipctl.derive.kamailio.routes import ROUTE_SETS, dispatcher_rows, pstn_routes, site_trunks
from voipctl.derive.kamailio.subscribers import subscriber_rows
from voipctl.derive.kamailio.trunks import UAC_REG_DISABLED, trunk_data
from voipctl.derive.kamailio.trusted import (
    PEER_HOSTS_GROUP,
    TRUSTED_GROUP,
    TRUSTED_GROUPS,
    peer_addresses,
    peer_dispatcher_rows,
    peer_ranges,
    site_members,
    trusted_rows,
)

__all__ = [
    "CTI_DENIED_RPC",
    "DIAL_PREFIXES",
    "PEER_HOSTS_GROUP",
    "ROUTE_SETS",
    "TRUSTED_GROUP",
    "TRUSTED_GROUPS",
    "UAC_REG_DISABLED",
    "KamailioDataError",
    "call_server_data",
    "dial_prefixes",
    "pstn_routes",
    "site_trunks",
]


# How a site's users dial the PSTN, by the site's country calling code
# (country_code): the national (trunk) prefix and the international
# prefix. Most of the world dials 0 and 00; the exceptions the estate
# may meet are listed.
def voice_networks(sites: Mapping[str, Any]) -> list[str]:
    """Every site's voice subnets: where phones may register from (users roam between sites)."""
    return sorted({str(net) for site in sites.values() for net in (site.get("voice_subnets") or [])})


def _local(
    site: str, sites: Mapping[str, Any], gateways: list[Mapping[str, Any]], prefixes: tuple[Any, Any]
) -> dict[str, Any]:
    """The numbering of ``site``: extensions, emergency numbers, country, main number, dial prefixes.

    ``prefixes``: the national and international prefix the inventory sets
    (None: the country's, ``dial_prefixes``).
    """
    data = sites[site]
    ext_from, ext_to = parse_range(data.get("extensions"), f"voip_sites.{site}.extensions", e164=False)
    national, international = dial_prefixes(data.get("country_code"))
    return {
        "ext_from": ext_from,
        "ext_to": ext_to,
        "emergency": [str(n) for n in data.get("emergency", [])],
        "country_code": str(data.get("country_code") or ""),
        "main_number": str(data.get("main_number") or ""),
        # The site's gateways: an emergency call from one of their analog
        # ports (a door phone) is taken with the site's main number.
        "gateways": sorted({str(g["address"]) for g in gateways if g.get("site") == site}),
        "national_prefix": prefixes[0] or national,
        "international_prefix": prefixes[1] or international,
        # Premium-rate ranges as dialled (validation: digits after the national prefix).
        "premium_prefixes": [str(p) for p in data.get("premium_prefixes") or []],
    }


def _route_data(routes: Mapping[str, list[dict[str, Any]]], peers: list[dict[str, Any]]) -> dict[str, Any]:
    """The dispatcher rows (PSTN routes, other sites' call servers), the route names of each kind, the gateways' URIs."""
    return {
        "dispatcher": dispatcher_rows(routes) + peer_dispatcher_rows(peers),
        # The PSTN routes of each kind, in order (names).
        "routes": {kind: [r["name"] for r in found] for kind, found in routes.items()},
        # Gateways get numbers in E.164 (their PRI dial-peers match +T).
        "gateway_uris": sorted(
            {r["uri"] for found in routes.values() for r in found if r["kind"] == "gateway"}
        ),
    }


def call_server_data(
    host: str,
    *,
    site: str,
    address: str,
    call_server: Mapping[str, Any],
    sites: Mapping[str, Any],
    users: Iterable[Mapping[str, Any]],
    hunt_groups: Iterable[Mapping[str, Any]] = (),
    trunks: Iterable[Mapping[str, Any]] = (),
    gateways: Iterable[Mapping[str, Any]] = (),
    peers: Iterable[Mapping[str, Any]] = (),
    cti_accounts: Iterable[Mapping[str, Any]] = (),
    cti_secrets: Mapping[str, str] | None = None,
    cti_rights_methods: Mapping[str, Iterable[str]] | None = None,
    trunk_secrets: Mapping[str, str] | None = None,
    trunk_register_expires: int = 600,
    tls_port: int = 5061,
    master_secret: str = "",
    voicemail_uri: str | None = None,
    today: Any = None,
    national_prefix: str | None = None,
    international_prefix: str | None = None,
) -> dict[str, Any]:
    """The data of call server ``host`` (homed at ``site``); see the module docstring.

    ``gateways`` and ``peers`` are dicts with ``name``, ``site`` and
    ``address`` (peers also ``port``, gateways ``fxs_extensions`` and
    ``pri_spans``, their number). ``trunk_secrets``: the trunks' passwords
    by the vault variable names of their ``credentials_ref``. Raises
    KamailioDataError naming the missing element.
    """
    day = as_date(today or datetime.date.today(), "today")
    if site not in sites:
        raise KamailioDataError(f"{host}: site {site!r} is not in voip_sites")
    domain = call_server.get("sip_domain")
    if not domain:
        raise KamailioDataError(f"{host}: voip_call_server.sip_domain is not set")
    trunks, gateways, peers, hunt_groups = list(trunks), list(gateways), list(peers), list(hunt_groups)
    local = _local(site, sites, gateways, (national_prefix, international_prefix))
    local_users = users_of_site(list(users), site)
    vm = VoicemailBox(voicemail_uri, domain)
    subscribers = subscriber_rows(local_users, domain, master_secret)
    aliases = alias_rows(local_users, hunt_groups, gateways, site=site, domain=domain)
    preferences = preference_rows(
        local_users, hunt_groups, day=day, site=site, site_data=sites[site], domain=domain, vm=vm
    )
    own_trunks = site_trunks(site, sites, trunks)
    trusted = trusted_rows(peers, gateways, own_trunks, site=site)
    routes = pstn_routes(site, sites, trunks, gateways)
    contact = {"address": address, "port": int(call_server.get("sip_port", 5060)), "tls_port": int(tls_port)}
    trunk_tables = trunk_data(routes, trunks, own_trunks, trunk_secrets or {}, domain=domain, contact=contact,
                              expires=trunk_register_expires)  # fmt: skip
    peer_rows = peer_ranges(peers, sites, site)
    cti, cti_credentials = cti_data(
        cti_accounts, host=host, site=site, cti_secrets=cti_secrets, rights_methods=cti_rights_methods
    )
    return {
        "site": site,
        "domain": domain,
        "address": address,
        "local": local,
        "peers": peer_rows,
        # The other call servers of this site (a pair): registrations are replicated with them.
        "site_members": site_members(peers, site),
        "peer_addresses": peer_addresses(trunks, gateways, peers),
        "voice_networks": voice_networks(sites),
        "subscribers": subscribers,
        "aliases": aliases,
        "preferences": preferences,
        "trusted": trusted,
        **_route_data(routes, peer_rows),
        **trunk_tables,
        "cti": cti,
        "cti_credentials": cti_credentials,
    }
