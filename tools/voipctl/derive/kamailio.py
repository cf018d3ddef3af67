"""What a Kamailio call server needs, derived from the estate model.

One function, ``call_server_data``, turns the model (sites, users, hunt
groups, trunks, gateways, CTI accounts, other call servers) into the data
the kamailio role renders and syncs: subscribers (HA1 only), aliases (DIDs
and hunt groups), per-user preferences (class of service on the day,
caller id, forwarding, DND, voicemail), trusted peers, dispatcher
destinations, the trunks' accounts (credentials and registrations: the uac
module's ``uacreg`` table), CTI accounts, and the numbering of this and the
other sites.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.activity import active_features, as_date, effective_class_of_service, users_of_site
from voipctl.core.passwords import user_sip_password
from voipctl.derive import secrets

# Trusted peers are pinned by address, port and transport: one address
# group per transport (kamailio.cfg picks the group from the request's
# protocol). UDP peers are pinned to their SIP port too; TCP and TLS peers
# connect from ephemeral ports, so their rows match any port.
TRUSTED_GROUPS = {"udp": 1, "tcp": 2, "tls": 3}
TRUSTED_GROUP = TRUSTED_GROUPS["udp"]
# Every peer's address, any port and transport: a registered contact may
# never point there (kamailio.cfg refuses it at REGISTER and drops it at lookup).
PEER_HOSTS_GROUP = 9
# Dispatcher sets: the PSTN routes of each kind of call, tried in order
# (highest priority first; kamailio.cfg selects with algorithm 8 and fails
# over to the next route on a timeout or a server failure).
ROUTE_SETS = {"national": 10, "international": 11, "emergency": 12}


# How a site's users dial the PSTN, by the site's country calling code
# (country_code): the national (trunk) prefix and the international
# prefix. Most of the world dials 0 and 00; the exceptions the estate
# may meet are listed.
DIAL_PREFIXES = {"1": ("1", "011"), "7": ("8", "810"), "61": ("0", "0011"), "81": ("0", "010")}


def dial_prefixes(country_code: Any) -> tuple[str, str]:
    """(national prefix, international prefix) of a site with ``country_code`` (none: 0 and 00)."""
    return DIAL_PREFIXES.get(str(country_code or ""), ("0", "00"))


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


class _VoicemailBox:
    """The voicemail URI of a mailbox number (None: the estate has no voicemail)."""

    def __init__(self, template: str | None, domain: str):
        self.template, self.domain = template, domain

    def __call__(self, number: str) -> str | None:
        if not self.template:
            return None
        return str(self.template).format(extension=number, domain=self.domain)


def _user_preferences(
    user: Mapping[str, Any], day: datetime.date, site: Mapping[str, Any], vm: _VoicemailBox
) -> dict[str, str]:
    """A user's call handling on ``day``: class of service, caller id, forwards, no-answer timeout, voicemail.

    Features come from ``active_features``: a grant (voicemail) changes what
    the permanent feature changes, up to and including its ``until`` day.
    """
    ext = str(user["extension"])
    prefs = {"cos": effective_class_of_service(user, day)}
    if user.get("did"):
        prefs["did"] = user["did"]
    # The caller id towards the PSTN and the emergency callback number.
    cli = user.get("did") or site.get("main_number")
    if cli:
        prefs["cli"] = cli
    features = active_features(user, day)
    if features.get("dnd"):
        prefs["dnd"] = "1"
    forwards = features.get("call_forward") or {}
    for key, attribute in (("unconditional", "cfu"), ("busy", "cfb"), ("no_answer", "cfna")):
        target = forwards.get(key)
        if target is None or target is False:
            continue
        if target == "voicemail":
            if vm(ext):
                prefs["vm"] = vm(ext)
        else:
            prefs[attribute] = str(target)
    if forwards.get("no_answer_timeout"):
        prefs["nat"] = str(int(forwards["no_answer_timeout"]) * 1000)
    if features.get("voicemail") and vm(ext):
        prefs["vm"] = vm(ext)
    return prefs


def _preference_rows(username: str, domain: str, prefs: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"username": username, "domain": domain, "attribute": attribute, "type": 0, "value": value}
        for attribute, value in sorted(prefs.items())
    ]


def _hunt_group(
    group: Mapping[str, Any], local_users: list[Mapping[str, Any]], domain: str, vm: _VoicemailBox
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A hunt group's aliases (its DID) and the preferences kamailio.cfg hunts by.

    ``hg`` the strategy, ``hgm`` the members' extensions in directory order
    (comma-separated) and ``hgn`` their number, ``hgt`` the ring timeout
    per member (ms), and the overflow when nobody answers: ``hgvm`` (the
    group's mailbox) or ``hgo`` (a number dialled again).
    """
    ext = str(group["extension"])
    members = [
        str(u["extension"])
        for u in local_users
        if group["id"] in ((u.get("features") or {}).get("hunt_groups") or [])
    ]
    prefs = {"hg": str(group.get("strategy", "ring_all")), "hgn": str(len(members))}
    if members:
        prefs["hgm"] = ",".join(members)
    if group.get("ring_timeout"):
        prefs["hgt"] = str(int(group["ring_timeout"]) * 1000)
    overflow = group.get("overflow")
    if overflow == "voicemail":
        if vm(ext):
            prefs["hgvm"] = vm(ext)
    elif overflow is not None and overflow is not False:
        prefs["hgo"] = str(overflow)
    aliases = []
    if group.get("did"):
        aliases.append(
            {"alias_username": group["did"], "alias_domain": domain, "username": ext, "domain": domain}
        )
    return aliases, prefs


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
    lo, hi = _range(site.get("dids"), "dids")
    for text in trunk.get("did_ranges") or ():
        tlo, thi = _range(text, "did_ranges")
        if tlo <= hi and lo <= thi:
            return True
    return False


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
        return {"name": trunk["name"], "uri": _trunk_uri(trunk), "kind": "trunk"}

    routes = {
        cos: [as_route(t) for t in own if cos in (t.get("classes_of_service") or ())] + pri
        for cos in ("national", "international")
    }
    others = [t for t in trunks if t not in own and _carries_site(t, sites[site])]
    routes["emergency"] = [as_route(t) for t in own] + pri + [as_route(t) for t in others]
    return routes


def _trunk_uri(trunk: Mapping[str, Any]) -> str:
    transport = trunk.get("transport", "udp")
    return f"sip:{trunk['address']}:{trunk.get('port', 5060)};transport={transport}"


# uacreg flags: a trunk that does not register has its registration disabled
# (and expires 0: the uac module sends no REGISTER for it); its row only
# holds the credentials the call server answers the carrier's challenges with.
UAC_REG_DISABLED = 1


def _contact_address(address: str, port: int, tls_port: int, transport: str) -> str:
    """Where a carrier reaches this call server over ``transport`` (a Contact's host part, no ``sip:``)."""
    if transport == "tls":
        return f"{address}:{tls_port};transport=tls"
    return f"{address}:{port}" + (";transport=tcp" if transport == "tcp" else "")


# RPC methods no CTI right may grant: uac.* prints and changes the trunks'
# accounts (passwords included), htable.* the CTI credential digests and the
# drain flag, cfg.* the running settings.
CTI_DENIED_RPC = ("uac.", "htable.", "cfg.")


def _trunk_accounts(
    routed: list[Mapping[str, Any]],
    registering: set[str],
    secrets_by_ref: Mapping[str, str],
    *,
    domain: str,
    contact: Mapping[str, Any],
    expires: int,
) -> list[dict[str, Any]]:
    """uacreg rows: the account of every trunk this call server routes calls to.

    ``l_uuid`` is the trunk's name (the user part of the registered Contact,
    and the key kamailio.cfg finds the credentials by when the carrier
    challenges a call); the user is the trunk's ``username`` (default: its
    name) at its address; the password the vault variable
    ``credentials_ref`` holds (the only secret of the row: column
    ``auth_password``). Trunks in ``registering`` register every
    ``expires`` seconds; the others never (expires 0, disabled).
    """
    rows = []
    for trunk in routed:
        ref = trunk.get("credentials_ref")
        secret = secrets_by_ref.get(ref) if ref else None
        if not secret:
            raise KamailioDataError(f"trunk {trunk['name']}: its secret {ref!r} is not in the vault")
        if not isinstance(secret, str):
            # YAML made a number of it (0044 is 36): the carrier would get another password.
            raise KamailioDataError(f"trunk {trunk['name']}: {ref} is not a string: quote it in the vault")
        user = str(trunk.get("username") or trunk["name"])
        registers = trunk["name"] in registering
        transport = trunk.get("transport", "udp")
        rows.append(
            {"l_uuid": trunk["name"], "l_username": user, "l_domain": domain, "r_username": user,
             "r_domain": str(trunk["address"]), "realm": str(trunk.get("realm") or ""), "auth_username": user,
             "auth_password": str(secret), "auth_proxy": _trunk_uri(trunk),
             "expires": int(expires) if registers else 0, "flags": 0 if registers else UAC_REG_DISABLED,
             "reg_delay": 0,
             "contact_addr": _contact_address(contact["address"], contact["port"], contact["tls_port"], transport)}
        )  # fmt: skip
    return rows


def _trunk_data(
    routes: Mapping[str, list[dict[str, Any]]],
    trunks: list[Mapping[str, Any]],
    own_trunks: list[Mapping[str, Any]],
    secrets_by_ref: Mapping[str, str],
    *,
    domain: str,
    contact: Mapping[str, Any],
    expires: int,
) -> dict[str, Any]:
    """The trunks a call server sends calls to, and the ones it registers with.

    ``pstn_trunks``: each route's destination names its trunk (whose account
    answers the carrier's challenges) and the channels it carries at most
    (0: no limit; kamailio.cfg counts calls per trunk). ``registered_trunks``:
    the site's own trunks (trusted for inbound calls) whose model says
    ``register: true``; a call to their registered Contact (user: the
    trunk's name) is for the number in its To header. ``trunk_accounts``:
    the uacreg rows (``_trunk_accounts``).
    """
    by_name = {t["name"]: t for t in trunks}
    names = dict.fromkeys(r["name"] for found in routes.values() for r in found if r["kind"] == "trunk")
    routed = [by_name[n] for n in names]
    registering = {t["name"] for t in own_trunks if t.get("register")}
    return {
        "pstn_trunks": [
            {"name": t["name"], "destination": _trunk_uri(t), "channels": int(t.get("channels") or 0)}
            for t in routed
        ],
        "registered_trunks": [
            {"name": t["name"], "address": str(t["address"])} for t in own_trunks if t["name"] in registering
        ],
        "trunk_accounts": _trunk_accounts(
            routed, registering, secrets_by_ref, domain=domain, contact=contact, expires=expires
        ),
    }


def _route_rows(routes: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Dispatcher rows: one set per kind of call, the first route with the highest priority."""
    rows = []
    for kind, found in routes.items():
        for i, route in enumerate(found):
            rows.append(
                {"setid": ROUTE_SETS[kind], "destination": route["uri"], "flags": 0, "priority": len(found) - i,
                 "attrs": f"{route['kind']}={route['name']}", "description": f"{kind}: {route['kind']} {route['name']}"}
            )  # fmt: skip
    return rows


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
    ext_from, ext_to = _range(sites[site].get("extensions"), f"voip_sites.{site}.extensions")
    users = list(users)
    trunks, gateways, peers = list(trunks), list(gateways), list(peers)
    local_users = users_of_site(users, site)
    vm = _VoicemailBox(voicemail_uri, domain)
    national, international = dial_prefixes(sites[site].get("country_code"))

    subscribers, aliases, preferences = [], [], []
    for user in local_users:
        ext = str(user["extension"])
        password = user_sip_password(master_secret, user)
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
        prefs = _user_preferences(user, day, sites[site], vm)
        preferences += _preference_rows(ext, domain, prefs)

    for group in hunt_groups:
        if group.get("site") != site:
            continue
        group_aliases, group_prefs = _hunt_group(group, local_users, domain, vm)
        aliases += group_aliases
        preferences += _preference_rows(str(group["extension"]), domain, group_prefs)

    trusted: list[dict[str, Any]] = []
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
    own_trunks = site_trunks(site, sites, trunks)
    for trunk in own_trunks:
        port = trunk.get("port", 5060)
        transport = trunk.get("transport", "udp")
        trusted += _trusted_rows(trunk["address"], transport, port, f"trunk:{trunk['name']}")
    routes = pstn_routes(site, sites, trunks, gateways)
    dispatcher = _route_rows(routes)
    contact = {"address": address, "port": int(call_server.get("sip_port", 5060)), "tls_port": int(tls_port)}
    trunk_data = _trunk_data(routes, trunks, own_trunks, trunk_secrets or {}, domain=domain, contact=contact,
                             expires=trunk_register_expires)  # fmt: skip
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
        exposing = sorted(m for m in methods if str(m).startswith(CTI_DENIED_RPC))
        if exposing:
            raise KamailioDataError(
                f"CTI account {account['name']}: methods {', '.join(exposing)} show or change the call "
                "server's accounts and secrets (trunk passwords, CTI credentials, settings): no CTI right grants them"
            )
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
            "country_code": str(sites[site].get("country_code") or ""),
            "main_number": str(sites[site].get("main_number") or ""),
            # The site's gateways: an emergency call from one of their analog
            # ports (a door phone) is taken with the site's main number.
            "gateways": sorted({str(g["address"]) for g in gateways if g.get("site") == site}),
            "national_prefix": national_prefix or national,
            "international_prefix": international_prefix or international,
        },
        "peers": peer_ranges,
        "peer_addresses": peer_addresses,
        "voice_networks": _voice_networks(sites),
        "subscribers": subscribers,
        "aliases": aliases,
        "preferences": preferences,
        "trusted": trusted,
        "dispatcher": dispatcher,
        # The PSTN routes of each kind, in order (names).
        "routes": {kind: [r["name"] for r in found] for kind, found in routes.items()},
        # Gateways get numbers in E.164 (their PRI dial-peers match +T).
        "gateway_uris": sorted(
            {r["uri"] for found in routes.values() for r in found if r["kind"] == "gateway"}
        ),
        **trunk_data,
        "cti": cti,
        "cti_credentials": cti_credentials,
    }
