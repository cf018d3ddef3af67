"""The estate model from the inventory Ansible loaded, whatever its source.

``from_ansible`` turns Ansible's groups and hosts (with the variables their
inventory source set) and what the vars plugins give each of them (group_vars
and host_vars files) into the ``LoadedInventory`` that
``voipctl.model.checks.check`` validates. A directory, the JSON of
``ansible-inventory --list`` behind an inventory script (as AWX gives it), a
``constructed`` source layered on top or NetBox's inventory: the checks see
the estate the play will see.

Each variable keeps where it came from, so that a finding names the file and
the line an operator edits:

* a group_vars or host_vars file: the file, the variable as key path (the
  same ``Origin`` as voipctl's own loader, hence the same findings). Ansible
  tags the values its loader read with their file; the fast path of
  ``voip_group_vars`` does not tag, and ``voipctl.adapters.varsfiles`` says
  which of the entity's files holds the variable;
* a YAML inventory file: the key path inside it, as voipctl's loader reads
  that file (``read_inventory_files``), else the line of Ansible's tag;
* anything else (an inventory script's output): the source, and the key path
  of ``ansible-inventory --list`` JSON (``all.vars.x``, ``_meta.hostvars.h.x``).

Group variables are shared by reference, never copied per host; values are
converted to plain data once (O(n) in the size of the estate).
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from voipctl.adapters import varsfiles
from voipctl.model import loader as fastloader
from voipctl.model.loader import Group, LoadedInventory, Origin, Var
from voipctl.model.yamlfile import VaultValue, YamlFileError, load_file

# Host variables Ansible sets itself while reading an inventory.
MAGIC_HOST_VARS = frozenset(("inventory_file", "inventory_dir"))
INVENTORY_FILE_SUFFIXES = (".yml", ".yaml", ".json")
_QUOTED_PATH = re.compile(r"'(/[^']+)'")


def normalise_sources(sources: Iterable[str]) -> list[str]:
    """Inventory sources as Ansible's InventoryManager takes them: absolute paths, host lists as they are."""
    from ansible.utils.path import unfrackpath

    return [s if "," in s else unfrackpath(s, follow=False) for s in sources if s]


def sources_in_use(path: str | None = None) -> list[str]:
    """The ``-i`` sources of this Ansible process (the configured inventory without one), plus ``path``."""
    from ansible import constants as C
    from ansible import context

    given = context.CLIARGS.get("inventory") or C.DEFAULT_HOST_LIST or []
    sources = normalise_sources([given] if isinstance(given, str) else list(given))
    if path and not any(_vars_dir(s) == os.path.abspath(path) for s in sources):
        sources.append(os.path.abspath(path))
    return sources


def root_of(sources: list[str]) -> Path:
    """The directory findings are relative to: the first directory source, else the first file's directory."""
    for source in sources:
        if os.path.isdir(source):
            return Path(source)
    for source in sources:
        if os.path.exists(source):
            return Path(os.path.dirname(source))
    return Path.cwd()


def all_group_of(entities: Iterable[Any]) -> Any:
    """Ansible's ``all`` group, reached from any group or host."""
    for entity in entities:
        groups = entity.get_groups() if hasattr(entity, "get_groups") else [entity, *entity.get_ancestors()]
        for group in groups:
            if group.name == "all":
                return group
    raise ValueError("no inventory group 'all' among the entities")


def from_ansible(all_group: Any, loader: Any, sources: list[str]) -> LoadedInventory:
    """The estate as Ansible loaded it under ``all_group``, with the vars plugins' variables of ``sources``."""
    builder = _Builder(loader, sources)
    inv = builder.inv
    groups = _in_order(all_group)
    for group in groups:
        parents = {p.name for p in group.parent_groups}
        if group.name != "all" and not parents:
            parents = {"all"}
        inv.groups[group.name] = Group(group.name, parents=parents, depth=group.depth)
    for group in groups:
        builder.read_entity(group, "group", group.name)
    for host in all_group.get_hosts():
        direct = [g.name for g in host.get_groups() if host.name in g.host_names and g.name != "all"]
        inv.host_groups[host.name] = direct or ["ungrouped"]
        builder.read_entity(host, "host", host.name)
    fastloader.set_depths(inv)
    return inv


def _in_order(all_group: Any) -> list[Any]:
    """``all`` and every group below it, depth first in the order they were added (as in the file)."""
    seen: dict[str, Any] = {}
    todo = [all_group]
    while todo:
        group = todo.pop()
        if group.name not in seen:
            seen[group.name] = group
            todo.extend(reversed(group.child_groups))
    return list(seen.values())


class _Builder:
    """Reads each group and host once; remembers the inventory files it asked voipctl's loader about."""

    def __init__(self, loader: Any, sources: list[str]):
        self.loader = loader
        self.sources = sources
        self.inv = LoadedInventory(root=root_of(sources))
        self.vars_dirs = list(dict.fromkeys(_vars_dir(s) for s in sources if _vars_dir(s)))
        self.checked: set[str] = set()
        self.checked_inventories: set[int] = set()

    def read_entity(self, entity: Any, kind: str, name: str) -> None:
        from voipctl.preflight import suspended

        found = self._vars_files(kind, name)
        self._check_files(found)
        try:
            with suspended():
                plugin_vars = self._plugin_vars(entity)
        except Exception as exc:  # any vars plugin's failure becomes a finding
            plugin_vars = self._without_vaulted(found)
            if plugin_vars is None:
                if not self.inv.file_errors:
                    self.inv.file_errors.append((self.rel(found[-1]) if found else name, None, str(exc), ()))
                plugin_vars = {}
        source_vars = {
            str(k): v
            for k, v in entity.vars.items()
            if not (kind == "host" and k in MAGIC_HOST_VARS) and not _same(v, plugin_vars.get(k, _MISSING))
        }
        file_vars: dict[str, Var] = {}
        for key, value in plugin_vars.items():
            where = self._file_of(key, value, found)
            if where is not None and varsfiles.is_vaulted_file(where):
                self._encrypted(where)
                continue
            file_vars[str(key)] = Var(
                _plain(value), Origin(self.rel(where or _tag_path(value) or "?"), (key,))
            )
        if file_vars:
            self.inv.file_vars[f"{kind}:{name}"] = file_vars
        if kind == "group":
            target = self.inv.groups[name].vars
        else:
            target = self.inv.host_inventory_vars.setdefault(name, {})
            self.inv.host_origins[name] = self._host_origin(entity)
        for key, value in source_vars.items():
            origin, in_yaml_file = self._source_origin(entity, kind, key, value)
            # A YAML inventory file is a template whatever it holds now; other sources say per string.
            target[key] = Var(_plain(value), origin, None if in_yaml_file else _trusted(value))

    def _check_files(self, found: list[str]) -> None:
        """voipctl's reading of the vars files Ansible reads with its own loader: the dialect's findings.

        Files on the fast path are in the dialect already; the others may
        hold what Ansible reads silently (a duplicate key, an ambiguous
        number) or cannot read at all.
        """
        for path in found:
            if (
                path in self.checked
                or varsfiles.fast_load(path) is not None
                or varsfiles.is_vaulted_file(path)
            ):
                continue
            self.checked.add(path)
            try:
                data = load_file(Path(path))
            except YamlFileError as exc:
                message = exc.message if exc.dialect else f"invalid YAML: {exc.message}"
                self.inv.file_errors.append((self.rel(path), exc.line, message, exc.path))
                continue
            if data is not None and not isinstance(data, dict):
                self.inv.file_errors.append(
                    (self.rel(path), 1, "a vars file must be a mapping of variable names", ())
                )

    def _without_vaulted(self, found: list[str]) -> dict[str, Any] | None:
        """The entity's vars files but those vault-encrypted as a whole, when only they failed (no vault password).

        voipctl's loader never decrypts them either: the preflight needs no
        secret (``ansible-inventory --graph`` runs without one). None when
        another file failed.
        """
        if not any(varsfiles.is_vaulted_file(path) for path in found):
            return None
        merged: dict[str, Any] = {}
        for path in found:
            if varsfiles.is_vaulted_file(path):
                self._encrypted(path)
                continue
            try:
                data = varsfiles.fast_load(path)
                if data is None:
                    data = self.loader.load_from_file(
                        path, cache="all", unsafe=True, trusted_as_template=False
                    )
            except Exception:  # the caller reports the first failure
                return None
            merged.update(data or {})
        return merged

    def _plugin_vars(self, entity: Any) -> dict[str, Any]:
        """What the enabled vars plugins give ``entity`` (the preflight itself adds nothing while suspended)."""
        from ansible.vars.plugins import get_vars_from_inventory_sources

        return get_vars_from_inventory_sources(self.loader, self.sources, [entity], "all")

    def _vars_files(self, kind: str, name: str) -> list[str]:
        """The entity's group_vars or host_vars files, in the order host_group_vars reads them."""
        found: list[str] = []
        for base in self.vars_dirs:
            subdir = os.path.join(base, f"{kind}_vars")
            if os.path.isdir(subdir):
                found.extend(self.loader.find_vars_files(subdir, name))
        return [str(f) for f in found]

    def _file_of(self, key: str, value: Any, found: list[str]) -> str | None:
        """The file that gave the winning ``value`` of ``key``: Ansible's tag, else the last fast-path file with it."""
        tagged = _tag_path(value)
        if tagged:
            return tagged
        for path in reversed(found):
            data = varsfiles.fast_load(path)
            if data is not None and key in data and data[key] is value:
                return path
        return None

    def _encrypted(self, path: str) -> None:
        rel = self.rel(path)
        if rel not in self.inv.encrypted_files:
            self.inv.encrypted_files.append(rel)

    def rel(self, path: str) -> str:
        """``path`` relative to the root when it lies under it, else as it is."""
        if not os.path.isabs(path):
            return path
        rel = os.path.relpath(path, self.inv.root)
        return path if rel.startswith("..") else rel

    def _source_origin(self, entity: Any, kind: str, key: str, value: Any) -> tuple[Origin, bool]:
        """Where an inventory source set ``key``, and whether that is a YAML inventory file voipctl reads.

        In a YAML inventory file: its key path there (as voipctl's loader
        gives it); else the file of Ansible's tag (or the source) with the
        key path of ``ansible-inventory --list`` JSON and the tag's line.
        """
        path = _tag_path(value) or _described_path(value) or self._entity_source(entity)
        known = _known_origins(path) if path else None
        if known is not None:
            self._file_errors_of(known)
            if kind == "group":
                table = known.groups[entity.name].vars if entity.name in known.groups else {}
            else:
                table = known.host_inventory_vars.get(entity.name, {})
            found = table.get(key)
            if found is not None:
                return Origin(self.rel(os.path.join(known.root, found.origin.file)), found.origin.path), True
        where = (entity.name, "vars", key) if kind == "group" else ("_meta", "hostvars", entity.name, key)
        return Origin(self.rel(path or "?"), where, _tag_line(value)), False

    def _file_errors_of(self, known: LoadedInventory) -> None:
        """What voipctl's reader refuses in a YAML inventory file Ansible read (once per file)."""
        if id(known) in self.checked_inventories:
            return
        self.checked_inventories.add(id(known))
        for file, line, message, key_path in known.file_errors:
            self.inv.file_errors.append((self.rel(os.path.join(known.root, file)), line, message, key_path))

    def _host_origin(self, host: Any) -> Origin:
        path = self._entity_source(host)
        known = _known_origins(path) if path else None
        if known is not None:
            self._file_errors_of(known)
        if known is not None and host.name in known.host_origins:
            found = known.host_origins[host.name]
            return Origin(self.rel(os.path.join(known.root, found.file)), found.path)
        return Origin(self.rel(path or "?"), ("_meta", "hostvars", host.name))

    def _entity_source(self, entity: Any) -> str | None:
        source = entity.vars.get("inventory_file") if hasattr(entity, "get_groups") else None
        if source:
            return str(source)
        files = [s for s in self.sources if os.path.isfile(s)]
        return files[-1] if files else None


_MISSING = object()


def _same(value: Any, other: Any) -> bool:
    """Whether an inventory variable is the vars plugins' one (Ansible merges those into the inventory)."""
    if other is _MISSING:
        return False
    if value is other:
        return True
    path = _tag_path(value)
    return path is not None and path == _tag_path(other)


def _vars_dir(source: str) -> str | None:
    """The directory whose group_vars/host_vars go with ``source``, as ``get_vars_from_inventory_sources`` says."""
    if "," in source and not os.path.exists(source):
        return None
    return source if os.path.isdir(source) else os.path.dirname(source)


def _known_origins(path: str) -> LoadedInventory | None:
    """voipctl's reading of a YAML inventory file Ansible read (the key path of each variable), or None."""
    if not path.endswith(INVENTORY_FILE_SUFFIXES) or not os.path.isfile(path) or os.access(path, os.X_OK):
        return None
    stat = os.stat(path)
    return _read_known(path, stat.st_size, stat.st_mtime_ns)


# An inventory plugin's configuration (constructed, netbox, ...): its top level names the plugin.
_PLUGIN_CONFIG = re.compile(r"^plugin[ \t]*:", re.M)


@lru_cache(maxsize=64)
def _read_known(path: str, size: int, mtime: int) -> LoadedInventory | None:
    """voipctl's reading of ``path``; None for a plugin configuration, which is no YAML inventory."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        if _PLUGIN_CONFIG.search(handle.read()):
            return None
    return fastloader.read_inventory_files(Path(path))


def _origin_tag(value: Any) -> Any:
    from ansible._internal._datatag._tags import Origin as AnsibleOrigin

    return AnsibleOrigin.get_tag(value)


def _tag_path(value: Any) -> str | None:
    tag = _origin_tag(value)
    return tag.path if tag is not None else None


def _tag_line(value: Any) -> int | None:
    tag = _origin_tag(value)
    return tag.line_num if tag is not None else None


def _described_path(value: Any) -> str | None:
    """The script of ``<inventory script output from '/path'>``: Ansible tags its output with no file of its own."""
    tag = _origin_tag(value)
    match = _QUOTED_PATH.search(tag.description or "") if tag is not None else None
    return match.group(1) if match else None


def _trusted(value: Any) -> bool:
    """Whether Ansible would template a string in ``value`` (the source trusted it as a template)."""
    from ansible._internal._datatag._tags import TrustedAsTemplate

    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if TrustedAsTemplate.is_tagged_on(item):
                return True
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return False


def _plain(value: Any) -> Any:
    """``value`` as plain data, as voipctl's loader gives it; vaulted values become ``VaultValue``."""
    kind = type(value)
    if kind in (str, int, float, bool, type(None)):
        return value
    if kind is dict and all(type(k) is str for k in value) and all(_is_plain(v) for v in value.values()):
        return value
    if kind is list and all(_is_plain(v) for v in value):
        return value
    return _convert(value)


def _is_plain(value: Any) -> bool:
    kind = type(value)
    if kind in (str, int, float, bool, type(None)):
        return True
    if kind is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    if kind is list:
        return all(_is_plain(v) for v in value)
    return False


def _convert(value: Any) -> Any:
    from ansible._internal._datatag._tags import VaultedValue
    from ansible.parsing.vault import EncryptedString

    if isinstance(value, EncryptedString) or VaultedValue.is_tagged_on(value):
        return VaultValue("")  # a secret the validator never sees
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime.datetime):
        return datetime.datetime.fromisoformat(value.isoformat())
    if isinstance(value, datetime.date):
        return datetime.date(value.year, value.month, value.day)
    if isinstance(value, dict):
        return {_convert(k): _convert(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_convert(v) for v in value]
    return value


def load_with_ansible(sources: list[str]) -> LoadedInventory:
    """Read ``sources`` with Ansible's InventoryManager in this process (no preflight) into the estate model."""
    from voipctl.adapters import inventory as adapter

    existing = [Path(s) for s in sources if os.path.exists(s)]
    root = adapter._checkout_of(existing[0]) if existing else None
    if root is not None:
        os.environ.setdefault("ANSIBLE_CONFIG", str(root / "ansible.cfg"))
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader

    from voipctl.preflight import suspended

    adapter._init_plugins(init_plugin_loader)
    loader = DataLoader()
    adapter._vault_secrets(loader)
    sources = normalise_sources(sources)
    with suspended():
        manager = InventoryManager(loader=loader, sources=sources)
    return from_ansible(manager.groups["all"], loader, sources)
