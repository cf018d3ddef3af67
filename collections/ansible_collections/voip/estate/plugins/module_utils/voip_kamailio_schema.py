"""Create the tables of Kamailio modules in a sqlite database, once, from the packaged SQL.

Kamailio ships one ``<module>-create.sql`` per module (``/usr/share/kamailio/db_sqlite``).
Statements that belong to a table that already exists are skipped, so the
database is created on the first run and left alone afterwards (no data lost).
Columns the estate adds to a packaged table (the call records' extra fields
of the acc table) are added when missing, never dropped or retyped; an index
on one column is created when missing.

The journal mode is a property of the database file (sqlite keeps WAL once
set), so it is set here rather than by Kamailio: db_sqlite 5.6's
``db_set_journal_mode`` parameter never accepts WAL (its comparison is
inverted).
"""

from __future__ import annotations

import os
import re
import sqlite3

CREATE_TABLE = re.compile(r"^\s*CREATE TABLE\s+(\w+)", re.I)
CREATE_INDEX = re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+\w+\s+ON\s+(\w+)", re.I)
INSERT_VERSION = re.compile(r"^\s*INSERT INTO version .*values\s*\(\s*'(\w+)'", re.I | re.S)


IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
COLUMN_TYPES = ("TEXT", "REAL", "INTEGER")


class SchemaError(Exception):
    """The schema files or the database are not usable."""


def statements(sql):
    """The statements of a schema file, without their comment lines (``--``)."""
    found = []
    for chunk in sql.split(";\n"):
        text = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("--")).strip()
        if text:
            found.append(text)
    return found


def table_of(statement):
    for pattern in (CREATE_TABLE, CREATE_INDEX, INSERT_VERSION):
        match = pattern.match(statement)
        if match:
            return match.group(1)
    return None


def plan(schema_dir, modules, existing):
    """Statements to run and the tables they create, for the tables not in ``existing``."""
    todo, created = [], []
    for module in modules:
        path = os.path.join(schema_dir, f"{module}-create.sql")
        try:
            with open(path, encoding="utf-8") as fh:
                sql = fh.read()
        except OSError as exc:
            raise SchemaError(f"no schema for Kamailio module {module!r}: {exc}") from exc
        for statement in statements(sql):
            table = table_of(statement)
            if table is None or table in existing:
                continue
            todo.append(statement)
            if CREATE_TABLE.match(statement):
                created.append(table)
    return todo, created


def _run(db_path, check_mode, failure, decide, timeout=10):
    """Open the database, ``decide(conn)`` -> (statements, result), run them in one transaction
    (none in check mode); return the result. SchemaError naming ``failure`` when sqlite fails."""
    try:
        conn = sqlite3.connect(db_path, timeout=timeout)
    except sqlite3.Error as exc:
        raise SchemaError(f"cannot open database {db_path}: {exc}") from exc
    try:
        todo, result = decide(conn)
        if todo and not check_mode:
            with conn:
                for statement in todo:
                    conn.execute(statement)
    except sqlite3.Error as exc:
        raise SchemaError(f"{failure} in {db_path} (nothing was changed): {exc}") from exc
    finally:
        conn.close()
    return result


def ensure(db_path, schema_dir, modules, check_mode=False):
    """Create missing tables; return the list of tables created (or that would be)."""

    def decide(conn):
        existing = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return plan(schema_dir, modules, existing)

    return _run(db_path, check_mode, "cannot create Kamailio tables", decide)


def _identifier(name):
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise SchemaError(f"{name!r} is not a table or column name (lower-case letters, digits, _)")
    return name


def column_plan(existing, columns, indexes):
    """Statements adding the columns and one-column indexes that ``existing`` lacks, and their names.

    ``existing``: table -> its column names and index names (``columns``,
    ``indexes``); ``columns``: table -> column -> type (TEXT, REAL, INTEGER);
    ``indexes``: "table.column" items. A table named here must exist.
    """
    todo, added = [], []
    for table, wanted in columns.items():
        have = existing.get(_identifier(table))
        if have is None:
            raise SchemaError(f"table {table} does not exist: its columns cannot be added")
        for column, kind in wanted.items():
            if str(kind).upper() not in COLUMN_TYPES:
                raise SchemaError(
                    f"column {table}.{column}: type {kind!r} is not one of {', '.join(COLUMN_TYPES)}"
                )
            if _identifier(column) not in have["columns"]:
                todo.append(f"ALTER TABLE {table} ADD COLUMN {column} {str(kind).upper()}")
                added.append(f"{table}.{column}")
    for item in indexes:
        table, _dot, column = str(item).partition(".")
        name = f"{_identifier(table)}_{_identifier(column)}_idx"
        if table not in existing:
            raise SchemaError(f"table {table} does not exist: index {item} cannot be created")
        if column not in existing[table]["columns"] and column not in columns.get(table, {}):
            raise SchemaError(f"table {table} has no column {column}: index {item} cannot be created")
        if name not in existing[table]["indexes"]:
            todo.append(f"CREATE INDEX {name} ON {table} ({column})")
            added.append(name)
    return todo, added


def _layout(conn):
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    layout = {}
    for table in tables:
        if not IDENTIFIER.match(table):
            continue
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        indexes = {row[1] for row in conn.execute(f"PRAGMA index_list({table})")}
        layout[table] = {"columns": columns, "indexes": indexes}
    return layout


def ensure_columns(db_path, columns, indexes, check_mode=False, pending=()):
    """Add missing columns and indexes (see ``column_plan``); return what was added (or would be).

    ``pending``: tables that ``ensure`` would create (check mode), taken as
    existing without the columns and indexes asked for.
    """
    if not columns and not indexes:
        return []

    def decide(conn):
        layout = _layout(conn)
        for table in pending:
            layout.setdefault(table, {"columns": set(), "indexes": set()})
        return column_plan(layout, columns, indexes)

    return _run(db_path, check_mode, "cannot add columns or indexes", decide)


JOURNAL_MODES = ("delete", "truncate", "persist", "wal")


def ensure_journal_mode(db_path, mode, check_mode=False):
    """Put the database in journal ``mode``; return the mode it had before (changed when it differs)."""
    if mode not in JOURNAL_MODES:
        raise SchemaError(f"journal mode {mode!r} is not one of {', '.join(JOURNAL_MODES)}")
    try:
        conn = sqlite3.connect(db_path, timeout=10)
    except sqlite3.Error as exc:
        raise SchemaError(f"cannot open database {db_path}: {exc}") from exc
    try:
        before = conn.execute("PRAGMA journal_mode").fetchone()[0].lower()
        if before != mode and not check_mode:
            after = conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0].lower()
            if after != mode:
                raise SchemaError(f"{db_path} stayed in journal mode {after}, not {mode} (is it in use?)")
    except sqlite3.Error as exc:
        raise SchemaError(f"cannot set the journal mode of {db_path} to {mode}: {exc}") from exc
    finally:
        conn.close()
    return before
