"""Check mode on a changed user directory, and no secret in any run output.

A copy of the lab inventory gets a changed user directory (a forward target
changed, a user with a DID made leaver, a joiner added to a hunt group). ``call_servers.yml --check
--diff`` against the running lab must report exactly those users as the ones
that would change, change nothing on the host, and print no secret. The
outputs of the lab's converges (kept by ``voipctl lab converge`` under
.lab/runs) are scanned for the same secrets.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from voipctl.adapters import inventory
from voipctl.core.passwords import user_sip_password
from voipctl.derive import secrets
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
STATE = ROOT / ".lab"
# The one task that syncs the user tables, and the tables it must find changed.
USER_TABLE_TASK = "voip.estate.kamailio_tables"
USER_TABLES = ["aliases", "preferences", "subscribers"]


def _environment(**extra: str) -> dict[str, str]:
    return ansible_environment(ROOT, **extra)


@pytest.fixture(scope="module")
def model():
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    inv = inventory.load(LAB)
    return inv.hosts["cs1"], {name: inv.hosts[name] for name in inv.hosts_in("call_servers")}


@pytest.fixture(scope="module")
def every_secret(model) -> set[str]:
    """Every secret of the lab and every value derived from one (passwords, HA1, digests)."""
    host, servers = model
    found = {str(v) for k, v in host.items() if k.startswith("vault_")}
    master = host["vault_voip_sip_master_secret"]
    domains = {s["voip_call_server"]["sip_domain"] for s in servers.values()}
    for user in host["voip_users"]:
        password = user_sip_password(master, user)
        ext = str(user["extension"])
        found.add(password)
        for domain in domains:
            found.update({secrets.ha1(ext, domain, password), secrets.ha1b(ext, domain, domain, password)})
    for account in host["voip_cti_accounts"]:
        found.add(secrets.basic_digest(account["name"], host[account["credentials_ref"]]))
    assert all(len(s) >= 12 for s in found), "a secret this short could match by chance"
    return found


def leaks(text: str, every_secret: set[str]) -> list[str]:
    return sorted(f"{s[:3]}... (length {len(s)})" for s in every_secret if s in text)


def changed_directory(
    users: list[dict], hunt_groups: list[dict], site: str, today: datetime.date
) -> tuple[list[dict], set[str], list[str]]:
    """The directory with three moves, adds and changes on ``site``.

    Returns it, the extensions concerned (the hunt group the joiner joins
    changes its member list too) and the MACs of the leaver's phones (their
    switch ports must be unpatched too).
    """
    users = [dict(u) for u in users]
    active = [u for u in users if u.get("status", "active") == "active" and u["site"] == site]
    forwarder = next(u for u in active if (u.get("features") or {}).get("call_forward", {}).get("busy"))
    old_target = str(forwarder["features"]["call_forward"]["busy"])
    new_target = next(
        u for u in active if str(u["extension"]) not in (old_target, str(forwarder["extension"]))
    )
    forwarder["features"] = {
        **forwarder["features"],
        "call_forward": {**forwarder["features"]["call_forward"], "busy": new_target["extension"]},
    }
    # A leaver with a DID and in no hunt group: its subscriber and alias go.
    leaver = next(
        u for u in active
        if u not in (forwarder, new_target) and u.get("did") and not u.get("grants")
        and not (u.get("features") or {}).get("hunt_groups")
    )  # fmt: skip
    macs = [d["mac"] for d in leaver.get("devices", [])]
    leaver.update(status="leaver", leave_date=str(today - datetime.timedelta(days=1)))
    leaver.pop("devices", None)
    taken = {int(u["extension"]) for u in users}
    site_top = max(int(u["extension"]) for u in users if u["site"] == site)
    joiner_ext = next(n for n in range(site_top + 1, site_top + 100) if n not in taken)
    group = next(g for g in hunt_groups if g["site"] == site)
    users.append(
        {"id": "checkmode", "name": "Check Mode", "email": "checkmode@example.com", "site": site,
         "extension": joiner_ext, "class_of_service": "internal",
         "features": {"voicemail": True, "hunt_groups": [group["id"]]}, "status": "active"}
    )  # fmt: skip
    concerned = {forwarder["extension"], leaver["extension"], joiner_ext, group["extension"]}
    return users, {str(n) for n in concerned}, macs


def check_run(inventory: Path, playbook: str, limit: str, every_secret: set[str]) -> dict:
    """``playbook --check --diff`` on ``inventory``: its JSON report, after proving it printed no secret."""
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory),
         str(ROOT / "playbooks" / playbook), "--check", "--diff", "--limit", limit],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env=_environment(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert not leaks(run.stdout + run.stderr, every_secret), f"a secret appeared in the output of {playbook}"
    # The JSON report, then profile_tasks' timing table.
    report, _ = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{") :])
    return report


def table_rows(podman_host: str, sql: str) -> list[str]:
    out = subprocess.run(
        ["podman", "exec", podman_host, "sqlite3", "/var/lib/kamailio/kamailio.sqlite", sql],
        capture_output=True, text=True, check=True, env=_environment(),
    )  # fmt: skip
    return out.stdout.split()


def test_check_mode_reports_exactly_the_users_that_would_change(tmp_path, model, every_secret):
    host, _servers = model
    inventory_copy = tmp_path / "lab"
    shutil.copytree(LAB, inventory_copy)
    users_file = inventory_copy / "group_vars" / "all" / "users.yml"
    plain = yaml.safe_load(users_file.read_text())["voip_users"]
    groups = yaml.safe_load((inventory_copy / "group_vars" / "all" / "hunt_groups.yml").read_text())
    users, expected, macs = changed_directory(
        plain, groups["voip_hunt_groups"], str(host["voip_site"]), datetime.date.today()
    )
    switch_file = inventory_copy / "host_vars" / "sw1" / "switch.yml"
    for mac in macs:
        switch_file.write_text(switch_file.read_text().replace(f', phone_mac: "{mac}"', ""))
    users_file.write_text("---\n" + yaml.safe_dump({"voip_users": users}, sort_keys=False))
    before = table_rows("voiplab-cs1", "SELECT username FROM subscriber ORDER BY username")

    report = check_run(inventory_copy, "call_servers.yml", "localhost,cs1", every_secret)

    would_change: set[str] = set()
    changed_tasks: set[str] = set()
    for play in report["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get("cs1")
            if not result or not result.get("changed"):
                continue
            action = result.get("action", task["task"]["name"])
            changed_tasks.add(action)
            assert result.get("diff"), f"{action} reported a change without a diff"
            assert action == USER_TABLE_TASK and result["changed_tables"] == USER_TABLES, result.get(
                "changed_tables"
            )
            for table in result["tables"].values():
                for kind in ("added", "changed", "removed"):
                    would_change.update(str(row["username"]) for row in table["changes"][kind])
    assert changed_tasks == {USER_TABLE_TASK}, f"tasks that would change: {changed_tasks}"
    assert would_change == expected
    # Check mode wrote nothing.
    assert table_rows("voiplab-cs1", "SELECT username FROM subscriber ORDER BY username") == before


def test_no_secret_in_converge_output(every_secret):
    logs = sorted((STATE / "runs").glob("*.log"))
    assert logs, "no converge output under .lab/runs: run `voipctl lab converge` (make lab) first"
    for log in logs:
        found = leaks(log.read_text(), every_secret)
        assert not found, f"{log.name}: secrets in the output: {found}"


def test_changing_one_user_changes_exactly_one_phone_file(tmp_path, every_secret):
    """users.yml --check after renaming one user: exactly that user's phone file would be written."""
    inventory_copy = tmp_path / "lab"
    shutil.copytree(LAB, inventory_copy)
    users_file = inventory_copy / "group_vars" / "all" / "users.yml"
    plain = yaml.safe_load(users_file.read_text())["voip_users"]
    user = next(
        u for u in plain if u.get("status", "active") == "active" and len(u.get("devices") or []) == 1
    )
    text = users_file.read_text()
    assert text.count(f"name: {user['name']}\n") == 1
    users_file.write_text(text.replace(f"name: {user['name']}\n", f"name: {user['name']} (renamed)\n"))
    report = check_run(inventory_copy, "users.yml", "localhost,provisioning_servers", every_secret)
    results = [
        result
        for play in report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
        if result.get("action") == "voip.estate.phone_files"
    ]
    assert results, "users.yml rendered no phone files"
    mac = user["devices"][0]["mac"].replace(":", "").lower()
    for result in results:
        assert result["counts"]["written"] == 1, result["counts"]
        assert [w["file"] for w in result["changes"]["written"]] in ([f"{mac}.cfg"], [f"{mac}.xml"])
        assert result["counts"]["unassigned"] == 0 and result["counts"]["removed"] == 0


def test_apply_leaves_a_run_record_with_commit_and_counts_and_no_secret(every_secret):
    """`voipctl apply playbooks/users.yml` records the run; `voipctl runs` shows it; no secret in either."""
    runs_dir = STATE / "records" / "runs"
    before = set(runs_dir.glob("*.json")) if runs_dir.is_dir() else set()
    env = _environment(VOIP_ACTOR="lab-test")
    done = subprocess.run(
        [sys.executable, "-m", "voipctl.cli", "apply", "playbooks/users.yml", "--ticket", "OPS-42"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    new = sorted(set(runs_dir.glob("*.json")) - before)
    assert len(new) == 1, new
    text = new[0].read_text()
    record = json.loads(text)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert (record["playbook"], record["commit"], record["actor"], record["ticket"]) == (
        "playbooks/users.yml", head, "lab-test", "OPS-42",
    )  # fmt: skip
    assert record["status"] == "successful" and record["rc"] == 0 and isinstance(record["dirty"], bool)
    assert {"cs1", "cs2", "prov1"} <= set(record["hosts"]), record["hosts"]
    assert all(h["failed"] == 0 and h["unreachable"] == 0 and h["ok"] > 0 for h in record["hosts"].values())
    assert leaks(text, every_secret) == []
    listed = subprocess.run(
        [sys.executable, "-m", "voipctl.cli", "runs", "--format", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert record["id"] in [r["id"] for r in json.loads(listed.stdout)]
    assert leaks(listed.stdout + done.stdout + done.stderr, every_secret) == []
