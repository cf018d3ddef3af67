"""The ``subscriber`` table: one SIP account per active local user, HA1 and HA1B only (never the password)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.passwords import user_sip_password
from voipctl.derive import secrets


def subscriber_rows(
    local_users: Iterable[Mapping[str, Any]], domain: str, master_secret: str
) -> list[dict[str, Any]]:
    """Subscriber rows of ``local_users`` (the site's active users, in directory order) in ``domain``."""
    rows = []
    for user in local_users:
        ext = str(user["extension"])
        password = user_sip_password(master_secret, user)
        rows.append(
            {
                "username": ext,
                "domain": domain,
                "ha1": secrets.ha1(ext, domain, password),
                "ha1b": secrets.ha1b(ext, domain, domain, password),
            }
        )
    return rows
