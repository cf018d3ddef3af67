"""Read a call server's call records (Kamailio acc rows in their own sqlite database), read-only.

Every row is one of two kinds: an INVITE's final answer (a call attempt:
code, reason, who called whom, the route, t_start when the INVITE arrived
and t_end when its answer went out) and a BYE (the end of an answered call,
with the media quality rtpengine measured). Rows are selected by t_end,
oldest first, and returned as plain dicts; nothing is joined or judged here
(``voipctl calls`` does that with every server's rows).
"""

from __future__ import annotations

import os
import sqlite3

# The largest number of rows one read returns (a guard for the controller's
# memory: a narrower time window reads the rest).
MAX_ROWS = 500000


class RecordsError(Exception):
    """The call records cannot be read."""


def _text(raw):
    # Kamailio writes what callers send (a From user): never fail on bytes that are not UTF-8.
    return raw.decode("utf-8", "replace")


def _plain(value):
    return _text(value) if isinstance(value, bytes) else value


# A party of a call: any of these fields names them.
PARTY_FIELDS = ("caller_uid", "caller_ext", "caller_did", "callee_uid", "callee_ext", "callee_did")


def read(db_path, since, until=None, limit=MAX_ROWS, parties=()):
    """(rows, truncated): the acc rows with since <= t_end < until (until None: no end), oldest first.

    ``parties`` (user ids, extensions, DIDs): only the rows of calls one of
    them made or received (the BYE rows of those calls included).
    """
    if not os.path.exists(db_path):
        raise RecordsError(f"no call records database at {db_path} (is this a call server?)")
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise RecordsError(f"cannot open {db_path}: {exc}") from exc
    conn.text_factory = _text
    try:
        query = "SELECT * FROM acc WHERE t_end >= ?"
        args = [float(since)]
        if until is not None:
            query += " AND t_end < ?"
            args.append(float(until))
        if parties:
            marks = ", ".join("?" * len(parties))
            match = " OR ".join(f"{field} IN ({marks})" for field in PARTY_FIELDS)
            query += f" AND callid IN (SELECT callid FROM acc WHERE t_end >= ? AND ({match}))"
            args.append(float(since))
            for _field in PARTY_FIELDS:
                args.extend(str(p) for p in parties)
        query += " ORDER BY t_end, id LIMIT ?"
        args.append(int(limit) + 1)
        cursor = conn.execute(query, args)
        names = [column[0] for column in cursor.description]
        rows = [{names[i]: _plain(v) for i, v in enumerate(values) if names[i] != "id"} for values in cursor]
    except sqlite3.Error as exc:
        raise RecordsError(f"cannot read the call records in {db_path}: {exc}") from exc
    finally:
        conn.close()
    truncated = len(rows) > limit
    return rows[:limit], truncated
