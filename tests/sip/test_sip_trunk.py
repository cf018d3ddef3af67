"""Calls to the PSTN through the lab carrier (a SIPp UAS on a lab peer): class of service,
temporary grants, caller id, and no toll fraud."""

from __future__ import annotations

import datetime

import pytest

pytestmark = pytest.mark.lab

INTERNATIONAL = "0044207946000"


def grants_on(user, day, *, active: bool) -> list[dict]:
    grants = user.model.get("grants") or []
    until = [
        datetime.date.fromisoformat(str(g["until"])) for g in grants if g.get("feature") == "international"
    ]
    return [d for d in until if (d >= day) == active]


def test_current_grant_reaches_carrier_with_did_as_caller_id(users, call, peer):
    today = datetime.date.today()
    caller = next(
        (u for u in users.values() if u.status == "active" and u.model.get("class_of_service") != "international"
         and u.model.get("did") and grants_on(u, today, active=True)),
        None,
    )  # fmt: skip
    assert caller, "the lab directory has a user with a current international grant"
    carrier = peer("carrier", "answer")
    result = call(caller, INTERNATIONAL)
    seen = carrier()
    assert result.final == "200", result.log
    assert seen.returncode == 0, seen.log
    assert (seen.value("REQUEST") or "").startswith(f"INVITE sip:{INTERNATIONAL}@"), seen.log
    # The carrier sees the user's DID as the asserted caller id.
    assert seen.value("PAI") == f"P-Asserted-Identity: <sip:{caller.model['did']}@{caller.domain}>", seen.log


def test_expired_grant_is_refused(users, call):
    today = datetime.date.today()
    caller = next(
        (u for u in users.values() if u.status == "active" and u.model.get("class_of_service") != "international"
         and grants_on(u, today, active=False) and not grants_on(u, today, active=True)),
        None,
    )  # fmt: skip
    assert caller, "the lab directory has a user whose international grant has expired"
    assert call(caller, INTERNATIONAL).final == "403"


def test_unauthenticated_invite_never_reaches_the_carrier(users, estate, sipp, peer):
    trunk = next(t for t in estate.hosts["cs1"]["voip_trunks"] if t["name"] == "lab-carrier")
    user = next(u for u in users.values() if u.status == "active" and u.site == trunk["site"])
    carrier = peer("carrier", "answer", timeout=6)
    # Claims to be a user with international rights, without credentials.
    probe = sipp("probe", user.server, [user.extension, user.domain, INTERNATIONAL])
    assert probe.final == "407", probe.log
    seen = carrier()
    assert seen.value("REQUEST") is None, f"the carrier received a call: {seen.log}"
    assert seen.returncode != 0, "the carrier's SIPp should end on its timeout, with no call"
