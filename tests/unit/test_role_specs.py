"""Every role's contract: its argument specs, its defaults, its README and its license agree.

Ansible validates a role's options against meta/argument_specs.yml with the
role's defaults already in place, so an option that is both ``required`` and
defaulted can never be reported missing. ``ansible-doc -t role`` and
ansible-lint read the defaults from the spec, so they must be the role's.
The roles are found where they live: roles/ today, the collection's roles/
after the move.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE_DIRS = ("roles", "collections/ansible_collections/*/*/roles")
ROLES = sorted(
    {path.parent.parent for pattern in ROLE_DIRS for path in ROOT.glob(f"{pattern}/*/meta/main.yml")},
    key=lambda path: path.name,
)


def role_id(role: Path) -> str:
    return str(role.relative_to(ROOT))


def load(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) if path.exists() else None) or {}


def defaults(role: Path) -> dict:
    return load(role / "defaults" / "main.yml")


def entry_points(role: Path) -> dict[str, dict]:
    """Entry point name -> its options (name -> spec)."""
    specs = load(role / "meta" / "argument_specs.yml").get("argument_specs") or {}
    return {name: entry.get("options") or {} for name, entry in specs.items()}


def options(role: Path) -> set[str]:
    return {name for opts in entry_points(role).values() for name in opts}


def license_kind() -> str:
    """The kind of the top-level LICENSE, from its first line ("MIT License" -> MIT)."""
    first = (ROOT / "LICENSE").read_text().splitlines()[0].strip()
    match = re.fullmatch(r"(\S+) License", first)
    assert match, f"LICENSE starts with {first!r}, not '<kind> License'"
    return match.group(1)


def test_the_roles_are_found():
    assert {role.name for role in ROLES} >= {"kamailio", "os_baseline", "host_backup", "release_host"}
    assert len({role.name for role in ROLES}) == len(ROLES), (
        "a role is in roles/ and in the collection at once"
    )


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_every_role_has_an_argument_spec(role):
    assert entry_points(role).get("main"), f"{role.name}: meta/argument_specs.yml has no main entry point"


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_no_option_is_both_required_and_defaulted(role):
    values = defaults(role)
    both = [
        f"{entry}: {name}"
        for entry, opts in entry_points(role).items()
        for name, spec in opts.items()
        if spec.get("required") and (name in values or "default" in spec)
    ]
    assert both == [], f"{role.name}: required options with a default (the required check can never fire)"


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_spec_defaults_are_the_role_defaults(role):
    values = defaults(role)
    wrong = [
        f"{entry}: {name}: spec says {spec.get('default', '<none>')!r}, defaults/main.yml {values.get(name, '<none>')!r}"
        for entry, opts in entry_points(role).items()
        for name, spec in opts.items()
        if (name in values or "default" in spec)
        and ("default" not in spec or spec["default"] != values.get(name))
    ]
    assert wrong == []


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_every_role_default_is_an_option_of_the_spec(role):
    unspecified = sorted(
        name for name in defaults(role) if not name.startswith("__") and name not in options(role)
    )
    assert unspecified == [], f"{role.name}: defaults/main.yml variables missing from meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_the_readme_names_every_option(role):
    readme = role / "README.md"
    assert readme.exists(), f"{role.name} has no README.md"
    text = readme.read_text()
    unnamed = sorted(name for name in options(role) if not re.search(rf"\b{re.escape(name)}\b", text))
    assert unnamed == [], f"{role.name}: README.md does not name these options"


def test_the_license_file_is_mit_by_the_authors():
    text = (ROOT / "LICENSE").read_text()
    assert license_kind() == "MIT"
    assert "Copyright (c) 2026 the voip-estate authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_every_role_has_the_license_of_the_repository(role):
    meta = load(role / "meta" / "main.yml")
    assert meta["galaxy_info"].get("license") == license_kind()


def test_the_python_package_has_the_license_of_the_repository():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project.get("license") == license_kind()
    assert project.get("license-files") == ["LICENSE"]
