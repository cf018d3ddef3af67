"""Per-user secrets derived from one vaulted master secret.

A user's SIP password is an HMAC of the user id and a rotation counter
under the master secret: nothing per user is stored, a password changes by
raising the counter, and call servers only ever receive HA1 hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


class SecretError(ValueError):
    """A secret is missing or unusable; the message never contains it."""


def sip_password(master_secret: str, user_id: str, rotation: int = 0) -> str:
    """The SIP password of ``user_id`` (20 characters, lower-case letters and digits 2-7)."""
    if not master_secret or len(master_secret) < 16:
        raise SecretError("the SIP master secret is missing or shorter than 16 characters")
    digest = hmac.new(master_secret.encode(), f"sip:{user_id}:{rotation}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:20]


def ha1(username: str, realm: str, password: str) -> str:
    """Digest HA1: MD5 of ``username:realm:password`` (RFC 2617)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def ha1b(username: str, domain: str, realm: str, password: str) -> str:
    """HA1 for clients that send ``user@domain`` as user name."""
    return hashlib.md5(f"{username}@{domain}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def basic_digest(account: str, password: str) -> str:
    """SHA-256 of ``account:password``: what a call server keeps of an HTTP Basic credential."""
    return hashlib.sha256(f"{account}:{password}".encode()).hexdigest()


def purpose_key(master_secret: str, purpose: str) -> str:
    """A key for one purpose (``phone-http``), derived from the master secret.

    What a host gets when it must derive per-device secrets itself: the
    provisioning server derives phone logins from it, and never holds the
    master secret the SIP passwords come from.
    """
    if not master_secret or len(master_secret) < 16:
        raise SecretError("the SIP master secret is missing or shorter than 16 characters")
    digest = hmac.new(master_secret.encode(), f"purpose:{purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
