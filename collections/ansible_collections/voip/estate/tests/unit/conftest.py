"""Fixtures of the collection's unit tests (`ansible-test units`; the repository's tests use them too)."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def module_runner(capsys):
    """Run module ``name``'s main() with arguments: (exit code, result, raw stdout)."""

    def run(module, args, check=False, diff=False):
        main = importlib.import_module(f"ansible_collections.voip.estate.plugins.modules.{module}").main
        args = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
        with patch_module_args(args), pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr().out
        return exit_.value.code, json.loads(out), out

    return run


@pytest.fixture
def action_runner():
    """Run action plugin ``name`` as Ansible's worker runs a task's action: its result (a dict).

    Only for plugins that run on the controller without a connection: the
    connection and the templar are stand-ins.
    """

    def run(name, args, check=False, diff=False):
        task = SimpleNamespace(
            args=dict(args),
            action=f"voip.estate.{name}",
            check_mode=check,
            diff=diff,
            async_val=0,
            no_log=False,
        )
        connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir=None))
        plugin = importlib.import_module(f"ansible_collections.voip.estate.plugins.action.{name}")
        action = plugin.ActionModule(task, connection, play_context=None, loader=None, templar=None)
        action._load_name = task.action  # as Ansible's plugin loader names it
        return action.run(task_vars={})

    return run
