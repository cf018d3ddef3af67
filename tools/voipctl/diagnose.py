"""``voipctl user diagnose``: what is wrong with one user's phone and calls, section by section.

``playbooks/user_diagnose.yml`` reads, for one user, what the estate's hosts
know (read-only): on each call server of the user's site the registrations
(``kamcmd ul.lookup``), the refused registrations and failed authentications
of the user's extension in Kamailio's journal, the banned sources, the
user's calls (module call_records), and the drift of the user's rows
against the model; on the provisioning servers the access log lines of the
user's phones. The functions here are pure: they read that text and judge
it into ``Section``s, each saying what is wrong when something is.

Everything read comes from devices and callers (a user agent, a contact):
it is data, shown escaped, never markup.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voipctl.calls import POOR_MOS, Call, clean, stamp


@dataclass
class Section:
    name: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "lines": self.lines, "problems": self.problems}


# --- reading ------------------------------------------------------------------

_FIELD = re.compile(r"^\s*([A-Za-z-]+): (.*)$")


def contacts(ul_lookup: str) -> list[dict[str, str]]:
    """The contacts of ``kamcmd ul.lookup location EXT``'s text (none: the AoR is not found)."""
    found: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in ul_lookup.splitlines():
        stripped = line.strip()
        if stripped == "Contact: {":
            current = {}
            found.append(current)
            continue
        if stripped == "}" and current is not None:
            current = None
            continue
        match = _FIELD.match(line)
        if current is not None and match:
            current[match.group(1)] = match.group(2).strip()
    return found


_JOURNAL = re.compile(
    r"^(?P<time>\S+) \S+ \S+: \w+: .*?<script>: "
    r"(?:(?P<auth>authentication failed) for (?P<user>\S+) from (?P<source>[0-9a-fA-F.:]+)"
    r"|REGISTER of (?P<reg_user>\S+) from (?P<reg_source>[0-9a-fA-F.:]+?)(?::\d+)? with contact <(?P<contact>.*)>: refused)"
)


def journal_events(text: str, extension: str) -> list[dict[str, str]]:
    """Failed authentications and refused registrations of ``extension`` in Kamailio's journal lines."""
    events = []
    for line in text.splitlines():
        match = _JOURNAL.match(line)
        if not match:
            continue
        if match.group("auth") and match.group("user") == extension:
            events.append({"time": match.group("time"), "kind": "auth", "source": match.group("source")})
        elif match.group("reg_user") == extension:
            events.append({"time": match.group("time"), "kind": "refused", "source": match.group("reg_source"),
                           "contact": match.group("contact")})  # fmt: skip
    return events


def banned(ipban_dump: str) -> set[str]:
    """The banned sources of ``kamcmd htable.dump ipban``."""
    return set(re.findall(r"name: ([0-9a-fA-F.:]+)", ipban_dump))


_ACCESS = re.compile(
    r'^(?P<source>\S+) \S+ (?P<login>\S+) \[(?P<time>[^\]]+)\] "(?:GET|HEAD) (?P<path>\S+) [^"]*" '
    r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<agent>[^"]*)"'
)


def fetches(access_log: str, mac: str) -> list[dict[str, str]]:
    """The provisioning requests for the phone file of ``mac`` (its own login or its path), oldest first."""
    mac = mac.lower()
    found = []
    for line in access_log.splitlines():
        match = _ACCESS.match(line)
        if match and (match.group("login").lower() == mac or mac in match.group("path").lower()):
            found.append(match.groupdict())
    return found


# --- judging ------------------------------------------------------------------


def _in(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


def _host(uri: str) -> str:
    match = re.match(r"^sips?:(?:[^@]*@)?\[?([0-9a-fA-F.:]+?)\]?(?::\d+)?(?:[;>].*)?$", uri)
    return match.group(1) if match else ""


def registration(servers: Mapping[str, Mapping[str, Any]], networks: list[str], now: float) -> Section:
    """Where the user's devices are registered, from where, and whether the registration is fresh."""
    section = Section("registration")
    seen = 0
    for host, data in sorted(servers.items()):
        for contact in contacts(data.get("ul_lookup") or ""):
            seen += 1
            uri = contact.get("Address", "")
            source = _host(uri)
            agent = contact.get("User-Agent", "")
            section.lines.append(f"{host}: {clean(uri)} from {clean(source)} ({clean(agent)})")
            if source and not _in(source, networks):
                section.problems.append(f"registered from {clean(source)}, outside the voice networks")
            expires, modified = _number(contact.get("Expires")), _number(contact.get("Last-Modified"))
            if expires is not None and modified is not None and modified > 0:
                interval = max(expires + (now - modified), 1)
                if now - modified > 0.6 * interval:
                    when = datetime.fromtimestamp(modified, UTC).strftime("%H:%M UTC")
                    section.problems.append(
                        f"no REGISTER since {when} on {host} (a refresh was due): unplugged or cut off?"
                    )
    if not seen:
        section.problems.append(
            f"not registered on any call server of the site ({', '.join(sorted(servers)) or 'none'}): "
            "the phone is unplugged, off, or cannot register (see authentication)"
        )
    return section


def _number(text: Any) -> float | None:
    try:
        return float(str(text).split()[0])
    except (ValueError, IndexError):
        return None


def authentication(servers: Mapping[str, Mapping[str, Any]], extension: str, networks: list[str]) -> Section:
    """Refused registrations, failed authentications and bans of the user's sources."""
    section = Section("authentication")
    sources: set[str] = set()
    for host, data in sorted(servers.items()):
        events = journal_events(data.get("journal") or "", extension)
        failures = [e for e in events if e["kind"] == "auth"]
        refused = [e for e in events if e["kind"] == "refused"]
        if failures:
            last = failures[-1]
            section.problems.append(
                f"{len(failures)} failed authentications on {host} in the last day, the last at "
                f"{clean(last['time'])} from {clean(last['source'])}: a wrong password (re-provision the phone)?"
            )
        for source in sorted({e["source"] for e in refused}):
            where = (
                "outside the voice networks" if not _in(source, networks) else "with a contact not its own"
            )
            section.problems.append(f"REGISTER from {clean(source)} refused on {host}: {where}")
        sources |= {e["source"] for e in events}
        sources |= {_host(c.get("Address", "")) for c in contacts(data.get("ul_lookup") or "")}
        for source in sorted(sources & banned(data.get("ipban") or "")):
            section.problems.append(
                f"{clean(source)} is banned on {host}: its calls and registrations get no answer"
            )
    if section.ok:
        section.lines.append("no failed authentication, refused registration or ban in the last day")
    return section


def provisioning(devices: Iterable[Mapping[str, Any]], servers: Mapping[str, Mapping[str, Any]]) -> Section:
    """Whether each of the user's phones fetched its file, when, with what answer and user agent."""
    section = Section("provisioning")
    for device in devices:
        mac = str(device.get("mac", "")).lower().replace(":", "")
        found = [
            (host, f)
            for host, data in sorted(servers.items())
            for f in fetches(data.get("access_log") or "", mac)
        ]
        expected = device.get("firmware") or ""
        if not found:
            section.problems.append(f"phone {mac} ({clean(device.get('model'))}): phone file never fetched")
            continue
        host, last = found[-1]
        section.lines.append(
            f"phone {mac}: last fetch {clean(last['time'])} from {clean(last['source'])} on {host}: "
            f"{last['status']}, user agent {clean(last['agent'])}"
            + (f", firmware expected {expected}" if expected else "")
        )
        if last["status"] in ("401", "403"):
            section.problems.append(
                f"phone {mac}: its last fetch was refused ({last['status']}): a wrong login?"
            )
        elif not last["status"].startswith("2") and last["status"] != "304":
            section.problems.append(f"phone {mac}: its last fetch failed ({last['status']})")
    if not section.lines and not section.problems:
        section.lines.append("no phone in the model")
    return section


def calls_section(calls: list[Call], user_id: str, extension: str, last: int = 10) -> Section:
    """The user's last calls, with codes and quality; failing or poor ones are problems."""
    section = Section("calls")
    mine = [
        c
        for c in calls
        if user_id in (c.caller_uid, c.callee_uid) or extension in (c.caller_ext, c.callee_ext)
    ]
    for call in mine[-last:]:
        way = (
            f"to {call.dialled}"
            if extension == call.caller_ext or user_id == call.caller_uid
            else f"from {call.caller_ext}"
        )
        quality = "" if call.mos is None else f", MOS {call.mos:.1f}"
        section.lines.append(
            f"{stamp(call.start)} {clean(way)}: {call.code} {call.reason} via {call.route or '-'}{quality}"
        )
    outgoing = [c for c in mine if c.caller_uid == user_id or c.caller_ext == extension]
    failed: dict[tuple[int, str], int] = {}
    for call in outgoing:
        if call.failed and call.code not in (486, 487):
            failed[(call.code, call.reason)] = failed.get((call.code, call.reason), 0) + 1
    for (code, reason), count in sorted(failed.items(), key=lambda item: -item[1]):
        section.problems.append(f"{count} of {len(outgoing)} calls made fail with {code} ({reason})")
    poor = [c for c in mine if c.mos is not None and c.mos < POOR_MOS]
    if poor:
        section.problems.append(f"{len(poor)} calls sounded poor (MOS below {POOR_MOS}): see call-quality")
    if not mine:
        section.lines.append("no call in the last week")
    return section


def drift(messages: Iterable[str]) -> Section:
    section = Section("drift")
    section.problems = [clean(m) for m in messages]
    if section.ok:
        section.lines.append("the user's rows on the call servers are the model's")
    return section


# --- the user's rows against the model -----------------------------------------

# table -> (the key fields of a row, the fields compared, what a row is called, the key fields that
# name it; secret fields are shown by name only)
_TABLES = {
    "subscribers": (("username", "domain"), ("ha1", "ha1b"), "SIP account", (0, 1)),
    "aliases": (("alias_username", "alias_domain"), ("username", "domain"), "number", (0,)),
    "preferences": (("username", "domain", "attribute"), ("value",), "preference", (2,)),
}
_SECRET = {"ha1", "ha1b"}


def _keyed(
    rows: Iterable[Mapping[str, Any]], keys: tuple[str, ...]
) -> dict[tuple[str, ...], Mapping[str, Any]]:
    return {tuple(str(row.get(k, "")) for k in keys): row for row in rows}


def user_rows(
    tables: Mapping[str, list[Mapping[str, Any]]], extension: str
) -> dict[str, list[Mapping[str, Any]]]:
    """The rows of ``tables`` (subscribers, aliases, preferences) that belong to ``extension``."""
    return {
        name: [r for r in tables.get(name) or [] if str(r.get("username")) == extension] for name in _TABLES
    }


def row_drift(
    expected: Mapping[str, list[Mapping[str, Any]]], actual: Mapping[str, list[Mapping[str, Any]]]
) -> list[str]:
    """What differs between the model's rows of a user and a call server's; a secret is never shown."""
    messages = []
    for name, (keys, fields, what, naming) in _TABLES.items():
        want, have = _keyed(expected.get(name) or [], keys), _keyed(actual.get(name) or [], keys)

        def label(key: tuple[str, ...], naming: tuple[int, ...] = naming) -> str:
            return "@".join(key[i] for i in naming)

        for key in sorted(want.keys() - have.keys()):
            messages.append(f"{what} {label(key)} is missing (the model has it)")
        for key in sorted(have.keys() - want.keys()):
            value = "" if name == "subscribers" else f" = {have[key].get(fields[0])!r}"
            messages.append(f"{what} {label(key)}{value} is not the model's")
        for key in sorted(want.keys() & have.keys()):
            for column in fields:
                a, b = str(want[key].get(column, "")), str(have[key].get(column, ""))
                if a == b:
                    continue
                if column in _SECRET:
                    messages.append(
                        f"{what} {label(key)}: its password hash ({column}) differs from the model's"
                    )
                else:
                    messages.append(f"{what} {label(key)}: {column} is {b!r}, the model says {a!r}")
    return messages
