"""The module backup_archive: every member once, databases as consistent snapshots.

A restore refuses an archive that names a member twice. Two databases in one
directory (a call server's configuration and call records) once added that
directory twice, and the release's rollback of cs1 failed on it ("var/lib/kamailio:
in the archive twice").
"""

from __future__ import annotations

import sqlite3
import tarfile

import pytest


@pytest.fixture
def host(tmp_path):
    state = tmp_path / "var" / "lib" / "kamailio"
    state.mkdir(parents=True)
    for name, rows in (("kamailio.sqlite", 3), ("calls.sqlite", 5)):
        with sqlite3.connect(state / name) as conn:
            conn.execute("PRAGMA journal_mode = wal")
            conn.execute("CREATE TABLE t (x)")
            conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("cs1\n")
    return tmp_path


def members(path):
    with tarfile.open(path) as tar:
        return tar.getnames()


@pytest.mark.parametrize("with_the_directory", [False, True])
def test_two_databases_in_one_directory_and_the_directory_itself_each_once(
    host, module_runner, tmp_path, with_the_directory
):
    state = host / "var" / "lib" / "kamailio"
    paths = [str(host / "etc"), *([str(state)] if with_the_directory else [])]
    dest = tmp_path / "backup.tar.gz"
    databases = [str(state / "kamailio.sqlite"), str(state / "calls.sqlite")]
    args = {"paths": paths, "databases": databases, "dest": str(dest)}
    code, result, _out = module_runner("backup_archive", args)
    assert code == 0, result
    names = members(dest)
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    root = str(state).lstrip("/")
    assert {f"{root}/kamailio.sqlite", f"{root}/calls.sqlite", root} <= set(names)
    # The live database's journal files never go in: the snapshot is the database.
    assert not any(n.endswith(("-wal", "-shm")) for n in names)
    with tarfile.open(dest) as tar:
        tar.extract(f"{root}/calls.sqlite", tmp_path / "out", filter="data")
    with sqlite3.connect(tmp_path / "out" / root / "calls.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (5,)
