"""Action plugin backup_store: one transfer of the run's batch archive, then the module on the backup server.

The archive (``src``, on the controller) goes to Ansible's temporary
directory on the backup server, which is removed after the task whatever
happens; the module gets that path as ``src``. In check mode nothing is
transferred. Documentation: plugins/modules/backup_store.py.
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            if not self._task.check_mode:
                src = args.get("src")
                if not src or not os.path.isfile(src):
                    result.update(
                        failed=True, msg=f"backup_store: the batch archive {src!r} is not on the controller"
                    )
                    return result
                remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "points.tar")
                self._transfer_file(src, remote)
                self._fixup_perms2((self._connection._shell.tmpdir, remote))
                args["src"] = remote
            result.update(
                self._execute_module(module_name=self._task.action, module_args=args, task_vars=task_vars)
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
