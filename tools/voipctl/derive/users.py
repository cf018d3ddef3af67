"""Derived values of users: grants and features on a date, class of service, free numbers.

Pure functions over the model's plain data (a user is a ``voip_users`` item,
a site a ``voip_sites`` value). Dates may be ``datetime.date`` or
``"YYYY-MM-DD"`` (not timestamps, see voipctl.core.dates); a grant is active up
to and including its ``until`` day.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.dates import parse_date
from voipctl.core.ranges import parse_range

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
    if user.get("status") == "leaver":
        return {}
    features = dict(user.get("features") or {})
    for grant in active_grants(user, on):
        feature = grant.get("feature")
        if feature not in COS_GRANTS and not features.get(feature):
            features[feature] = True
    return features


def _range(text: Any, what: str, *, e164: bool) -> tuple[int, int]:
    """``parse_range``'s numbers of a site's range; UserDataError naming ``what`` otherwise."""
    try:
        return parse_range(text, e164=e164)
    except ValueError as exc:
        raise UserDataError(f"{what}: {exc}") from None


def _site(sites: Mapping[str, Any], site: str) -> Mapping[str, Any]:
    if site not in sites:
        raise UserDataError(f"unknown site {site!r} (sites: {', '.join(sorted(sites)) or 'none'})")
    return sites[site]


def next_free_extension(
    users: Iterable[Mapping[str, Any]], sites: Mapping[str, Any], site: str, taken: Iterable[int] = ()
) -> int | None:
    """Lowest extension of ``site``'s range that no user (leavers included) nor ``taken`` uses.

    Leavers keep their number until they are removed from the directory, so a
    number is never reissued while calls may still reach the old owner.
    Returns None when the range is full.
    """
    lo, hi = _range(_site(sites, site).get("extensions"), f"voip_sites.{site}.extensions", e164=False)
    used = {u.get("extension") for u in users}
    used.update(taken)
    for number in range(lo, hi + 1):
        if number not in used:
            return number
    return None


def next_free_did(
    users: Iterable[Mapping[str, Any]], sites: Mapping[str, Any], site: str, taken: Iterable[str] = ()
) -> str | None:
    """Lowest DID of ``site``'s DID range not used by a user (leavers included) nor ``taken``."""
    lo, hi = _range(_site(sites, site).get("dids"), f"voip_sites.{site}.dids", e164=True)
    used = {u.get("did") for u in users if u.get("did")}
    used.update(taken)
    for number in range(lo, hi + 1):
        candidate = f"+{number}"
        if candidate not in used:
            return candidate
    return None


def users_of_site(
    users: Iterable[Mapping[str, Any]], site: str, *, leavers: bool = False
) -> list[Mapping[str, Any]]:
    """Users homed at ``site`` (active ones unless ``leavers``), in directory order."""
    return [u for u in users if u.get("site") == site and (leavers or u.get("status", "active") != "leaver")]
