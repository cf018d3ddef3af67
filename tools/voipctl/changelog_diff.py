"""The semantic differences of ``voipctl changelog``: the estate model before and after a commit.

Users added, removed, moved, renamed or renumbered, features and grants
added or revoked, devices swapped, the release manifest, hosts, trunks,
gateways and CTI accounts; any other variable is reported by the key paths
that changed. Secret values never appear: ``!vault`` values and the values
of keys that look like passwords, secrets or keys are masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from voipctl.changelog_git import Snapshot
from voipctl.model.yamlfile import VaultValue

MASK = "********"
# Key names whose values are secrets (matched on whole words of the key: db_password, enable_secret).
_SECRET_KEY = re.compile(
    r"(^|_)(pass|passwd|password|passphrase|secret|token|key|psk|ha1|hash|community|private)($|_)", re.I
)
# Generic variables: at most this many changed key paths are listed.
MAX_PATHS = 20
# ... and at most this many in the one-line summary.
SUMMARY_PATHS = 6


# -- secrets ----------------------------------------------------------------------------


def is_secret_key(key: Any) -> bool:
    """A key whose value is a secret (``credentials_ref`` names a vault variable: not a secret)."""
    name = str(key)
    return not name.endswith("_ref") and bool(_SECRET_KEY.search(name))


def masked(value: Any, key: Any = None) -> Any:
    """``value`` with every secret replaced by a mask, recursively."""
    if isinstance(value, VaultValue) or (key is not None and is_secret_key(key)):
        return MASK
    if isinstance(value, str) and value.startswith("$ANSIBLE_VAULT"):
        return MASK
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """JSON-friendly: dates and other scalars as strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# -- semantic differences ---------------------------------------------------------------------


@dataclass
class Change:
    kind: str
    subject: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def _keyed(items: Any, key: str) -> dict[str, dict]:
    if not isinstance(items, list):
        return {}
    return {str(i[key]): i for i in items if isinstance(i, dict) and key in i}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf key paths of a value (``a.b[0].c``), secrets masked."""
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if is_secret_key(k) or isinstance(v, VaultValue):
                found[path] = MASK
            else:
                found.update(flatten(v, path))
        return found or ({prefix: {}} if prefix else {})
    if isinstance(value, list):
        found = {}
        for i, v in enumerate(value):
            # A command line's secret follows its option: [..., "--password", "s3cret"].
            after_option = i > 0 and isinstance(value[i - 1], str) and value[i - 1].startswith("-")
            if after_option and is_secret_key(value[i - 1].lstrip("-").replace("-", "_")):
                found[f"{prefix}[{i}]"] = MASK
            else:
                found.update(flatten(v, f"{prefix}[{i}]"))
        return found or ({prefix: []} if prefix else {})
    return {prefix: masked(value)}


def field_changes(before: Any, after: Any, prefix: str = "") -> list[dict[str, Any]]:
    """``[{path, before, after}]`` for every leaf that differs; secrets masked (and noted as changed)."""
    old, new = flatten(before, prefix), flatten(after, prefix)
    found = []
    for path in sorted(set(old) | set(new)):
        if old.get(path, None) != new.get(path, None) or (
            old.get(path) == MASK and _leaf(before, path, prefix) != _leaf(after, path, prefix)
        ):
            found.append({"path": path, "before": plain(old.get(path)), "after": plain(new.get(path))})
    return found


def _leaf(value: Any, path: str, prefix: str) -> Any:
    """The raw value at a flattened path (to tell a changed secret from an unchanged one)."""
    rest = path[len(prefix) :].lstrip(".") if prefix else path
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", rest):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


def _describe(fields: list[dict[str, Any]], limit: int = MAX_PATHS) -> str:
    shown = [f"{f['path']}: {_fmt(f['before'])} -> {_fmt(f['after'])}" for f in fields[:limit]]
    if len(fields) > limit:
        shown.append(f"... and {len(fields) - limit} more")
    return "; ".join(shown)


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def diff_users(before: Any, after: Any) -> Iterator[Change]:
    old, new = _keyed(before, "id"), _keyed(after, "id")
    for uid in [uid for uid in new if uid not in old]:
        u = new[uid]
        yield Change(
            "user_added",
            uid,
            f"user {uid} added ({u.get('name')}, site {u.get('site')}, ext {u.get('extension')}, "
            f"did {_fmt(u.get('did'))})",
            {k: plain(masked(u.get(k), k)) for k in ("name", "site", "extension", "did", "class_of_service")},
        )
    for uid in [uid for uid in old if uid not in new]:
        u = old[uid]
        yield Change(
            "user_removed",
            uid,
            f"user {uid} removed ({u.get('name')}, site {u.get('site')}, ext {u.get('extension')})",
            {k: plain(u.get(k)) for k in ("name", "site", "extension", "did")},
        )
    for uid in sorted(old.keys() & new.keys(), key=list(new).index):
        yield from _diff_user(uid, old[uid], new[uid])


def _diff_user(uid: str, old: dict, new: dict) -> Iterator[Change]:
    numbers = {k: (old.get(k), new.get(k)) for k in ("extension", "did") if old.get(k) != new.get(k)}
    number_text = ", ".join(f"{k} {_fmt(a)} -> {_fmt(b)}" for k, (a, b) in numbers.items())
    if old.get("site") != new.get("site"):
        yield Change(
            "user_moved",
            uid,
            f"user {uid} moved from {old.get('site')} to {new.get('site')}"
            + (f" ({number_text})" if number_text else ""),
            {"site": [old.get("site"), new.get("site")], **{k: plain(list(v)) for k, v in numbers.items()}},
        )
    elif numbers:
        yield Change(
            "user_renumbered",
            uid,
            f"user {uid}: {number_text}",
            {k: plain(list(v)) for k, v in numbers.items()},
        )
    yield from _changed_value(uid, "name", old, new, "user_renamed", "renamed from {!r} to {!r}")
    if old.get("status", "active") != new.get("status", "active") or old.get("leave_date") != new.get(
        "leave_date"
    ):
        status = new.get("status", "active")
        text = f"user {uid} status {old.get('status', 'active')} -> {status}"
        if new.get("leave_date"):
            text += f" (leave date {new.get('leave_date')})"
        yield Change(
            "user_status",
            uid,
            text,
            {"status": [old.get("status", "active"), status], "leave_date": plain(new.get("leave_date"))},
        )
    yield from _changed_value(
        uid, "class_of_service", old, new, "user_class_of_service", "class of service {} -> {}"
    )
    yield from _diff_features(uid, old.get("features") or {}, new.get("features") or {})
    yield from _diff_grants(uid, old.get("grants") or [], new.get("grants") or [])
    yield from _diff_devices(uid, old.get("devices") or [], new.get("devices") or [])
    known = {"id", "name", "site", "extension", "did", "status", "leave_date", "class_of_service"}
    known |= {"features", "grants", "devices"}
    rest = field_changes(
        {k: v for k, v in old.items() if k not in known}, {k: v for k, v in new.items() if k not in known}
    )
    if rest:
        yield Change("user_changed", uid, f"user {uid}: {_describe(rest)}", {"fields": rest})


def _changed_value(uid: str, key: str, old: dict, new: dict, kind: str, says: str) -> Iterator[Change]:
    """A ``kind`` change when the user's ``key`` differs: ``says`` filled with the values before and after."""
    before, after = old.get(key), new.get(key)
    if before != after:
        yield Change(kind, uid, f"user {uid} " + says.format(before, after), {key: [before, after]})


def _diff_features(uid: str, old: dict, new: dict) -> Iterator[Change]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        old, new = {"features": old}, {"features": new}
    for name in new:
        if name not in old:
            value = plain(masked(new[name], name))
            yield Change(
                "feature_added", uid, f"user {uid}: feature {name} added ({_fmt(value)})", {name: value}
            )
        elif old[name] != new[name]:
            fields = field_changes(old[name], new[name], name)
            yield Change(
                "feature_changed", uid, f"user {uid}: feature {_describe(fields)}", {"fields": fields}
            )
    for name in old:
        if name not in new:
            value = plain(masked(old[name], name))
            yield Change(
                "feature_removed",
                uid,
                f"user {uid}: feature {name} removed (was {_fmt(value)})",
                {name: value},
            )


def _grant_text(grant: dict) -> str:
    parts = []
    if grant.get("until") is not None:
        parts.append(f"until {grant['until']}")
    if grant.get("reason"):
        parts.append(f"reason {grant['reason']!r}")
    return ", ".join(parts)


def _diff_grants(uid: str, old: list, new: list) -> Iterator[Change]:
    before, after = _keyed(old, "feature"), _keyed(new, "feature")
    for feature, grant in after.items():
        details = {k: plain(grant.get(k)) for k in ("feature", "until", "reason")}
        if feature not in before:
            yield Change(
                "grant_added", uid, f"user {uid}: grant {feature} added ({_grant_text(grant)})", details
            )
        elif before[feature] != grant:
            yield Change(
                "grant_changed",
                uid,
                f"user {uid}: grant {feature} changed ({_grant_text(before[feature])} -> {_grant_text(grant)})",
                {**details, "before": {k: plain(v) for k, v in before[feature].items()}},
            )
    for feature, grant in before.items():
        if feature not in after:
            yield Change(
                "grant_revoked",
                uid,
                f"user {uid}: grant {feature} revoked (was {_grant_text(grant)})",
                {k: plain(grant.get(k)) for k in ("feature", "until", "reason")},
            )


def _device_text(devices: Iterable[dict]) -> str:
    return ", ".join(f"{d.get('mac')} ({d.get('model')})" for d in devices) or "none"


def _diff_devices(uid: str, old: list, new: list) -> Iterator[Change]:
    before, after = _keyed(old, "mac"), _keyed(new, "mac")
    norm = {m.lower(): d for m, d in before.items()}
    renorm = {m.lower(): d for m, d in after.items()}
    if set(norm) != set(renorm):
        gone = [d for m, d in norm.items() if m not in renorm]
        came = [d for m, d in renorm.items() if m not in norm]
        kind = "device_swapped" if gone and came else "device_added" if came else "device_removed"
        yield Change(
            kind,
            uid,
            f"user {uid}: devices {_device_text(gone)} -> {_device_text(came)}",
            {"removed": plain(gone), "added": plain(came)},
        )
    for mac in sorted(set(norm) & set(renorm)):
        if norm[mac] != renorm[mac]:
            fields = field_changes(norm[mac], renorm[mac], mac)
            yield Change("device_changed", uid, f"user {uid}: device {_describe(fields)}", {"fields": fields})


def diff_named(kind: str, key: str, before: Any, after: Any) -> Iterator[Change]:
    """Lists of named things (trunks, CTI accounts): added, removed, changed field by field."""
    old, new = _keyed(before, key), _keyed(after, key)
    for name in [n for n in new if n not in old]:
        yield Change(f"{kind}_added", name, f"{kind} {name} added", {"value": plain(masked(new[name]))})
    for name in [n for n in old if n not in new]:
        yield Change(f"{kind}_removed", name, f"{kind} {name} removed", {"value": plain(masked(old[name]))})
    for name in sorted(old.keys() & new.keys()):
        fields = field_changes(old[name], new[name])
        if fields:
            yield Change(f"{kind}_changed", name, f"{kind} {name}: {_describe(fields)}", {"fields": fields})


def diff_release(before: Any, after: Any) -> Iterator[Change]:
    fields = field_changes(before or {}, after or {})
    if not fields:
        return
    old_v = (before or {}).get("version") if isinstance(before, dict) else None
    new_v = (after or {}).get("version") if isinstance(after, dict) else None
    head = f"release {_fmt(old_v)} -> {_fmt(new_v)}" if old_v != new_v else f"release {new_v}"
    yield Change("release_changed", str(new_v), f"{head}: {_describe(fields)}", {"fields": fields})


# variable -> how it is compared
SPECIAL = {
    "voip_users": diff_users,
    "voip_release": diff_release,
    "voip_trunks": lambda a, b: diff_named("trunk", "name", a, b),
    "voip_cti_accounts": lambda a, b: diff_named("cti_account", "name", a, b),
}


def diff_snapshots(before: Snapshot, after: Snapshot, entities: set[str]) -> list[Change]:
    changes: list[Change] = []
    if "inventory" in entities:
        changes += diff_hosts(before.hosts, after.hosts)
    for entity in sorted(entities - {"inventory"}):
        old, new = before.vars.get(entity, {}), after.vars.get(entity, {})
        owner = entity.split(":", 1)[1]
        for var in [*new, *(v for v in old if v not in new)]:
            a, b = old.get(var), new.get(var)
            if a == b:
                continue
            if var in SPECIAL:
                changes += SPECIAL[var](a, b)
            elif var == "voip_gateway":
                fields = field_changes(a or {}, b or {})
                text = (
                    f"gateway {owner} defined ({len(fields)} value(s))"
                    if a is None
                    else f"gateway {owner}: {_describe(fields, SUMMARY_PATHS)}"
                )
                changes.append(Change("gateway_changed", owner, text, {"fields": fields}))
            else:
                fields = field_changes(a, b, var)
                where = entity.replace(":", " ")
                if var not in old:
                    text = f"{var} set in {where} ({len(fields)} value(s))"
                elif var not in new:
                    text = f"{var} removed from {where}"
                else:
                    text = f"{var} ({where}): {_describe(fields, SUMMARY_PATHS)}"
                changes.append(
                    Change(
                        "variable_changed",
                        f"{where}: {var}",
                        text,
                        {"entity": entity, "variable": var, "fields": fields[:MAX_PATHS]},
                    )
                )
    return changes


def diff_hosts(before: dict, after: dict) -> list[Change]:
    changes = []
    for host in after.keys() - before.keys():
        entry = after[host]
        changes.append(
            Change(
                "host_added",
                host,
                f"host {host} added (groups {', '.join(entry['groups'])})",
                {"groups": entry["groups"], "vars": plain(masked(entry["vars"]))},
            )
        )
    for host in before.keys() - after.keys():
        changes.append(
            Change("host_removed", host, f"host {host} removed", {"groups": before[host]["groups"]})
        )
    for host in sorted(before.keys() & after.keys()):
        fields = field_changes(before[host], after[host])
        if fields:
            changes.append(
                Change("host_changed", host, f"host {host}: {_describe(fields)}", {"fields": fields})
            )
    return sorted(changes, key=lambda c: (c.kind, c.subject))
