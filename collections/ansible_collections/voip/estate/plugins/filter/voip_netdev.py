"""Network device filters: intended configurations from the model. Logic lives in voipctl.derive.netdev."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.adapters.hosts import call_servers
    from voipctl.derive.netdev import (
        GATEWAY_MANAGED,
        SWITCH_MANAGED,
        NetdevDataError,
        gateway_config,
        switch_config,
    )


def _device_config(filter_name, host, hostvars, build):
    """``build(me, site=..., sites=...)`` on ``host``'s variables; a model error is the filter's error."""
    need_voipctl(filter_name)
    me = hostvars[host]
    try:
        return build(me, site=me.get("voip_site"), sites=me["voip_sites"])
    except (NetdevDataError, KeyError) as exc:
        raise AnsibleFilterError(f"{filter_name}({host}): {exc}") from exc


def voip_gateway_config(
    host, hostvars, groups, source_interface="GigabitEthernet0/0/0", codecs=None, syslog_server=None
):
    """``inventory_hostname | voip_gateway_config(hostvars, groups)``: the gateway's intended IOS configuration."""
    return _device_config(
        "voip_gateway_config",
        host,
        hostvars,
        lambda me, **site: gateway_config(
            host,
            gateway=me.get("voip_gateway") or {},
            **site,
            call_servers=call_servers(hostvars, groups),
            source_interface=source_interface,
            codecs=list(codecs) if codecs else ("g711alaw", "g711ulaw", "g729r8"),
            syslog_server=syslog_server or None,
        ),
    )


def voip_switch_config(host, hostvars, syslog_server=None):
    """``inventory_hostname | voip_switch_config(hostvars)``: the access switch's intended IOS configuration."""
    return _device_config(
        "voip_switch_config",
        host,
        hostvars,
        lambda me, **site: switch_config(
            host, switch=me.get("voip_switch") or {}, **site, syslog_server=syslog_server or None
        ),
    )


def voip_netdev_managed(kind):
    """``'gateway' | voip_netdev_managed``: the top-level lines the model owns on that kind of device."""
    need_voipctl("voip_netdev_managed")
    return list({"gateway": GATEWAY_MANAGED, "switch": SWITCH_MANAGED}[kind])


class FilterModule:
    def filters(self):
        return {
            "voip_gateway_config": voip_gateway_config,
            "voip_switch_config": voip_switch_config,
            "voip_netdev_managed": voip_netdev_managed,
        }
