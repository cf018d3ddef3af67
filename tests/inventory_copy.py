"""A copy of the lab inventory for a test that changes the model (a release manifest, a policy)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "inventory" / "lab"


def lab_copy(tmp_path_factory, name: str) -> Path:
    """<tmp>/inventory/lab, a copy of the lab inventory, beside a link <tmp>/lab to the lab's files
    (firmware images), as the inventory's relative paths expect."""
    base = tmp_path_factory.mktemp(name)
    (base / "lab").symlink_to(ROOT / "lab")
    copy = base / "inventory" / "lab"
    shutil.copytree(LAB, copy)
    return copy
