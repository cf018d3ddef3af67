#!/usr/bin/python
"""Fetch a network device's running configuration into the backup store, checksummed."""

DOCUMENTATION = r"""
module: netdev_backup
short_description: Store a network device's running configuration with its sha256
description:
  - Runs on the controller and opens one netmiko session to the device. Its action plugin of the same
    name runs it inside Ansible's worker process (no module process per device); the module runs
    the same code (module_utils C(voip_netdev)) where the action plugin is not used. Fetches the running
    configuration, strips the lines that change by themselves (build header, configuration size,
    last-change timestamps) and writes it, whole and with its secrets (a backup must restore), to
    O(dest) atomically with mode C(0600); its sha256 is returned for the backup's manifest
    (M(voip.estate.backup_seal) encrypts it and records it).
  - Changed only when the stored configuration differs from what O(dest) held.
  - The configuration's text is never returned; its checksum, size and line count are.
options:
  dest:
    description: File to write on the controller (the backup store's layout is the caller's).
    type: path
    required: true
attributes:
  action:
    support: full
    description: Runs in Ansible's worker process on the controller (action plugin of the same name).
extends_documentation_fragment:
  - voip.estate.voip_netdev
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Back up the gateway's configuration
  voip.estate.netdev_backup:
    host: "{{ ansible_host }}"
    username: "{{ voip_device_username }}"
    password: "{{ voip_device_password }}"
    known_hosts: "{{ voip_device_known_hosts }}"
    dest: "{{ backup_dir }}/{{ inventory_hostname }}/running-config"
"""

RETURN = r"""
sha256:
  description: sha256 of the stored configuration.
  type: str
  returned: success
path:
  description: Where it is stored.
  type: str
  returned: success
size:
  description: Bytes stored.
  type: int
  returned: success
lines:
  description: Configuration lines stored.
  type: int
  returned: success
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import BACKUP_SPEC, NetdevError, backup


def main():
    module = AnsibleModule(argument_spec=BACKUP_SPEC, supports_check_mode=True)
    try:
        result = backup(module.params, check_mode=module.check_mode, diff=module._diff)
    except NetdevError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
