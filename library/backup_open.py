#!/usr/bin/python
"""Verify a fetched backup point against its manifest and decrypt it (on the controller)."""

DOCUMENTATION = r"""
module: backup_open
short_description: Verify a backup point's checksums and decrypt its files (on the controller)
description:
  - Runs on the controller on a point copied from the backup server. Checks every file's size and
    sha256 against C(MANIFEST.json) first and refuses the point if one differs or is missing, so
    that nothing is restored from a damaged backup; then decrypts each file into O(dest) (mode 0600)
    and checks the decrypted content's sha256 too.
options:
  point:
    description: The point's directory on the controller (C(MANIFEST.json) and the stored files).
    type: path
    required: true
  key:
    description: The backup key (from the vault). Never logged or returned.
    type: str
    required: true
  dest:
    description: Directory for the decrypted files.
    type: path
    required: true
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
author: voip-estate
"""

EXAMPLES = r"""
- name: Verify and open the point
  backup_open:
    point: /tmp/restore/cs1/20261122T023000Z
    key: "{{ vault_backup_key }}"
    dest: /tmp/restore/cs1/open
  delegate_to: localhost
"""

RETURN = r"""
manifest:
  description: The point's manifest.
  type: dict
  returned: success
files:
  description: Decrypted file paths by name.
  type: dict
  returned: success
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voip_backup import BackupError, decrypt_file, sha256_file, verify


def main():
    module = AnsibleModule(
        argument_spec={
            "point": {"type": "path", "required": True},
            "key": {"type": "str", "required": True, "no_log": True},
            "dest": {"type": "path", "required": True},
        },
        supports_check_mode=False,
    )
    p = module.params
    files = {}
    try:
        manifest = verify(p["point"])
        for entry in manifest["files"]:
            out = os.path.join(p["dest"], entry["name"])
            decrypt_file(os.path.join(p["point"], entry["stored"]), out, p["key"], entry["name"])
            if entry.get("content_sha256") and sha256_file(out) != entry["content_sha256"]:
                raise BackupError(f"{entry['name']}: decrypted content differs from the manifest")
            files[entry["name"]] = out
    except (BackupError, OSError, KeyError, ValueError) as exc:
        module.fail_json(msg=f"refused: {exc}")
    module.exit_json(changed=True, manifest=manifest, files=files)


if __name__ == "__main__":
    main()
