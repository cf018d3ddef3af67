"""`voipctl user diagnose` against the lab: it names the right problem of three users' complaints.

- "my phone shows no service": the phone registered once (60 s) and was then
  unplugged (no refresh): the registration section says no REGISTER since;
- a phone brought to the guest network registers from outside the voice
  networks: refused, and the authentication section says so;
- "I cannot call abroad": the user's international calls get 403: the calls
  section names the code and the reason.
Each diagnosis also has the sections that are fine say so.
"""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.lab


@pytest.fixture
def diagnose(voipctl):
    """``voipctl user diagnose ID --format json``: (exit code, sections by name)."""

    def run(user_id: str) -> tuple[int, dict[str, dict]]:
        done = voipctl("user", "diagnose", user_id, "--format", "json", timeout=600)
        assert done.stdout.strip().startswith("{"), done.stdout[-2000:] + done.stderr[-2000:]
        report = json.loads(done.stdout)
        return done.returncode, {s["name"]: s for s in report["sections"]}

    return run


def user_where(users, **want):
    for user in users.values():
        if user.status == "active" and all(test(user) for test in want.values()):
            return user
    pytest.fail(f"the lab has no active user with {list(want)}")


def test_an_unplugged_phone_is_named_by_its_missing_refresh(users, sipp, diagnose):
    user = user_where(users, site=lambda u: u.site == "ams", cos=lambda u: u.model["class_of_service"] == "national",
                      calm=lambda u: not (u.model.get("features") or {}).get("dnd"))  # fmt: skip
    port = 5991
    result = sipp("register", user.server, [user.extension, user.auth(), user.domain, "60"], port=port)
    assert result.final == "200", result.log
    try:
        # A phone refreshes at half its interval: 40 s without one is a phone gone.
        time.sleep(40)
        code, sections = diagnose(user.id)
    finally:
        sipp("register", user.server, [user.extension, user.auth(), user.domain, "0"], port=port)
    assert code == 1
    problems = sections["registration"]["problems"]
    assert any("no REGISTER since" in p and "unplugged" in p for p in problems), sections["registration"]
    assert sections["drift"]["ok"], sections["drift"]


def test_a_phone_on_the_guest_network_is_named_outside_the_voice_networks(
    users, sipraw, lab_topology, forget_bans, diagnose
):
    user = user_where(
        users, site=lambda u: u.site == "ams", internal=lambda u: u.model["class_of_service"] == "internal"
    )
    guest = lab_topology.host("guest").address
    cs1 = lab_topology.host("cs1").address
    spec = {"method": "REGISTER", "uri": f"sip:{user.domain}", "user": user.extension, "password": user.password,
            "from": f"<sip:{user.extension}@{user.domain}>", "to": f"<sip:{user.extension}@{user.domain}>",
            "contact": f"<sip:{user.extension}@{guest}:5072>", "expires": 60, "timeout": 2}  # fmt: skip
    (reg,) = sipraw("guest", f"{guest}:5072", cs1, [spec])
    forget_bans("cs1", guest)
    assert reg["final"] == 403, reg
    code, sections = diagnose(user.id)
    assert code == 1
    problems = sections["authentication"]["problems"]
    assert any(f"REGISTER from {guest} refused on cs1: outside the voice networks" in p for p in problems), (
        problems
    )


def test_calls_abroad_refused_by_the_class_of_service_are_named_with_their_code(users, call, diagnose):
    user = user_where(users, site=lambda u: u.site == "thr", internal=lambda u: u.model["class_of_service"] == "internal",
                      no_grant=lambda u: not u.model.get("grants"))  # fmt: skip
    for number in ("0044207946001", "0044207946002"):
        assert call(user, number).final == "403"
    code, sections = diagnose(user.id)
    assert code == 1
    problems = sections["calls"]["problems"]
    assert any("fail with 403 (International calls not allowed)" in p for p in problems), sections["calls"]
    assert any("0044207946002" in line for line in sections["calls"]["lines"]), sections["calls"]
    assert sections["model"]["ok"] and sections["drift"]["ok"], sections
