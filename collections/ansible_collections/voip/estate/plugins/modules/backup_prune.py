#!/usr/bin/python
"""Remove a host's backup points that the retention policy no longer keeps."""

DOCUMENTATION = r"""
module: backup_prune
short_description: Prune a host's backup points by the retention policy
description:
  - Runs on the backup server. Keeps the newest point of each of the last O(daily) days that have
    one, of the last O(weekly) ISO weeks and of the last O(monthly) months (the newest point always),
    and removes the other points of O(host) under O(store). Directories that are not points are left.
options:
  store:
    description: The backup store.
    type: path
    required: true
  host:
    description: Whose points.
    type: str
    required: true
extends_documentation_fragment:
  - voip.estate.voip_backup_retention
  - voip.estate.voip_attributes.check
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Prune by the policy
  voip.estate.backup_prune:
    store: /srv/backups
    host: cs1
    daily: 7
    weekly: 4
"""

RETURN = r"""
kept:
  description: The points kept, newest first.
  type: list
  elements: str
  returned: always
removed:
  description: The points removed (or that would be, in check mode).
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import RETENTION_SPEC, prune_host


def main():
    module = AnsibleModule(
        argument_spec={
            "store": {"type": "path", "required": True},
            "host": {"type": "str", "required": True},
            **RETENTION_SPEC,
        },
        supports_check_mode=True,
    )
    p = module.params
    retention = {"daily": p["daily"], "weekly": p["weekly"], "monthly": p["monthly"]}
    kept, removed = prune_host(p["store"], p["host"], retention, check=module.check_mode)
    module.exit_json(changed=bool(removed), kept=kept, removed=removed)


if __name__ == "__main__":
    main()
