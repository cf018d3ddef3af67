"""Provisioning files of desk phones, rendered in plain Python (standard library only).

Runs on the provisioning server (module phone_files). ``render(entry)``
turns one entry of voipctl.derive.phones.phone_data into the files its phone
requests, ``render_unassigned(vendor, mac, common)`` gives the profile of a
phone whose MAC is no longer in the model (no account; time, VLAN, syslog,
firmware and the display text "unassigned"), ``render_common()`` the shared
files. File names, as the phones request them from the server's root:

- Yealink: ``<mac>.cfg`` (key = value, ``#!version:1.0.0.1``) and the common ``y000000000000.cfg``.
- Polycom: ``<mac>.cfg`` (XML ``PHONE_CONFIG``) and the master ``000000000000.cfg``
  (``CONFIG_FILES="[MACADDRESS].cfg"``).
- Cisco 3PCC (MPP): ``<mac>.xml``, a ``<flat-profile>``; the phones' profile rule
  must be ``http(s)://SERVER/$MA.xml`` (their factory rule asks for ``$PSN.xml``).
- Snom: ``<mac>.xml`` (``<settings><phone-settings>``).

Yealink and Polycom share ``<mac>.cfg``, Cisco and Snom ``<mac>.xml``: a MAC
belongs to one phone, so names never collide. The second line of every file
is a marker (``voip-estate: vendor=... model=... site=...``) that tells the
module which vendor, model and site an orphaned file was for.

Every value is stripped of line breaks and control characters; XML text and
attributes are escaped (xml.sax.saxutils). Each setting stands on its own
line, so a line-wise comparison names the changed keys (``changed_keys``).

An account's ``servers`` are its site's call servers, the primary first. With
one, a file names the SIP domain as server and the call server as outbound
proxy; with a backup, each vendor's failover settings and timers
(voip_phone_failover) name the primary and the backup.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.voip.estate.plugins.module_utils import voip_phone_failover as failover

YEALINK_COMMON = "y000000000000.cfg"
POLYCOM_MASTER = "000000000000.cfg"
EXTENSIONS = {"yealink": "cfg", "polycom": "cfg", "cisco": "xml", "snom": "xml"}
UNASSIGNED = "unassigned"
MARKER = "voip-estate:"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MARKER_FIELDS = re.compile(r"(\w+)=([\w.\-]+)")
_KEY_VALUE = re.compile(r"^\s*([\w.\-\[\]]+)\s*=")
_ELEMENT = re.compile(r"^\s*<([\w\-]+)(?:\s+idx=\"(\d+)\")?")


class TemplateError(ValueError):
    """An entry cannot be rendered (unknown vendor, missing field); the message names it."""


def clean(value):
    """A value as one line of text: None as empty, control characters (CR, LF, ...) as one space."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return _CONTROL.sub(" ", str(value)).strip()


def _x(value):
    return escape(clean(value))


def _a(value):
    return quoteattr(clean(value))


def _offset(minutes, sep=":"):
    """UTC offset as ``+1``/``+3:30`` (sep ":") parts: sign, hours, minutes."""
    minutes = int(minutes or 0)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return sign, hours, mins


def marker(vendor, model, site, user=None, login=0, retired=None):
    """The marker text (no comment syntax): vendor, model, site and, if assigned, the user.

    ``login``: the generation of the phone's provisioning login (its
    ``password_rotation``), named only once raised, so that a rotation
    changes that phone's file and no other. ``retired``: the day
    (YYYY-MM-DD) the MAC left the model, on an unassigned profile.
    """
    fields = [f"vendor={clean(vendor)}", f"model={clean(model)}", f"site={clean(site)}"]
    fields.append(f"user={clean(user)}" if user else f"user={UNASSIGNED}")
    if login:
        fields.append(f"login={int(login)}")
    if retired:
        fields.append(f"retired={clean(retired)}")
    return f"{MARKER} {' '.join(fields)}"


def read_marker(text):
    """The marker fields of a rendered file (``vendor``, ``model``, ``site``, ``user``), or {}."""
    head = text[:512]
    at = head.find(MARKER)
    if at < 0:
        return {}
    line = head[at:].split("\n", 1)[0]
    return dict(_MARKER_FIELDS.findall(line))


def sniff_vendor(name, text):
    """Vendor of a per-MAC file: its marker, else its syntax and name; None when unknown."""
    vendor = read_marker(text).get("vendor")
    if vendor in EXTENSIONS:
        return vendor
    head = text[:512].lstrip()
    if name.endswith(".cfg"):
        if head.startswith("#!version"):
            return "yealink"
        if head.startswith("<"):
            return "polycom"
    elif name.endswith(".xml"):
        if "<flat-profile" in head:
            return "cisco"
        if "<settings" in head:
            return "snom"
    return None


def changed_keys(before, after):
    """Setting names (never values) on lines that differ between two renderings, sorted."""
    old, new = set(before.splitlines()), set(after.splitlines())
    keys = set()
    for line in old.symmetric_difference(new):
        match = _KEY_VALUE.match(line)
        if match:
            keys.add(match.group(1))
            continue
        match = _ELEMENT.match(line)
        if match:
            keys.add(match.group(1) + (f"[{match.group(2)}]" if match.group(2) else ""))
        elif MARKER in line:
            keys.add("marker")
    return sorted(keys)


# -- Yealink ------------------------------------------------------------------


def _yealink(settings, account=None, display=None, line_keys=(), label=None):
    sign, hours, mins = _offset(settings.get("utc_offset_minutes"))
    vlan = settings.get("voice_vlan")
    ntp = list(settings.get("ntp_servers") or [])
    lines = [
        "#!version:1.0.0.1",
        f"## {settings['_marker']}",
        f"local_time.time_zone = {sign}{hours}" + (f":{mins:02d}" if mins else ""),
        f"local_time.time_zone_name = {clean(settings.get('timezone'))}",
        "local_time.manual_ntp_srv_prior = 1",
        f"local_time.ntp_server1 = {clean(ntp[0] if ntp else '')}",
        f"local_time.ntp_server2 = {clean(ntp[1] if len(ntp) > 1 else '')}",
        f"network.vlan.internet_port.enable = {1 if vlan else 0}",
        f"network.vlan.internet_port.vid = {clean(vlan or 1)}",
        f"syslog.mode = {1 if settings.get('syslog_server') else 0}",
        f"syslog.server = {clean(settings.get('syslog_server'))}",
        f"firmware.url = {clean(settings.get('firmware_url'))}",
    ]
    if account is None:
        lines += [
            "account.1.enable = 0",
            f"account.1.label = {UNASSIGNED}",
            f"account.1.display_name = {UNASSIGNED}",
            f"phone_setting.lcd_logo.text = {UNASSIGNED}",
        ]
    else:
        lines += [
            "account.1.enable = 1",
            f"account.1.label = {clean(label)}",
            f"account.1.display_name = {clean(display)}",
            f"account.1.auth_name = {clean(account['auth_name'])}",
            f"account.1.user_name = {clean(account['username'])}",
            f"account.1.password = {clean(account['password'])}",
            f"account.1.sip_server.1.address = {clean(account['domain'])}",
            f"account.1.sip_server.1.port = {clean(account['port'])}",
        ]
        proxies = failover.servers(account)
        if len(proxies) > 1:
            lines += [f"{key} = {clean(value)}" for key, value in failover.yealink(proxies)]
        else:
            lines += [
                "account.1.outbound_proxy_enable = 1",
                f"account.1.outbound_proxy.1.address = {clean(proxies[0][0])}",
                f"account.1.outbound_proxy.1.port = {clean(proxies[0][1])}",
            ]
        lines += ["linekey.1.type = 15", "linekey.1.line = 1"]
        for n, key in enumerate(line_keys, start=2):
            lines += [
                f"linekey.{n}.type = 16",
                f"linekey.{n}.line = 1",
                f"linekey.{n}.value = {clean(key['extension'])}",
                f"linekey.{n}.label = {clean(key['label'])}",
            ]
    return "\n".join(lines) + "\n"


def _yealink_common():
    return "\n".join(
        [
            "#!version:1.0.0.1",
            f"## {MARKER} common file of all Yealink phones; per-phone settings are in <mac>.cfg",
            "auto_provision.mode = 1",
            "static.auto_provision.custom.protect = 1",
            "",
        ]
    )


# -- Polycom ------------------------------------------------------------------


def _polycom(settings, account=None, display=None, line_keys=(), label=None):
    vlan = settings.get("voice_vlan")
    ntp = list(settings.get("ntp_servers") or [])
    attrs = [
        ("device.set", 1),
        ("device.net.vlanId.set", 1),
        ("device.net.vlanId", vlan or ""),
        ("device.sntp.serverName.set", 1),
        ("device.sntp.serverName", ntp[0] if ntp else ""),
        ("tcpIpApp.sntp.address", ntp[0] if ntp else ""),
        ("tcpIpApp.sntp.address.overrideDHCP", 1),
        ("tcpIpApp.sntp.gmtOffset", int(settings.get("utc_offset_minutes") or 0) * 60),
        ("device.syslog.serverName.set", 1),
        ("device.syslog.serverName", settings.get("syslog_server") or ""),
        ("upgrade.custom.server.url", settings.get("firmware_url") or ""),
    ]
    if account is None:
        attrs += [("reg.1.address", ""), ("reg.1.label", UNASSIGNED), ("up.welcomeSoundEnabled", 0),
                  ("up.idleViewText", UNASSIGNED)]  # fmt: skip
    else:
        proxies = failover.servers(account)
        pair = len(proxies) > 1
        attrs += [
            ("reg.1.address", failover.polycom_address(account) if pair else account["username"]),
            ("reg.1.displayName", display),
            ("reg.1.label", label),
            ("reg.1.auth.userId", account["auth_name"]),
            ("reg.1.auth.password", account["password"]),
        ]
        if pair:
            attrs += failover.polycom(proxies)
        else:
            attrs += [("reg.1.server.1.address", account["domain"]), ("reg.1.server.1.port", account["port"]),
                      ("reg.1.outboundProxy.address", proxies[0][0]), ("reg.1.outboundProxy.port", proxies[0][1])]  # fmt: skip
        for n, key in enumerate(line_keys, start=1):
            attrs += [
                (
                    f"attendant.resourceList.{n}.address",
                    f"{clean(key['extension'])}@{clean(account['domain'])}",
                ),
                (f"attendant.resourceList.{n}.label", key["label"]),
                (f"attendant.resourceList.{n}.type", "normal"),
            ]
    body = "\n".join(f"    {name}={_a(value)}" for name, value in attrs)
    return (
        f"{XML_HEAD}<!-- {settings['_marker']} -->\n<PHONE_CONFIG>\n  <ALL\n{body}\n  />\n</PHONE_CONFIG>\n"
    )


def _polycom_master():
    attrs = {
        "APP_FILE_PATH": "",
        "CONFIG_FILES": "[MACADDRESS].cfg",
        "MISC_FILES": "",
        "LOG_FILE_DIRECTORY": "",
        "OVERRIDES_DIRECTORY": "",
        "CONTACTS_DIRECTORY": "",
        "LICENSE_DIRECTORY": "",
        "USER_PROFILES_DIRECTORY": "",
        "CALL_LISTS_DIRECTORY": "",
        "COREFILE_DIRECTORY": "",
    }
    body = "\n".join(f"  {name}={quoteattr(value)}" for name, value in attrs.items())
    return (
        f"{XML_HEAD}<!-- {MARKER} master file of all Polycom phones; per-phone settings are in"
        f" [MACADDRESS].cfg -->\n<APPLICATION\n{body}\n/>\n"
    )


# -- Cisco 3PCC ---------------------------------------------------------------


def _cisco(settings, account=None, display=None, line_keys=(), label=None):
    sign, hours, mins = _offset(settings.get("utc_offset_minutes"))
    vlan = settings.get("voice_vlan")
    ntp = list(settings.get("ntp_servers") or [])
    url = settings.get("firmware_url")
    elements = [
        ("Enable_VLAN", "Yes" if vlan else "No"),
        ("VLAN_ID", vlan or 1),
        ("Primary_NTP_Server", ntp[0] if ntp else ""),
        ("Secondary_NTP_Server", ntp[1] if len(ntp) > 1 else ""),
        ("Time_Zone", f"GMT{sign}{hours:02d}:{mins:02d}"),
        ("Syslog_Server", settings.get("syslog_server") or ""),
        ("Upgrade_Enable", "Yes" if url else "No"),
        ("Upgrade_Rule", f"{clean(url)}.loads" if url else ""),
    ]
    if account is None:
        elements += [("Line_Enable_1_", "No"), ("Station_Display_Name", UNASSIGNED), ("Display_Name_1_", ""),
                     ("User_ID_1_", ""), ("Password_1_", "")]  # fmt: skip
    else:
        elements += [
            ("Line_Enable_1_", "Yes"),
            ("Station_Display_Name", label),
            ("Display_Name_1_", display),
            ("Short_Name_1_", label),
            ("User_ID_1_", account["username"]),
            ("Auth_ID_1_", account["auth_name"]),
            ("Use_Auth_ID_1_", "Yes"),
            ("Password_1_", account["password"]),
            ("Proxy_1_", account["domain"]),
        ]
        proxies = failover.servers(account)
        if len(proxies) > 1:
            elements += failover.cisco(account, proxies)
        else:
            (address, port) = proxies[0]
            elements += [
                ("Outbound_Proxy_1_", f"{clean(address)}:{clean(port)}"),
                ("Use_Outbound_Proxy_1_", "Yes"),
            ]
        elements.append(("SIP_Port_1_", account["port"]))
        for n, key in enumerate(line_keys, start=2):
            function = f"fnc=blf+sd+cp;sub={clean(key['extension'])}@{clean(account['domain'])};nme={clean(key['label']).replace(';', ' ')}"
            elements += [(f"Extension_{n}_", "Disabled"), (f"Extended_Function_{n}_", function)]
    body = "\n".join(f"  <{name}>{_x(value)}</{name}>" for name, value in elements)
    return f"{XML_HEAD}<!-- {settings['_marker']} -->\n<flat-profile>\n{body}\n</flat-profile>\n"


# -- Snom ---------------------------------------------------------------------


def _snom(settings, account=None, display=None, line_keys=(), label=None):
    vlan = settings.get("voice_vlan")
    ntp = list(settings.get("ntp_servers") or [])
    elements = [
        ("vlan_id", vlan or ""),
        ("vlan_qos", 5 if vlan else ""),
        ("ntp_server", ntp[0] if ntp else ""),
        ("timezone", settings.get("timezone")),
        ("utc_offset", int(settings.get("utc_offset_minutes") or 0) * 60),
        ("syslog_server", settings.get("syslog_server") or ""),
        ("firmware_status", settings.get("firmware_url") or ""),
    ]
    if account is None:
        elements += [("user_active1", "off"), ("user_realname1", ""), ("user_name1", ""), ("user_pass1", ""),
                     ("user_idle_text1", UNASSIGNED), ("display_text", UNASSIGNED)]  # fmt: skip
    else:
        elements += [
            ("user_active1", "on"),
            ("user_realname1", display),
            ("user_idle_text1", label),
            ("user_name1", account["username"]),
            ("user_pname1", account["auth_name"]),
            ("user_pass1", account["password"]),
            ("user_host1", account["domain"]),
        ]
        proxies = failover.servers(account)
        if len(proxies) > 1:
            elements += failover.snom(account, display, label, proxies)
        else:
            elements.append(("user_outbound1", f"{clean(proxies[0][0])}:{clean(proxies[0][1])}"))
    lines = [f'    <{name} perm="R">{_x(value)}</{name}>' for name, value in elements]
    keys = [
        f'    <fkey idx="{n}" context="active" perm="R">blf &lt;sip:{_x(key["extension"])}@'
        f"{_x(account['domain'])}&gt;</fkey>"
        for n, key in enumerate(line_keys)
    ]
    fkeys = "  <functionKeys>\n" + "\n".join(keys) + "\n  </functionKeys>\n" if keys else ""
    return (
        f"{XML_HEAD}<!-- {settings['_marker']} -->\n<settings>\n  <phone-settings>\n"
        + "\n".join(lines)
        + f"\n  </phone-settings>\n{fkeys}</settings>\n"
    )


RENDERERS = {"yealink": _yealink, "polycom": _polycom, "cisco": _cisco, "snom": _snom}


def file_name(vendor, mac):
    """The per-MAC file a phone of ``vendor`` requests."""
    if vendor not in EXTENSIONS:
        raise TemplateError(f"unknown phone vendor {vendor!r} (known: {', '.join(EXTENSIONS)})")
    return f"{mac}.{EXTENSIONS[vendor]}"


def render(entry):
    """The per-MAC file of one phone_data entry: {file name: text}."""
    vendor, mac = entry.get("vendor"), entry.get("mac")
    name = file_name(vendor, mac)
    try:
        settings = {
            "timezone": entry.get("timezone"),
            "utc_offset_minutes": entry.get("utc_offset_minutes"),
            "ntp_servers": entry.get("ntp_servers"),
            "voice_vlan": entry.get("voice_vlan"),
            "syslog_server": entry.get("syslog_server"),
            "firmware_url": (entry.get("firmware") or {}).get("url"),
            "_marker": marker(
                vendor,
                entry.get("model"),
                entry.get("site"),
                entry.get("user") or mac,
                login=entry.get("login_rotation") or 0,
            ),
        }
        text = RENDERERS[vendor](
            settings,
            account=entry["account"],
            display=entry.get("display_name") or entry.get("extension"),
            line_keys=entry.get("line_keys") or (),
            label=entry.get("extension"),
        )
    except (KeyError, TypeError) as exc:
        raise TemplateError(f"phone {mac} ({vendor}): missing or bad field {exc}") from exc
    return {name: text}


def unassigned_settings(common, model=None, site=None):
    """The settings of an unassigned phone: ``common``'s defaults, its site's and its model's firmware."""
    common = common or {}
    settings = {k: common.get(k) for k in ("timezone", "utc_offset_minutes", "ntp_servers", "voice_vlan",
                                           "syslog_server")}  # fmt: skip
    site_settings = (common.get("sites") or {}).get(site)
    if site_settings:
        site_keys = ("timezone", "utc_offset_minutes", "ntp_servers", "voice_vlan")
        settings.update({k: site_settings.get(k) for k in site_keys})
    site_firmware = (site_settings or {}).get("firmware") or common.get("firmware") or {}
    settings["firmware_url"] = (site_firmware.get(model) or {}).get("url")
    settings["model"] = model
    settings["site"] = site if site_settings else None
    return settings


def render_unassigned(vendor, mac, common):
    """The "unassigned" profile of ``mac`` ({file name: text}).

    ``common`` is the flat settings of the phone (see ``unassigned_settings``):
    timezone, utc_offset_minutes, ntp_servers, voice_vlan, syslog_server,
    firmware_url, and for the marker model, site, login (the generation of
    its provisioning login) and retired (the day the MAC left the model).
    """
    name = file_name(vendor, mac)
    settings = dict(common or {})
    settings["_marker"] = marker(
        vendor,
        settings.get("model") or "unknown",
        settings.get("site") or "unknown",
        login=settings.get("login") or 0,
        retired=settings.get("retired"),
    )
    return {name: RENDERERS[vendor](settings)}


def render_common():
    """The files shared by all phones of a vendor: {file name: text}."""
    return {YEALINK_COMMON: _yealink_common(), POLYCOM_MASTER: _polycom_master()}
