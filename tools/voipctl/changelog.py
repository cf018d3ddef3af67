"""``voipctl changelog REV1..REV2 | --since DATE``: the git history as an estate-level change report.

Auditors read the history of the estate model, not YAML diffs. For every
commit in the range (oldest first, merges left out: their changes are
reported at the commits that made them) that touches the inventory, the
model files of the entities it touched are read at the commit and at its
parent with ``git show REV:PATH`` and compared semantically: users added,
removed, moved, renamed or renumbered, features and grants added or
revoked, devices swapped, the release manifest, hosts, trunks, gateways and
CTI accounts; any other variable is reported by the key paths that changed.

Each change carries the commit, its author, date and ticket (a ``Ticket:``
trailer, or an ``[OPS-123]`` in the subject, as ``voipctl user --commit``
writes them). Secret values never appear: vault-encrypted files are not
read, ``!vault`` values and the values of keys that look like passwords,
secrets or keys are masked.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from voipctl import paths
from voipctl.changelog_diff import (
    MASK,
    SPECIAL,
    Change,
    diff_snapshots,
    diff_users,
    field_changes,
    is_secret_key,
)
from voipctl.changelog_git import changed_files, commits, entity_of, git, is_vault_path, snapshot
from voipctl.commandline import add_command, add_inventory_option
from voipctl.console import out
from voipctl.errors import VoipctlError

# -- the report --------------------------------------------------------------------------------


@dataclass
class CommitReport:
    commit: str
    author: str
    email: str
    date: str
    subject: str
    ticket: str | None
    changes: list[Change]


def report(root: Path, inventory: Path, revs: str | None, since: str | None) -> dict[str, Any]:
    """Every commit of the range that changed the model, with its semantic changes."""
    try:
        inventory_rel = str(inventory.resolve().relative_to(root.resolve()))
    except ValueError as exc:
        raise VoipctlError(f"inventory {inventory} is not inside the repository {root}") from exc
    if revs and ".." not in revs and not since:
        raise VoipctlError(f"range {revs!r} is not REV1..REV2", hint="e.g. voipctl changelog v1..HEAD")
    for rev in (revs or "").split(".."):
        if rev and not git(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False).strip():
            raise VoipctlError(f"{rev!r} (in {revs!r}) is not a commit of the repository {root}")
    entries: list[CommitReport] = []
    problems: list[str] = []
    for c in commits(root, inventory_rel, revs, since):
        rels = [
            str(PurePosixPath(p).relative_to(inventory_rel)) for p in changed_files(root, c, inventory_rel)
        ]
        entities = {e for r in rels if not is_vault_path(r) and (e := entity_of(r))}
        if not entities:
            continue
        before = snapshot(root, c.parent, inventory_rel, entities)
        after = snapshot(root, c.sha, inventory_rel, entities)
        problems += before.problems + after.problems
        changes = diff_snapshots(before, after, entities)
        if changes:
            entries.append(CommitReport(c.sha, c.author, c.email, c.date, c.subject, c.ticket, changes))
    return {
        "inventory": inventory_rel,
        "range": revs,
        "since": since,
        "commits": [asdict(e) for e in entries],
        "problems": sorted(set(problems)),
    }


def markdown(data: dict[str, Any]) -> str:
    what = data["range"] or "HEAD"
    if data["since"]:
        what = f"{what} since {data['since']}"
    lines = [f"# Estate changes: {what} ({data['inventory']})", ""]
    if not data["commits"]:
        lines.append("No change to the estate model.")
    for entry in data["commits"]:
        lines.append(f"## {entry['commit'][:10]} {entry['subject']}")
        lines.append("")
        lines.append(
            f"{entry['author']} <{entry['email']}>, {entry['date']}, ticket {entry['ticket'] or '(none)'}"
        )
        lines.append("")
        lines += [f"- {c['summary']}" for c in entry["changes"]]
        lines.append("")
    if data["problems"]:
        lines += ["## Files that could not be read", ""] + [f"- {p}" for p in data["problems"]] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def run(args: argparse.Namespace) -> int:
    root = paths.repo_root()
    if not args.range and not args.since:
        raise VoipctlError("give a range REV1..REV2 or --since DATE")
    inventory = paths.resolve_inventory(root, args.inventory)
    data = report(root, inventory, args.range, args.since)
    text = json.dumps(data, indent=2) + "\n" if args.format == "json" else markdown(data)
    if args.format == "json":
        sys.stdout.write(text)
    else:
        out.print(text, markup=False, soft_wrap=True, end="")
    return 0


HELP = "what changed in the estate model between two revisions (users, grants, releases, hosts, ...)"


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_command(sub, "changelog", HELP, __doc__, raw=False)
    parser.add_argument("range", nargs="?", help="REV1..REV2 (commits after REV1 up to REV2)")
    parser.add_argument("--since", help="commits since this date (git's --since: 2026-11-01, '2 weeks ago')")
    add_inventory_option(parser)
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.set_defaults(func=run)


__all__ = [
    "MASK",
    "SPECIAL",
    "diff_users",
    "field_changes",
    "is_secret_key",
    "markdown",
    "register",
    "report",
]
