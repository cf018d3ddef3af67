"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_kamailio_schema: tables created once, existing ones left alone."""

from __future__ import annotations

import sqlite3

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_schema import (
    SchemaError,
    ensure,
    ensure_columns,
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


ACC = """CREATE TABLE acc (
    id INTEGER PRIMARY KEY NOT NULL,
    callid VARCHAR(255) DEFAULT '' NOT NULL
);

INSERT INTO version (table_name, table_version) values ('acc','5');
"""


def test_extra_columns_and_index_added_once_rows_kept(tmp_path, schema_dir):
    (tmp_path / "db_sqlite" / "acc-create.sql").write_text(ACC)
    db = str(tmp_path / "calls.sqlite")
    ensure(db, schema_dir, ["standard", "acc"])
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO acc (callid) VALUES ('a@b')")
    columns = {"acc": {"t_end": "REAL", "route": "text"}}
    assert ensure_columns(db, columns, ["acc.t_end"], check_mode=True) == [
        "acc.t_end",
        "acc.route",
        "acc_t_end_idx",
    ]
    assert ensure_columns(db, columns, ["acc.t_end"]) == ["acc.t_end", "acc.route", "acc_t_end_idx"]
    assert ensure_columns(db, columns, ["acc.t_end"]) == []
    # A later release adds one more column: only that one is added.
    assert ensure_columns(db, {"acc": {**columns["acc"], "mos": "REAL"}}, ["acc.t_end"]) == ["acc.mos"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT callid, t_end, route, mos FROM acc").fetchall() == [
            ("a@b", None, None, None)
        ]


def test_columns_of_a_table_only_planned_in_check_mode(tmp_path, schema_dir):
    db = str(tmp_path / "calls.sqlite")
    assert ensure_columns(
        db, {"acc": {"t_end": "REAL"}}, ["acc.t_end"], check_mode=True, pending=["acc"]
    ) == [
        "acc.t_end",
        "acc_t_end_idx",
    ]


@pytest.mark.parametrize(
    ("columns", "indexes", "message"),
    [
        ({"acc": {"x; DROP TABLE acc": "TEXT"}}, [], "is not a table or column name"),
        ({"acc": {"Route": "TEXT"}}, [], "is not a table or column name"),
        ({"acc": {"route": "TEXT DEFAULT 1"}}, [], "is not one of TEXT, REAL, INTEGER"),
        ({"nosuch": {"route": "TEXT"}}, [], "table nosuch does not exist"),
        ({}, ["acc.t_end) ; DROP TABLE acc; --"], "is not a table or column name"),
        ({}, ["nosuch.t_end"], "table nosuch does not exist"),
        ({}, ["acc.route"], "table acc has no column route"),
    ],
)
def test_bad_columns_refused_nothing_changed(tmp_path, schema_dir, columns, indexes, message):
    (tmp_path / "db_sqlite" / "acc-create.sql").write_text(ACC)
    db = str(tmp_path / "calls.sqlite")
    ensure(db, schema_dir, ["standard", "acc"])
    with pytest.raises(SchemaError, match=message):
        ensure_columns(db, {"acc": {"t_end": "REAL"}, **columns}, indexes)
    with sqlite3.connect(db) as conn:
        assert [row[1] for row in conn.execute("PRAGMA table_info(acc)")] == ["id", "callid"]


def test_comment_lines_are_not_statements_and_do_not_hide_one(tmp_path, schema_dir):
    (tmp_path / "db_sqlite" / "acc-create.sql").write_text("-- a header\n-- of two lines\n" + ACC)
    db = str(tmp_path / "calls.sqlite")
    assert ensure(db, schema_dir, ["standard", "acc"]) == ["version", "acc"]
