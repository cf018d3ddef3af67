"""A real playbook under both strategies voipctl can run: mitogen_linear (its default) and stock linear.

The playbook runs on the controller (connection local) through the same
runner as ``voipctl lab converge``: a module with check mode and diff, a
changed task then the same task unchanged, a template, a failure caught by
a rescue, a delegated task. Both strategies must give the same recap;
the lab's converge and idempotence run one of each in ``make test``
(Makefile ``lab-idempotence``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from voipctl.adapters import playbook

ROOT = Path(__file__).resolve().parents[2]


def _book(tmp_path: Path) -> str:
    target = tmp_path / "out"
    plays = [
        {
            "name": "Both strategies",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Write a file",
                    "ansible.builtin.copy": {"content": "one\n", "dest": f"{target}/a", "mode": "0644"},
                },
                {
                    "name": "Write it again",
                    "ansible.builtin.copy": {"content": "one\n", "dest": f"{target}/a", "mode": "0644"},
                },
                {
                    "name": "Template",
                    "ansible.builtin.copy": {"content": "{{ 6 * 7 }}", "dest": f"{target}/b", "mode": "0644"},
                },
                {
                    "name": "A failure handled",
                    "block": [{"name": "Fail", "ansible.builtin.command": "false", "changed_when": False}],
                    "rescue": [{"name": "Rescued", "ansible.builtin.debug": {"msg": "rescued"}}],
                },
                {
                    "name": "Delegated",
                    "ansible.builtin.stat": {"path": f"{target}/b"},
                    "delegate_to": "localhost",
                    "register": "st",
                },
                {"name": "Seen", "ansible.builtin.assert": {"that": ["st.stat.exists"], "quiet": True}},
                # Under mitogen both commands start from the same persistent interpreter on the host.
                {
                    "name": "Who runs me",
                    "ansible.builtin.command": "sh -c 'echo $PPID'",
                    "changed_when": False,
                    "register": "one",
                },
                {
                    "name": "Who runs me now",
                    "ansible.builtin.command": "sh -c 'echo $PPID'",
                    "changed_when": False,
                    "register": "two",
                },
                {"name": "Report", "ansible.builtin.debug": {"msg": "SAME={{ one.stdout == two.stdout }}"}},
            ],
        }
    ]
    target.mkdir()
    book = tmp_path / "both.yml"
    book.write_text(yaml.safe_dump(plays, sort_keys=False))
    return str(book)


@pytest.mark.parametrize("strategy", ["mitogen_linear", "linear"])
def test_the_same_recap_under_each_strategy(tmp_path, monkeypatch, strategy):
    monkeypatch.setenv("ANSIBLE_STRATEGY", strategy)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    monkeypatch.setenv("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    book = _book(tmp_path)
    # The lab's inventory (the preflight validates it); the play runs on localhost only.
    result = playbook.run(ROOT, os.path.relpath(book, ROOT), ROOT / "inventory" / "lab", echo=False)
    assert result.ok, result.output[-3000:]
    assert result.hosts["localhost"]["changed"] == 2, result.output[-3000:]
    assert result.hosts["localhost"]["rescued"] == 1
    assert (tmp_path / "out" / "b").read_text() == "42"
    assert [task for _, task in result.changed_tasks] == ["Write a file", "Template"]
    persistent = '"msg": "SAME=True"' in result.output or "msg: SAME=True" in result.output
    assert persistent == (strategy == "mitogen_linear"), result.output[-3000:]
