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

Input is not trusted:

* Values are written so that Ansible (YAML 1.1, PyYAML) reads what was
  meant: a string that would read as something else unquoted (``Yes``,
  ``0123``, ``1:20``, ``null``) is written double-quoted, and every edited
  user entry is read back with the estate's loader
  (``voipctl.model.yamlfile.load_text``) after rendering and must equal the
  data meant, else nothing is written.
* ``set`` takes the VALUE of name, email, class_of_service and did as text
  (``name=Yes`` is the text Yes; a VALUE starting with a quote is read as one
  quoted YAML string), and the VALUE of ``features.*`` as YAML in the
  estate's dialect: ``03721``, ``yes``, ``1:20`` are refused as ambiguous.
* Every argument is checked for its length before any work on it, and
  every value echoed in a message or summary is cut short (``shown``,
  ``clip``): a pasted 50 MB name costs no time and comes back as 60 characters.
* A file keeps its line endings: LF stays LF, CRLF stays CRLF. A file that
  mixes them is refused when a change would write it (voipctl will not
  guess which one is meant; convert it with dos2unix or unix2dos first).
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
from voipctl.model import yamlfile
from voipctl.model.checks import Result, validate
from voipctl.model.dialect import CLIP, clip
from voipctl.model.types import Text, shown

# Key order of a new user entry (the order the directories are written in).
USER_KEYS = (
    "id", "name", "email", "site", "extension", "did", "class_of_service",
    "features", "grants", "devices", "status", "leave_date",
)  # fmt: skip
DEFAULT_GRACE_DAYS = 90
# The longest name or grant reason: the model's Text.
TEXT_MAX = next(c.max_length for c in Text.__metadata__ if getattr(c, "max_length", None))
# The longest other argument (an e-mail address's maximum), and `set`'s YAML VALUE.
ARG_MAX = 254
VALUE_MAX = 1000
# A value in a summary line is cut to this many characters.


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


def _argument(label: str, value: str, limit: int = ARG_MAX) -> str:
    """``value`` checked before any work is done on it: at most ``limit`` characters, UTF-8 text."""
    if len(value) > limit:
        raise DirectoryError(f"{label} {shown(value)} is too long: at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes of the command line that are not UTF-8
        raise DirectoryError(f"{label} {shown(value)} is not valid UTF-8 text") from None
    return value


# Strings that may be written unquoted (if the estate's loader reads them back as themselves):
# a letter or digit (any script) first, then letters, digits, spaces and a few marks.
_PLAIN_TEXT = re.compile(r"[^\W_][\w .@+()/'-]*")


def _reads_as(text: str, value: Any) -> bool:
    """Whether the estate's loader reads the YAML ``text`` as ``value`` (same type, same value)."""
    try:
        loaded = yamlfile.load_text(text)
    except yamlfile.YamlFileError:
        return False
    return type(loaded) is type(value) and loaded == value


def text_value(text: str) -> Any:
    """A string as it is written: plain when Ansible's YAML reads it back as the same text, else quoted.

    ``Jan de Vries`` stays plain; ``Yes``, ``0123``, ``1:20``, ``null``,
    ``~``, ``@x`` or ``a: b`` are written double-quoted and stay text.
    """
    if _PLAIN_TEXT.fullmatch(text) and not text.endswith(" ") and _reads_as(text, text):
        return text
    return _quoted(text)


def _read(path: Path) -> tuple[str, str | None, str]:
    """(text with LF line breaks, the file's line ending or None when it mixes them, how it mixes them)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            raw = handle.read()
    except UnicodeDecodeError as exc:
        raise DirectoryError(f"{path.name}: not UTF-8 text ({exc.reason})") from None
    if "\r" not in raw:
        return raw, "\n", ""
    crlf = raw.count("\r\n")
    lone_cr, lone_lf = raw.count("\r") - crlf, raw.count("\n") - crlf
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if not lone_cr and not lone_lf:
        return text, "\r\n", ""
    counts = [f"{crlf} in CRLF", f"{lone_lf} in LF"] + ([f"{lone_cr} in CR alone"] if lone_cr else [])
    return text, None, ", ".join(counts)


def _with_endings(text: str, newline: str | None, mixed: str, where: str) -> str:
    """``text`` (with LF line breaks) as the file is written: with the file's own line ending."""
    if newline is None:
        raise DirectoryError(
            f"{where} mixes line endings (lines ending {mixed}); voipctl keeps a file's line endings "
            "and will not guess which are meant: convert it to one kind (dos2unix or unix2dos) first"
        )
    return text if newline == "\n" else text.replace("\n", "\r\n")


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


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
        # Per document: its line ending ("\n", "\r\n", None when mixed) and how it mixes them.
        self._endings: dict[Path, tuple[str | None, str]] = {}
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
            text = path.read_text(encoding="utf-8", errors="replace")
            if not text.startswith("$ANSIBLE_VAULT") and pattern.search(text):
                found.append(path)
        return found

    def doc(self, path: Path) -> Any:
        if path == self.users_file:
            raise DirectoryError("internal: the user directory is edited through Directory.users")
        if path not in self._docs:
            text, newline, mixed = _read(path)
            try:
                self._docs[path] = self._yaml.load(text)
            except Exception as exc:  # ruamel raises several error types
                problem = clip(" ".join(str(exc).split()), 300)
                raise DirectoryError(f"{path.relative_to(self.root)}: invalid YAML: {problem}") from None
            self._original[path] = text
            self._endings[path] = (newline, mixed)
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

    def output(self, path: Path) -> str:
        """The text ``path`` is written with: its rendering, with the file's own line endings."""
        if path == self.users_file:
            newline, mixed = self._users.newline, self._users.mixed
        else:
            newline, mixed = self._endings[path]
        return _with_endings(self.render(path), newline, mixed, str(path.relative_to(self.root)))

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
                _write_text(copy / path.relative_to(self.root), self.output(path))
            return validate(copy, today)

    def write(self) -> list[Path]:
        """Write every changed file atomically (same mode, same line endings); return them.

        Every file is rendered (and checked) before the first one is written.
        """
        changed = [path for path in sorted(self.dirty) if self.render(path) != self.original(path)]
        outputs = {path: self.output(path) for path in changed}
        written = []
        for path in changed:
            text = self.render(path)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    handle.write(outputs[path])
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
            close = []
            if len(uid) <= CLIP:  # difflib's work grows with the length of what it compares
                ids = [str(u.get("id")) for u in self._users.data()]
                close = difflib.get_close_matches(uid, ids, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise DirectoryError(f"no user {shown(uid)} in {self.users_file.relative_to(self.root)}{hint}")
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
        """voip_directory_policy.leaver_grace_days (DEFAULT_GRACE_DAYS when unset)."""
        policy = self.estate("voip_directory_policy", {}) or {}
        days = policy.get("leaver_grace_days", DEFAULT_GRACE_DAYS) if isinstance(policy, dict) else None
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise DirectoryError(
                f"voip_directory_policy.leaver_grace_days {shown(days)} is not a number of days, 0 or more"
            )
        return days


class _UserFile:
    """The file holding ``voip_users``, edited entry by entry.

    A directory of thousands of users would take ruamel.yaml tens of seconds
    to load and dump whole. The file is instead split into its users' text
    blocks (an entry runs from its ``- `` line to the next entry's); reading
    uses the estate loader's plain data (its fast parser, or PyYAML for text
    outside the fast subset, such as a tab in a comment), and only the
    entries a change edits are loaded (and dumped again) by ruamel.yaml.
    Untouched entries keep their exact text. A file whose layout is not a
    plain block sequence under a top-level ``voip_users:`` is refused.

    The text is held with LF line breaks (``newline`` is the file's own,
    restored by ``Directory.output``), so a CRLF file goes the fast way too.
    Every edited entry is read back after rendering (``_check_reads_back``).
    """

    def __init__(self, path: Path, yaml: YAML):
        self.path = path
        self.text, self.newline, self.mixed = _read(path)
        self._yaml = yaml
        self._head, blocks, self._tail = _split_users(self.text)
        try:
            data = yamlfile.load_text(self.text)
        except yamlfile.YamlFileError as exc:
            where = f"{path.name}:{exc.line}" if exc.line else path.name
            raise DirectoryError(f"{where}: {exc.message}") from None
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
            try:
                seq = self._yaml.load(entry[0])
            except Exception as exc:  # ruamel raises several error types
                uid = shown(str(entry[1].get("id"))) if isinstance(entry[1], dict) else f"#{index + 1}"
                problem = clip(" ".join(str(exc).split()), 300)
                raise DirectoryError(
                    f"{self.path.name}: user {uid}: its entry cannot be edited: {problem}"
                ) from None
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
        """The file's text (LF line breaks); DirectoryError when an edited entry would not read back."""
        out = [self._head]
        for text, _, node in self._entries:
            if node is None:
                out.append(text)
            else:
                buf = io.StringIO()
                self._yaml.explicit_start = False
                seq = CommentedSeq([node])
                self._yaml.dump(seq, buf)
                block = buf.getvalue()
                _check_reads_back(block, node, self.path.name)
                out.append(block)
        out.append(self._tail)
        return "".join(out)


def _check_reads_back(block: str, node: CommentedMap, where: str) -> None:
    """Belt and braces: an edited entry, as written, reads back (as Ansible would) as the data meant."""
    meant = plain(node)
    label = f"{where}: user {shown(str(meant.get('id')))}"
    try:
        read = yamlfile.load_text("voip_users:\n" + block)["voip_users"][0]
    except yamlfile.YamlFileError as exc:
        raise DirectoryError(
            f"{label}: the entry as written is refused: {exc.message}; nothing was written"
        ) from None
    found = _difference(meant, read, "")
    if found is not None:
        path, wanted, got = found
        raise DirectoryError(
            f"{label}: {path} would be written as {wanted} but read back by Ansible as {got}; nothing was written"
        )


_ABSENT = object()


def _difference(meant: Any, read: Any, path: str) -> tuple[str, str, str] | None:
    """The first key path where ``read`` is not ``meant`` (true is not 1), with both values shown."""
    if isinstance(meant, dict) and isinstance(read, dict):
        for key in [*meant, *(k for k in read if k not in meant)]:
            sub = f"{path}.{key}" if path else str(key)
            found = _difference(meant.get(key, _ABSENT), read.get(key, _ABSENT), sub)
            if found is not None:
                return found
        return None
    if isinstance(meant, list) and isinstance(read, list) and len(meant) == len(read):
        for index, (a, b) in enumerate(zip(meant, read, strict=True)):
            found = _difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if _kind(meant) == _kind(read) and (meant == read or (meant != meant and read != read)):  # NaN
        return None
    return path, _describe(meant), _describe(read)


def _kind(value: Any) -> str:
    for kind in (bool, int, float, str, datetime.datetime, datetime.date, dict, list):
        if isinstance(value, kind):
            return kind.__name__
    return "absent" if value is _ABSENT else type(value).__name__


def _describe(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    bases = {"int": int, "float": float, "str": str}  # ruamel's scalar types show as their base type
    kind = _kind(value)
    return shown(bases[kind](value) if kind in bases else plain(value))


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


def _arguments(*items: tuple) -> None:
    """Check (label, value[, limit]) arguments with _argument; None values are skipped."""
    for label, value, *limit in items:
        if value is not None:
            _argument(label, value, *limit)


def _known_site(site: str, sites: dict[str, Any]) -> None:
    if site not in sites:
        raise DirectoryError(f"unknown site {shown(site)} (sites: {', '.join(sorted(sites))})")


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
    devices = list(devices)
    _arguments(
        ("id", uid), ("name", name, TEXT_MAX), ("site", site), ("email", email), ("did", did),
        ("class of service", class_of_service), *(("device", f"{mac}:{model}") for mac, model in devices),
    )  # fmt: skip
    if directory.users.index_of(uid) is not None:
        raise DirectoryError(f"user {shown(uid)} already exists")
    sites = directory.sites
    _known_site(site, sites)
    if class_of_service not in COS_RANK:
        raise DirectoryError(
            f"class of service {shown(class_of_service)} is not one of {', '.join(COS_RANK)}"
        )
    users = directory.users.data()
    if extension is None:
        extension = _free_extension(users, sites, site)
    if not no_did and did is None and sites[site].get("dids"):
        did = _free_did(users, sites, site)
    entry = CommentedMap()
    entry["id"] = text_value(uid)
    entry["name"] = text_value(name)
    if email:
        entry["email"] = text_value(email)
    entry["site"] = text_value(site)
    entry["extension"] = int(extension)
    if did and not no_did:
        entry["did"] = _quoted(did)
    entry["class_of_service"] = text_value(class_of_service)
    if voicemail is not None:
        entry["features"] = flow_map(voicemail=voicemail)
    device_nodes = CommentedSeq(
        [flow_map(mac=_quoted(mac.lower()), model=text_value(model)) for mac, model in devices]
    )
    if device_nodes:
        entry["devices"] = device_nodes
    entry["status"] = "active"
    directory.users.append(entry)
    directory.touch(directory.users_file)
    summary = f"{site}, ext {extension}" + (f", did {clip(did)}" if did and not no_did else "")
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
    _arguments(("site", site), ("did", did))
    user = directory.user(uid)
    if user.get("status") == "leaver":
        raise DirectoryError(f"user {shown(uid)} is a leaver; leavers do not move")
    sites = directory.sites
    _known_site(site, sites)
    old_site, old_ext, old_did = str(user["site"]), int(user["extension"]), user.get("did")
    if site == old_site:
        raise DirectoryError(f"user {shown(uid)} is already at site {site}")
    users = directory.users.data()
    if extension is None:
        extension = _free_extension(users, sites, site)
    details = [f"site {old_site} -> {site}", f"extension {old_ext} -> {extension}"]
    user["site"] = text_value(site)
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
    """A leaver: status and leave date; every reference to the user removed.

    The leave takes effect when it is made: ``on`` may lie back (a leave
    recorded late) but not ahead. hr-sync likewise makes leavers only once
    their HR end_date has come.
    """
    user = directory.user(uid)
    if user.get("status") == "leaver":
        raise DirectoryError(f"user {shown(uid)} is already a leaver (since {user.get('leave_date')})")
    if on is not None and on > today:
        raise DirectoryError(
            f"--on {on.isoformat()} lies in the future; a leave takes effect when it is applied "
            f"(the user would be cut off today, {today.isoformat()}): run it on that day"
        )
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
    _arguments(("feature", feature), ("reason", reason, TEXT_MAX))
    user = directory.user(uid)
    if user.get("status") == "leaver":
        raise DirectoryError(f"user {shown(uid)} is a leaver; leavers get no grants")
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
                "grant", uid, f"{clip(feature)} until {until.isoformat()}", ["extended the existing grant"]
            )
    grants.append(
        flow_map(feature=text_value(feature), until=_quoted(until.isoformat()), reason=_quoted(reason))
    )
    directory.touch(directory.users_file)
    return Change("grant", uid, f"{clip(feature)} until {until.isoformat()}", [clip(reason)])


def revoke(directory: Directory, uid: str, feature: str, *, today: datetime.date) -> Change:
    """End a grant of ``feature`` now, or switch off a permanent feature."""
    _argument("feature", feature)
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
        raise DirectoryError(f"user {shown(uid)} has no grant or feature {shown(feature)}")
    directory.touch(directory.users_file)
    return Change("revoke", uid, clip(feature), details)


SETTABLE = ("name", "email", "class_of_service", "did", "features")
# Keys whose VALUE is text, taken as given (not read as YAML).
TEXT_KEYS = ("name", "email", "class_of_service", "did")
_KEY = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")


def set_values(directory: Directory, uid: str, assignments: Iterable[str], *, today: datetime.date) -> Change:
    """``KEY=VALUE`` settings, e.g. ``name=Jan de Vries``, ``features.dnd=true``.

    name, email, class_of_service and did take VALUE as text: ``name=Yes`` is
    the text Yes (written quoted); a VALUE starting with a quote is read as one
    quoted YAML string (``name="Yes"``). Dotted keys under ``features`` take a
    YAML value in the estate's dialect (``voipctl.model.yamlfile.load_text``),
    so ``03721``, ``yes`` or ``1:20`` are refused as ambiguous. An empty
    VALUE (or null) removes the key.
    """
    user = directory.user(uid)
    details = []
    for assignment in assignments:
        key, text = _assignment(assignment)
        parts = key.split(".")
        value = _text_of(key, text) if parts[0] in TEXT_KEYS else _yaml_of(key, text)
        node = _parent(user, parts, create=value is not None)
        leaf = parts[-1]
        if value is None:
            if node is not None and leaf in node:
                del node[leaf]
            details.append(f"{key} removed")
            continue
        display = str(plain(value))
        display = clip(display) if display.isprintable() else shown(display)
        value = _quoted(value) if parts[0] == "did" else _node(key, value)
        if node is user:
            _insert_ordered(user, leaf, value)
        else:
            node[leaf] = value
        details.append(f"{key} = {display}")
    directory.touch(directory.users_file)
    return Change("set", uid, ", ".join(details), [])


def _assignment(assignment: str) -> tuple[str, str]:
    """(KEY, VALUE) of ``KEY=VALUE``, the key checked (settable, its form)."""
    key, sep, text = assignment.partition("=")
    if not sep or not key:
        raise DirectoryError(f"{shown(assignment)} is not KEY=VALUE")
    if len(key) > CLIP or not _KEY.fullmatch(key):
        raise DirectoryError(
            f"{shown(key)} is not a key such as name or features.call_forward.busy (in {shown(assignment)})"
        )
    top = key.split(".")[0]
    if top not in SETTABLE:
        raise DirectoryError(f"{shown(top)} cannot be set here (settable: {', '.join(SETTABLE)})")
    if top in TEXT_KEYS and key != top:
        raise DirectoryError(f"{top} is text and has no sub-keys: {shown(key)}")
    return key, text


def _echo(key: str, text: str) -> str:
    """``KEY=VALUE`` for a message: as typed when short and printable, else the VALUE shown quoted and cut."""
    return f"{key}={text}" if len(text) <= CLIP and text.isprintable() else f"{key}={shown(text)}"


def _text_of(key: str, text: str) -> str | None:
    """The text of a text key's VALUE (None: remove the key)."""
    if not text:
        return None
    _argument(key, text, TEXT_MAX if key == "name" else ARG_MAX)
    if text[0] not in "\"'":
        return text
    problem = ""
    try:
        value = yamlfile.load_text(text)
    except yamlfile.YamlFileError as exc:
        value, problem = None, f" ({exc.message})"
    if type(value) is not str:
        raise DirectoryError(
            f"{_echo(key, text)}: a value starting with a quote must be one quoted string, "
            f"such as {key}='\"Yes\"'{problem}"
        )
    return value


def _yaml_of(key: str, text: str) -> Any:
    """The value of a ``features`` VALUE, read as Ansible reads it (None: remove the key)."""
    if not text:
        return None
    _argument(key, text, VALUE_MAX)
    try:
        return yamlfile.load_text(text)
    except yamlfile.YamlFileError as exc:
        if exc.dialect:
            raise DirectoryError(f"{_echo(key, text)}: {exc.message}") from None
        raise DirectoryError(
            f"{_echo(key, text)}: not a YAML value ({exc.message}); text must be quoted, such as {key}='\"...\"'"
        ) from None


_SCALARS = (bool, int, float, datetime.date, datetime.datetime)


def _node(key: str, value: Any) -> Any:
    """``value`` (plain data) as round-trip nodes: strings quoted where needed, collections in flow style."""
    if isinstance(value, dict):
        node = flow_map()
        for item, sub in value.items():
            if type(item) is not str:
                raise DirectoryError(f"{key}: key {shown(item)} is not text")
            node[text_value(item)] = _node(key, sub)
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_node(key, item) for item in value)
        seq.fa.set_flow_style()
        return seq
    if type(value) is str:
        return text_value(value)
    if value is None or type(value) in _SCALARS:
        return value
    raise DirectoryError(
        f"{key}: {shown(value)} is not a plain value (tags such as !vault are not taken here)"
    )


def _parent(user: CommentedMap, parts: list[str], *, create: bool) -> CommentedMap | None:
    """The mapping that holds ``parts[-1]``, made where missing (when ``create``; else None)."""
    node = user
    for part in parts[:-1]:
        if part not in node or not isinstance(node[part], dict):
            if not create:
                return None
            child = flow_map() if part == "call_forward" else CommentedMap()
            if node is user:
                _insert_ordered(user, part, child)
            else:
                node[part] = child
        node = node[part]
    return node


def purge(directory: Directory, *, today: datetime.date, grace_days: int | None = None) -> list[Change]:
    """Remove leavers whose leave date lies more than the grace period back; their numbers return to the pool.

    The grace period is the numbers' quarantine (a purged leaver's extension
    and DID stay out of use that long): it is never negative.
    """
    if grace_days is not None and (isinstance(grace_days, bool) or not isinstance(grace_days, int)):
        raise DirectoryError(f"--grace-days {shown(grace_days)} is not a whole number of days")
    if grace_days is not None and grace_days < 0:
        raise DirectoryError(
            f"--grace-days {grace_days} is negative: a purged leaver's numbers stay out of use for the "
            "grace days (their quarantine); give 0 or more"
        )
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
