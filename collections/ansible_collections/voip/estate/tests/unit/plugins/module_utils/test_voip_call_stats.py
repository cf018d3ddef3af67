"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_call_stats: a window's traffic in figures."""

from __future__ import annotations

import datetime
import sqlite3
from zoneinfo import ZoneInfo

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_call_stats import (
    POOR_MOS,
    StatsError,
    after_hours,
    stats,
)

ACC = """
CREATE TABLE acc (
    id INTEGER PRIMARY KEY NOT NULL, method VARCHAR(16), callid VARCHAR(255), sip_code VARCHAR(3),
    time TIMESTAMP, t_start REAL, t_end REAL, caller_uid TEXT, kind TEXT, route TEXT, target TEXT, mos REAL,
    src_ip TEXT
);
"""
AMS = ZoneInfo("Europe/Amsterdam")
# Wednesday 2026-12-02, 14:00 in Amsterdam: within the working day.
NOW = datetime.datetime(2026, 12, 2, 14, 0, tzinfo=AMS).timestamp()


def row(conn, ago, method="INVITE", code="200", **fields):
    fields = {
        "method": method,
        "sip_code": code,
        "time": "",
        "t_start": NOW - ago - 1,
        "t_end": NOW - ago,
        **fields,
    }
    conn.execute(
        f"INSERT INTO acc ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
        list(fields.values()),
    )


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "calls.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(ACC)
        for i in range(4):
            row(conn, 60 * i + 1, route="trunk", target="t1", code="200" if i < 1 else "503")
        row(conn, 100, route="trunk", target="t2")
        row(conn, 7200, route="trunk", target="t1", code="503")  # before the window
        row(conn, 30, method="BYE", mos=4.4)
        row(conn, 40, method="BYE", mos=POOR_MOS - 0.5)
        row(conn, 50, method="BYE", mos=None)
        # pbakker: 3 international attempts now (one at 03:00 would be after hours), 2 a day earlier.
        for ago in (10, 20, 30):
            row(conn, ago, code="403", caller_uid="pbakker", kind="international", src_ip="10.231.0.71")
        row(conn, 86400, caller_uid="pbakker", kind="international")
        row(conn, 86500, caller_uid="pbakker", kind="premium")
        row(conn, 5, caller_uid="jdevries", kind="national")
        row(conn, 9 * 86400, caller_uid="old", kind="international")  # before the baseline
    return str(path)


def test_the_windows_figures(db):
    figures = stats(db, NOW, 3600, 7 * 86400, "Europe/Amsterdam")
    assert figures["trunks"] == {"t1": {"attempts": 4, "answered": 1}, "t2": {"attempts": 1, "answered": 1}}
    assert (figures["attempts"], figures["answered"]) == (9, 3)
    assert (figures["rated"], figures["poor"]) == (2, 1)
    assert figures["international"] == {"pbakker": {"recent": 3, "baseline": 2, "after_hours": 0}}
    assert figures["international_sources"] == {"10.231.0.71": {"recent": 3, "baseline": 0, "after_hours": 0}}


def test_after_hours_in_the_sites_time_zone():
    night = datetime.datetime(2026, 12, 2, 3, 0, tzinfo=AMS).timestamp()
    evening = datetime.datetime(2026, 12, 2, 19, 0, tzinfo=AMS).timestamp()
    saturday = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=AMS).timestamp()
    day = datetime.datetime(2026, 12, 2, 7, 0, tzinfo=AMS).timestamp()
    epochs = [night, evening, saturday, day]
    assert after_hours(epochs, "Europe/Amsterdam", "07:00", "19:00", ["mon", "tue", "wed", "thu", "fri"]) == 3
    # 10:00 in Amsterdam is 12:30 in Tehran: still the working day there, and Saturday is one.
    assert after_hours([saturday], "Asia/Tehran", "08:00", "17:00", ["sat", "sun", "mon", "tue", "wed"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"start": "25:00"}, "is not a time of day"),
        ({"days": ["mon", "funday"]}, "working days must be among"),
    ],
)
def test_bad_arguments(db, args, message):
    with pytest.raises(StatsError, match=message):
        stats(db, NOW, 3600, 86400, **{"timezone": "UTC", **args})


def test_no_database(tmp_path):
    with pytest.raises(StatsError, match="no call records database"):
        stats(str(tmp_path / "none.sqlite"), NOW, 3600, 86400)
