"""The kamailio role's tasks and handlers: every task that carries a trunk's password shows nothing."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[2] / "collections/ansible_collections/voip/estate/roles" / "kamailio"
# What holds a trunk's password on its way from the vault to uacreg.
TRUNK_SECRETS = ("kamailio_trunk_secrets", "trunk_accounts")


def tasks() -> list[tuple[str, dict]]:
    found = []
    for path in sorted([*(ROLE / "tasks").glob("*.yml"), ROLE / "handlers" / "main.yml"]):
        for task in yaml.safe_load(path.read_text()) or []:
            found.append((f"{path.relative_to(ROLE)}: {task.get('name')}", task))
    return found


def test_every_task_that_carries_a_trunk_password_is_no_log():
    carrying = [
        (name, task) for name, task in tasks() if any(s in yaml.safe_dump(task) for s in TRUNK_SECRETS)
    ]
    assert {name for name, _ in carrying} >= {
        "tasks/data.yml: Derive the call server's data once for this run",
        "tasks/tables.yml: Sync the trunks' accounts (credentials and registrations, passwords never shown)",
    }
    assert [name for name, task in carrying if task.get("no_log") is not True] == []


def test_the_trunk_accounts_are_synced_apart_from_the_user_tables_and_reloaded_when_changed():
    by_name = dict(tasks())
    users = by_name[
        "tasks/tables.yml: Sync SIP accounts (HA1 only), DIDs, hunt groups, features, peers, destinations, "
        "CTI digests (one call)"
    ]
    # The user tables' task stays readable (check-mode reports name the users it would change).
    assert "trunks" not in users["voip.estate.kamailio_tables"]["tables"] and "no_log" not in users
    trunks = by_name[
        "tasks/tables.yml: Sync the trunks' accounts (credentials and registrations, passwords never shown)"
    ]
    assert trunks["notify"] == "Reload kamailio trunk accounts and registrations"
    reload = by_name["handlers/main.yml: Reload kamailio trunk accounts and registrations"]
    assert reload["ansible.builtin.command"] == "kamcmd uac.reg_reload"
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert "uac" in defaults["kamailio_db_modules"], "the uacreg table is created with the database"
