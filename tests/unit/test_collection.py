"""The collection voip.estate is Ansible content as Ansible shares it: it builds, installs and documents itself,
imports its module_utils for real, and its sanity ignores each carry a reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "voip" / "estate"
BIN = Path(sys.executable).parent
PLUGINS = sorted(p for p in (COLLECTION / "plugins").rglob("*.py") if "__pycache__" not in p.parts)


def test_galaxy_metadata_names_the_collection_and_its_license():
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"]) == ("voip", "estate")
    assert (COLLECTION / galaxy["license_file"]).read_text().startswith("MIT License")
    assert (COLLECTION / galaxy["license_file"]).read_text() == (ROOT / "LICENSE").read_text()
    assert yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())["requires_ansible"].startswith(
        ">=2.19"
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built with ansible-galaxy and installed into an empty collections path."""
    out = tmp_path_factory.mktemp("build")
    build = subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", str(COLLECTION), "--output-path", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(out.glob("voip-estate-*.tar.gz"))
    target = tmp_path_factory.mktemp("collections")
    install = subprocess.run(
        # --force: the repository's own copy (collections_path) must not count as installed already.
        [BIN / "ansible-galaxy", "collection", "install", str(tarball), "-p", str(target), "--offline", "--force"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    return tarball, target


def test_the_built_collection_holds_no_test_output_or_caches(installed):
    tarball, _ = installed
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/modules/kamailio_tables.py" in names and "roles/kamailio/tasks/main.yml" in names
    caches = ("tests/output", "__pycache__", ".hypothesis", ".pytest_cache")
    assert not [n for n in names if any(c in n for c in caches) or n.endswith(".pyc")]


def test_the_installed_collection_documents_every_module_and_role(installed):
    _, target = installed
    config = target.parent / "empty.cfg"
    config.write_text("[defaults]\n")
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(target), "ANSIBLE_CONFIG": str(config)}
    modules = sorted(p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py"))
    done = subprocess.run(
        [BIN / "ansible-doc", "--json", *(f"voip.estate.{m}" for m in modules)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    docs = json.loads(done.stdout)
    assert sorted(docs) == [f"voip.estate.{m}" for m in modules]
    assert all(entry["doc"]["short_description"] for entry in docs.values())
    roles = subprocess.run(
        [BIN / "ansible-doc", "-t", "role", "-l", "voip.estate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    listed = {line.rstrip(":") for line in roles.stdout.splitlines() if line.startswith("voip.estate.")}
    assert listed == {f"voip.estate.{r.name}" for r in (COLLECTION / "roles").iterdir()}, (
        roles.stdout + roles.stderr
    )


@pytest.mark.parametrize("path", PLUGINS, ids=lambda p: str(p.relative_to(COLLECTION)))
def test_module_utils_are_imported_by_their_collection_name(path):
    text = path.read_text()
    assert "ansible.module_utils.voip_" not in text and "from ansible.module_utils import voip_" not in text
    assert not re.search(r"^\s*(from|import) (module_utils|library)\b", text, re.M), "an import fallback"


def test_no_test_points_module_names_elsewhere():
    tests = [*(ROOT / "tests").rglob("*.py"), *(COLLECTION / "tests").rglob("*.py")]
    patched = [
        str(t.relative_to(ROOT)) for t in tests if re.search(r"sys\.modules\[?[^\n]*ansible", t.read_text())
    ]
    assert patched == []


def test_every_sanity_ignore_says_why():
    ignores = sorted((COLLECTION / "tests" / "sanity").glob("ignore-*.txt"))
    assert ignores, "no ignore file: fine, but then this test should say so"
    for ignore in ignores:
        for number, line in enumerate(ignore.read_text().splitlines(), 1):
            entry, _, reason = line.partition(" # ")
            assert len(entry.split()) == 2 and len(reason.split()) >= 4, f"{ignore.name}:{number}: {line!r}"
            assert (COLLECTION / entry.split()[0]).exists(), f"{ignore.name}:{number}: {entry} names no file"


def test_the_pip_stand_in_is_saved_under_the_name_ansible_test_reads():
    from ansible_test._internal.python_requirements import (
        PythonConfig,  # noqa: F401
        get_venv_packages,
    )

    makefile = (ROOT / "Makefile").read_text()
    version = re.search(r"^ANSIBLE_TEST_PIP := (\S+)$", makefile, re.M).group(1)
    pinned = re.search(
        r"pip='([0-9.]+)'", Path(sys.modules[get_venv_packages.__module__].__file__).read_text()
    )
    assert version == pinned.group(1).replace(".", "_")


def test_the_repository_loads_the_collection_without_a_warning():
    """Plugins, vars plugins and roles load by FQCN from ansible.cfg's collections_path, silently."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    done = subprocess.run(
        [BIN / "ansible-playbook", "--syntax-check", "playbooks/site.yml"],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
