"""Network device filters: intended configurations from the model. Logic lives in voipctl.derive.netdev."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from voipctl.ansible.hosts import call_servers
    from voipctl.derive.netdev import (
        GATEWAY_MANAGED,
        SWITCH_MANAGED,
        NetdevDataError,
        gateway_config,
        switch_config,
    )
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    gateway_config = None
    _IMPORT_ERROR = exc


def _need_voipctl(name):
    if gateway_config is None:
        raise AnsibleFilterError(f"{name} needs the voipctl package (run `make venv`): {_IMPORT_ERROR}")


def voip_gateway_config(
    host, hostvars, groups, source_interface="GigabitEthernet0/0/0", codecs=None, syslog_server=None
):
    """``inventory_hostname | voip_gateway_config(hostvars, groups)``: the gateway's intended IOS configuration."""
    _need_voipctl("voip_gateway_config")
    me = hostvars[host]
    try:
        return gateway_config(
            host,
            gateway=me.get("voip_gateway") or {},
            site=me.get("voip_site"),
            sites=me["voip_sites"],
            call_servers=call_servers(hostvars, groups),
            source_interface=source_interface,
            codecs=list(codecs) if codecs else ("g711alaw", "g711ulaw", "g729r8"),
            syslog_server=syslog_server or None,
        )
    except (NetdevDataError, KeyError) as exc:
        raise AnsibleFilterError(f"voip_gateway_config({host}): {exc}") from exc


def voip_switch_config(host, hostvars, syslog_server=None):
    """``inventory_hostname | voip_switch_config(hostvars)``: the access switch's intended IOS configuration."""
    _need_voipctl("voip_switch_config")
    me = hostvars[host]
    try:
        return switch_config(
            host,
            switch=me.get("voip_switch") or {},
            site=me.get("voip_site"),
            sites=me["voip_sites"],
            syslog_server=syslog_server or None,
        )
    except (NetdevDataError, KeyError) as exc:
        raise AnsibleFilterError(f"voip_switch_config({host}): {exc}") from exc


def voip_netdev_managed(kind):
    """``'gateway' | voip_netdev_managed``: the top-level lines the model owns on that kind of device."""
    _need_voipctl("voip_netdev_managed")
    return list({"gateway": GATEWAY_MANAGED, "switch": SWITCH_MANAGED}[kind])


class FilterModule:
    def filters(self):
        return {
            "voip_gateway_config": voip_gateway_config,
            "voip_switch_config": voip_switch_config,
            "voip_netdev_managed": voip_netdev_managed,
        }
