"""The module call_records end to end: a call records database in, its rows of the window out, never a write."""

from __future__ import annotations

import pathlib
import sqlite3

import pytest

ACC = """
CREATE TABLE acc (
    id INTEGER PRIMARY KEY NOT NULL,
    method VARCHAR(16) DEFAULT '' NOT NULL,
    from_tag VARCHAR(128) DEFAULT '' NOT NULL,
    to_tag VARCHAR(128) DEFAULT '' NOT NULL,
    callid VARCHAR(255) DEFAULT '' NOT NULL,
    sip_code VARCHAR(3) DEFAULT '' NOT NULL,
    sip_reason VARCHAR(128) DEFAULT '' NOT NULL,
    time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    t_end REAL, t_start REAL, caller_ext TEXT, route TEXT, mos REAL,
    caller_uid TEXT, caller_did TEXT, callee_uid TEXT, callee_ext TEXT, callee_did TEXT
);
"""


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "calls.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(ACC)
        for i, t_end in enumerate((100.5, 200.25, 300.0)):
            conn.execute(
                "INSERT INTO acc (method, callid, sip_code, sip_reason, time, t_end, t_start, caller_ext, route)"
                " VALUES ('INVITE', ?, '200', 'OK', '2026-12-05 10:00:00', ?, ?, '2001', 'user')",
                (f"c{i}", t_end, t_end - 1),
            )
        # What a carrier put in its From user, bytes that are not UTF-8 included: read, never a failure.
        conn.execute(
            "INSERT INTO acc (method, callid, time, t_end, caller_ext, route)"
            " VALUES ('INVITE', 'c3', '', 400, CAST(? AS TEXT), ?)",
            (b"\xff[red]x\x1b", b"\xfe"),
        )
    return str(path)


def test_the_window_oldest_first(db, module_runner):
    code, result, _out = module_runner("call_records", {"db": db, "since": 200, "before": 400})
    assert code == 0 and result["changed"] is False
    assert [r["callid"] for r in result["records"]] == ["c1", "c2"]
    assert result["records"][0] == {
        "method": "INVITE", "from_tag": "", "to_tag": "", "callid": "c1", "sip_code": "200", "sip_reason": "OK",
        "time": "2026-12-05 10:00:00", "t_end": 200.25, "t_start": 199.25, "caller_ext": "2001", "route": "user",
        "mos": None, "caller_uid": None, "caller_did": None, "callee_uid": None, "callee_ext": None,
        "callee_did": None,
    }  # fmt: skip
    assert result["count"] == 2 and result["truncated"] is False


def test_no_end_and_bytes_that_are_not_utf8(db, module_runner):
    code, result, _out = module_runner("call_records", {"db": db, "since": 300})
    assert code == 0
    assert [r["callid"] for r in result["records"]] == ["c2", "c3"]
    assert result["records"][1]["caller_ext"] == "\ufffd[red]x\x1b"
    assert result["records"][1]["route"] == "\ufffd"  # a blob, too


def test_limit_says_truncated(db, module_runner):
    code, result, _out = module_runner("call_records", {"db": db, "since": 0, "limit": 2}, check=True)
    assert code == 0
    assert [r["callid"] for r in result["records"]] == ["c0", "c1"] and result["truncated"] is True


def test_reading_changes_nothing(db, module_runner):
    before = pathlib.Path(db).read_bytes()
    module_runner("call_records", {"db": db, "since": 0})
    assert pathlib.Path(db).read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"db": "/nonexistent/calls.sqlite", "since": 0},
            "no call records database at /nonexistent/calls.sqlite",
        ),
        ({"since": 0, "limit": 0}, "limit must be at least 1"),
    ],
)
def test_clear_failures(db, module_runner, args, message):
    code, result, _out = module_runner("call_records", {"db": db, **args})
    assert code == 1 and result["failed"] is True and message in result["msg"]


def test_a_database_without_the_table(tmp_path, module_runner):
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    code, result, _out = module_runner("call_records", {"db": str(path), "since": 0})
    assert (
        code == 1
        and "cannot read the call records" in result["msg"]
        and "no such table: acc" in result["msg"]
    )


def test_only_the_calls_of_a_party_with_their_ends(db, module_runner):
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO acc (method, callid, time, t_end, caller_ext) VALUES ('BYE', 'c1', '', 250, NULL)"
        )
        conn.execute("UPDATE acc SET caller_ext = '2003' WHERE callid = 'c2'")
    code, result, _out = module_runner("call_records", {"db": db, "since": 0, "parties": ["2001"]})
    assert code == 0
    assert [(r["callid"], r["method"]) for r in result["records"]] == [
        ("c0", "INVITE"),
        ("c1", "INVITE"),
        ("c1", "BYE"),
    ]
    # A value is data, never SQL.
    code, result, _out = module_runner("call_records", {"db": db, "since": 0, "parties": ["x') OR 1=1 --"]})
    assert code == 0 and result["records"] == []
