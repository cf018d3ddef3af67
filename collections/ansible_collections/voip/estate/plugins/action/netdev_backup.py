"""Action plugin netdev_backup: a device's running configuration fetched in Ansible's worker process.

A device is read from the controller (``ansible_connection: local``), so the
module would only add a process per device: a new Python, Ansible's module
wrapper, the import of paramiko and netmiko, then the SSH session. This
plugin runs the module's code (``voip_netdev.backup``: the pinned host key,
the atomic write with mode 0600, check and diff mode) in the worker Ansible
forks for the host. The strategy loads this file in ansible-playbook before
the workers fork, so netmiko and paramiko, imported below, are imported once
per run. The arguments are checked with the module's spec, and the secrets
(``no_log``) are removed from the result as AnsibleModule removes them; the
result has the module's keys, the stored file's owner and mode included.
Documentation: plugins/modules/netdev_backup.py.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import stat

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    BACKUP_SPEC,
    NetdevError,
    backup,
    mask,
)

try:  # once, in ansible-playbook; voip_netdev.connect names what is missing
    import netmiko  # noqa: F401  # pylint: disable=unused-import
    import paramiko  # noqa: F401  # pylint: disable=unused-import
except ImportError:  # pragma: no cover - depends on the controller's environment
    pass

# In a module process their warnings went to the module's stderr; here they
# would go to Ansible's terminal between the task results.
for _name in ("paramiko", "netmiko"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


def path_info(result: dict) -> dict:
    """``result`` with what AnsibleModule's exit_json adds to a result that names a ``path``.

    When the file exists: its owner, group, mode and state and its size on
    disk (in check mode: the file as it is); as ``add_path_info``
    (ansible.module_utils.basic) does it, without the SELinux context.
    """
    path = result.get("path")
    if path is None:
        return result
    try:
        st = os.lstat(path)
    except OSError:
        return result
    try:
        owner = pwd.getpwuid(st.st_uid)[0]
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid)[0]
    except KeyError:
        group = str(st.st_gid)
    if stat.S_ISLNK(st.st_mode):
        state = "link"
    elif stat.S_ISDIR(st.st_mode):
        state = "directory"
    elif os.stat(path).st_nlink > 1:
        state = "hard"
    else:
        state = "file"
    info = {"uid": st.st_uid, "gid": st.st_gid, "owner": owner, "group": group,
            "mode": f"0{stat.S_IMODE(st.st_mode):03o}", "state": state, "size": st.st_size}  # fmt: skip
    return {**result, **info}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # Fails the host with Ansible's message for a bad or unknown argument, as the module did.
        validation, params = self.validate_argument_spec(argument_spec=BACKUP_SPEC)
        try:
            result.update(
                path_info(backup(params, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff)))
            )
        except NetdevError as exc:
            result.update(failed=True, msg=str(exc))
        except Exception as exc:  # a module process would have failed this host alone, too
            where = f"{params['host']}:{params['port']}"
            result.update(failed=True, msg=mask(f"{where}: cannot back up: {type(exc).__name__}: {exc}"))
        result["invocation"] = {"module_args": params}
        return remove_values(result, validation._no_log_values)
