"""voipctl.core.activity and voipctl.derive.users: grants, class of service, free numbers."""

from __future__ import annotations

import datetime

import pytest

from voipctl.core.activity import (
    UserDataError,
    active_features,
    active_grants,
    as_date,
    effective_class_of_service,
    expired_grants,
    users_of_site,
)
from voipctl.derive.users import next_free_did, next_free_extension

ON = datetime.date(2026, 6, 1)
SITES = {
    "ams": {"extensions": "2000-2004", "dids": "+31201234000-+31201234002"},
    "thr": {"extensions": "3000-3999", "dids": "+982188110000-+982188110999"},
}


def user(cos="internal", grants=(), **extra):
    return {
        "id": "u1",
        "site": "ams",
        "extension": 2000,
        "class_of_service": cos,
        "grants": list(grants),
        **extra,
    }


def grant(feature, until):
    return {"feature": feature, "until": until, "reason": "test"}


@pytest.mark.parametrize(
    ("base", "grants", "expected"),
    [
        ("internal", [], "internal"),
        ("national", [], "national"),
        (
            "internal",
            [grant("international", datetime.date(2026, 6, 1))],
            "international",
        ),  # until is inclusive
        ("internal", [grant("international", datetime.date(2026, 5, 31))], "internal"),  # expired yesterday
        ("internal", [grant("national", "2026-12-31")], "national"),  # string dates too
        ("international", [grant("national", "2026-12-31")], "international"),  # never lowered
        ("national", [grant("voicemail", "2026-12-31")], "national"),  # feature grants leave CoS alone
        ("internal", [grant("national", "2027-01-01"), grant("international", "2026-01-01")], "national"),
    ],
)
def test_effective_class_of_service(base, grants, expected):
    assert effective_class_of_service(user(base, grants), ON) == expected


def test_active_and_expired_grants_split_on_the_day():
    today, old = grant("national", "2026-06-01"), grant("international", "2026-05-31")
    u = user(grants=[today, old])
    assert active_grants(u, ON) == [today]
    assert expired_grants(u, ON) == [old]


def test_active_features_add_feature_grants_and_leavers_have_none():
    u = user(
        features={"voicemail": False, "dnd": True},
        grants=[grant("voicemail", "2026-07-01"), grant("international", "2026-07-01")],
    )
    assert active_features(u, ON) == {"voicemail": True, "dnd": True}
    assert active_features(u, datetime.date(2026, 7, 2)) == {"voicemail": False, "dnd": True}
    assert active_features({**u, "status": "leaver"}, ON) == {}


def test_bad_data_names_the_element():
    with pytest.raises(UserDataError, match="class_of_service 'vip'"):
        effective_class_of_service(user("vip"), ON)
    with pytest.raises(UserDataError, match="grant until: 'soon'"):
        active_grants(user(grants=[grant("national", "soon")]), ON)
    with pytest.raises(UserDataError, match="unknown site 'rtm'"):
        next_free_extension([], SITES, "rtm")


def test_as_date_reads_dates_and_iso_strings():
    assert as_date(ON) == as_date("2026-06-01") == ON


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "grant until: 'soon' is not a date YYYY-MM-DD"),
        ("2026-02-30", "grant until: '2026-02-30' is not a date YYYY-MM-DD"),
        (None, "grant until: None is not a date YYYY-MM-DD"),
        # A timestamp (YAML 2026-06-01 10:00:00, Jinja now()) is refused, not cut to its day.
        (
            datetime.datetime(2026, 6, 1, 10, 0),
            "grant until: 2026-06-01 10:00:00 is a timestamp; give a date",
        ),
    ],
)
def test_as_date_refuses_non_dates_naming_the_element(value, message):
    with pytest.raises(UserDataError) as exc:
        as_date(value, "grant until")
    assert str(exc.value).startswith(message)


def test_a_timestamp_grant_or_day_is_refused():
    with pytest.raises(UserDataError, match=r"user 'u1' grant until: 2026-06-01 00:00:00 is a timestamp"):
        active_grants(user(grants=[grant("national", datetime.datetime(2026, 6, 1))]), ON)
    with pytest.raises(UserDataError, match=r"^on: 2026-06-01 09:30:00 is a timestamp"):
        effective_class_of_service(user(), datetime.datetime(2026, 6, 1, 9, 30))


def test_next_free_extension_skips_used_and_leavers_and_taken():
    users = [{"extension": 2000}, {"extension": 2001, "status": "leaver"}, {"extension": 2003}]
    assert next_free_extension(users, SITES, "ams") == 2002
    assert next_free_extension(users, SITES, "ams", taken=[2002]) == 2004
    assert next_free_extension(users, SITES, "ams", taken=[2002, 2004]) is None
    assert next_free_extension([], SITES, "thr") == 3000


def test_next_free_did():
    users = [{"did": "+31201234000"}, {"did": "+31201234001"}, {"extension": 2002}]
    assert next_free_did(users, SITES, "ams") == "+31201234002"
    assert next_free_did(users, SITES, "ams", taken=["+31201234002"]) is None
    assert next_free_did([], SITES, "thr") == "+982188110000"


def test_users_of_site():
    users = [
        {"id": "a", "site": "ams"},
        {"id": "b", "site": "thr"},
        {"id": "c", "site": "ams", "status": "leaver"},
    ]
    assert [u["id"] for u in users_of_site(users, "ams")] == ["a"]
    assert [u["id"] for u in users_of_site(users, "ams", leavers=True)] == ["a", "c"]
