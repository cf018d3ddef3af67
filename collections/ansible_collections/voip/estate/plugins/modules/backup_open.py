#!/usr/bin/python
"""Verify a fetched backup point's manifest, then its files, and decrypt them (on the controller)."""

DOCUMENTATION = r"""
module: backup_open
short_description: Verify a backup point's manifest and checksums, and decrypt its files (on the controller)
description:
  - Runs on the controller on a point copied from the backup server, in two steps, so that nothing
    the manifest names is fetched before the manifest is trusted.
  - O(mode=verify) reads only C(MANIFEST.json) in O(point) and refuses it unless it is backup format 2
    in its canonical form, its HMAC-SHA256 matches (key derived from O(key) with the manifest's scrypt
    salt and parameters, which are bounded first), it is O(host)'s point O(stamp), and every stored
    name is a plain file name. Returns the stored names to fetch.
  - O(mode=open) repeats that check, then checks every file's size and sha256 against the manifest and
    refuses the point if one differs or is missing, then decrypts each file into O(dest) (mode 0600);
    the associated data binds host, point and name, so a file from another host's or point's
    directory does not open. The decrypted content's sha256 is checked too.
  - A format-1 point (key = SHA-256 of the passphrase, manifest not authenticated) is refused with a
    message saying how to take a new point, unless O(allow_v1) is set for a one-off restore of an old
    point. Its manifest's host, point and names are still checked and its files must still decrypt
    with the key, but nothing authenticates its package list.
options:
  point:
    description: The point's directory on the controller (C(MANIFEST.json) and the stored files).
    type: path
    required: true
  key:
    description: The backup key (from the vault). Never logged or returned.
    type: str
    required: true
  host:
    description: The host the point must belong to (the inventory host being restored).
    type: str
    required: true
  stamp:
    description: The point the manifest must be (the directory chosen on the backup server).
    type: str
    required: true
  mode:
    description: C(verify) checks the manifest only; C(open) checks it and the files, and decrypts.
    type: str
    choices: [verify, open]
    default: open
  allow_v1:
    description: Accept a format-1 point (unauthenticated manifest). Off by default.
    type: bool
    default: false
  dest:
    description: Directory for the decrypted files (needed with O(mode=open)).
    type: path
extends_documentation_fragment:
  - voip.estate.voip_attributes.no_check
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Verify the point's manifest
  voip.estate.backup_open:
    point: /tmp/restore/cs1/point
    key: "{{ vault_backup_key }}"
    host: cs1
    stamp: 20261122T023000Z
    mode: verify
  delegate_to: localhost
  register: verified

- name: Verify the files and open the point
  voip.estate.backup_open:
    point: /tmp/restore/cs1/point
    key: "{{ vault_backup_key }}"
    host: cs1
    stamp: 20261122T023000Z
    dest: /tmp/restore/cs1/open
  delegate_to: localhost
"""

RETURN = r"""
format:
  description: The point's backup format (2, or 1 when O(allow_v1) let an old point through).
  type: int
  returned: success
stored:
  description: The stored file names the verified manifest lists (what to fetch).
  type: list
  elements: str
  returned: success
manifest:
  description: The point's manifest.
  type: dict
  returned: success
files:
  description: Decrypted file paths by name.
  type: dict
  returned: with O(mode=open)
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import (
    MANIFEST,
    BackupError,
    check_manifest,
    open_point,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "point": {"type": "path", "required": True},
            "key": {"type": "str", "required": True, "no_log": True},
            "host": {"type": "str", "required": True},
            "stamp": {"type": "str", "required": True},
            "mode": {"type": "str", "choices": ["verify", "open"], "default": "open"},
            "allow_v1": {"type": "bool", "default": False},
            "dest": {"type": "path"},
        },
        required_if=[("mode", "open", ["dest"])],
        supports_check_mode=False,
    )
    p = module.params
    args = (p["key"], p["host"], p["stamp"])
    result = {}
    try:
        if p["mode"] == "verify":
            checked = check_manifest(os.path.join(p["point"], MANIFEST), *args, allow_v1=p["allow_v1"])
            manifest = checked["manifest"]
        else:
            manifest, result["files"] = open_point(p["point"], *args, p["dest"], allow_v1=p["allow_v1"])
    except (BackupError, OSError) as exc:
        module.fail_json(msg=f"refused: {exc}")
    if manifest.get("format", 1) == 1:
        module.warn(
            f"{p['host']} point {p['stamp']}: format 1, its manifest is not authenticated"
            " (host_backup_allow_v1); take a new point after this restore"
        )
    module.exit_json(
        changed=p["mode"] == "open",
        format=manifest.get("format", 1),
        stored=[entry["stored"] for entry in manifest["files"]],
        manifest=manifest,
        **result,
    )


if __name__ == "__main__":
    main()
