#!/usr/bin/python
"""Bring a network device's configuration to the intended lines (netmiko, one session)."""

DOCUMENTATION = r"""
module: netdev_config
short_description: Bring a Cisco IOS-style device's configuration to the intended lines
description:
  - Runs on the controller and opens one netmiko session to the device. Reads the running
    configuration once, compares it with O(intended) (indented IOS text rendered from the model)
    and sends only what is missing or different, then saves (C(write memory)) when it changed.
  - Inside a block the model holds (an interface, a dial-peer, a voice-port) the block is made
    exactly as intended, so a line changed by hand is put back and an extra line is negated.
  - Top-level lines and blocks matching O(managed) that are not intended are removed (a dial-peer
    removed from the model is removed from the device); anything else on the device is left alone.
  - A line the device refuses (C(% Invalid input)) fails the task with that line.
  - Secrets in configuration lines are masked in the commands, the diff and any message.
options:
  intended:
    description: The intended configuration, IOS text with one space of indent per level.
    type: str
    required: true
  managed:
    description:
      - Regular expressions of top-level lines the model owns entirely, for example
        C(^dial-peer voice ) or C(^ntp server ). Those not in O(intended) are removed.
    type: list
    elements: str
    default: []
  replace:
    description:
      - Make the whole configuration O(intended) (a restore from a backup of the device); every
        top-level line that is not intended is removed, not only those matching O(managed).
      - A single setting that an intended line overwrites (C(hostname), C(enable secret),
        C(username NAME ... secret)) is not negated, which would remove the new value too; what the
        push did not overwrite after all is removed in a second round.
    type: bool
    default: false
  save:
    description: Save the configuration (C(write memory)) after a change.
    type: bool
    default: true
extends_documentation_fragment:
  - voip.estate.voip_netdev
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Configure the gateway from the model
  voip.estate.netdev_config:
    host: "{{ ansible_host }}"
    username: "{{ voip_device_username }}"
    password: "{{ voip_device_password }}"
    known_hosts: "{{ voip_device_known_hosts }}"
    intended: "{{ lookup('ansible.builtin.template', 'gateway.cfg.j2') }}"
    managed: ['^dial-peer voice ', '^voice-port ']

- name: Restore the gateway's whole configuration from a backup
  voip.estate.netdev_config:
    host: "{{ ansible_host }}"
    username: "{{ voip_device_username }}"
    password: "{{ voip_device_password }}"
    known_hosts: "{{ voip_device_known_hosts }}"
    intended: "{{ lookup('ansible.builtin.file', restored_config) }}"
    managed: ['^dial-peer voice ', '^voice-port ', '^ntp server ', '^logging host ']
    replace: true
"""

RETURN = r"""
commands:
  description:
    - The lines sent (or, in check mode, that would be sent), secrets masked.
    - With O(replace), a second round's lines too.
  type: list
  elements: str
  returned: always
counts:
  description: Configuration lines added and removed.
  type: dict
  returned: always
  sample: {added: 3, removed: 1}
saved:
  description: Whether the configuration was saved (after a change, or because the running one was unsaved).
  type: bool
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    CONNECTION_SPEC,
    NetdevError,
    connect,
    diff_text,
    mask,
    parse,
    plan,
    push,
    running_config,
    startup_config,
)
from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import save as save_config


def main():
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_SPEC,
            "intended": {"type": "str", "required": True},
            "managed": {"type": "list", "elements": "str", "default": []},
            "replace": {"type": "bool", "default": False},
            "save": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    where = f"{params['host']}:{params['port']}"
    session = None
    try:
        session = connect(params)
        running = running_config(session)
        todo = plan(running, params["intended"], params["managed"], params["replace"])
        changed = bool(todo["commands"])
        saved = False
        # A running configuration that was never saved (an earlier run that
        # failed half-way, a hand change) would be lost on a reload: save it.
        unsaved = params["save"] and not changed and parse(running) != parse(startup_config(session))
        if unsaved and not module.check_mode:
            save_config(session)
            saved = True
        changed = changed or unsaved
        if todo["commands"] and not module.check_mode:
            push(session, todo["commands"])
            # The device's own word: the intended state holds now. With
            # replace, a line the push was expected to overwrite but did not
            # is removed in a second round.
            left = plan(running_config(session), params["intended"], params["managed"], params["replace"])
            if left["commands"] and params["replace"]:
                push(session, left["commands"])
                todo["commands"] += left["commands"]
                left = plan(running_config(session), params["intended"], params["managed"], True)
            if params["save"]:
                save_config(session)
                saved = True
            if left["commands"]:
                raise NetdevError(
                    "the device did not take every line; still to change: "
                    + "; ".join(mask(c.strip()) for c in left["commands"][:10])
                )
    except NetdevError as exc:
        module.fail_json(
            msg=f"{where}: {mask(str(exc))}" if not str(exc).startswith(where) else mask(str(exc))
        )
    finally:
        if session is not None:
            session.disconnect()
    result = {
        "changed": changed,
        "commands": [mask(c) for c in todo["commands"]],
        "counts": {"added": len(todo["added"]), "removed": len(todo["removed"])},
        "saved": saved,
    }
    if module._diff:
        result["diff"] = diff_text(params["host"], todo["added"], todo["removed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
