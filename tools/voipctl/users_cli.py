"""``voipctl user ...`` and ``voipctl grants``: moves, adds and changes as reviewed edits.

Every editing command changes the inventory's YAML round-trip (see
voipctl.directory), validates the resulting estate with the same checks and
messages as ``voipctl validate`` and writes nothing when it is invalid. It
prints the diff of what it changed. ``--dry-run`` stops before writing;
``--commit`` makes one git commit of exactly the changed files, with a
structured message (``users: add jdevries (ams, ext 2041, did +31201234041)``)
and the ``--ticket`` as a trailer.

Input is not trusted: an error is a message (never a traceback) and changes
nothing; every value echoed is cut short (``shown``: ``'AAAA…' (50000000
characters)``); values from the inventory or the command line are printed
as text, never as rich markup (a name ``[/]`` prints as ``[/]``; main()
prints every error message as text).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from voipctl import diagnose_cli, paths
from voipctl import directory as ops
from voipctl.commandline import add_inventory_option
from voipctl.console import bounded, err, out
from voipctl.core.activity import active_features, active_grants, effective_class_of_service, is_leaver
from voipctl.core.dates import cli_date
from voipctl.directory import Change, Directory, DirectoryError
from voipctl.errors import VoipctlError
from voipctl.model.types import shown
from voipctl.validate import render_text

TICKET = re.compile(r"^[A-Z][A-Z0-9]+-\d+$")
# How a batch's commit subject counts its changes: verb -> (one, several), in this order.
NOUNS = {
    "add": ("joiner", "joiners"),
    "leave": ("leaver", "leavers"),
    "move": ("mover", "movers"),
    "rename": ("rename", "renames"),
}


# -- shared flow ------------------------------------------------------------------------


def inventory_of(args: argparse.Namespace) -> Path:
    return Path(args.inventory) if args.inventory else paths.repo_root() / "inventory" / "lab"


def today_of(args: argparse.Namespace) -> datetime.date:
    return args.date or datetime.date.today()


def apply_changes(
    args: argparse.Namespace,
    edit: Callable[[Directory, datetime.date], list[Change]],
    *,
    verb: str,
    batch: str | None = None,
) -> int:
    """Load, edit, validate, show, then write (and commit) or refuse; the exit code.

    ``batch`` names a run of many changes (``hr-sync``): its commit subject
    counts them (see commit_subject).
    """
    inventory = inventory_of(args)
    today = today_of(args)
    if args.ticket and not TICKET.match(args.ticket):
        raise VoipctlError(f"--ticket {shown(args.ticket)} is not a ticket id such as OPS-123")
    directory = Directory(inventory)
    changes = edit(directory, today)
    if not changes or not directory.dirty:
        out.print(f"{verb}: nothing to change")
        return 0
    result = directory.check(today)
    if result.errors:
        err.print(bounded(render_text(result, inventory)), markup=False, soft_wrap=True)
        raise VoipctlError(
            f"{verb}: the change would make the estate invalid; nothing was written", exit_code=1
        )
    _print_changes(changes, directory)
    if args.dry_run:
        out.print("dry run: nothing written")
        return 0
    dirty = sorted(directory.dirty)
    if args.commit:
        _refuse_uncommitted(directory.root, dirty)
    written = directory.write()
    if args.commit and written:
        sha = commit(directory.root, written, changes, args.ticket, batch=batch)
        out.print(f"committed {sha}: {commit_subject(changes, args.ticket, batch=batch)}", markup=False)
    return 0


def _print_changes(changes: list[Change], directory: Directory) -> None:
    table = Table(title="changes", title_justify="left")
    for column in ("change", "user", "what", "also"):
        table.add_column(column)
    for change in changes:
        table.add_row(change.verb, Text(change.user), Text(change.summary), Text("\n".join(change.details)))
    out.print(table)
    diff = directory.diff()
    if diff:
        out.print(Syntax(bounded(diff), "diff", theme="ansi_dark", word_wrap=True))


def count_changes(changes: list[Change]) -> str:
    """``3 joiners, 2 leavers, 1 mover, 1 rename``: changes counted by verb (NOUNS order first)."""
    counts = Counter(change.verb for change in changes)
    verbs = [v for v in NOUNS if v in counts] + sorted(v for v in counts if v not in NOUNS)
    parts = []
    for verb in verbs:
        one, several = NOUNS.get(verb, (verb, verb))
        parts.append(f"{counts[verb]} {one if counts[verb] == 1 else several}")
    return ", ".join(parts)


def commit_subject(changes: list[Change], ticket: str | None, *, batch: str | None = None) -> str:
    """The first line: one change named in full, several by verbs, a batch by counts."""
    if batch:
        subject = f"users: {batch} {count_changes(changes)}"
    elif len(changes) == 1:
        subject = f"users: {changes[0].subject}"
    else:
        verbs = sorted({c.verb for c in changes})
        subject = f"users: {'/'.join(verbs)} {len(changes)} users"
    return subject + (f" [{ticket}]" if ticket else "")


def commit_message(changes: list[Change], ticket: str | None, *, batch: str | None = None) -> str:
    """Subject, then each change with its details, then the ticket trailer."""
    lines = [commit_subject(changes, ticket, batch=batch), ""]
    for change in changes:
        lines.append(f"- {change.subject}")
        lines.extend(f"  {detail}" for detail in change.details)
    if ticket:
        lines += ["", f"Ticket: {ticket}"]
    return "\n".join(lines) + "\n"


def _git(root: Path, *args: str, input_text: str | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, input=input_text, check=False
        )
    except FileNotFoundError as exc:
        raise VoipctlError("git is not installed") from exc
    if done.returncode != 0:
        raise VoipctlError(f"git {' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _refuse_uncommitted(root: Path, files: list[Path]) -> None:
    status = _git(root, "status", "--porcelain", "--", *map(str, files))
    if status.strip():
        raise VoipctlError(
            "--commit: these files have uncommitted changes; commit or discard them first:\n  "
            + "\n  ".join(line[3:] for line in status.splitlines()),
        )


def commit(
    root: Path, files: list[Path], changes: list[Change], ticket: str | None, *, batch: str | None = None
) -> str:
    """Commit exactly ``files`` with the structured message; return the short hash."""
    message = commit_message(changes, ticket, batch=batch)
    _git(root, "add", "--", *map(str, files))
    _git(root, "commit", "-q", "-F", "-", "--", *map(str, files), input_text=message)
    return _git(root, "rev-parse", "--short", "HEAD").strip()


# -- commands ---------------------------------------------------------------------------


def _device(text: str) -> tuple[str, str]:
    mac, sep, model = text.rpartition(":")
    if not sep or not mac or not model:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not MAC:MODEL (e.g. 80:5e:c0:12:34:56:yealink-t54w)"
        )
    return mac, model


def _days(text: str) -> int:
    """A number of days, 0 or more: ``7`` or ``7d``."""
    match = re.fullmatch(r"([0-9]{1,6})d?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of days such as 7d")
    return int(match.group(1))


def _grace_days(text: str) -> int:
    """``--grace-days``: _days, and a clear word for a negative one (it would skip the quarantine)."""
    if re.fullmatch(r"-0*[1-9][0-9]{0,5}d?", text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text.strip()} is negative: a purged leaver's numbers stay out of use for the grace days "
            "(their quarantine); give 0 or more"
        )
    return _days(text)


def _extension(text: str) -> int:
    """An extension: digits only (int() would take ' 12', '1_000' and other scripts' digits)."""
    if not re.fullmatch(r"[0-9]{1,8}", text):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not an extension (2 to 8 digits)")
    return int(text)


def cmd_add(args: argparse.Namespace) -> int:
    def edit(d: Directory, today: datetime.date) -> list[Change]:
        return [
            ops.add(
                d, args.id, name=args.name, site=args.site, today=today, email=args.email,
                extension=args.extension, did=args.did, no_did=args.no_did, class_of_service=args.cos,
                voicemail=args.voicemail, devices=args.device,
            )
        ]  # fmt: skip

    return apply_changes(args, edit, verb="user add")


def cmd_move(args: argparse.Namespace) -> int:
    def edit(d: Directory, today: datetime.date) -> list[Change]:
        return [ops.move(d, args.id, site=args.site, today=today, extension=args.extension, did=args.did)]

    return apply_changes(args, edit, verb="user move")


def cmd_leave(args: argparse.Namespace) -> int:
    def edit(d: Directory, today: datetime.date) -> list[Change]:
        return [ops.leave(d, args.id, today=today, on=args.on)]

    return apply_changes(args, edit, verb="user leave")


def cmd_grant(args: argparse.Namespace) -> int:
    def edit(d: Directory, today: datetime.date) -> list[Change]:
        return [ops.grant(d, args.id, args.feature, until=args.until, reason=args.reason, today=today)]

    return apply_changes(args, edit, verb="user grant")


def cmd_revoke(args: argparse.Namespace) -> int:
    def edit(d: Directory, today: datetime.date) -> list[Change]:
        return [ops.revoke(d, args.id, args.feature, today=today)]

    return apply_changes(args, edit, verb="user revoke")


def cmd_set(args: argparse.Namespace) -> int:
    def edit(d: Directory, today: datetime.date) -> list[Change]:
        return [ops.set_values(d, args.id, args.assignments, today=today)]

    return apply_changes(args, edit, verb="user set")


def cmd_purge(args: argparse.Namespace) -> int:
    def edit(d: Directory, today: datetime.date) -> list[Change]:
        return ops.purge(d, today=today, grace_days=args.grace_days)

    return apply_changes(args, edit, verb="user purge")


def cmd_show(args: argparse.Namespace) -> int:
    directory = Directory(inventory_of(args))
    today = today_of(args)
    user = ops.plain(directory.user(args.id))
    derived = {
        "class_of_service_today": effective_class_of_service(user, today),
        "active_grants": active_grants(user, today),
        "active_features": active_features(user, today),
    }
    if args.format == "json":
        out.print_json(json.dumps({"user": user, "derived": derived, "date": today.isoformat()}, default=str))
        return 0
    title = Text(f"user {args.id} on {today.isoformat()}")
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key")
    table.add_column("value")
    for key, value in user.items():
        text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
        table.add_row(Text(key), Text(text))
    for key, value in derived.items():
        text = json.dumps(value, default=str) if not isinstance(value, str) else value
        table.add_row(Text(key, style="bold"), Text(text))
    out.print(table)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    directory = Directory(inventory_of(args))
    today = today_of(args)
    rows = []
    for user in directory.users.data():
        status = user.get("status", "active")
        if (args.site and user.get("site") != args.site) or (args.status and status != args.status):
            continue
        rows.append(
            {"id": user["id"], "name": user.get("name", ""), "site": user.get("site"),
             "extension": user.get("extension"), "did": user.get("did", ""), "status": status,
             "cos": effective_class_of_service(user, today) if user.get("class_of_service") else "",
             "grants": 0 if is_leaver(user) else len(active_grants(user, today))}
        )  # fmt: skip
    if args.format == "json":
        out.print_json(json.dumps(rows, default=str))
        return 0
    table = Table(title=f"{len(rows)} user(s) on {today.isoformat()}", title_justify="left")
    for column in ("id", "name", "site", "extension", "did", "status", "cos", "grants"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                Text(str(row[c]))
                for c in ("id", "name", "site", "extension", "did", "status", "cos", "grants")
            )
        )
    out.print(table)
    return 0


def cmd_grants(args: argparse.Namespace) -> int:
    if args.prune:

        def edit(d: Directory, today: datetime.date) -> list[Change]:
            return ops.prune_grants(d, today=today)

        return apply_changes(args, edit, verb="grants prune")
    directory = Directory(inventory_of(args))
    rows = ops.expiring(directory, today=today_of(args), within_days=args.expiring)
    if args.format == "json":
        out.print_json(json.dumps(rows))
        return 0
    table = Table(title=f"grants ending within {args.expiring} day(s)", title_justify="left")
    for column in ("user", "feature", "until", "days left", "reason"):
        table.add_column(column)
    for row in rows:
        left = row["days_left"]
        cells = (row["user"], row["feature"], row["until"], "expired" if left < 0 else left, row["reason"])
        table.add_row(*(Text(str(cell)) for cell in cells))
    out.print(table)
    return 0


# -- parser -----------------------------------------------------------------------------


def add_common_options(parser: argparse.ArgumentParser, *, edits: bool) -> None:
    add_inventory_option(parser, "inventory directory")
    parser.add_argument("--date", type=cli_date, help="act as on this day (default: today)")
    if edits:
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and show the diff; write nothing"
        )
        parser.add_argument("--commit", action="store_true", help="git commit exactly the changed files")
        parser.add_argument("--ticket", help="ticket id for the commit message (e.g. OPS-123)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("user", help="moves, adds and changes of users (edits the inventory YAML)")
    users = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    p = users.add_parser("add", help="a joiner: next free extension and DID of the site unless given")
    p.add_argument("id")
    p.add_argument("--name", required=True)
    p.add_argument("--site", required=True)
    p.add_argument("--email")
    p.add_argument("--extension", type=_extension)
    did = p.add_mutually_exclusive_group()
    did.add_argument("--did", help="DID in E.164 (default: the next free one of the site)")
    did.add_argument("--no-did", action="store_true", help="no DID")
    p.add_argument("--cos", default="internal", help="class of service: internal, national, international")
    p.add_argument("--voicemail", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--device", action="append", type=_device, default=[], metavar="MAC:MODEL")
    add_common_options(p, edits=True)
    p.set_defaults(func=cmd_add)

    p = users.add_parser("move", help="a mover: to another site with a number there; references follow")
    p.add_argument("id")
    p.add_argument("--site", required=True)
    p.add_argument("--extension", type=_extension)
    p.add_argument("--did")
    add_common_options(p, edits=True)
    p.set_defaults(func=cmd_move)

    p = users.add_parser("leave", help="a leaver: account, phones, hunt groups and forwards to them removed")
    p.add_argument("id")
    p.add_argument("--on", type=cli_date, help="leave date, today or earlier (default: today)")
    add_common_options(p, edits=True)
    p.set_defaults(func=cmd_leave)

    p = users.add_parser("grant", help="a temporary feature or class of service until a date")
    p.add_argument("id")
    p.add_argument("feature", help="international, national, or a feature such as conference")
    p.add_argument("--until", type=cli_date, required=True)
    p.add_argument("--reason", required=True)
    add_common_options(p, edits=True)
    p.set_defaults(func=cmd_grant)

    p = users.add_parser("revoke", help="end a grant now, or switch a feature off")
    p.add_argument("id")
    p.add_argument("feature")
    add_common_options(p, edits=True)
    p.set_defaults(func=cmd_revoke)

    p = users.add_parser(
        "set",
        help="set KEY=VALUE (name, email, class_of_service, did: text; features.*: a YAML value)",
    )
    p.add_argument("id")
    p.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    add_common_options(p, edits=True)
    p.set_defaults(func=cmd_set)

    p = users.add_parser("purge", help="remove leavers past their grace period; their numbers become free")
    p.add_argument(
        "--grace-days",
        type=_grace_days,
        help="days a leaver's numbers stay out of use, 0 or more (default: "
        "voip_directory_policy.leaver_grace_days, 90)",
    )
    add_common_options(p, edits=True)
    p.set_defaults(func=cmd_purge)

    p = users.add_parser("show", help="one user and what is in force today")
    p.add_argument("id")
    p.add_argument("--format", choices=["table", "json"], default="table")
    add_common_options(p, edits=False)
    p.set_defaults(func=cmd_show)

    p = users.add_parser("list", help="the directory, filtered")
    p.add_argument("--site")
    p.add_argument("--status", choices=["active", "leaver"])
    p.add_argument("--format", choices=["table", "json"], default="table")
    add_common_options(p, edits=False)
    p.set_defaults(func=cmd_list)
    diagnose_cli.register(users)
    _register_grants(sub)


def _register_grants(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("grants", help="temporary grants: what ends soon, and pruning expired ones")
    g.add_argument("--expiring", type=_days, default=7, metavar="DAYS", help="window such as 7d (default 7d)")
    g.add_argument("--prune", action="store_true", help="remove expired grants from the YAML")
    g.add_argument("--format", choices=["table", "json"], default="table")
    add_common_options(g, edits=True)
    g.set_defaults(func=cmd_grants)


__all__ = ["DirectoryError", "register"]
