#!/usr/bin/python
"""Encrypt a host's backup files on the controller and write the point's manifest."""

DOCUMENTATION = r"""
module: backup_seal
short_description: Encrypt a backup point's files and write its manifest (on the controller)
description:
  - Runs on the controller. Writes backup format 2 (C(module_utils/voip_backup.py)). A random
    per-point salt and O(key) (the vault's passphrase) go through scrypt, then HKDF-SHA256, to a
    file key and a manifest key. Each of O(files) is encrypted with AES-256-GCM under the file key
    into O(dest)/<name>.enc, mode 0600, its associated data binding the format, O(host), O(stamp)
    and the file name (a file moved to another host's or point's directory, or renamed, does not
    open); the plain file is deleted.
  - Then writes O(dest)/MANIFEST.json - per file its stored name, size and sha256 and the sha256
    of its content, the estate's git commit (and whether the tree was dirty), the tool versions,
    the host's packages, the scrypt salt and parameters - in one canonical form with an
    HMAC-SHA256 under the manifest key, which M(voip.estate.backup_open) checks before it trusts anything in it.
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
    description: The host's packages and versions (from M(voip.estate.backup_archive)).
    type: dict
    default: {}
extends_documentation_fragment:
  - voip.estate.voip_attributes.no_check
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Seal the point
  voip.estate.backup_seal:
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
import os
import platform
import subprocess

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import BackupError, seal_point


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
    status = _git(p["repo"], "status", "--porcelain")
    meta = {
        "kind": p["kind"],
        "sealed": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": _git(p["repo"], "rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
        "tools": _tools(),
        "packages": p["packages"],
    }
    try:
        files = [(item["src"], item["name"]) for item in p["files"]]
        manifest = seal_point(files, p["dest"], p["key"], p["host"], p["stamp"], meta)
        for src, _name in files:
            os.unlink(src)
    except (BackupError, OSError, KeyError, TypeError) as exc:
        module.fail_json(msg=f"{p['host']}: cannot seal the backup: {exc}")
    module.exit_json(changed=True, manifest=manifest)


if __name__ == "__main__":
    main()
