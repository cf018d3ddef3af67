#!/usr/bin/python
"""Run read-only show commands on a network device (health, troubleshooting)."""

DOCUMENTATION = r"""
module: netdev_command
short_description: Run read-only show commands on a network device
description:
  - Runs on the controller and opens one netmiko session to the device; runs each command of
    O(commands) and returns its output. Only C(show) commands are accepted, so the module can
    never change the device; it never reports a change.
  - Each entry is exactly one show command, checked before the device is contacted. An entry with
    a line break, any other control or non-ASCII character (Ctrl-Z, Ctrl-U, escape, U+2028 and so
    on), C(?), C(;), C(<) or C(>), or a pipe other than an output filter (C(| include), C(| exclude),
    C(| begin), C(| section), C(| count)) fails the task naming the entry, and nothing is run.
  - Secrets in the output are masked.
options:
  commands:
    description: The show commands, for example C(show isdn status).
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    details: Nothing is ever changed, so the commands run in check mode too.
  diff_mode:
    support: none
    details: Nothing is ever changed, so there is nothing to diff.
extends_documentation_fragment:
  - voip.estate.voip_netdev
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: PRI and voice port status of the gateway
  voip.estate.netdev_command:
    host: "{{ ansible_host }}"
    username: "{{ voip_device_username }}"
    password: "{{ voip_device_password }}"
    known_hosts: "{{ voip_device_known_hosts }}"
    commands: [show isdn status, show voice port summary]
"""

RETURN = r"""
outputs:
  description: The output of each command, by command.
  type: dict
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    CONNECTION_SPEC,
    INVALID,
    NetdevError,
    connect,
    mask,
    refused_show_commands,
)


def main():
    module = AnsibleModule(
        argument_spec={**CONNECTION_SPEC, "commands": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    params = module.params
    refused = refused_show_commands(params["commands"])
    if refused:
        module.fail_json(msg=mask(f"{params['host']}: nothing was run: " + "; ".join(refused)))
    session = None
    outputs = {}
    try:
        session = connect(params)
        for command in params["commands"]:
            output = session.send_command(command.strip(), read_timeout=60)
            if INVALID.search(output):
                raise NetdevError(
                    f"{params['host']}: the device refused {command!r}: {INVALID.search(output).group(0)}"
                )
            outputs[command] = "\n".join(mask(line) for line in output.splitlines())
    except NetdevError as exc:
        module.fail_json(msg=mask(str(exc)))
    finally:
        if session is not None:
            session.disconnect()
    module.exit_json(changed=False, outputs=outputs)


if __name__ == "__main__":
    main()
