#!/usr/bin/python
"""Put a backup archive's files back on the host, and remove what the backup did not have."""

DOCUMENTATION = r"""
module: backup_extract
short_description: Restore a backup archive's files onto the host exactly
description:
  - Runs on the host. Extracts O(archive) (a M(backup_archive) tar) into C(/) with the recorded
    owners (by name), groups and modes, then, inside every directory the archive holds, removes
    the files and links the backup did not have (for example a package's default site that the
    package installation of a restore added), so that the restored paths are what was backed up.
  - Paths in O(exclude) (relative, as in the archive) are neither extracted nor removed (files the
    platform provides, such as container mounts).
options:
  archive:
    description: The archive on the host.
    type: path
    required: true
  exclude:
    description: Archive paths to leave alone (and everything below them).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
author: voip-estate
"""

EXAMPLES = r"""
- name: Put the files back
  backup_extract:
    archive: /var/tmp/restore.tar.gz
    exclude: [etc/hosts, etc/hostname, etc/resolv.conf]
"""

RETURN = r"""
extracted:
  description: Entries extracted.
  type: int
  returned: success
removed:
  description: Files and links removed because the backup did not have them.
  type: list
  elements: str
  returned: success
"""

import os
import tarfile

from ansible.module_utils.basic import AnsibleModule


def _excluded(name, exclude):
    return any(name == e or name.startswith(e.rstrip("/") + "/") for e in exclude)


def extract(archive, exclude, root="/"):
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if not _excluded(m.name, exclude)]
        for member in members:
            if os.path.isabs(member.name) or ".." in member.name.split("/"):
                raise ValueError(f"unsafe path in the archive: {member.name}")
        tar.extractall(root, members=members, numeric_owner=False)
    names = {m.name for m in members}
    directories = sorted(m.name for m in members if m.isdir())
    removed = []
    for directory in directories:
        base = os.path.join(root, directory)
        for entry in sorted(os.listdir(base)):
            rel = f"{directory}/{entry}"
            path = os.path.join(base, entry)
            if rel in names or _excluded(rel, exclude) or (os.path.isdir(path) and not os.path.islink(path)):
                continue
            os.unlink(path)
            removed.append("/" + rel)
    return len(members), removed


def main():
    module = AnsibleModule(
        argument_spec={
            "archive": {"type": "path", "required": True},
            "exclude": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=False,
    )
    exclude = [e.lstrip("/") for e in module.params["exclude"]]
    try:
        count, removed = extract(module.params["archive"], exclude)
    except (OSError, ValueError, tarfile.TarError) as exc:
        module.fail_json(msg=f"cannot restore the files: {exc}")
    module.exit_json(changed=True, extracted=count, removed=removed)


if __name__ == "__main__":
    main()
