"""The ``usr_preferences`` table: how a user's calls are handled on the day, and how a hunt group hunts."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.activity import active_features, effective_class_of_service
from voipctl.derive.kamailio.common import VoicemailBox


def user_preferences(
    user: Mapping[str, Any], day: datetime.date, site: Mapping[str, Any], vm: VoicemailBox
) -> dict[str, str]:
    """A user's call handling on ``day``: id, class of service, caller id, forwards, no-answer timeout, voicemail.

    Features come from ``active_features``: a grant (voicemail) changes what
    the permanent feature changes, up to and including its ``until`` day.
    """
    ext = str(user["extension"])
    # The user's model id: their call records name them by it.
    prefs = {"uid": str(user["id"]), "cos": effective_class_of_service(user, day)}
    if user.get("did"):
        prefs["did"] = user["did"]
    # The caller id towards the PSTN and the emergency callback number.
    cli = user.get("did") or site.get("main_number")
    if cli:
        prefs["cli"] = cli
    features = active_features(user, day)
    if features.get("dnd"):
        prefs["dnd"] = "1"
    forwards = features.get("call_forward") or {}
    for key, attribute in (("unconditional", "cfu"), ("busy", "cfb"), ("no_answer", "cfna")):
        target = forwards.get(key)
        if target is None or target is False:
            continue
        if target == "voicemail":
            if vm(ext):
                prefs["vm"] = vm(ext)
        else:
            prefs[attribute] = str(target)
    if forwards.get("no_answer_timeout"):
        prefs["nat"] = str(int(forwards["no_answer_timeout"]) * 1000)
    if features.get("voicemail") and vm(ext):
        prefs["vm"] = vm(ext)
    return prefs


def hunt_group_preferences(
    group: Mapping[str, Any], local_users: Iterable[Mapping[str, Any]], vm: VoicemailBox
) -> dict[str, str]:
    """The preferences kamailio.cfg hunts a group by.

    ``hg`` the strategy, ``hgm`` the members' extensions in directory order
    (comma-separated) and ``hgn`` their number, ``hgt`` the ring timeout
    per member (ms), and the overflow when nobody answers: ``hgvm`` (the
    group's mailbox) or ``hgo`` (a number dialled again).
    """
    ext = str(group["extension"])
    members = [
        str(u["extension"])
        for u in local_users
        if group["id"] in ((u.get("features") or {}).get("hunt_groups") or [])
    ]
    prefs = {"hg": str(group.get("strategy", "ring_all")), "hgn": str(len(members))}
    if members:
        prefs["hgm"] = ",".join(members)
    if group.get("ring_timeout"):
        prefs["hgt"] = str(int(group["ring_timeout"]) * 1000)
    overflow = group.get("overflow")
    if overflow == "voicemail":
        if vm(ext):
            prefs["hgvm"] = vm(ext)
    elif overflow is not None and overflow is not False:
        prefs["hgo"] = str(overflow)
    return prefs


def _rows(username: str, domain: str, prefs: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"username": username, "domain": domain, "attribute": attribute, "type": 0, "value": value}
        for attribute, value in sorted(prefs.items())
    ]


def preference_rows(
    local_users: list[Mapping[str, Any]],
    hunt_groups: Iterable[Mapping[str, Any]],
    *,
    day: datetime.date,
    site: str,
    site_data: Mapping[str, Any],
    domain: str,
    vm: VoicemailBox,
) -> list[dict[str, Any]]:
    """Preference rows: each local user's (directory order), then each hunt group's of ``site``."""
    rows = []
    for user in local_users:
        rows += _rows(str(user["extension"]), domain, user_preferences(user, day, site_data, vm))
    for group in hunt_groups:
        if group.get("site") == site:
            rows += _rows(str(group["extension"]), domain, hunt_group_preferences(group, local_users, vm))
    return rows
