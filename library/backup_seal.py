#!/usr/bin/python
"""Encrypt a host's backup files on the controller and write the point's manifest."""

DOCUMENTATION = r"""
module: backup_seal
short_description: Encrypt a backup point's files and write its manifest (on the controller)
description:
  - Runs on the controller. Encrypts each of O(files) with AES-256-GCM under O(key) (the vault's
    backup key; the file name is bound to its content) into O(dest)/<name>.enc, mode 0600, deletes
    the plain file, and writes O(dest)/MANIFEST.json - per file its stored name, size and sha256 and
    the sha256 of its content, the estate's git commit (and whether the tree was dirty), the tool
    versions, the host's packages - so that the point can be verified before a restore.
  - Backups are kept whole, secrets included (a backup must restore); encryption protects them at rest.
options:
  host:
    description: The host the point belongs to.
    type: str
    required: true
  stamp:
    description: The point in time, C(YYYYMMDDTHHMMSSZ) (UTC).
    type: str
    required: true
  kind:
    description: What the host is (C(linux), C(gateway), C(switch)); recorded in the manifest.
    type: str
    required: true
  files:
    description: The plain files to seal, each C(src) (on the controller) and C(name) (in the point).
    type: list
    elements: dict
    required: true
  key:
    description: The backup key (from the vault, at least 16 characters). Never logged or returned.
    type: str
    required: true
  dest:
    description: The point's directory on the controller (staging).
    type: path
    required: true
  repo:
    description: The estate's checkout, for its git commit.
    type: path
    required: true
  packages:
    description: The host's packages and versions (from M(backup_archive)).
    type: dict
    default: {}
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
author: voip-estate
"""

EXAMPLES = r"""
- name: Seal the point
  backup_seal:
    host: cs1
    stamp: 20261122T023000Z
    kind: linux
    files: [{src: /tmp/stage/cs1.tar.gz, name: host.tar.gz}]
    key: "{{ vault_backup_key }}"
    dest: /tmp/stage/cs1/20261122T023000Z
    repo: "{{ playbook_dir }}/.."
  delegate_to: localhost
"""

RETURN = r"""
manifest:
  description: The manifest written.
  type: dict
  returned: success
"""

import contextlib
import datetime
import json
import os
import platform
import subprocess

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voip_backup import (
    MANIFEST,
    BackupError,
    encrypt_file,
    parse_stamp,
    sha256_file,
    write_atomic,
)


def _git(repo, *args):
    done = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _tools():
    tools = {"ansible-core": ANSIBLE_CORE_VERSION, "python": platform.python_version()}
    from importlib.metadata import PackageNotFoundError, version

    for name in ("voipctl", "netmiko"):
        with contextlib.suppress(PackageNotFoundError):
            tools[name] = version(name)
    return tools


def main():
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "stamp": {"type": "str", "required": True},
            "kind": {"type": "str", "required": True},
            "files": {"type": "list", "elements": "dict", "required": True},
            "key": {"type": "str", "required": True, "no_log": True},
            "dest": {"type": "path", "required": True},
            "repo": {"type": "path", "required": True},
            "packages": {"type": "dict", "default": {}},
        },
        supports_check_mode=False,
    )
    p = module.params
    try:
        parse_stamp(p["stamp"])
        entries = []
        for item in p["files"]:
            src, name = item["src"], item["name"]
            if "/" in name or name.startswith("."):
                raise BackupError(f"file name {name!r}: a plain name is needed")
            stored = f"{name}.enc"
            content = sha256_file(src)
            encrypt_file(src, os.path.join(p["dest"], stored), p["key"], name)
            os.unlink(src)
            path = os.path.join(p["dest"], stored)
            entries.append({"name": name, "stored": stored, "size": os.path.getsize(path),
                            "sha256": sha256_file(path), "content_sha256": content, "encrypted": "aes-256-gcm"})  # fmt: skip
    except (BackupError, OSError, KeyError) as exc:
        module.fail_json(msg=f"{p['host']}: cannot seal the backup: {exc}")
    status = _git(p["repo"], "status", "--porcelain")
    manifest = {
        "host": p["host"],
        "kind": p["kind"],
        "stamp": p["stamp"],
        "sealed": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": _git(p["repo"], "rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
        "tools": _tools(),
        "packages": p["packages"],
        "files": entries,
    }
    write_atomic(os.path.join(p["dest"], MANIFEST), (json.dumps(manifest, indent=2) + "\n").encode(), 0o600)
    module.exit_json(changed=True, manifest=manifest)


if __name__ == "__main__":
    main()
