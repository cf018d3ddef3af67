"""The store of the user directory: an inventory's YAML files, read and written round-trip.

The files are edited with ruamel.yaml in round-trip mode: comments, key
order, quoting and flow style are kept, so a change's diff shows only the
lines it means. ``Directory`` loads the documents a change edits, finds the
file that defines ``voip_users`` and the users in it, validates the edited
estate in a scratch copy of the inventory (``Directory.check``) and writes
the changed files atomically (``Directory.write``).

A file keeps its line endings: LF stays LF, CRLF stays CRLF. A file that
mixes them is refused when a change would write it (voipctl will not guess
which one is meant; convert it with dos2unix or unix2dos first).
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
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from voipctl.directory_yaml import DirectoryError, check_reads_back, plain, round_trip_yaml
from voipctl.model import yamlfile
from voipctl.model.checks import Result, validate
from voipctl.model.dialect import CLIP, clip
from voipctl.model.types import shown

DEFAULT_GRACE_DAYS = 90


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
        self._yaml = round_trip_yaml()
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
    Every edited entry is read back after rendering (``check_reads_back``).
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
                check_reads_back(block, node, self.path.name)
                out.append(block)
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
