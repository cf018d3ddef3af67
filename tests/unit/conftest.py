"""Fixtures shared by the unit tests (pytest injects them; nothing imports this file)."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def module_runner(capsys):
    """Run ``library/<module>.py``'s main() with arguments: (exit code, result, raw stdout)."""

    def run(module, args, check=False, diff=False):
        main = importlib.import_module(f"ansible_collections.voip.estate.plugins.modules.{module}").main
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


@pytest.fixture
def phone_module_utils(monkeypatch):
    """The phone_files module imports module_utils as Ansible ships them: point those names at the repository's."""
    import ansible_collections.voip.estate.plugins.module_utils.voip_phone_files as phone_files
    import ansible_collections.voip.estate.plugins.module_utils.voip_phone_templates as templates

    monkeypatch.setitem(
        sys.modules, "ansible_collections.voip.estate.plugins.module_utils.voip_phone_files", phone_files
    )
    monkeypatch.setitem(
        sys.modules, "ansible_collections.voip.estate.plugins.module_utils.voip_phone_templates", templates
    )
