"""The user directory of an inventory, edited round-trip.

Moves, adds and changes edit the inventory's YAML with ruamel.yaml in
round-trip mode: comments, key order, quoting and flow style are kept, so a
change's diff shows only the lines it means. A change touches every file
that refers to the user (the directory itself, other users' forwards, hunt
groups, switch ports patched to the user's phones), and the resulting estate
is validated, in a scratch copy of the inventory, before any file is written.

Operations are functions ``op(directory, ..., today) -> Change``; they edit
the loaded documents only. ``Directory.check`` validates the edited estate,
``Directory.write`` writes the changed files (atomically).
"""

from __future__ import annotations

import copy
import datetime
import difflib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from voipctl.derive.users import (
    COS_RANK,
    as_date,
    expired_grants,
    next_free_did,
    next_free_extension,
)
from voipctl.errors import VoipctlError
from voipctl.model import fastyaml
from voipctl.model.checks import Result, validate

# Key order of a new user entry (the order the directories are written in).
USER_KEYS = (
    "id", "name", "email", "site", "extension", "did", "class_of_service",
    "features", "grants", "devices", "status", "leave_date",
)  # fmt: skip
DEFAULT_GRACE_DAYS = 90


class DirectoryError(VoipctlError):
    """A change that cannot be made (unknown user, bad argument, invalid result)."""


@dataclass
class Change:
    """What one operation did: ``verb user (summary)`` and its detail lines."""

    verb: str
    user: str
    summary: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return f"{self.verb} {self.user}" + (f" ({self.summary})" if self.summary else "")


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def plain(value: Any) -> Any:
    """A round-trip node as plain Python data (for the derive functions)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def flow_map(**items: Any) -> CommentedMap:
    """A ``{key: value}`` mapping written in flow style, like the directories' devices and grants."""
    node = CommentedMap(items)
    node.fa.set_flow_style()
    return node


_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def unified_diff(before: str, after: str, fromfile: str, tofile: str, context: int = 3) -> list[str]:
    """difflib's unified diff of two texts, computed on the lines between their common start and end.

    difflib compares whole sequences (half a second for a 10,000-user file
    where one entry changed); the lines both texts share at the start and
    the end cannot be in a hunk but as context, so they are cut off first and
    the hunk line numbers moved back. The result is difflib's own.
    """
    a, b = before.splitlines(True), after.splitlines(True)
    limit = min(len(a), len(b))
    head = 0
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    start = max(0, head - context)
    keep = max(0, tail - context)
    out = []
    for line in difflib.unified_diff(
        a[start : len(a) - keep], b[start : len(b) - keep], fromfile, tofile, n=context
    ):
        match = _HUNK.match(line) if line.startswith("@@") else None
        if match and start:
            old, old_len, new, new_len = match.groups()
            line = f"@@ -{int(old) + start}{old_len or ''} +{int(new) + start}{new_len or ''} @@\n"
        out.append(line)
    return out


class Directory:
    """The YAML documents of one inventory directory that user changes edit."""

    def __init__(self, inventory: Path):
        inventory = Path(inventory)
        if inventory.is_file():
            inventory = inventory.parent
        if not inventory.is_dir():
            raise DirectoryError(f"inventory {inventory} does not exist")
        self.root = inventory
        self._yaml = _yaml()
        self._docs: dict[Path, Any] = {}
        self._original: dict[Path, str] = {}
        self.dirty: set[Path] = set()
        # Rendering a large directory is the expensive part: once per change.
        self._rendered: dict[Path, str] = {}
        found = self.files_with("voip_users", scope=("group_vars",))
        if not found:
            raise DirectoryError(f"{inventory}: no file in group_vars defines voip_users")
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(self.root)) for p in found)
            raise DirectoryError(f"{inventory}: voip_users is defined in several files ({names})")
        self.users_file = found[0]
        self._users = _UserFile(self.users_file, self._yaml)

    # -- files -----------------------------------------------------------------

    def _yaml_files(self, scope: Iterable[str]) -> Iterator[Path]:
        for sub in scope:
            base = self.root / sub
            if base.is_dir():
                for path in sorted(base.rglob("*")):
                    if path.suffix in (".yml", ".yaml") and path.is_file():
                        yield path

    def files_with(self, key: str, scope: Iterable[str] = ("group_vars", "host_vars")) -> list[Path]:
        """Files whose top level defines ``key`` (encrypted files are skipped; nothing is parsed)."""
        pattern = re.compile(rf"^{re.escape(key)}:", re.MULTILINE)
        found = []
        for path in self._yaml_files(scope):
            text = path.read_text()
            if not text.startswith("$ANSIBLE_VAULT") and pattern.search(text):
                found.append(path)
        return found

    def doc(self, path: Path) -> Any:
        if path == self.users_file:
            raise DirectoryError("internal: the user directory is edited through Directory.users")
        if path not in self._docs:
            text = path.read_text()
            self._original[path] = text
            try:
                self._docs[path] = self._yaml.load(text)
            except Exception as exc:  # ruamel raises several error types
                raise DirectoryError(f"{path.relative_to(self.root)}: invalid YAML: {exc}") from exc
        return self._docs[path]

    def touch(self, path: Path) -> None:
        """Mark ``path`` changed (call after editing its document)."""
        self.dirty.add(path)
        self._rendered.pop(path, None)

    def render(self, path: Path) -> str:
        if path not in self._rendered:
            self._rendered[path] = self._users.render() if path == self.users_file else self._render(path)
        return self._rendered[path]

    def original(self, path: Path) -> str:
        return self._users.text if path == self.users_file else self._original[path]

    def _render(self, path: Path) -> str:
        buf = io.StringIO()
        if self._original[path].lstrip().startswith("---"):
            self._yaml.explicit_start = True
        else:
            self._yaml.explicit_start = False
        self._yaml.dump(self._docs[path], buf)
        return buf.getvalue()

    def diff(self) -> str:
        """Unified diff of every changed file against what was read."""
        chunks = []
        for path in sorted(self.dirty):
            rel = str(path.relative_to(self.root))
            chunks.extend(unified_diff(self.original(path), self.render(path), f"a/{rel}", f"b/{rel}"))
        return "".join(chunks)

    def check(self, today: datetime.date) -> Result:
        """Validate the estate as it would be after the changes, without writing the inventory."""
        with tempfile.TemporaryDirectory(prefix="voipctl-check-") as tmp:
            copy = Path(tmp) / self.root.name
            shutil.copytree(self.root, copy, symlinks=True)
            for path in self.dirty:
                (copy / path.relative_to(self.root)).write_text(self.render(path))
            return validate(copy, today)

    def write(self) -> list[Path]:
        """Write every changed file atomically (same mode); return them."""
        written = []
        for path in sorted(self.dirty):
            text = self.render(path)
            if text == self.original(path):
                continue
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
                os.chmod(tmp, path.stat().st_mode & 0o7777)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            if path == self.users_file:
                self._users = self._users.written(text)
            else:
                self._original[path] = text
            written.append(path)
        self.dirty.clear()
        return written

    # -- model access ------------------------------------------------------------

    @property
    def users(self) -> _UserFile:
        """The user directory: plain data for reading, nodes for the entries a change edits."""
        return self._users

    def user(self, uid: str) -> CommentedMap:
        """The editable node of user ``uid`` (DirectoryError naming close ids when unknown)."""
        index = self._users.index_of(uid)
        if index is None:
            ids = [str(u.get("id")) for u in self._users.data()]
            close = difflib.get_close_matches(uid, ids, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise DirectoryError(f"no user {uid!r} in {self.users_file.relative_to(self.root)}{hint}")
        return self._users.node(index)

    def estate(self, key: str, default: Any = None) -> Any:
        """An estate-wide variable (group_vars) as plain data."""
        for path in self.files_with(key, scope=("group_vars",)):
            return plain(self.doc(path)[key])
        return default

    @property
    def sites(self) -> dict[str, Any]:
        return self.estate("voip_sites", {}) or {}

    def grace_days(self) -> int:
        policy = self.estate("voip_directory_policy", {}) or {}
        return int(policy.get("leaver_grace_days", DEFAULT_GRACE_DAYS))


class _UserFile:
    """The file holding ``voip_users``, edited entry by entry.

    A directory of thousands of users would take ruamel.yaml tens of seconds
    to load and dump whole. The file is instead split into its users' text
    blocks (an entry runs from its ``- `` line to the next entry's); reading
    uses the fast parser's plain data, and only the entries a change edits
    are loaded (and dumped again) by ruamel.yaml. Untouched entries keep
    their exact text. A file whose layout is not a plain block sequence under
    a top-level ``voip_users:`` is edited whole, the slow way.
    """

    def __init__(self, path: Path, yaml: YAML):
        self.path = path
        self.text = path.read_text()
        self._yaml = yaml
        self._head, blocks, self._tail = _split_users(self.text)
        try:
            data = fastyaml.parse(self.text)
        except fastyaml.Unsupported:
            data = None
        plain_users = data.get("voip_users") if isinstance(data, dict) else None
        if blocks is None or not isinstance(plain_users, list) or len(plain_users) != len(blocks):
            raise DirectoryError(
                f"{path.name}: voip_users must be a block sequence under a top-level 'voip_users:' key"
            )
        # Per entry: [original text or None, plain data, ruamel node or None]
        self._entries: list[list[Any]] = [[b, u, None] for b, u in zip(blocks, plain_users, strict=True)]
        self._index: dict[str, int] | None = None

    def written(self, text: str) -> _UserFile:
        """The file as it is after ``text`` (this file's rendering) was written, without parsing it again."""
        head, blocks, tail = _split_users(text)
        if blocks is None or len(blocks) != len(self._entries):
            return _UserFile(self.path, self._yaml)
        new = copy.copy(self)
        new.text, new._head, new._tail = text, head, tail
        new._entries = [[b, d, None] for b, d in zip(blocks, self.data(), strict=True)]
        new._index = None
        return new

    # reading
    def data(self) -> list[dict[str, Any]]:
        """Every user as plain data, edits included."""
        return [plain(node) if node is not None else data for _, data, node in self._entries]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.data())

    def __len__(self) -> int:
        return len(self._entries)

    def index_of(self, uid: str) -> int | None:
        if self._index is None:
            self._index = {
                str(node.get("id") if node is not None else data.get("id")): i
                for i, (_, data, node) in enumerate(self._entries)
            }
        return self._index.get(uid)

    # editing
    def node(self, index: int) -> CommentedMap:
        entry = self._entries[index]
        if entry[2] is None:
            seq = self._yaml.load(entry[0])
            entry[2] = seq[0]
        return entry[2]

    def append(self, node: CommentedMap) -> None:
        self._entries.append([None, None, node])
        self._index = None

    def remove(self, uid: str) -> None:
        index = self.index_of(uid)
        if index is None:
            raise DirectoryError(f"no user {uid!r}")
        del self._entries[index]
        self._index = None

    def render(self) -> str:
        out = [self._head]
        for text, _, node in self._entries:
            if node is None:
                out.append(text)
            else:
                buf = io.StringIO()
                self._yaml.explicit_start = False
                seq = CommentedSeq([node])
                self._yaml.dump(seq, buf)
                out.append(buf.getvalue())
        out.append(self._tail)
        return "".join(out)


def _split_users(text: str) -> tuple[str, list[str] | None, str]:
    """(head, entry blocks, tail) of a file whose top-level ``voip_users:`` holds a block sequence."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "voip_users:"), None)
    if start is None:
        return text, None, ""
    blocks: list[list[str]] = []
    indent = None
    end = len(lines)
    for i in range(start + 1, len(lines)):
        line = lines[i]
        stripped = line.lstrip(" ")
        if not stripped.strip() or stripped.startswith("#"):
            if blocks:
                blocks[-1].append(line)
                continue
            if indent is None:
                return text, None, ""
        column = len(line) - len(stripped)
        if column == 0 and stripped.strip() and not stripped.startswith("#"):
            end = i
            break
        if stripped.startswith("- ") and (indent is None or column == indent):
            indent = column
            blocks.append([line])
        elif blocks and column > (indent or 0):
            blocks[-1].append(line)
        else:
            return text, None, ""
    head = "".join(lines[: start + 1])
    return head, ["".join(b) for b in blocks], "".join(lines[end:])


# -- references to a user's numbers and phones ----------------------------------


def _forward_refs(directory: Directory, extension: int) -> Iterator[tuple[CommentedMap, str]]:
    """(user node, kind) of every call forward to ``extension`` (scanned on plain data)."""
    for index, other in enumerate(directory.users.data()):
        forwards = (other.get("features") or {}).get("call_forward")
        if not isinstance(forwards, dict):
            continue
        for kind in ("unconditional", "busy", "no_answer"):
            if kind in forwards and str(forwards[kind]) == str(extension):
                yield directory.users.node(index), kind


def _drop_forwards_to(directory: Directory, user: CommentedMap, details: list[str]) -> None:
    for owner, kind in list(_forward_refs(directory, user["extension"])):
        forwards = owner["features"]["call_forward"]
        del forwards[kind]
        if kind == "no_answer" and "no_answer_timeout" in forwards:
            del forwards["no_answer_timeout"]
        if not forwards:
            del owner["features"]["call_forward"]
        directory.touch(directory.users_file)
        details.append(f"{owner['id']}: call forward {kind} to {user['extension']} removed")


def _retarget_forwards(directory: Directory, old: int, new: int, details: list[str]) -> None:
    for owner, kind in list(_forward_refs(directory, old)):
        owner["features"]["call_forward"][kind] = new
        directory.touch(directory.users_file)
        details.append(f"call forward {kind} to {old} now goes to {new}")


def _hunt_group_overflows(directory: Directory, extension: int) -> Iterator[tuple[Path, CommentedMap]]:
    for path in directory.files_with("voip_hunt_groups", scope=("group_vars",)):
        for group in directory.doc(path)["voip_hunt_groups"] or []:
            if str(group.get("overflow")) == str(extension):
                yield path, group


def _unpatch_phones(directory: Directory, macs: list[str], details: list[str]) -> None:
    """Remove ``phone_mac`` of switch ports patched to these phones."""
    wanted = {m.lower() for m in macs}
    if not wanted:
        return
    for path in directory.files_with("voip_switch", scope=("host_vars", "group_vars")):
        for port in directory.doc(path)["voip_switch"].get("ports") or []:
            if str(port.get("phone_mac", "")).lower() in wanted:
                del port["phone_mac"]
                directory.touch(path)
                details.append(
                    f"{path.parent.name} port {port.get('name')}: phone {', '.join(macs)} unpatched"
                )


def _leave_hunt_groups(user: CommentedMap, details: list[str]) -> bool:
    features = user.get("features")
    if isinstance(features, dict) and features.get("hunt_groups"):
        details.append(f"left hunt group(s) {', '.join(map(str, features['hunt_groups']))}")
        del features["hunt_groups"]
        return True
    return False


# -- operations --------------------------------------------------------------------


def _insert_ordered(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``key`` at its place in USER_KEYS order (existing keys keep theirs)."""
    if key in mapping:
        mapping[key] = value
        return
    rank = USER_KEYS.index(key) if key in USER_KEYS else len(USER_KEYS)
    position = len(mapping)
    for index, existing in enumerate(mapping):
        if existing in USER_KEYS and USER_KEYS.index(existing) > rank:
            position = index
            break
    mapping.insert(position, key, value)


def _free_extension(users: list[dict], sites: dict[str, Any], site: str) -> int:
    extension = next_free_extension(users, sites, site)
    if extension is None:
        raise DirectoryError(f"site {site}: no free extension in {sites[site].get('extensions')}")
    return extension


def _free_did(users: list[dict], sites: dict[str, Any], site: str) -> str:
    did = next_free_did(users, sites, site)
    if did is None:
        raise DirectoryError(f"site {site}: no free DID in {sites[site].get('dids')}")
    return did


def add(
    directory: Directory,
    uid: str,
    *,
    name: str,
    site: str,
    today: datetime.date,
    email: str | None = None,
    extension: int | None = None,
    did: str | None = None,
    no_did: bool = False,
    class_of_service: str = "internal",
    voicemail: bool | None = None,
    devices: Iterable[tuple[str, str]] = (),
) -> Change:
    """A joiner: a new entry with the next free extension and DID of the site unless given."""
    if directory.users.index_of(uid) is not None:
        raise DirectoryError(f"user {uid!r} already exists")
    sites = directory.sites
    if site not in sites:
        raise DirectoryError(f"unknown site {site!r} (sites: {', '.join(sorted(sites))})")
    if class_of_service not in COS_RANK:
        raise DirectoryError(f"class of service {class_of_service!r} is not one of {', '.join(COS_RANK)}")
    users = directory.users.data()
    if extension is None:
        extension = _free_extension(users, sites, site)
    if not no_did and did is None and sites[site].get("dids"):
        did = _free_did(users, sites, site)
    entry = CommentedMap()
    entry["id"] = uid
    entry["name"] = name
    if email:
        entry["email"] = email
    entry["site"] = site
    entry["extension"] = int(extension)
    if did and not no_did:
        entry["did"] = _quoted(did)
    entry["class_of_service"] = class_of_service
    if voicemail is not None:
        entry["features"] = flow_map(voicemail=voicemail)
    device_nodes = CommentedSeq([flow_map(mac=_quoted(mac.lower()), model=model) for mac, model in devices])
    if device_nodes:
        entry["devices"] = device_nodes
    entry["status"] = "active"
    directory.users.append(entry)
    directory.touch(directory.users_file)
    summary = f"{site}, ext {extension}" + (f", did {did}" if did and not no_did else "")
    return Change("add", uid, summary, [f"{len(device_nodes)} device(s)"] if device_nodes else [])


def move(
    directory: Directory,
    uid: str,
    *,
    site: str,
    today: datetime.date,
    extension: int | None = None,
    did: str | None = None,
) -> Change:
    """A mover: to another site, with a number of the new site; references follow."""
    user = directory.user(uid)
    if user.get("status") == "leaver":
        raise DirectoryError(f"user {uid!r} is a leaver; leavers do not move")
    sites = directory.sites
    if site not in sites:
        raise DirectoryError(f"unknown site {site!r} (sites: {', '.join(sorted(sites))})")
    old_site, old_ext, old_did = str(user["site"]), int(user["extension"]), user.get("did")
    if site == old_site:
        raise DirectoryError(f"user {uid!r} is already at site {site}")
    users = directory.users.data()
    if extension is None:
        extension = _free_extension(users, sites, site)
    details = [f"site {old_site} -> {site}", f"extension {old_ext} -> {extension}"]
    user["site"] = site
    user["extension"] = int(extension)
    if old_did:
        new_did = did or (_free_did(users, sites, site) if sites[site].get("dids") else None)
        if new_did:
            user["did"] = _quoted(new_did)
            details.append(f"DID {old_did} -> {new_did}")
        else:
            del user["did"]
            details.append(f"DID {old_did} given up")
    elif did:
        _insert_ordered(user, "did", _quoted(did))
    _leave_hunt_groups(user, details)
    _retarget_forwards(directory, old_ext, int(extension), details)
    for path, group in _hunt_group_overflows(directory, old_ext):
        group["overflow"] = int(extension)
        directory.touch(path)
        details.append(f"hunt group {group.get('id')}: overflow {old_ext} -> {extension}")
    # The phones move with the user: their old ports are unpatched.
    _unpatch_phones(directory, [str(d["mac"]) for d in user.get("devices") or []], details)
    directory.touch(directory.users_file)
    return Change("move", uid, f"{old_site} -> {site}, ext {old_ext} -> {extension}", details)


def leave(directory: Directory, uid: str, *, today: datetime.date, on: datetime.date | None = None) -> Change:
    """A leaver: status and leave date; every reference to the user removed."""
    user = directory.user(uid)
    if user.get("status") == "leaver":
        raise DirectoryError(f"user {uid!r} is already a leaver (since {user.get('leave_date')})")
    day = on or today
    details: list[str] = []
    user["status"] = "leaver"
    _insert_ordered(user, "leave_date", _quoted(day.isoformat()))
    devices = [str(d["mac"]) for d in user.get("devices") or []]
    if devices:
        del user["devices"]
        details.append(f"phone(s) {', '.join(devices)} unassigned")
    _leave_hunt_groups(user, details)
    if user.get("grants"):
        details.append(f"{len(user['grants'])} grant(s) ended")
        del user["grants"]
    _drop_forwards_to(directory, user, details)
    for path, group in _hunt_group_overflows(directory, int(user["extension"])):
        group["overflow"] = "voicemail"
        directory.touch(path)
        details.append(f"hunt group {group.get('id')}: overflow to {user['extension']} now goes to voicemail")
    _unpatch_phones(directory, devices, details)
    directory.touch(directory.users_file)
    return Change("leave", uid, f"{user['site']}, ext {user['extension']}, left {day.isoformat()}", details)


def grant(
    directory: Directory, uid: str, feature: str, *, until: datetime.date, reason: str, today: datetime.date
) -> Change:
    """A temporary feature (or class of service) until a date, with its reason."""
    user = directory.user(uid)
    if user.get("status") == "leaver":
        raise DirectoryError(f"user {uid!r} is a leaver; leavers get no grants")
    if until < today:
        raise DirectoryError(f"--until {until.isoformat()} lies in the past")
    if not reason.strip():
        raise DirectoryError("a grant needs a --reason (a ticket or why)")
    grants = user.get("grants")
    if grants is None:
        grants = CommentedSeq()
        _insert_ordered(user, "grants", grants)
    for existing in grants:
        if existing.get("feature") == feature:
            existing["until"] = _quoted(until.isoformat())
            existing["reason"] = _quoted(reason)
            directory.touch(directory.users_file)
            return Change(
                "grant", uid, f"{feature} until {until.isoformat()}", ["extended the existing grant"]
            )
    grants.append(flow_map(feature=feature, until=_quoted(until.isoformat()), reason=_quoted(reason)))
    directory.touch(directory.users_file)
    return Change("grant", uid, f"{feature} until {until.isoformat()}", [reason])


def revoke(directory: Directory, uid: str, feature: str, *, today: datetime.date) -> Change:
    """End a grant of ``feature`` now, or switch off a permanent feature."""
    user = directory.user(uid)
    details = []
    grants = user.get("grants") or []
    kept = [g for g in grants if g.get("feature") != feature]
    if len(kept) != len(grants):
        details.append(f"grant of {feature} removed")
        if kept:
            grants[:] = kept
        else:
            del user["grants"]
    features = user.get("features")
    if isinstance(features, dict) and feature in features:
        del features[feature]
        details.append(f"feature {feature} removed")
        if not features:
            del user["features"]
    if not details:
        raise DirectoryError(f"user {uid!r} has no grant or feature {feature!r}")
    directory.touch(directory.users_file)
    return Change("revoke", uid, feature, details)


SETTABLE = ("name", "email", "class_of_service", "did", "features")


def set_values(directory: Directory, uid: str, assignments: Iterable[str], *, today: datetime.date) -> Change:
    """``KEY=VALUE`` settings (dotted keys under features, YAML values), e.g. features.dnd=true."""
    user = directory.user(uid)
    loader = _yaml()
    details = []
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key:
            raise DirectoryError(f"{assignment!r} is not KEY=VALUE")
        parts = key.split(".")
        if parts[0] not in SETTABLE:
            raise DirectoryError(f"{parts[0]!r} cannot be set here (settable: {', '.join(SETTABLE)})")
        value = loader.load(text) if text else None
        node = user
        for part in parts[:-1]:
            if part not in node or not isinstance(node[part], dict):
                child = flow_map() if part == "call_forward" else CommentedMap()
                if node is user:
                    _insert_ordered(user, part, child)
                else:
                    node[part] = child
            node = node[part]
        leaf = parts[-1]
        if value is None:
            if leaf in node:
                del node[leaf]
            details.append(f"{key} removed")
        else:
            if parts[0] == "did":
                value = _quoted(str(value))
            if node is user:
                _insert_ordered(user, leaf, value)
            else:
                node[leaf] = value
            details.append(f"{key} = {plain(value)}")
    directory.touch(directory.users_file)
    return Change("set", uid, ", ".join(details), [])


def purge(directory: Directory, *, today: datetime.date, grace_days: int | None = None) -> list[Change]:
    """Remove leavers whose leave date lies more than the grace period back; their numbers return to the pool."""
    grace = directory.grace_days() if grace_days is None else grace_days
    changes = []
    for user in directory.users.data():
        if user.get("status") != "leaver" or not user.get("leave_date"):
            continue
        left = as_date(user["leave_date"], f"user {user.get('id')} leave_date")
        if (today - left).days > grace:
            directory.users.remove(str(user["id"]))
            directory.touch(directory.users_file)
            freed = f"ext {user['extension']}" + (f", did {user['did']}" if user.get("did") else "")
            changes.append(Change("purge", str(user["id"]), f"left {left.isoformat()}, {freed} free again"))
    return changes


def expiring(directory: Directory, *, today: datetime.date, within_days: int) -> list[dict[str, Any]]:
    """Grants ending within ``within_days`` (and those already expired), soonest first."""
    rows = []
    for user in directory.users.data():
        for item in user.get("grants") or []:
            until = as_date(item.get("until"), f"user {user.get('id')} grant until")
            days = (until - today).days
            if days <= within_days:
                rows.append(
                    {"user": user["id"], "feature": item.get("feature"), "until": until.isoformat(),
                     "days_left": days, "reason": item.get("reason", "")}
                )  # fmt: skip
    return sorted(rows, key=lambda r: (r["until"], r["user"]))


def prune_grants(directory: Directory, *, today: datetime.date) -> list[Change]:
    """Remove grants whose date has passed (their effect ended at the first apply after it)."""
    changes = []
    for index, data in enumerate(directory.users.data()):
        if not data.get("grants") or not expired_grants(data, today):
            continue
        user = directory.users.node(index)
        grants = user["grants"]
        expired = expired_grants(plain(user), today)
        gone = {(g.get("feature"), str(g.get("until"))) for g in expired}
        kept = [g for g in grants if (g.get("feature"), str(g.get("until"))) not in gone]
        if kept:
            grants[:] = kept
        else:
            del user["grants"]
        directory.touch(directory.users_file)
        changes.append(
            Change("prune", str(user["id"]), ", ".join(f"{f} (ended {u})" for f, u in sorted(gone)))
        )
    return changes


def _quoted(text: str) -> Any:
    """A string written double-quoted, as the directories write DIDs, MACs and dates."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    return DoubleQuotedScalarString(text)
