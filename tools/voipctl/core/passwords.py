"""The password recipe: per-user SIP passwords and per-purpose keys, derived from one vaulted master secret.

A user's SIP password is an HMAC of the user id and a rotation counter
under the master secret: nothing per user is stored, a password changes by
raising the counter, and call servers only ever receive HA1 hashes
(voipctl.derive.secrets). tests/unit/test_secret_vectors.py pins every
recipe: a change here re-keys every phone and account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any


class SecretError(ValueError):
    """A secret is missing or unusable; the message never contains it."""


def _check_master(master_secret: str) -> None:
    if not master_secret or len(master_secret) < 16:
        raise SecretError("the SIP master secret is missing or shorter than 16 characters")


def sip_password(master_secret: str, user_id: str, rotation: int = 0) -> str:
    """The SIP password of ``user_id`` (20 characters, lower-case letters and digits 2-7)."""
    _check_master(master_secret)
    digest = hmac.new(master_secret.encode(), f"sip:{user_id}:{rotation}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:20]


def user_sip_password(master_secret: str, user: Mapping[str, Any]) -> str:
    """The SIP password of a ``voip_users`` item: its id and its ``password_rotation`` (absent: 0).

    The model's schema has no user ``password_rotation`` (a valid model
    always gives generation 0); a value present must be a whole number,
    0 or more (None, a bool, a float or a string is refused: SecretError).
    """
    rotation = user.get("password_rotation", 0)
    if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation < 0:
        raise SecretError(
            f"user {user.get('id')!r}: password_rotation {rotation!r} is not a whole number, 0 or more"
        )
    return sip_password(master_secret, user["id"], rotation)


def purpose_key(master_secret: str, purpose: str) -> str:
    """A key for one purpose (``phone-http``), derived from the master secret.

    What a host gets when it must derive per-device secrets itself: the
    provisioning server derives phone logins from it, and never holds the
    master secret the SIP passwords come from.
    """
    _check_master(master_secret)
    digest = hmac.new(master_secret.encode(), f"purpose:{purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
