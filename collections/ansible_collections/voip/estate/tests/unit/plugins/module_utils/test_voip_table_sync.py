"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_table_sync: read once, diff by key, write the difference in one transaction."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_args import ArgumentError, validate_list
from ansible_collections.voip.estate.plugins.module_utils.voip_table_sync import (
    MASK,
    TableSyncError,
    argument_spec,
    diff_text,
    rows_spec,
    sync,
)

# Kamailio 5.6's own schema for the subscriber table (db_sqlite/auth_db-create.sql).
SCHEMA = """
CREATE TABLE subscriber (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT '' NOT NULL,
    password VARCHAR(64) DEFAULT '' NOT NULL,
    ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    ha1b VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
);
"""
KEY = ["username", "domain"]
VALUES = ["ha1", "ha1b"]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "kamailio.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
    return str(path)


def rows(*users, ha1="h"):
    return [{"username": u, "domain": "ams.lab", "ha1": f"{ha1}-{u}", "ha1b": f"{ha1}b-{u}"} for u in users]


def table(db):
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT username, ha1 FROM subscriber"))


def test_check_then_apply_then_reapply(db):
    changed, _unused, counts = sync(db, "subscriber", KEY, VALUES, rows("2001", "2002"), check_mode=True)
    assert changed and counts["added"] == 2
    assert table(db) == []  # check mode wrote nothing
    changed, _unused, counts = sync(db, "subscriber", KEY, VALUES, rows("2001", "2002"))
    assert changed and counts == {"added": 2, "changed": 0, "removed": 0, "total": 2}
    assert table(db) == [("2001", "h-2001"), ("2002", "h-2002")]
    changed, _unused, counts = sync(db, "subscriber", KEY, VALUES, rows("2001", "2002"))
    assert not changed and counts["added"] == counts["changed"] == counts["removed"] == 0


def test_only_the_difference_is_written(db):
    sync(db, "subscriber", KEY, VALUES, rows("2001", "2002", "2003"))
    desired = rows("2001", "2003", "2004")
    desired[0]["ha1"] = "rotated"
    _unused, changes, counts = sync(db, "subscriber", KEY, VALUES, desired, secret_columns=("ha1", "ha1b"))
    assert counts == {"added": 1, "changed": 1, "removed": 1, "total": 3}
    assert changes["removed"] == [{"username": "2002", "domain": "ams.lab"}]
    assert changes["changed"] == [{"username": "2001", "domain": "ams.lab", "fields": ["ha1"]}]
    assert table(db) == [("2001", "rotated"), ("2003", "h-2003"), ("2004", "h-2004")]


def test_secrets_never_in_changes_or_diff(db):
    _unused, changes, _unused = sync(
        db, "subscriber", KEY, VALUES, rows("2001", ha1="SECRET"), secret_columns=("ha1", "ha1b")
    )
    text = repr(changes) + repr(diff_text("subscriber", changes, KEY))
    assert "SECRET" not in text
    assert changes["added"][0]["ha1"] == MASK


def test_hand_added_row_is_removed(db):
    sync(db, "subscriber", KEY, VALUES, rows("2001"))
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO subscriber (username, domain, ha1, ha1b) VALUES ('intruder', 'ams.lab', 'x', 'y')"
        )
    changed, changes, _unused = sync(db, "subscriber", KEY, VALUES, rows("2001"))
    assert changed and changes["removed"] == [{"username": "intruder", "domain": "ams.lab"}]
    assert table(db) == [("2001", "h-2001")]


def test_scope_limits_the_managed_rows(tmp_path):
    path = str(tmp_path / "d.db")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE address (id INTEGER PRIMARY KEY, grp INT, ip_addr TEXT, mask INT, tag TEXT)"
        )
        conn.execute("INSERT INTO address (grp, ip_addr, mask, tag) VALUES (9, '192.0.2.9', 32, 'other')")
    peers = [{"ip_addr": "10.0.0.1", "mask": 32, "tag": "gw1"}]
    changed, _unused, counts = sync(path, "address", ["ip_addr", "mask"], ["tag"], peers, where={"grp": 1})
    assert changed and counts["added"] == 1
    with sqlite3.connect(path) as conn:
        assert sorted(conn.execute("SELECT grp, ip_addr FROM address")) == [(1, "10.0.0.1"), (9, "192.0.2.9")]
    assert not sync(path, "address", ["ip_addr", "mask"], ["tag"], peers, where={"grp": 1})[0]


def test_failed_write_changes_nothing(db):
    sync(db, "subscriber", KEY, VALUES, rows("2001"))
    bad = [*rows("2001"), {"username": None, "domain": "ams.lab", "ha1": "x", "ha1b": "y"}]  # NOT NULL
    with pytest.raises(TableSyncError, match="nothing was changed"):
        sync(db, "subscriber", KEY, VALUES, [{**bad[0], "ha1": "new"}, bad[1]])
    assert table(db) == [("2001", "h-2001")]


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        ([{"username": "1", "domain": "d", "ha1": "x"}], r"rows\[0\] lacks column\(s\) ha1b"),
        (rows("1", "1"), r"rows\[1\] repeats key"),
    ],
)
def test_bad_rows_are_refused(db, desired, message):
    with pytest.raises(TableSyncError, match=message):
        sync(db, "subscriber", KEY, VALUES, desired)


def test_missing_table_is_a_clear_error(tmp_path):
    with pytest.raises(TableSyncError, match="cannot read table subscriber"):
        sync(str(tmp_path / "empty.db"), "subscriber", KEY, VALUES, rows("1"))


def test_rows_spec_makes_secret_columns_no_log():
    row = {"username": {"type": "str", "required": True}, "ha1": {"type": "str", "required": True}}
    assert argument_spec("subscribers") == {
        "db": {"type": "path", "required": True},
        "subscribers": {"type": "raw", "required": True, "no_log": True},
    }
    rows = rows_spec("subscribers", row, secret_columns=("ha1",))["subscribers"]
    assert (rows["type"], rows["elements"], rows["required"]) == ("list", "dict", True)
    assert rows["options"]["ha1"] == {"type": "str", "required": True, "no_log": True}
    assert "no_log" not in rows["options"]["username"]
    assert "no_log" not in row["ha1"]  # the module's row spec is left as it was


def test_rows_spec_refuses_an_unknown_secret_column():
    with pytest.raises(ValueError, match=r"secret column\(s\) ha1b not among the row options"):
        rows_spec("subscribers", {"ha1": {"type": "str"}}, secret_columns=("ha1", "ha1b"))


SPEC = {"username": {"type": "str", "required": True}, "ha1": {"type": "str", "required": True},
        "flags": {"type": "int", "default": 0}}  # fmt: skip


@pytest.mark.parametrize("as_json", [False, True])
def test_rows_are_validated_alike_as_a_list_or_as_json(as_json):
    given = [{"username": 2001, "ha1": "h1"}, {"username": "2002", "ha1": "h2", "flags": "3"}]
    value = json.dumps(given) if as_json else given
    rows, secrets = validate_list(value, "subscribers", rows_spec("subscribers", SPEC, ("ha1",)))
    assert rows == [
        {"username": "2001", "ha1": "h1", "flags": 0},
        {"username": "2002", "ha1": "h2", "flags": 3},
    ]
    assert secrets == {"h1", "h2"}


def test_plain_rows_take_the_fast_path_with_the_validators_result():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = rows_spec("subscribers", {**SPEC, "note": {"type": "str"}}, ("ha1",))
    given = [{"username": "2001", "ha1": "h1"}, {"username": "2002", "ha1": "h2", "flags": 3}]
    rows, secrets = validate_list(json.dumps(given), "subscribers", spec)
    reference = ArgumentSpecValidator(spec).validate({"subscribers": given})
    assert rows == reference.validated_parameters["subscribers"]
    assert secrets == reference._no_log_values == {"h1", "h2"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[{", r"subscribers is a string but not JSON"),
        ('{"username": "1"}', r"subscribers must be a list of rows \(or its JSON\), not dict"),
        ('[{"username": "1"}]', r"missing required arguments: ha1 found in subscribers"),
        ('[{"username": "1", "ha1": "x", "bogus": 1}]', r"Unsupported parameters: subscribers\.bogus"),
        ('[{"username": "1", "ha1": "x", "flags": "many"}]', r"flags.*int"),
    ],
)
def test_bad_rows_json_is_refused(value, message):
    with pytest.raises(ArgumentError, match=message):
        validate_list(value, "subscribers", rows_spec("subscribers", SPEC))
