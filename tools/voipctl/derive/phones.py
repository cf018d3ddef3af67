"""What the provisioning server serves to desk phones, derived from the estate model.

``phone_data`` gives one entry per device of every active user: the MAC (bare
and with colons), vendor, model, the generation of its provisioning login
(the device's ``password_rotation``), firmware, the SIP account (user name = the
extension, password derived from the master secret as the call server's HA1
is, the SIP domain of the user's site and its call servers: ``servers``, the
primary first, then the backups; ``registrar`` and ``port`` name the primary
as before a site could have several), the site's
time, NTP and voice VLAN, the syslog target, and BLF line keys for the other
members of the user's hunt groups. ``phone_common`` gives the settings of the
"unassigned" profile a phone gets once its MAC is no longer in the model
(which MACs those are is decided once, by the module, from the files on the
provisioning server).

The module ``phone_files`` renders these entries on the provisioning server
(the collection's plugins/module_utils/voip_phone_templates.py); nothing here renders files.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voipctl.core.activity import active_features, active_users, as_date
from voipctl.core.passwords import user_sip_password

VENDORS = ("yealink", "polycom", "cisco", "snom")
_HEX12 = re.compile(r"^[0-9a-f]{12}$")


class PhoneDataError(ValueError):
    """The model lacks something a phone needs; the message names the element."""


def bare_mac(mac: Any, what: str = "MAC") -> str:
    """``80:5E:C0:12:34:56`` (or with dashes, dots, or none) as ``805ec0123456``."""
    text = re.sub(r"[:\-. ]", "", str(mac)).lower()
    if not _HEX12.match(text):
        raise PhoneDataError(f"{what}: {mac!r} is not a MAC address (12 hex digits)")
    return text


def colon_mac(bare: str) -> str:
    """``805ec0123456`` as ``80:5e:c0:12:34:56``."""
    return ":".join(bare[i : i + 2] for i in range(0, 12, 2))


def utc_offset_minutes(timezone: str, what: str = "timezone") -> int:
    """Standard (winter) offset of an IANA zone from UTC in minutes; phones apply DST themselves."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PhoneDataError(f"{what}: {timezone!r} is not a known IANA time zone") from exc
    year = datetime.date.today().year
    offsets = []
    for month in (1, 7):
        offset = datetime.datetime(year, month, 1, 12, tzinfo=zone).utcoffset()
        offsets.append(int(offset.total_seconds() // 60) if offset else 0)
    return min(offsets)


def _site_settings(sites: Mapping[str, Any], site: str, what: str) -> dict[str, Any]:
    if site not in sites:
        raise PhoneDataError(f"{what}: site {site!r} is not in voip_sites")
    data = sites[site] or {}
    timezone = data.get("timezone")
    if not timezone:
        raise PhoneDataError(f"voip_sites.{site}.timezone is not set")
    return {
        "timezone": timezone,
        "utc_offset_minutes": utc_offset_minutes(timezone, f"voip_sites.{site}.timezone"),
        "ntp_servers": [str(s) for s in data.get("ntp_servers") or []],
        "voice_vlan": data.get("voice_vlan"),
    }


def firmware(
    model_name: str,
    phone_models: Mapping[str, Any],
    release: Mapping[str, Any] | None,
    provisioning_url: str,
    site: str | None = None,
) -> dict[str, str]:
    """Firmware version and URL of a model (for the phones of ``site``).

    The version is the model's ``firmware``, unless the release manifest's
    ``components`` names the model (``voip_release.components.yealink-t54w``),
    which then wins: a firmware roll-out is a release like any other. When
    the manifest has ``firmware_sites``, only those sites' phones take its
    version; the others keep the model's (a roll-out site by site).
    """
    model = phone_models[model_name]
    release = release or {}
    components = release.get("components") or {}
    rolled_out = release.get("firmware_sites")
    if rolled_out is not None and site not in rolled_out:
        components = {}
    version = str(components.get(model_name) or model.get("firmware") or "")
    if not version:
        raise PhoneDataError(f"voip_phone_models.{model_name}: no firmware version")
    url = f"{provisioning_url.rstrip('/')}/firmware/{model['vendor']}/{model_name}/{version}"
    return {"version": version, "url": url}


def _model(phone_models: Mapping[str, Any], name: Any, what: str) -> Mapping[str, Any]:
    if name not in phone_models:
        raise PhoneDataError(
            f"{what}: unknown phone model {name!r} (known: {', '.join(sorted(phone_models)) or 'none'})"
        )
    model = phone_models[name]
    if model.get("vendor") not in VENDORS:
        raise PhoneDataError(
            f"voip_phone_models.{name}.vendor: {model.get('vendor')!r} is not one of {', '.join(VENDORS)}"
        )
    return model


def _servers_by_site(call_servers: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The call servers of each site by name: the first is its phones' primary, the next ones its backups."""
    by_site: dict[str, list[Mapping[str, Any]]] = {}
    for server in sorted(call_servers, key=lambda s: str(s.get("name"))):
        by_site.setdefault(server.get("site"), []).append(server)
    return by_site


def phone_data(
    *,
    sites: Mapping[str, Any],
    users: Iterable[Mapping[str, Any]],
    phone_models: Mapping[str, Any],
    call_servers: Iterable[Mapping[str, Any]],
    release: Mapping[str, Any] | None,
    master_secret: str,
    provisioning_url: str,
    syslog_server: str | None = None,
    today: Any = None,
) -> list[dict[str, Any]]:
    """One entry per device of every active user, in directory order (see the module docstring).

    ``call_servers`` are dicts with ``name``, ``site``, ``address`` (its
    ``ansible_host``), ``sip_domain`` and optionally ``sip_port``; a site's
    servers share its SIP domain, the first by name is the primary. ``today``
    decides time-bound features (grants). BLF keys go to the other active
    members of the user's hunt groups homed at the same site (the same
    registrar), by extension, as many as the model has line keys beyond the
    first (the user's own line). Raises PhoneDataError naming the element.
    """
    day = as_date(today or datetime.date.today(), "today")
    if not provisioning_url:
        raise PhoneDataError("provisioning_url is not set")
    servers = _servers_by_site(call_servers)
    active = active_users(users)
    members, features_of = _hunt_members(active, day)
    settings = {"phone_models": phone_models, "release": release, "provisioning_url": provisioning_url,
                "syslog_server": syslog_server, "sites": {}, "seen": {}}  # fmt: skip
    entries: list[dict[str, Any]] = []
    for user in active:
        devices = user.get("devices") or []
        if not devices:
            continue
        line = _user_line(user, sites, servers, master_secret, settings["sites"])
        line["blf"] = _blf_keys(user["id"], line["site"], features_of[user["id"]], members)
        for j, device in enumerate(devices):
            entries.append(_device_entry(user, f"user {user['id']} devices[{j}]", device, line, settings))
    return entries


def _hunt_members(active: list[Mapping[str, Any]], day: datetime.date) -> tuple[dict, dict]:
    """(members of each (site, hunt group), active features of each user id) on ``day``."""
    members: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    features_of: dict[str, dict[str, Any]] = {}
    for user in active:
        features = active_features(user, day)
        features_of[user["id"]] = features
        for group in features.get("hunt_groups") or []:
            members.setdefault((user.get("site"), group), []).append(user)
    return members, features_of


def _user_line(
    user: Mapping[str, Any],
    sites: Mapping[str, Any],
    servers: Mapping[str, list[Mapping[str, Any]]],
    master_secret: str,
    site_cache: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A user's line: site, extension, SIP password, call servers (primary first) and domain (site settings cached)."""
    uid = user["id"]
    site = user.get("site")
    what = f"user {uid}"
    if site not in site_cache:
        site_cache[site] = _site_settings(sites, site, what)
    members = servers.get(site)
    if not members:
        raise PhoneDataError(f"{what}: site {site!r} has no call server (group call_servers)")
    # The members share the domain (validation's rule); the primary's is the phone's.
    domain = members[0].get("sip_domain")
    if not domain:
        raise PhoneDataError(f"call server {members[0].get('name')}: voip_call_server.sip_domain is not set")
    ext = str(user["extension"])
    password = user_sip_password(master_secret, user)
    proxies = [{"address": m["address"], "port": int(m.get("sip_port") or 5060)} for m in members]
    return {"site": site, "ext": ext, "password": password, "servers": proxies, "domain": domain}


def _blf_keys(uid: str, site: Any, features: Mapping[str, Any], members: dict) -> list[tuple]:
    """(extension, user) of the other members of the user's hunt groups at ``site``, by extension."""
    blf: dict[str, Mapping[str, Any]] = {}
    for group in features.get("hunt_groups") or []:
        for other in members.get((site, group), []):
            if other["id"] != uid:
                blf.setdefault(str(other["extension"]), other)
    return sorted(blf.items(), key=lambda item: (len(item[0]), item[0]))


def _device_entry(
    user: Mapping[str, Any], dwhat: str, device: Mapping[str, Any], line: dict, settings: dict
) -> dict[str, Any]:
    """The entry of one device of a user; ``settings`` has the models, release, URLs and seen MACs."""
    phone_models, seen = settings["phone_models"], settings["seen"]
    uid, site, ext, proxies = user["id"], line["site"], line["ext"], line["servers"]
    model_name = device.get("model")
    model = _model(phone_models, model_name, dwhat)
    mac = bare_mac(device.get("mac"), f"{dwhat}.mac")
    if mac in seen:
        raise PhoneDataError(f"{dwhat}: MAC {colon_mac(mac)} is already a device of user {seen[mac]}")
    seen[mac] = uid
    room = max(int(model.get("line_keys", 1)) - 1, 0)
    rotation = device.get("password_rotation", 0)
    if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation < 0:
        raise PhoneDataError(f"{dwhat}.password_rotation: {rotation!r} is not a whole number, 0 or more")
    return {
        "mac": mac,
        "mac_colon": colon_mac(mac),
        "vendor": model["vendor"],
        "model": model_name,
        "user": uid,
        "site": site,
        "display_name": str(user.get("name") or ext),
        "extension": ext,
        # The generation of the phone's provisioning login (the module derives the password).
        "login_rotation": rotation,
        "firmware": firmware(
            model_name, phone_models, settings["release"], settings["provisioning_url"], site
        ),
        "account": {
            "username": ext,
            "auth_name": ext,
            "password": line["password"],
            "domain": line["domain"],
            # The primary, as before sites had several call servers.
            "registrar": proxies[0]["address"],
            "port": proxies[0]["port"],
            # Every call server of the site, the primary first: the phone's proxies.
            "servers": [dict(proxy) for proxy in proxies],
        },
        **settings["sites"][site],
        "syslog_server": settings["syslog_server"] or None,
        "line_keys": [
            {"type": "blf", "extension": number, "label": str(other.get("name") or number)}
            for number, other in line["blf"][:room]
        ],
    }


def phone_common(
    *,
    sites: Mapping[str, Any],
    phone_models: Mapping[str, Any],
    release: Mapping[str, Any] | None,
    provisioning_url: str,
    syslog_server: str | None = None,
    default_site: str | None = None,
) -> dict[str, Any]:
    """Settings of the "unassigned" profile (module phone_files, option ``common``).

    Per site (time, NTP, voice VLAN) and per model (firmware); a phone keeps
    the site and model its last profile named. ``default_site`` (else the
    first site by name) serves phones whose site is unknown.
    """
    if not sites:
        raise PhoneDataError("voip_sites is empty")
    for name in phone_models:
        _model(phone_models, name, f"voip_phone_models.{name}")
    default = default_site or sorted(sites)[0]
    if default not in sites:
        raise PhoneDataError(f"default_site {default!r} is not in voip_sites")
    per_site = {site: _site_settings(sites, site, f"voip_sites.{site}") for site in sorted(sites)}
    images: dict[tuple[str, str], dict[str, str]] = {}
    for site, settings in per_site.items():
        settings["firmware"] = {}
        for name in sorted(phone_models):
            found = {
                "vendor": phone_models[name]["vendor"],
                **firmware(name, phone_models, release, provisioning_url, site),
            }
            settings["firmware"][name] = found
            images[(name, found["version"])] = {
                "model": name,
                "vendor": found["vendor"],
                "version": found["version"],
            }
    return {
        **{k: v for k, v in per_site[default].items() if k != "firmware"},
        "syslog_server": syslog_server or None,
        "sites": per_site,
        # Per model, the default site's version (phones whose site is unknown).
        "firmware": per_site[default]["firmware"],
        # Every firmware image some site's phones are told to fetch.
        "firmware_images": [images[key] for key in sorted(images)],
    }
