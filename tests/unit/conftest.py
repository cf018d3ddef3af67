"""Fixtures shared by the unit tests (pytest injects them; nothing imports this file)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The modules run as the collection's own unit tests run them.
from ansible_collections.voip.estate.tests.unit.conftest import action_runner, module_runner  # noqa: F401


@pytest.fixture
def inv(tmp_path) -> Path:
    """A copy of inventory/lab to change (the user commands, hr-sync and validation cases edit it)."""
    copy = tmp_path / "lab"
    shutil.copytree(Path(__file__).resolve().parents[2] / "inventory" / "lab", copy)
    return copy
