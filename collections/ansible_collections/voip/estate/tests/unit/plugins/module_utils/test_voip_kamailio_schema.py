"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_kamailio_schema: tables created once, existing ones left alone."""

from __future__ import annotations

import sqlite3

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_schema import (
    SchemaError,
    ensure,
    ensure_journal_mode,
)

STANDARD = """CREATE TABLE version (
    id INTEGER PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL
);

INSERT INTO version (table_name, table_version) values ('version','1');
"""
ALIAS = """CREATE TABLE dbaliases (
    id INTEGER PRIMARY KEY NOT NULL,
    alias_username VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL
);

CREATE INDEX dbaliases_alias_user_idx ON dbaliases (alias_username);

INSERT INTO version (table_name, table_version) values ('dbaliases','1');
"""


@pytest.fixture
def schema_dir(tmp_path):
    d = tmp_path / "db_sqlite"
    d.mkdir()
    (d / "standard-create.sql").write_text(STANDARD)
    (d / "alias_db-create.sql").write_text(ALIAS)
    return str(d)


def test_created_once_then_nothing(tmp_path, schema_dir):
    db = str(tmp_path / "k.sqlite")
    assert ensure(db, schema_dir, ["standard", "alias_db"], check_mode=True) == ["version", "dbaliases"]
    assert ensure(db, schema_dir, ["standard", "alias_db"]) == ["version", "dbaliases"]
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO dbaliases (alias_username, username) VALUES ('+3120', '2001')")
    assert ensure(db, schema_dir, ["standard", "alias_db"]) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM dbaliases").fetchone() == (1,)
        assert sorted(conn.execute("SELECT table_name FROM version")) == [("dbaliases",), ("version",)]


def test_new_module_adds_only_its_tables(tmp_path, schema_dir):
    db = str(tmp_path / "k.sqlite")
    ensure(db, schema_dir, ["standard"])
    assert ensure(db, schema_dir, ["standard", "alias_db"]) == ["dbaliases"]


def test_unknown_module_is_named(tmp_path, schema_dir):
    with pytest.raises(SchemaError, match="no schema for Kamailio module 'nope'"):
        ensure(str(tmp_path / "k.sqlite"), schema_dir, ["nope"])


def _journal_mode(db) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def test_journal_mode_set_once_and_kept(tmp_path, schema_dir):
    db = str(tmp_path / "k.sqlite")
    ensure(db, schema_dir, ["standard"])
    assert ensure_journal_mode(db, "wal", check_mode=True) == "delete"
    assert _journal_mode(db) == "delete", "check mode changes nothing"
    assert ensure_journal_mode(db, "wal") == "delete"
    assert _journal_mode(db) == "wal", "sqlite keeps WAL in the file for the next connection"
    assert ensure_journal_mode(db, "wal") == "wal"


def test_unknown_journal_mode_is_refused(tmp_path, schema_dir):
    db = str(tmp_path / "k.sqlite")
    ensure(db, schema_dir, ["standard"])
    with pytest.raises(SchemaError, match="not one of"):
        ensure_journal_mode(db, "wal; DROP TABLE version")
    assert _journal_mode(db) == "delete"


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_a_reader_during_a_write(tmp_path, schema_dir, mode):
    """Kamailio reads without a busy timeout: in the default mode a read while another process holds
    the write lock fails at once ("database is locked", the 403 seen in the lab); in WAL it reads."""
    db = str(tmp_path / "k.sqlite")
    ensure(db, schema_dir, ["standard"])
    ensure_journal_mode(db, mode)
    writer = sqlite3.connect(db, isolation_level=None)
    reader = sqlite3.connect(db, timeout=0)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("INSERT INTO version (table_name, table_version) VALUES ('location', 9)")
        if mode == "delete":
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                reader.execute("SELECT count(*) FROM version").fetchone()
        else:
            assert reader.execute("SELECT count(*) FROM version").fetchone() == (1,)
        writer.execute("COMMIT")
    finally:
        writer.close()
        reader.close()
