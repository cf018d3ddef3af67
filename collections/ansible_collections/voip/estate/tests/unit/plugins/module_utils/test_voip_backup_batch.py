"""A run's points as one batch (plugins/module_utils/voip_backup): sealed on the controller, one archive,
stored and pruned on the backup server (modules backup_seal and backup_store, filter voip_backup_batch).

The layout on the server is the one a point stored alone had: ``<store>/<host>/<stamp>/`` (0700) with
the encrypted files and ``MANIFEST.json`` (0600), each point opening with ``open_point`` as before. The
server takes only what the batch announces, checks every point against its manifest before it is in
place, and leaves nothing half-stored.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from ansible_collections.voip.estate.plugins.filter.voip_backup import (
    voip_apt_missing,
    voip_apt_restore,
    voip_backup_batch,
)
from ansible_collections.voip.estate.plugins.module_utils import voip_backup
from ansible_collections.voip.estate.plugins.module_utils.voip_backup import (
    MANIFEST,
    BackupError,
    open_point,
    prune_host,
    to_keep,
)
from ansible_collections.voip.estate.plugins.module_utils.voip_backup_batch import (
    seal_batch,
    store_batch,
    write_batch,
)

KEY = "a-lab-backup-key-of-some-length"
STAMP = "20261122T023000Z"
HOSTS = ("gw1", "gw2", "cs1")
RETENTION = {"daily": 7, "weekly": 4, "monthly": 6}


@pytest.fixture(autouse=True)
def quick_kdf(monkeypatch):
    """The smallest scrypt cost a manifest may ask for: quick tests (the format is the same)."""
    monkeypatch.setattr(voip_backup, "KDF_DEFAULT", {**voip_backup.KDF_DEFAULT, "n": 2**14})


def clear_files(tmp_path, hosts=HOSTS, stamp=STAMP):
    points = []
    for host in hosts:
        name = "host.tar.gz" if host.startswith("cs") else "running-config"
        path = tmp_path / "clear" / host / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"hostname {host}\n")
        points.append({"host": host, "stamp": stamp, "kind": "linux" if name == "host.tar.gz" else "gateway",
                       "files": [(str(path), name)], "packages": {}})  # fmt: skip
    return points


def batch(tmp_path, hosts=HOSTS, stamp=STAMP):
    """Seal ``hosts``' points and pack them: (archive, the announced points)."""
    manifests = seal_batch(
        clear_files(tmp_path, hosts, stamp), str(tmp_path / "sealed"), KEY, {"commit": None}
    )
    archive = tmp_path / "points.tar"
    write_batch(str(archive), str(tmp_path / "sealed"), manifests)
    return archive, [{"host": m["host"], "stamp": m["stamp"]} for m in manifests]


def test_each_point_of_a_batch_is_stored_as_alone_and_opens(tmp_path):
    archive, points = batch(tmp_path)
    store = tmp_path / "store"
    done = store_batch(str(archive), str(store), points, RETENTION)
    assert done["stored"] == [f"{h}/{STAMP}" for h in HOSTS] and done["removed"] == {}
    for host in HOSTS:
        point = store / host / STAMP
        manifest, files = open_point(str(point), KEY, host, STAMP, str(tmp_path / "open" / host))
        assert Path(next(iter(files.values()))).read_text() == f"hostname {host}\n"
        assert manifest["host"] == host and manifest["format"] == 2 and manifest["commit"] is None
        assert oct(point.stat().st_mode & 0o777) == oct((store / host).stat().st_mode & 0o777) == "0o700"
        assert sorted(os.listdir(point)) == sorted([MANIFEST, manifest["files"][0]["stored"]])
        assert {oct(p.stat().st_mode & 0o777) for p in point.iterdir()} == {"0o600"}
    # Each point has its own salt (its own keys), as a point sealed alone.
    salts = {json.loads((store / h / STAMP / MANIFEST).read_text())["kdf"]["salt"] for h in HOSTS}
    assert len(salts) == len(HOSTS)
    assert not list(store.rglob(".*")), "nothing hidden is left in the store"


def test_the_same_batch_again_changes_nothing_and_another_point_replaces(tmp_path):
    archive, points = batch(tmp_path)
    store = tmp_path / "store"
    store_batch(str(archive), str(store), points, RETENTION)
    again = store_batch(str(archive), str(store), points, RETENTION)
    assert again["stored"] == [] and again["unchanged"] == [f"{h}/{STAMP}" for h in HOSTS]
    other, points = batch(tmp_path / "second")
    done = store_batch(str(other), str(store), points, RETENTION)
    assert done["stored"] == [f"{h}/{STAMP}" for h in HOSTS]
    assert (store / "gw1" / STAMP / MANIFEST).read_bytes() == (
        tmp_path / "second" / "sealed" / "gw1" / STAMP / MANIFEST
    ).read_bytes()


def test_check_mode_reads_no_archive_and_writes_nothing(tmp_path):
    store = tmp_path / "store"
    old = [f"202611{d:02d}T023000Z" for d in range(1, 21)]
    for stamp in old:
        (store / "gw1" / stamp).mkdir(parents=True)
    points = [{"host": "gw1", "stamp": STAMP}, {"host": "gw2", "stamp": STAMP}]
    done = store_batch(str(tmp_path / "no-such.tar"), str(store), points, RETENTION, check=True)
    assert done["stored"] == [f"gw1/{STAMP}", f"gw2/{STAMP}"]
    assert set(done["removed"]["gw1"]) == set([*old, STAMP]) - to_keep([*old, STAMP], 7, 4, 6)
    assert sorted(os.listdir(store / "gw1")) == old and not (store / "gw2").exists()


def test_every_host_of_the_batch_is_pruned_by_the_policy(tmp_path):
    store = tmp_path / "store"
    old = [f"202610{d:02d}T023000Z" for d in range(1, 32)] + [f"202611{d:02d}T023000Z" for d in range(1, 22)]
    for host in HOSTS:
        for stamp in old:
            (store / host / stamp).mkdir(parents=True)
        (store / host / "not-a-point").mkdir()
    archive, points = batch(tmp_path)
    done = store_batch(str(archive), str(store), points, RETENTION)
    keep = to_keep([*old, STAMP], 7, 4, 6)
    for host in HOSTS:
        assert set(os.listdir(store / host)) == keep | {"not-a-point"}
        assert set(done["removed"][host]) == set(old) - keep
    # Without prune nothing goes.
    archive, points = batch(tmp_path / "again", stamp="20261122T033000Z")
    done = store_batch(str(archive), str(store), points, None)
    assert done["removed"] == {} and "20261122T033000Z" in os.listdir(store / "gw1")


def test_prune_host_is_the_old_backup_prune(tmp_path):
    stamps = [f"202611{d:02d}T023000Z" for d in range(1, 21)]
    for stamp in stamps:
        (tmp_path / "cs1" / stamp).mkdir(parents=True)
    kept, removed = prune_host(str(tmp_path), "cs1", {"daily": 3}, check=True)
    assert kept == sorted(stamps, reverse=True)[:3] and len(removed) == 17
    assert len(os.listdir(tmp_path / "cs1")) == 20
    prune_host(str(tmp_path), "cs1", {"daily": 3})
    assert sorted(os.listdir(tmp_path / "cs1"), reverse=True) == kept


def hostile(tmp_path, add):
    """The batch of gw1 with ``add(tar)`` appended."""
    archive, points = batch(tmp_path, hosts=("gw1",))
    with tarfile.open(archive, "a") as tar:
        add(tar)
    return archive, points


def member(tar, name, data=b"x", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("gw1/20261122T023000Z/../../../etc/x", tarfile.REGTYPE, ""),
        ("/srv/backups/gw1/x", tarfile.REGTYPE, ""),
        ("gw2/20261122T023000Z/running-config.enc", tarfile.REGTYPE, ""),  # a point not announced
        ("gw1/20261121T023000Z/running-config.enc", tarfile.REGTYPE, ""),  # another stamp
        ("gw1/20261122T023000Z/link", tarfile.SYMTYPE, "/etc/shadow"),
        ("gw1/20261122T023000Z/hard", tarfile.LNKTYPE, "gw1/20261122T023000Z/MANIFEST.json"),
        ("gw1/20261122T023000Z", tarfile.DIRTYPE, ""),
        ("gw1/20261122T023000Z/MANIFEST.json", tarfile.REGTYPE, ""),  # twice
        ("gw1/20261122T023000Z/.hidden", tarfile.REGTYPE, ""),
    ],
)
def test_a_member_the_batch_does_not_announce_is_refused_before_anything_is_stored(
    tmp_path, name, kind, link
):
    archive, points = hostile(tmp_path, lambda tar: member(tar, name, kind=kind, link=link))
    store = tmp_path / "store"
    with pytest.raises(BackupError, match="only the files of the points"):
        store_batch(str(archive), str(store), points, RETENTION)
    assert not (store / "gw1" / STAMP).exists() and not (tmp_path / "etc").exists()


def test_a_point_that_fails_its_manifest_is_not_stored_and_nothing_of_it_stays(tmp_path):
    archive, points = batch(tmp_path, hosts=("gw1",))
    store = tmp_path / "store"

    def swap(name, data):
        rebuilt = tmp_path / "rebuilt.tar"
        with tarfile.open(archive) as src, tarfile.open(rebuilt, "w") as out:
            for info in src.getmembers():
                body = src.extractfile(info).read()
                if info.name.endswith(name):
                    body = data(body)
                    info.size = len(body)
                out.addfile(info, io.BytesIO(body))
        return rebuilt

    cases = [
        ("running-config.enc", lambda b: b + b"x", "fails its checksums: running-config.enc: size"),
        (MANIFEST, lambda b: b.replace(b'"gw1"', b'"gw2"'), "the manifest names host 'gw2'"),
        (MANIFEST, lambda b: b.replace(b"\n", b" "), "not in its canonical form"),
    ]
    for name, change, message in cases:
        with pytest.raises(BackupError, match=message):
            store_batch(str(swap(name, change)), str(store), points, RETENTION)
        assert os.listdir(store / "gw1") == [], "nothing of the refused point stays"
    # An announced point missing from the archive.
    with pytest.raises(BackupError, match="gw2 point 20261122T023000Z: not in the batch archive"):
        store_batch(str(archive), str(store), [*points, {"host": "gw2", "stamp": STAMP}], RETENTION)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([{"host": "../etc", "stamp": STAMP}], "a plain host name"),
        ([{"host": "gw1", "stamp": STAMP}, {"host": "gw1", "stamp": STAMP}], "once per batch"),
        ([{"host": "gw1", "stamp": "latest"}], "is not a backup point"),
        # Regexes end with "$", which matches before a final newline; \d takes other digits.
        ([{"host": "gw1", "stamp": STAMP + "\n"}], "is not a backup point"),
        ([{"host": "gw1", "stamp": "\uff12" + STAMP[1:]}], "is not a backup point"),
        ([{"host": "gw1\n", "stamp": STAMP}], "a plain host name"),
    ],
)
def test_bad_points_are_refused_by_the_store_and_the_seal(tmp_path, points, message):
    with pytest.raises(BackupError, match=message):
        store_batch(str(tmp_path / "none.tar"), str(tmp_path / "store"), points, RETENTION)
    sealed = [{**p, "kind": "gateway", "files": [], "packages": {}} for p in points]
    with pytest.raises(BackupError, match=message):
        seal_batch(sealed, str(tmp_path / "sealed"), KEY, {})


def test_a_failed_seal_names_the_host(tmp_path):
    points = clear_files(tmp_path, hosts=("gw1", "gw2"))
    points[1]["files"] = [(str(tmp_path / "missing"), "running-config")]
    with pytest.raises(BackupError, match=r"^gw2: "):
        seal_batch(points, str(tmp_path / "sealed"), KEY, {})
    with pytest.raises(BackupError, match="at least 16 characters"):
        seal_batch(points, str(tmp_path / "sealed"), "short", {})


def test_the_modules_seal_store_and_prune_a_batch(tmp_path, module_runner):
    points = [{"host": p["host"], "stamp": p["stamp"], "kind": p["kind"],
               "files": [{"src": s, "name": n} for s, n in p["files"]]} for p in clear_files(tmp_path)]  # fmt: skip
    args = {"points": points, "key": KEY, "stage": str(tmp_path / "sealed"), "repo": str(tmp_path),
            "archive": str(tmp_path / "points.tar")}  # fmt: skip
    code, result, out = module_runner("backup_seal", args, check=True)
    assert code == 0 and result["changed"] and not (tmp_path / "points.tar").exists() and KEY not in out
    assert all(Path(f["src"]).exists() for p in points for f in p["files"])
    code, result, out = module_runner("backup_seal", args)
    assert code == 0 and result["points"] == [{"host": h, "stamp": STAMP} for h in HOSTS] and KEY not in out
    assert not any(Path(f["src"]).exists() for p in points for f in p["files"]), "the clear files are gone"
    store = tmp_path / "store"
    (store / "gw1" / "20261001T023000Z").mkdir(parents=True)
    run = {"src": str(tmp_path / "points.tar"), "store": str(store), "points": result["points"], "daily": 1}
    code, result, _unused = module_runner("backup_store", run, check=True, diff=True)
    assert code == 0 and result["changed"] and result["removed"] == {"gw1": ["20261001T023000Z"]}
    assert result["diff"]["before"].startswith("cs1: \ngw1: 20261001T023000Z\n")
    assert f"gw1: {STAMP}\n" in result["diff"]["after"] and not (store / "gw1" / STAMP).exists()
    code, result, _unused = module_runner("backup_store", run, diff=True)
    assert code == 0 and result["changed"] and result["stored"] == [f"{h}/{STAMP}" for h in HOSTS]
    assert os.listdir(store / "gw1") == [STAMP]
    code, result, _unused = module_runner("backup_store", run)
    assert code == 0 and not result["changed"] and result["unchanged"] == [f"{h}/{STAMP}" for h in HOSTS]


def test_the_batch_holds_the_hosts_that_took_their_file_in_this_run():
    clear = "/stage/run-1/clear"
    hostvars = {
        "gw1": {"group_names": ["gateways", "network_devices"], "host_backup_point": STAMP,
                "__host_backup_device": {"changed": True, "path": f"{clear}/gw1/running-config"}},
        "sw1": {"group_names": ["access_switches", "network_devices"], "host_backup_point": STAMP,
                "__host_backup_device": {"changed": True, "path": f"{clear}/sw1/running-config"}},
        "cs1": {"group_names": ["call_servers", "linux"], "host_backup_point": STAMP,
                "__host_backup_archive": {"packages": {"kamailio": "5.8"}},
                "__host_backup_fetched": {"dest": f"{clear}/cs1/host.tar.gz"}},
        # Took its file in another run; skipped; failed; never took one.
        "gw2": {"group_names": ["gateways"], "host_backup_point": STAMP,
                "__host_backup_device": {"path": "/stage/run-0/clear/gw2/running-config"}},
        "gw3": {"group_names": ["gateways"], "__host_backup_device": {"skipped": True}},
        "gw4": {"group_names": ["gateways"], "__host_backup_device": {"failed": True, "path": f"{clear}/gw4/running-config"}},
        "cs2": {"group_names": ["linux"]},
    }  # fmt: skip
    points = voip_backup_batch(list(hostvars), hostvars, clear)
    assert [(p["host"], p["kind"]) for p in points] == [
        ("gw1", "gateway"),
        ("sw1", "switch"),
        ("cs1", "linux"),
    ]
    assert points[2]["packages"] == {"kamailio": "5.8"} and points[2]["stamp"] == STAMP
    assert points[2]["files"] == [{"src": f"{clear}/cs1/host.tar.gz", "name": "host.tar.gz"}]
    # Check mode fetches nothing from a Linux host: its archive step counts.
    del hostvars["cs1"]["__host_backup_fetched"]
    assert [p["host"] for p in voip_backup_batch(list(hostvars), hostvars, clear, True)] == [
        "gw1",
        "sw1",
        "cs1",
    ]
    assert [p["host"] for p in voip_backup_batch(list(hostvars), hostvars, clear)] == ["gw1", "sw1"]


def test_a_restore_installs_only_the_recorded_versions_the_host_lacks():
    recorded = {"netbase": "6.4+voiplab1", "kamailio": "5.6.3-2", "gone": "1.0"}
    packages = {"netbase": [{"version": "6.4+voiplab1"}], "kamailio": [{"version": "5.6.4-1"}]}
    # netbase is there at its version (a withdrawn update: no repository offers it any more).
    assert voip_apt_missing(recorded, packages) == ["gone=1.0", "kamailio=5.6.3-2"]
    assert voip_apt_missing({}, packages) == []


MADISON = """\
   netbase |        6.4 | http://deb.debian.org/debian bookworm/main amd64 Packages
   netbase |        6.4 | http://deb.debian.org/debian bookworm/main Sources
  kamailio |    5.6.3-2 | http://10.231.0.65/ ./ Packages
  kamailio |    5.6.4-1 | http://10.231.0.65/ ./ Packages
"""


def test_a_restore_pins_a_recorded_version_still_offered():
    recorded = {"kamailio": "5.6.3-2"}
    plan = voip_apt_restore(recorded, {"kamailio": [{"version": "5.6.4-1"}]}, MADISON)
    assert plan == {"install": ["kamailio=5.6.3-2"], "substituted": [], "unoffered": []}


def test_a_withdrawn_update_is_restored_at_the_repositories_version_and_reported():
    # The point recorded a security update its repository no longer offers (the restore drill's case
    # after the lab's security repository was emptied): the old code pinned netbase=6.4+voiplab1 and apt
    # failed with "no available installation candidate", so the point could never be restored.
    recorded = {"netbase": "6.4+voiplab1"}
    plan = voip_apt_restore(recorded, {"netbase": [{"version": "6.4"}]}, MADISON)
    assert plan["install"] == ["netbase"]
    assert plan["substituted"] == [{"name": "netbase", "recorded": "6.4+voiplab1", "offered": ["6.4"]}]
    assert plan["unoffered"] == []


def test_a_package_offered_at_no_version_is_unoffered_and_a_source_line_offers_nothing():
    recorded = {"localtool": "1.0", "netbase": "6.4", "onlysource": "2"}
    madison = MADISON + "  onlysource |   2 | http://deb.debian.org/debian bookworm/main Sources\n"
    plan = voip_apt_restore(recorded, {}, madison)
    assert plan == {
        "install": ["netbase=6.4"],
        "substituted": [],
        "unoffered": ["localtool=1.0", "onlysource=2"],
    }


def test_a_restore_with_nothing_lacking_plans_nothing():
    assert voip_apt_restore({"netbase": "6.4"}, {"netbase": [{"version": "6.4"}]}, "") == {
        "install": [],
        "substituted": [],
        "unoffered": [],
    }
