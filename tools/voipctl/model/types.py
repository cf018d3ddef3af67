"""Value types of the estate model: formats, number ranges (read by voipctl.core.ranges), parsing helpers.

Each format is a regular expression (checked by pydantic in Rust, fast) with
a human description used in messages, or a small validator that raises
``ValueError`` with a message naming the value.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import ipaddress
import posixpath
import re
import zoneinfo
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from voipctl.core.dates import parse_date
from voipctl.core.ranges import E164_RE, parse_range
from voipctl.core.text import SHOWN_LIMIT, shown

# pattern -> what a value must look like (used to word pydantic's messages)
PATTERNS: dict[str, str] = {}


def _pattern(regex: str, description: str) -> Any:
    PATTERNS[regex] = description
    return Annotated[str, StringConstraints(pattern=regex)]


MAC_RE = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"
Name = _pattern(r"^[a-z][a-z0-9_-]{0,62}$", "a lower-case name (letters, digits, '-', '_')")
# A field of an apt repository's Release file (Origin, Label, Suite): "Debian-Security".
AptField = _pattern(r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,62}$", "an apt Release field such as 'Debian-Security'")
UserId = _pattern(r"^[a-z][a-z0-9._-]{1,31}$", "a user id (2-32 lower-case letters, digits, '.', '_', '-')")
E164 = _pattern(E164_RE, "a quoted E.164 number such as '+31201234041'")
Mac = _pattern(MAC_RE, "a MAC address such as '80:5e:c0:12:34:56'")
# Addresses and URIs reach configuration files too: no control character, no "{" (template markers).
Email = _pattern(r"^[^@\s\x00-\x1f\x7f-\x9f{}]+@[^@\s\x00-\x1f\x7f-\x9f{}]+\.[a-z]{2,}$", "an e-mail address")
Digits = _pattern(r"^[0-9]{1,15}$", "a quoted string of digits such as '112'")
FeatureCode = _pattern(r"^[*#][0-9]{1,4}$", "a feature code such as '*97'")
VarName = _pattern(r"^vault_[a-z0-9_]+$", "the name of a vault variable (vault_...)")
# A SIP user name towards a carrier and the realm of its challenges: they go into the
# uac module's table (uacreg), whose columns hold 64 characters.
SipUser = _pattern(r"^[A-Za-z0-9._+-]{1,64}$", "a SIP user name (1-64 letters, digits, '.', '_', '+', '-')")
Realm = _pattern(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$", "a digest realm such as 'sip.carrier.example'")
Version = _pattern(r"^[0-9A-Za-z][0-9A-Za-z.+~:_-]*$", "a version string such as '5.6.3'")
# A network device's software image (voip_release.device_images): its file name on flash, its
# version as `show version` reports it, and its SHA-512. Each reaches the device's command line.
ImageFile = _pattern(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,123}\.bin$",
    "a plain image file name ending in .bin (letters, digits, '.', '_', '-'; never config.text or vlan.dat)",
)
DeviceVersion = _pattern(
    r"^[A-Za-z0-9][A-Za-z0-9.()_-]{0,63}$", "a device software version such as '17.9.4a'"
)
Sha512 = _pattern(r"^[0-9a-f]{128}$", "a SHA-512 in lowercase hexadecimal (128 digits)")
RepoUri = _pattern(r"^(https?|file):/[^\s\x00-\x1f\x7f-\x9f{}]*$", "an http://, https:// or file: URI")
RepoSuite = _pattern(r"^[A-Za-z0-9./_-]+$", "a suite such as 'bookworm' or './' (a flat repository)")
OutletName = _pattern(
    r"^[A-Za-z0-9][A-Za-z0-9./_-]{0,31}$",
    "an outlet label such as 'ams-1.14' (letters, digits, '.', '/', '_', '-')",
)
PortRef = _pattern(r"^[a-z][a-z0-9_-]{0,62}:[0-9]{1,3}$", "a panel port such as 'ams-r2-pp1:14'")
Clock = _pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "a time of day HH:MM")
# Plain text: no control character (C0, DEL, C1: a line break would end a line
# of a device's configuration or a SIP header) and no template marker ({{, {%,
# {#: model data is data, never a template). Without look-ahead, for pydantic's
# Rust regex: a "{" is followed by something else than "{", "%" or "#", or ends it.
# Also refused: the Unicode line and paragraph separators (line breaks to
# YAML, JSON and JavaScript) and the bidirectional embeddings, overrides and
# isolates (they make a name read differently from what it is). Joiners
# (ZWNJ, ZWJ), which Persian names need, and the directional marks stay.
_NOT_TEXT = "\\x00-\\x1f\\x7f-\\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
TEXT_RE = rf"^(?:[^{_NOT_TEXT}{{]|\{{[^{_NOT_TEXT}{{%#])*\{{?$"
PATTERNS[TEXT_RE] = (
    "plain text: no control character (line break, tab, ...), no Unicode line separator or direction "
    "override, and no template marker ({{, {% or {#)"
)
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT_RE)]
# An absolute path: text as above (a path is written into configuration files) starting with "/".
ABSOLUTE_PATH_RE = rf"^/(?:[^{_NOT_TEXT}{{]|\{{[^{_NOT_TEXT}{{%#])*\{{?$"
AbsolutePath = _pattern(ABSOLUTE_PATH_RE, "an absolute path (no control character or template marker)")


def did_number(did: str) -> int:
    """'+31201234041' -> 31201234041 (for range arithmetic)."""
    return int(did[1:])


def _ext_range(value: Any) -> Any:
    parse_range(value, e164=False)
    return value


def _did_range(value: Any) -> Any:
    parse_range(value, e164=True)
    return value


def _ip(value: Any) -> Any:
    try:
        ipaddress.ip_address(value if isinstance(value, str) else "")
    except ValueError:
        raise ValueError(f"{shown(value)} is not an IP address") from None
    return value


def _network(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not a network such as '10.0.0.0/24'")
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        # ipaddress's reason echoes the value: only a short one is worth it.
        reason = f" ({exc})" if len(value) <= SHOWN_LIMIT else ""
        raise ValueError(f"{shown(value)} is not a network{reason}") from None
    return value


_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


# An inventory host name (Ansible allows '_', DNS does not): it reaches configuration files
# (kamailio.cfg names the call server and its pair), device CLI lines, file paths and messages.
INVENTORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")


def _address(value: Any) -> Any:
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            if _HOSTNAME.match(value) and not value.replace(".", "").isdigit():
                return value
    raise ValueError(f"{shown(value)} is not an IP address or host name")


def _strict_int(value: Any) -> Any:
    # YAML gives ints; refuse bools (True == 1) and floats silently truncated.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{shown(value)} is not a whole number")
    return value


def _extension(value: Any) -> Any:
    _strict_int(value)
    if not 10 <= value <= 99999999:
        raise ValueError(f"{shown(value)} is not an extension (2 to 8 digits)")
    return value


ExtensionRange = Annotated[str, BeforeValidator(_ext_range)]
DidRange = Annotated[str, BeforeValidator(_did_range)]
# A day (voipctl.core.dates): a date or 'YYYY-MM-DD'; a timestamp is refused.
Date = Annotated[datetime.date, BeforeValidator(parse_date)]
IPAddress = Annotated[str, BeforeValidator(_ip)]
Network = Annotated[str, BeforeValidator(_network)]
Address = Annotated[str, BeforeValidator(_address)]
Extension = Annotated[int, BeforeValidator(_extension)]


# --- addresses of peers: a host the estate talks to -------------------------

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def _not_a_host(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, loopback: bool) -> str | None:
    """Why ``ip`` cannot be a peer's address (None: it can); ``loopback``: this machine may be one."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_unspecified:
        return "the unspecified address ('any'), which names no host"
    if ip.version == 4 and ip in _THIS_NETWORK:
        return "in 0.0.0.0/8 ('this network'), which names no host"
    if ip.is_loopback and not loopback:
        return "a loopback address: it names the machine itself, never the peer"
    if ip.is_multicast:
        return "a multicast address: it names a group, not a host"
    if ip == ipaddress.IPv4Address("255.255.255.255"):
        return "the broadcast address: it names every host of the network, not one"
    if ip.version == 4 and ip.is_reserved:
        return "in the reserved range 240.0.0.0/4, which names no host"
    return None


# Forms a resolver reads as an IPv4 address (inet_aton: '0x7f.1', '127.1', '2130706433').
_NUMERIC_LABEL = re.compile(r"^(0[xX][0-9A-Fa-f]*|[0-9]+)$")


def _host(value: Any, loopback: bool) -> Any:
    """An IP address or host name naming one real host (``loopback``: this machine counts)."""
    value = _address(value)
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        name = value.lower().rstrip(".")
        if not loopback and (name == "localhost" or name.endswith(".localhost")):
            raise ValueError(f"{shown(value)} is this machine (localhost), never the peer") from None
        if all(_NUMERIC_LABEL.match(label) for label in name.split(".")):
            raise ValueError(
                f"{shown(value)} is a numeric address in a non-standard form: write it as a dotted IPv4 address"
            ) from None
        return value
    reason = _not_a_host(ip, loopback)
    if reason:
        raise ValueError(f"{shown(value)} is {reason}; name the host's own address")
    return value


def _peer_address(value: Any) -> Any:
    return _host(value, loopback=False)


def _peer_ip(value: Any) -> Any:
    _ip(value)
    return _host(value, loopback=False)


def _managed_host(value: Any) -> Any:
    return _host(value, loopback=True)


# A peer the estate sends to (trunk, NTP server, SIP domain): an IP address or
# host name of a real remote host (not 0.0.0.0, ::, loopback, multicast or broadcast).
HostAddress = Annotated[str, BeforeValidator(_peer_address)]
# A peer given as an IP address only.
HostIP = Annotated[str, BeforeValidator(_peer_ip)]
# A host of the inventory (ansible_host): as HostAddress, but this machine may
# be one (simulators and containers on a loopback address).
ManagedHost = Annotated[str, BeforeValidator(_managed_host)]


# --- UDP/TCP port ranges ---------------------------------------------------


def _port_range(value: Any) -> Any:
    """'20000-30000': two port numbers, 1024 <= start <= end <= 65535."""
    text = value if isinstance(value, str) else ""
    low, sep, high = text.partition("-")
    if not sep or not re.match(r"^[0-9]{1,5}$", low) or not re.match(r"^[0-9]{1,5}$", high):
        raise ValueError(f"{shown(value)} is not a quoted port range such as '20000-30000'")
    lo, hi = int(low), int(high)
    if lo > hi:
        raise ValueError(f"{shown(value)}: the range is empty (start {lo} after end {hi})")
    if hi > 65535:
        raise ValueError(f"{shown(value)}: ports end at 65535, not {hi}")
    if lo < 1024:
        raise ValueError(f"{shown(value)}: ports below 1024 are the system's; start at 1024 or above")
    return value


PortRange = Annotated[str, BeforeValidator(_port_range)]


# --- time zones ------------------------------------------------------------

# In the database, but no zone: the host's own setting, a placeholder, a file of rules.
_NOT_ZONES = {"localtime", "Factory", "posixrules"}
_ZONE_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def _timezone(value: Any) -> Any:
    """An IANA time zone such as 'Europe/Amsterdam' known to the time zone database."""
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not a time zone such as 'Europe/Amsterdam'")
    zones = _zones()
    # Without a time zone database (no tzdata), only the shape of the name is checked.
    if (value in zones if zones else _ZONE_SHAPE.match(value)) and value not in _NOT_ZONES:
        return value
    hint = ""
    if len(value) <= SHOWN_LIMIT:
        close = difflib.get_close_matches(value, zones, n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{shown(value)} is not a time zone (an IANA name such as 'Europe/Amsterdam'){hint}")


TimeZone = Annotated[str, BeforeValidator(_timezone)]


# --- the backup store ------------------------------------------------------

# A store is a directory of its own: backups land in and are pruned from
# <store>/<host>/, so a system directory (or / itself) must never be one.
SYSTEM_DIRECTORIES = frozenset(
    {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found",
     "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr",
     "/var", "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/local",
     "/usr/sbin", "/usr/share", "/usr/src", "/usr/local/bin", "/usr/local/lib", "/usr/local/sbin",
     "/usr/local/share", "/var/backups", "/var/cache", "/var/lib", "/var/local", "/var/lock", "/var/log",
     "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp", "/var/www"}
)  # fmt: skip
# Below these nothing lasts (memory, emptied at boot) or nothing is a disk.
VOLATILE_DIRECTORIES = ("/dev", "/proc", "/run", "/sys", "/tmp", "/var/run", "/var/lock", "/var/tmp")


def _backup_store(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"{shown(value)} is not an absolute path")
    if ".." in value.split("/"):
        raise ValueError(f"{shown(value)} climbs with '..': name the store's directory directly")
    path = posixpath.normpath("/" + value.lstrip("/"))
    if path in SYSTEM_DIRECTORIES:
        raise ValueError(
            f"{shown(value)} is a system directory: backups are written to and pruned from "
            "<store>/<host>/, so give the store a directory of its own such as /srv/backups"
        )
    for top in VOLATILE_DIRECTORIES:
        if path.startswith(top + "/"):
            raise ValueError(
                f"{shown(value)} is below {top}, which does not keep files: backups would be lost"
            )
    return value


BackupStore = Annotated[str, BeforeValidator(_backup_store)]


def bounded(low: int, high: int) -> Any:
    """A whole number in [low, high] (bools and floats refused)."""

    def check(value: Any) -> Any:
        _strict_int(value)
        if not low <= value <= high:
            raise ValueError(f"{shown(value)} is outside {low}-{high}")
        return value

    return Annotated[int, BeforeValidator(check)]


def _forward_target(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(
            f"{shown(value)} is not a forward target (an extension, an E.164 number or 'voicemail')"
        )
    if isinstance(value, int):
        return _extension(value)
    if isinstance(value, str) and (value == "voicemail" or re.match(E164_RE, value)):
        return value
    if isinstance(value, str) and value.isdigit():
        return _extension(int(value))
    raise ValueError(f"{shown(value)} is not a forward target (an extension, an E.164 number or 'voicemail')")


def _voicemail(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and re.match(PATTERN_EMAIL, value):
        return value
    raise ValueError(f"{shown(value)} is not true, false or an e-mail address to deliver voicemail to")


PATTERN_EMAIL = r"^[^@\s\x00-\x1f\x7f-\x9f{}]+@[^@\s\x00-\x1f\x7f-\x9f{}]+\.[a-z]{2,}$"
ForwardTarget = Annotated[Any, AfterValidator(_forward_target)]
Voicemail = Annotated[Any, AfterValidator(_voicemail)]


def _emergency(value: Any) -> Any:
    # DESIGN.md writes one number as a string; the lab lists several.
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise ValueError(f"{shown(value)} is not an emergency number or a list of them")
    for item in values:
        if not isinstance(item, str) or not re.match(r"^[0-9]{2,6}$", item):
            raise ValueError(f"{shown(item)} is not a quoted emergency number such as '112'")
    return values


Emergency = Annotated[Any, AfterValidator(_emergency)]


def _device_mac(value: str) -> str:
    """A phone's own MAC: unicast, not all zeros (runs after the format check)."""
    if value.lower() == "ff:ff:ff:ff:ff:ff":
        raise ValueError(f"{shown(value)} is the broadcast MAC address, not a device's")
    if int(value[:2], 16) & 1:
        raise ValueError(
            f"{shown(value)} is a multicast MAC address (the first octet is odd), not a device's"
        )
    if value == "00:00:00:00:00:00":
        raise ValueError(f"{shown(value)} is the all-zero MAC address, not a device's")
    return value


# A device's MAC address: the format of Mac, unicast and not all zeros.
DeviceMac = Annotated[Mac, AfterValidator(_device_mac)]


def normalise_mac(mac: str) -> str:
    """Canonical form used for comparisons and file names: lower case, colons."""
    return mac.lower()
