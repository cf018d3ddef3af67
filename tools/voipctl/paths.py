"""Where things are: the repository root and the well-known paths inside it."""

from __future__ import annotations

import os
from pathlib import Path

from voipctl.errors import VoipctlError

ROOT_ENV = "VOIP_ESTATE_ROOT"


def repo_root(start: Path | None = None) -> Path:
    """Return the voip-estate checkout: $VOIP_ESTATE_ROOT, or the nearest parent holding ansible.cfg and inventory/."""
    env = os.environ.get(ROOT_ENV)
    if env:
        root = Path(env).resolve()
        if not (root / "ansible.cfg").is_file():
            raise VoipctlError(f"{ROOT_ENV}={env} is not a voip-estate checkout (no ansible.cfg there)")
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "ansible.cfg").is_file() and (candidate / "inventory").is_dir():
            return candidate
    raise VoipctlError(
        f"{here} is not inside a voip-estate checkout (no ansible.cfg with inventory/ found above it)",
        hint=f"run voipctl from the repository or set {ROOT_ENV}",
    )


def lab_state_dir(root: Path) -> Path:
    """Generated lab state (SSH keys, known_hosts, build trees, last run): ignored by git."""
    return root / ".lab"


def resolve_inventory(root: Path, inventory: str | None) -> Path:
    """Turn ``-i`` (a path, or an environment name under inventory/) into an existing path."""
    if not inventory:
        return root / "inventory" / "lab"
    for candidate in (Path(inventory), root / inventory, root / "inventory" / inventory):
        if candidate.exists():
            return candidate.resolve()
    raise VoipctlError(
        f"inventory {inventory!r} not found (tried it as a path and under {root / 'inventory'})"
    )
