"""voipctl.core: number ranges, shown values, stamps and the leaver rule, table by table.

The activity rules on grants and classes of service are in
test_derive_users.py, days in test_dates.py, the password recipe's known
answers in test_secret_vectors.py.
"""

from __future__ import annotations

import datetime

import pytest

from voipctl.core.activity import (
    UserDataError,
    active_features,
    active_users,
    is_leaver,
    leave_day,
    left_before,
    users_of_site,
)
from voipctl.core.ranges import parse_range
from voipctl.core.stamps import parse_stamp, stamp, stamp_us
from voipctl.core.text import SHOWN_LIMIT, shown
from voipctl.derive.netdev import NetdevDataError, range_patterns
from voipctl.derive.users import next_free_extension

# -- ranges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164", "expected"),
    [
        ("2000-2999", False, (2000, 2999)),
        ("2000-2000", False, (2000, 2000)),
        ("0100-0199", False, (100, 199)),
        ("+31201234000-+31201234999", True, (31201234000, 31201234999)),
        ("+982188110000-+982188110999", True, (982188110000, 982188110999)),
    ],
)
def test_a_range_gives_its_first_and_last_number(text, e164, expected):
    assert parse_range(text, e164=e164) == expected


@pytest.mark.parametrize(
    ("text", "e164", "message"),
    [
        (2000, False, "2000 is not a quoted range such as '2000-2999'"),
        (None, True, "None is not a quoted range such as '+31201234000-+31201234999'"),
        ("2000", False, "'2000' is not a range such as '2000-2999'"),
        ("2000 - 2999", False, "'2000 - 2999' is not a range such as '2000-2999'"),
        ("+2000-+2999", False, "'+2000-+2999' is not a range such as '2000-2999'"),
        ("2000-2999", True, "'2000-2999' is not a range such as '+31201234000-+31201234999'"),
        ("+31201234000-31201234999", True, "is not a range such as"),
        ("+0201234000-+0201234999", True, "is not a range such as"),
        ("١٢٣٤-١٢٣٥", False, "is not a range such as"),  # other scripts' digits
        ("200-2999", False, "both ends must have the same number of digits"),
        ("2999-2000", False, "'2999-2000': the range is empty (start after end)"),
        ("+31201234999-+31201234000", True, "the range is empty (start after end)"),
        ("9" * 100 + "-1", False, "…' (102 characters) is not a range"),  # a long value is cut short
    ],
)
def test_anything_else_is_refused_naming_the_text(text, e164, message):
    with pytest.raises(ValueError) as exc:
        parse_range(text, e164=e164)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: next_free_extension([], {"ams": {"extensions": "2999-2000"}}, "ams"), UserDataError,
         "voip_sites.ams.extensions: '2999-2000': the range is empty (start after end)"),
        (lambda: range_patterns("2000", e164=False, what="voip_sites.ams.extensions"), NetdevDataError,
         "voip_sites.ams.extensions: '2000' is not a range such as '2000-2999'"),
    ],
)  # fmt: skip
def test_derived_values_read_ranges_with_the_one_parser(call, error, message):
    with pytest.raises(error) as exc:
        call()
    assert str(exc.value) == message


# -- shown -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ams", "'ams'"),
        ("A" * SHOWN_LIMIT, repr("A" * SHOWN_LIMIT)),
        ("A" * 100, "'" + "A" * SHOWN_LIMIT + "…' (100 characters)"),
        (b"\x00" * 100, repr(b"\x00" * SHOWN_LIMIT)[:-1] + "…' (100 bytes)"),
        ([1, 2, 3], "[1, 2, 3]"),
        (list(range(100)), "[0, 1, 2, 3, 4, ...] (100 items)"),
        (None, "None"),
        (10**100, "1" + "0" * (SHOWN_LIMIT - 1) + "… (101 characters)"),
    ],
)
def test_shown_cuts_a_value_short(value, expected):
    assert shown(value) == expected


def test_shown_survives_a_number_beyond_the_digit_limit():
    assert shown(10**5000) == "a number of thousands of digits"


# -- stamps ----------------------------------------------------------------------

MOMENT = datetime.datetime(2026, 6, 1, 2, 30, 5, 123456, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("write", "expected"),
    [(stamp, "20260601T023005Z"), (stamp_us, "20260601T023005123456Z")],
)
def test_a_stamp_is_the_compact_utc_form(write, expected):
    assert write(MOMENT) == expected


def test_a_stamp_reads_back_as_a_utc_time_to_the_second():
    assert parse_stamp(stamp(MOMENT)) == MOMENT.replace(microsecond=0)
    assert parse_stamp("20260601T023005Z").tzinfo is datetime.UTC


@pytest.mark.parametrize("text", ["2026-06-01T02:30:05Z", "20260601T023005", "20260601T023005123456Z", ""])
def test_anything_but_a_stamp_is_refused(text):
    with pytest.raises(ValueError):
        parse_stamp(text)


def test_stamps_sort_in_time_order():
    moments = [MOMENT + datetime.timedelta(seconds=s) for s in (0, 9, 10, 3600, 86400 * 40)]
    assert sorted(stamp(m) for m in reversed(moments)) == [stamp(m) for m in moments]


# -- the leaver rule -------------------------------------------------------------

USERS = [
    {"id": "a", "site": "ams"},
    {"id": "b", "site": "ams", "status": "active"},
    {"id": "c", "site": "ams", "status": "leaver", "leave_date": "2026-01-01", "features": {"dnd": True}},
    {"id": "d", "site": "thr", "status": "leaver"},
    {"id": "e", "site": "thr", "features": {"dnd": True}},
]


@pytest.mark.parametrize(("user", "leaver"), [(USERS[0], False), (USERS[1], False), (USERS[2], True)])
def test_a_leaver_is_a_user_with_status_leaver(user, leaver):
    assert is_leaver(user) is leaver


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (lambda: active_users(USERS), ["a", "b", "e"]),
        (lambda: users_of_site(USERS, "ams"), ["a", "b"]),
        (lambda: users_of_site(USERS, "ams", leavers=True), ["a", "b", "c"]),
        (lambda: users_of_site(USERS, "thr"), ["e"]),
        (lambda: users_of_site(USERS, "nowhere"), []),
    ],
)
def test_who_is_active_keeps_directory_order(users, expected):
    assert [u["id"] for u in users()] == expected


@pytest.mark.parametrize(("user", "features"), [(USERS[2], {}), (USERS[4], {"dnd": True})])
def test_a_leaver_has_no_features(user, features):
    assert active_features(user, "2026-06-01") == features


@pytest.mark.parametrize(
    ("user", "on", "days", "before"),
    [
        (USERS[2], "2026-01-02", 0, True),  # the day after the leave date
        (USERS[2], "2026-01-01", 0, False),  # on the leave date itself
        (USERS[2], datetime.date(2026, 1, 31), 30, False),  # 30 days back: within 30 grace days
        (USERS[2], datetime.date(2026, 2, 1), 30, True),
        (USERS[2], "2026-06-01", 999_999, False),  # a grace beyond any date
        (USERS[3], "2026-06-01", 0, False),  # a leaver without a leave date
        ({"id": "f", "leave_date": datetime.date(2026, 1, 1)}, "2026-01-02", 0, True),  # not marked leaver
    ],
)
def test_left_before_counts_whole_days_from_the_leave_date(user, on, days, before):
    assert left_before(user, on, days=days) is before


def test_the_leave_day_is_a_date_or_none_and_a_bad_one_names_the_user():
    assert leave_day(USERS[2]) == datetime.date(2026, 1, 1)
    assert leave_day(USERS[0]) is None
    with pytest.raises(UserDataError, match=r"^user g leave_date: 'soon' is not a date YYYY-MM-DD$"):
        leave_day({"id": "g", "leave_date": "soon"})
