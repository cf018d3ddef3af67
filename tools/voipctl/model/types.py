"""Value types of the estate model: formats, number ranges, parsing helpers.

Each format is a regular expression (checked by pydantic in Rust, fast) with
a human description used in messages, or a small validator that raises
``ValueError`` with a message naming the value.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from voipctl.dates import parse_date

# pattern -> what a value must look like (used to word pydantic's messages)
PATTERNS: dict[str, str] = {}


def _pattern(regex: str, description: str) -> Any:
    PATTERNS[regex] = description
    return Annotated[str, StringConstraints(pattern=regex)]


E164_RE = r"^\+[1-9][0-9]{6,14}$"
MAC_RE = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"
Name = _pattern(r"^[a-z][a-z0-9_-]{0,62}$", "a lower-case name (letters, digits, '-', '_')")
UserId = _pattern(r"^[a-z][a-z0-9._-]{1,31}$", "a user id (2-32 lower-case letters, digits, '.', '_', '-')")
E164 = _pattern(E164_RE, "a quoted E.164 number such as '+31201234041'")
Mac = _pattern(MAC_RE, "a MAC address such as '80:5e:c0:12:34:56'")
Email = _pattern(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", "an e-mail address")
Digits = _pattern(r"^[0-9]{1,15}$", "a quoted string of digits such as '112'")
FeatureCode = _pattern(r"^[*#][0-9]{1,4}$", "a feature code such as '*97'")
VarName = _pattern(r"^vault_[a-z0-9_]+$", "the name of a vault variable (vault_...)")
Version = _pattern(r"^[0-9A-Za-z][0-9A-Za-z.+~:_-]*$", "a version string such as '5.6.3'")
RepoUri = _pattern(r"^(https?|file):/\S*$", "an http://, https:// or file: URI")
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
TEXT_RE = r"^(?:[^\x00-\x1f\x7f-\x9f{]|\{[^\x00-\x1f\x7f-\x9f{%#])*\{?$"
PATTERNS[TEXT_RE] = (
    "plain text: no control character (line break, tab, ...) and no template marker ({{, {% or {#)"
)
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT_RE)]
AbsolutePath = _pattern(r"^/.*$", "an absolute path")


def parse_range(text: str, *, e164: bool) -> tuple[int, int]:
    """``"2000-2999"`` -> (2000, 2999); ``"+3120..00-+3120..99"`` likewise for DIDs.

    Raises ValueError naming the text when it is not a non-empty range.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a quoted range such as {_example(e164)}")
    low, sep, high = text.partition("-+" if e164 else "-")
    if e164:
        high = "+" + high
    pattern = E164_RE if e164 else r"^[0-9]{1,15}$"
    if not sep or not re.match(pattern, low) or not re.match(pattern, high):
        raise ValueError(f"{text!r} is not a range such as {_example(e164)}")
    if len(low) != len(high):
        raise ValueError(f"{text!r}: both ends must have the same number of digits")
    lo, hi = int(low), int(high)
    if lo > hi:
        raise ValueError(f"{text!r}: the range is empty (start after end)")
    return lo, hi


def _example(e164: bool) -> str:
    return "'+31201234000-+31201234999'" if e164 else "'2000-2999'"


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
        raise ValueError(f"{value!r} is not an IP address") from None
    return value


def _network(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a network such as '10.0.0.0/24'")
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a network ({exc})") from None
    return value


_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _address(value: Any) -> Any:
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            if _HOSTNAME.match(value) and not value.replace(".", "").isdigit():
                return value
    raise ValueError(f"{value!r} is not an IP address or host name")


def _strict_int(value: Any) -> Any:
    # YAML gives ints; refuse bools (True == 1) and floats silently truncated.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a whole number")
    return value


def _extension(value: Any) -> Any:
    _strict_int(value)
    if not 10 <= value <= 99999999:
        raise ValueError(f"{value!r} is not an extension (2 to 8 digits)")
    return value


ExtensionRange = Annotated[str, BeforeValidator(_ext_range)]
DidRange = Annotated[str, BeforeValidator(_did_range)]
# A day (voipctl.dates): a date or 'YYYY-MM-DD'; a timestamp is refused.
Date = Annotated[datetime.date, BeforeValidator(parse_date)]
IPAddress = Annotated[str, BeforeValidator(_ip)]
Network = Annotated[str, BeforeValidator(_network)]
Address = Annotated[str, BeforeValidator(_address)]
Extension = Annotated[int, BeforeValidator(_extension)]


def bounded(low: int, high: int) -> Any:
    """A whole number in [low, high] (bools and floats refused)."""

    def check(value: Any) -> Any:
        _strict_int(value)
        if not low <= value <= high:
            raise ValueError(f"{value!r} is outside {low}-{high}")
        return value

    return Annotated[int, BeforeValidator(check)]


def _forward_target(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a forward target (an extension, an E.164 number or 'voicemail')")
    if isinstance(value, int):
        return _extension(value)
    if isinstance(value, str) and (value == "voicemail" or re.match(E164_RE, value)):
        return value
    if isinstance(value, str) and value.isdigit():
        return _extension(int(value))
    raise ValueError(f"{value!r} is not a forward target (an extension, an E.164 number or 'voicemail')")


def _voicemail(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and re.match(PATTERN_EMAIL, value):
        return value
    raise ValueError(f"{value!r} is not true, false or an e-mail address to deliver voicemail to")


PATTERN_EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
ForwardTarget = Annotated[Any, AfterValidator(_forward_target)]
Voicemail = Annotated[Any, AfterValidator(_voicemail)]


def _emergency(value: Any) -> Any:
    # DESIGN.md writes one number as a string; the lab lists several.
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise ValueError(f"{value!r} is not an emergency number or a list of them")
    for item in values:
        if not isinstance(item, str) or not re.match(r"^[0-9]{2,6}$", item):
            raise ValueError(f"{item!r} is not a quoted emergency number such as '112'")
    return values


Emergency = Annotated[Any, AfterValidator(_emergency)]


def normalise_mac(mac: str) -> str:
    """Canonical form used for comparisons and file names: lower case, colons."""
    return mac.lower()
