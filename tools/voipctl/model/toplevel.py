"""The inventory's top-level variables: each one is read by someone, and the estate has users.

Ansible ignores a variable no play reads, so ``voip_user:`` (one letter
short), ``\\ufeffvoip_users:`` or a users file nobody can read leaves the
estate without its directory and every run succeeds. Here every top-level
variable of the inventory (inventory files, ``group_vars``, ``host_vars``)
must be one of:

* a variable of the estate model (``voipctl.model.schema``);
* a word in what roles and playbooks read (``READERS`` below: options,
  defaults, tasks, templates, playbooks), or a setting of ``voipctl lab``;
* Ansible's own (``ansible_*``), a vault secret (``vault_*``) or molecule's
  (``molecule_*``).

Anything else is refused, with the nearest known name as a hint.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

import yaml

from voipctl.model.loader import LoadedInventory, Origin, Var
from voipctl.model.schema import ESTATE_VARS, HOST_VARS

ROOT = Path(__file__).resolve().parents[3]
# Where a variable is read: role options, defaults, tasks, handlers and
# templates, and the playbooks (a role default such as
# ``os_baseline_admins: "{{ voip_admins }}"`` reads ``voip_admins``).
READERS = (
    "collections/ansible_collections/voip/estate/roles/*/meta/argument_specs.yml",
    "collections/ansible_collections/voip/estate/roles/*/defaults/*.yml",
    "collections/ansible_collections/voip/estate/roles/*/vars/*.yml",
    "collections/ansible_collections/voip/estate/roles/*/tasks/*.yml",
    "collections/ansible_collections/voip/estate/roles/*/handlers/*.yml",
    "collections/ansible_collections/voip/estate/roles/*/templates/*",
    "playbooks/*.yml",
)
# Read by `voipctl lab` (tools/voiplab/lab.py), not by a play.
SETTINGS = ("lab_container", "lab_container_prefix", "lab_network", "lab_peers", "lab_state_dir")
# Ansible's own, vault secrets, and the variables molecule puts in its inventory.
PREFIXES = ("ansible_", "vault_", "molecule_")


@functools.cache
def _readers_text(root: Path = ROOT) -> str:
    parts = []
    for pattern in READERS:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)


@functools.cache
def is_read(name: str) -> bool:
    """Whether ``name`` is a model variable, a setting, or appears as a word where roles and playbooks read."""
    if name in ESTATE_VARS or name in HOST_VARS or name in SETTINGS or name.startswith(PREFIXES):
        return True
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return False
    return re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", _readers_text()) is not None


def _known_names() -> list[str]:
    words = set(re.findall(r"[a-z][a-z0-9_]*_[a-z0-9_]+", _readers_text()))
    return sorted(words | set(ESTATE_VARS) | set(HOST_VARS) | set(SETTINGS))


def _every_variable(inv: LoadedInventory) -> list[tuple[str, Var]]:
    found: list[tuple[str, Var]] = []
    for group in inv.groups.values():
        found.extend(group.vars.items())
    for variables in (*inv.host_inventory_vars.values(), *inv.file_vars.values()):
        found.extend(variables.items())
    return found


def unknown_variables(inv: LoadedInventory) -> list[tuple[Origin, str]]:
    """(origin, message) for every top-level variable nobody reads (each place it is set)."""
    if not _readers_text():
        return []  # no roles next to this package: nothing to compare with
    problems = []
    for name, var in _every_variable(inv):
        if is_read(name):
            continue
        close = difflib.get_close_matches(name.lstrip("\ufeff"), _known_names(), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else ""
        shown = repr(name) if name.isprintable() else ascii(name)
        problems.append((var.origin, f"unknown variable {shown}: no role, playbook or model reads it{hint}"))
    return problems


@functools.cache
def derived_defaults(root: Path = ROOT) -> dict[str, str]:
    """Role defaults computed from the model: name -> the model variable(s) they come from.

    ``os_baseline_cti_networks: "{{ voip_cti_accounts | ... }}"``: setting
    it in the inventory would open the firewall to networks the model's CTI
    checks never saw. Such defaults are set through the model only.
    """
    model = (set(ESTATE_VARS) | set(HOST_VARS)) - {"ansible_host", "voip_site"}
    found: dict[str, str] = {}
    for path in sorted(root.glob("collections/ansible_collections/voip/estate/roles/*/defaults/*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for name, value in data.items() if isinstance(data, dict) else ():
            if isinstance(value, str) and "{{" in value:
                used = sorted(model & set(re.findall(r"[a-z_][a-z0-9_]*", value)))
                if used:
                    found[str(name)] = ", ".join(used)
    return found


def overridden_derivations(inv: LoadedInventory) -> list[tuple[Origin, str]]:
    """(origin, message) for every role default derived from the model that the inventory sets itself.

    Emptying one is allowed: it switches something off and never widens it
    (the lab's time server bak1 has no NTP servers of its own).
    """
    derived = derived_defaults()
    return [
        (
            var.origin,
            f"{name} is derived from the model ({derived[name]}): change the model, not the role's input",
        )
        for name, var in _every_variable(inv)
        if name in derived and var.value not in ([], {}, "")
    ]


# Model variables an inventory file may set: plain names and addresses, which
# cannot hold a template. Anything richer belongs in group_vars or host_vars.
INVENTORY_FILE_VARS = ("voip_site", "ansible_host")


def model_in_inventory_files(inv: LoadedInventory) -> list[tuple[Origin, str]]:
    """(origin, message) for model variables set in an inventory file (hosts.yml) beyond a host's site and address.

    Ansible's yaml inventory plugin loads such files as templates, so a
    ``{{ lookup(...) }}`` there would run on the controller; the vars plugin
    loads group_vars and host_vars as data (the collection's plugins/vars/voip_group_vars.py).
    """
    problems = []
    for name, var in _every_variable(inv):
        if (name in ESTATE_VARS or name in HOST_VARS) and name not in INVENTORY_FILE_VARS and _templated(var):
            where = "group_vars/all" if name in ESTATE_VARS else "host_vars/HOST"
            problems.append(
                (
                    var.origin,
                    f"{name} is set in an inventory file, which Ansible reads as a template: set it in {where}",
                )
            )
    return problems


def _templated(var: Var) -> bool:
    if var.templated is not None:
        return var.templated
    return not var.origin.file.startswith(("group_vars/", "host_vars/"))


def missing_directory(inv: LoadedInventory, all_vars: dict[str, Var]) -> str | None:
    """Why the estate has no user directory, or None when ``voip_users`` lists users."""
    var = all_vars.get("voip_users")
    if var is not None and isinstance(var.value, list) and var.value:
        return None
    if var is not None and not var.value:
        return "the user directory is empty: an estate without users would remove every user from the call servers"
    hidden = [f for f in inv.encrypted_files if "users" in Path(f).name] or inv.encrypted_files
    why = ""
    if hidden:
        why = (
            f" (if it is in {', '.join(hidden)}: that file is vault-encrypted as a whole, so no one but "
            "Ansible can read it; keep the model in plain files and encrypt single secrets with !vault)"
        )
    return f"voip_users is not defined: every estate needs its user directory{why}"
