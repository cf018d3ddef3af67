"""The lab as the testinfra tests expect it: topology and variables from the lab inventory.

Tests import from here (not from conftest: several conftest modules run in
one pytest session).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from voipctl.adapters import inventory
from voiplab import topology

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab" / "containers.conf"))

LAB = topology.load_lab(ROOT)
HOSTVARS = inventory.load(LAB.inventory_path).hosts
OS_BASELINE_DEFAULTS = yaml.safe_load(
    (ROOT / "collections/ansible_collections/voip/estate/roles/os_baseline/defaults/main.yml").read_text()
)


def hosts_of(group: str) -> list[str]:
    return [h.name for h in LAB.hosts if group in h.groups]


def var(hostvars: dict, name: str):
    """A host variable, falling back to the os_baseline role default."""
    return hostvars[name] if name in hostvars else OS_BASELINE_DEFAULTS[name]
