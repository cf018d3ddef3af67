"""Derived values of users: the next free extension and DID of a site.

Pure functions over the model's plain data (a user is a ``voip_users`` item,
a site a ``voip_sites`` value). The rules of a user's activity on a date
(grants, class of service, features, leavers) are voipctl.core.activity's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.activity import UserDataError
from voipctl.core.ranges import parse_range


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
