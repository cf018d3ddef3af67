"""The preflight play stops site.yml before any host is touched when the model is bad.

Each case copies inventory/lab, breaks one thing, runs ``ansible-playbook
playbooks/site.yml`` against the copy and checks that the run failed in the
preflight play with the finding in its output, and that the recap names no
lab host (no task ran on any of them). Needs the running lab: with a valid
model the same run would converge the lab hosts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from voipctl.lab import ansible_environment

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
USERS = "group_vars/all/users.yml"

CASES = [
    (
        "bad-mac",
        USERS,
        'mac: "80:5e:c0:10:20:01"',
        'mac: "80:5e:c0:10:20"',
        "group_vars/all/users.yml:17: voip_users[0].devices[0].mac: '80:5e:c0:10:20' is not a MAC address",
    ),
    (
        "duplicate-extension",
        USERS,
        "extension: 2002",
        "extension: 2001",
        "voip_users[1].extension: extension 2001 is already used by user jdevries",
    ),
    (
        "leaver-with-device",
        USERS,
        "    status: leaver\n",
        '    status: leaver\n    devices:\n      - {mac: "80:5e:c0:10:20:06", model: yealink-t54w}\n',
        "voip_users[5].devices: leaver kbos still holds 1 device(s)",
    ),
    (
        "fxs-outside-site",
        "host_vars/gw1/gateway.yml",
        "extension: 2991",
        "extension: 3991",
        "host_vars/gw1/gateway.yml:13: voip_gateway.fxs_ports[1].extension: extension 3991 is outside site ams's range",
    ),
    (
        "malformed-yaml",
        "host_vars/sw1/switch.yml",
        "  ports:\n",
        "  ports:\n   - [\n",
        "host_vars/sw1/switch.yml:8: invalid YAML",
    ),
]
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=\d+", re.MULTILINE)


def _environment() -> dict[str, str]:
    return ansible_environment(ROOT)


@pytest.mark.lab
@pytest.mark.parametrize(("name", "file", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_site_yml_stops_in_preflight(tmp_path, name, file, old, new, expected):
    inventory = tmp_path / "lab"
    shutil.copytree(LAB, inventory)
    target = inventory / file
    body = target.read_text()
    assert old in body, f"test setup: {old!r} not in {file}"
    target.write_text(body.replace(old, new, 1))
    run = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            str(inventory),
            # The copy's lab_state_dir would point elsewhere: use the real lab's keys,
            # so that only the preflight can be what keeps the hosts untouched.
            "-e",
            f"lab_state_dir={ROOT / '.lab'}",
            str(ROOT / "playbooks" / "site.yml"),
        ],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "PLAY [Preflight - validate the estate model]" in output, output
    assert "fatal: [localhost]" in output, output
    assert expected in output, output
    recap = RECAP.findall(output)
    assert recap == ["localhost"], f"hosts in the recap: {recap}\n{output}"
    assert re.search(r"localhost\s+: ok=0\s+changed=0\s+unreachable=0\s+failed=1", output), output
