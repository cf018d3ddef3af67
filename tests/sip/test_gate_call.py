"""The release gate's test call while a phone of the callee's user is registered too.

The gate's callee registers as one more contact of a real user (the model's
``test_call.callee``), so the call server forks the INVITE to that user's
phones as well. When a phone answers first, the gate must still reach its own
callee and hang the phone up again. Before this was handled, the gate failed
1 call in 15 in this lab ("the callee never received the ACK": the caller had
ACKed the phone's 200), and a release under load stopped at cs3 on it.

Which 200 comes first is a race the lab cannot force (the phone is preferred,
q=1.0, yet the gate's callee mostly wins when the server is idle): this test
makes calls through both members of the Amsterdam pair and asserts that every
gate call succeeded and that the forks reached the phone (it was cancelled,
or its 200 reached the gate and was hung up). The case
where the phone answers first is proved deterministically in the collection's
unit tests (test_sip_test_call.py: a fake proxy whose phone always answers first, and one that,
as Kamailio's dialog module, ends its one dialog at the first BYE).

Before the call server let the ACK of a forked call's second answer through, it dropped the ACK
of the gate's own callee when the phone's answer reached it first (the dialog module tracks the
first answer's To-tag only): CI on 2026-12-06 lost 2 of these 20 calls that way, and a release
under load rolled back on it. The server now remembers each answer it relays (route REPLY, htable
``answered``) and relays its ACK; no lost ACK is tolerated.

The phone is SIPp's ``answer_fork`` scenario: like a real phone, it keeps a call it has answered
when the server's CANCEL (the gate's callee answered first) comes after its 200 (RFC 3261 9.2).
With the plain ``answer`` scenario SIPp dropped such a call, so the gate's BYE to it went
unanswered and each such call waited 10 s for nothing (151 s for the 20 calls, now about 20).
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_sip_call import place_call

pytestmark = pytest.mark.lab

CALLS = 20
PHONE_PORT = 6540


def _register_phone(sipraw, controller: str, user, expires: int) -> None:
    """The user's desk phone (SIPp at PHONE_PORT), preferred (q=1.0): the call server sends the forked
    INVITE to it first, and SIPp answers faster than the gate's Python callee. So the phone's 200
    comes first, the case that failed."""
    contact = f"<sip:{user.extension}@{controller}:{PHONE_PORT}>;q=1.0"
    spec = {"method": "REGISTER", "uri": f"sip:{user.domain}", "user": user.extension, "password": user.password,
            "from": f"<sip:{user.extension}@{user.domain}>", "to": f"<sip:{user.extension}@{user.domain}>",
            "contact": contact, "expires": expires, "timeout": 2}  # fmt: skip
    (result,) = sipraw("controller", f"{controller}:0", user.server, [spec])
    assert result["final"] == 200, result["responses"]


def test_the_gate_call_reaches_its_callee_when_a_phone_of_the_user_answers_too(
    estate, users, sipp_load, sipraw, controller
):
    gate = estate.hosts["cs1"]["voip_call_server"]["test_call"]
    servers = [estate.hosts[name]["ansible_host"] for name in ("cs1", "cs3")]
    caller, callee = users[gate["caller"]], users[gate["callee"]]
    phone = sipp_load("answer_fork", callee.server, [], port=PHONE_PORT, calls=1000, timeout=300)
    _register_phone(sipraw, controller, callee, 300)
    results = []
    try:
        for i in range(CALLS):
            # 1 s apart: the controller's requests stay under the call server's flood limit.
            time.sleep(1)
            results.append(place_call(
                servers[i % 2], 5060, callee.domain, {"user": caller.extension, "password": caller.password},
                {"user": callee.extension, "password": callee.password}, 5.0,
            ))  # fmt: skip
    finally:
        _register_phone(sipraw, controller, callee, 0)
        phone.kill()
    failed = [r["msg"] for r in results if not (r["ok"] and r["ack"] and r["bye"])]
    assert failed == [], failed
    assert all(r["unregistered"] for r in results)
    # The fork reached the phone: it was cancelled once the gate's callee had answered, or its 200
    # reached the caller, which hung it up and said so. Not every call can be counted: a phone's
    # 200 that comes while the gate is already hanging up its own call is not read (the phone then
    # gives up on it by its own timers), and its log says nothing of it.
    log = phone.read_log()
    answered = [r["msg"] for r in results if "another contact of the user answered too" in r["msg"]]
    cancelled = log.count("unexpected CANCEL") + log.count("CANCEL AFTER ANSWER")
    assert cancelled + len(answered) > 0, log[-2000:]
    # Each phone call the gate hung up answered its BYE: none is left open on the phone.
    assert [m for m in answered if "no answer" in m] == []
    print(
        f"of {CALLS} forks to the phone: {cancelled} cancelled, {len(answered)} answered and hung up by the gate"
    )
