"""Backup format 2 (plugins/module_utils/voip_backup): the keys, the bindings, the manifest's MAC, format 1.

Each attack is a test: a file swapped between hosts, between points, renamed
within a point; a whole point moved; a manifest edited (packages, a stored
name with ``../``, the host, absurd scrypt parameters). Against format 1
(main before this change) each of them went through: the key was the same
for every host and point, the associated data only the bare file name, and
the manifest was not authenticated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.voip.estate.plugins.module_utils import voip_backup
from ansible_collections.voip.estate.plugins.module_utils.voip_backup import (
    MAGIC,
    MANIFEST,
    BackupError,
    aad,
    check_manifest,
    derive_keys,
    new_kdf,
    open_point,
    seal_point,
    serialize_manifest,
    sign_manifest,
)

KEY = "a-lab-backup-key-of-some-length"
STAMP, OTHER_STAMP = "20261122T023000Z", "20261123T023000Z"
FAST = {"n": 2**14}  # the smallest scrypt cost a manifest may ask for: quick tests


def seal(tmp_path, host="cs1", stamp=STAMP, files=(("host.tar.gz", b"cs1's /etc"),), meta=None):
    out = tmp_path / "store" / host / stamp
    plain = []
    for name, text in files:
        path = tmp_path / f"{host}-{stamp}-{name}.plain"
        path.write_bytes(text)
        plain.append((str(path), name))
    meta = meta or {"kind": "linux", "packages": {"openssh-server": "1:9.2p1-2"}}
    seal_point(plain, str(out), KEY, host, stamp, meta, kdf=new_kdf(**FAST))
    return out


def manifest_of(point):
    return json.loads((point / MANIFEST).read_text())


def resign(point, change):
    """An insider with the key rewrites the manifest validly (to show the next line of defence)."""
    manifest = manifest_of(point)
    change(manifest)
    _unused, mac_key = derive_keys(KEY, manifest["kdf"])
    (point / MANIFEST).write_bytes(serialize_manifest(sign_manifest(manifest, mac_key)))


def opened(point, host="cs1", stamp=STAMP, dest=None, **kw):
    return open_point(str(point), KEY, host, stamp, str(dest or point.parent / "open"), **kw)


def test_format_2_structure_and_known_answers(tmp_path):
    point = seal(tmp_path)
    manifest = manifest_of(point)
    raw = (point / MANIFEST).read_bytes()
    assert raw == serialize_manifest(manifest), "written in its canonical form"
    assert manifest["format"] == 2 and manifest["host"] == "cs1" and manifest["stamp"] == STAMP
    assert manifest["kdf"]["name"] == "scrypt" and len(bytes.fromhex(manifest["kdf"]["salt"])) == 16
    assert len(manifest["mac"]) == 64 and int(manifest["mac"], 16) >= 0
    stored = (point / "host.tar.gz.enc").read_bytes()
    assert stored.startswith(MAGIC) and MAGIC == b"VOIPBK2\n" and b"cs1's /etc" not in stored
    assert len(stored) == len(MAGIC) + 12 + len(b"cs1's /etc") + 16
    assert oct(os.stat(point / "host.tar.gz.enc").st_mode & 0o777) == "0o600"
    assert manifest_of(seal(tmp_path, stamp=OTHER_STAMP))["kdf"]["salt"] != manifest["kdf"]["salt"]
    _unused, files = opened(point)
    assert Path(files["host.tar.gz"]).read_bytes() == b"cs1's /etc"
    # The associated data: a canonical JSON array, no ambiguity between its fields.
    assert (
        aad("cs1", STAMP, "host.tar.gz") == b'["voip-estate backup",2,"cs1","20261122T023000Z","host.tar.gz"]'
    )
    assert aad("cs1", "a,b", "c") != aad("cs1,a", "b", "c")
    # The keys: scrypt, then HKDF-SHA256 (RFC 5869, computed here by hand) with two infos.
    kdf = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1, "salt": "00" * 16}
    master = hashlib.scrypt(KEY.encode(), salt=bytes(16), n=2**14, r=8, p=1, dklen=32)
    prk = hmac.new(bytes(16), master, hashlib.sha256).digest()

    def expand(info):
        return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()

    file_key, mac_key = derive_keys(KEY, kdf)
    assert file_key == expand(b"voip-estate backup v2: file encryption")
    assert mac_key == expand(b"voip-estate backup v2: manifest mac")
    assert file_key.hex() == "81266f65bb7fd1efac8a60666b8a6c55aadbcb551f2565864a7a0c8138bc0081"


def test_a_file_swapped_between_hosts_is_refused(tmp_path):
    cs1, cs2 = seal(tmp_path, "cs1"), seal(tmp_path, "cs2", files=(("host.tar.gz", b"cs2's /etc"),))
    shutil.copy(cs2 / "host.tar.gz.enc", cs1 / "host.tar.gz.enc")
    with pytest.raises(
        BackupError, match=r"cs1 point 20261122T023000Z: .*host\.tar\.gz\.enc: size|sha256 differs"
    ):
        opened(cs1)
    # Even with a manifest rewritten to the swapped file's checksums, it does not open as cs1's.
    entry = manifest_of(cs2)["files"][0]
    resign(cs1, lambda m: m["files"][0].update(size=entry["size"], sha256=entry["sha256"]))
    with pytest.raises(BackupError, match=r"does not open as cs1's host\.tar\.gz of point 20261122T023000Z"):
        opened(cs1)
    assert not (cs1.parent / "open" / "host.tar.gz").exists()


def test_a_file_swapped_between_points_is_refused(tmp_path):
    old, new = (
        seal(tmp_path, stamp=STAMP),
        seal(tmp_path, stamp=OTHER_STAMP, files=(("host.tar.gz", b"newer"),)),
    )
    shutil.copy(old / "host.tar.gz.enc", new / "host.tar.gz.enc")
    with pytest.raises(BackupError, match=r"cs1 point 20261123T023000Z: .*fails its checksums"):
        opened(new, stamp=OTHER_STAMP)
    entry = manifest_of(old)["files"][0]
    resign(new, lambda m: m["files"][0].update(size=entry["size"], sha256=entry["sha256"]))
    with pytest.raises(BackupError, match=r"does not open as cs1's host\.tar\.gz of point 20261123T023000Z"):
        opened(new, stamp=OTHER_STAMP)


def test_a_file_renamed_within_a_point_is_refused(tmp_path):
    point = seal(tmp_path, files=(("a.conf", b"first"), ("b.conf", b"second")))
    a, b = point / "a.conf.enc", point / "b.conf.enc"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    with pytest.raises(BackupError, match="fails its checksums"):
        opened(point)

    def swap(manifest):
        first, second = manifest["files"]
        for field in ("size", "sha256"):
            first[field], second[field] = second[field], first[field]

    resign(point, swap)
    with pytest.raises(BackupError, match=r"does not open as cs1's a\.conf"):
        opened(point)


def test_a_whole_point_moved_to_another_host_or_point_is_refused(tmp_path):
    cs2 = seal(tmp_path, "cs2")
    moved = tmp_path / "store" / "cs1" / STAMP
    shutil.copytree(cs2, moved)
    with pytest.raises(
        BackupError, match="names host 'cs2' and point '20261122T023000Z', not cs1's point 20261122T023000Z"
    ):
        check_manifest(str(moved / MANIFEST), KEY, "cs1", STAMP)
    shutil.copytree(moved, tmp_path / "store" / "cs1" / OTHER_STAMP)
    with pytest.raises(BackupError, match="not cs1's point 20261123T023000Z"):
        check_manifest(str(tmp_path / "store" / "cs1" / OTHER_STAMP / MANIFEST), KEY, "cs1", OTHER_STAMP)


def edit(point, change):
    """The manifest edited by someone without the key (a compromised backup server)."""
    manifest = manifest_of(point)
    change(manifest)
    (point / MANIFEST).write_bytes(serialize_manifest(manifest))


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["packages"].update({"openssh-server": "1:8.0-evil"}),
        lambda m: m["files"][0].update(stored="../../x"),
        lambda m: m.update(host="cs2"),
        lambda m: m.update(stamp=OTHER_STAMP),
        lambda m: m.update(kind="gateway"),
        lambda m: m["kdf"].update(salt="11" * 16),
    ],
    ids=["packages", "stored-name", "host", "stamp", "kind", "salt"],
)
def test_a_tampered_manifest_is_refused_before_any_file_is_read(tmp_path, change, monkeypatch):
    point = seal(tmp_path)
    edit(point, change)
    (point / "host.tar.gz.enc").unlink()  # nothing it names is needed (or fetched) to refuse it
    with pytest.raises(BackupError, match="cs1 point 20261122T023000Z: the manifest's MAC does not match"):
        check_manifest(str(point / MANIFEST), KEY, "cs1", STAMP)
    with pytest.raises(BackupError, match="MAC does not match"):
        opened(point)
    assert not (point.parent / "open").exists() and not (tmp_path / "x").exists()


def test_names_and_shape_are_checked_even_under_a_valid_mac(tmp_path):
    point = seal(tmp_path)
    for stored, message in (("../../x", "a plain name is needed"), ("other.enc", "is stored as 'other.enc'")):
        resign(point, lambda m, s=stored: m["files"][0].update(stored=s))
        with pytest.raises(BackupError, match=message):
            check_manifest(str(point / MANIFEST), KEY, "cs1", STAMP)
    resign(point, lambda m: m.update(files=[]))
    with pytest.raises(BackupError, match="lists no file"):
        check_manifest(str(point / MANIFEST), KEY, "cs1", STAMP)


@pytest.mark.parametrize(
    ("kdf", "message"),
    [
        ({"n": 2**30}, "n=1073741824 is outside"),
        ({"r": 1024}, "r=1024 is outside"),
        ({"p": 64}, "p=64 is outside"),
        ({"n": 3 * 2**14}, "not a power of two"),
        ({"n": "32768"}, "n='32768' is outside"),
        ({"salt": ""}, "a salt of 0 bytes"),
        ({"salt": "zz"}, "not hexadecimal"),
        ({"name": "argon2"}, "only scrypt"),
    ],
)
def test_absurd_kdf_parameters_are_refused_without_deriving(tmp_path, kdf, message, monkeypatch):
    point = seal(tmp_path)
    edit(point, lambda m: m["kdf"].update(kdf))

    def no_scrypt(*args, **kwargs):
        raise AssertionError("scrypt ran on a hostile manifest's parameters")

    monkeypatch.setattr(voip_backup, "_crypto", no_scrypt)
    with pytest.raises(BackupError, match=f"cs1 point 20261122T023000Z: key derivation: .*{message}"):
        check_manifest(str(point / MANIFEST), KEY, "cs1", STAMP)


def test_a_manifest_not_in_canonical_form_or_too_large_is_refused(tmp_path):
    point = seal(tmp_path)
    (point / MANIFEST).write_text(json.dumps(manifest_of(point)))
    with pytest.raises(BackupError, match="not in its canonical form"):
        check_manifest(str(point / MANIFEST), KEY, "cs1", STAMP)
    (point / MANIFEST).write_bytes(b" " * (voip_backup.MANIFEST_MAX_BYTES + 1))
    with pytest.raises(BackupError, match="larger than"):
        check_manifest(str(point / MANIFEST), KEY, "cs1", STAMP)
    (point / MANIFEST).write_text("[]")
    with pytest.raises(BackupError, match="not a JSON object"):
        check_manifest(str(point / MANIFEST), KEY, "cs1", STAMP)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sealed")
    point = seal(tmp)
    return point, (point / MANIFEST).read_bytes(), (point / "host.tar.gz.enc").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from([MANIFEST, "host.tar.gz.enc"]))
def test_any_single_byte_change_is_refused(sealed, tmp_path_factory, data, which):
    point, manifest, stored = sealed
    original = manifest if which == MANIFEST else stored
    at = data.draw(st.integers(0, len(original) - 1), label="offset")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != original[at]), label="byte")
    copy = tmp_path_factory.mktemp("changed") / "point"
    shutil.copytree(point, copy)
    (copy / which).write_bytes(original[:at] + bytes([value]) + original[at + 1 :])
    with pytest.raises(BackupError):
        opened(copy, dest=copy.parent / "open")
    assert not (copy.parent / "open").exists()


def seal_v1(tmp_path, host="cs1", stamp=STAMP, stored="host.tar.gz.enc"):
    """A point as format 1 wrote it (main before format 2): SHA-256 key, bare name as associated data."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    out = tmp_path / "v1" / host / stamp
    out.mkdir(parents=True)
    nonce = os.urandom(12)
    sealed = AESGCM(hashlib.sha256(KEY.encode()).digest()).encrypt(nonce, b"old /etc", b"host.tar.gz")
    (out / "host.tar.gz.enc").write_bytes(b"VOIPBK1\n" + nonce + sealed)
    data = (out / "host.tar.gz.enc").read_bytes()
    entry = {"name": "host.tar.gz", "stored": stored, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
             "content_sha256": hashlib.sha256(b"old /etc").hexdigest(), "encrypted": "aes-256-gcm"}  # fmt: skip
    manifest = {"host": host, "kind": "linux", "stamp": stamp, "packages": {}, "files": [entry]}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def test_a_format_1_point_is_refused_unless_allowed(tmp_path):
    old = seal_v1(tmp_path)
    with pytest.raises(
        BackupError, match=r"a format-1 point .*playbooks/backup.yml --limit cs1.*host_backup_allow_v1=20"
    ):
        opened(old)
    manifest, files = opened(old, allow_v1=True)
    assert Path(files["host.tar.gz"]).read_bytes() == b"old /etc" and manifest["host"] == "cs1"
    # Allowed, its names and its host and point are still checked, its files must still decrypt with the key.
    with pytest.raises(BackupError, match="a plain name is needed"):
        opened(seal_v1(tmp_path, host="cs2", stored="../../x"), host="cs2", allow_v1=True)
    with pytest.raises(BackupError, match="not cs1's point 20261123T023000Z"):
        opened(old, stamp=OTHER_STAMP, allow_v1=True)
    # A format-2 point stripped of its format and MAC (a downgrade) does not open as format 1.
    new = seal(tmp_path)
    downgraded = manifest_of(new)
    del downgraded["format"], downgraded["mac"]
    (new / MANIFEST).write_text(json.dumps(downgraded))
    with pytest.raises(BackupError, match="not a format-1 backup file"):
        opened(new, allow_v1=True)


def test_the_modules_seal_and_open_in_two_steps(tmp_path, module_runner, monkeypatch):
    plain = tmp_path / "clear" / "host.tar.gz"
    plain.parent.mkdir()
    plain.write_bytes(b"the host's files")
    stage = tmp_path / "sealed"
    point = {
        "host": "cs1",
        "stamp": STAMP,
        "kind": "linux",
        "files": [{"src": str(plain), "name": "host.tar.gz"}],
    }
    args = {"points": [point], "key": KEY, "stage": str(stage), "repo": str(tmp_path)}
    code, result, out = module_runner("backup_seal", args)
    assert code == 0 and result["points"] == [{"host": "cs1", "stamp": STAMP}] and KEY not in out
    assert not plain.exists() and manifest_of(stage / "cs1" / STAMP)["format"] == 2
    point = {"point": str(stage / "cs1" / STAMP), "key": KEY, "host": "cs1", "stamp": STAMP}
    code, result, out = module_runner("backup_open", {**point, "mode": "verify"})
    assert code == 0 and result["stored"] == ["host.tar.gz.enc"] and "files" not in result and KEY not in out
    code, result, _unused = module_runner("backup_open", {**point, "dest": str(tmp_path / "open")})
    assert code == 0 and Path(result["files"]["host.tar.gz"]).read_bytes() == b"the host's files"
    code, result, _unused = module_runner("backup_open", {**point, "host": "cs2", "mode": "verify"})
    assert code == 1 and result["msg"].startswith(
        "refused: cs2 point 20261122T023000Z: the manifest names host 'cs1'"
    )
    code, result, _unused = module_runner("backup_seal", {**args, "key": "short"})
    assert code == 1 and "cs1: cannot seal the backup: the backup key must have at least 16" in result["msg"]


def test_a_deeply_nested_manifest_is_refused_without_a_traceback(tmp_path):
    """A small manifest of nested brackets made json.loads raise RecursionError, which escaped as a traceback."""
    from ansible_collections.voip.estate.plugins.module_utils.voip_backup import read_manifest

    path = tmp_path / "MANIFEST.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(BackupError, match="nested too deeply"):
        read_manifest(str(path))
