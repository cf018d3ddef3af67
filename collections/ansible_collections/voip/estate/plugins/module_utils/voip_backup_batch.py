"""A run's backup points as one batch: sealed together on the controller, stored and pruned together.

``seal_batch`` seals every point of a run (each with its own salt, keys and
manifest, as ``voip_backup.seal_point`` seals one), ``write_batch`` packs
them into one uncompressed tar of ``<host>/<stamp>/<stored name>`` members,
and on the backup server ``store_batch`` unpacks each point beside its
place, checks it against its manifest (names, sizes, sha256: the MAC needs
the key, which the server never holds) and renames it to
``<store>/<host>/<stamp>/``, then prunes every host of the batch by the
retention. The layout is the one a point stored alone has.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import (
    FORMAT,
    MANIFEST,
    PLAIN_NAME,
    BackupError,
    _check_binding,
    _check_entries,
    check_key,
    parse_stamp,
    points_of,
    prune_host,
    read_manifest,
    seal_point,
    serialize_manifest,
    sha256_file,
    verify_files,
)


def seal_batch(points, stage: str, passphrase: str, meta: dict, workers: int | None = None) -> list[dict]:
    """Seal every point of a run into ``stage/<host>/<stamp>/`` (``seal_point`` each); their manifests.

    ``points`` are dicts ``host``, ``stamp``, ``kind``, ``files`` (``(src, name)`` pairs) and
    ``packages``; ``meta`` the rest every manifest shares (commit, tools, ...). Each point gets its
    own salt and keys, as a point sealed alone. The key derivations run in ``workers`` threads
    (scrypt releases the GIL). A point that cannot be sealed raises BackupError naming its host.
    """
    check_key(passphrase)
    seen = set()
    for point in points:
        if not PLAIN_NAME.match(point["host"]) or ".." in point["host"] or point["host"] in seen:
            raise BackupError(f"host {point['host']!r:.80}: a plain host name, once per batch, is needed")
        try:
            parse_stamp(point["stamp"])
        except BackupError as exc:
            raise BackupError(f"{point['host']}: {exc}") from None
        seen.add(point["host"])

    def seal(point):
        dest = os.path.join(stage, point["host"], point["stamp"])
        body = {**meta, "kind": point["kind"], "packages": point.get("packages") or {}}
        try:
            return seal_point(point["files"], dest, passphrase, point["host"], point["stamp"], body)
        except (BackupError, OSError) as exc:
            raise BackupError(f"{point['host']}: {exc}") from None

    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(seal, points))


def write_batch(archive: str, stage: str, manifests) -> None:
    """One tar (``archive``, 0600) of the sealed points in ``stage``: each manifest's files, then it."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(archive) or ".", prefix=".batch-")
    try:
        with (
            os.fdopen(fd, "wb") as handle,
            tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for manifest in manifests:
                where = f"{manifest['host']}/{manifest['stamp']}"
                for name in [entry["stored"] for entry in manifest["files"]] + [MANIFEST]:
                    info = tar.gettarinfo(os.path.join(stage, where, name), arcname=f"{where}/{name}")
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    info.mode = 0o600
                    with open(os.path.join(stage, where, name), "rb") as member:
                        tar.addfile(info, member)
        os.chmod(tmp, 0o600)
        os.replace(tmp, archive)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _batch_members(tar, points: dict[str, str]) -> dict[tuple[str, str], dict]:
    """``(host, stamp)`` -> {stored name: member} of a batch archive; BackupError for anything else.

    Only regular files named ``<host>/<stamp>/<plain name>`` of the expected points are accepted:
    no directories, links, devices, absolute names, ``..`` or points not asked for."""
    found: dict[tuple[str, str], dict] = {(host, stamp): {} for host, stamp in points.items()}
    for member in tar.getmembers():
        parts = member.name.split("/")
        if (
            len(parts) != 3
            or not member.isreg()
            or points.get(parts[0]) != parts[1]
            or not PLAIN_NAME.match(parts[2])
            or ".." in parts[2]
            or parts[2] in found[(parts[0], parts[1])]
        ):
            raise BackupError(
                f"the batch archive holds {member.name!r:.120}: only the files of the points"
                " <host>/<stamp>/<name> it announces, once each, are accepted"
            )
        found[(parts[0], parts[1])][parts[2]] = member
    return found


def _check_stored_point(point_dir: str, host: str, stamp: str) -> bytes:
    """A point as unpacked on the backup server: its manifest names this host and point, and exactly
    the files beside it, with their sizes and sha256. The manifest's bytes. (The MAC needs the key,
    which the server never has: the controller checks it at every restore.)"""
    where = f"{host} point {stamp}"
    manifest, raw = read_manifest(os.path.join(point_dir, MANIFEST))
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("mac"), str):
        raise BackupError(f"{where}: not a format-{FORMAT} manifest")
    if raw != serialize_manifest(manifest):
        raise BackupError(f"{where}: the manifest is not in its canonical form")
    _check_binding(manifest, host, stamp, where)
    _check_entries(manifest, where)
    stored = sorted([entry["stored"] for entry in manifest["files"]] + [MANIFEST])
    present = sorted(os.listdir(point_dir))
    if present != stored:
        raise BackupError(f"{where}: the point holds {present}, its manifest {stored}")
    verify_files(point_dir, manifest, where)
    return raw


def _same_point(left: str, right: str) -> bool:
    if sorted(os.listdir(left)) != sorted(os.listdir(right)):
        return False
    return all(
        sha256_file(os.path.join(left, n)) == sha256_file(os.path.join(right, n)) for n in os.listdir(left)
    )


def _private_dir(path: str) -> None:
    """``path`` exists as a directory of mode 0700 (created or not)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def _store_point(tar, files: dict, store: str, host: str, stamp: str) -> bool:
    """Unpack one point beside its place, check it, rename it in: True, or False when it was stored so already."""
    if MANIFEST not in files:
        raise BackupError(f"{host} point {stamp}: not in the batch archive (no {MANIFEST})")
    base = os.path.join(store, host)
    _private_dir(base)
    partial = tempfile.mkdtemp(dir=base, prefix=f".{stamp}.partial-")
    try:
        for name, member in files.items():
            target = os.path.join(partial, name)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(tar.extractfile(member), handle)
            os.chmod(target, 0o600)
        _check_stored_point(partial, host, stamp)
        place = os.path.join(base, stamp)
        if os.path.isdir(place) and _same_point(place, partial):
            return False
        if os.path.lexists(place):
            old = tempfile.mkdtemp(dir=base, prefix=f".{stamp}.old-")
            os.replace(place, os.path.join(old, "point"))
            os.replace(partial, place)
            shutil.rmtree(old)
        else:
            os.replace(partial, place)
        return True
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def store_batch(archive, store: str, points, retention: dict | None, check: bool = False) -> dict:
    """Put a batch's points into ``store`` on the backup server, then prune each host of it.

    ``points``: ``{host, stamp}`` dicts, the points the archive must hold. Each is unpacked into a
    hidden directory beside its place, checked (``_check_stored_point``) and renamed to
    ``<store>/<host>/<stamp>/`` (directories 0700, files 0600); the same point already stored is
    left as it is (unchanged), a different one under that stamp is replaced. With ``retention``
    (daily, weekly, monthly) every host of the batch is pruned after. ``check``: nothing is read
    from ``archive`` or written; the result says what would be stored and pruned.

    Returns {"stored": [...], "unchanged": [...], "removed": {host: [stamps]}, "before": {host:
    [stamps]}, "after": {host: [stamps]}}. BackupError names the point that is refused; the points
    stored before it stay (each is whole), nothing of the refused one does.
    """
    wanted: dict[str, str] = {}
    for point in points:
        host, stamp = point["host"], point["stamp"]
        parse_stamp(stamp)
        if not PLAIN_NAME.match(host) or ".." in host or host in wanted:
            raise BackupError(f"host {host!r:.80}: a plain host name, once per batch, is needed")
        wanted[host] = stamp
    before = {host: points_of(store, host) for host in wanted}
    stored, unchanged = [], []
    if check:
        stored = [f"{h}/{s}" for h, s in wanted.items() if s not in before[h]]
        unchanged = [f"{h}/{s}" for h, s in wanted.items() if s in before[h]]
    else:
        _private_dir(store)
        with tarfile.open(archive, mode="r:") as tar:
            for (host, stamp), files in _batch_members(tar, wanted).items():
                placed = _store_point(tar, files, store, host, stamp)
                (stored if placed else unchanged).append(f"{host}/{stamp}")
    removed: dict[str, list[str]] = {}
    after = {}
    for host, stamp in wanted.items():
        if retention:
            kept, gone = prune_host(store, host, retention, check=check, adding=stamp if check else None)
            if gone:
                removed[host] = gone
            after[host] = sorted(kept)
        else:
            after[host] = sorted(set(before[host]) | {stamp}) if check else points_of(store, host)
    return {"stored": stored, "unchanged": unchanged, "removed": removed, "before": before, "after": after}
