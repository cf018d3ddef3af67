"""Backups against the lab: every host kind, encrypted, checksummed, stored on bak1, pruned by the policy.

``playbooks/backup.yml`` runs twice. Each point is copied back from bak1,
verified against its manifest (plugins/module_utils/voip_backup.verify), decrypted
with the vault's key and looked into: the call server's archive holds a
consistent snapshot of its database with the subscriber table, the gateway's
configuration its dial-peers. Points made up in the past on bak1 are pruned
exactly as the retention policy says. No run prints a secret.
"""

from __future__ import annotations

import configparser
import datetime
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import open_point, to_keep
from voipctl.adapters import inventory
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}
HOSTS = ["bak1", "cs1", "cs2", "gw1", "prov1", "sw1"]


@pytest.fixture(scope="module")
def estate():
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    inv = inventory.load(LAB, only=("voip_backup_policy", "vault_backup_key", "vault_netdev_password",
                                     "vault_voip_sip_master_secret"))  # fmt: skip
    return inv.hosts["cs1"]


class Secrets(list):
    def __repr__(self) -> str:
        return f"<{len(self)} secrets>"


@pytest.fixture(scope="module")
def secrets(estate):
    return Secrets(
        estate[k] for k in ("vault_backup_key", "vault_netdev_password", "vault_voip_sip_master_secret")
    )


def backup(
    secrets, *args: str, playbook: str = "backup.yml", inventory: Path = LAB
) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / playbook),
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False, env=ansible_environment(ROOT),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert not any(s in run.stdout or s in run.stderr for s in secrets), (
        f"a secret in the output of {playbook}"
    )
    return run


def on_bak1(*command: str) -> str:
    return subprocess.run(["podman", "exec", "voiplab-bak1", *command], env=PODMAN_ENV, capture_output=True,
                          text=True, check=True).stdout  # fmt: skip


def points(store: str, host: str) -> list[str]:
    """The host's points on bak1 (none when it has no directory yet)."""
    return sorted(on_bak1("sh", "-c", f"ls -1 {store}/{host} 2>/dev/null || true").split())


def copy_point(store: str, host: str, stamp: str, dest: Path) -> Path:
    subprocess.run(["podman", "cp", f"voiplab-bak1:{store}/{host}/{stamp}", str(dest / host)], env=PODMAN_ENV,
                   check=True, capture_output=True)  # fmt: skip
    return dest / host


def test_every_host_kind_is_backed_up_encrypted_and_verifiable(estate, secrets, tmp_path):
    store = estate["voip_backup_policy"]["store"]
    before = {host: set(points(store, host)) for host in HOSTS}
    backup(secrets)
    key = estate["vault_backup_key"]
    for host in HOSTS:
        new = sorted(set(points(store, host)) - before[host])
        assert len(new) == 1, (host, new)
        point = copy_point(store, host, new[0], tmp_path)
        manifest, files = open_point(str(point), key, host, new[0], str(tmp_path / f"{host}.open"))
        assert manifest["host"] == host and manifest["stamp"] == new[0] and manifest["format"] == 2
        assert len(manifest["commit"]) == 40 and manifest["tools"]["ansible-core"]
        [entry] = manifest["files"]
        stored = (point / entry["stored"]).read_bytes()
        plain = Path(files[entry["name"]])
        if manifest["kind"] == "linux":
            assert manifest["packages"].get("openssh-server"), "the host's packages are recorded"
            with tarfile.open(plain) as tar:
                names = tar.getnames()
                assert "etc/hostname" in names
                if host.startswith("cs"):
                    db = tar.extractfile("var/lib/kamailio/kamailio.sqlite").read()
                    copy = tmp_path / f"{host}.sqlite"
                    copy.write_bytes(db)
                    with sqlite3.connect(copy) as conn:
                        assert conn.execute("SELECT count(*) FROM subscriber").fetchone()[0] > 0
                    assert b"SQLite format 3" not in stored, "the database is stored encrypted"
                if host == "prov1":
                    assert any(n.startswith("srv/provisioning/") for n in names)
        else:
            text = plain.read_text()
            assert f"hostname {host}" in text
            if host == "gw1":
                assert "dial-peer voice 400 pots" in text and b"dial-peer" not in stored
        assert (
            oct(int(on_bak1("stat", "-c", "%a", f"{store}/{host}/{new[0]}/{entry['stored']}"), 8)) == "0o600"
        )


def test_a_second_run_adds_a_point_and_prunes_by_the_policy(estate, secrets):
    store = estate["voip_backup_policy"]["store"]
    retention = estate["voip_backup_policy"]["retention"]
    # Points of the last 60 days, as if nightly runs had taken them.
    today = datetime.datetime.now(datetime.UTC).date()
    made_up = [f"{today - datetime.timedelta(days=n):%Y%m%d}T023000Z" for n in range(1, 61)]
    manifest = json.dumps({"files": []})
    script = "; ".join(
        f"mkdir -p {store}/cs1/{s} && echo '{manifest}' > {store}/cs1/{s}/MANIFEST.json" for s in made_up
    )
    on_bak1("sh", "-c", script)
    existing = points(store, "cs1")
    backup(secrets, "--limit", "cs1,localhost")
    after = points(store, "cs1")
    new = sorted(set(after) - set(existing))
    assert len(new) == 1, "a new point in time on an unchanged estate"
    expected = to_keep(
        existing + new, retention["daily"], retention.get("weekly", 0), retention.get("monthly", 0)
    )
    assert set(after) == expected
    assert len(after) <= retention["daily"] + retention.get("weekly", 0) + retention.get("monthly", 0)


# The policy's time: playbooks/backup_schedule.yml installs the controller's nightly timer (here under a
# temporary root; with VOIPLAB_TIMER_LIVE=1 also into the controller's own systemd, then removed).
def test_the_timer_fires_at_the_models_time(tmp_path, secrets, estate):
    time = estate["voip_backup_policy"]["time"]
    backup(secrets, "-e", f"backup_schedule_root={tmp_path}", playbook="backup_schedule.yml")
    units = tmp_path / "etc" / "systemd" / "system"
    timer = configparser.ConfigParser(interpolation=None)
    timer.optionxform = str
    timer.read_string((units / "voip-backup.timer").read_text())
    assert timer["Timer"]["OnCalendar"] == f"*-*-* {time}:00" and timer["Timer"]["Persistent"] == "true"
    done = subprocess.run(["systemd-analyze", "verify", str(units / "voip-backup.service"),
                           str(units / "voip-backup.timer")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    if os.environ.get("VOIPLAB_TIMER_LIVE") != "1":
        return
    # The controller's own systemd: what it parsed, then removed again.
    try:
        backup(secrets, playbook="backup_schedule.yml")
        shown = subprocess.run(["systemctl", "show", "voip-backup.timer", "-p", "TimersCalendar", "-p", "UnitFileState"],
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert f"OnCalendar=*-*-* {time}:00" in shown and "UnitFileState=enabled" in shown, shown
    finally:
        subprocess.run(
            ["systemctl", "disable", "--now", "voip-backup.timer"], capture_output=True, check=False
        )
        for name in ("voip-backup.service", "voip-backup.timer"):
            Path("/etc/systemd/system", name).unlink(missing_ok=True)
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True, check=False)


def forward_busy(database: Path | None, extension: str) -> str:
    """The busy-forward target of ``extension`` in a call server database (the live one on cs1 for None)."""
    sql = f"SELECT value FROM usr_preferences WHERE username = '{extension}' AND attribute = 'cfb'"
    if database is None:
        out = subprocess.run(["podman", "exec", "voiplab-cs1", "sqlite3", "/var/lib/kamailio/kamailio.sqlite", sql],
                             env=PODMAN_ENV, capture_output=True, text=True, check=True).stdout  # fmt: skip
        return out.strip()
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


# voip_backup_policy.before_change: users.yml (and site.yml: the same imported play) first takes a point of
# every host it is about to change; --check takes none. Proven on a copy of the lab inventory where one
# user's busy forward changes: the new point of cs1 still holds the old forward, the live table the new one.
def test_a_change_is_preceded_by_a_point_when_the_model_asks(tmp_path, secrets, estate):
    store = estate["voip_backup_policy"]["store"]
    copy = tmp_path / "lab"
    shutil.copytree(LAB, copy)
    policy = copy / "group_vars" / "all" / "backup.yml"
    text = policy.read_text()
    assert "  store: /srv/backups\n" in text
    policy.write_text(
        text.replace("  store: /srv/backups\n", "  store: /srv/backups\n  before_change: true\n")
    )
    users = copy / "group_vars" / "all" / "users.yml"
    text = users.read_text()
    assert text.count("call_forward: {busy: 2002}") == 1, "the lab's user 2001 forwards to 2002 when busy"
    users.write_text(text.replace("call_forward: {busy: 2002}", "call_forward: {busy: 2003}"))
    changed = ["cs1", "cs2", "prov1", "gw1"]  # the hosts users.yml changes
    before = {host: set(points(store, host)) for host in HOSTS}
    assert forward_busy(None, "2001") == "2002"

    backup(secrets, "--check", playbook="users.yml", inventory=copy)
    assert {host: set(points(store, host)) for host in HOSTS} == before, "check mode took a point"
    try:
        backup(secrets, playbook="users.yml", inventory=copy)
        assert forward_busy(None, "2001") == "2003"
        for host in HOSTS:
            new = sorted(set(points(store, host)) - before[host])
            assert len(new) == (1 if host in changed else 0), (host, new)
        (stamp,) = sorted(set(points(store, "cs1")) - before["cs1"])
        point = copy_point(store, "cs1", stamp, tmp_path)
        _, files = open_point(
            str(point), estate["vault_backup_key"], "cs1", stamp, str(tmp_path / "cs1.open")
        )
        plain = files["host.tar.gz"]
        with tarfile.open(plain) as tar:
            (tmp_path / "cs1.sqlite").write_bytes(tar.extractfile("var/lib/kamailio/kamailio.sqlite").read())
        assert forward_busy(tmp_path / "cs1.sqlite", "2001") == "2002", "the point was taken after the change"
    finally:
        backup(secrets, playbook="users.yml")
    assert forward_busy(None, "2001") == "2002"


# Backup format 2 against a hostile backup server (issue 23). Each refusal is shown by restore.yml's own
# message naming the host, the point and the file, before the host is touched.
def restore(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(LAB), str(ROOT / "playbooks" / "restore.yml"),
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False, env=ansible_environment(ROOT),
    )  # fmt: skip


def host_state(host: str) -> str:
    """What a restore would change on a Linux host: its backed-up trees, its packages, its services."""
    script = (
        "find /etc /home /var/lib/kamailio -xdev -printf '%p %y %s %m %u %l\\n' 2>/dev/null | sort | sha256sum;"
        " sha256sum /var/lib/kamailio/kamailio.sqlite; dpkg-query -W | sha256sum;"
        " systemctl is-active kamailio rtpengine-daemon nftables; ls /var/tmp"
    )
    return subprocess.run(["podman", "exec", f"voiplab-{host}", "sh", "-c", script], env=PODMAN_ENV,
                          capture_output=True, text=True, check=False).stdout  # fmt: skip


def later(stamp: str, seconds: int) -> str:
    moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ") + datetime.timedelta(seconds=seconds)
    return f"{moment:%Y%m%dT%H%M%SZ}"


def refused(host: str, stamp: str, *expected: str, extra: tuple[str, ...] = ()) -> None:
    before = host_state(host)
    run = restore("-e", f"restore_host={host}", "-e", f"restore_point={stamp}", *extra)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and all(text in out for text in expected), out[-4000:]
    assert "TASK [voip.estate.host_backup : Copy the archive to the host]" not in out, "the host was touched"
    assert host_state(host) == before


def test_a_file_or_point_moved_from_another_host_or_point_is_refused_at_restore(estate, secrets):
    store = estate["voip_backup_policy"]["store"]
    before = {host: set(points(store, host)) for host in ("cs1", "cs2")}
    backup(secrets, "--limit", "cs1,cs2,localhost")
    [first] = sorted(set(points(store, "cs1")) - before["cs1"])
    assert [first] == sorted(set(points(store, "cs2")) - before["cs2"])
    backup(secrets, "--limit", "cs1,localhost", "-e", "host_backup_prune=false")  # keep the first point
    [second] = sorted(set(points(store, "cs1")) - before["cs1"] - {first})
    moved = [later(second, 1), later(second, 2)]
    try:
        # A file from another point of the same host, and one from another host's point of the same time.
        on_bak1("cp", f"{store}/cs1/{first}/host.tar.gz.enc", f"{store}/cs1/{second}/")
        on_bak1("cp", f"{store}/cs2/{first}/host.tar.gz.enc", f"{store}/cs1/{first}/")
        for stamp in (second, first):
            refused("cs1", stamp, f"cs1 point {stamp}: backup", "fails its checksums: host.tar.gz.enc: s")
        # A whole point of cs2 put in cs1's directory; one of cs1's points put under another stamp.
        on_bak1("cp", "-a", f"{store}/cs2/{first}", f"{store}/cs1/{moved[0]}")
        on_bak1("cp", "-a", f"{store}/cs1/{first}", f"{store}/cs1/{moved[1]}")
        refused("cs1", moved[0], f"cs1 point {moved[0]}: the manifest names host 'cs2' and point '{first}'")
        refused(
            "cs1", moved[1], f"the manifest names host 'cs1' and point '{first}', not cs1's point {moved[1]}"
        )
    finally:
        on_bak1("rm", "-rf", *(f"{store}/cs1/{s}" for s in (first, second, *moved)))


def test_a_tampered_manifest_is_refused_before_the_host_is_touched(estate, secrets):
    store = estate["voip_backup_policy"]["store"]
    backup(secrets, "--limit", "cs1,localhost")
    stamp = points(store, "cs1")[-1]
    copy = later(stamp, 1)
    manifest = f"{store}/cs1/{copy}/MANIFEST.json"
    # An older openssh-server, and a stored name that would land outside the controller's stage.
    on_bak1("sh", "-c", f"cp -a {store}/cs1/{stamp} {store}/cs1/{copy} && "
                        f"sed -i -e 's/\"openssh-server\": \"[^\"]*\"/\"openssh-server\": \"1:7.0p1-1\"/' "
                        f"-e 's#\"stored\": \"host.tar.gz.enc\"#\"stored\": \"../../../../x\"#' {manifest}")  # fmt: skip
    assert "1:7.0p1-1" in on_bak1("cat", manifest)
    try:
        refused("cs1", copy, f"cs1 point {copy}: the manifest's MAC does not match")
        assert not list((ROOT / ".lab").glob("x")) and not (ROOT / ".lab" / "backup-staging" / "x").exists()
    finally:
        on_bak1("rm", "-rf", f"{store}/cs1/{copy}")


def test_an_archive_with_a_symlink_escaping_the_target_is_refused(estate, tmp_path):
    """Sealed validly (the vault's key): only the extraction's checks stand between it and the host."""
    from ansible_collections.voip.estate.plugins.module_utils.voip_backup import seal_point

    store = estate["voip_backup_policy"]["store"]
    stamp = f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}"
    archive = tmp_path / "host.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("etc/voip-escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/tmp/voip-escape-target"
        tar.addfile(link)
        dropped = tarfile.TarInfo("etc/voip-escape/dropped")
        dropped.size = 6
        tar.addfile(dropped, io.BytesIO(b"owned\n"))
    point = tmp_path / stamp
    seal_point([(str(archive), "host.tar.gz")], str(point), estate["vault_backup_key"], "cs1", stamp,
               {"kind": "linux", "packages": {}})  # fmt: skip
    subprocess.run(["podman", "exec", "voiplab-cs1", "mkdir", "-p", "/tmp/voip-escape-target"], env=PODMAN_ENV,
                   check=True)  # fmt: skip
    subprocess.run(
        ["podman", "cp", str(point), f"voiplab-bak1:{store}/cs1/{stamp}"], env=PODMAN_ENV, check=True
    )
    before = host_state("cs1")
    try:
        run = restore("-e", "restore_host=cs1", "-e", f"restore_point={stamp}")
        out = run.stdout + run.stderr
        assert run.returncode != 0, out[-4000:]
        assert (
            "the archive is refused, nothing was changed: etc/voip-escape/dropped: below etc/voip-escape"
            in out
        ), out[-4000:]
        assert "TASK [voip.estate.host_backup : Stop the services whose files come back]" not in out
        assert host_state("cs1") == before
        assert subprocess.run(["podman", "exec", "voiplab-cs1", "ls", "-A", "/tmp/voip-escape-target"],
                              env=PODMAN_ENV, capture_output=True, text=True).stdout == ""  # fmt: skip
    finally:
        on_bak1("rm", "-rf", f"{store}/cs1/{stamp}")
        subprocess.run(["podman", "exec", "voiplab-cs1", "rm", "-rf", "/tmp/voip-escape-target"], env=PODMAN_ENV,
                       check=False)  # fmt: skip


def test_no_clear_file_remains_on_the_controller_after_a_failed_seal(estate):
    store = estate["voip_backup_policy"]["store"]
    existing = points(store, "cs1")
    staging = ROOT / ".lab" / "backup-staging"
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(LAB), str(ROOT / "playbooks" / "backup.yml"),
         "--limit", "cs1,localhost", "-e", "host_backup_key=too-short"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False, env=ansible_environment(ROOT),
    )  # fmt: skip
    assert (
        run.returncode != 0
        and "cs1: cannot seal the backup: the backup key must have at least 16" in run.stdout
    )
    assert "TASK [voip.estate.host_backup : Bring the archive to the controller]" in run.stdout, (
        "the clear archive was fetched"
    )
    assert "Remove the staged point from the controller (also when sealing or storing failed)" in run.stdout
    assert not [p for p in staging.rglob("*") if p.is_file()], "a clear file remains on the controller"
    assert oct(staging.stat().st_mode & 0o777) == "0o700"
    assert points(store, "cs1") == existing, "nothing was stored"
    left = subprocess.run(["podman", "exec", "voiplab-cs1", "ls", "/var/tmp"], env=PODMAN_ENV, capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert "voip-backup-" not in left, "the archive remains on the host"


def test_a_format_1_point_is_refused_by_default_and_restores_when_allowed(estate, secrets, tmp_path):
    """A point as main wrote it before format 2 (key SHA-256 of the passphrase, bare name as associated data)."""
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    store, key = estate["voip_backup_policy"]["store"], estate["vault_backup_key"]
    backup(secrets, "--limit", "cs1,localhost")
    stamp = points(store, "cs1")[-1]
    manifest, files = open_point(str(copy_point(store, "cs1", stamp, tmp_path)), key, "cs1", stamp,
                                 str(tmp_path / "open"))  # fmt: skip
    plain = Path(files["host.tar.gz"]).read_bytes()
    old = later(stamp, 1)
    point = tmp_path / old
    point.mkdir()
    nonce = os.urandom(12)
    sealed = (
        b"VOIPBK1\n"
        + nonce
        + AESGCM(hashlib.sha256(key.encode()).digest()).encrypt(nonce, plain, b"host.tar.gz")
    )
    (point / "host.tar.gz.enc").write_bytes(sealed)
    entry = {"name": "host.tar.gz", "stored": "host.tar.gz.enc", "size": len(sealed),
             "sha256": hashlib.sha256(sealed).hexdigest(), "content_sha256": hashlib.sha256(plain).hexdigest()}  # fmt: skip
    v1 = {k: manifest[k] for k in ("host", "kind", "commit", "tools", "packages")} | {
        "stamp": old,
        "files": [entry],
    }
    (point / "MANIFEST.json").write_text(json.dumps(v1, indent=2) + "\n")
    subprocess.run(
        ["podman", "cp", str(point), f"voiplab-bak1:{store}/cs1/{old}"], env=PODMAN_ENV, check=True
    )
    try:
        refused("cs1", old, f"cs1 point {old}: a format-1 point", f"-e host_backup_allow_v1={old}")
        # Letting another format-1 point through lets this one through no more.
        refused(
            "cs1",
            old,
            f"cs1 point {old}: a format-1 point",
            extra=("-e", "host_backup_allow_v1=20260101T000000Z"),
        )
        run = restore(
            "-e", "restore_host=cs1", "-e", f"restore_point={old}", "-e", f"host_backup_allow_v1={old}"
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert "format 1, its manifest is not authenticated" in run.stdout + run.stderr
        active = subprocess.run(["podman", "exec", "voiplab-cs1", "systemctl", "is-active", "kamailio", "rtpengine-daemon"],
                                env=PODMAN_ENV, capture_output=True, text=True, check=False).stdout  # fmt: skip
        assert active.split() == ["active", "active"], active
    finally:
        on_bak1("rm", "-rf", f"{store}/cs1/{old}")
