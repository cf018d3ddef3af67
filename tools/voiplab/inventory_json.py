"""An inventory as ``ansible-inventory --list`` JSON behind an inventory script, the way AWX hands it to Ansible.

``ansible-inventory --list --export`` writes each group's variables once
(group_vars included) and each host's own under ``_meta.hostvars``. It
decrypts files vault-encrypted as a whole and writes their values as plain
text; ``export`` encrypts them again, one by one (``__ansible_vault``, which
Ansible's inventory script decoder reads back as vaulted values), so the JSON
holds no secret in clear. The tests validate the estate in this form and in
the directory form and expect the same findings.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

SCRIPT = '#!/bin/sh\n# An inventory script over the JSON beside it (voiplab.inventory_json).\nexec cat "$(dirname "$0")/{name}"\n'


def listed(inventory: Path, env: dict[str, str]) -> dict[str, Any]:
    """``ansible-inventory -i INVENTORY --list --export`` of ``inventory``, read without the preflight.

    The preflight would refuse to list a broken estate; the tests break
    estates on purpose, and validate the JSON afterwards.
    """
    run = subprocess.run(
        ["ansible-inventory", "-i", str(inventory), "--list", "--export"],
        env={**env, "ANSIBLE_VARS_ENABLED": "voip.estate.voip_group_vars"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def vaulted_names(inventory: Path, password_file: Path) -> dict[str, set[str]]:
    """Entity ("group:NAME" or "host:NAME") -> the variables of its files vault-encrypted as a whole."""
    import yaml
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(password_file.read_bytes().strip()))])
    found: dict[str, set[str]] = {}
    for kind in ("group", "host"):
        base = inventory / f"{kind}_vars"
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if path.is_file() and path.read_bytes().startswith(b"$ANSIBLE_VAULT"):
                entity = _entity_of(path.relative_to(base))
                data = yaml.safe_load(vault.decrypt(path.read_bytes())) or {}
                found.setdefault(f"{kind}:{entity}", set()).update(data)
    return found


def _entity_of(relative: Path) -> str:
    """The group or host a vars file belongs to: a directory's whole name, a file's name without its extension.

    Host names hold dots (``cs1.lab.example``): only a vars file extension is taken off.
    """
    if len(relative.parts) > 1:
        return relative.parts[0]
    name = relative.name
    for suffix in (".yml", ".yaml", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def revault(data: dict[str, Any], names: dict[str, set[str]], password_file: Path) -> dict[str, Any]:
    """``data`` (``ansible-inventory --list`` JSON) with the values of ``names`` encrypted again, in place."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(password_file.read_bytes().strip()))])
    for entity, variables in names.items():
        kind, name = entity.split(":", 1)
        table = (
            data.get(name, {}).get("vars", {}) if kind == "group" else data["_meta"]["hostvars"].get(name, {})
        )
        for var in variables & set(table):
            value = table[var]
            text = (
                value["__ansible_unsafe"]
                if isinstance(value, dict) and "__ansible_unsafe" in value
                else value
            )
            table[var] = {"__ansible_vault": vault.encrypt(str(text)).decode()}
    return data


def write(data: dict[str, Any], directory: Path, name: str = "inventory") -> Path:
    """Write ``data`` as ``NAME.json`` (mode 0600) and the executable ``NAME.sh`` over it; the script's path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.json"
    # Created 0600, never readable by others while it is written.
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(json.dumps(data, indent=2) + "\n")
    target.chmod(0o600)
    script = directory / f"{name}.sh"
    script.write_text(SCRIPT.format(name=target.name))
    script.chmod(0o700)
    return script


def export(inventory: Path, directory: Path, env: dict[str, str]) -> Path:
    """``inventory`` as an inventory script over its ``ansible-inventory --list`` JSON, secrets vaulted."""
    password = Path(env["ANSIBLE_VAULT_PASSWORD_FILE"])
    data = revault(listed(inventory, env), vaulted_names(inventory, password), password)
    return write(data, directory)
