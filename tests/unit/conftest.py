"""Fixtures shared by the unit tests (pytest injects them; nothing imports this file)."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def module_runner(capsys):
    """Run ``library/<module>.py``'s main() with arguments: (exit code, result, raw stdout)."""

    def run(module, args, check=False, diff=False):
        main = importlib.import_module(f"library.{module}").main
        args = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
        with patch_module_args(args), pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr().out
        return exit_.value.code, json.loads(out), out

    return run


@pytest.fixture
def inv(tmp_path) -> Path:
    """A copy of inventory/lab to change (the user commands, hr-sync and validation cases edit it)."""
    copy = tmp_path / "lab"
    shutil.copytree(Path(__file__).resolve().parents[2] / "inventory" / "lab", copy)
    return copy
