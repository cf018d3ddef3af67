#!/usr/bin/python
"""Put a backup archive's files back on the host, and remove what the backup did not have."""

DOCUMENTATION = r"""
module: backup_extract
short_description: Restore a backup archive's files onto the host exactly
description:
  - Runs on the host. Extracts O(archive) (a M(backup_archive) tar) into C(/) with the recorded
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
    An existing link or file at a member's own path is removed first, so it is replaced, never
    written through. Python's tarfile C(data) filter is not used, as it refuses those absolute links and
    drops owners; its C(tar) filter's "outside the destination" check is void with the destination
    C(/) and it would clear set-id and group-write mode bits. After the checks the members are
    extracted with the C(fully_trusted) filter (where this Python has filters), owners, groups and
    modes exactly as backed up.
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
    support: partial
    details: Checks every member as a real run would and writes nothing (what would be removed is not computed).
  diff_mode:
    support: none
author: voip-estate
"""

EXAMPLES = r"""
- name: Put the files back
  backup_extract:
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

import os
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


def _trusted():
    # Python 3.12+ (and security releases of 3.8-3.11) take an extraction filter; 3.14 defaults to
    # "data", which refuses /etc's absolute links. The members are checked: extract them as they are.
    return {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}


def extract(archive, exclude, root="/", roots=(), check_only=False):
    with tarfile.open(archive) as tar:
        members = check(tar, exclude, root, roots)
        if check_only:
            return len(members), []
        for member in members:
            target = os.path.join(root, member.name)
            if os.path.islink(target) or (os.path.lexists(target) and not os.path.isdir(target)):
                os.unlink(target)  # replaced, never written through
        tar.extractall(root, members=members, numeric_owner=False, **_trusted())
    names = {m.name for m in members}
    directories = sorted(m.name for m in members if m.isdir())
    removed = []
    for directory in directories:
        base = os.path.join(root, directory)
        for entry in sorted(os.listdir(base)):
            rel = f"{directory}/{entry}"
            path = os.path.join(base, entry)
            if rel in names or _excluded(rel, exclude) or (os.path.isdir(path) and not os.path.islink(path)):
                continue
            os.unlink(path)
            removed.append("/" + rel)
    return len(members), removed


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
        module.fail_json(msg=f"cannot restore the files: {exc}")
    module.exit_json(changed=True, extracted=count, removed=removed)


if __name__ == "__main__":
    main()
