"""testinfra verification of the lab: expectations come from the lab inventory (lab_expect).

Hosts are reached through podman (``podman://voiplab-NAME``), which is much
faster than going through Ansible; functional probes (SSH, firewall) go over
the lab network from the controller, like an operator or a phone would.
"""

from __future__ import annotations

import pytest
import testinfra
from lab_expect import HOSTVARS, LAB, OS_BASELINE_DEFAULTS, hosts_of

from voiplab import topology


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, group in (("linux_name", "linux"), ("device_name", "network_devices")):
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, hosts_of(group))


@pytest.fixture
def host(linux_name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"podman://{LAB.prefix}{linux_name}")


@pytest.fixture
def hostvars(linux_name: str) -> dict:
    return HOSTVARS[linux_name]


@pytest.fixture
def lab_host(linux_name: str) -> topology.LabHost:
    return LAB.host(linux_name)


@pytest.fixture(scope="session")
def baseline_defaults() -> dict:
    return OS_BASELINE_DEFAULTS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every testinfra check is part of the quick verification `make lab` runs (marker ``smoke``)."""
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.smoke)
