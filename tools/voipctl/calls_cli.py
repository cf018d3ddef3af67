"""``voipctl calls``: the call records of the estate's call servers, one read per server.

``playbooks/calls.yml`` reads each call server's records of the window
(module call_records) into one JSON file per server; ``voipctl.calls``
joins them into calls, this module filters and shows them: a table, JSON,
CSV, or ``--summary`` per site and per trunk.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from voipctl import paths
from voipctl.adapters import inventory, playbook
from voipctl.calls import ROUTES, Call, Query, join, selected, stamp, summary
from voipctl.commandline import add_inventory_option
from voipctl.console import err, out
from voipctl.core.text import shown
from voipctl.directory import Directory
from voipctl.errors import VoipctlError

# An answered call's end can come hours after its start: the records are
# read this much past --until, so that calls begun in the window have theirs.
END_SLACK_S = 12 * 3600
_AGO = re.compile(r"^([0-9]{1,6})([mhd])$")
_PARTY = re.compile(r"^[A-Za-z0-9+._-]{1,64}$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
CSV_FIELDS = (
    "time", "site", "servers", "caller_uid", "caller_ext", "caller_did", "dialled", "kind", "callee_uid",
    "callee_ext", "callee_did", "route", "target", "code", "reason", "setup_s", "talk_s", "ended", "mos",
    "mos_min", "loss_pct", "jitter_ms", "rtt_ms", "packets", "retries", "callid",
)  # fmt: skip


def moment(text: str, now: float | None = None) -> float:
    """Seconds since the epoch from ``2h`` / ``30m`` / ``7d`` ago, a date, or an ISO time (UTC unless it says)."""
    now = time.time() if now is None else now
    found = _AGO.match(text)
    if found:
        return now - int(found.group(1)) * _UNITS[found.group(2)]
    if re.fullmatch(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?)?", text
    ):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    raise argparse.ArgumentTypeError(
        f"{shown(text)} is not a time: give 30m, 2h or 7d ago, a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM[:SS][Z]"
    )


def _party(text: str) -> str:
    """A user id, extension or DID: the only characters that reach the call servers' query."""
    if not _PARTY.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a user id, extension or DID")
    return text


def parties_of(user: str, users: list[Mapping[str, Any]]) -> list[str]:
    """``user`` and the other names of the model's user it names (id, extension, DID): a call's legs
    on other servers know the caller by extension or DID only."""
    for entry in users:
        names = [str(entry[k]) for k in ("id", "extension", "did") if entry.get(k) not in (None, "")]
        if user in names:
            return names
    return [user]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "calls", help="the call records of the call servers: who called whom, how it went"
    )
    add_inventory_option(parser)
    parser.add_argument("--since", type=moment, default=None, help="start of the window (default: 24h ago)")
    parser.add_argument("--until", type=moment, default=None, help="end of the window (default: now)")
    parser.add_argument("--site", help="calls with a leg on this site's call servers")
    parser.add_argument("--user", type=_party, help="calls by or to this user (model id, extension or DID)")
    parser.add_argument("--failed", action="store_true", help="only calls that were not answered")
    parser.add_argument("--route", choices=ROUTES, help="only calls that took this route")
    parser.add_argument(
        "--summary", action="store_true", help="per site and per trunk: attempts, ASR, talk, MOS"
    )
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.set_defaults(func=cmd_calls)


def gather(
    root: Path, inv_path: Path, since: float, until: float | None, parties: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Each call server's file of records (host -> {site, error, truncated, records})."""
    with tempfile.TemporaryDirectory(prefix="voip-calls-") as tmp:
        args: dict[str, Any] = {
            "calls_dir": tmp,
            "calls_since": f"{since:.3f}",
            "calls_parties": parties or [],
        }
        if until is not None:
            args["calls_until"] = f"{until + END_SLACK_S:.3f}"
        extra = Path(tmp) / "args.json"
        extra.write_text(json.dumps(args))
        result = playbook.run(root, "playbooks/calls.yml", inv_path, ["-e", f"@{extra}"], echo=False)
        found = {p.stem: json.loads(p.read_text()) for p in Path(tmp).glob("*.json") if p.name != "args.json"}
    if not found:
        raise VoipctlError(
            f"playbooks/calls.yml read nothing (exit {result.returncode}): {result.output[-600:]}"
        )
    return found


def _warn_about(found: Mapping[str, Mapping[str, Any]], servers: list[str]) -> None:
    for host in servers:
        if host not in found:
            err.print(
                Text(
                    f"warning: {host}: its records could not be read (unreachable?): calls through it are missing"
                )
            )
    for host, data in sorted(found.items()):
        if data.get("error"):
            err.print(Text(f"warning: {host}: {data['error']}"))
        if data.get("truncated"):
            err.print(
                Text(
                    f"warning: {host}: more records than one read returns: narrow the window (--since/--until)"
                )
            )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def table(calls: list[Call]) -> Table:
    view = Table(title=f"{len(calls)} calls", show_lines=False)
    for name in (
        "time (UTC)",
        "site",
        "caller",
        "dialled",
        "callee",
        "route",
        "code",
        "setup s",
        "talk s",
        "MOS",
        "loss %",
    ):
        view.add_column(name)
    for call in calls:
        caller = call.caller_uid or call.caller_ext
        callee = call.callee_uid or call.callee_ext
        route = call.route + (f" {call.target}" if call.target else "")
        mos = "" if call.mos is None else f"{call.mos:.1f}"
        loss = "" if call.loss_pct is None else f"{call.loss_pct:.1f}"
        cells = (stamp(call.start), call.site, caller, call.dialled, callee, route, f"{call.code} {call.reason}",
                 _seconds(call.setup_s), _seconds(call.talk_s), mos, loss)  # fmt: skip
        view.add_row(*(Text(cell) for cell in cells))
    return view


def summary_table(data: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Table:
    view = Table(title="calls by site and by trunk")
    for name in ("", "attempts", "answered", "ASR", "average talk s", "rated", "poor MOS"):
        view.add_column(name)
    for kind in ("sites", "trunks"):
        for name, tally in data[kind].items():
            asr = "" if tally["asr"] is None else f"{tally['asr']:.0%}"
            talk = "" if tally["average_talk_s"] is None else f"{tally['average_talk_s']:.1f}"
            poor = "" if tally["poor_mos_share"] is None else f"{tally['poor_mos_share']:.0%}"
            label = f"{kind[:-1]} {name}"
            view.add_row(
                *(
                    Text(str(c))
                    for c in (label, tally["attempts"], tally["answered"], asr, talk, tally["rated"], poor)
                )
            )
    return view


def as_csv(calls: list[Call]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for call in calls:
        row = call.as_dict()
        row["servers"] = ">".join(call.servers)
        # A spreadsheet runs a cell that starts with = + - @ as a formula: never one of a caller's.
        writer.writerow(
            {k: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v for k, v in row.items()}
        )
    return buffer.getvalue()


def cmd_calls(args: argparse.Namespace) -> int:
    root = paths.repo_root()
    inv_path = Path(args.inventory).resolve() if args.inventory else root / "inventory" / "lab"
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    now = time.time()
    since = args.since if args.since is not None else now - 86400
    if args.until is not None and args.until <= since:
        raise VoipctlError(f"--until ({stamp(args.until)}) is not after --since ({stamp(since)})")
    inv = inventory.load(inv_path, only=("voip_site",))
    servers = list(inv.groups.get("call_servers", []))
    if not servers:
        raise VoipctlError(f"{inv_path}: no call servers in the inventory")
    err.print(f"calls: reading the records of {len(servers)} call servers since {stamp(since)}")
    parties = parties_of(args.user, Directory(inv_path).users.data()) if args.user else None
    found = gather(root, inv_path, since, args.until, parties)
    _warn_about(found, servers)
    sites_of = {h: inv.hosts[h].get("voip_site") or "" for h in servers}
    rows = {
        host: (sites_of.get(host, data.get("site", "")), data.get("records") or [])
        for host, data in found.items()
    }
    query = Query(
        since=since, until=args.until, site=args.site, user=args.user, failed=args.failed, route=args.route
    )
    calls = selected(join(rows), query, sites_of)
    if args.summary:
        data = summary(calls)
        if args.format == "table":
            out.print(summary_table(data))
        elif args.format == "json":
            out.file.write(json.dumps(data, indent=2) + "\n")
        else:
            raise VoipctlError("--summary takes --format table or json")
        return 0
    if args.format == "table":
        out.print(table(calls))
    elif args.format == "json":
        out.file.write(json.dumps([c.as_dict() for c in calls], indent=2) + "\n")
    else:
        out.file.write(as_csv(calls))
    return 0
