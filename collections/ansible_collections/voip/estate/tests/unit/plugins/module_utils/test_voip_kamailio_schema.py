"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_kamailio_schema: tables created once, existing ones left alone."""

from __future__ import annotations

import sqlite3

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_schema import SchemaError, ensure

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
