#!/usr/bin/python
"""Fetch a network device's running configuration into the backup store, checksummed."""

DOCUMENTATION = r"""
module: netdev_backup
short_description: Store a network device's running configuration with its sha256
description:
  - Runs on the controller and opens one netmiko session to the device. Fetches the running
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

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import write_atomic
from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    CONNECTION_SPEC,
    NetdevError,
    connect,
    mask,
    running_config,
    sha256,
    strip_volatile,
)


def main():
    module = AnsibleModule(
        argument_spec={**CONNECTION_SPEC, "dest": {"type": "path", "required": True}},
        supports_check_mode=True,
    )
    params = module.params
    dest = params["dest"]
    session = None
    try:
        session = connect(params)
        text = strip_volatile(running_config(session))
    except NetdevError as exc:
        module.fail_json(msg=mask(str(exc)))
    finally:
        if session is not None:
            session.disconnect()
    if len(text.strip()) == 0:
        module.fail_json(msg=f"{params['host']}: the device returned an empty configuration; nothing stored")
    digest = sha256(text)
    try:
        with open(dest) as handle:
            before = handle.read()
    except OSError:
        before = None
    changed = before != text
    if changed and not module.check_mode:
        try:
            write_atomic(dest, text.encode(), 0o600)
        except OSError as exc:
            module.fail_json(msg=f"cannot write {dest}: {exc}")
    result = {
        "changed": changed,
        "sha256": digest,
        "path": dest,
        "size": len(text.encode()),
        "lines": text.count("\n"),
    }
    if module._diff:
        result["diff"] = {
            "before": "" if before is None else f"sha256 {sha256(before)}\n",
            "after": f"sha256 {digest}\n",
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
