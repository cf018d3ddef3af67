"""testinfra verification of the lab: expectations come from the lab inventory.

Hosts are reached through podman (``podman://voiplab-NAME``), which is much
faster than going through Ansible; functional probes (SSH, firewall) go over
the lab network from the controller, like an operator or a phone would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import testinfra
import yaml

from voipctl import inventory, lab

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab" / "containers.conf"))


def _lab() -> lab.Lab:
    return lab.load_lab(ROOT)


LAB = _lab()
HOSTVARS = inventory.load(LAB.inventory_path).hosts
OS_BASELINE_DEFAULTS = yaml.safe_load((ROOT / "roles/os_baseline/defaults/main.yml").read_text())


def hosts_of(group: str) -> list[str]:
    return [h.name for h in LAB.hosts if group in h.groups]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, group in (("linux_name", "linux"), ("device_name", "network_devices")):
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, hosts_of(group))


@pytest.fixture(scope="session")
def lab_topology() -> lab.Lab:
    return LAB


@pytest.fixture
def host(linux_name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"podman://{LAB.prefix}{linux_name}")


@pytest.fixture
def hostvars(linux_name: str) -> dict:
    return HOSTVARS[linux_name]


@pytest.fixture
def lab_host(linux_name: str) -> lab.LabHost:
    return LAB.host(linux_name)


@pytest.fixture(scope="session")
def baseline_defaults() -> dict:
    return OS_BASELINE_DEFAULTS


def var(hostvars: dict, name: str):
    """A host variable, falling back to the os_baseline role default."""
    return hostvars[name] if name in hostvars else OS_BASELINE_DEFAULTS[name]
