"""The user directory of an inventory: moves, adds and changes, edited round-trip.

A change touches every file that refers to the user (the directory itself,
other users' forwards, hunt groups, switch ports patched to the user's
phones: ``voipctl.directory_refs``), and the resulting estate is validated,
in a scratch copy of the inventory, before any file is written.

Operations are functions ``op(directory, ..., today) -> Change``; they edit
the loaded documents only. ``Directory.check`` validates the edited estate,
``Directory.write`` writes the changed files (atomically): the store, in
``voipctl.directory_store``. Values are written so that Ansible reads what
was meant, and every argument is checked for its length before any work on
it (``voipctl.directory_yaml``).

``set`` takes the VALUE of name, email, class_of_service and did as text
(``name=Yes`` is the text Yes; a VALUE starting with a quote is read as one
quoted YAML string), and the VALUE of ``features.*`` as YAML in the
estate's dialect: ``03721``, ``yes``, ``1:20`` are refused as ambiguous.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from voipctl.core.activity import (
    COS_RANK,
    UserDataError,
    as_date,
    expired_grants,
    is_leaver,
    leave_day,
    left_before,
)
from voipctl.derive.users import next_free_did, next_free_extension
from voipctl.directory_refs import (
    drop_forwards_to,
    hunt_group_overflows,
    leave_hunt_groups,
    retarget_forwards,
    unpatch_phones,
)
from voipctl.directory_store import Directory, unified_diff
from voipctl.directory_yaml import (
    ARG_MAX,
    TEXT_MAX,
    VALUE_MAX,
    DirectoryError,
    argument,
    arguments,
    as_node,
    flow_map,
    plain,
    quoted,
    text_value,
)
from voipctl.model import yamlfile
from voipctl.model.dialect import CLIP, clip
from voipctl.model.types import shown

# Key order of a new user entry (the order the directories are written in).
USER_KEYS = (
    "id", "name", "email", "site", "extension", "did", "class_of_service",
    "features", "grants", "devices", "status", "leave_date",
)  # fmt: skip


@dataclass
class Change:
    """What one operation did: ``verb user (summary)`` and its detail lines."""

    verb: str
    user: str
    summary: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return f"{self.verb} {self.user}" + (f" ({self.summary})" if self.summary else "")


# -- operations --------------------------------------------------------------------


def _insert_ordered(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``key`` at its place in USER_KEYS order (existing keys keep theirs)."""
    if key in mapping:
        mapping[key] = value
        return
    rank = USER_KEYS.index(key) if key in USER_KEYS else len(USER_KEYS)
    position = len(mapping)
    for index, existing in enumerate(mapping):
        if existing in USER_KEYS and USER_KEYS.index(existing) > rank:
            position = index
            break
    mapping.insert(position, key, value)


def _known_site(site: str, sites: dict[str, Any]) -> None:
    if site not in sites:
        raise DirectoryError(f"unknown site {shown(site)} (sites: {', '.join(sorted(sites))})")


def _free_extension(users: list[dict], sites: dict[str, Any], site: str) -> int:
    try:
        extension = next_free_extension(users, sites, site)
    except UserDataError as exc:  # a range the validation refuses as well
        raise DirectoryError(f"cannot pick an extension: {exc}") from None
    if extension is None:
        raise DirectoryError(f"site {site}: no free extension in {sites[site].get('extensions')}")
    return extension


def _free_did(users: list[dict], sites: dict[str, Any], site: str) -> str:
    try:
        did = next_free_did(users, sites, site)
    except UserDataError as exc:
        raise DirectoryError(f"cannot pick a DID: {exc}") from None
    if did is None:
        raise DirectoryError(f"site {site}: no free DID in {sites[site].get('dids')}")
    return did


def add(
    directory: Directory,
    uid: str,
    *,
    name: str,
    site: str,
    today: datetime.date,
    email: str | None = None,
    extension: int | None = None,
    did: str | None = None,
    no_did: bool = False,
    class_of_service: str = "internal",
    voicemail: bool | None = None,
    devices: Iterable[tuple[str, str]] = (),
) -> Change:
    """A joiner: a new entry with the next free extension and DID of the site unless given."""
    devices = list(devices)
    arguments(
        ("id", uid), ("name", name, TEXT_MAX), ("site", site), ("email", email), ("did", did),
        ("class of service", class_of_service), *(("device", f"{mac}:{model}") for mac, model in devices),
    )  # fmt: skip
    if directory.users.index_of(uid) is not None:
        raise DirectoryError(f"user {shown(uid)} already exists")
    sites = directory.sites
    _known_site(site, sites)
    if class_of_service not in COS_RANK:
        raise DirectoryError(
            f"class of service {shown(class_of_service)} is not one of {', '.join(COS_RANK)}"
        )
    users = directory.users.data()
    if extension is None:
        extension = _free_extension(users, sites, site)
    if not no_did and did is None and sites[site].get("dids"):
        did = _free_did(users, sites, site)
    entry = CommentedMap()
    entry["id"] = text_value(uid)
    entry["name"] = text_value(name)
    if email:
        entry["email"] = text_value(email)
    entry["site"] = text_value(site)
    entry["extension"] = int(extension)
    if did and not no_did:
        entry["did"] = quoted(did)
    entry["class_of_service"] = text_value(class_of_service)
    if voicemail is not None:
        entry["features"] = flow_map(voicemail=voicemail)
    device_nodes = CommentedSeq(
        [flow_map(mac=quoted(mac.lower()), model=text_value(model)) for mac, model in devices]
    )
    if device_nodes:
        entry["devices"] = device_nodes
    entry["status"] = "active"
    directory.users.append(entry)
    directory.touch(directory.users_file)
    summary = f"{site}, ext {extension}" + (f", did {clip(did)}" if did and not no_did else "")
    return Change("add", uid, summary, [f"{len(device_nodes)} device(s)"] if device_nodes else [])


def move(
    directory: Directory,
    uid: str,
    *,
    site: str,
    today: datetime.date,
    extension: int | None = None,
    did: str | None = None,
) -> Change:
    """A mover: to another site, with a number of the new site; references follow."""
    arguments(("site", site), ("did", did))
    user = directory.user(uid)
    if is_leaver(user):
        raise DirectoryError(f"user {shown(uid)} is a leaver; leavers do not move")
    sites = directory.sites
    _known_site(site, sites)
    old_site, old_ext, old_did = str(user["site"]), int(user["extension"]), user.get("did")
    if site == old_site:
        raise DirectoryError(f"user {shown(uid)} is already at site {site}")
    users = directory.users.data()
    if extension is None:
        extension = _free_extension(users, sites, site)
    details = [f"site {old_site} -> {site}", f"extension {old_ext} -> {extension}"]
    user["site"] = text_value(site)
    user["extension"] = int(extension)
    if old_did:
        new_did = did or (_free_did(users, sites, site) if sites[site].get("dids") else None)
        if new_did:
            user["did"] = quoted(new_did)
            details.append(f"DID {old_did} -> {new_did}")
        else:
            del user["did"]
            details.append(f"DID {old_did} given up")
    elif did:
        _insert_ordered(user, "did", quoted(did))
    leave_hunt_groups(user, details)
    retarget_forwards(directory, old_ext, int(extension), details)
    for path, group in hunt_group_overflows(directory, old_ext):
        group["overflow"] = int(extension)
        directory.touch(path)
        details.append(f"hunt group {group.get('id')}: overflow {old_ext} -> {extension}")
    # The phones move with the user: their old ports are unpatched.
    unpatch_phones(directory, [str(d["mac"]) for d in user.get("devices") or []], details)
    directory.touch(directory.users_file)
    return Change("move", uid, f"{old_site} -> {site}, ext {old_ext} -> {extension}", details)


def leave(directory: Directory, uid: str, *, today: datetime.date, on: datetime.date | None = None) -> Change:
    """A leaver: status and leave date; every reference to the user removed.

    The leave takes effect when it is made: ``on`` may lie back (a leave
    recorded late) but not ahead. hr-sync likewise makes leavers only once
    their HR end_date has come.
    """
    user = directory.user(uid)
    if is_leaver(user):
        raise DirectoryError(f"user {shown(uid)} is already a leaver (since {user.get('leave_date')})")
    if on is not None and on > today:
        raise DirectoryError(
            f"--on {on.isoformat()} lies in the future; a leave takes effect when it is applied "
            f"(the user would be cut off today, {today.isoformat()}): run it on that day"
        )
    day = on or today
    details: list[str] = []
    user["status"] = "leaver"
    _insert_ordered(user, "leave_date", quoted(day.isoformat()))
    devices = [str(d["mac"]) for d in user.get("devices") or []]
    if devices:
        del user["devices"]
        details.append(f"phone(s) {', '.join(devices)} unassigned")
    leave_hunt_groups(user, details)
    if user.get("grants"):
        details.append(f"{len(user['grants'])} grant(s) ended")
        del user["grants"]
    drop_forwards_to(directory, user, details)
    for path, group in hunt_group_overflows(directory, int(user["extension"])):
        group["overflow"] = "voicemail"
        directory.touch(path)
        details.append(f"hunt group {group.get('id')}: overflow to {user['extension']} now goes to voicemail")
    unpatch_phones(directory, devices, details)
    directory.touch(directory.users_file)
    return Change("leave", uid, f"{user['site']}, ext {user['extension']}, left {day.isoformat()}", details)


def grant(
    directory: Directory, uid: str, feature: str, *, until: datetime.date, reason: str, today: datetime.date
) -> Change:
    """A temporary feature (or class of service) until a date, with its reason."""
    arguments(("feature", feature), ("reason", reason, TEXT_MAX))
    user = directory.user(uid)
    if is_leaver(user):
        raise DirectoryError(f"user {shown(uid)} is a leaver; leavers get no grants")
    if until < today:
        raise DirectoryError(f"--until {until.isoformat()} lies in the past")
    if not reason.strip():
        raise DirectoryError("a grant needs a --reason (a ticket or why)")
    grants = user.get("grants")
    if grants is None:
        grants = CommentedSeq()
        _insert_ordered(user, "grants", grants)
    for existing in grants:
        if existing.get("feature") == feature:
            existing["until"] = quoted(until.isoformat())
            existing["reason"] = quoted(reason)
            directory.touch(directory.users_file)
            return Change(
                "grant", uid, f"{clip(feature)} until {until.isoformat()}", ["extended the existing grant"]
            )
    grants.append(
        flow_map(feature=text_value(feature), until=quoted(until.isoformat()), reason=quoted(reason))
    )
    directory.touch(directory.users_file)
    return Change("grant", uid, f"{clip(feature)} until {until.isoformat()}", [clip(reason)])


def revoke(directory: Directory, uid: str, feature: str, *, today: datetime.date) -> Change:
    """End a grant of ``feature`` now, or switch off a permanent feature."""
    argument("feature", feature)
    user = directory.user(uid)
    details = []
    grants = user.get("grants") or []
    kept = [g for g in grants if g.get("feature") != feature]
    if len(kept) != len(grants):
        details.append(f"grant of {feature} removed")
        if kept:
            grants[:] = kept
        else:
            del user["grants"]
    features = user.get("features")
    if isinstance(features, dict) and feature in features:
        del features[feature]
        details.append(f"feature {feature} removed")
        if not features:
            del user["features"]
    if not details:
        raise DirectoryError(f"user {shown(uid)} has no grant or feature {shown(feature)}")
    directory.touch(directory.users_file)
    return Change("revoke", uid, clip(feature), details)


SETTABLE = ("name", "email", "class_of_service", "did", "features")
# Keys whose VALUE is text, taken as given (not read as YAML).
TEXT_KEYS = ("name", "email", "class_of_service", "did")
_KEY = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")


def set_values(directory: Directory, uid: str, assignments: Iterable[str], *, today: datetime.date) -> Change:
    """``KEY=VALUE`` settings, e.g. ``name=Jan de Vries``, ``features.dnd=true``.

    name, email, class_of_service and did take VALUE as text: ``name=Yes`` is
    the text Yes (written quoted); a VALUE starting with a quote is read as one
    quoted YAML string (``name="Yes"``). Dotted keys under ``features`` take a
    YAML value in the estate's dialect (``voipctl.model.yamlfile.load_text``),
    so ``03721``, ``yes`` or ``1:20`` are refused as ambiguous. An empty
    VALUE (or null) removes the key.
    """
    user = directory.user(uid)
    details = []
    for assignment in assignments:
        key, text = _assignment(assignment)
        parts = key.split(".")
        value = _text_of(key, text) if parts[0] in TEXT_KEYS else _yaml_of(key, text)
        node = _parent(user, parts, create=value is not None)
        leaf = parts[-1]
        if value is None:
            if node is not None and leaf in node:
                del node[leaf]
            details.append(f"{key} removed")
            continue
        display = str(plain(value))
        display = clip(display) if display.isprintable() else shown(display)
        value = quoted(value) if parts[0] == "did" else as_node(key, value)
        if node is user:
            _insert_ordered(user, leaf, value)
        else:
            node[leaf] = value
        details.append(f"{key} = {display}")
    directory.touch(directory.users_file)
    return Change("set", uid, ", ".join(details), [])


def _assignment(assignment: str) -> tuple[str, str]:
    """(KEY, VALUE) of ``KEY=VALUE``, the key checked (settable, its form)."""
    key, sep, text = assignment.partition("=")
    if not sep or not key:
        raise DirectoryError(f"{shown(assignment)} is not KEY=VALUE")
    if len(key) > CLIP or not _KEY.fullmatch(key):
        raise DirectoryError(
            f"{shown(key)} is not a key such as name or features.call_forward.busy (in {shown(assignment)})"
        )
    top = key.split(".")[0]
    if top not in SETTABLE:
        raise DirectoryError(f"{shown(top)} cannot be set here (settable: {', '.join(SETTABLE)})")
    if top in TEXT_KEYS and key != top:
        raise DirectoryError(f"{top} is text and has no sub-keys: {shown(key)}")
    return key, text


def _echo(key: str, text: str) -> str:
    """``KEY=VALUE`` for a message: as typed when short and printable, else the VALUE shown quoted and cut."""
    return f"{key}={text}" if len(text) <= CLIP and text.isprintable() else f"{key}={shown(text)}"


def _text_of(key: str, text: str) -> str | None:
    """The text of a text key's VALUE (None: remove the key)."""
    if not text:
        return None
    argument(key, text, TEXT_MAX if key == "name" else ARG_MAX)
    if text[0] not in "\"'":
        return text
    problem = ""
    try:
        value = yamlfile.load_text(text)
    except yamlfile.YamlFileError as exc:
        value, problem = None, f" ({exc.message})"
    if type(value) is not str:
        raise DirectoryError(
            f"{_echo(key, text)}: a value starting with a quote must be one quoted string, "
            f"such as {key}='\"Yes\"'{problem}"
        )
    return value


def _yaml_of(key: str, text: str) -> Any:
    """The value of a ``features`` VALUE, read as Ansible reads it (None: remove the key)."""
    if not text:
        return None
    argument(key, text, VALUE_MAX)
    try:
        return yamlfile.load_text(text)
    except yamlfile.YamlFileError as exc:
        if exc.dialect:
            raise DirectoryError(f"{_echo(key, text)}: {exc.message}") from None
        raise DirectoryError(
            f"{_echo(key, text)}: not a YAML value ({exc.message}); text must be quoted, such as {key}='\"...\"'"
        ) from None


def _parent(user: CommentedMap, parts: list[str], *, create: bool) -> CommentedMap | None:
    """The mapping that holds ``parts[-1]``, made where missing (when ``create``; else None)."""
    node = user
    for part in parts[:-1]:
        if part not in node or not isinstance(node[part], dict):
            if not create:
                return None
            child = flow_map() if part == "call_forward" else CommentedMap()
            if node is user:
                _insert_ordered(user, part, child)
            else:
                node[part] = child
        node = node[part]
    return node


def purge(directory: Directory, *, today: datetime.date, grace_days: int | None = None) -> list[Change]:
    """Remove leavers whose leave date lies more than the grace period back; their numbers return to the pool.

    The grace period is the numbers' quarantine (a purged leaver's extension
    and DID stay out of use that long): it is never negative.
    """
    if grace_days is not None and (isinstance(grace_days, bool) or not isinstance(grace_days, int)):
        raise DirectoryError(f"--grace-days {shown(grace_days)} is not a whole number of days")
    if grace_days is not None and grace_days < 0:
        raise DirectoryError(
            f"--grace-days {grace_days} is negative: a purged leaver's numbers stay out of use for the "
            "grace days (their quarantine); give 0 or more"
        )
    grace = directory.grace_days() if grace_days is None else grace_days
    changes = []
    for user in directory.users.data():
        if not is_leaver(user) or not left_before(user, today, days=grace):
            continue
        directory.users.remove(str(user["id"]))
        directory.touch(directory.users_file)
        freed = f"ext {user['extension']}" + (f", did {user['did']}" if user.get("did") else "")
        changes.append(Change("purge", str(user["id"]), f"left {leave_day(user)}, {freed} free again"))
    return changes


def expiring(directory: Directory, *, today: datetime.date, within_days: int) -> list[dict[str, Any]]:
    """Grants ending within ``within_days`` (and those already expired), soonest first."""
    rows = []
    for user in directory.users.data():
        for item in user.get("grants") or []:
            until = as_date(item.get("until"), f"user {user.get('id')} grant until")
            days = (until - today).days
            if days <= within_days:
                rows.append(
                    {"user": user["id"], "feature": item.get("feature"), "until": until.isoformat(),
                     "days_left": days, "reason": item.get("reason", "")}
                )  # fmt: skip
    return sorted(rows, key=lambda r: (r["until"], r["user"]))


def prune_grants(directory: Directory, *, today: datetime.date) -> list[Change]:
    """Remove grants whose date has passed (their effect ended at the first apply after it)."""
    changes = []
    for index, data in enumerate(directory.users.data()):
        if not data.get("grants") or not expired_grants(data, today):
            continue
        user = directory.users.node(index)
        grants = user["grants"]
        expired = expired_grants(plain(user), today)
        gone = {(g.get("feature"), str(g.get("until"))) for g in expired}
        kept = [g for g in grants if (g.get("feature"), str(g.get("until"))) not in gone]
        if kept:
            grants[:] = kept
        else:
            del user["grants"]
        directory.touch(directory.users_file)
        changes.append(
            Change("prune", str(user["id"]), ", ".join(f"{f} (ended {u})" for f, u in sorted(gone)))
        )
    return changes


__all__ = [
    "Change",
    "Directory",
    "DirectoryError",
    "add",
    "expiring",
    "flow_map",
    "grant",
    "leave",
    "move",
    "plain",
    "prune_grants",
    "purge",
    "revoke",
    "set_values",
    "text_value",
    "unified_diff",
]
