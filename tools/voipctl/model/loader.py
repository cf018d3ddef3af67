"""Load an inventory directory fast, remembering where every variable came from.

This mirrors what Ansible does for the files the estate model uses (YAML
inventory files, ``group_vars/`` and ``host_vars/`` next to them) without
Ansible's loader, which is far too slow for 100,000 users:

* inventory files: every ``*.yml``/``*.yaml``/``*.json`` file at the top of
  the directory, read like the ``ansible.builtin.yaml`` inventory plugin
  (``hosts``, ``vars``, ``children``; ``all`` and ``ungrouped``);
* vars files of an entity: ``group_vars/<name>`` as a directory (every file
  with no extension or ``.yml``/``.yaml``/``.json``, sorted, recursively,
  skipping hidden files and ``~`` backups) or else ``<name>.yml``, ``.yaml``,
  ``.json``: the first one found wins, as in ``DataLoader.find_vars_files``;
* precedence for a host (``DEFAULT_VARIABLE_PRECEDENCE``; top-level keys
  replace, as with ``hash_behaviour=replace``): inventory-file vars of
  ``all``, of the host's groups sorted by (depth, priority, name), then
  ``group_vars/all``, ``group_vars/<group>`` in the same order, then the
  inventory-file host vars and ``host_vars/<host>``.

Variables are not templated: estate-model values are literal data. A test
compares the result with ``voipctl.adapters.inventory.load`` on the lab and example
inventories.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voipctl.model.yamlfile import ENCRYPTED, YamlFileError, load_file

VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")
INVENTORY_EXTENSIONS = (".yml", ".yaml", ".json")


@dataclass(frozen=True)
class Origin:
    """Where a value sits: a file (relative to the inventory) and the key path inside it.

    ``line`` is known only when the key path may not lead to it (a value
    Ansible read and tagged with its line); otherwise the line is found
    from the key path when the findings are reported.
    """

    file: str
    path: tuple = ()
    line: int | None = None


@dataclass
class Var:
    value: Any
    origin: Origin
    # Whether Ansible templates the value: None when its file says (group_vars
    # and host_vars are data, inventory files templates); an inventory source
    # read by Ansible knows (voipctl.adapters.estate).
    templated: bool | None = None


@dataclass
class Group:
    name: str
    parents: set[str] = field(default_factory=set)
    vars: dict[str, Var] = field(default_factory=dict)
    depth: int = 0


@dataclass
class LoadedInventory:
    """Groups, hosts and variables with their origins; problems found while reading."""

    root: Path
    groups: dict[str, Group] = field(default_factory=dict)
    # host -> groups it is directly in, in inventory order
    host_groups: dict[str, list[str]] = field(default_factory=dict)
    # host -> where it is first declared in an inventory file
    host_origins: dict[str, Origin] = field(default_factory=dict)
    # host -> inventory-file host vars (merged over every place the host appears)
    host_inventory_vars: dict[str, dict[str, Var]] = field(default_factory=dict)
    # entity ("group:<name>" or "host:<name>") -> vars from group_vars/host_vars files
    file_vars: dict[str, dict[str, Var]] = field(default_factory=dict)
    # (file, line, message, key path) for files that could not be read
    file_errors: list[tuple[str, int | None, str, tuple]] = field(default_factory=list)
    # files that are vault-encrypted as a whole (their variables are unknown)
    encrypted_files: list[str] = field(default_factory=list)

    @property
    def hosts(self) -> list[str]:
        return list(self.host_groups)

    def all_groups_of(self, host: str) -> set[str]:
        """Every group of ``host``: direct ones, their ancestors, and ``all``."""
        seen: set[str] = set()
        todo = list(self.host_groups.get(host, []))
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.groups[name].parents if name in self.groups else ())
        seen.add("all")
        return seen

    def hosts_in(self, group: str) -> list[str]:
        return [h for h in self.host_groups if group in self.all_groups_of(h)]

    def all_vars(self) -> dict[str, Var]:
        """Variables every host gets from the ``all`` group (inventory file, then group_vars/all)."""
        merged = dict(self.groups["all"].vars) if "all" in self.groups else {}
        merged.update(self.file_vars.get("group:all", {}))
        return merged

    def host_vars(self, host: str) -> dict[str, Var]:
        """A host's variables with Ansible's precedence (see the module docstring)."""
        groups = sorted(
            (self.groups[g] for g in self.all_groups_of(host) if g in self.groups),
            key=lambda g: (g.depth, _priority(g), g.name),
        )
        merged: dict[str, Var] = {}
        if "all" in self.groups:
            merged.update(self.groups["all"].vars)
        for group in groups:
            merged.update(group.vars)
        merged.update(self.file_vars.get("group:all", {}))
        for group in groups:
            merged.update(self.file_vars.get(f"group:{group.name}", {}))
        merged.update(self.host_inventory_vars.get(host, {}))
        merged.update(self.file_vars.get(f"host:{host}", {}))
        return merged


def _priority(group: Group) -> int:
    """``ansible_group_priority`` as Ansible reads it: ``int()`` of the value ("0" too)."""
    var = group.vars.get("ansible_group_priority")
    if var is None or isinstance(var.value, bool):
        return 1
    try:
        return int(var.value)
    except (TypeError, ValueError):
        return 1


def read_inventory_files(source: Path) -> LoadedInventory:
    """The inventory files of ``source`` (a directory, or one YAML inventory file) without their vars files.

    ``voipctl.adapters.estate`` asks this where in a file Ansible found a
    group's or a host's variable (the key path, hence the line).
    """
    source = Path(source)
    root = source if source.is_dir() else source.parent
    inv = LoadedInventory(root=root)
    inv.groups["all"] = Group("all")
    inv.groups["ungrouped"] = Group("ungrouped", parents={"all"}, depth=1)
    files = _inventory_files(inv, source) if source.is_dir() else [source]
    for rel, data in _mappings(inv, files, "an inventory file must be a mapping of groups"):
        for name, body in data.items():
            _read_group(inv, rel, str(name), body, (name,), parent=None)
    set_depths(inv)
    return inv


def _mappings(inv: LoadedInventory, paths: list[Path], not_a_mapping: str) -> Iterator[tuple[str, dict]]:
    """Each readable file of ``paths`` as (relative name, its mapping); an error for one that is no mapping.

    Unreadable and vault-encrypted files are skipped here (their problems are recorded when read).
    """
    for path in paths:
        data = _read(inv, path)
        if data is None or data is ENCRYPTED:
            continue
        rel = _rel(inv, path)
        if not isinstance(data, dict):
            inv.file_errors.append((rel, 1, not_a_mapping, ()))
            continue
        yield rel, data


def load(source: Path) -> LoadedInventory:
    """Read the inventory at ``source`` (a directory, or one YAML inventory file)."""
    inv = read_inventory_files(source)
    # Vars files of every group and host.
    for group in list(inv.groups):
        _read_vars(inv, "group_vars", group, f"group:{group}")
    for host in inv.host_groups:
        _read_vars(inv, "host_vars", host, f"host:{host}")
    return inv


# Ansible's inventory manager skips these (INVENTORY_IGNORE_EXTS, default);
# it tries every other file, in every subdirectory, with each enabled plugin.
IGNORED_EXTENSIONS = (
    ".pyc",
    ".pyo",
    ".swp",
    ".bak",
    "~",
    ".rpm",
    ".md",
    ".txt",
    ".rst",
    ".orig",
    ".cfg",
    ".retry",
)


def _inventory_files(inv: LoadedInventory, source: Path) -> list[Path]:
    """The inventory files of a directory, as Ansible's yaml plugin reads them (.yml, .yaml, .json, none).

    Anything else Ansible would also read (a subdirectory, an INI file with
    another extension) is an error: it would add hosts or variables that
    the validation never saw.
    """
    files = []
    for path in sorted(source.iterdir()):
        name = path.name
        if name.startswith(".") or name in ("group_vars", "host_vars") or name.endswith(IGNORED_EXTENSIONS):
            continue
        if path.is_dir():
            inv.file_errors.append(
                (_rel(inv, path), None, "Ansible reads inventory files in subdirectories, voipctl does not: "
                 "move them to the top of the inventory", ())
            )  # fmt: skip
        elif path.suffix in (*INVENTORY_EXTENSIONS, ""):
            files.append(path)
        elif path.is_file():
            inv.file_errors.append(
                (_rel(inv, path), None, "Ansible would read this file as an inventory (INI) and voipctl cannot: "
                 "write inventories as .yml, or name notes *.md or *.txt", ())
            )  # fmt: skip
    return files


def _rel(inv: LoadedInventory, path: Path) -> str:
    return os.path.relpath(path, inv.root)


def _read(inv: LoadedInventory, path: Path) -> Any:
    try:
        data = load_file(path)
    except YamlFileError as exc:
        message = exc.message if exc.dialect else f"invalid YAML: {exc.message}"
        inv.file_errors.append((_rel(inv, path), exc.line, message, exc.path))
        return None
    if data is ENCRYPTED:
        inv.encrypted_files.append(_rel(inv, path))
    return data


_RANGE = re.compile(r"\[([0-9]+):([0-9]+)\]")


class PatternError(ValueError):
    """A host pattern with a range voipctl does not expand the way Ansible does."""


def _expand(pattern: str) -> list[str]:
    """``web[01:03]`` -> web01, web02, web03 (numeric ranges, as Ansible); PatternError for other ranges."""
    match = _RANGE.search(pattern)
    if match is None:
        if "[" in pattern or "]" in pattern:
            raise PatternError(pattern)
        return [pattern]
    start, end = match.group(1), match.group(2)
    width = len(start) if start.startswith("0") else 0
    names = []
    for n in range(int(start), int(end) + 1):
        names.extend(_expand(pattern[: match.start()] + str(n).zfill(width) + pattern[match.end() :]))
    return names


def _read_group(
    inv: LoadedInventory, rel: str, name: str, body: Any, path: tuple, parent: str | None
) -> None:
    group = inv.groups.setdefault(name, Group(name))
    if parent is not None and name != "all":
        group.parents.add(parent)
    elif name not in ("all",):
        group.parents.add("all")
    if body is None:
        return
    if not isinstance(body, dict):
        inv.file_errors.append((rel, None, "a group must be a mapping", path))
        return
    for key in body:
        if key not in ("hosts", "vars", "children"):
            inv.file_errors.append((rel, None, "not one of hosts, vars, children", (*path, key)))
    variables = body.get("vars") or {}
    if isinstance(variables, dict):
        for var, value in variables.items():
            group.vars[str(var)] = Var(value, Origin(rel, (*path, "vars", var)))
    hosts = body.get("hosts") or {}
    if isinstance(hosts, dict):
        for pattern, host_body in hosts.items():
            try:
                names = _expand(str(pattern))
            except PatternError:
                inv.file_errors.append(
                    (rel, None, "a host range other than [N:M] (a step, letters): list the hosts one by one",
                     (*path, "hosts", pattern))
                )  # fmt: skip
                continue
            for host in names:
                groups = inv.host_groups.setdefault(host, [])
                inv.host_origins.setdefault(host, Origin(rel, (*path, "hosts", pattern)))
                target = "ungrouped" if name == "all" else name
                if target not in groups:
                    groups.append(target)
                hvars = inv.host_inventory_vars.setdefault(host, {})
                if isinstance(host_body, dict):
                    for var, value in host_body.items():
                        hvars[str(var)] = Var(value, Origin(rel, (*path, "hosts", pattern, var)))
    children = body.get("children") or {}
    if isinstance(children, dict):
        for child, child_body in children.items():
            _read_group(inv, rel, str(child), child_body, (*path, "children", child), parent=name)


def set_depths(inv: LoadedInventory) -> None:
    for name, group in inv.groups.items():
        group.depth = _depth(inv, name, frozenset())


def _depth(inv: LoadedInventory, name: str, seen: frozenset) -> int:
    # A module function, not a closure: a recursive closure is a reference
    # cycle (function, cell, function) that would keep ``inv`` and all its
    # data alive until the cyclic collector runs, which validate() switches off.
    group = inv.groups.get(name)
    if group is None or name == "all" or name in seen:
        return 0
    return 1 + max((_depth(inv, p, seen | {name}) for p in group.parents), default=0)


def _read_vars(inv: LoadedInventory, subdir: str, name: str, entity: str) -> None:
    base = inv.root / subdir
    if not base.is_dir():
        return
    found: list[Path] = []
    for ext in VARS_EXTENSIONS:
        candidate = base / (name + ext)
        if candidate.is_symlink() and not candidate.exists():
            _broken_link(inv, candidate)
        elif candidate.exists():
            found = _dir_files(inv, candidate, set()) if candidate.is_dir() else [candidate]
            break
    merged: dict[str, Var] = {}
    for rel, data in _mappings(inv, found, "a vars file must be a mapping of variable names"):
        for var, value in data.items():
            merged[str(var)] = Var(value, Origin(rel, (var,)))
    if merged:
        inv.file_vars[entity] = merged


def _dir_files(inv: LoadedInventory, path: Path, seen: set[str]) -> list[Path]:
    """The vars files of a directory, recursively; a link that loops or leads nowhere is an error."""
    real = os.path.realpath(path)
    if real in seen:
        inv.file_errors.append(
            (_rel(inv, path), None, "a symbolic link loops back to a directory above it", ())
        )
        return []
    seen = seen | {real}
    found: list[Path] = []
    for child in sorted(os.listdir(path)):
        if child.startswith(".") or child.endswith("~"):
            continue
        full = path / child
        ext = os.path.splitext(child)[1]
        if full.is_symlink() and not full.exists():
            _broken_link(inv, full)
        elif full.is_dir() and not ext:
            found.extend(_dir_files(inv, full, seen))
        elif full.is_file() and ext in VARS_EXTENSIONS:
            found.append(full)
    return found


def _broken_link(inv: LoadedInventory, path: Path) -> None:
    inv.file_errors.append(
        (
            _rel(inv, path),
            None,
            "a symbolic link that loops or leads nowhere: its variables cannot be read",
            (),
        )
    )
