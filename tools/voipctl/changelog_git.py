"""The git side of ``voipctl changelog``: the commits of a range and the model at one revision.

The non-merge commits that touch the inventory (oldest first), the files
each changed, and the variables of the entities it touched, read at a
revision with ``git show REV:PATH``. Vault-encrypted files are not read.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from voipctl.errors import VoipctlError
from voipctl.model.yamlfile import ENCRYPTED, YamlFileError, load_text

VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")
TICKET_TRAILER = re.compile(r"^Ticket:\s*(?P<ticket>[A-Z][A-Z0-9]+-\d+)\s*$", re.M)
TICKET_SUBJECT = re.compile(r"\[(?P<ticket>[A-Z][A-Z0-9]+-\d+)\]")


def git(root: Path, *args: str, check: bool = True) -> str:
    """The output of ``git ARGS`` in ``root``; VoipctlError when it fails (empty text when not ``check``)."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise VoipctlError("git is not installed") from exc
    if check and done.returncode != 0:
        raise VoipctlError(f"git {' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout if done.returncode == 0 else ""


@dataclass
class Commit:
    sha: str
    author: str
    email: str
    date: str
    subject: str
    body: str
    parent: str | None

    @property
    def ticket(self) -> str | None:
        return ticket_of(self.subject, self.body)


def ticket_of(subject: str, body: str) -> str | None:
    """The commit's ticket: its ``Ticket:`` trailer, else an ``[OPS-123]`` in the subject."""
    found = TICKET_TRAILER.findall(body)
    if found:
        return found[-1]
    match = TICKET_SUBJECT.search(subject)
    return match.group("ticket") if match else None


_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%s", "%b")


def commits(root: Path, inventory_rel: str, revs: str | None, since: str | None) -> list[Commit]:
    """Non-merge commits touching the inventory, oldest first."""
    args = ["log", "--reverse", "--no-merges", f"--format={'%x1f'.join(_FIELDS)}%x1e"]
    if since:
        args.append(f"--since={since}")
        args.append(revs or "HEAD")
    else:
        args.append(revs or "HEAD")
    text = git(root, *args, "--", inventory_rel)
    found = []
    for record in text.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents, author, email, date, subject, body = record.split("\x1f")
        parent = parents.split()[0] if parents.strip() else None
        found.append(Commit(sha, author, email, date, subject, body.strip(), parent))
    return found


def changed_files(root: Path, commit: Commit, inventory_rel: str) -> list[str]:
    """Repository paths under the inventory that the commit changed (renames as delete + add)."""
    args = ["diff-tree", "--no-commit-id", "-r", "--name-only", "--no-renames"]
    args += [commit.parent, commit.sha] if commit.parent else ["--root", commit.sha]
    return [p for p in git(root, *args, "--", inventory_rel).splitlines() if p]


def tree_files(root: Path, rev: str | None, prefix: str) -> list[str]:
    """The files under ``prefix`` at ``rev`` (none without a revision: before the first commit)."""
    if rev is None:
        return []
    return [p for p in git(root, "ls-tree", "-r", "--name-only", rev, "--", prefix).splitlines() if p]


def show(root: Path, rev: str, path: str) -> str | None:
    """The text of ``path`` at ``rev``; None when it is not there or not UTF-8."""
    done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, check=False)
    if done.returncode != 0:
        return None
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


# -- the model at one revision ----------------------------------------------------------------


def entity_of(rel: str) -> str | None:
    """``group:NAME``, ``host:NAME`` or ``inventory`` for a path relative to the inventory."""
    parts = PurePosixPath(rel).parts
    if len(parts) == 1:
        return "inventory" if PurePosixPath(rel).suffix in (".yml", ".yaml", ".json") else None
    kind = {"group_vars": "group", "host_vars": "host"}.get(parts[0])
    if kind is None:
        return None
    name = parts[1]
    if len(parts) == 2:
        stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
        name = stem if suffix in VARS_SUFFIXES[1:] else name
    return f"{kind}:{name}"


def is_vault_path(rel: str) -> bool:
    """A vault file by its name (never read)."""
    return "vault" in PurePosixPath(rel).name.lower()


@dataclass
class Snapshot:
    """The variables of some entities at one revision; problems reading files."""

    vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    # inventory files: host -> {"groups": [...], "vars": {...}}
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def snapshot(root: Path, rev: str | None, inventory_rel: str, entities: set[str]) -> Snapshot:
    """The variables of ``entities`` at ``rev`` (vault and hidden files not read); problems noted."""
    snap = Snapshot()
    if rev is None:
        return snap
    for path in tree_files(root, rev, inventory_rel):
        rel = str(PurePosixPath(path).relative_to(inventory_rel))
        entity = entity_of(rel)
        if entity not in entities or is_vault_path(rel) or PurePosixPath(rel).name.startswith("."):
            continue
        text = show(root, rev, path)
        if text is None:
            continue
        try:
            data = load_text(text)
        except YamlFileError as exc:
            snap.problems.append(f"{path}@{rev[:8]}: invalid YAML: {exc.message}")
            continue
        if data is ENCRYPTED or data is None:
            continue
        if not isinstance(data, dict):
            snap.problems.append(f"{path}@{rev[:8]}: not a mapping")
            continue
        if entity == "inventory":
            _read_groups(snap.hosts, data, parent=None)
        else:
            snap.vars.setdefault(entity, {}).update({str(k): v for k, v in data.items()})
    return snap


def _read_groups(hosts: dict[str, dict[str, Any]], data: dict, parent: str | None) -> None:
    """Add the hosts of an inventory file's groups (and their children) to ``hosts``."""
    for group, body in data.items():
        if not isinstance(body, dict):
            continue
        for host, hvars in (body.get("hosts") or {}).items():
            entry = hosts.setdefault(str(host), {"groups": [], "vars": {}})
            if str(group) != "all" and str(group) not in entry["groups"]:
                entry["groups"].append(str(group))
            if isinstance(hvars, dict):
                entry["vars"].update({str(k): v for k, v in hvars.items()})
        children = body.get("children")
        if isinstance(children, dict):
            _read_groups(hosts, children, parent=str(group))
