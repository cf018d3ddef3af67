#!/usr/bin/python
"""Put a software image on a network device and boot it, with its configuration checked."""

DOCUMENTATION = r"""
module: netdev_software
short_description: Copy, check and boot a software image on a gateway or access switch
description:
  - Runs on the controller over one netmiko session (then a second one after the reload).
  - Reads C(show version) and the flash listing. When the device already runs O(image) (at
    O(version) when given) nothing changes.
  - Refuses, before anything changes, a device whose running configuration is not its saved one
    (a reload would lose the difference), unless O(rollback) is set.
  - Copies O(image) from O(url) to flash when flash does not hold it, then checks its SHA-512 on the
    device (C(verify /sha512)) against O(sha512); a mismatch fails and nothing is booted.
  - Makes the image the booted one (a gateway, O(kind=gateway) - C(boot system bootflash:IMAGE) in the
    configuration, saved; a switch, O(kind=switch) - the boot loader's C(boot system flash:IMAGE), which
    needs no save), reloads the device, waits until SSH goes away and comes back, and checks that
    C(show version) reports O(image) (and O(version)) and that the running configuration is the saved
    one it booted with (its boot entry aside). An image that boots without its configuration fails here.
  - The voice gate. Before anything changes the module reads what carries voice (a gateway - each PRI
    with layer 1 ACTIVE and layer 2 MULTIPLE_FRAME_ESTABLISHED, each administratively up dial-peer and
    voice port; a switch - its active VLANs); after the reload every element that was up (or
    O(voice_expected)) must be up again within O(voice_timeout) seconds, or the task fails naming them
    (RV(voice_before), RV(voice_after)). A rollback waits for them too, reports them and does not fail.
  - A failure after the reload leaves the device on the new image; the caller rolls back by running
    this module again with the previous image (RV(before)) and O(rollback=true). A saved boot entry that
    names another image than O(image) is set again even when O(image) runs (a reload that failed after
    the entry was saved would otherwise boot the other image at the next power cycle).
  - A gateway saves its running configuration to keep its boot entry, so the entry is only set while
    the running configuration is the saved one (boot entry aside); otherwise the task fails and saves
    nothing, also with O(rollback) (the saved configuration is never written over).
  - Before anything changes, a device whose C(show version) names no image file or no version is refused
    (it could not be booted back), and an image of the same name already on flash with another SHA-512
    is deleted and copied again.
  - O(image), O(url), O(sha512) and O(version) reach the device's command line, so each is held to a
    strict shape before the device is contacted (a plain file name; C(http(s)://host[:port]/path) of
    URL-safe characters; 128 hexadecimal digits); a space, quote or control character fails the task.
options:
  kind:
    description: C(gateway) (IOS XE, C(bootflash:)) or C(switch) (Catalyst, C(flash:)).
    type: str
    required: true
    choices: [gateway, switch]
  image:
    description: The image's file name on flash.
    type: str
    required: true
  url:
    description:
      - Where the device copies the image from when flash does not hold it (the estate's provisioning
        server). Without it the image must already be on flash (a rollback).
    type: str
  sha512:
    description: The image's SHA-512 (lowercase hex); required with O(url).
    type: str
  version:
    description: The version C(show version) must report once the image runs.
    type: str
  rollback:
    description:
      - Boot O(image) although the running configuration is not the saved one (a switch's failed image
        came up without it). The saved configuration is never written over; voice elements that stay
        down are reported, not failed on.
    type: bool
    default: false
  voice_expected:
    description:
      - The voice elements (RV(voice_before) names) that must be up after the reload; default those up
        before the run. A rollback gives those that were up before the failed release.
    type: list
    elements: str
  voice_timeout:
    description: Seconds the voice elements may take to come up after the reload.
    type: int
    default: 120
  copy_timeout:
    description: Seconds the copy may take.
    type: int
    default: 900
  reload_timeout:
    description: Seconds the device may stay away after the reload.
    type: int
    default: 900
attributes:
  check_mode:
    support: full
    details: Reads the device and reports what would change; copies, boots and reloads nothing.
  diff_mode:
    support: none
extends_documentation_fragment:
  - voip.estate.voip_netdev
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Boot the release's gateway image
  voip.estate.netdev_software:
    host: "{{ ansible_host }}"
    username: "{{ voip_device_username }}"
    password: "{{ voip_device_password }}"
    known_hosts: "{{ voip_device_known_hosts }}"
    kind: gateway
    image: isr4300-universalk9.17.09.04a.SPA.bin
    url: http://10.231.0.20/images/isr4300-universalk9.17.09.04a.SPA.bin
    sha512: "{{ image_sha512 }}"
    version: 17.9.4a
  register: software

- name: Roll back to the image that ran before
  voip.estate.netdev_software:
    host: "{{ ansible_host }}"
    username: "{{ voip_device_username }}"
    password: "{{ voip_device_password }}"
    known_hosts: "{{ voip_device_known_hosts }}"
    kind: gateway
    image: "{{ software.before.image }}"
    version: "{{ software.before.version }}"
    rollback: true
"""

RETURN = r"""
before:
  description: C(version) and C(image) the device ran before.
  type: dict
  returned: success
after:
  description: C(version) and C(image) the device runs now.
  type: dict
  returned: success
copied:
  description: Whether the image was copied to flash.
  type: bool
  returned: success
reloaded:
  description: Whether the device was reloaded.
  type: bool
  returned: success
voice_before:
  description: What carried voice before the run, element name to whether it was up (see the voice gate).
  type: dict
  returned: success
voice_after:
  description: The same after the reload (as RV(voice_before) without one).
  type: dict
  returned: success
away_seconds:
  description: How long the device answered no SSH during the reload (null without one).
  type: float
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    CONNECTION_SPEC,
    NetdevError,
    mask,
)
from ansible_collections.voip.estate.plugins.module_utils.voip_netdev_software import apply, request_problems

SPEC = {
    **CONNECTION_SPEC,
    "kind": {"type": "str", "required": True, "choices": ["gateway", "switch"]},
    "image": {"type": "str", "required": True},
    "url": {"type": "str"},
    "sha512": {"type": "str"},
    "version": {"type": "str"},
    "rollback": {"type": "bool", "default": False},
    "voice_expected": {"type": "list", "elements": "str"},
    "voice_timeout": {"type": "int", "default": 120},
    "copy_timeout": {"type": "int", "default": 900},
    "reload_timeout": {"type": "int", "default": 900},
}


def main():
    module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    params = module.params
    problems = request_problems(params)
    if problems:
        module.fail_json(msg=f"{params['host']}: nothing was done: " + "; ".join(problems))
    try:
        result = apply(params, check_mode=module.check_mode)
    except NetdevError as exc:
        module.fail_json(msg=mask(str(exc)))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
