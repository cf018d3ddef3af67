#!/usr/bin/python
"""Documentation of the voip_validate action (the work is done by action_plugins/voip_validate.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: voip_validate
short_description: Validate the voip-estate model before any host is touched
description:
  - Runs C(voipctl validate) on the controller against the inventory the play uses
    (C(ansible_inventory_sources)) and fails with every finding (file, key path, line)
    when the estate model has errors. Warnings are reported and do not fail.
  - Runs once per playbook run; later calls with the same inventory return at once.
  - Read-only, so always C(changed=false).
  - Implemented as an action plugin on the controller; this file only documents it.
version_added: "0.1.0"
author:
  - voip-estate authors (@voip-estate)
options:
  inventory:
    description: Inventory sources to validate; default the ones Ansible uses.
    type: list
    elements: path
  date:
    description: Validate as of this day (YYYY-MM-DD); default today.
    type: str
  force:
    description: Validate again even if this run already validated the inventory.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  action:
    support: full
    description: Runs on the controller.
"""

EXAMPLES = r"""
- name: Validate the estate model
  voip.estate.voip_validate:

- name: Validate another inventory as of a date
  voip.estate.voip_validate:
    inventory: [inventory/example]
    date: "2026-12-31"
"""

RETURN = r"""
problems:
  description: Every finding.
  returned: when validation ran
  type: list
  elements: dict
  sample: [{severity: error, file: group_vars/all/users.yml, path: "voip_users[3].devices[0].mac",
            line: 42, message: "'zz' is not a MAC address", inventory: /srv/voip-estate/inventory/lab}]
error_count:
  description: Number of errors.
  returned: when validation ran
  type: int
warning_count:
  description: Number of warnings (each also shown as an Ansible warning).
  returned: when validation ran
  type: int
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={
            "inventory": {"type": "list", "elements": "path"},
            "date": {"type": "str"},
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    module.fail_json(
        msg="voip_validate runs on the controller through its action plugin; check ansible.cfg action_plugins"
    )


if __name__ == "__main__":
    main()
