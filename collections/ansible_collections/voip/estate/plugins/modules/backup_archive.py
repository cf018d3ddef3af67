#!/usr/bin/python
"""Archive a host's backup paths and consistent snapshots of its sqlite databases."""

DOCUMENTATION = r"""
module: backup_archive
short_description: Archive a host's paths and sqlite snapshots for a backup point
description:
  - Runs on the host. Writes one gzip'd tar to O(dest) (mode 0600) with the O(paths) (directories or
    files; sockets and device files skipped) and, for each of O(databases), a consistent snapshot made
    with sqlite's online backup (not a copy of a file in use), stored under the database's own path.
  - Also returns the host's manually installed packages with their versions, so that a restore
    onto a bare host installs the same ones.
  - Changed whenever an archive is written (a backup point is new by nature).
options:
  paths:
    description: Absolute paths to archive (missing ones are an error).
    type: list
    elements: path
    default: []
  databases:
    description: sqlite databases to snapshot (missing ones are an error).
    type: list
    elements: path
    default: []
  dest:
    description: Archive to write on the host.
    type: path
    required: true
extends_documentation_fragment:
  - voip.estate.voip_attributes.check
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Archive the call server
  voip.estate.backup_archive:
    paths: [/etc]
    databases: [/var/lib/kamailio/kamailio.sqlite]
    dest: /var/tmp/voip-backup.tar.gz
"""

RETURN = r"""
path:
  description: The archive written.
  type: str
  returned: success
sha256:
  description: sha256 of the archive.
  type: str
  returned: success
size:
  description: Bytes of the archive.
  type: int
  returned: success
members:
  description: Entries in the archive.
  type: int
  returned: success
packages:
  description: Manually installed packages and their versions.
  type: dict
  returned: success
"""

import grp
import os
import pwd
import sqlite3
import stat
import subprocess
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import BackupError, sha256_file


def _packages():
    try:
        manual = subprocess.run(
            ["apt-mark", "showmanual"], capture_output=True, text=True, check=True
        ).stdout.split()
        if not manual:
            return {}
        listed = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package}\t${Version}\n", *manual],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return dict(line.split("\t", 1) for line in listed.splitlines() if "\t" in line)


def _owner(st):
    """(user name, group name) of a file, as tar records them (names win over ids on extraction)."""
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = ""
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = ""
    return user, group


def _keep(member):
    # Regular files, directories and links only (no sockets, fifos, devices).
    return member if (member.isfile() or member.isdir() or member.issym() or member.islnk()) else None


def _snapshot(tar, db, added):
    """A consistent snapshot of sqlite database ``db`` under its own path, after its directory (once:
    sqlite writes its journal there), both with the original owner, group and mode."""
    with tempfile.TemporaryDirectory() as work:
        snapshot = os.path.join(work, "snapshot.sqlite")
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        target = sqlite3.connect(snapshot)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        parent = os.path.dirname(db)
        if parent.lstrip("/") not in added:
            tar.add(parent, arcname=parent.lstrip("/"), recursive=False)
            added.add(parent.lstrip("/"))
        info = tar.gettarinfo(snapshot, arcname=db.lstrip("/"))
        st = os.stat(db)
        info.uid, info.gid, info.mode = st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)
        info.uname, info.gname = _owner(st)
        with open(snapshot, "rb") as handle:
            tar.addfile(info, handle)
        added.add(info.name)


def archive(paths, databases, dest):
    missing = [p for p in (*paths, *databases) if not os.path.lexists(p)]
    if missing:
        raise BackupError(f"not on this host: {', '.join(missing)}")
    # Every member once: a restore refuses an archive that names one twice. A
    # database (and its journal) inside a backed-up path is its snapshot only,
    # never the live file; two databases in one directory add it once.
    live = {db.lstrip("/") + suffix for db in databases for suffix in ("", "-wal", "-shm", "-journal")}
    added = set()

    def keep(member):
        member = _keep(member)
        if member is None or member.name in live or member.name in added:
            return None
        added.add(member.name)
        return member

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest) or ".", prefix=".voip-backup-")
    os.close(fd)
    count = 0
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for path in paths:
                tar.add(path, arcname=path.lstrip("/"), filter=keep)
            for db in databases:
                _snapshot(tar, db, added)
            count = len(tar.getmembers())
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return count


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "databases": {"type": "list", "elements": "path", "default": []},
            "dest": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not params["paths"] and not params["databases"]:
        module.fail_json(msg="nothing to back up: give paths or databases")
    if module.check_mode:
        module.exit_json(changed=True, path=params["dest"], packages=_packages())
    try:
        count = archive(params["paths"], params["databases"], params["dest"])
    except (BackupError, OSError, sqlite3.Error, tarfile.TarError) as exc:
        module.fail_json(msg=f"cannot archive: {exc}")
    module.exit_json(
        changed=True,
        path=params["dest"],
        sha256=sha256_file(params["dest"]),
        size=os.path.getsize(params["dest"]),
        members=count,
        packages=_packages(),
    )


if __name__ == "__main__":
    main()
