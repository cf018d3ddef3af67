"""Call records joined into calls: what happened to each call, where it went and how it sounded.

Each call server keeps two kinds of rows (Kamailio acc, see the kamailio
role): an INVITE row per call attempt, written at its final answer, and a BYE
row at the end of an answered call, with the media quality rtpengine
measured. A call that crosses sites passes two servers and leaves a leg on
each, under the same Call-ID and caller's From-tag. ``join`` turns the rows
of every server into one ``Call`` per call: the caller's side from the first
leg (what the caller got: code, reason, setup time), the route from the last
(where the call ended up: a user, a hunt group, voicemail, a trunk, a
gateway, the emergency service), the talk time and quality from the BYE
rows (the worst leg's). Everything here is pure; reading the servers is
``voipctl.calls_cli``'s.

A record's text comes from callers (a carrier's From user): it is data,
never markup, and never printed with control characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

ROUTES = ("user", "hunt_group", "voicemail", "peer", "trunk", "gateway", "emergency")
# A call whose MOS is below this sounded poor (ITU-T G.107: "many users dissatisfied").
POOR_MOS = 3.6
_RTP = re.compile(r"RTP: (\d+) bytes, (\d+) packets, (\d+) errors")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Leg:
    """One server's INVITE row of a call."""

    host: str
    site: str
    row: Mapping[str, Any]

    @property
    def start(self) -> float:
        return _number(self.row.get("t_start")) or _number(self.row.get("t_end")) or 0.0


@dataclass
class Call:
    callid: str
    start: float
    site: str
    servers: list[str]
    code: int
    reason: str
    route: str
    target: str
    caller_uid: str = ""
    caller_ext: str = ""
    caller_did: str = ""
    dialled: str = ""
    kind: str = ""
    callee_uid: str = ""
    callee_ext: str = ""
    callee_did: str = ""
    routes: list[str] = field(default_factory=list)
    setup_s: float | None = None
    talk_s: float | None = None
    ended: bool = False
    mos: float | None = None
    mos_min: float | None = None
    loss_pct: float | None = None
    jitter_ms: float | None = None
    rtt_ms: float | None = None
    packets: int | None = None
    retries: int = 0

    @property
    def answered(self) -> bool:
        return 200 <= self.code < 300

    @property
    def failed(self) -> bool:
        return self.code >= 300

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = stamp(self.start)
        return data


def clean(value: Any) -> str:
    """A record's text for display: a string, control characters shown as \\xNN, never None."""
    if value is None:
        return ""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _first(legs: Iterable[Leg], key: str) -> str:
    return next((clean(leg.row[key]) for leg in legs if leg.row.get(key) not in (None, "")), "")


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (str(row.get("callid") or ""), str(row.get("from_tag") or ""))


def _packets(text: Any) -> int | None:
    found = _RTP.search(str(text or ""))
    return int(found.group(2)) if found else None


def _worst(values: Iterable[float | None], pick) -> float | None:
    present = [v for v in values if v is not None]
    return pick(present) if present else None


def _quality(call: Call, byes: list[Mapping[str, Any]]) -> None:
    call.mos = _worst((_number(r.get("mos")) for r in byes), min)
    call.mos_min = _worst((_number(r.get("mos_min")) for r in byes), min)
    call.loss_pct = _worst((_number(r.get("loss_pct")) for r in byes), max)
    call.jitter_ms = _worst((_number(r.get("jitter_ms")) for r in byes), max)
    call.rtt_ms = _worst((_number(r.get("rtt_ms")) for r in byes), max)
    packets = [p for p in (_packets(r.get("rtp")) for r in byes) if p is not None]
    call.packets = max(packets) if packets else None


def _call(legs: list[Leg], byes: list[Mapping[str, Any]], retries: int) -> Call:
    first, last = legs[0], legs[-1]
    code = int(_number(first.row.get("sip_code")) or 0)
    call = Call(
        callid=clean(first.row.get("callid")),
        start=first.start,
        site=first.site,
        servers=[leg.host for leg in legs],
        code=code,
        # The server's own phrase for an answer it gave itself (acc keeps the code's standard one).
        reason=clean(first.row.get("note") or first.row.get("sip_reason")),
        route=clean(last.row.get("route")),
        target=clean(last.row.get("target")),
        routes=[clean(leg.row.get("route")) for leg in legs],
        retries=retries,
    )
    for key in ("caller_uid", "caller_ext", "caller_did", "dialled", "kind"):
        setattr(call, key, _first(legs, key))
    for key in ("callee_uid", "callee_ext", "callee_did"):
        setattr(call, key, _first(reversed(legs), key))
    answered_at = _number(first.row.get("t_end"))
    if answered_at is not None:
        call.setup_s = round(max(0.0, answered_at - call.start), 3)
    if call.answered and byes:
        end = max(_number(r.get("t_end")) or 0.0 for r in byes)
        call.ended = True
        if answered_at is not None:
            call.talk_s = round(max(0.0, end - answered_at), 3)
        _quality(call, byes)
    return call


def join(servers: Mapping[str, tuple[str, list[Mapping[str, Any]]]]) -> list[Call]:
    """Every call in the rows of ``servers`` (host -> (site, acc rows)), oldest first.

    A server with two INVITE rows of one call (the caller tried again with
    the same Call-ID and tag) counts its last; the others are ``retries``.
    BYE rows whose call has no INVITE row here (it began before the window) are left out.
    """
    invites: dict[tuple[str, str], dict[str, list[Leg]]] = {}
    byes: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for host, (site, rows) in servers.items():
        for row in rows:
            method = str(row.get("method") or "").upper()
            if method == "INVITE":
                invites.setdefault(_key(row), {}).setdefault(host, []).append(Leg(host, site, row))
            elif method == "BYE":
                byes.setdefault(_key(row), []).append(row)
    calls = []
    for key, by_host in invites.items():
        retries = sum(len(legs) - 1 for legs in by_host.values())
        latest = [
            max(legs, key=lambda leg: _number(leg.row.get("t_end")) or 0.0) for legs in by_host.values()
        ]
        calls.append(_call(sorted(latest, key=lambda leg: leg.start), byes.get(key, []), retries))
    return sorted(calls, key=lambda c: (c.start, c.callid))


@dataclass(frozen=True)
class Query:
    since: float
    until: float | None = None
    site: str | None = None
    user: str | None = None
    failed: bool = False
    route: str | None = None


def selected(calls: Iterable[Call], query: Query, sites_of: Mapping[str, str] | None = None) -> list[Call]:
    """The calls ``query`` asks for: started in its window, on its site (any leg), by or to its user, ..."""
    sites_of = sites_of or {}
    found = []
    for call in calls:
        if call.start < query.since or (query.until is not None and call.start >= query.until):
            continue
        if query.site and query.site not in {sites_of.get(h, call.site) for h in call.servers}:
            continue
        if query.user and query.user not in {
            call.caller_uid, call.caller_ext, call.caller_did, call.callee_uid, call.callee_ext, call.callee_did,
        }:  # fmt: skip
            continue
        if query.failed and not call.failed:
            continue
        if query.route and query.route not in call.routes:
            continue
        found.append(call)
    return found


@dataclass
class Tally:
    attempts: int = 0
    answered: int = 0
    talk_s: float = 0.0
    rated: int = 0
    poor: int = 0

    def add(self, call: Call) -> None:
        self.attempts += 1
        if call.answered:
            self.answered += 1
            self.talk_s += call.talk_s or 0.0
        if call.mos is not None:
            self.rated += 1
            self.poor += call.mos < POOR_MOS

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "answered": self.answered,
            "asr": round(self.answered / self.attempts, 3) if self.attempts else None,
            "average_talk_s": round(self.talk_s / self.answered, 1) if self.answered else None,
            "rated": self.rated,
            "poor_mos_share": round(self.poor / self.rated, 3) if self.rated else None,
        }


def summary(calls: Iterable[Call]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per site (where calls began) and per trunk (calls routed to it): attempts, ASR, talk, poor MOS."""
    sites: dict[str, Tally] = {}
    trunks: dict[str, Tally] = {}
    for call in calls:
        sites.setdefault(call.site or "-", Tally()).add(call)
        if call.route == "trunk" or (call.route == "emergency" and call.target and "." not in call.target):
            trunks.setdefault(call.target or "-", Tally()).add(call)
    return {
        "sites": {name: tally.as_dict() for name, tally in sorted(sites.items())},
        "trunks": {name: tally.as_dict() for name, tally in sorted(trunks.items())},
    }
