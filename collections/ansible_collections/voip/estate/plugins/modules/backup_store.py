#!/usr/bin/python
"""Store a run's sealed backup points on the backup server from one archive, then prune by the retention."""

DOCUMENTATION = r"""
module: backup_store
short_description: Store a run's backup points on the backup server from one archive and prune them
description:
  - The task's action takes O(src), the archive M(voip.estate.backup_seal) wrote on the controller, to the backup
    server in one transfer (into Ansible's temporary directory there, removed after the task); the module
    runs on the backup server once for the whole run.
  - The archive may hold only the files of the points O(points) announces, as C(<host>/<stamp>/<name>)
    regular files, once each. Each point is unpacked into a hidden directory beside its place, checked -
    its manifest names this host and this point and exactly the files beside it, with their sizes and
    sha256 - and renamed to O(store)/<host>/<stamp>/ (directories 0700, files 0600, owned by the
    module's user). The manifest's MAC is not checked here (the backup server never holds the key); every
    restore checks it on the controller first.
  - The same point already stored is left as it is; a different one under the same stamp is replaced.
  - Then, with O(prune), each host of the batch keeps the newest point of each of the last O(daily) days
    that have one, of the last O(weekly) ISO weeks and of the last O(monthly) months (the newest point
    always); its other points are removed. Directories that are not points are left.
options:
  src:
    description: The batch archive on the controller (the action transfers it); not read in check mode.
    type: path
    required: true
  store:
    description: The backup store on the backup server.
    type: path
    required: true
  points:
    description: The points the archive holds, each C(host) and C(stamp) (the result of M(voip.estate.backup_seal)).
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: The host the point belongs to.
        type: str
        required: true
      stamp:
        description: The point in time, C(YYYYMMDDTHHMMSSZ).
        type: str
        required: true
  prune:
    description: Prune every host of the batch by the retention after storing.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Nothing is transferred; returns the points that would be stored and pruned.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Each host's points before and after (stamps only).
extends_documentation_fragment:
  - voip.estate.voip_backup_retention
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Store the run's points on the backup server and prune them
  voip.estate.backup_store:
    src: /tmp/stage/points.tar
    store: /srv/backups
    points: "{{ sealed.points }}"
    daily: 7
    weekly: 4
    monthly: 6
  delegate_to: bak1
  run_once: true
  become: true
"""

RETURN = r"""
stored:
  description: The points stored (or that would be, in check mode), as C(<host>/<stamp>).
  type: list
  elements: str
  returned: always
unchanged:
  description: The points that were already stored exactly so.
  type: list
  elements: str
  returned: always
removed:
  description: By host, the points the retention removed (or would remove, in check mode), newest first.
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import RETENTION_SPEC, BackupError
from ansible_collections.voip.estate.plugins.module_utils.voip_backup_batch import store_batch


def _listing(points: dict) -> str:
    return "".join(f"{host}: {' '.join(stamps)}\n" for host, stamps in sorted(points.items()))


def main():
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "store": {"type": "path", "required": True},
            "points": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "host": {"type": "str", "required": True},
                    "stamp": {"type": "str", "required": True},
                },
            },
            "prune": {"type": "bool", "default": True},
            **RETENTION_SPEC,
        },
        supports_check_mode=True,
    )
    p = module.params
    retention = {"daily": p["daily"], "weekly": p["weekly"], "monthly": p["monthly"]} if p["prune"] else None
    try:
        done = store_batch(p["src"], p["store"], p["points"], retention, check=module.check_mode)
    except (BackupError, OSError, ValueError) as exc:
        module.fail_json(msg=f"the points were not all stored: {exc}")
    result = {
        "changed": bool(done["stored"] or done["removed"]),
        "stored": done["stored"],
        "unchanged": done["unchanged"],
        "removed": done["removed"],
    }
    if module._diff:
        result["diff"] = {"before": _listing(done["before"]), "after": _listing(done["after"])}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
