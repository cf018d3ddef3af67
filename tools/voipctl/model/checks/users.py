"""Users and hunt groups: numbers, leavers, devices, memberships and grants.

Hunt groups claim their numbers before the users (``check_hunt_group_numbers``),
the users fill the context's number, leaver and device lookups for the
checks after them, and ``check_hunt_group_members`` counts what the users
joined. ``check_users`` runs once per user of a 100,000-user estate: its
common case is written inline, and it falls back to the context's helpers
(same words) on a finding.
"""

from __future__ import annotations

from typing import Any

from voipctl.core.activity import is_leaver, left_before
from voipctl.model.checks.context import Context
from voipctl.model.loader import Origin
from voipctl.model.schema import GRANTABLE_FEATURES, UNAPPLIED_FEATURES
from voipctl.model.types import did_number, normalise_mac, shown

_GRANTABLE = frozenset(GRANTABLE_FEATURES)
# A ring_all group forks to every device of every member at once: a call
# server forks to 30 at most (Kamailio's max_branches). Sequential and round
# robin groups ring one member after the other within the call's ring time.
RING_ALL_DEVICES_AT_MOST = 30
HUNT_MEMBERS_AT_MOST = {"sequential": 50, "round_robin": 50}


def check_hunt_group_numbers(ctx: Context) -> None:
    """Each hunt group's id, site and numbers; known groups go to ``ctx.hunt_groups``."""
    if "voip_hunt_groups" not in ctx.origins:
        return
    origin = ctx.origins["voip_hunt_groups"]
    for i, group in enumerate(ctx.get("voip_hunt_groups", [])):
        if group is None:
            continue
        if group["id"] in ctx.hunt_groups:
            ctx.rep.error(origin, (i, "id"), f"duplicate hunt group id {shown(group['id'])}")
            continue
        ctx.hunt_groups[group["id"]] = group
        ctx.hunt_members[group["id"]] = 0
        ctx.hunt_devices[group["id"]] = 0
        if ctx.site_ref(origin, (i, "site"), group["site"]):
            ctx.in_site(origin, (i,), group["site"], group["extension"], group.get("did"))
        ctx.claim_extension(group["extension"], f"hunt group {group['id']}", origin, (i, "extension"))
        if "did" in group:
            ctx.claim_did(group["did"], f"hunt group {group['id']}", origin, (i, "did"))


def check_users(ctx: Context) -> None:
    """Each user's id, numbers, status, devices, hunt groups and grants."""
    if "voip_users" not in ctx.origins:
        return
    origin = ctx.origins["voip_users"]
    models = ctx.get("voip_phone_models", {})
    ids: dict[str, int] = {}
    macs: dict[str, tuple] = {}  # MAC -> (user id, index, device index) of its first device
    today = ctx.today
    raw_users = ctx.inv.all_vars()["voip_users"].value
    for i, user in enumerate(ctx.get("voip_users", [])):
        if user is None:
            _remember_uncertain(ctx, raw_users[i] if isinstance(raw_users, list) else None)
            continue
        uid = user["id"]
        if uid in ids:
            ctx.rep.error(
                origin, (i, "id"), f"duplicate user id {shown(uid)} (first at voip_users[{ids[uid]}])"
            )
        else:
            ids[uid] = i
        _claim_numbers(ctx, origin, i, user)
        leaver = is_leaver(user)
        if leaver:
            ctx.leaver_extensions[user["extension"]] = uid
            if "leave_date" not in user:
                ctx.rep.error(origin, (i, "status"), "a leaver needs a leave_date")
        elif "leave_date" in user and left_before(user, today):  # few users have one: no call for the others
            ctx.rep.warning(
                origin,
                (i, "leave_date"),
                f"left on {user['leave_date']} but is still active: set status: leaver",
            )
        devices = user.get("devices", ())
        if devices:
            _check_devices(ctx, origin, i, user, leaver, models, macs)
        features = user.get("features")
        if features and "hunt_groups" in features:  # most users join none: no call for them
            _join_hunt_groups(ctx, origin, i, user, leaver, features["hunt_groups"])
        if "grants" in user:
            _check_grants(ctx, origin, i, user["grants"])


def _claim_numbers(ctx: Context, origin: Origin, i: int, user: dict[str, Any]) -> None:
    """The user's site and numbers: the common case inline; ctx.site_ref, in_site, claim_* on a finding."""
    uid, site, extension, did = user["id"], user["site"], user["extension"], user.get("did")
    number = None if did is None else did_number(did)
    ext_range = ctx.ext_ranges.get(site)
    if ext_range is None:
        ctx.site_ref(origin, (i, "site"), site)
    elif not ext_range[0] <= extension <= ext_range[1] or (
        number is not None and not ctx.did_ranges[site][0] <= number <= ctx.did_ranges[site][1]
    ):
        ctx.in_site(origin, (i,), site, extension, did)
    what = f"user {uid} (voip_users[{i}])"
    extensions, dids = ctx.extensions, ctx.dids
    if extension in extensions:
        ctx.claim_extension(extension, what, origin, (i, "extension"))
    else:
        extensions[extension] = (what, origin, (i, "extension"))
    if number is not None:
        if number in dids:
            ctx.claim_did(did, what, origin, (i, "did"))
        else:
            dids[number] = (what, origin, (i, "did"))


def _check_devices(
    ctx: Context,
    origin: Origin,
    i: int,
    user: dict[str, Any],
    leaver: bool,
    models: dict[str, Any],
    macs: dict[str, tuple],
) -> None:
    """A leaver holds none; each MAC is on one device only; each model is known."""
    uid, devices = user["id"], user["devices"]
    if leaver:
        ctx.rep.error(
            origin, (i, "devices"), f"leaver {uid} still holds {len(devices)} device(s); remove them"
        )
    for j, device in enumerate(devices):
        mac = normalise_mac(device["mac"])
        if mac in macs:
            first_uid, first_i, first_j = macs[mac]
            ctx.rep.error(
                origin,
                (i, "devices", j, "mac"),
                f"MAC {device['mac']} is already used by user {first_uid} "
                f"(voip_users[{first_i}].devices[{first_j}])",
            )
        else:
            macs[mac] = (uid, i, j)
            ctx.device_macs[mac] = uid
        if device["model"] not in models:
            ctx.rep.error(origin, (i, "devices", j, "model"), f"unknown phone model {shown(device['model'])}")


def _join_hunt_groups(
    ctx: Context, origin: Origin, i: int, user: dict[str, Any], leaver: bool, groups: list[str]
) -> None:
    """Count the user (and the user's devices) in each hunt group joined; a leaver joins none."""
    for j, group in enumerate(groups):
        if group not in ctx.hunt_groups:
            ctx.rep.error(origin, (i, "features", "hunt_groups", j), f"unknown hunt group {shown(group)}")
        elif leaver:
            ctx.rep.error(
                origin,
                (i, "features", "hunt_groups", j),
                f"leaver {user['id']} is still a member of hunt group {shown(group)}",
            )
        else:
            ctx.hunt_members[group] += 1
            ctx.hunt_devices[group] = ctx.hunt_devices.get(group, 0) + max(1, len(user.get("devices") or ()))


def _check_grants(ctx: Context, origin: Origin, i: int, grants: list[dict[str, Any]]) -> None:
    first: dict[str, int] = {}  # feature -> index of its first grant
    for j, grant in enumerate(grants):
        feature = grant["feature"]
        if feature in first:
            ctx.rep.error(
                origin,
                (i, "grants", j, "feature"),
                f"{feature} is already granted by grants[{first[feature]}]: "
                "keep one grant per feature (the one with the right until and reason)",
            )
            continue
        first[feature] = j
        if feature in UNAPPLIED_FEATURES:
            ctx.rep.error(
                origin,
                (i, "grants", j, "feature"),
                f"{feature} cannot be granted: no host would apply it ({UNAPPLIED_FEATURES[feature]}); "
                f"grantable: {', '.join(GRANTABLE_FEATURES)}",
            )
        elif feature not in _GRANTABLE:
            ctx.rep.error(
                origin,
                (i, "grants", j, "feature"),
                f"grant for unknown feature {shown(feature)} (known: {', '.join(GRANTABLE_FEATURES)})",
            )
        elif grant["until"] < ctx.today:
            ctx.rep.warning(
                origin,
                (i, "grants", j, "until"),
                f"grant of {feature} expired on {grant['until']}; remove it",
            )


def _remember_uncertain(ctx: Context, raw: Any) -> None:
    """Note the numbers and MACs of a user that failed its schema; count its hunt groups."""
    if not isinstance(raw, dict):
        return
    # Only what could be a number, a MAC or a group name: the schema refuses the rest (a mapping
    # where a number belongs must give a finding, not an unhashable-type traceback).
    if isinstance(raw.get("extension"), int | str):
        ctx.uncertain.add(raw["extension"])
    devices = raw.get("devices")
    for device in devices if isinstance(devices, list) else ():
        if isinstance(device, dict) and isinstance(device.get("mac"), str):
            ctx.uncertain.add(normalise_mac(device["mac"]))
    features = raw.get("features")
    if isinstance(features, dict) and isinstance(features.get("hunt_groups"), list):
        for group in features["hunt_groups"]:
            if isinstance(group, str) and group in ctx.hunt_members:
                ctx.hunt_members[group] += 1


def check_hunt_group_members(ctx: Context) -> None:
    """Each hunt group has active members, and no more than its strategy can ring."""
    for i, group in enumerate(ctx.get("voip_hunt_groups", [])):
        if group and ctx.hunt_members.get(group["id"]) == 0:
            ctx.warn("voip_hunt_groups", (i,), f"hunt group {shown(group['id'])} has no active members")
        if not group:
            continue
        most = HUNT_MEMBERS_AT_MOST.get(group["strategy"])
        if most and ctx.hunt_members.get(group["id"], 0) > most:
            ctx.err(
                "voip_hunt_groups",
                (i,),
                f"hunt group {shown(group['id'])} has {ctx.hunt_members[group['id']]} active members; "
                f"{group['strategy']} rings at most {most}, one after the other within the call's ring time",
            )
        devices = ctx.hunt_devices.get(group["id"], 0)
        if group["strategy"] == "ring_all" and devices > RING_ALL_DEVICES_AT_MOST:
            ctx.err(
                "voip_hunt_groups",
                (i,),
                f"hunt group {shown(group['id'])} rings {devices} devices at once; a call server forks to "
                f"{RING_ALL_DEVICES_AT_MOST} at most (the others would never ring): split the group",
            )
