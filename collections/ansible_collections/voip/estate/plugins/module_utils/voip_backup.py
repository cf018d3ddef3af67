"""Backups: archives, encryption at rest, manifests, retention. Shared by the backup_* modules.

A backup point is a directory ``<store>/<host>/<UTC stamp>/`` on the backup
server with the host's files, each encrypted, and ``MANIFEST.json``: per file
its stored name, size and sha256 (of the stored, encrypted form) and the
sha256 of its content; the estate's git commit (and whether the tree was
dirty), the tool versions, and for a Linux host its manually installed
packages with their versions.

Format 2 (this one writes only format 2):

- keys: the vault's passphrase goes through scrypt with a random per-point
  salt (salt and parameters in the manifest, bounded on read: see
  ``KDF_LIMITS``), then HKDF-SHA256 to two keys: one for the files, one for the
  manifest's MAC;
- a file is ``MAGIC`` + 12-byte nonce + AES-256-GCM(content) with the
  associated data ``aad(host, stamp, name)``: a JSON array (format version,
  host, point stamp, file name; canonical, so unambiguous). A file moved to
  another host's or point's directory, or renamed, does not open;
- the manifest is written in one canonical form (sorted keys, indent 2,
  ASCII) with ``mac``: HMAC-SHA256 over the canonical compact form of
  everything else. ``check_manifest`` refuses a manifest that is not in that
  form, whose MAC differs, or that names another host or point, or a stored
  name that is not a plain file name, before anything it names is fetched or
  opened.

Format 1 (``VOIPBK1``: key = SHA-256 of the passphrase, associated data = the
bare file name, manifest not authenticated) is refused unless the caller
allows it explicitly (``allow_v1``, for a one-off restore of an old point).

A run's points travel to the backup server as one batch: ``voip_backup_batch``.

Pure functions here (unit-tested); the modules do the I/O.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile

STAMP = re.compile(r"^[0-9]{8}T[0-9]{6}Z\Z")  # \Z: "$" matches before a final newline
MAGIC = b"VOIPBK2\n"
MAGIC_V1 = b"VOIPBK1\n"
FORMAT = 2
MANIFEST = "MANIFEST.json"
# A plain file name: no directory, no leading dot, no "..".
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
# scrypt: what a new point uses, and what a manifest may ask for (a hostile
# manifest must not make the controller spend minutes or gigabytes before its
# MAC can be checked). Memory is 128 * n * r bytes (32 MiB by default).
KDF_DEFAULT = {"name": "scrypt", "n": 2**15, "r": 8, "p": 1}
KDF_LIMITS = {"n": (2**14, 2**17), "r": (8, 8), "p": (1, 4), "salt_bytes": (16, 64)}
MANIFEST_MAX_BYTES = 4 << 20
KEY_MIN_CHARS = 16


class BackupError(Exception):
    """A backup cannot be taken, stored, verified or restored (names the file)."""


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _crypto():
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    except ImportError as exc:  # pragma: no cover - depends on the controller's environment
        raise BackupError(f"the cryptography package is needed to encrypt backups: {exc}") from exc
    return hashes, AESGCM, HKDF, Scrypt


def _aesgcm():
    """The AES-256-GCM cipher class of ``_crypto``."""
    return _crypto()[1]


def _check_passphrase(passphrase: str) -> bytes:
    if len(passphrase or "") < KEY_MIN_CHARS:
        raise BackupError(f"the backup key must have at least {KEY_MIN_CHARS} characters (vault_backup_key)")
    return passphrase.encode()


def check_key(passphrase: str) -> None:
    """BackupError unless ``passphrase`` is long enough to be a backup key."""
    _check_passphrase(passphrase)


def new_kdf(**overrides) -> dict:
    """The KDF record of a new point: scrypt's parameters and a fresh random salt."""
    kdf = {**KDF_DEFAULT, **overrides, "salt": os.urandom(16).hex()}
    check_kdf(kdf)
    return kdf


def check_kdf(kdf) -> bytes:
    """The salt of a KDF record whose parameters are within ``KDF_LIMITS``; BackupError otherwise."""
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise BackupError("key derivation: only scrypt (a record with name scrypt) is read")
    for field in ("n", "r", "p"):
        low, high = KDF_LIMITS[field]
        value = kdf.get(field)
        # An int and not a bool (True is an int to isinstance).
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise BackupError(f"key derivation: scrypt {field}={value!r:.40} is outside {low}..{high}")
    if kdf["n"] & (kdf["n"] - 1):
        raise BackupError(f"key derivation: scrypt n={kdf['n']} is not a power of two")
    try:
        salt = bytes.fromhex(kdf.get("salt") or "")
    except (TypeError, ValueError):
        raise BackupError("key derivation: the salt is not hexadecimal") from None
    low, high = KDF_LIMITS["salt_bytes"]
    if not low <= len(salt) <= high:
        raise BackupError(f"key derivation: a salt of {len(salt)} bytes (expected {low}..{high})")
    return salt


def derive_keys(passphrase: str, kdf: dict) -> tuple[bytes, bytes]:
    """(file key, manifest MAC key): scrypt(passphrase, salt) then HKDF-SHA256 with distinct infos."""
    secret = _check_passphrase(passphrase)
    salt = check_kdf(kdf)
    hashes, _cipher, HKDF, Scrypt = _crypto()
    master = Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(secret)

    def expand(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(master)

    return expand(b"voip-estate backup v2: file encryption"), expand(b"voip-estate backup v2: manifest mac")


def aad(host: str, stamp: str, name: str) -> bytes:
    """The associated data of a file: format, host, point and name, as a canonical JSON array."""
    return json.dumps(["voip-estate backup", FORMAT, host, stamp, name], ensure_ascii=True,
                      separators=(",", ":")).encode()  # fmt: skip


def seal_file(src: str, dest: str, file_key: bytes, host: str, stamp: str, name: str) -> None:
    """``dest`` = MAGIC + nonce + AES-256-GCM(``src``) bound to host, point and name."""
    AESGCM = _aesgcm()
    with open(src, "rb") as handle:
        plain = handle.read()
    nonce = os.urandom(12)
    write_atomic(dest, MAGIC + nonce + AESGCM(file_key).encrypt(nonce, plain, aad(host, stamp, name)), 0o600)


def _read_sealed(src: str, magic: bytes, not_ours: str) -> tuple[bytes, bytes]:
    """The nonce and the sealed bytes of a backup file that starts with ``magic``; BackupError(``not_ours``) else."""
    with open(src, "rb") as handle:
        data = handle.read()
    if not data.startswith(magic):
        raise BackupError(not_ours)
    return data[len(magic) : len(magic) + 12], data[len(magic) + 12 :]


def open_file(src: str, dest: str, file_key: bytes, host: str, stamp: str, name: str) -> None:
    """Decrypt a format-2 file into ``dest``; BackupError naming host, point and file if it does not open."""
    AESGCM = _aesgcm()
    nonce, sealed = _read_sealed(
        src, MAGIC, f"{host} point {stamp}: {os.path.basename(src)} is not a format-2 backup file"
    )
    try:
        plain = AESGCM(file_key).decrypt(nonce, sealed, aad(host, stamp, name))
    except Exception:  # cryptography raises InvalidTag
        raise BackupError(
            f"{host} point {stamp}: {os.path.basename(src)} does not open as {host}'s {name} of point {stamp}"
            " (another host's or point's file, renamed, damaged, or another key)"
        ) from None
    write_atomic(dest, plain, 0o600)


def open_file_v1(src: str, dest: str, passphrase: str, name: str) -> None:
    """Decrypt a format-1 file (key SHA-256 of the passphrase, the bare name as associated data)."""
    AESGCM = _aesgcm()
    key = hashlib.sha256(_check_passphrase(passphrase)).digest()
    nonce, sealed = _read_sealed(src, MAGIC_V1, f"{src}: not a format-1 backup file")
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, name.encode())
    except Exception:  # cryptography raises InvalidTag
        raise BackupError(
            f"{src}: cannot be decrypted with the backup key (wrong key or damaged file)"
        ) from None
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


def _mac(mac_key: bytes, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()
    return hmac.new(mac_key, b"voip-estate backup manifest v2\n" + canonical, hashlib.sha256).hexdigest()


def serialize_manifest(manifest: dict) -> bytes:
    """The one accepted byte form of a manifest (what is written, and what a read must find)."""
    return (json.dumps(manifest, sort_keys=True, ensure_ascii=True, indent=2) + "\n").encode()


def sign_manifest(body: dict, mac_key: bytes) -> dict:
    """``body`` with its ``format`` and ``mac``."""
    body = {**body, "format": FORMAT}
    body.pop("mac", None)
    return {**body, "mac": _mac(mac_key, body)}


def seal_point(
    files, dest: str, passphrase: str, host: str, stamp: str, meta: dict, kdf: dict | None = None
) -> dict:
    """Encrypt ``files`` (``(src, name)`` pairs) into ``dest`` and write the signed manifest; the manifest.

    ``meta`` is the rest of the manifest (kind, commit, tools, packages, ...). The plain files are
    left in place (the caller removes them)."""
    parse_stamp(stamp)
    kdf = kdf or new_kdf()
    file_key, mac_key = derive_keys(passphrase, kdf)
    entries = []
    for src, name in files:
        if not PLAIN_NAME.match(name) or ".." in name:
            raise BackupError(f"file name {name!r}: a plain name is needed")
        stored = f"{name}.enc"
        path = os.path.join(dest, stored)
        content = sha256_file(src)
        seal_file(src, path, file_key, host, stamp, name)
        entries.append({"name": name, "stored": stored, "size": os.path.getsize(path), "sha256": sha256_file(path),
                        "content_sha256": content, "encrypted": "aes-256-gcm"})  # fmt: skip
    manifest = sign_manifest({**meta, "host": host, "stamp": stamp, "kdf": kdf, "files": entries}, mac_key)
    write_atomic(os.path.join(dest, MANIFEST), serialize_manifest(manifest), 0o600)
    return manifest


def read_manifest(path: str) -> tuple[dict, bytes]:
    """The parsed manifest and its bytes (at most ``MANIFEST_MAX_BYTES``); BackupError otherwise."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MANIFEST_MAX_BYTES + 1)
        if len(raw) > MANIFEST_MAX_BYTES:
            raise ValueError(f"larger than {MANIFEST_MAX_BYTES} bytes")
        manifest = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: no readable manifest: {exc}") from None
    except RecursionError:  # a small file of deeply nested brackets
        raise BackupError(f"{path}: no readable manifest: nested too deeply") from None
    if not isinstance(manifest, dict):
        raise BackupError(f"{path}: no readable manifest: not a JSON object")
    return manifest, raw


def _check_entries(manifest: dict, where: str) -> None:
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise BackupError(f"{where}: the manifest lists no file")
    seen = set()
    for entry in files:
        name = entry.get("name") if isinstance(entry, dict) else None
        stored = entry.get("stored") if isinstance(entry, dict) else None
        for value in (name, stored):
            if not isinstance(value, str) or not PLAIN_NAME.match(value) or ".." in value:
                raise BackupError(
                    f"{where}: the manifest names {value!r:.80} as a file: a plain name is needed"
                )
        if stored != f"{name}.enc" or name in seen:
            raise BackupError(f"{where}: the manifest's entry {name!r} is stored as {stored!r} (or twice)")
        size = entry.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not isinstance(entry.get("sha256"), str):
            raise BackupError(f"{where}: the manifest's entry {name!r} has no size or sha256")
        seen.add(name)


def _check_binding(manifest: dict, host: str, stamp: str, where: str) -> None:
    if manifest.get("host") != host or manifest.get("stamp") != stamp:
        raise BackupError(
            f"{where}: the manifest names host {manifest.get('host')!r:.40} and point {manifest.get('stamp')!r:.40},"
            f" not {host}'s point {stamp} (a point moved from another host's or point's directory)"
        )


def check_manifest(path: str, passphrase: str, host: str, stamp: str, allow_v1: bool = False) -> dict:
    """The manifest at ``path``, trusted: format 2 with a valid MAC, ``host``'s point ``stamp``, plain names.

    Returns ``{"format": 2, "manifest": ..., "file_key": ...}`` (or format 1 when ``allow_v1`` lets an
    unauthenticated format-1 manifest through its shape checks); BackupError naming host and point
    otherwise. Nothing the manifest names is touched."""
    where = f"{host} point {stamp}"
    manifest, raw = read_manifest(path)
    version = manifest.get("format", 1)
    if version == 1 and "mac" not in manifest:
        if not allow_v1:
            raise BackupError(
                f"{where}: a format-1 point (its manifest is not authenticated): take a new point"
                f" (ansible-playbook playbooks/backup.yml --limit {host}), or to restore this old point once,"
                f" give -e host_backup_allow_v1={stamp} (that point's stamp: no other point is let through)"
            )
        _check_binding(manifest, host, stamp, where)
        _check_entries(manifest, where)
        return {"format": 1, "manifest": manifest, "file_key": None}
    if version != FORMAT:
        raise BackupError(f"{where}: backup format {version!r:.20} is not read by this version")
    if raw != serialize_manifest(manifest):
        raise BackupError(f"{where}: the manifest is not in its canonical form (edited after sealing)")
    try:
        file_key, mac_key = derive_keys(passphrase, manifest.get("kdf"))
    except BackupError as exc:
        raise BackupError(f"{where}: {exc}") from None
    body = {k: v for k, v in manifest.items() if k != "mac"}
    if not isinstance(manifest.get("mac"), str) or not hmac.compare_digest(
        _mac(mac_key, body), manifest["mac"]
    ):
        raise BackupError(f"{where}: the manifest's MAC does not match (tampered with, or another key)")
    _check_binding(manifest, host, stamp, where)
    _check_entries(manifest, where)
    return {"format": FORMAT, "manifest": manifest, "file_key": file_key}


def verify_files(point_dir: str, manifest: dict, where: str) -> None:
    """Every file of a checked manifest is in ``point_dir`` with its size and sha256; BackupError otherwise."""
    bad = []
    for entry in manifest["files"]:
        stored = os.path.join(point_dir, entry["stored"])
        if not os.path.isfile(stored) or os.path.islink(stored):
            bad.append(f"{entry['stored']}: missing")
        elif os.path.getsize(stored) != entry["size"]:
            bad.append(f"{entry['stored']}: size {os.path.getsize(stored)}, manifest {entry['size']}")
        elif sha256_file(stored) != entry["sha256"]:
            bad.append(f"{entry['stored']}: sha256 differs from the manifest")
    if bad:
        raise BackupError(f"{where}: backup {point_dir} fails its checksums: " + "; ".join(bad))


def open_point(point_dir: str, passphrase: str, host: str, stamp: str, dest: str, allow_v1: bool = False):
    """Check the manifest, then the files' checksums, then decrypt each into ``dest``: (manifest, files)."""
    where = f"{host} point {stamp}"
    checked = check_manifest(os.path.join(point_dir, MANIFEST), passphrase, host, stamp, allow_v1)
    manifest = checked["manifest"]
    verify_files(point_dir, manifest, where)
    files = {}
    for entry in manifest["files"]:
        src, out = os.path.join(point_dir, entry["stored"]), os.path.join(dest, entry["name"])
        if checked["format"] == 1:
            open_file_v1(src, out, passphrase, entry["name"])
        else:
            open_file(src, out, checked["file_key"], host, stamp, entry["name"])
        if entry.get("content_sha256") and sha256_file(out) != entry["content_sha256"]:
            os.unlink(out)
            raise BackupError(f"{where}: {entry['name']}: decrypted content differs from the manifest")
        files[entry["name"]] = out
    return manifest, files


def parse_stamp(stamp: str) -> datetime.datetime:
    if not STAMP.match(stamp):
        raise BackupError(f"{stamp!r} is not a backup point (YYYYMMDDTHHMMSSZ)")
    return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)


# The retention options of backup_prune and backup_store (doc fragment voip_backup_retention).
RETENTION_SPEC = {
    "daily": {"type": "int", "required": True},
    "weekly": {"type": "int", "default": 0},
    "monthly": {"type": "int", "default": 0},
}


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


def points_of(store: str, host: str) -> list[str]:
    """The host's points in ``store``, oldest first (directories named by a stamp only)."""
    base = os.path.join(store, host)
    return sorted(d for d in os.listdir(base) if STAMP.match(d)) if os.path.isdir(base) else []


def prune_host(store: str, host: str, retention: dict, check: bool = False, adding: str | None = None):
    """Remove the host's points ``retention`` (daily, weekly, monthly) does not keep: (kept, removed),
    newest first. ``check``: nothing is removed; ``adding``: a point counted as stored (check mode)."""
    stamps = sorted(set(points_of(store, host)) | ({adding} if adding else set()), reverse=True)
    keep = (
        to_keep(stamps, retention["daily"], retention.get("weekly") or 0, retention.get("monthly") or 0)
        if stamps
        else set()
    )
    removed = [s for s in stamps if s not in keep]
    if not check:
        for stamp in removed:
            shutil.rmtree(os.path.join(store, host, stamp))
    return [s for s in stamps if s in keep], removed
