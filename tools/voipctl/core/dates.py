"""Dates of the estate model: the one rule for reading a day (leave dates, grant ends, "on" / "today").

A day is a ``datetime.date`` (what YAML gives for an unquoted 2026-06-01) or
a string of exactly the form ``"YYYY-MM-DD"`` (ISO 8601's extended calendar
date; ``date.fromisoformat`` alone would also take week dates such as
``2026-W05-1``, the basic form ``20261231`` and other digits). A ``datetime`` is a timestamp (YAML gives one
for ``2026-06-01 10:00:00``; Jinja's ``now()`` is one) and is refused rather than
silently cut to its day. Callers wrap the ValueError in their own error type
(the model's pydantic validators, derive's UserDataError naming the element).
"""

from __future__ import annotations

import argparse
import datetime
import re
from typing import Any

from voipctl.core.text import shown

# ASCII digits only (\d would take other scripts' digits).
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value: Any) -> datetime.date:
    """A ``date`` from a date or a ``YYYY-MM-DD`` string; ValueError naming the value otherwise."""
    if isinstance(value, datetime.datetime):
        raise ValueError(f"{value!s} is a timestamp; give a date YYYY-MM-DD")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{shown(value)} is not a date YYYY-MM-DD")


def cli_date(text: str) -> datetime.date:
    """``type=`` of a command-line date option: parse_date's rule, argparse's error."""
    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
