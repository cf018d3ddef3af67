"""The inventory's hosts as the derivations want them, read once from Ansible's hostvars and groups.

The filters of the call servers, the phones and the gateways all need the
call servers (and the call servers the gateways); they take them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def call_servers(hostvars: Mapping[str, Any], groups: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every call server: name, site, address (its ansible_host), sip_domain and sip_port."""
    servers = []
    for name in groups.get("call_servers", []):
        host = hostvars[name]
        server = host.get("voip_call_server") or {}
        servers.append(
            {
                "name": name,
                "site": host.get("voip_site"),
                "address": host.get("ansible_host", name),
                "sip_domain": server.get("sip_domain"),
                "sip_port": server.get("sip_port", 5060),
            }
        )
    return servers


def gateways(hostvars: Mapping[str, Any], groups: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every media gateway: name, site, address, the extensions of its FXS ports and its number of PRI spans."""
    return [
        {
            "name": name,
            "site": hostvars[name].get("voip_site"),
            "address": hostvars[name].get("ansible_host", name),
            "fxs_extensions": [
                str(port["extension"])
                for port in (hostvars[name].get("voip_gateway") or {}).get("fxs_ports") or []
            ],
            "pri_spans": len((hostvars[name].get("voip_gateway") or {}).get("pri_spans") or []),
        }
        for name in groups.get("gateways", [])
    ]
