"""voipctl.core.dates: the one rule for a day of the model, and the two callers' error styles."""

from __future__ import annotations

import argparse
import datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from voipctl.core.activity import UserDataError, as_date
from voipctl.core.dates import cli_date, parse_date
from voipctl.model.types import Date

DAY = datetime.date(2026, 6, 1)


@pytest.mark.parametrize("value", [DAY, "2026-06-01"])
def test_a_date_or_an_iso_string_is_a_day(value):
    assert parse_date(value) == DAY
    assert as_date(value) == DAY
    assert TypeAdapter(Date).validate_python(value) == DAY


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime.datetime(2026, 6, 1, 10, 0), "2026-06-01 10:00:00 is a timestamp; give a date YYYY-MM-DD"),
        (datetime.datetime(2026, 6, 1), "2026-06-01 00:00:00 is a timestamp; give a date YYYY-MM-DD"),
        ("2026-02-30", "'2026-02-30' is not a date YYYY-MM-DD"),
        ("soon", "'soon' is not a date YYYY-MM-DD"),
        ("", "'' is not a date YYYY-MM-DD"),
        (None, "None is not a date YYYY-MM-DD"),
        (20260601, "20260601 is not a date YYYY-MM-DD"),
        (True, "True is not a date YYYY-MM-DD"),
        # date.fromisoformat takes all of these (Python 3.11+); a day of the model is YYYY-MM-DD only.
        ("2026-W05-1", "'2026-W05-1' is not a date YYYY-MM-DD"),
        ("2026W051", "'2026W051' is not a date YYYY-MM-DD"),
        ("20261231", "'20261231' is not a date YYYY-MM-DD"),
        ("2026-12-31T00:00", "'2026-12-31T00:00' is not a date YYYY-MM-DD"),
        ("2026-12-31 ", "'2026-12-31 ' is not a date YYYY-MM-DD"),
        ("2026-12-31\n", "'2026-12-31\\n' is not a date YYYY-MM-DD"),
        ("2026-6-1", "'2026-6-1' is not a date YYYY-MM-DD"),
        ("+2026-06-01", "'+2026-06-01' is not a date YYYY-MM-DD"),
        (
            "\u0662\u0660\u0662\u0666-\u0660\u0666-\u0660\u0661",
            "'\u0662\u0660\u0662\u0666-\u0660\u0666-\u0660\u0661' is not a date YYYY-MM-DD",
        ),
        ("2026-" + "1" * 100_000, "'2026-" + "1" * 55 + "…' (100005 characters) is not a date YYYY-MM-DD"),
    ],
)
def test_everything_else_is_refused_the_same_way_by_both_callers(value, message):
    with pytest.raises(ValueError) as plain:
        parse_date(value)
    assert str(plain.value) == message
    # derive: UserDataError naming the element
    with pytest.raises(UserDataError) as derived:
        as_date(value, "voip_users[3].grants[0].until")
    assert str(derived.value) == f"voip_users[3].grants[0].until: {message}"
    # model: pydantic's ValueError, worded by the same rule
    with pytest.raises(ValidationError) as model:
        TypeAdapter(Date).validate_python(value)
    assert message in str(model.value)


def test_command_line_dates_follow_the_model_rule():
    assert cli_date("2026-06-01").isoformat() == "2026-06-01"
    for text in ("01-06-2026", "2026-W23-1", "20260601"):
        with pytest.raises(argparse.ArgumentTypeError, match="not a date YYYY-MM-DD"):
            cli_date(text)
