"""module_utils/voip_backup (encryption, manifests, retention) and the backup filter."""

from __future__ import annotations

import json

import pytest

from filter_plugins.voip_backup import voip_backup_items
from module_utils.voip_backup import (
    MANIFEST,
    BackupError,
    decrypt_file,
    encrypt_file,
    sha256_file,
    to_keep,
    verify,
)

KEY = "a-lab-backup-key-of-some-length"


def point(tmp_path, text=b"subscriber data and secrets"):
    plain = tmp_path / "plain"
    plain.write_bytes(text)
    out = tmp_path / "point"
    encrypt_file(str(plain), str(out / "host.tar.gz.enc"), KEY, "host.tar.gz")
    stored = out / "host.tar.gz.enc"
    (out / MANIFEST).write_text(json.dumps({"files": [
        {"name": "host.tar.gz", "stored": "host.tar.gz.enc", "size": stored.stat().st_size,
         "sha256": sha256_file(str(stored))}]}))  # fmt: skip
    return out


def test_encrypted_at_rest_and_back(tmp_path):
    out = point(tmp_path)
    stored = (out / "host.tar.gz.enc").read_bytes()
    assert (
        b"subscriber data" not in stored and oct((out / "host.tar.gz.enc").stat().st_mode & 0o777) == "0o600"
    )
    decrypt_file(str(out / "host.tar.gz.enc"), str(tmp_path / "back"), KEY, "host.tar.gz")
    assert (tmp_path / "back").read_bytes() == b"subscriber data and secrets"
    with pytest.raises(BackupError, match="cannot be decrypted"):
        decrypt_file(str(out / "host.tar.gz.enc"), str(tmp_path / "x"), KEY + "x", "host.tar.gz")
    with pytest.raises(BackupError, match="cannot be decrypted"):
        # The name is bound to the content: a file swapped for another's does not open.
        decrypt_file(str(out / "host.tar.gz.enc"), str(tmp_path / "x"), KEY, "running-config")
    with pytest.raises(BackupError, match="at least 16"):
        encrypt_file(str(tmp_path / "plain"), str(tmp_path / "y"), "short", "n")


def test_verify_refuses_a_damaged_or_incomplete_point(tmp_path):
    out = point(tmp_path)
    assert verify(str(out))["files"][0]["name"] == "host.tar.gz"
    stored = out / "host.tar.gz.enc"
    data = bytearray(stored.read_bytes())
    data[-1] ^= 1
    stored.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="sha256 differs from the manifest"):
        verify(str(out))
    stored.unlink()
    with pytest.raises(BackupError, match=r"host\.tar\.gz\.enc: missing"):
        verify(str(out))
    (out / MANIFEST).unlink()
    with pytest.raises(BackupError, match="no readable manifest"):
        verify(str(out))


def test_retention_keeps_the_newest_per_day_week_and_month():
    # Two points a day for 40 days (Oct 14 .. Nov 22).
    import datetime

    points = []
    day = datetime.date(2026, 10, 14)
    while day <= datetime.date(2026, 11, 22):
        points += [f"{day:%Y%m%d}T023000Z", f"{day:%Y%m%d}T120000Z"]
        day += datetime.timedelta(days=1)
    keep = to_keep(points, daily=7, weekly=4, monthly=2)
    daily = {f"202611{d:02d}T120000Z" for d in range(16, 23)}
    assert daily <= keep
    # Weeks: the newest point of the last 4 ISO weeks (Sundays 22, 15, 8, 1 Nov).
    assert {"20261115T120000Z", "20261108T120000Z", "20261101T120000Z"} <= keep
    # Months: November's newest (already kept) and October's newest.
    assert "20261031T120000Z" in keep
    assert len(keep) == 7 + 3 + 1
    assert to_keep(["20261122T023000Z"], daily=1) == {"20261122T023000Z"}
    # A second run on the same day keeps the newer point and lets the older go.
    assert to_keep(["20261122T023000Z", "20261122T103000Z"], daily=7) == {"20261122T103000Z"}
    with pytest.raises(BackupError, match="not a backup point"):
        to_keep(["latest"], daily=1)


def test_backup_items_follow_the_hosts_groups():
    policy = {"linux": ["/etc"], "call_servers": ["/etc", "/var/lib/kamailio"], "gateways": ["/x"]}
    assert voip_backup_items(policy, ["linux", "call_servers"]) == ["/etc", "/var/lib/kamailio"]
    assert voip_backup_items({}, ["linux"]) == []
