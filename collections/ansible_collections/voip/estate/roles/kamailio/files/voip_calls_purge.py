"""Remove the call records older than the retention: python3 voip_calls_purge.py DATABASE DAYS.

Kamailio's acc module writes the records (table acc) without waiting for a
lock, so the records go in batches of a few hundred, each its own short
transaction: a record written meanwhile waits milliseconds, not the whole purge.
"""

import sqlite3
import sys
import time

BATCH = 500


def main(argv):
    if len(argv) != 3 or not argv[2].isdigit() or int(argv[2]) < 1:
        sys.stderr.write("usage: voip_calls_purge.py DATABASE DAYS (DAYS a whole number, at least 1)\n")
        return 2
    database, days = argv[1], int(argv[2])
    cutoff = time.time() - days * 86400
    conn = sqlite3.connect(database, timeout=5, isolation_level=None)
    removed = 0
    try:
        while True:
            cursor = conn.execute(
                "DELETE FROM acc WHERE id IN (SELECT id FROM acc WHERE t_end < ? LIMIT ?)", (cutoff, BATCH)
            )
            removed += cursor.rowcount
            if cursor.rowcount < BATCH:
                break
            time.sleep(0.05)
    finally:
        conn.close()
    print(f"{removed} call records older than {days} days removed from {database}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
