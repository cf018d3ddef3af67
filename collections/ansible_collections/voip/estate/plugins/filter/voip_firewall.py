"""Firewall filters: rules of a host from its groups. Logic lives in voipctl.derive.firewall."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.derive.firewall import FirewallDataError, firewall_rules


def voip_firewall_rules(group_names, services_by_group, catalog, extra_services=()):
    """Accept rules for a host: ``group_names | voip_firewall_rules(by_group, catalog)``."""
    need_voipctl("voip_firewall_rules")
    try:
        return firewall_rules(group_names, services_by_group, catalog, extra_services)
    except FirewallDataError as exc:
        raise AnsibleFilterError(f"voip_firewall_rules: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"voip_firewall_rules": voip_firewall_rules}
