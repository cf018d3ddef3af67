"""The lab's recipe files (lab/images/images.yml, lab/packages/packages.yml): name -> recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from voipctl.errors import LabError


def read_recipes(path: Path, kind: str) -> dict[str, Any]:
    """The YAML mapping of ``kind`` name (image, package) to recipe in ``path``; LabError naming the file."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"cannot read {kind} recipes {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise LabError(f"{path}: expected a mapping of {kind} name to recipe")
    return data
