"""A user's activity on a date: leaver or not, grants in force, class of service, features.

Pure rules over the model's plain data (a user is a ``voip_users`` item).
Dates may be ``datetime.date`` or ``"YYYY-MM-DD"`` (not timestamps, see
voipctl.core.dates); a grant is active up to and including its ``until`` day.
A leaver (``status: leaver``) keeps the directory entry, and with it the
numbers, until it is purged, but is active nowhere.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.dates import parse_date

COS_RANK = {"internal": 0, "national": 1, "international": 2}
# Grantable features that raise the class of service rather than switch a feature on.
COS_GRANTS = ("national", "international")


class UserDataError(ValueError):
    """Bad user or site data; the message names the element."""


def as_date(value: Any, what: str = "date") -> datetime.date:
    """A ``date`` from a date or an ISO ``YYYY-MM-DD`` string (voipctl.core.dates); a timestamp is refused.

    Raises UserDataError naming ``what``.
    """
    try:
        return parse_date(value)
    except ValueError as exc:
        raise UserDataError(f"{what}: {exc}") from None


def is_leaver(user: Mapping[str, Any]) -> bool:
    """True for a leaver (``status: leaver``); a user without a status is active."""
    return user.get("status") == "leaver"


def leave_day(user: Mapping[str, Any]) -> datetime.date | None:
    """The day ``user`` left (``leave_date`` as a date), None without one; a leaver or not."""
    value = user.get("leave_date")
    return as_date(value, f"user {user.get('id')} leave_date") if value else None


def left_before(user: Mapping[str, Any], on: Any, *, days: int = 0) -> bool:
    """True when ``user``'s leave date lies more than ``days`` days before ``on`` (by default: before ``on``).

    Whether the user is marked leaver is is_leaver's; ``voipctl user purge``
    removes the leavers who left more than the grace days back.
    """
    left = leave_day(user)
    return left is not None and (as_date(on, "on") - left).days > days


def active_users(users: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The users that are not leavers, in directory order."""
    return [u for u in users if not is_leaver(u)]


def users_of_site(
    users: Iterable[Mapping[str, Any]], site: str, *, leavers: bool = False
) -> list[Mapping[str, Any]]:
    """Users homed at ``site`` (active ones unless ``leavers``), in directory order."""
    return [u for u in users if u.get("site") == site and (leavers or not is_leaver(u))]


def _grants(user: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    grants = user.get("grants") or []
    if not isinstance(grants, list):
        raise UserDataError(f"user {user.get('id')!r}: grants must be a list")
    return grants


def active_grants(user: Mapping[str, Any], on: Any) -> list[Mapping[str, Any]]:
    """Grants of ``user`` still valid on ``on`` (``until`` inclusive), in file order."""
    day = as_date(on, "on")
    return [
        g for g in _grants(user) if as_date(g.get("until"), f"user {user.get('id')!r} grant until") >= day
    ]


def expired_grants(user: Mapping[str, Any], on: Any) -> list[Mapping[str, Any]]:
    """Grants of ``user`` whose ``until`` lies before ``on``."""
    day = as_date(on, "on")
    return [g for g in _grants(user) if as_date(g.get("until"), f"user {user.get('id')!r} grant until") < day]


def effective_class_of_service(user: Mapping[str, Any], on: Any) -> str:
    """The user's class of service on ``on``: the base one, raised by active class grants."""
    base = user.get("class_of_service")
    if base not in COS_RANK:
        raise UserDataError(
            f"user {user.get('id')!r}: class_of_service {base!r} is not one of {', '.join(COS_RANK)}"
        )
    best = base
    for grant in active_grants(user, on):
        feature = grant.get("feature")
        if feature in COS_GRANTS and COS_RANK[feature] > COS_RANK[best]:
            best = feature
    return best


def active_features(user: Mapping[str, Any], on: Any) -> dict[str, Any]:
    """Features in force on ``on``: the user's ``features`` plus feature grants.

    A leaver has no features (empty dict). Feature grants (``voicemail``,
    ``conference``, ...) appear as ``True`` unless the base already sets them;
    class-of-service grants are not features (see effective_class_of_service).
    """
    if is_leaver(user):
        return {}
    features = dict(user.get("features") or {})
    for grant in active_grants(user, on):
        feature = grant.get("feature")
        if feature not in COS_GRANTS and not features.get(feature):
            features[feature] = True
    return features
