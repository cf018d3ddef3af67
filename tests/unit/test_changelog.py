"""voipctl changelog: a test repository with known commits, reported exactly, without secrets."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from voipctl import changelog
from voipctl.cli import main

ROOT = Path(__file__).resolve().parents[2]
USERS = "inventory/lab/group_vars/all/users.yml"
RELEASE = "inventory/lab/group_vars/all/release.yml"
GATEWAY = "inventory/lab/host_vars/gw1/gateway.yml"
VAULT = "inventory/lab/group_vars/all/vault.yml"
SECRET = "s3cr3t-enable-Pa55"
VAULT_SECRET = "vault-plaintext-never-read"


def git(repo: Path, *args: str, author: str = "Ann Admin") -> str:
    env = {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author.split()[0].lower()}@example.com",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": f"{author.split()[0].lower()}@example.com",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def edit(repo: Path, rel: str, change) -> None:
    path = repo / rel
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False))


def commit(repo: Path, message: str, author: str) -> str:
    git(repo, "add", "-A", author=author)
    git(repo, "commit", "-q", "-m", message, author=author)
    return git(repo, "rev-parse", "HEAD")


def user(data: dict, uid: str) -> dict:
    return next(u for u in data["voip_users"] if u["id"] == uid)


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A repository: a base commit, then five commits of known changes."""
    repo = tmp_path_factory.mktemp("estate")
    (repo / "ansible.cfg").write_text("[defaults]\ninventory = inventory/lab\n")
    shutil.copytree(ROOT / "tests" / "data" / "estate_base", repo / "inventory" / "lab")
    (repo / VAULT).write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    git(repo, "init", "-q", "-b", "main")
    shas = {"base": commit(repo, "lab: the base estate", "Base Builder")}

    def add_user(d):
        d["voip_users"].append(
            {
                "id": "tnew",
                "name": "Tom Nieuw",
                "site": "ams",
                "extension": 2500,
                "did": "+31206666500",
                "class_of_service": "national",
                "devices": [{"mac": "80:5e:c0:00:09:99", "model": "yealink-t54w"}],
            }
        )

    edit(repo, USERS, add_user)
    # The plain-text secret and the vault change ride along: neither may show up.
    edit(repo, GATEWAY, lambda d: d["voip_gateway"].update(enable_password=SECRET))
    (repo / VAULT).write_text(f"$ANSIBLE_VAULT;1.1;AES256\n{VAULT_SECRET.encode().hex()}\n")
    shas["add"] = commit(
        repo, "users: add tnew (ams, ext 2500, did +31206666500) [OPS-101]\n\nTicket: OPS-101", "Ann Admin"
    )
    edit(
        repo,
        USERS,
        lambda d: (
            user(d, "rrahimi")
            .setdefault("grants", [])
            .append(
                {"feature": "international", "until": datetime.date(2026, 12, 31), "reason": "London project"}
            )
        ),
    )
    shas["grant"] = commit(repo, "users: grant rrahimi international [OPS-102]", "Bob Beheer")

    def move(d):
        u = user(d, "svisser")
        u.update(site="thr", extension=3500, did="+982133333500")

    edit(repo, USERS, move)
    shas["move"] = commit(repo, "users: move svisser to thr\n\nTicket: OPS-103", "Ann Admin")
    edit(repo, RELEASE, lambda d: d["voip_release"].update(version="2026.2.0") or None)
    edit(repo, RELEASE, lambda d: d["voip_release"]["components"].update(kamailio="5.6.4"))
    shas["release"] = commit(repo, "release: 2026.2.0, kamailio 5.6.4 [CHG-7]", "Carla Change")
    (repo / "README.md").write_text("not the model\n")
    commit(repo, "docs: a readme", "Dan Docs")
    edit(repo, USERS, lambda d: d["voip_users"].remove(user(d, "ejansen")))
    shas["remove"] = commit(repo, "users: remove ejansen", "Bob Beheer")
    return repo, shas


def kinds(entry: dict) -> list[tuple[str, str]]:
    return [(c["kind"], c["subject"]) for c in entry["changes"]]


def test_reports_exactly_the_model_changes_with_authors_and_tickets(estate):
    repo, shas = estate
    data = changelog.report(repo, repo / "inventory" / "lab", f"{shas['base']}..HEAD", None)
    commits = data["commits"]
    assert [c["commit"] for c in commits] == [shas[k] for k in ("add", "grant", "move", "release", "remove")]
    assert [(c["author"], c["ticket"]) for c in commits] == [
        ("Ann Admin", "OPS-101"),
        ("Bob Beheer", "OPS-102"),
        ("Ann Admin", "OPS-103"),
        ("Carla Change", "CHG-7"),
        ("Bob Beheer", None),
    ]
    add, grant, move, release, remove = commits
    assert kinds(add) == [("user_added", "tnew"), ("gateway_changed", "gw1")]
    assert add["changes"][0]["details"] == {
        "name": "Tom Nieuw",
        "site": "ams",
        "extension": 2500,
        "did": "+31206666500",
        "class_of_service": "national",
    }
    assert add["changes"][1]["details"]["fields"] == [
        {"path": "enable_password", "before": None, "after": changelog.MASK}
    ]
    assert kinds(grant) == [("grant_added", "rrahimi")]
    assert grant["changes"][0]["details"] == {
        "feature": "international",
        "until": "2026-12-31",
        "reason": "London project",
    }
    assert kinds(move) == [("user_moved", "svisser")]
    assert move["changes"][0]["details"] == {
        "site": ["ams", "thr"],
        "extension": [2001, 3500],
        "did": [None, "+982133333500"],
    }
    assert kinds(release) == [("release_changed", "2026.2.0")]
    assert {(f["path"], f["before"], f["after"]) for f in release["changes"][0]["details"]["fields"]} == {
        ("version", "2026.1.0", "2026.2.0"),
        ("components.kamailio", "5.6.3", "5.6.4"),
    }
    assert kinds(remove) == [("user_removed", "ejansen")]
    assert commits[0]["date"].startswith(str(datetime.date.today().year))


def test_since_and_a_narrow_range(estate):
    repo, shas = estate
    one = changelog.report(repo, repo / "inventory" / "lab", f"{shas['grant']}..{shas['move']}", None)
    assert [c["commit"] for c in one["commits"]] == [shas["move"]]
    everything = changelog.report(repo, repo / "inventory" / "lab", None, "2000-01-01")
    # The base commit adds the whole estate: hosts and users first seen there.
    assert everything["commits"][0]["commit"] == shas["base"]
    assert ("host_added", "cs1") in kinds(everything["commits"][0])
    assert len(everything["commits"]) == 6


def test_markdown_and_json_from_the_command_line_show_no_secret(estate, monkeypatch, capsys):
    repo, shas = estate
    monkeypatch.setenv("VOIP_ESTATE_ROOT", str(repo))
    assert main(["changelog", f"{shas['base']}..HEAD"]) == 0
    text = capsys.readouterr().out
    assert "# Estate changes:" in text
    assert "user tnew added (Tom Nieuw, site ams, ext 2500, did +31206666500)" in text
    assert "Ann Admin <ann@example.com>" in text and "ticket OPS-101" in text
    assert "user rrahimi: grant international added (until 2026-12-31, reason 'London project')" in text
    assert "user svisser moved from ams to thr (extension 2001 -> 3500, did (none) -> +982133333500)" in text
    assert "release 2026.1.0 -> 2026.2.0" in text and "components.kamailio: 5.6.3 -> 5.6.4" in text
    assert "user ejansen removed" in text
    assert "docs: a readme" not in text
    assert main(["changelog", f"{shas['base']}..HEAD", "--format", "json"]) == 0
    raw = capsys.readouterr().out
    assert len(json.loads(raw)["commits"]) == 5
    for output in (text, raw):
        assert SECRET not in output
        assert VAULT_SECRET not in output and VAULT_SECRET.encode().hex() not in output
        assert "vault" not in output.lower()


def test_bad_arguments_are_named(estate, monkeypatch, capsys):
    repo, _ = estate
    monkeypatch.setenv("VOIP_ESTATE_ROOT", str(repo))
    assert main(["changelog"]) == 2
    assert "REV1..REV2 or --since" in capsys.readouterr().err
    assert main(["changelog", "HEAD"]) == 2
    assert "is not REV1..REV2" in capsys.readouterr().err
    assert main(["changelog", "nosuch..HEAD"]) == 2
    assert "'nosuch' (in 'nosuch..HEAD') is not a commit" in capsys.readouterr().err


SECRET_KEYS = [("password", True), ("enable_secret", True), ("api_key", True), ("ha1", True)]
NOT_SECRET_KEYS = [("credentials_ref", False), ("line_keys", False), ("keyboard", False), ("name", False)]


@pytest.mark.parametrize(("key", "secret"), [*SECRET_KEYS, ("snmp_community", True), *NOT_SECRET_KEYS])
def test_secret_keys(key, secret):
    assert changelog.is_secret_key(key) is secret


def test_devices_swapped_and_grant_revoked():
    before = [
        {
            "id": "a",
            "site": "ams",
            "name": "A",
            "devices": [{"mac": "00:00:00:00:00:01", "model": "snom-d785"}],
            "grants": [{"feature": "international", "until": "2026-12-31", "reason": "x"}],
            "features": {"voicemail": True},
        }
    ]
    after = [
        {
            "id": "a",
            "site": "ams",
            "name": "B",
            "devices": [{"mac": "00:00:00:00:00:02", "model": "yealink-t54w"}],
            "features": {"voicemail": True, "dnd": True},
        }
    ]
    found = {c.kind: c for c in changelog.diff_users(before, after)}
    assert set(found) == {"user_renamed", "feature_added", "grant_revoked", "device_swapped"}
    assert found["device_swapped"].summary == (
        "user a: devices 00:00:00:00:00:01 (snom-d785) -> 00:00:00:00:00:02 (yealink-t54w)"
    )
    assert found["grant_revoked"].details == {
        "feature": "international",
        "until": "2026-12-31",
        "reason": "x",
    }


def test_trunks_and_cti_accounts_mask_secrets():
    before = [{"name": "t1", "address": "192.0.2.1", "password": "old"}]
    after = [{"name": "t1", "address": "192.0.2.2", "password": "new"}, {"name": "t2", "secret": "x"}]
    found = list(changelog.SPECIAL["voip_trunks"](before, after))
    assert [(c.kind, c.subject) for c in found] == [("trunk_added", "t2"), ("trunk_changed", "t1")]
    assert found[0].details == {"value": {"name": "t2", "secret": changelog.MASK}}
    assert found[1].details["fields"] == [
        {"path": "address", "before": "192.0.2.1", "after": "192.0.2.2"},
        {"path": "password", "before": changelog.MASK, "after": changelog.MASK},
    ]
    assert "old" not in repr(found) and "new" not in repr(found)


def test_a_secret_after_its_command_line_option_is_masked():
    fields = changelog.field_changes(
        {"command": ["app"]}, {"command": ["app", "--password", "pw1", "--port", "22"]}
    )
    assert [(f["path"], f["after"]) for f in fields] == [
        ("command[1]", "--password"),
        ("command[2]", changelog.MASK),
        ("command[3]", "--port"),
        ("command[4]", "22"),
    ]
