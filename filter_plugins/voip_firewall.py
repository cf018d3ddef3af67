"""Firewall filters: rules of a host from its groups. Logic lives in voipctl.derive.firewall."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from voipctl.derive.firewall import FirewallDataError, firewall_rules
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    firewall_rules = None
    _IMPORT_ERROR = exc


def voip_firewall_rules(group_names, services_by_group, catalog, extra_services=()):
    """Accept rules for a host: ``group_names | voip_firewall_rules(by_group, catalog)``."""
    if firewall_rules is None:
        raise AnsibleFilterError(
            f"voip_firewall_rules needs the voipctl package (run `make venv`): {_IMPORT_ERROR}"
        )
    try:
        return firewall_rules(group_names, services_by_group, catalog, extra_services)
    except FirewallDataError as exc:
        raise AnsibleFilterError(f"voip_firewall_rules: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"voip_firewall_rules": voip_firewall_rules}
