"""Backup filters: what a host keeps, from the backup policy."""

from __future__ import annotations


def voip_backup_items(by_group, group_names):
    """``voip_backup_policy.paths | voip_backup_items(group_names)``: the host's items, by its groups, once each."""
    items = []
    for group in group_names:
        for item in (by_group or {}).get(group) or []:
            if item not in items:
                items.append(item)
    return items


def voip_apt_pin(item):
    """``{key: name, value: version}`` as apt's ``name=version``."""
    return f"{item['key']}={item['value']}"


class FilterModule:
    def filters(self):
        return {"voip_backup_items": voip_backup_items, "voip_apt_pin": voip_apt_pin}
