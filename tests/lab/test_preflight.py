"""The estate model is validated before any host is touched, whatever the command line selects.

Each case copies inventory/lab, breaks one thing, runs ``ansible-playbook
playbooks/site.yml`` against the copy and checks that Ansible stopped while
reading the inventory (the collection's ``plugins/vars/voip_preflight.py``): the finding is in
the output, no play started, so no host was touched. The hostile cases also
run limited to one host, to one tag and from a later task, which skipped the
old preflight play on localhost; their Jinja would create a marker file on the
controller if anything rendered it. Needs the running lab: with a valid model
the same run would converge the lab hosts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from voiplab.lab import ansible_environment

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
USERS = "group_vars/all/users.yml"
GATEWAY = "host_vars/gw1/gateway.yml"
SWITCH = "host_vars/sw1/switch.yml"
MARKER = "preflight-marker"
# Selections that skipped the preflight play (it runs on localhost, untagged, first).
SELECTIONS = {
    "all": [],
    "limit-cs2": ["--limit", "cs2"],
    "limit-gw1": ["-l", "gw1"],
    "tag": ["--tags", "kamailio"],
    "start-at-task": ["--start-at-task", "Render kamailio.cfg"],
}

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
        "leading-zero-extension",
        USERS,
        "extension: 2002",
        "extension: 02002",
        "group_vars/all/users.yml:23: voip_users[1].extension: '02002' is ambiguous",
    ),
    (
        "duplicate-key",
        USERS,
        "extension: 2002\n",
        "extension: 2002\n    extension: 2003\n",
        "group_vars/all/users.yml:24: voip_users[1].extension: duplicate key 'extension' (first at line 23)",
    ),
    (
        "malformed-yaml",
        "host_vars/sw1/switch.yml",
        "  ports:\n",
        "  ports:\n   - [\n",
        "host_vars/sw1/switch.yml:9: invalid YAML",
    ),
]
HOSTILE = [
    (
        "jinja-user-name",
        USERS,
        "name: Jan de Vries",
        "name: \"{{ lookup('pipe', 'touch @MARKER@; echo pwned') }}\"",
        "group_vars/all/users.yml:6: voip_users[0].name:",
    ),
    (
        "fxs-description-injection",
        GATEWAY,
        "description: Fax}",
        'description: "Fax\\nusername backdoor privilege 15 secret 0 x"}',
        "host_vars/gw1/gateway.yml:12: voip_gateway.fxs_ports[0].description:",
    ),
    (
        "switch-description-injection",
        SWITCH,
        "description: jdevries desk,",
        'description: "desk\\r\\nswitchport mode trunk",',
        "host_vars/sw1/switch.yml:8: voip_switch.ports[0].description:",
    ),
    (
        "jinja-port-description",
        SWITCH,
        "description: uplink}",
        "description: \"{{ lookup('pipe', 'touch @MARKER@') }}\"}",
        "host_vars/sw1/switch.yml:13: voip_switch.ports[5].description:",
    ),
]


def _run_site(tmp_path: Path, file: str, old: str, new: str, selection: list[str]) -> str:
    inventory = tmp_path / "lab"
    shutil.copytree(LAB, inventory)
    target = inventory / file
    body = target.read_text()
    assert old in body, f"test setup: {old!r} not in {file}"
    target.write_text(body.replace(old, new.replace("@MARKER@", str(tmp_path / MARKER)), 1))
    run = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            str(inventory),
            # The copy's lab_state_dir would point elsewhere: use the real lab's keys,
            # so that only the preflight can be what keeps the hosts untouched.
            "-e",
            f"lab_state_dir={ROOT / '.lab'}",
            *selection,
            str(ROOT / "playbooks" / "site.yml"),
        ],
        cwd=ROOT,
        env=ansible_environment(ROOT),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    return output


def _assert_stopped_before_any_play(output: str, expected: str) -> None:
    assert "estate model:" in output and "nothing was run on any host" in output, output
    assert expected in output, output
    assert "PLAY [" not in output, f"a play started:\n{output}"
    assert not RECAP.findall(output), output


RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=\d+", re.MULTILINE)


@pytest.mark.lab
@pytest.mark.parametrize(("name", "file", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_site_yml_stops_before_any_host(tmp_path, name, file, old, new, expected):
    output = _run_site(tmp_path, file, old, new, [])
    _assert_stopped_before_any_play(output, expected)


@pytest.mark.lab
@pytest.mark.parametrize("selection", SELECTIONS, ids=list(SELECTIONS))
@pytest.mark.parametrize(("name", "file", "old", "new", "expected"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_model_stops_whatever_the_selection(tmp_path, name, file, old, new, expected, selection):
    output = _run_site(tmp_path, file, old, new, SELECTIONS[selection])
    _assert_stopped_before_any_play(output, expected)
    assert not (tmp_path / MARKER).exists(), "the model's Jinja ran on the controller"
    assert "pwned" not in output
