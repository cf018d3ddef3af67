"""What a Kamailio call server needs, derived from the estate model.

One function, ``call_server_data``, turns the model (sites, users, hunt
groups, trunks, gateways, CTI accounts, other call servers) into the data
the kamailio role renders and syncs: subscribers (HA1 only), aliases (DIDs
and hunt groups), per-user preferences (class of service on the day,
caller id, forwarding, DND, voicemail), trusted peers, dispatcher
destinations, CTI accounts, and the numbering of this and the other sites.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.derive import secrets
from voipctl.derive.users import as_date, effective_class_of_service, users_of_site

# Trusted peers are pinned by address, port and transport: one address
# group per transport (kamailio.cfg picks the group from the request's
# protocol). UDP peers are pinned to their SIP port too; TCP and TLS peers
# connect from ephemeral ports, so their rows match any port.
TRUSTED_GROUPS = {"udp": 1, "tcp": 2, "tls": 3}
TRUSTED_GROUP = TRUSTED_GROUPS["udp"]
# Every peer's address, any port and transport: a registered contact may
# never point there (kamailio.cfg refuses it at REGISTER and drops it at lookup).
PEER_HOSTS_GROUP = 9
DS_TRUNKS = 1
DS_GATEWAYS = 2


class KamailioDataError(ValueError):
    """The model lacks something a call server needs; the message names it."""


def _range(text: Any, what: str) -> tuple[int, int]:
    try:
        lo, hi = (int(p.strip().lstrip("+")) for p in str(text).split("-"))
    except ValueError as exc:
        raise KamailioDataError(f"{what}: {text!r} is not a range FROM-TO") from exc
    return lo, hi


def _trusted_rows(address: str, transport: str, port: int, tag: str) -> list[dict[str, Any]]:
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


def _voice_networks(sites: Mapping[str, Any]) -> list[str]:
    """Every site's voice subnets: where phones may register from (users roam between sites)."""
    return sorted({str(net) for site in sites.values() for net in (site.get("voice_subnets") or [])})


def _forward_target(target: Any, domain: str, voicemail_uri: str | None) -> str | None:
    """A forward target as the number to dial (extension or number), or None."""
    if target is None or target is False:
        return None
    if target == "voicemail":
        return None if voicemail_uri is None else "voicemail"
    return str(target)


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
    master_secret: str = "",
    voicemail_uri: str | None = None,
    today: Any = None,
    national_prefix: str = "0",
    international_prefix: str = "00",
) -> dict[str, Any]:
    """The data of call server ``host`` (homed at ``site``); see the module docstring.

    ``gateways`` and ``peers`` are dicts with ``name``, ``site`` and
    ``address`` (peers also ``port``, gateways ``fxs_extensions``). Raises KamailioDataError naming the
    missing element.
    """
    day = as_date(today or datetime.date.today(), "today")
    if site not in sites:
        raise KamailioDataError(f"{host}: site {site!r} is not in voip_sites")
    domain = call_server.get("sip_domain")
    if not domain:
        raise KamailioDataError(f"{host}: voip_call_server.sip_domain is not set")
    ext_from, ext_to = _range(sites[site].get("extensions"), f"voip_sites.{site}.extensions")
    users = list(users)
    trunks, gateways, peers = list(trunks), list(gateways), list(peers)
    local_users = users_of_site(users, site)

    subscribers, aliases, preferences = [], [], []
    for user in local_users:
        ext = str(user["extension"])
        password = secrets.sip_password(master_secret, user["id"], int(user.get("password_rotation", 0)))
        subscribers.append(
            {
                "username": ext,
                "domain": domain,
                "ha1": secrets.ha1(ext, domain, password),
                "ha1b": secrets.ha1b(ext, domain, domain, password),
            }
        )
        if user.get("did"):
            aliases.append(
                {"alias_username": user["did"], "alias_domain": domain, "username": ext, "domain": domain}
            )
        prefs = {"cos": effective_class_of_service(user, day)}
        if user.get("did"):
            prefs["did"] = user["did"]
        features = user.get("features") or {}
        if features.get("dnd"):
            prefs["dnd"] = "1"
        forwards = features.get("call_forward") or {}
        for key, attribute in (("unconditional", "cfu"), ("busy", "cfb"), ("no_answer", "cfna")):
            target = _forward_target(forwards.get(key), domain, voicemail_uri)
            if target == "voicemail":
                prefs["vm"] = str(voicemail_uri).format(extension=ext, domain=domain)
            elif target is not None:
                prefs[attribute] = target
        if features.get("voicemail") and voicemail_uri:
            prefs["vm"] = str(voicemail_uri).format(extension=ext, domain=domain)
        for attribute, value in sorted(prefs.items()):
            preferences.append(
                {"username": ext, "domain": domain, "attribute": attribute, "type": 0, "value": value}
            )

    by_id = {u["id"]: u for u in local_users}
    for group in hunt_groups:
        if group.get("site") != site:
            continue
        members = [
            str(u["extension"])
            for u in by_id.values()
            if group["id"] in ((u.get("features") or {}).get("hunt_groups") or [])
        ]
        numbers = [str(group["extension"])] + ([group["did"]] if group.get("did") else [])
        for number in numbers:
            for member in members:
                aliases.append(
                    {"alias_username": number, "alias_domain": domain, "username": member, "domain": domain}
                )

    trusted, dispatcher = [], []
    for peer in peers:
        trusted += _trusted_rows(peer["address"], "udp", peer.get("port", 5060), f"callserver:{peer['name']}")
    for gateway in gateways:
        if gateway.get("site") != site:
            continue
        # Gateway port maps: an FXS port's extension (fax, door phone,
        # analog phone) is an alias whose domain is the gateway's address;
        # the call server relays it there (route DIAL).
        for ext in gateway.get("fxs_extensions") or []:
            aliases.append(
                {
                    "alias_username": str(ext),
                    "alias_domain": domain,
                    "username": str(ext),
                    "domain": gateway["address"],
                }
            )
        trusted += _trusted_rows(gateway["address"], "udp", 5060, f"gateway:{gateway['name']}")
        dispatcher.append(
            {"setid": DS_GATEWAYS, "destination": f"sip:{gateway['address']}:5060", "flags": 0, "priority": 0,
             "attrs": "", "description": f"gateway {gateway['name']}"}
        )  # fmt: skip
    for trunk in trunks:
        if trunk.get("site") != site:
            continue
        port = trunk.get("port", 5060)
        transport = trunk.get("transport", "udp")
        trusted += _trusted_rows(trunk["address"], transport, port, f"trunk:{trunk['name']}")
        dispatcher.append(
            {"setid": DS_TRUNKS, "destination": f"sip:{trunk['address']}:{port};transport={transport}", "flags": 0,
             "priority": 0, "attrs": "", "description": f"trunk {trunk['name']} ({trunk.get('carrier', '')})"}
        )  # fmt: skip

    trusted = _unique_rows(trusted)
    # Every peer of the estate (any site): a located contact is never one of them.
    peer_addresses = sorted(
        {str(t["address"]) for t in trunks}
        | {str(g["address"]) for g in gateways}
        | {str(p["address"]) for p in peers}
    )
    peer_ranges = []
    for peer in peers:
        lo, hi = _range(
            sites.get(peer["site"], {}).get("extensions"), f"voip_sites.{peer['site']}.extensions"
        )
        peer_ranges.append({"name": peer["name"], "site": peer["site"], "address": peer["address"],
                            "port": peer.get("port", 5060), "ext_from": lo, "ext_to": hi})  # fmt: skip

    cti, cti_credentials = [], []
    rights_methods = cti_rights_methods or {}
    for account in cti_accounts:
        servers = account.get("call_servers")
        account_sites = account.get("sites")
        if (servers and host not in servers) or (account_sites and site not in account_sites):
            continue
        methods: set[str] = set()
        for right in account.get("rights", []):
            if right not in rights_methods:
                raise KamailioDataError(
                    f"CTI account {account['name']}: right {right!r} has no methods "
                    f"(known rights: {', '.join(sorted(rights_methods))})"
                )
            methods.update(rights_methods[right])
        ref = account.get("credentials_ref")
        secret = (cti_secrets or {}).get(ref) if ref else None
        if not secret:
            raise KamailioDataError(f"CTI account {account['name']}: its secret {ref!r} is not in the vault")
        cti.append(
            {"name": account["name"], "user": account["name"], "networks": list(account.get("source_networks", [])),
             "methods": sorted(methods)}
        )  # fmt: skip
        # The credential check's digest lives in the database (htable "cti"),
        # never in kamailio.cfg: a config diff must not carry credential material.
        cti_credentials.append(
            {"key_name": account["name"], "key_type": 0, "value_type": 0,
             "key_value": secrets.basic_digest(account["name"], secret), "expires": 0}
        )  # fmt: skip

    return {
        "site": site,
        "domain": domain,
        "address": address,
        "local": {
            "ext_from": ext_from,
            "ext_to": ext_to,
            "emergency": [str(n) for n in sites[site].get("emergency", [])],
            "national_prefix": national_prefix,
            "international_prefix": international_prefix,
        },
        "peers": peer_ranges,
        "peer_addresses": peer_addresses,
        "voice_networks": _voice_networks(sites),
        "subscribers": subscribers,
        "aliases": aliases,
        "preferences": preferences,
        "trusted": trusted,
        "dispatcher": dispatcher,
        "cti": cti,
        "cti_credentials": cti_credentials,
    }
