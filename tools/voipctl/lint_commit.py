"""``voipctl lint-commit [FILE] | --rev REV``: the repository's commit conventions.

A subject starts with an area (``users: add tnew ...``): one of AREAS, or
the name of a role, a playbook or a module of this repository (the history
also uses ``restore.yml:`` and ``derive.phones:``: the part before the
first dot counts). A commit that touches a production inventory (any
``inventory/ENV/`` other than ``inventory/lab``) names a ticket: a
``Ticket: OPS-123`` trailer or ``[OPS-123]`` in the subject.

As a git ``commit-msg`` hook (``deploy/git-hooks/commit-msg``) it reads the
message file git gives it and the staged files; ``--rev`` lints an existing
commit. Exit 1 on a bad message, with every problem named.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voipctl import paths
from voipctl.changelog_git import ticket_of
from voipctl.commandline import add_command
from voipctl.console import err, out
from voipctl.errors import VoipctlError

# Areas of the history (`git log --format=%s | cut -d: -f1 | sort | uniq -c`), plus the new ones.
AREAS = frozenset(
    {
        *("audit", "backup", "baseline", "bench", "ci", "cti", "dates", "deploy", "derive", "directory"),
        *("docs", "drill", "example", "filters", "foundation", "gateways", "generate", "health", "hrsync"),
        *(
            "inventory",
            "kamailio",
            "lab",
            "library",
            "lint",
            "makefile",
            "model",
            "module_utils",
            "collection",
        ),
        *("modules", "molecule", "netdev", "os_baseline", "phones", "preflight", "provisioning", "readme"),
        *("refactor", "release", "requirements", "restore", "review", "roles", "security", "style"),
        *("switches", "tests", "tools", "trunks", "users", "users_cli", "voipctl"),
    }
)
NON_PRODUCTION = frozenset({"lab"})
SUBJECT = re.compile(r"^(?P<area>[A-Za-z][A-Za-z0-9_.-]*)(?:\([^)]*\))?: +\S")
# Subjects git writes itself, or that mark a commit still to be squashed.
EXEMPT = re.compile(r"^(Merge |Revert \"|fixup! |squash! |amend! )")
MAX_SUBJECT = 120


@dataclass
class Message:
    subject: str
    body: str


def parse_message(text: str) -> Message:
    """The message as git will store it: comments and the scissors part dropped."""
    lines = []
    for line in text.splitlines():
        if line.startswith("# ------------------------ >8 ------------------------"):
            break
        if not line.startswith("#"):
            lines.append(line.rstrip())
    while lines and not lines[0].strip():
        lines.pop(0)
    subject = lines[0].strip() if lines else ""
    return Message(subject, "\n".join(lines[1:]).strip())


def known_areas(root: Path | None) -> set[str]:
    """AREAS plus the roles, playbooks, modules, and the packages and modules under tools/ of the checkout."""
    areas = set(AREAS)
    if root is None:
        return areas
    areas |= {
        p.name for p in (root / "collections/ansible_collections/voip/estate/roles").glob("*") if p.is_dir()
    }
    areas |= {p.stem for p in (root / "playbooks").glob("*.yml")}
    # The collection's plugins (modules, module_utils, filter, action, vars, doc_fragments).
    for path in (root / "collections/ansible_collections/voip/estate/plugins").glob("*/*.py"):
        if not path.name.startswith("_"):
            areas.add(path.stem)
    # Every package and module of the tools (voipctl, voiplab, core, model, checks, derive, ...).
    for path in (root / "tools").rglob("*.py"):
        if path.name == "__init__.py":
            areas.add(path.parent.name)
        elif not path.name.startswith("_"):
            areas.add(path.stem)
    return areas


def production_inventories(files: list[str]) -> list[str]:
    """The production inventories (``inventory/ENV`` other than the lab) that ``files`` touch."""
    found = []
    for name in files:
        parts = PurePosixPath(name).parts
        if len(parts) >= 3 and parts[0] == "inventory" and parts[1] not in NON_PRODUCTION:
            env = f"inventory/{parts[1]}"
            if env not in found:
                found.append(env)
    return found


def lint(message: Message, files: list[str], areas: set[str]) -> list[str]:
    """Problems of a commit message; empty when it is fine."""
    if not message.subject:
        return ["the message is empty"]
    if EXEMPT.match(message.subject):
        return []
    problems = []
    match = SUBJECT.match(message.subject)
    if match is None:
        problems.append(
            f"subject {message.subject!r} does not start with an area: write 'AREA: what changed' "
            f"(e.g. 'users: add tnew (ams, ext 2000) [OPS-123]')"
        )
    else:
        area = match.group("area").lower()
        base = area.removesuffix(".yml").removesuffix(".yaml").split(".", 1)[0]
        if area not in areas and base not in areas:
            problems.append(
                f"area {match.group('area')!r} is not known: use one of {', '.join(sorted(AREAS))}, "
                "or a role, playbook or module name"
            )
    if len(message.subject) > MAX_SUBJECT:
        problems.append(f"subject is {len(message.subject)} characters long; keep it within {MAX_SUBJECT}")
    production = production_inventories(files)
    if production and ticket_of(message.subject, message.body) is None:
        problems.append(
            f"this commit changes the production inventory {', '.join(production)}: name the ticket "
            "with a 'Ticket: OPS-123' trailer or '[OPS-123]' in the subject"
        )
    return problems


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise VoipctlError("git is not installed") from exc
    if done.returncode != 0:
        raise VoipctlError(f"git {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def run(args: argparse.Namespace) -> int:
    root = paths.repo_root()
    if args.rev:
        if args.file:
            raise VoipctlError("give either a message FILE or --rev, not both")
        text = _git(root, "log", "-1", "--format=%B", args.rev)
        files = _git(root, "diff-tree", "--no-commit-id", "-r", "--name-only", "--root", args.rev).split()
        what = f"commit {args.rev}"
    elif args.file:
        path = Path(args.file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VoipctlError(f"cannot read the commit message {path}: {exc}") from exc
        # As a hook: the files being committed are the staged ones (git sets GIT_INDEX_FILE).
        files = _git(root, "diff", "--cached", "--name-only").split()
        what = str(path)
    else:
        raise VoipctlError("give the commit message FILE (as the commit-msg hook does) or --rev REV")
    problems = lint(parse_message(text), files, known_areas(root))
    if problems:
        err.print(f"[bold red]bad commit message[/] ({what}):", markup=True)
        for problem in problems:
            err.print(f"  - {problem}", markup=False, soft_wrap=True)
        return 1
    out.print(f"commit message ok ({what})", markup=False)
    return 0


HELP = "check a commit message: area prefix, ticket for production inventories (commit-msg hook)"


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_command(sub, "lint-commit", HELP, __doc__, raw=False)
    parser.add_argument("file", nargs="?", help="the commit message file (git passes it to commit-msg)")
    parser.add_argument("--rev", help="lint an existing commit instead")
    parser.set_defaults(func=run)
