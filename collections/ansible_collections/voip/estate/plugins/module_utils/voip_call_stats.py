"""A call server's traffic of the last window, in figures: what `voipctl health` judges calls by.

Read from the call records (Kamailio acc rows, see voip_call_records) in a
few aggregate queries, never row by row to the controller:

- per trunk, the call attempts routed to it and how many were answered
  (the answer-seizure ratio);
- the ends of calls with a MOS, and how many of them sounded poor;
- per user and per source address, the international and premium-rate call attempts
  (answered or not: a refused one is as telling) in the window, in the
  baseline before it (their usual rate) and outside the site's working
  hours in the window.
"""

from __future__ import annotations

import datetime
import os
import sqlite3

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover - Python before 3.9 on a target
    ZoneInfo = None

# A call whose MOS is below this sounded poor (ITU-T G.107: "many users dissatisfied").
POOR_MOS = 3.6
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class StatsError(Exception):
    """The call records cannot be read or the arguments make no sense."""


def _minutes(clock):
    hours, _colon, minutes = str(clock).partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise StatsError(f"{clock!r} is not a time of day HH:MM")
    return int(hours) * 60 + int(minutes)


def after_hours(epochs, timezone, start, end, days):
    """How many of ``epochs`` fall outside [start, end) on ``days`` in ``timezone``."""
    if ZoneInfo is None:
        raise StatsError("this Python has no zoneinfo: working hours cannot be judged")
    try:
        zone = ZoneInfo(timezone)
    except Exception as exc:
        raise StatsError(f"unknown time zone {timezone!r}: {exc}") from exc
    first, last = _minutes(start), _minutes(end)
    wanted = set(days)
    unknown = wanted - set(DAYS)
    if unknown:
        raise StatsError(f"working days must be among {', '.join(DAYS)}, not {', '.join(sorted(unknown))}")
    count = 0
    for epoch in epochs:
        local = datetime.datetime.fromtimestamp(epoch, zone)
        minute = local.hour * 60 + local.minute
        if DAYS[local.weekday()] not in wanted or not first <= minute < last:
            count += 1
    return count


def _international(conn, since, baseline_s, now):
    """Per user id and per source address: the start times of their international attempts in the
    window (``recent``) and how many in the baseline before it."""
    users, sources = {}, {}
    for uid, source, started in conn.execute(
        "SELECT caller_uid, src_ip, coalesce(t_start, t_end) FROM acc WHERE method = 'INVITE'"
        " AND kind IN ('international', 'premium') AND t_end >= ? AND t_end < ?",
        (since - baseline_s, now),
    ):
        for found, key in ((users, uid), (sources, source)):
            if key in (None, ""):
                continue
            entry = found.setdefault(str(key), {"recent": [], "baseline": 0})
            if started >= since:
                entry["recent"].append(float(started))
            else:
                entry["baseline"] += 1
    return users, sources


def _summary(found, timezone, start, end, days):
    return {
        key: {
            "recent": len(entry["recent"]),
            "baseline": entry["baseline"],
            "after_hours": after_hours(entry["recent"], timezone, start, end, days),
        }
        for key, entry in found.items()
        if entry["recent"]
    }


def stats(db_path, now, window_s, baseline_s, timezone="UTC", start="07:00", end="19:00", days=DAYS[:5]):
    """The figures of the window [now - window_s, now) and the baseline before it."""
    if window_s <= 0 or baseline_s < 0:
        raise StatsError("the window must be positive and the baseline not negative")
    if not os.path.exists(db_path):
        raise StatsError(f"no call records database at {db_path} (is this a call server?)")
    since = now - window_s
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise StatsError(f"cannot open {db_path}: {exc}") from exc
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        attempts, answered = conn.execute(
            "SELECT count(*), coalesce(sum(sip_code LIKE '2%'), 0) FROM acc"
            " WHERE method = 'INVITE' AND t_end >= ? AND t_end < ?",
            (since, now),
        ).fetchone()
        trunks = {
            str(name): {"attempts": count, "answered": ok}
            for name, count, ok in conn.execute(
                "SELECT target, count(*), coalesce(sum(sip_code LIKE '2%'), 0) FROM acc"
                " WHERE method = 'INVITE' AND route = 'trunk' AND t_end >= ? AND t_end < ? GROUP BY target",
                (since, now),
            )
        }
        rated, poor = conn.execute(
            "SELECT count(mos), coalesce(sum(mos < ?), 0) FROM acc"
            " WHERE method = 'BYE' AND mos IS NOT NULL AND mos != '' AND t_end >= ? AND t_end < ?",
            (POOR_MOS, since, now),
        ).fetchone()
        international, sources = _international(conn, since, baseline_s, now)
    except sqlite3.Error as exc:
        raise StatsError(f"cannot read the call records in {db_path}: {exc}") from exc
    finally:
        conn.close()
    users = _summary(international, timezone, start, end, days)
    by_source = _summary(sources, timezone, start, end, days)
    return {
        "window_s": window_s,
        "baseline_s": baseline_s,
        "attempts": attempts,
        "answered": answered,
        "trunks": trunks,
        "rated": rated,
        "poor": poor,
        "international": users,
        "international_sources": by_source,
    }
