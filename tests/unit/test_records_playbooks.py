"""playbooks/calls.yml and user_diagnose.yml refuse arguments that are not plain names before any host is read.

Their values reach Ansible as extra variables that a query or a command on
a host reads. voipctl lets only plain names through (its argument types);
the playbooks check again for anyone who runs them by hand. An extra
variable is a template to Ansible, evaluated as soon as it is read (the
check itself would run "{{ lookup('pipe', ...) }}": shown below), so the
playbooks' check cannot stop that one: voipctl's does, before Ansible runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from voiplab.lab import ansible_environment

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["2001' OR '1'='1", "2001\n", "a b", "2001;id"]
TEMPLATE = "{{ lookup('pipe', 'touch %s') }}"


def play(tmp_path: Path, name: str, args: dict) -> subprocess.CompletedProcess:
    extra = tmp_path / "args.json"
    extra.write_text(json.dumps(args))
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "lab"),
         str(ROOT / "playbooks" / name), "-e", f"@{extra}"],
        cwd=ROOT, env=ansible_environment(ROOT), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("hostile", HOSTILE)
def test_calls_refuses_a_party_that_is_not_a_plain_name(tmp_path, hostile):
    run = play(
        tmp_path, "calls.yml", {"calls_dir": str(tmp_path), "calls_since": "0", "calls_parties": [hostile]}
    )
    assert run.returncode != 0 and "give the directory to write to and the window" in run.stdout
    assert "Read the records of the window" not in run.stdout, "a call server was read"


@pytest.mark.parametrize(
    ("key", "hostile"), [("diagnose_user", h) for h in HOSTILE] + [("diagnose_extension", "2001\n")]
)
def test_user_diagnose_refuses_a_user_that_is_not_a_plain_name(tmp_path, key, hostile):
    args = {
        "diagnose_dir": str(tmp_path),
        "diagnose_user": "svisser",
        "diagnose_extension": "2002",
        key: hostile,
    }
    run = play(tmp_path, "user_diagnose.yml", args)
    assert run.returncode != 0 and "give -e diagnose_dir=DIR" in run.stdout
    assert "Read the registrations" not in run.stdout, "a call server was read"


def test_an_extra_variable_is_a_template_so_voipctl_refuses_one_before_ansible_runs(tmp_path):
    from voipctl.calls_cli import _party
    from voipctl.diagnose_cli import _user_id

    marker = tmp_path / "ran"
    play(
        tmp_path,
        "calls.yml",
        {"calls_dir": str(tmp_path), "calls_since": "0", "calls_parties": [TEMPLATE % marker]},
    )
    assert marker.exists(), "Ansible no longer templates extra variables: this test's reason is gone"
    for check in (_party, _user_id):
        with pytest.raises(argparse.ArgumentTypeError):
            check(TEMPLATE % marker)
