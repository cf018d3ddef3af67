"""Moves, adds and changes end to end: `voipctl user ...` edits a copy of the lab
inventory, `playbooks/users.yml` applies it to the running lab, and SIP proves
the effect. The lab's own directory is applied again at the end, so the other
tests find the lab as the inventory describes it.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from phone_http import file_url, http_get

from voipctl.cli import main as voipctl
from voipctl.core.passwords import user_sip_password
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
INTERNATIONAL = "0044207946000"


def apply_users(inventory: Path) -> str:
    env = ansible_environment(ROOT)
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / "users.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run.stdout


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    """A copy of the lab inventory to change; the lab's own directory is applied again afterwards."""
    copy = tmp_path_factory.mktemp("mac") / "lab"
    shutil.copytree(LAB, copy)
    yield copy
    apply_users(LAB)


def fetch_text(server: dict, name: str, login: tuple[str, str]) -> str | None:
    """A file from the provisioning server as a phone on the voice network fetches it (None: 404)."""
    status, text = http_get(file_url(server, name), login)
    if status == 404:
        return None
    assert status == 200, (name, status)
    return text


def user_cli(inventory: Path, *args: str) -> None:
    code = voipctl(["user", *args, "-i", str(inventory)])
    assert code == 0, f"voipctl user {' '.join(args)} exited {code}"


def sip_user(users, estate, inventory: Path, uid: str):
    """The SIP identity of ``uid`` as the changed directory has it."""
    from voipctl.directory import Directory, plain

    entry = plain(Directory(inventory).user(uid))
    template = next(iter(users.values()))
    master = estate.hosts["cs1"]["vault_voip_sip_master_secret"]
    server = next(
        estate.hosts[h]
        for h in estate.hosts_in("call_servers")
        if estate.hosts[h]["voip_site"] == entry["site"]
    )
    return dataclasses.replace(
        template, id=uid, extension=str(entry["extension"]), site=entry["site"],
        password=user_sip_password(master, entry),
        domain=server["voip_call_server"]["sip_domain"], server=server["ansible_host"],
        status=entry.get("status", "active"), model=entry,
    )  # fmt: skip


def test_joiner_registers_and_calls_after_apply(directory, users, estate, register, call, phone):
    user_cli(directory, "add", "tjoiner", "--name", "Test Joiner", "--site", "ams", "--cos", "national")
    joiner = sip_user(users, estate, directory, "tjoiner")
    assert register(joiner).final == "403", "the joiner must not exist before the apply"
    apply_users(directory)
    assert register(joiner).final == "200"
    callee = next(
        u
        for u in users.values()
        if u.status == "active" and u.site == "ams" and not u.model.get("features", {}).get("dnd")
    )
    answered = phone(callee, "answer")
    assert call(joiner, callee.extension).final == "200"
    assert f"sip:{joiner.extension}@" in (answered().value("ANSWERED") or "")


def test_mover_registers_at_the_new_sites_call_server(directory, users, estate, register):
    mover = next(
        u for u in users.values() if u.status == "active" and u.site == "thr" and not u.model.get("grants")
    )
    user_cli(directory, "move", mover.id, "--site", "ams")
    apply_users(directory)
    moved = sip_user(users, estate, directory, mover.id)
    assert moved.server != mover.server
    assert register(moved).final == "200"
    # The old account on the old call server is gone.
    assert register(mover).final == "403"


def test_leaver_is_refused_after_apply(directory, users, estate, register, device_login):
    leaver = next(u for u in users.values() if u.status == "active" and u.site == "ams" and u.model.get("grants") is None
                  and not (u.model.get("features") or {}).get("dnd"))  # fmt: skip
    assert register(leaver).final == "200"
    macs = [d["mac"].replace(":", "").lower() for d in leaver.model.get("devices") or []]
    assert macs, "the leaver has a desk phone"
    user_cli(directory, "leave", leaver.id)
    apply_users(directory)
    assert register(leaver).final == "403"
    # The leaver's desk phone now fetches the unassigned profile: no account, no password.
    prov = estate.hosts[estate.hosts_in("provisioning_servers")[0]]
    for mac in macs:
        found = (fetch_text(prov, f"{mac}.{ext}", device_login(mac)) for ext in ("cfg", "xml"))
        text = next(t for t in found if t is not None)
        assert "unassigned" in text and leaver.password not in text and f"user={leaver.id}" not in text


def test_grant_lets_international_through_and_revoke_ends_it(directory, users, estate, call, peer):
    today = datetime.date.today()
    trunk_site = next(t["site"] for t in estate.hosts["cs1"]["voip_trunks"])
    internal = [u for u in users.values() if u.status == "active" and u.site == trunk_site
                and u.model.get("class_of_service") == "internal" and not u.model.get("grants")]  # fmt: skip
    assert internal, "the lab has an internal-only user at the trunk's site"
    caller = sip_user(users, estate, directory, internal[0].id)
    assert call(caller, INTERNATIONAL).final == "403"
    until = (today + datetime.timedelta(days=30)).isoformat()
    user_cli(directory, "grant", caller.id, "international", "--until", until, "--reason", "test trip OPS-1")
    apply_users(directory)
    carrier = peer("carrier", "answer")
    assert call(caller, INTERNATIONAL).final == "200"
    assert carrier().returncode == 0
    user_cli(directory, "revoke", caller.id, "international")
    apply_users(directory)
    assert call(caller, INTERNATIONAL).final == "403"
