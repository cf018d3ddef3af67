"""The preflight validates the estate as Ansible loaded it: the lab as ``ansible-inventory --list`` JSON.

The lab inventory is exported into tmp as the JSON of ``ansible-inventory
--list --export`` behind an inventory script (as AWX hands an inventory to
Ansible; the secrets of vault.yml vaulted again, ``voiplab.inventory_json``).
``playbooks/preflight.yml`` with it passes with the warnings it shows for the
directory; a copy with a duplicate extension injected into the JSON stops
``playbooks/site.yml`` while Ansible reads the inventory, before any play,
with the finding the directory form gives. Needs only the controller.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from voiplab.inventory_json import export, write
from voiplab.lab import ansible_environment

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
WARNING = re.compile(r"^\[WARNING\]: (warning: .*)$", re.MULTILINE)
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=\d+", re.MULTILINE)
_WHERE = re.compile(r"^(warning|error): \S+?(?::\d+)?: (?:_meta\.hostvars\.[^.]+\.|[^.\[]+\.vars\.)?")


def _play(inventory: Path, playbook: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            str(inventory),
            str(ROOT / "playbooks" / playbook),
        ],
        cwd=ROOT,
        env=ansible_environment(ROOT),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _what(line: str) -> str:
    """A finding without its file, line and JSON container: what the two forms must share."""
    return _WHERE.sub(r"\1: ", line)


@pytest.mark.lab
def test_preflight_play_gives_the_directory_warnings_with_the_json_inventory(tmp_path):
    script = export(LAB, tmp_path / "json", ansible_environment(ROOT))
    directory, from_json = _play(LAB, "preflight.yml"), _play(script, "preflight.yml")
    assert directory.returncode == 0, directory.stdout + directory.stderr
    assert from_json.returncode == 0, from_json.stdout + from_json.stderr
    warnings = WARNING.findall(directory.stdout + directory.stderr)
    assert warnings, directory.stdout
    found = WARNING.findall(from_json.stdout + from_json.stderr)
    assert sorted(map(_what, found)) == sorted(map(_what, warnings))
    assert all(line.split(": ")[1].startswith("inventory.sh") for line in found), found


@pytest.mark.lab
def test_duplicate_extension_in_the_json_stops_before_any_host(tmp_path):
    env = ansible_environment(ROOT)
    script = export(LAB, tmp_path / "json", env)
    data = json.loads(script.with_suffix(".json").read_text())
    users = data["all"]["vars"]["voip_users"]
    users[1]["extension"] = users[0]["extension"]
    write(data, script.parent)
    run = _play(script, "site.yml")
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "estate model:" in output and "nothing was run on any host" in output, output
    expected = "voip_users[1].extension: extension 2001 is already used by user jdevries"
    assert f"error: inventory.sh: all.vars.{expected}" in output, output
    assert "PLAY [" not in output and not RECAP.findall(output), output
    # The directory form stops with the same finding, at its file and line.
    broken = tmp_path / "lab"
    subprocess.run(["cp", "-a", str(LAB), str(broken)], check=True)
    users_file = broken / "group_vars" / "all" / "users.yml"
    users_file.write_text(users_file.read_text().replace("extension: 2002", "extension: 2001", 1))
    directory = _play(broken, "site.yml")
    assert f"error: group_vars/all/users.yml:23: {expected}" in directory.stdout + directory.stderr
