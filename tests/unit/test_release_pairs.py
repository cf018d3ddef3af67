"""A release (or an OS update run) never takes two call servers of one site (a pair) down at once.

playbooks/release.yml (and playbooks/os_updates.yml, with the same guard) releases the call servers one at a time by default,
and its first task refuses a batch (``release_batches``) that holds two call
servers of one site before any host of the batch is touched. The play is
run here as Ansible runs it (its serial, max_fail_percentage and guard,
copied from the playbook) on local fake hosts; the release role is replaced
by a task that marks the host as touched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ("release.yml", "os_updates.yml")


@pytest.fixture(params=PLAYBOOKS)
def playbook(request) -> str:
    return request.param


def call_server_play(playbook: str = "release.yml") -> dict:
    plays = yaml.safe_load((ROOT / "playbooks" / playbook).read_text())
    (play,) = [p for p in plays if p.get("hosts") == "call_servers"]
    return play


def test_the_call_server_play_goes_one_at_a_time_behind_the_guard(playbook):
    play = call_server_play(playbook)
    assert play["serial"] == "{{ release_batches | default(1) }}"
    assert play["max_fail_percentage"] == 0
    guard, *rest = play["tasks"]
    assert guard["name"] == "Refuse a batch that holds two call servers of one site"
    assert "ansible.builtin.assert" in guard
    # Everything that touches a host comes after the guard.
    assert [t["ansible.builtin.include_role"]["name"] for t in rest] == ["voip.estate.release_host"]


def run(
    tmp_path: Path, order: list[tuple[str, str]], batches: list | None, playbook: str = "release.yml"
) -> tuple[int, str, list[str]]:
    """Run the guard of ``playbook`` over fake local hosts (name, site) in ``order``: rc, output, touched."""
    play = call_server_play(playbook)
    guard = play["tasks"][0]
    test_play = {
        "name": play["name"],
        "hosts": "call_servers",
        "gather_facts": False,
        "serial": play["serial"],
        "max_fail_percentage": play["max_fail_percentage"],
        "tasks": [
            guard,
            {"name": "Touch the host", "ansible.builtin.debug": {"msg": "TOUCHED {{ inventory_hostname }}"}},
        ],
    }
    (tmp_path / "play.yml").write_text(yaml.safe_dump([test_play], sort_keys=False))
    hosts = {name: {"voip_site": site} for name, site in order}
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": {"call_servers": {"hosts": hosts}}}}  # fmt: skip
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.yml", "play.yml"]
    if batches is not None:
        command += ["-e", json.dumps({"release_batches": batches})]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    return done.returncode, output, re.findall(r'"msg": "TOUCHED (\w+)"', output)


LAB = [("cs1", "ams"), ("cs2", "thr"), ("cs3", "ams")]
THR_FIRST = [("cs2", "thr"), ("cs1", "ams"), ("cs3", "ams")]


@pytest.mark.parametrize(
    ("order", "batches", "touched"),
    [
        (LAB, None, ["cs1", "cs2", "cs3"]),  # the default: one at a time
        (THR_FIRST, None, ["cs2", "cs1", "cs3"]),
        (LAB, [1, "100%"], ["cs1", "cs2", "cs3"]),  # cs1 | cs2, cs3: the pair is apart
        (LAB, [2, 1], ["cs1", "cs2", "cs3"]),
    ],
)
def test_batches_that_keep_a_pair_apart_release_every_host(tmp_path, order, batches, touched, playbook):
    code, output, found = run(tmp_path, order, batches, playbook)
    assert code == 0, output[-3000:]
    # Hosts of one batch print in the order they finish: every host once, in any order.
    assert sorted(found) == sorted(touched)


@pytest.mark.parametrize(
    ("order", "batches", "touched", "refused"),
    [
        # cs2 | cs1, cs3: the pair in one batch, refused before either is touched.
        (THR_FIRST, [1, "100%"], ["cs2"], ["cs1", "cs3"]),
        # All at once: cs2 passes the guard but is not touched either (max_fail_percentage 0).
        (LAB, [3], [], ["cs1", "cs3"]),
    ],
)
def test_a_batch_holding_a_pair_is_refused_before_it_is_touched(
    tmp_path, order, batches, touched, refused, playbook
):
    code, output, found = run(tmp_path, order, batches, playbook)
    assert code != 0
    assert found == touched, output[-3000:]
    failed = sorted(re.findall(r"fatal: \[(\w+)\]", output))
    assert failed == refused, output[-3000:]
    assert re.search(
        r"with another call server of site ams: an? (release|update) never takes two call servers of a site down",
        output,
    )


def test_a_release_never_reads_the_os_update_results_it_skipped():
    """The role's OS update results (registered only in an os_updates run) are read only under a
    `when` naming os_updates, or guarded in the expression itself: a release's survey once read the
    skipped listing, and every release stopped at its first call server."""
    tasks_dir = ROOT / "collections/ansible_collections/voip/estate/roles/release_host/tasks"
    unguarded = []
    for path in sorted(tasks_dir.glob("*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            body = json.dumps({k: v for k, v in task.items() if k not in ("name", "when")})
            reads = re.findall(r"__release_host_(?:pending|applied|put_back|left)\.\w+", body)
            guarded = "os_updates" in str(task.get("when", "")) or path.name == "os_updates.yml"
            if (
                reads
                and not guarded
                and "release_host_change == 'os_updates'" not in body
                and "default(" not in body
            ):
                unguarded.append(f"{path.name}: {task.get('name')}: {sorted(set(reads))}")
    assert not unguarded, unguarded
