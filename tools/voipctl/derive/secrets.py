"""What a call server keeps of a credential: digest HA1 hashes and HTTP Basic digests.

The passwords themselves come from voipctl.core.passwords (the recipe);
call servers only ever receive these hashes.
"""

from __future__ import annotations

import hashlib


def ha1(username: str, realm: str, password: str) -> str:
    """Digest HA1: MD5 of ``username:realm:password`` (RFC 2617)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def ha1b(username: str, domain: str, realm: str, password: str) -> str:
    """HA1 for clients that send ``user@domain`` as user name."""
    return hashlib.md5(f"{username}@{domain}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def basic_digest(account: str, password: str) -> str:
    """SHA-256 of ``account:password``: what a call server keeps of an HTTP Basic credential."""
    return hashlib.sha256(f"{account}:{password}".encode()).hexdigest()
