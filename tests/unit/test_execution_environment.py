"""The execution environment is exactly what the lab tests: the runtime pins, the bundled collections.

`ansible-builder create` generates the build context of execution-environment.yml (no image is built:
the machine has no registry); the checks read what the build would install from that context.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "requirements-runtime.txt"
DEV = ROOT / "requirements.txt"
# Development tools: none of them belongs in the image.
DEV_TOOLS = (
    "ansible-lint",
    "molecule",
    "molecule-plugins",
    "pytest",
    "pytest-testinfra",
    "ruff",
    "selenium",
    "hypothesis",
    "yamllint",
    "black",
    "ansible-builder",
    "sipvicious",
)
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!-]+)$")


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a pip requirements file, without comments and blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def pins(path: Path) -> dict[str, tuple[str, str]]:
    """{canonical name: (name as written, version)} of a file of `name==version` lines only."""
    found = {}
    for line in requirement_lines(path):
        match = PIN.match(line)
        assert match, f"{path.name}: {line!r} is not an exact pin name==version"
        found[canonicalize_name(match["name"])] = (match["name"], match["version"])
    return found


def bundled_collections() -> dict[str, str]:
    """{namespace.name: version} of the collections bundled in the installed `ansible` package."""
    root = Path(importlib.metadata.distribution("ansible").locate_file("ansible_collections"))
    found = {}
    for manifest in root.glob("*/*/MANIFEST.json"):
        info = json.loads(manifest.read_text())["collection_info"]
        found[f"{info['namespace']}.{info['name']}"] = info["version"]
    assert found, f"no bundled collection under {root}"
    return found


def exact_version(spec: object) -> str | None:
    """The version of an exact collection pin ("==1.2.3" or "1.2.3"), None for a range or nothing."""
    match = re.fullmatch(r"(?:==)?\s*(\d+\.\d+\.\d+\S*)", str(spec or "").strip())
    return match[1] if match else None


def assert_collections_pinned_to_bundle(path: Path) -> None:
    """Every collection of a galaxy requirements file is an exact pin equal to the bundled version."""
    data = yaml.safe_load(path.read_text()) or {}
    assert not data.get("roles"), f"{path}: roles would be downloaded from Galaxy"
    bundled = bundled_collections()
    for entry in data.get("collections") or []:
        name = entry["name"] if isinstance(entry, dict) else entry
        version = exact_version(entry.get("version") if isinstance(entry, dict) else None)
        assert version, f"{path}: {name} is not pinned to one version: Galaxy would choose"
        assert bundled.get(name) == version, (
            f"{path}: {name}=={version}, the pinned ansible bundles {bundled.get(name, 'no such collection')}"
        )


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """The build context ansible-builder generates from execution-environment.yml."""
    out = tmp_path_factory.mktemp("ee") / "context"
    builder = Path(sys.executable).with_name("ansible-builder")  # requirements.txt pins it into .venv
    done = subprocess.run(
        [str(builder), "create", "-f", "execution-environment.yml", "--context", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def stages(containerfile: str) -> dict[str, str]:
    """{stage name: its lines} of a multi-stage Containerfile."""
    found: dict[str, list[str]] = {}
    current = None
    for line in containerfile.splitlines():
        match = re.match(r"FROM \S+ AS (\S+)", line)
        if match:
            current = match[1]
        if current:
            found.setdefault(current, []).append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def test_runtime_pins_are_exact_and_installed():
    runtime = pins(RUNTIME)
    for key, (name, version) in runtime.items():
        assert importlib.metadata.version(key) == version, f"{name}=={version}, .venv has another version"
    for needed in ("ansible-core", "ansible", "ansible-runner", "netmiko", "ruamel-yaml", "pydantic", "rich"):
        assert needed in runtime, f"{needed} is missing from {RUNTIME.name}"


def test_runtime_pins_hold_every_transitive_dependency():
    """pip in the image resolves nothing of its own: each dependency of a runtime pin is pinned too."""
    runtime = pins(RUNTIME)
    missing = []
    for key in runtime:
        for line in importlib.metadata.requires(key) or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            if canonicalize_name(requirement.name) not in runtime:
                missing.append(f"{requirement.name} (for {runtime[key][0]})")
    assert not missing, f"not pinned in {RUNTIME.name}: {', '.join(sorted(set(missing)))}"


def test_voipctl_dependencies_are_runtime_pins():
    runtime = pins(RUNTIME)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        key = canonicalize_name(requirement.name)
        assert key in runtime, f"voipctl needs {requirement.name}, not in {RUNTIME.name}"
        assert requirement.specifier.contains(runtime[key][1]), f"{line} refuses the pin {runtime[key]}"


def test_no_development_tool_is_a_runtime_pin():
    runtime = pins(RUNTIME)
    assert not {canonicalize_name(tool) for tool in DEV_TOOLS} & set(runtime)


def test_requirements_txt_is_the_runtime_plus_the_development_tools():
    lines = requirement_lines(DEV)
    assert "-r requirements-runtime.txt" in lines, "pip install -r requirements.txt would miss the runtime"
    dev = {}
    for line in lines:
        if line.startswith("-r "):
            continue
        requirement = Requirement(line)
        assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", line
        dev[canonicalize_name(requirement.name)] = line
    assert not set(dev) & set(pins(RUNTIME)), "a runtime pin is repeated in requirements.txt"
    for tool in ("ansible-lint", "molecule", "pytest", "ruff", "yamllint", "ansible-builder"):
        assert tool in dev, f"{tool} is missing from requirements.txt"


def test_the_image_installs_exactly_the_runtime_pins(context):
    built = context / "_build" / "requirements.txt"
    assert built.is_file(), "the execution environment installs no Python requirements"
    assert pins(built) == pins(RUNTIME)


def test_ansible_core_and_runner_are_installed_at_the_runtime_pins(context):
    runtime = pins(RUNTIME)
    containerfile = (context / "Containerfile").read_text()
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M)
    assert refs, "no ANSIBLE_INSTALL_REFS in the Containerfile"
    installed = {}
    for ref in refs[1].split():
        match = PIN.match(ref)
        assert match, f"{ref} is not an exact pin"
        installed[canonicalize_name(match["name"])] = match["version"]
    assert installed == {
        "ansible-core": runtime["ansible-core"][1],
        "ansible-runner": runtime["ansible-runner"][1],
    }
    assert runtime["ansible"][1] == importlib.metadata.version("ansible")


def test_no_development_tool_reaches_the_image(context):
    containerfile = (context / "Containerfile").read_text()
    text = "\n".join(
        [containerfile, *(path.read_text() for path in (context / "_build").glob("*") if path.is_file())]
    )
    found = [tool for tool in DEV_TOOLS if re.search(rf"(?<![\w.-]){re.escape(tool)}(?![\w-])", text, re.I)]
    assert not found, f"development tools in the build context: {found}"
    # The final image installs with pip only the container init besides the requirements.
    final = stages(containerfile)["final"]
    installs = re.findall(r"pip install .*", final)
    assert all("dumb-init==" in line for line in installs), installs


def test_no_collection_is_downloaded_from_galaxy(context):
    containerfile = (context / "Containerfile").read_text()
    galaxy = context / "_build" / "requirements.yml"
    if "ansible-galaxy collection install" in containerfile or "ansible-galaxy role install" in containerfile:
        assert galaxy.is_file(), "the Containerfile installs from Galaxy without a requirements file"
    if galaxy.is_file():
        assert_collections_pinned_to_bundle(galaxy)


def test_requirements_yml_states_the_bundled_versions():
    """make venv installs it --offline: it names the bundle's versions, nothing to download."""
    assert_collections_pinned_to_bundle(ROOT / "requirements.yml")
    # AWX installs collections/requirements.yml from Galaxy on every project sync: none, or the bundle.
    awx = ROOT / "collections" / "requirements.yml"
    if awx.is_file():
        assert_collections_pinned_to_bundle(awx)
