"""Firewall rules of a host from the services its groups offer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

PROTOCOLS = ("tcp", "udp")


class FirewallDataError(ValueError):
    """Bad firewall data; the message names the element."""


def firewall_rules(
    group_names: Iterable[str],
    services_by_group: Mapping[str, Iterable[str]],
    catalog: Mapping[str, Mapping[str, Any]],
    extra_services: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Accept rules for the services of a host's groups (plus ``extra_services``).

    Returns one rule per service and protocol, sorted by service name::

        {"service": "ssh", "protocol": "tcp", "ports": "22",
         "any_source": False, "sources_v4": ["10.0.0.0/24"], "sources_v6": []}

    Raises FirewallDataError naming the group or service when the data is wrong.
    """
    wanted: set[str] = set()
    for group in ["all", *group_names]:
        services = services_by_group.get(group, [])
        if isinstance(services, str) or not isinstance(services, Iterable):
            raise FirewallDataError(f"services_by_group[{group!r}] must be a list of service names")
        for service in services:
            if service not in catalog:
                raise FirewallDataError(f"services_by_group[{group!r}] names unknown service {service!r}")
            wanted.add(service)
    for service in extra_services:
        if service not in catalog:
            raise FirewallDataError(f"extra services name unknown service {service!r}")
        wanted.add(service)
    rules = []
    for service in sorted(wanted):
        rules.extend(_service_rules(service, catalog[service]))
    return rules


def _service_rules(service: str, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    where = f"catalog[{service!r}]"
    protocols = spec.get("protocols", ["tcp"])
    for proto in protocols:
        if proto not in PROTOCOLS:
            raise FirewallDataError(f"{where}.protocols: {proto!r} is not one of {', '.join(PROTOCOLS)}")
    ports = [_port(p, f"{where}.ports") for p in spec.get("ports", [])]
    if not ports:
        raise FirewallDataError(f"{where}.ports: at least one port is needed")
    sources = spec.get("sources", "any")
    any_source = sources == "any"
    v4: list[str] = []
    v6: list[str] = []
    if not any_source:
        if isinstance(sources, str) or not isinstance(sources, Iterable):
            raise FirewallDataError(f"{where}.sources: 'any' or a list of networks")
        for i, src in enumerate(sources):
            try:
                net = ipaddress.ip_network(str(src), strict=False)
            except ValueError as exc:
                raise FirewallDataError(f"{where}.sources[{i}]: {src!r} is not a network ({exc})") from exc
            (v4 if net.version == 4 else v6).append(str(net))
        if not v4 and not v6:
            raise FirewallDataError(f"{where}.sources: empty; use 'any' or name the networks")
    return [
        {
            "service": service,
            "protocol": proto,
            "ports": ", ".join(ports),
            "any_source": any_source,
            "sources_v4": sorted(set(v4)),
            "sources_v6": sorted(set(v6)),
        }
        for proto in protocols
    ]


def _port(value: Any, where: str) -> str:
    text = str(value)
    bounds = text.split("-", 1)
    try:
        numbers = [int(b) for b in bounds]
    except ValueError as exc:
        raise FirewallDataError(f"{where}: {value!r} is not a port or port range") from exc
    if any(not 1 <= n <= 65535 for n in numbers) or (len(numbers) == 2 and numbers[0] > numbers[1]):
        raise FirewallDataError(f"{where}: {value!r} is outside 1-65535 or an empty range")
    return text
