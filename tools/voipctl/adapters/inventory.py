"""Load an inventory as Ansible sees it: groups, and host variables merged and templated.

Ansible's own inventory and variable managers are used, so group_vars and
host_vars precedence is exactly Ansible's; nothing here re-implements it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voipctl.errors import VoipctlError


@dataclass
class Inventory:
    """Hosts, their groups and their variables as Ansible would give them to a play."""

    source: Path
    groups: dict[str, list[str]] = field(default_factory=dict)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def hosts_in(self, group: str) -> list[str]:
        """Hosts of ``group`` (children included), in inventory order."""
        return list(self.groups.get(group, []))

    def groups_of(self, host: str) -> list[str]:
        """Groups a host belongs to (directly or through children), without ``all``."""
        return sorted(
            g for g, members in self.groups.items() if host in members and g not in ("all", "ungrouped")
        )


def load(source: Path, *, template: bool = True, only: Iterable[str] | None = None) -> Inventory:
    """Load ``source`` (a directory or file) with Ansible's InventoryManager.

    With ``template`` the host variables are rendered like in a play (lookups
    and ``{{ }}`` resolved); otherwise the raw values are returned. ``only``
    limits the result to those variables, so that nothing else is rendered
    (a lookup of a file that does not exist yet cannot fail the load).
    The estate model is not validated here (``voipctl.preflight.suspended``):
    callers read a few settings; the playbooks they run validate it.
    """
    wanted = set(only) if only is not None else None
    if not source.exists():
        raise VoipctlError(f"inventory {source} does not exist")
    # Ansible reads its configuration at import time: make it find ours.
    root = _checkout_of(source)
    if root is not None:
        os.environ.setdefault("ANSIBLE_CONFIG", str(root / "ansible.cfg"))
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.vars.manager import VariableManager

    from voipctl.preflight import suspended

    _init_plugins(init_plugin_loader)
    loader = DataLoader()
    _vault_secrets(loader)
    try:
        with suspended():
            manager = InventoryManager(loader=loader, sources=[str(source)])
            variables = VariableManager(loader=loader, inventory=manager)
            result = Inventory(source=source)
            for name, group in manager.groups.items():
                result.groups[name] = [h.name for h in group.get_hosts()]
            for host in manager.get_hosts():
                hostvars = variables.get_vars(host=host, include_hostvars=False)
                keys = [k for k in hostvars if wanted is None or k in wanted]
                result.hosts[host.name] = (
                    _render(loader, hostvars, keys) if template else {k: hostvars[k] for k in keys}
                )
    except AnsibleError as exc:
        raise VoipctlError(f"cannot load inventory {source}: {exc}") from exc
    return result


_PLUGINS_READY = False


def _vault_secrets(loader: Any) -> None:
    """Give the loader the vault password of ANSIBLE_VAULT_PASSWORD_FILE, as ansible-playbook would."""
    path = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
    if not path:
        return
    from ansible.parsing.vault import VaultSecret

    try:
        secret = Path(path).read_bytes().strip()
    except OSError as exc:
        raise VoipctlError(f"cannot read the vault password file {path}: {exc.strerror}") from exc
    loader.set_vault_secrets([("default", VaultSecret(secret))])


def _init_plugins(init_plugin_loader: Any) -> None:
    """Ansible's plugin loader may be initialised once per process."""
    global _PLUGINS_READY
    if not _PLUGINS_READY:
        init_plugin_loader()
        _PLUGINS_READY = True


def _render(loader: Any, hostvars: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    from ansible.template import Templar

    templar = Templar(loader=loader, variables=hostvars)
    rendered: dict[str, Any] = {}
    for key in keys:
        # Magic variables (groups, hostvars, ...) are left out.
        if key in ("groups", "hostvars", "omit", "vars", "environment"):
            continue
        rendered[key] = templar.template(hostvars[key])
    return rendered


def _checkout_of(source: Path) -> Path | None:
    for candidate in (source.resolve(), *source.resolve().parents):
        if (candidate / "ansible.cfg").is_file():
            return candidate
    return None
