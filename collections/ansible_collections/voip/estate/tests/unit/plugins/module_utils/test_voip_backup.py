"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_backup (encryption, manifests, retention) and the backup filter."""

from __future__ import annotations

import pytest

from ansible_collections.voip.estate.plugins.filter.voip_backup import voip_backup_items
from ansible_collections.voip.estate.plugins.module_utils.voip_backup import (
    BackupError,
    open_point,
    seal_point,
    to_keep,
)

KEY = "a-lab-backup-key-of-some-length"
STAMP = "20261122T023000Z"


def point(tmp_path, text=b"subscriber data and secrets"):
    plain = tmp_path / "plain"
    plain.write_bytes(text)
    out = tmp_path / "point"
    seal_point([(str(plain), "host.tar.gz")], str(out), KEY, "cs1", STAMP, {"kind": "linux"})
    return out


def test_encrypted_at_rest_and_back(tmp_path):
    out = point(tmp_path)
    stored = (out / "host.tar.gz.enc").read_bytes()
    assert (
        b"subscriber data" not in stored and oct((out / "host.tar.gz.enc").stat().st_mode & 0o777) == "0o600"
    )
    manifest, files = open_point(str(out), KEY, "cs1", STAMP, str(tmp_path / "open"))
    assert (tmp_path / "open" / "host.tar.gz").read_bytes() == b"subscriber data and secrets"
    assert files == {"host.tar.gz": str(tmp_path / "open" / "host.tar.gz")} and manifest["kind"] == "linux"
    with pytest.raises(BackupError, match="MAC does not match"):
        open_point(str(out), KEY + "x", "cs1", STAMP, str(tmp_path / "x"))
    with pytest.raises(BackupError, match="at least 16"):
        seal_point([(str(tmp_path / "plain"), "n")], str(tmp_path / "y"), "short", "cs1", STAMP, {})


def test_verify_refuses_a_damaged_or_incomplete_point(tmp_path):
    out = point(tmp_path)
    stored = out / "host.tar.gz.enc"
    data = bytearray(stored.read_bytes())
    data[-1] ^= 1
    stored.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="sha256 differs from the manifest"):
        open_point(str(out), KEY, "cs1", STAMP, str(tmp_path / "open"))
    stored.unlink()
    with pytest.raises(BackupError, match=r"host\.tar\.gz\.enc: missing"):
        open_point(str(out), KEY, "cs1", STAMP, str(tmp_path / "open"))
    (out / "MANIFEST.json").unlink()
    with pytest.raises(BackupError, match="no readable manifest"):
        open_point(str(out), KEY, "cs1", STAMP, str(tmp_path / "open"))
    assert not (tmp_path / "open").exists()


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


def test_archive_holds_a_consistent_database_snapshot_with_its_owner(tmp_path, module_runner, monkeypatch):
    import sqlite3
    import tarfile

    from ansible_collections.voip.estate.plugins.module_utils import voip_backup

    etc = tmp_path / "etc"
    (etc / "kamailio").mkdir(parents=True)
    (etc / "kamailio" / "kamailio.cfg").write_text("# cfg\n")
    data = tmp_path / "lib"
    data.mkdir(mode=0o750)
    db = data / "kamailio.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE subscriber (username TEXT)")
        conn.execute("INSERT INTO subscriber VALUES ('2001')")
    db.chmod(0o640)
    # An open writer does not make the snapshot inconsistent (sqlite's online backup).
    writer = sqlite3.connect(db)
    writer.execute("INSERT INTO subscriber VALUES ('2002')")
    dest = tmp_path / "out" / "host.tar.gz"
    dest.parent.mkdir()
    code, result, _unused = module_runner(
        "backup_archive", {"paths": [str(etc)], "databases": [str(db)], "dest": str(dest)}
    )
    writer.close()
    assert code == 0 and result["changed"] and result["sha256"] == voip_backup.sha256_file(str(dest))
    with tarfile.open(dest) as tar:
        names = tar.getnames()
        assert str(etc / "kamailio" / "kamailio.cfg").lstrip("/") in names
        member = tar.getmember(str(db).lstrip("/"))
        assert (
            member.mode == 0o640
            and member.uname
            and member.uname == tar.getmember(str(data).lstrip("/")).uname
        )
        snapshot = tmp_path / "snap.sqlite"
        snapshot.write_bytes(tar.extractfile(member).read())
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("SELECT username FROM subscriber").fetchall() == [("2001",)]
    code, result, _unused = module_runner(
        "backup_archive", {"paths": [str(tmp_path / "none")], "dest": str(dest)}
    )
    assert code == 1 and "not on this host" in result["msg"]


def test_extract_puts_back_exactly_what_was_backed_up(tmp_path):
    import tarfile

    from ansible_collections.voip.estate.plugins.modules.backup_extract import extract

    source = tmp_path / "source" / "etc" / "nginx" / "sites-enabled"
    source.mkdir(parents=True)
    (source / "provisioning.conf").write_text("server {}\n")
    (tmp_path / "source" / "etc" / "hosts").write_text("backed-up hosts\n")
    archive = tmp_path / "backup.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "source" / "etc", arcname="etc")
    root = tmp_path / "root"
    enabled = root / "etc" / "nginx" / "sites-enabled"
    enabled.mkdir(parents=True)
    (enabled / "default").symlink_to("/etc/nginx/sites-available/default")  # what a package added
    (root / "etc" / "hosts").write_text("the platform's hosts\n")
    (root / "etc" / "keep.d").mkdir()
    count, removed = extract(str(archive), ["etc/hosts"], root=str(root))
    assert (enabled / "provisioning.conf").read_text() == "server {}\n"
    assert removed == ["/etc/nginx/sites-enabled/default"] and not (enabled / "default").is_symlink()
    assert (root / "etc" / "hosts").read_text() == "the platform's hosts\n", "excluded paths are left alone"
    assert (root / "etc" / "keep.d").is_dir(), "directories are never removed"
    assert count == 4
