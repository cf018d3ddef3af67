"""The estate as Ansible loaded it gives the same findings from any inventory source.

The lab estate (and copies broken on purpose) as a directory, as the
``ansible-inventory --list`` JSON behind an inventory script (how AWX hands
an inventory to Ansible) and as the directory with a ``constructed`` source
layered on top: ``voipctl.adapters.estate`` builds the model from Ansible's
InventoryManager and the vars plugins, and ``check`` finds what voipctl's
own loader finds in the directory, with the same file:line there.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voipctl.adapters.estate import load_with_ansible
from voipctl.model.checks import check, validate
from voipctl.validate import run as validate_cli
from voiplab.inventory_json import export
from voiplab.lab import ansible_environment

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
DAY = datetime.date(2026, 1, 15)
CONSTRUCTED = """\
plugin: ansible.builtin.constructed
strict: true
keyed_groups:
  - prefix: site
    key: voip_site
groups:
  amsterdam: voip_site == 'ams'
# A string composed from a model value: its origin is this file, a plugin configuration, not a YAML inventory.
compose:
  voip_site: "'' ~ voip_site"
"""
# name -> (file, old, new, a finding of the directory form, with its file:line)
CASES = {
    "valid": (None, None, None, "warning: group_vars/all/trunks.yml:18: voip_trunks[0].channels:"),
    "duplicate-extension": (
        "group_vars/all/users.yml",
        "extension: 2002",
        "extension: 2001",
        "error: group_vars/all/users.yml:23: voip_users[1].extension: extension 2001 is already used by user jdevries",
    ),
    "bad-did": (
        "group_vars/all/users.yml",
        'did: "+31201234001"',
        'did: "+3120123400"',
        "error: group_vars/all/users.yml:",
    ),
    "gateway-fxs-outside-site": (
        "host_vars/gw1/gateway.yml",
        "extension: 2991",
        "extension: 3991",
        "error: host_vars/gw1/gateway.yml:13: voip_gateway.fxs_ports[1].extension: extension 3991 is outside",
    ),
}
# The JSON form names the script and the key path in its JSON: compare what is left.
_CONTAINER = re.compile(r"^(?:_meta\.hostvars\.[^.]+\.|[^.\[]+\.vars\.|.*\.hosts\.[^.]+\.)")


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return ansible_environment(ROOT)


def _estate(tmp_path: Path, case: str) -> Path:
    file, old, new, _ = CASES[case]
    inventory = tmp_path / "lab"
    shutil.copytree(LAB, inventory)
    if file:
        body = (inventory / file).read_text()
        assert old in body, f"test setup: {old!r} not in {file}"
        (inventory / file).write_text(body.replace(old, new, 1))
    return inventory


def _rendered(problems) -> list[str]:
    return [p.render() for p in problems]


def _essence(problems) -> list[tuple[str, str, str]]:
    return sorted((p.severity, _CONTAINER.sub("", p.path), p.message) for p in problems)


@pytest.mark.parametrize("case", CASES)
def test_directory_and_constructed_give_the_directory_findings(tmp_path, case):
    inventory = _estate(tmp_path, case)
    constructed = tmp_path / "layer" / "constructed.yml"
    constructed.parent.mkdir()
    constructed.write_text(CONSTRUCTED)
    expected = _rendered(validate(inventory, DAY).problems)
    assert any(line.startswith(CASES[case][3]) for line in expected), expected
    assert _rendered(check(load_with_ansible([str(inventory)]), DAY).problems) == expected
    layered = load_with_ansible([str(inventory), str(constructed)])
    assert {"site_ams", "amsterdam"} <= set(layered.groups)
    assert _rendered(check(layered, DAY).problems) == expected


@pytest.mark.parametrize("case", CASES)
def test_ansible_inventory_json_gives_the_same_findings(tmp_path, env, case):
    inventory = _estate(tmp_path, case)
    script = export(inventory, tmp_path / "json", env)
    expected = validate(inventory, DAY).problems
    found = validate_cli(script, DAY).problems
    assert _essence(found) == _essence(expected)
    assert {p.file for p in found} == {"inventory.sh"}
    # The secrets of vault.yml stay vaulted in the JSON.
    assert "vault_lab_carrier_password" in script.with_suffix(".json").read_text()
    assert "__ansible_vault" in script.with_suffix(".json").read_text()


def _inventory(env: dict[str, str], *args: str) -> str:
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-inventory"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_host_list_parses(env):
    listed = _inventory(env, "-i", "host1,host2", "--list")
    assert '"host1"' in listed and '"host2"' in listed


def test_constructed_layer_parses_without_auto(env, tmp_path):
    """constructed reads its own configuration; auto (which loads any installed plugin a file names) is off."""
    constructed = tmp_path / "constructed.yml"
    constructed.write_text(CONSTRUCTED)
    graph = _inventory(env, "-i", str(LAB), "-i", str(constructed), "--graph")
    assert "@site_ams" in graph and "@amsterdam" in graph


def test_a_file_naming_another_plugin_is_not_loaded(env, tmp_path):
    """With auto off, a generator configuration dropped beside the inventory runs nothing."""
    marker = tmp_path / "ran"
    generator = tmp_path / "generator.yml"
    generator.write_text(
        "plugin: ansible.builtin.generator\nhosts:\n"
        f"  name: \"{{{{ lookup('pipe', 'touch {marker}') }}}}x\"\n"
        "layers:\n  a: [1]\n"
    )
    subprocess.run(
        [str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(generator), "--graph"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert not marker.exists()


def test_the_inventories_hold_no_executable_file():
    """The script plugin runs executable files under an -i path; ours must hold none."""
    found = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "inventory").rglob("*")
        if path.is_file() and os.access(path, os.X_OK)
    ]
    assert found == []


def test_no_vault_password_is_needed(monkeypatch):
    """vault.yml is left out, as voipctl's loader leaves it out (``ansible-inventory --graph`` needs no secret)."""
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    loaded = load_with_ansible([str(LAB)])
    assert loaded.encrypted_files == ["group_vars/all/vault.yml"]
    assert _rendered(check(loaded, DAY).problems) == _rendered(validate(LAB, DAY).problems)


@pytest.mark.parametrize(
    ("relative", "entity"),
    [
        ("cs1.lab.example/vault.yml", "cs1.lab.example"),
        ("cs1.lab.example.yml", "cs1.lab.example"),
        ("all/vault.yml", "all"),
        ("linux.yaml", "linux"),
        ("sw1", "sw1"),
    ],
)
def test_a_vaulted_vars_file_belongs_to_its_whole_host_name(relative, entity):
    """Before, host_vars/cs1.lab.example/vault.yml was taken as host cs1 and its secret left in clear."""
    from voiplab.inventory_json import _entity_of

    assert _entity_of(Path(relative)) == entity
