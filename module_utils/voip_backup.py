"""Backups: archives, encryption at rest, manifests, retention. Shared by the backup_* modules.

A backup point is a directory ``<store>/<host>/<UTC stamp>/`` on the backup
server with the host's files, each encrypted (AES-256-GCM, key from the
vault), and ``MANIFEST.json``: per file its stored name, size and sha256
(of the stored, encrypted form) and the sha256 of its content; the estate's
git commit (and whether the tree was dirty), the tool versions, and for a
Linux host its manually installed packages with their versions. Checksums
are verified before anything is restored.

Pure functions here (unit-tested); the modules do the I/O.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import tempfile

STAMP = re.compile(r"^\d{8}T\d{6}Z$")
MAGIC = b"VOIPBK1\n"
MANIFEST = "MANIFEST.json"


class BackupError(Exception):
    """A backup cannot be taken, stored, verified or restored (names the file)."""


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _aesgcm(key_text: str):
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:  # pragma: no cover - depends on the controller's environment
        raise BackupError(f"the cryptography package is needed to encrypt backups: {exc}") from exc
    if len(key_text or "") < 16:
        raise BackupError("the backup key must have at least 16 characters (vault_backup_key)")
    # The vault holds a passphrase; the AES key is its SHA-256.
    return AESGCM(hashlib.sha256(key_text.encode()).digest())


def encrypt_file(src: str, dest: str, key_text: str, name: str) -> None:
    """``dest`` = MAGIC + nonce + AES-256-GCM(``src``), the file name bound as associated data."""
    with open(src, "rb") as handle:
        plain = handle.read()
    nonce = os.urandom(12)
    sealed = _aesgcm(key_text).encrypt(nonce, plain, name.encode())
    write_atomic(dest, MAGIC + nonce + sealed, 0o600)


def decrypt_file(src: str, dest: str, key_text: str, name: str) -> None:
    with open(src, "rb") as handle:
        data = handle.read()
    if not data.startswith(MAGIC):
        raise BackupError(f"{src}: not an encrypted backup file")
    nonce, sealed = data[len(MAGIC) : len(MAGIC) + 12], data[len(MAGIC) + 12 :]
    try:
        plain = _aesgcm(key_text).decrypt(nonce, sealed, name.encode())
    except Exception as exc:  # cryptography raises InvalidTag
        raise BackupError(
            f"{src}: cannot be decrypted with the backup key (wrong key or damaged file)"
        ) from exc
    write_atomic(dest, plain, 0o600)


def write_atomic(path: str, data: bytes, mode: int) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".backup-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def verify(point_dir: str) -> dict:
    """The manifest of ``point_dir`` after checking every file's size and sha256; BackupError otherwise."""
    path = os.path.join(point_dir, MANIFEST)
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: no readable manifest: {exc}") from exc
    bad = []
    for entry in manifest.get("files", []):
        stored = os.path.join(point_dir, entry["stored"])
        if not os.path.isfile(stored):
            bad.append(f"{entry['stored']}: missing")
        elif os.path.getsize(stored) != entry["size"]:
            bad.append(f"{entry['stored']}: size {os.path.getsize(stored)}, manifest {entry['size']}")
        elif sha256_file(stored) != entry["sha256"]:
            bad.append(f"{entry['stored']}: sha256 differs from the manifest")
    if not manifest.get("files"):
        bad.append("the manifest lists no file")
    if bad:
        raise BackupError(f"backup {point_dir} fails its checksums: " + "; ".join(bad))
    return manifest


def parse_stamp(stamp: str) -> datetime.datetime:
    if not STAMP.match(stamp):
        raise BackupError(f"{stamp!r} is not a backup point (YYYYMMDDTHHMMSSZ)")
    return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)


def to_keep(stamps: list[str], daily: int, weekly: int = 0, monthly: int = 0) -> set[str]:
    """The points a retention policy keeps: the newest of each of the last ``daily`` days with a
    point, of the last ``weekly`` ISO weeks and of the last ``monthly`` months; always the newest."""
    points = sorted(stamps, key=parse_stamp, reverse=True)
    keep = set(points[:1])
    for count, bucket in (
        (daily, lambda t: t.date()),
        (weekly, lambda t: tuple(t.isocalendar())[:2]),
        (monthly, lambda t: (t.year, t.month)),
    ):
        seen = []
        for stamp in points:
            key = bucket(parse_stamp(stamp))
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.append(key)
            keep.add(stamp)
    return keep
