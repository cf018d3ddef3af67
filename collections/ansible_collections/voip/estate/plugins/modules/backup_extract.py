#!/usr/bin/python
"""Put a backup archive's files back on the host, and remove what the backup did not have."""

DOCUMENTATION = r"""
module: backup_extract
short_description: Restore a backup archive's files onto the host exactly
description:
  - Runs on the host. Extracts O(archive) (a M(voip.estate.backup_archive) tar) into C(/) with the recorded
    owners (by name), groups and modes, then, inside every directory the archive holds, removes
    the files and links the backup did not have (for example a package's default site that the
    package installation of a restore added), so that the restored paths are what was backed up.
  - Paths in O(exclude) (relative, as in the archive) are neither extracted nor removed (files the
    platform provides, such as container mounts).
  - Every member is checked before anything is written; one refused member refuses the whole
    archive and leaves the host unchanged. Refused are - names that are absolute, empty, or hold
    C(.) or C(..) components; members outside O(roots); members named twice; anything but regular
    files, directories, symbolic links and hard links (devices, fifos); hard links whose target is
    not an earlier regular-file member; any member below a symbolic link, whether the link is a
    member of the archive or already on the host (nothing is written through a link); a file or link
    where the host has a real directory.
  - The symbolic links themselves are restored as they were, absolute targets included (C(/etc)
    holds the link C(/etc/localtime) to C(/usr/share/zoneinfo/...)); they are never followed when writing.
    An existing link or file at a member's own path is replaced (the member is written under a
    temporary name in the same directory and renamed over it), never written through.
  - Writing does not use tarfile's extraction - every directory is opened component by component
    without following links, and every file, link, owner, mode and removal is made relative to an open
    directory. A local user who swaps a directory or a file for a link while the restore runs (home
    directories belong to their users) makes that member fail; root never writes, changes the owner
    of, or deletes through the link. Owners and groups by name (else by number), modes with set-id
    bits and file times exactly as backed up.
options:
  archive:
    description: The archive on the host.
    type: path
    required: true
  exclude:
    description: Archive paths to leave alone (and everything below them).
    type: list
    elements: str
    default: []
  roots:
    description:
      - The paths the archive may hold (the backup paths, and the databases' directories); every
        member must be one of them or below one. Empty - the archive's own top-level members
        (those without a parent member) are the roots.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: partial
    details: Checks every member as a real run would and writes nothing (what would be removed is not computed).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Put the files back
  voip.estate.backup_extract:
    archive: /var/tmp/restore.tar.gz
    exclude: [etc/hosts, etc/hostname, etc/resolv.conf]
    roots: [/etc, /home, /var/lib/kamailio]
"""

RETURN = r"""
extracted:
  description: Entries extracted.
  type: int
  returned: success
removed:
  description: Files and links removed because the backup did not have them.
  type: list
  elements: str
  returned: success
"""

import contextlib
import grp
import os
import pwd
import stat
import tarfile

from ansible.module_utils.basic import AnsibleModule


def _excluded(name, exclude):
    return any(name == e or name.startswith(e.rstrip("/") + "/") for e in exclude)


def _under(name, roots):
    return any(name == r or name.startswith(r + "/") for r in roots)


def _check_name(name):
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\0" in name:
        raise ValueError(f"unsafe path in the archive: {name!r}")
    return parts


def _check_member(member, seen, links, root, roots):
    """Refuse ``member`` (ValueError naming it) unless it can be written without leaving its place."""
    parts = _check_name(member.name)
    if not _under(member.name, roots):
        raise ValueError(f"{member.name}: outside the archive's roots ({', '.join(sorted(roots))})")
    if member.name in seen:
        raise ValueError(f"{member.name}: in the archive twice")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise ValueError(f"{member.name}: a device, fifo or other special file")
    for depth in range(1, len(parts)):
        parent = "/".join(parts[:depth])
        if parent in links or seen.get(parent) in ("lnk", "file"):
            raise ValueError(f"{member.name}: below {parent}, a link or file in the archive")
        if os.path.islink(os.path.join(root, parent)):
            raise ValueError(f"{member.name}: below {parent}, a symbolic link on the host")
    target = os.path.join(root, member.name)
    if not member.isdir() and os.path.isdir(target) and not os.path.islink(target):
        raise ValueError(
            f"{member.name}: a directory on the host, not a {'link' if member.issym() else 'file'}"
        )
    if member.islnk():
        _check_name(member.linkname)
        if seen.get(member.linkname) != "file":
            raise ValueError(
                f"{member.name}: a hard link to {member.linkname}, not an earlier file of the archive"
            )
    seen[member.name] = (
        "sym" if member.issym() else "lnk" if member.islnk() else "dir" if member.isdir() else "file"
    )


def check(tar, exclude, root="/", roots=()):
    """The members to extract, each checked before anything is written (ValueError naming the first
    refused one)."""
    members = [m for m in tar.getmembers() if not _excluded(m.name, exclude)]
    names = {m.name for m in members}
    roots = {r.strip("/") for r in roots} or {
        m.name for m in members if m.name.rpartition("/")[0] not in names
    }
    links = {m.name for m in members if m.issym()}
    seen = {}
    for member in members:
        _check_member(member, seen, links, root, roots)
    return members


# Every directory is opened component by component without following links,
# and every write is relative to an open directory: a local user who swaps a
# directory or a file for a link while the restore runs (in a home directory,
# say) makes that member fail; root never writes or deletes through the link.
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _walk(root_fd, parts, create=False):
    """An open fd of the directory ``parts`` below ``root_fd``, no link followed (OSError otherwise)."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            nxt = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def _owner(member):
    """uid and gid of a member: its names on this host, else its numbers (as tarfile does)."""
    try:
        uid = pwd.getpwnam(member.uname).pw_uid if member.uname else member.uid
    except KeyError:
        uid = member.uid
    try:
        gid = grp.getgrnam(member.gname).gr_gid if member.gname else member.gid
    except KeyError:
        gid = member.gid
    return uid, gid


def _place(tar, member, parent_fd, name, root_fd, serial):
    """Write one non-directory member under a temporary name in ``parent_fd``, then rename it over
    ``name`` (a link or file there is replaced, never followed)."""
    tmp = f".voip-restore-{os.getpid()}-{serial}"
    uid, gid = _owner(member)
    if member.issym():
        os.symlink(member.linkname, tmp, dir_fd=parent_fd)
        os.chown(tmp, uid, gid, dir_fd=parent_fd, follow_symlinks=False)
    elif member.islnk():
        *src_dirs, src = member.linkname.split("/")
        src_fd = _walk(root_fd, src_dirs)
        try:
            os.link(src, tmp, src_dir_fd=src_fd, dst_dir_fd=parent_fd, follow_symlinks=False)
        finally:
            os.close(src_fd)
    else:
        fd = os.open(tmp, _NEW, 0o600, dir_fd=parent_fd)
        try:
            source = tar.extractfile(member)
            for chunk in iter(lambda: source.read(1 << 20), b""):
                os.write(fd, chunk)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, member.mode & 0o7777)
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)
    try:
        os.rename(tmp, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    except BaseException:
        os.unlink(tmp, dir_fd=parent_fd)
        raise


def _unlink_unless_directory(parent_fd, name):
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISDIR(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode):
            os.unlink(name, dir_fd=parent_fd)


def _write(tar, members, root_fd):
    for serial, member in enumerate(members):
        *dirs, name = member.name.split("/")
        parent_fd = _walk(root_fd, dirs, create=True)
        try:
            if member.isdir():
                _unlink_unless_directory(parent_fd, name)  # a link or file where the backup has a directory
                fd = _walk(parent_fd, [name], create=True)
                try:
                    os.fchown(fd, *_owner(member))
                    os.fchmod(fd, member.mode & 0o7777)
                finally:
                    os.close(fd)
            else:
                _place(tar, member, parent_fd, name, root_fd, serial)
        finally:
            os.close(parent_fd)


def _remove_extra(members, exclude, root_fd):
    """In every directory of the archive, remove the files and links the backup did not have."""
    names = {m.name for m in members}
    removed = []
    for directory in sorted(m.name for m in members if m.isdir()):
        fd = _walk(root_fd, directory.split("/"))
        try:
            for entry in sorted(os.listdir(fd)):
                rel = f"{directory}/{entry}"
                if rel in names or _excluded(rel, exclude):
                    continue
                if stat.S_ISDIR(os.stat(entry, dir_fd=fd, follow_symlinks=False).st_mode):
                    continue
                os.unlink(entry, dir_fd=fd)
                removed.append("/" + rel)
        finally:
            os.close(fd)
    return removed


def extract(archive, exclude, root="/", roots=(), check_only=False):
    with tarfile.open(archive) as tar:
        members = check(tar, exclude, root, roots)
        if check_only:
            return len(members), []
        root_fd = os.open(root, _DIR)
        try:
            _write(tar, members, root_fd)
            return len(members), _remove_extra(members, exclude, root_fd)
        finally:
            os.close(root_fd)


def main():
    module = AnsibleModule(
        argument_spec={
            "archive": {"type": "path", "required": True},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "roots": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    exclude = [e.lstrip("/") for e in module.params["exclude"]]
    try:
        count, removed = extract(
            module.params["archive"], exclude, roots=module.params["roots"], check_only=module.check_mode
        )
    except ValueError as exc:
        module.fail_json(msg=f"the archive is refused, nothing was changed: {exc}")
    except (OSError, tarfile.TarError) as exc:
        # ELOOP/ENOTDIR: a directory became a link while the restore ran (never followed).
        module.fail_json(msg=f"cannot restore the files: {exc}")
    module.exit_json(changed=True, extracted=count, removed=removed)


if __name__ == "__main__":
    main()
