"""Administrator accounts of a Linux host: which ones the model keeps, which ones go.

An administrator is a member of the administrator group (the group that gives
passwordless sudo). The model's ``voip_admins`` lists them; an account in that
group that the model does not list as present is removed, so that taking
someone out of the model takes them off every host. Two accounts are never
removed: root, and the account Ansible itself connects with (removing it would
lock the automation out halfway through a run).
"""

from __future__ import annotations

import re

# useradd's portable names: lower case, digits, '_' and '-', not starting with '-'.
NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
NEVER_REMOVED = ("root",)


class AdminDataError(ValueError):
    """The administrators of the model cannot be applied (names the entry)."""


def check_admins(admins: list, connection_user: str | None) -> list[str]:
    """The present administrators' names; AdminDataError for a list that cannot be applied safely."""
    present: list[str] = []
    seen: dict[str, int] = {}
    for index, admin in enumerate(admins or []):
        where = f"voip_admins[{index}]"
        if not isinstance(admin, dict) or not isinstance(admin.get("name"), str):
            raise AdminDataError(f"{where}: an administrator needs a name")
        name = admin["name"]
        if not NAME.fullmatch(name):
            raise AdminDataError(
                f"{where}: {name!r} is not an account name (lower case letters, digits, '_' or '-', "
                "at most 32, not starting with a digit or '-')"
            )
        if name in NEVER_REMOVED:
            raise AdminDataError(
                f"{where}: {name!r} is not an administrator account; root never logs in over SSH"
            )
        if name in seen:
            raise AdminDataError(f"{where}: {name!r} is listed twice (first at voip_admins[{seen[name]}])")
        seen[name] = index
        state = admin.get("state", "present")
        if state not in ("present", "absent"):
            raise AdminDataError(f"{where}: state {state!r} is neither 'present' nor 'absent'")
        if state == "absent" and name == connection_user:
            raise AdminDataError(
                f"{where}: {name!r} is the account Ansible connects with; it cannot be removed by the run "
                "that uses it (connect as another administrator first)"
            )
        if state == "present":
            present.append(name)
    return present


def admins_to_remove(
    group_entry: list | None,
    passwd: dict,
    admins: list,
    login: str,
    uid_min: int = 1000,
    uid_max: int = 59999,
) -> list[str]:
    """The accounts to remove, sorted: members of the administrator group the model does not keep,
    and the accounts the model marks absent that exist.

    ``group_entry`` is getent's group row ``[password, gid, "a,b"]`` (None: no
    such group) and ``passwd`` getent's passwd table ``{name: [pw, uid, gid, ...]}``:
    members are the group's listed members and the accounts whose primary group
    it is. ``login`` is the account Ansible connects with (read on the host, never
    guessed): it is never removed, nor is root. Only local login accounts (uid in
    ``uid_min``..``uid_max``) are removed; a system account the model names absent
    is an error, a system or directory account in the group is left alone.
    """
    if not login:
        raise AdminDataError(
            "the account Ansible connects with is unknown: refusing to remove administrators"
        )
    present = set(check_admins(admins, login))
    absent = {a["name"] for a in admins or [] if a.get("state", "present") == "absent"}
    members: set[str] = set()
    if group_entry:
        gid = str(group_entry[1])
        members = {m for m in str(group_entry[2] or "").split(",") if m}
        members |= {name for name, row in (passwd or {}).items() if len(row) > 2 and str(row[2]) == gid}
    candidates = ((members - present) | absent) - set(NEVER_REMOVED) - {login}
    gone = []
    for name in sorted(candidates):
        row = (passwd or {}).get(name)
        if row is None:
            continue  # not a local account (a directory user) or already gone
        uid = int(row[1])
        if not uid_min <= uid <= uid_max:
            if name in absent:
                raise AdminDataError(
                    f"voip_admins: {name!r} (uid {uid}) is a system account, not an administrator"
                )
            continue
        gone.append(name)
    return gone
