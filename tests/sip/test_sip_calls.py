"""Real SIP against cs1 and cs2: registration, calls through rtpengine, features, class of service."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab


def first(users, *, site=None, status="active", where=lambda u: True):
    for user in users.values():
        if user.status == status and (site is None or user.site == site) and where(user):
            return user
    pytest.fail(f"the lab directory has no {status} user for this test (site={site})")


def features(user) -> dict:
    return user.model.get("features") or {}


@pytest.mark.parametrize("site", ["ams", "thr"])
def test_active_user_registers(users, register, site):
    user = first(users, site=site)
    result = register(user)
    assert result.final == "200", result.log


def test_wrong_password_is_forbidden(users, register):
    user = first(users)
    assert register(user, password="not-" + user.password).final == "403"


def test_unknown_user_is_forbidden(users, register):
    known = first(users)
    taken = {u.extension for u in users.values()}
    unknown = next(str(n) for n in range(int(known.extension) + 1, 10**6) if str(n) not in taken)
    stranger = type(known)(
        id="stranger", extension=unknown, password="x" * 20, site=known.site, domain=known.domain,
        server=known.server, status="active",
    )  # fmt: skip
    assert register(stranger).final == "403"


def test_leaver_is_forbidden(users, register):
    leaver = first(users, status="leaver")
    # The right password of a removed account still gets nothing.
    assert register(leaver).final == "403"


def test_call_between_users_anchors_media_on_rtpengine(users, call, answering):
    caller = first(users, site="ams")
    callee = first(users, site="ams", where=lambda u: u.extension != caller.extension and not dnd(u))
    waiter = answering(callee)
    result = call(caller, callee.extension)
    answered = waiter()
    assert result.final == "200", result.log
    assert "BYE 200" in result.log
    # The answer's SDP points at the call server (rtpengine), not at the callee.
    assert result.value("MEDIA") == caller.server
    assert f"sip:{caller.extension}@" in (answered.value("ANSWERED") or ""), answered.log


def test_call_to_other_site(users, call, answering):
    caller = first(users, site="ams")
    callee = first(users, site="thr")
    waiter = answering(callee)
    result = call(caller, callee.extension)
    answered = waiter()
    assert result.final == "200", result.log
    assert answered.value("ANSWERED"), answered.log


def dnd(user) -> bool:
    return bool(features(user).get("dnd"))


def test_do_not_disturb_is_busy(users, call):
    callee = first(users, where=dnd)
    caller = first(users, site=callee.site, where=lambda u: not dnd(u))
    assert call(caller, callee.extension).final == "486"


def test_internal_user_cannot_dial_international(users, call):
    caller = first(
        users, where=lambda u: u.model.get("class_of_service") == "internal" and not u.model.get("grants")
    )
    assert call(caller, "0044207946000").final == "403"


def test_call_forward_busy_reaches_the_target(users, call, phone):
    callee = first(users, where=lambda u: (features(u).get("call_forward") or {}).get("busy"))
    target = next(u for u in users.values() if u.extension == str(features(callee)["call_forward"]["busy"]))
    caller = first(users, site=callee.site, where=lambda u: u not in (callee, target) and not dnd(u))
    busy = phone(callee, "busy")
    answered = phone(target, "answer")
    result = call(caller, callee.extension)
    assert result.final == "200", result.log
    assert busy().value("BUSY"), "the callee's phone never saw the call"
    # The target answered the call meant for the callee, from the original caller.
    assert f"sip:{caller.extension}@" in (answered().value("ANSWERED") or ""), answered().log


def test_hunt_group_rings_all_members(users, estate, call, phone):
    group = next(g for g in estate.hosts["cs1"]["voip_hunt_groups"] if g.get("strategy") == "ring_all")
    members = [
        u
        for u in users.values()
        if u.status == "active" and group["id"] in (features(u).get("hunt_groups") or [])
    ]
    assert len(members) >= 2, f"hunt group {group['id']} needs two members for this test"
    caller = first(users, site=group["site"], where=lambda u: u not in members and not dnd(u))
    answerer = phone(members[0], "answer")
    ringers = [phone(m, "ring") for m in members[1:]]
    result = call(caller, str(group["extension"]))
    assert result.final == "200", result.log
    assert answerer().value("ANSWERED"), answerer().log
    for member, ringer in zip(members[1:], ringers, strict=True):
        log = ringer()
        # Every other member rang at the same time and was cancelled when one answered.
        assert log.value("RANG"), f"{member.id} did not ring: {log.log}"
        assert "CANCELLED" in log.log, log.log


def test_busy_user_goes_to_voicemail(users, estate, call, phone, peer):
    uri = estate.hosts["cs1"].get("kamailio_voicemail_uri")
    assert uri, "the lab sets kamailio_voicemail_uri (its voicemail server is a lab peer)"
    callee = first(
        users,
        where=lambda u: features(u).get("voicemail") and not features(u).get("call_forward") and not dnd(u),
    )
    caller = first(users, site=callee.site, where=lambda u: u != callee and not dnd(u))
    mailbox = peer("voicemail", "answer")
    busy = phone(callee, "busy")
    result = call(caller, callee.extension)
    assert result.final == "200", result.log
    assert busy().value("BUSY")
    seen = mailbox()
    assert seen.returncode == 0, seen.log
    # The voicemail server got the call for the callee's box, from the caller.
    box = uri.format(extension=callee.extension, domain=callee.domain)
    assert f"INVITE {box} SIP/2.0" == seen.value("REQUEST"), seen.log
    assert f"sip:{caller.extension}@" in (seen.value("ANSWERED") or "")


def test_no_relay_to_foreign_domains(users, call):
    """An authenticated user cannot use the call server to reach another domain (no open relay)."""
    caller = first(users, where=lambda u: u.model.get("class_of_service") == "international")
    assert call(caller, "someone", domain="example.net").final == "403"
