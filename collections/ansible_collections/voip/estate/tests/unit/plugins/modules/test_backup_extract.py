"""collections/ansible_collections/voip/estate/plugins/modules/backup_extract: what a restore refuses to write, and that a refused archive changes nothing.

Every attack here went through main's extraction before this change (tarfile's
extractall without a filter, only absolute and ``..`` names refused): a file
written through a link of the archive or of the host, a relative ``../``
link chain, a duplicate name that turns a link into a write target, a hard
link to a file outside the archive, a fifo, a member outside the backup paths.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from ansible_collections.voip.estate.plugins.modules.backup_extract import extract


def member(tar, name, kind="file", data=b"x", link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
                 "hard": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]  # fmt: skip
    info.linkname = link
    if kind == "dir":
        info.mode = 0o755
    if kind == "file":
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def archive(tmp_path, *members):
    path = tmp_path / "backup.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for args in members:
            member(tar, *args[:2], **(args[2] if len(args) > 2 else {}))
    return path


@pytest.fixture
def lab(tmp_path):
    """A host root with /etc, and an outside directory a hostile archive aims at."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("cs1\n")
    outside.mkdir()
    (outside / "secret").write_text("outside\n")
    return root, outside


def tree(*dirs: Path) -> dict:
    """Everything under ``dirs``: path -> (kind, content or link target, mode)."""
    found = {}
    for top in dirs:
        for base, names, files in os.walk(top):
            for name in names + files:
                path = Path(base, name)
                st = path.lstat()
                what = (
                    os.readlink(path) if path.is_symlink() else (path.read_bytes() if path.is_file() else b"")
                )
                found[str(path)] = (st.st_mode, what, st.st_ino)
    return found


def refused(tmp_path, lab, members, message, roots=("etc",)):
    root, outside = lab
    path = archive(tmp_path, *members)
    before = tree(root, outside)
    with pytest.raises(ValueError, match=message):
        extract(str(path), [], root=str(root), roots=list(roots))
    assert tree(root, outside) == before, "a refused archive changed the host"


def test_a_file_below_a_symlink_of_the_archive_is_refused(tmp_path, lab):
    _unused, outside = lab
    refused(tmp_path, lab, [("etc", "dir"), ("etc/good", "file"), ("etc/evil", "sym", {"link": str(outside)}),
                            ("etc/evil/dropped", "file")], "etc/evil/dropped: below etc/evil, a link")  # fmt: skip


def test_a_file_below_a_symlink_already_on_the_host_is_refused(tmp_path, lab):
    root, outside = lab
    (root / "etc" / "conf.d").symlink_to(outside)
    refused(tmp_path, lab, [("etc", "dir"), ("etc/conf.d/dropped", "file")],
            "etc/conf.d/dropped: below etc/conf.d, a symbolic link on the host")  # fmt: skip


def test_a_relative_link_chain_is_refused(tmp_path, lab):
    # etc/l1 -> .. (the root), etc/l2 -> l1/.. (the root's parent): etc/l2/outside/x lands outside.
    refused(tmp_path, lab, [("etc", "dir"), ("etc/l1", "sym", {"link": ".."}), ("etc/l2", "sym", {"link": "l1/.."}),
                            ("etc/l2/outside/x", "file")], "below etc/l2, a link")  # fmt: skip


def test_a_link_then_a_file_of_the_same_name_is_refused(tmp_path, lab):
    _unused, outside = lab
    refused(tmp_path, lab, [("etc", "dir"), ("etc/motd", "sym", {"link": str(outside / "secret")}),
                            ("etc/motd", "file", {"data": b"owned\n"})], "etc/motd: in the archive twice")  # fmt: skip


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("{outside}/secret", "unsafe path"),
        ("../outside/secret", "unsafe path"),
        ("etc/hostname", "a hard link to etc/hostname, not an earlier file of the archive"),
        ("etc/later", "a hard link to etc/later, not an earlier file"),
    ],
)
def test_a_hard_link_to_a_file_not_earlier_in_the_archive_is_refused(tmp_path, lab, link, message):
    _unused, outside = lab
    refused(tmp_path, lab, [("etc", "dir"), ("etc/h", "hard", {"link": link.format(outside=outside)}),
                            ("etc/later", "file")], message)  # fmt: skip


@pytest.mark.parametrize("kind", ["fifo", "chr"])
def test_a_device_or_fifo_is_refused(tmp_path, lab, kind):
    refused(tmp_path, lab, [("etc", "dir"), ("etc/good", "file"), ("etc/dev", kind)], "a device, fifo")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("root/.ssh/authorized_keys", "outside the archive's roots"),
        ("/etc/passwd", "unsafe path"),
        ("etc/../x", "unsafe path"),
        ("etc//x", "unsafe path"),
        ("./etc/x", "unsafe path"),
    ],
)
def test_a_member_outside_the_roots_or_with_an_unsafe_name_is_refused(tmp_path, lab, name, message):
    refused(tmp_path, lab, [("etc", "dir"), ("etc/good", "file"), (name, "file")], message)


def test_without_given_roots_the_archives_own_top_members_are_the_roots(tmp_path, lab):
    refused(tmp_path, lab, [("etc", "dir"), ("etc/evil", "sym", {"link": "/"}), ("etc/evil/x", "file")],
            "below etc/evil", roots=())  # fmt: skip


def test_a_file_where_the_host_has_a_directory_is_refused(tmp_path, lab):
    root, _unused = lab
    (root / "etc" / "ssl").mkdir()
    refused(tmp_path, lab, [("etc", "dir"), ("etc/ssl", "file")], "etc/ssl: a directory on the host")


def test_links_are_restored_as_they_were_and_replace_never_write_through(tmp_path, lab):
    """What /etc legitimately holds: absolute links, hard links to earlier files, a file where a link was."""
    root, outside = lab
    (root / "etc" / "motd").symlink_to(outside / "secret")  # the host has a link where the backup has a file
    (root / "etc" / "subdir").symlink_to(outside)  # and a link where the backup has a directory
    path = archive(
        tmp_path,
        ("etc", "dir"),
        ("etc/localtime", "sym", {"link": "/usr/share/zoneinfo/Europe/Amsterdam"}),
        ("etc/os-release", "sym", {"link": "../usr/lib/os-release"}),
        ("etc/passwd", "file", {"data": b"root:x:0:0\n"}),
        ("etc/passwd.hard", "hard", {"link": "etc/passwd"}),
        ("etc/motd", "file", {"data": b"restored motd\n"}),
        ("etc/subdir", "dir"),
        ("etc/setgid", "file", {"mode": 0o2775}),
    )
    count, removed = extract(str(path), [], root=str(root), roots=["/etc"])
    etc = root / "etc"
    assert os.readlink(etc / "localtime") == "/usr/share/zoneinfo/Europe/Amsterdam"
    assert os.readlink(etc / "os-release") == "../usr/lib/os-release"
    assert (etc / "passwd.hard").stat().st_ino == (etc / "passwd").stat().st_ino
    assert not (etc / "motd").is_symlink() and (etc / "motd").read_text() == "restored motd\n"
    assert (outside / "secret").read_text() == "outside\n", "written through the host's link"
    assert (etc / "subdir").is_dir() and not (etc / "subdir").is_symlink()
    assert oct((etc / "setgid").stat().st_mode & 0o7777) == "0o2775", "modes exactly as backed up"
    assert count == 8 and removed == ["/etc/hostname"]


def test_the_module_says_the_archive_is_refused_and_nothing_changed(
    tmp_path, lab, module_runner, monkeypatch
):
    import ansible_collections.voip.estate.plugins.modules.backup_extract as module

    root, outside = lab
    path = archive(
        tmp_path, ("etc", "dir"), ("etc/evil", "sym", {"link": str(outside)}), ("etc/evil/x", "file")
    )
    monkeypatch.setattr(
        module, "extract", lambda archive, exclude, **kw: extract(archive, exclude, str(root), **kw)
    )
    for check in (True, False):
        code, result, _unused = module_runner(
            "backup_extract", {"archive": str(path), "roots": ["/etc"]}, check=check
        )
        assert code == 1 and result["msg"] == (
            "the archive is refused, nothing was changed: etc/evil/x: below etc/evil, a link or file in the archive"
        )
    good = archive(tmp_path, ("etc", "dir"), ("etc/new", "file"))
    before = tree(root)
    code, result, _unused = module_runner(
        "backup_extract", {"archive": str(good), "roots": ["/etc"]}, check=True
    )
    assert code == 0 and result["extracted"] == 2 and tree(root) == before, "check mode wrote"
    assert not (outside / "x").exists()


# -- a local user racing the restore -------------------------------------------------------------
# /home is a restore root, and its directories belong to their users: while the
# restore runs a user can put links where the archive has a file or a
# directory. Root must then neither write nor delete through them. Against the
# first format-2 extraction (checks, unlink, then tarfile's extractall and a
# path-based removal loop) a link planted after the unlink made root overwrite
# /etc/shadow and give it to the user, and a directory swapped for a link to
# /etc made the removal loop empty /etc (an attacker's review, scripts hooking
# extractall). These tests plant the links at the new writer's own seams:
# after the checks, and between a directory's creation and the next member.


def _race_after_check(monkeypatch, plant):
    import ansible_collections.voip.estate.plugins.modules.backup_extract as bx

    checked = bx.check

    def check_then_race(*args, **kwargs):
        members = checked(*args, **kwargs)
        plant()
        return members

    monkeypatch.setattr(bx, "check", check_then_race)


def test_links_planted_after_the_checks_are_replaced_not_followed(tmp_path, lab, monkeypatch):
    root, outside = lab
    home = root / "home" / "u"
    (home / "sub").mkdir(parents=True)
    (outside / "keep").write_text("not in the archive\n")
    before = tree(outside)

    def plant():
        (home / ".profile").symlink_to(outside / "secret")  # a file of the archive
        (home / "sub").rmdir()
        (home / "sub").symlink_to(outside)  # a directory of the archive

    _race_after_check(monkeypatch, plant)
    path = archive(tmp_path, ("home", "dir"), ("home/u", "dir"), ("home/u/sub", "dir"),
                   ("home/u/.profile", "file", {"data": b"user profile\n", "mode": 0o600}))  # fmt: skip
    extract(str(path), [], root=str(root), roots=["/home"])
    assert tree(outside) == before, "written, chmod'ed or deleted through a planted link"
    assert (home / ".profile").read_text() == "user profile\n" and not (home / ".profile").is_symlink()
    assert (home / "sub").is_dir() and not (home / "sub").is_symlink()


def test_a_directory_swapped_for_a_link_during_the_writes_fails_without_following_it(
    tmp_path, lab, monkeypatch
):
    """The swap lands after the directory was made: the next member below it fails (ELOOP/ENOTDIR)."""
    import ansible_collections.voip.estate.plugins.modules.backup_extract as bx

    root, outside = lab
    before = tree(outside)
    walk = bx._walk

    def walk_then_swap(root_fd, parts, create=False):
        if (
            parts == ["home", "u"]
            and (root / "home" / "u").is_dir()
            and not (root / "home" / "u").is_symlink()
        ):
            os.rename(root / "home" / "u", root / "home" / "u.old")
            (root / "home" / "u").symlink_to(outside)
        return walk(root_fd, parts, create)

    monkeypatch.setattr(bx, "_walk", walk_then_swap)
    path = archive(
        tmp_path, ("home", "dir"), ("home/u", "dir"), ("home/u/secret", "file", {"data": b"mine\n"})
    )
    with pytest.raises(OSError):
        extract(str(path), [], root=str(root), roots=["/home"])
    assert tree(outside) == before, "written through a link swapped in during the restore"
