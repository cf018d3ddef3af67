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
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from voipctl import paths
from voipctl.console import out
from voipctl.errors import VoipctlError
from voipctl.model.yamlfile import ENCRYPTED, VaultValue, YamlFileError, load_text

MASK = "********"
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")
# Key names whose values are secrets (matched on whole words of the key: db_password, enable_secret).
_SECRET_KEY = re.compile(
    r"(^|_)(pass|passwd|password|passphrase|secret|token|key|psk|ha1|hash|community|private)($|_)", re.I
)
TICKET_TRAILER = re.compile(r"^Ticket:\s*(?P<ticket>[A-Z][A-Z0-9]+-\d+)\s*$", re.M)
TICKET_SUBJECT = re.compile(r"\[(?P<ticket>[A-Z][A-Z0-9]+-\d+)\]")
# Generic variables: at most this many changed key paths are listed.
MAX_PATHS = 20
# ... and at most this many in the one-line summary.
SUMMARY_PATHS = 6


# -- secrets ----------------------------------------------------------------------------


def is_secret_key(key: Any) -> bool:
    """A key whose value is a secret (``credentials_ref`` names a vault variable: not a secret)."""
    name = str(key)
    return not name.endswith("_ref") and bool(_SECRET_KEY.search(name))


def masked(value: Any, key: Any = None) -> Any:
    """``value`` with every secret replaced by a mask, recursively."""
    if isinstance(value, VaultValue) or (key is not None and is_secret_key(key)):
        return MASK
    if isinstance(value, str) and value.startswith("$ANSIBLE_VAULT"):
        return MASK
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """JSON-friendly: dates and other scalars as strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# -- git ----------------------------------------------------------------------------------


def git(root: Path, *args: str, check: bool = True) -> str:
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
    if rev is None:
        return []
    return [p for p in git(root, "ls-tree", "-r", "--name-only", rev, "--", prefix).splitlines() if p]


def show(root: Path, rev: str, path: str) -> str | None:
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
    return "vault" in PurePosixPath(rel).name.lower()


@dataclass
class Snapshot:
    """The variables of some entities at one revision; problems reading files."""

    vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    # inventory files: host -> {"groups": [...], "vars": {...}}
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def snapshot(root: Path, rev: str | None, inventory_rel: str, entities: set[str]) -> Snapshot:
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


# -- semantic differences ---------------------------------------------------------------------


@dataclass
class Change:
    kind: str
    subject: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def _keyed(items: Any, key: str) -> dict[str, dict]:
    if not isinstance(items, list):
        return {}
    return {str(i[key]): i for i in items if isinstance(i, dict) and key in i}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf key paths of a value (``a.b[0].c``), secrets masked."""
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if is_secret_key(k) or isinstance(v, VaultValue):
                found[path] = MASK
            else:
                found.update(flatten(v, path))
        return found or ({prefix: {}} if prefix else {})
    if isinstance(value, list):
        found = {}
        for i, v in enumerate(value):
            # A command line's secret follows its option: [..., "--password", "s3cret"].
            after_option = i > 0 and isinstance(value[i - 1], str) and value[i - 1].startswith("-")
            if after_option and is_secret_key(value[i - 1].lstrip("-").replace("-", "_")):
                found[f"{prefix}[{i}]"] = MASK
            else:
                found.update(flatten(v, f"{prefix}[{i}]"))
        return found or ({prefix: []} if prefix else {})
    return {prefix: masked(value)}


def field_changes(before: Any, after: Any, prefix: str = "") -> list[dict[str, Any]]:
    """``[{path, before, after}]`` for every leaf that differs; secrets masked (and noted as changed)."""
    old, new = flatten(before, prefix), flatten(after, prefix)
    found = []
    for path in sorted(set(old) | set(new)):
        if old.get(path, None) != new.get(path, None) or (
            old.get(path) == MASK and _leaf(before, path, prefix) != _leaf(after, path, prefix)
        ):
            found.append({"path": path, "before": plain(old.get(path)), "after": plain(new.get(path))})
    return found


def _leaf(value: Any, path: str, prefix: str) -> Any:
    """The raw value at a flattened path (to tell a changed secret from an unchanged one)."""
    rest = path[len(prefix) :].lstrip(".") if prefix else path
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", rest):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


def _describe(fields: list[dict[str, Any]], limit: int = MAX_PATHS) -> str:
    shown = [f"{f['path']}: {_fmt(f['before'])} -> {_fmt(f['after'])}" for f in fields[:limit]]
    if len(fields) > limit:
        shown.append(f"... and {len(fields) - limit} more")
    return "; ".join(shown)


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def diff_users(before: Any, after: Any) -> Iterator[Change]:
    old, new = _keyed(before, "id"), _keyed(after, "id")
    for uid in [uid for uid in new if uid not in old]:
        u = new[uid]
        yield Change(
            "user_added",
            uid,
            f"user {uid} added ({u.get('name')}, site {u.get('site')}, ext {u.get('extension')}, "
            f"did {_fmt(u.get('did'))})",
            {k: plain(masked(u.get(k), k)) for k in ("name", "site", "extension", "did", "class_of_service")},
        )
    for uid in [uid for uid in old if uid not in new]:
        u = old[uid]
        yield Change(
            "user_removed",
            uid,
            f"user {uid} removed ({u.get('name')}, site {u.get('site')}, ext {u.get('extension')})",
            {k: plain(u.get(k)) for k in ("name", "site", "extension", "did")},
        )
    for uid in sorted(old.keys() & new.keys(), key=list(new).index):
        yield from _diff_user(uid, old[uid], new[uid])


def _diff_user(uid: str, old: dict, new: dict) -> Iterator[Change]:
    numbers = {k: (old.get(k), new.get(k)) for k in ("extension", "did") if old.get(k) != new.get(k)}
    number_text = ", ".join(f"{k} {_fmt(a)} -> {_fmt(b)}" for k, (a, b) in numbers.items())
    if old.get("site") != new.get("site"):
        yield Change(
            "user_moved",
            uid,
            f"user {uid} moved from {old.get('site')} to {new.get('site')}"
            + (f" ({number_text})" if number_text else ""),
            {"site": [old.get("site"), new.get("site")], **{k: plain(list(v)) for k, v in numbers.items()}},
        )
    elif numbers:
        yield Change(
            "user_renumbered",
            uid,
            f"user {uid}: {number_text}",
            {k: plain(list(v)) for k, v in numbers.items()},
        )
    if old.get("name") != new.get("name"):
        yield Change(
            "user_renamed",
            uid,
            f"user {uid} renamed from {old.get('name')!r} to {new.get('name')!r}",
            {"name": [old.get("name"), new.get("name")]},
        )
    if old.get("status", "active") != new.get("status", "active") or old.get("leave_date") != new.get(
        "leave_date"
    ):
        status = new.get("status", "active")
        text = f"user {uid} status {old.get('status', 'active')} -> {status}"
        if new.get("leave_date"):
            text += f" (leave date {new.get('leave_date')})"
        yield Change(
            "user_status",
            uid,
            text,
            {"status": [old.get("status", "active"), status], "leave_date": plain(new.get("leave_date"))},
        )
    if old.get("class_of_service") != new.get("class_of_service"):
        yield Change(
            "user_class_of_service",
            uid,
            f"user {uid} class of service {old.get('class_of_service')} -> {new.get('class_of_service')}",
            {"class_of_service": [old.get("class_of_service"), new.get("class_of_service")]},
        )
    yield from _diff_features(uid, old.get("features") or {}, new.get("features") or {})
    yield from _diff_grants(uid, old.get("grants") or [], new.get("grants") or [])
    yield from _diff_devices(uid, old.get("devices") or [], new.get("devices") or [])
    known = {"id", "name", "site", "extension", "did", "status", "leave_date", "class_of_service"}
    known |= {"features", "grants", "devices"}
    rest = field_changes(
        {k: v for k, v in old.items() if k not in known}, {k: v for k, v in new.items() if k not in known}
    )
    if rest:
        yield Change("user_changed", uid, f"user {uid}: {_describe(rest)}", {"fields": rest})


def _diff_features(uid: str, old: dict, new: dict) -> Iterator[Change]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        old, new = {"features": old}, {"features": new}
    for name in new:
        if name not in old:
            value = plain(masked(new[name], name))
            yield Change(
                "feature_added", uid, f"user {uid}: feature {name} added ({_fmt(value)})", {name: value}
            )
        elif old[name] != new[name]:
            fields = field_changes(old[name], new[name], name)
            yield Change(
                "feature_changed", uid, f"user {uid}: feature {_describe(fields)}", {"fields": fields}
            )
    for name in old:
        if name not in new:
            value = plain(masked(old[name], name))
            yield Change(
                "feature_removed",
                uid,
                f"user {uid}: feature {name} removed (was {_fmt(value)})",
                {name: value},
            )


def _grant_text(grant: dict) -> str:
    parts = []
    if grant.get("until") is not None:
        parts.append(f"until {grant['until']}")
    if grant.get("reason"):
        parts.append(f"reason {grant['reason']!r}")
    return ", ".join(parts)


def _diff_grants(uid: str, old: list, new: list) -> Iterator[Change]:
    before, after = _keyed(old, "feature"), _keyed(new, "feature")
    for feature, grant in after.items():
        details = {k: plain(grant.get(k)) for k in ("feature", "until", "reason")}
        if feature not in before:
            yield Change(
                "grant_added", uid, f"user {uid}: grant {feature} added ({_grant_text(grant)})", details
            )
        elif before[feature] != grant:
            yield Change(
                "grant_changed",
                uid,
                f"user {uid}: grant {feature} changed ({_grant_text(before[feature])} -> {_grant_text(grant)})",
                {**details, "before": {k: plain(v) for k, v in before[feature].items()}},
            )
    for feature, grant in before.items():
        if feature not in after:
            yield Change(
                "grant_revoked",
                uid,
                f"user {uid}: grant {feature} revoked (was {_grant_text(grant)})",
                {k: plain(grant.get(k)) for k in ("feature", "until", "reason")},
            )


def _device_text(devices: Iterable[dict]) -> str:
    return ", ".join(f"{d.get('mac')} ({d.get('model')})" for d in devices) or "none"


def _diff_devices(uid: str, old: list, new: list) -> Iterator[Change]:
    before, after = _keyed(old, "mac"), _keyed(new, "mac")
    norm = {m.lower(): d for m, d in before.items()}
    renorm = {m.lower(): d for m, d in after.items()}
    if set(norm) != set(renorm):
        gone = [d for m, d in norm.items() if m not in renorm]
        came = [d for m, d in renorm.items() if m not in norm]
        kind = "device_swapped" if gone and came else "device_added" if came else "device_removed"
        yield Change(
            kind,
            uid,
            f"user {uid}: devices {_device_text(gone)} -> {_device_text(came)}",
            {"removed": plain(gone), "added": plain(came)},
        )
    for mac in sorted(set(norm) & set(renorm)):
        if norm[mac] != renorm[mac]:
            fields = field_changes(norm[mac], renorm[mac], mac)
            yield Change("device_changed", uid, f"user {uid}: device {_describe(fields)}", {"fields": fields})


def diff_named(kind: str, key: str, before: Any, after: Any) -> Iterator[Change]:
    """Lists of named things (trunks, CTI accounts): added, removed, changed field by field."""
    old, new = _keyed(before, key), _keyed(after, key)
    for name in [n for n in new if n not in old]:
        yield Change(f"{kind}_added", name, f"{kind} {name} added", {"value": plain(masked(new[name]))})
    for name in [n for n in old if n not in new]:
        yield Change(f"{kind}_removed", name, f"{kind} {name} removed", {"value": plain(masked(old[name]))})
    for name in sorted(old.keys() & new.keys()):
        fields = field_changes(old[name], new[name])
        if fields:
            yield Change(f"{kind}_changed", name, f"{kind} {name}: {_describe(fields)}", {"fields": fields})


def diff_release(before: Any, after: Any) -> Iterator[Change]:
    fields = field_changes(before or {}, after or {})
    if not fields:
        return
    old_v = (before or {}).get("version") if isinstance(before, dict) else None
    new_v = (after or {}).get("version") if isinstance(after, dict) else None
    head = f"release {_fmt(old_v)} -> {_fmt(new_v)}" if old_v != new_v else f"release {new_v}"
    yield Change("release_changed", str(new_v), f"{head}: {_describe(fields)}", {"fields": fields})


# variable -> how it is compared
SPECIAL = {
    "voip_users": diff_users,
    "voip_release": diff_release,
    "voip_trunks": lambda a, b: diff_named("trunk", "name", a, b),
    "voip_cti_accounts": lambda a, b: diff_named("cti_account", "name", a, b),
}


def diff_snapshots(before: Snapshot, after: Snapshot, entities: set[str]) -> list[Change]:
    changes: list[Change] = []
    if "inventory" in entities:
        changes += diff_hosts(before.hosts, after.hosts)
    for entity in sorted(entities - {"inventory"}):
        old, new = before.vars.get(entity, {}), after.vars.get(entity, {})
        owner = entity.split(":", 1)[1]
        for var in [*new, *(v for v in old if v not in new)]:
            a, b = old.get(var), new.get(var)
            if a == b:
                continue
            if var in SPECIAL:
                changes += SPECIAL[var](a, b)
            elif var == "voip_gateway":
                fields = field_changes(a or {}, b or {})
                text = (
                    f"gateway {owner} defined ({len(fields)} value(s))"
                    if a is None
                    else f"gateway {owner}: {_describe(fields, SUMMARY_PATHS)}"
                )
                changes.append(Change("gateway_changed", owner, text, {"fields": fields}))
            else:
                fields = field_changes(a, b, var)
                where = entity.replace(":", " ")
                if var not in old:
                    text = f"{var} set in {where} ({len(fields)} value(s))"
                elif var not in new:
                    text = f"{var} removed from {where}"
                else:
                    text = f"{var} ({where}): {_describe(fields, SUMMARY_PATHS)}"
                changes.append(
                    Change(
                        "variable_changed",
                        f"{where}: {var}",
                        text,
                        {"entity": entity, "variable": var, "fields": fields[:MAX_PATHS]},
                    )
                )
    return changes


def diff_hosts(before: dict, after: dict) -> list[Change]:
    changes = []
    for host in after.keys() - before.keys():
        entry = after[host]
        changes.append(
            Change(
                "host_added",
                host,
                f"host {host} added (groups {', '.join(entry['groups'])})",
                {"groups": entry["groups"], "vars": plain(masked(entry["vars"]))},
            )
        )
    for host in before.keys() - after.keys():
        changes.append(
            Change("host_removed", host, f"host {host} removed", {"groups": before[host]["groups"]})
        )
    for host in sorted(before.keys() & after.keys()):
        fields = field_changes(before[host], after[host])
        if fields:
            changes.append(
                Change("host_changed", host, f"host {host}: {_describe(fields)}", {"fields": fields})
            )
    return sorted(changes, key=lambda c: (c.kind, c.subject))


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


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "changelog",
        help="what changed in the estate model between two revisions (users, grants, releases, hosts, ...)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("range", nargs="?", help="REV1..REV2 (commits after REV1 up to REV2)")
    parser.add_argument("--since", help="commits since this date (git's --since: 2026-11-01, '2 weeks ago')")
    parser.add_argument("-i", "--inventory", help="inventory (default: inventory/lab)")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.set_defaults(func=run)
