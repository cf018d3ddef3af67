#!/usr/bin/python
"""Encrypt a run's backup points on the controller, write their manifests, and pack them as one archive."""

DOCUMENTATION = r"""
module: backup_seal
short_description: Encrypt a run's backup points and write their manifests (on the controller), as one archive
description:
  - Runs on the controller, once per run, for every point of the run (O(points)). Writes backup format 2
    (C(module_utils/voip_backup.py)). Per point, a random salt and O(key) (the vault's passphrase) go
    through scrypt, then HKDF-SHA256, to a file key and a manifest key. Each of the point's files is
    encrypted with AES-256-GCM under the file key into O(stage)/<host>/<stamp>/<name>.enc, mode 0600,
    its associated data binding the format, the host, the stamp and the file name (a file moved to
    another host's or point's directory, or renamed, does not open); the plain file is deleted.
  - Then writes the point's MANIFEST.json - per file its stored name, size and sha256 and the sha256
    of its content, the estate's git commit (and whether the tree was dirty), the tool versions,
    the host's packages, the scrypt salt and parameters - in one canonical form with an
    HMAC-SHA256 under the manifest key, which M(voip.estate.backup_open) checks before it trusts anything in it.
  - With O(archive), every sealed point goes into one uncompressed tar (members
    C(<host>/<stamp>/<stored name>), mode 0600) that M(voip.estate.backup_store) takes to the backup server in one
    transfer.
  - The points' keys are derived in parallel (one thread per core, at most 8).
  - Backups are kept whole, secrets included (a backup must restore); encryption protects them at rest.
options:
  points:
    description:
      - The run's points, each the host's own (one point per host).
    type: list
    elements: dict
    required: true
    suboptions:
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
      packages:
        description: The host's packages and versions (from M(voip.estate.backup_archive)).
        type: dict
        default: {}
  key:
    description: The backup key (from the vault, at least 16 characters). Never logged or returned.
    type: str
    required: true
  stage:
    description: Where the sealed points are written on the controller (staging), as C(<host>/<stamp>/).
    type: path
    required: true
  archive:
    description: The one archive of all sealed points to write (on the controller); none when empty.
    type: path
    default: ""
  repo:
    description: The estate's checkout, for its git commit.
    type: path
    required: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Checks the key and the points' hosts and stamps, reads and writes nothing, and returns the points.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Seal the run's points into one archive
  voip.estate.backup_seal:
    points:
      - {host: cs1, stamp: 20261122T023000Z, kind: linux, files: [{src: /tmp/stage/clear/cs1/host.tar.gz, name: host.tar.gz}]}
      - {host: gw1, stamp: 20261122T023000Z, kind: gateway, files: [{src: /tmp/stage/clear/gw1/running-config, name: running-config}]}
    key: "{{ vault_backup_key }}"
    stage: /tmp/stage/sealed
    archive: /tmp/stage/points.tar
    repo: "{{ playbook_dir }}/.."
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
points:
  description: The points sealed (or that would be, in check mode), in order, each C(host) and C(stamp).
  type: list
  elements: dict
  returned: always
"""

import contextlib
import datetime
import os
import platform
import subprocess

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import (
    BackupError,
    check_key,
    parse_stamp,
)
from ansible_collections.voip.estate.plugins.module_utils.voip_backup_batch import seal_batch, write_batch


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


POINT_SPEC = {
    "host": {"type": "str", "required": True},
    "stamp": {"type": "str", "required": True},
    "kind": {"type": "str", "required": True},
    "files": {"type": "list", "elements": "dict", "required": True},
    "packages": {"type": "dict", "default": {}},
}


def main():
    module = AnsibleModule(
        argument_spec={
            "points": {"type": "list", "elements": "dict", "required": True, "options": POINT_SPEC},
            "key": {"type": "str", "required": True, "no_log": True},
            "stage": {"type": "path", "required": True},
            "archive": {"type": "path", "default": ""},
            "repo": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    announced = [{"host": point["host"], "stamp": point["stamp"]} for point in p["points"]]
    first = p["points"][0]["host"] if p["points"] else "backup"
    if module.check_mode:
        try:
            check_key(p["key"])
            for point in p["points"]:
                parse_stamp(point["stamp"])
        except BackupError as exc:
            module.fail_json(msg=f"{first}: cannot seal the backup: {exc}", points=announced)
        module.exit_json(changed=bool(announced), points=announced)
    status = _git(p["repo"], "status", "--porcelain")
    meta = {
        "sealed": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": _git(p["repo"], "rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
        "tools": _tools(),
    }
    try:
        points = [
            {**point, "files": [(item["src"], item["name"]) for item in point["files"]]}
            for point in p["points"]
        ]
        manifests = seal_batch(points, p["stage"], p["key"], meta)
        for point in points:
            for src, _name in point["files"]:
                os.unlink(src)
        if p["archive"]:
            write_batch(p["archive"], p["stage"], manifests)
    except BackupError as exc:
        # seal_batch names the host; a key refused before any point names the first one.
        text = str(exc)
        host, sep, rest = text.partition(": ")
        if sep and host in {point["host"] for point in p["points"]}:
            module.fail_json(msg=f"{host}: cannot seal the backup: {rest}", points=announced)
        module.fail_json(msg=f"{first}: cannot seal the backup: {text}", points=announced)
    except (OSError, KeyError, TypeError) as exc:
        module.fail_json(msg=f"cannot seal the backup: {exc}", points=announced)
    module.exit_json(changed=bool(manifests), points=announced)


if __name__ == "__main__":
    main()
