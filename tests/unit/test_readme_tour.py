"""README's "Tour of the layout" matches the tree: every path it names exists, and every
top-level entry, role and Python package of the repository is named in it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tour_paths(readme: str) -> list[str]:
    """The first word of each line of the tour's code block (``a/, b/`` lines give both)."""
    section = readme.split("## Tour of the layout", 1)[1]
    block = section.split("```", 2)[1]
    paths = []
    for line in block.splitlines():
        words = line.split()
        if not words:
            continue
        paths.append(words[0].rstrip(","))
        if words[0].endswith(",") and len(words) > 1:
            paths.append(words[1])
    return paths


def tracked_top_level() -> set[str]:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return {f.split("/", 1)[0] + ("/" if "/" in f else "") for f in files}


def python_packages() -> set[str]:
    return {f"{p.parent.relative_to(ROOT)}/" for p in (ROOT / "tools").rglob("__init__.py")}


TOUR = tour_paths((ROOT / "README.md").read_text())


def test_the_tour_is_parsed():
    assert "tools/voipctl/" in TOUR and "collections/ansible_collections/voip/estate/roles/kamailio/" in TOUR


@pytest.mark.parametrize("path", TOUR)
def test_every_named_path_exists(path):
    assert (ROOT / path).exists(), f"README's tour names {path}, which is not in the tree"


def test_every_top_level_entry_is_named():
    named = {p.split("/", 1)[0] + ("/" if "/" in p else "") for p in TOUR}
    missing = sorted(tracked_top_level() - named - {".gitignore"})
    assert not missing, f"README's tour does not name: {', '.join(missing)}"


def test_every_role_and_package_is_named():
    wanted = {
        f"collections/ansible_collections/voip/estate/roles/{r.name}/"
        for r in (ROOT / "collections/ansible_collections/voip/estate/roles").iterdir()
        if r.is_dir()
    } | python_packages()
    missing = sorted(wanted - set(TOUR))
    assert not missing, f"README's tour does not name: {', '.join(missing)}"
