"""voipctl lint-commit and deploy/git-hooks/commit-msg: area prefix, ticket for production inventories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voipctl import lint_commit
from voipctl.cli import main

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "deploy" / "git-hooks" / "commit-msg"
AREAS = lint_commit.known_areas(ROOT)
LAB = ["inventory/lab/group_vars/all/users.yml"]
PROD = ["inventory/prod/group_vars/all/users.yml", "inventory/lab/group_vars/all/users.yml"]


def problems(text: str, files: list[str]) -> list[str]:
    return lint_commit.lint(lint_commit.parse_message(text), files, AREAS)


@pytest.mark.parametrize(
    ("text", "files"),
    [
        ("users: add tnew (ams, ext 2000, did +31201234000) [OPS-123]\n\nTicket: OPS-123\n", PROD),
        ("users: move svisser to thr [OPS-9]", PROD),
        ("users: move svisser to thr\n\nDetails.\n\nTicket: CHG-12\n", PROD),
        ("users: add tnew (ams, ext 2000)", LAB),
        ("ci: the pipeline", [".gitlab-ci.yml"]),
        ("restore.yml: refuse clearly without restore_host", ["playbooks/restore.yml"]),
        ("derive.phones: per-model settings", []),
        ("core: one range parser", []),
        ("checks: users per area", []),
        ("voiplab: topology beside the containers", []),
        ("kamailio_tables: the three user tables in one module call", []),
        ("README: the users benchmark's current figures", ["README.md"]),
        ("# a comment git strips\nhealth: runbooks\n# Please enter the commit message\n", []),
        ("Merge branch 'testcall'", PROD),
        ("docs: x\n# ------------------------ >8 ------------------------\ndiff --git a/x b/x\n", []),
    ],
)
def test_good_messages(text, files):
    assert problems(text, files) == []


@pytest.mark.parametrize(
    ("text", "files", "expected"),
    [
        ("", [], "the message is empty"),
        ("# only comments\n", [], "the message is empty"),
        ("add a user", LAB, "does not start with an area"),
        ("users:no space", LAB, "does not start with an area"),
        ("stuff: things", LAB, "area 'stuff' is not known"),
        ("users: add tnew", PROD, "changes the production inventory inventory/prod: name the ticket"),
        ("users: add tnew [ops-1]", PROD, "name the ticket"),
        ("users: add tnew\n\nTicket: none\n", PROD, "name the ticket"),
        ("users: " + "x" * 130, LAB, "keep it within 120"),
    ],
)
def test_bad_messages(text, files, expected):
    found = problems(text, files)
    assert len(found) == 1
    assert expected in found[0]


def test_production_inventories_are_every_environment_but_the_lab():
    files = ["inventory/lab/x.yml", "inventory/prod/hosts.yml", "inventory/example/group_vars/all/users.yml"]
    assert lint_commit.production_inventories(files) == ["inventory/prod", "inventory/example"]
    assert lint_commit.production_inventories(["inventory.md", "docs/inventory/prod.md"]) == []


def test_areas_cover_the_conventions_of_the_history():
    assert {"users", "release", "health", "backup", "ci", "docs", "tests", "audit"} <= AREAS
    # Roles, playbooks and modules of the checkout count as areas too.
    assert {"kamailio", "os_baseline", "users", "sip_options"} <= AREAS


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        # The hook finds python3 first in PATH: the interpreter running the tests.
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    env.pop("VOIP_ESTATE_ROOT", None)
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=check)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository with the hook installed as the README says, and this checkout's tools."""
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "tools").symlink_to(ROOT / "tools")
    for env in ("lab", "prod"):
        (tmp_path / "inventory" / env).mkdir(parents=True)
        (tmp_path / "inventory" / env / "hosts.yml").write_text("---\nall: {}\n")
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "deploy" / "git-hooks").mkdir(parents=True)
    (tmp_path / "deploy" / "git-hooks" / "commit-msg").symlink_to(HOOK)
    hooks = git(tmp_path, "rev-parse", "--git-path", "hooks").stdout.strip()
    (tmp_path / hooks).mkdir(exist_ok=True)
    (tmp_path / hooks / "commit-msg").symlink_to("../../deploy/git-hooks/commit-msg")
    git(tmp_path, "add", "ansible.cfg", "inventory/lab")
    git(tmp_path, "commit", "-q", "-m", "lab: the base")
    return tmp_path


def test_the_hook_refuses_a_production_change_without_ticket(repo):
    (repo / "inventory" / "prod" / "hosts.yml").write_text("---\nall: {hosts: {cs1: {}}}\n")
    git(repo, "add", "inventory/prod")
    refused = git(repo, "commit", "-q", "-m", "model: cs1 in prod", check=False)
    assert refused.returncode != 0
    assert "changes the production inventory inventory/prod" in refused.stderr
    assert git(repo, "rev-list", "--count", "HEAD").stdout.strip() == "1"
    done = git(repo, "commit", "-q", "-m", "model: cs1 in prod [OPS-7]", check=False)
    assert done.returncode == 0, done.stderr
    # A lab change needs no ticket, but an area.
    (repo / "inventory" / "lab" / "hosts.yml").write_text("---\nall: {hosts: {cs1: {}}}\n")
    git(repo, "add", "inventory/lab")
    assert "does not start with an area" in git(repo, "commit", "-q", "-m", "cs1", check=False).stderr
    assert git(repo, "commit", "-q", "-m", "lab: cs1", check=False).returncode == 0


def test_rev_and_file_from_the_command_line(repo, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("VOIP_ESTATE_ROOT", str(repo))
    assert main(["lint-commit", "--rev", "HEAD"]) == 0
    assert "commit message ok" in capsys.readouterr().out
    message = tmp_path / "MSG"
    message.write_text("no area here\n")
    assert main(["lint-commit", str(message)]) == 1
    assert "does not start with an area" in capsys.readouterr().err
    assert main(["lint-commit", str(tmp_path / "missing")]) == 2
    assert "cannot read the commit message" in capsys.readouterr().err
    assert main(["lint-commit"]) == 2
