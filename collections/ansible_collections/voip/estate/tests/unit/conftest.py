"""Fixtures of the collection's unit tests (`ansible-test units`; the repository's tests use them too)."""

from __future__ import annotations

import importlib
import json

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
