"""Stamps: a UTC moment written as ``20260601T023000Z`` (a backup point, a release run's id).

The compact ISO 8601 basic form sorts as text in time order and is safe in
file names. Run records and lab run logs add microseconds
(``20260601T023000123456Z``) so that two runs within a second stay apart.
The playbooks write the same form with Jinja's ``now(utc=true,
fmt='%Y%m%dT%H%M%SZ')``, and hosts read it in the collection's plugins/module_utils/voip_backup.py
(module code cannot import voipctl).
"""

from __future__ import annotations

from datetime import UTC, datetime

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
STAMP_US_FORMAT = "%Y%m%dT%H%M%S%fZ"


def stamp(moment: datetime) -> str:
    """``moment`` (a UTC time) to the second: ``20260601T023000Z``."""
    return moment.strftime(STAMP_FORMAT)


def stamp_us(moment: datetime) -> str:
    """``moment`` (a UTC time) to the microsecond: ``20260601T023000123456Z``."""
    return moment.strftime(STAMP_US_FORMAT)


def parse_stamp(text: str) -> datetime:
    """The UTC time of a stamp to the second; ValueError when ``text`` is not one."""
    return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)
