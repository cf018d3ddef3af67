"""Hunt groups and no-answer forwarding, against the lab, as the model describes them.

Every member (or callee) is a phone the test registers for the user and
then replaces by tools/sip_listener.py on the same address and port: it
records each INVITE with the wall clock and either rings without answering
(180: the call server's ring timeout decides) or is busy (486). The groups,
strategies, ring timeouts, overflows and no-answer timeouts are read from
the lab inventory, never written here.
"""

from __future__ import annotations

import itertools
import time

import pytest

pytestmark = pytest.mark.lab

RINGING, BUSY = 180, 486
_PORTS = itertools.count(7000, 10)


@pytest.fixture
def phones(listen, register, controller):
    """Register users at fresh ports, then listen there: ``start(users, status)`` -> listeners by user id."""
    made, started = [], []

    def start(members, status: int) -> dict:
        ports = []
        for user in members:
            port = next(_PORTS)
            assert register(user, port=port, keep=True).final == "200", f"registering {user.id}"
            made.append((user, port))
            ports.append(port)
        listeners = listen(
            *[("controller", controller, port, ["--invite-status", str(status)]) for port in ports]
        )
        started.extend(listeners)
        return {user.id: listener for user, listener in zip(members, listeners, strict=True)}

    yield start
    # Stop the listeners (one stops them all) to free the ports, then remove the bindings.
    for listener in started[:1]:
        listener.stop()
    for user, port in made:
        register.unregister(user, port)


def group(estate, gid: str) -> dict:
    return next(g for g in estate.hosts["cs1"]["voip_hunt_groups"] if g["id"] == gid)


def members_of(users, gid: str) -> list:
    """The group's members in directory order (the order sequential and round_robin ring them)."""
    return [
        u
        for u in users.values()
        if u.status == "active" and gid in ((u.model.get("features") or {}).get("hunt_groups") or [])
    ]


def dial(sipraw, controller, caller, number: str, timeout: float) -> dict:
    spec = {"method": "INVITE", "uri": f"sip:{number}@{caller.domain}", "user": caller.extension,
            "password": caller.password, "sdp": True, "timeout": timeout}  # fmt: skip
    return sipraw("controller", f"{controller}:{next(_PORTS)}", caller.server, [spec])[0]


def rang(listeners: dict) -> list[tuple[float, str]]:
    """(wall clock, user id) of every INVITE the phones saw, in time order."""
    return sorted((i["clock"], uid) for uid, listener in listeners.items() for i in listener.invites())


def test_a_sequential_group_rings_each_member_for_its_ring_timeout_in_directory_order(
    estate, users, phones, sipraw, controller
):
    hunt = next(g for g in estate.hosts["cs1"]["voip_hunt_groups"] if g["strategy"] == "sequential")
    members = members_of(users, hunt["id"])
    assert len(members) >= 2 and "overflow" not in hunt, hunt
    caller = next(
        u for u in users.values() if u.status == "active" and u.site == hunt["site"] and u not in members
    )
    listeners = phones(members, RINGING)
    result = dial(
        sipraw, controller, caller, str(hunt["extension"]), timeout=hunt["ring_timeout"] * len(members) + 8
    )
    seen = rang(listeners)
    assert [uid for _, uid in seen] == [m.id for m in members], seen
    # Each member rang for the group's ring timeout before the next one.
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(seen)]
    assert all(hunt["ring_timeout"] - 0.5 <= gap <= hunt["ring_timeout"] + 3 for gap in gaps), gaps
    # Nobody answered and the group has no overflow.
    assert result["final"] == 480, [r["status"] for r in result["responses"]]


def test_a_round_robin_group_starts_each_call_with_the_next_member_then_overflows(
    estate, users, phones, sipraw, controller
):
    hunt = next(g for g in estate.hosts["cs1"]["voip_hunt_groups"] if g["strategy"] == "round_robin")
    members = members_of(users, hunt["id"])
    overflow = next(u for u in users.values() if u.extension == str(hunt["overflow"]))
    assert len(members) >= 2 and overflow not in members, hunt
    # From another site when the group's own has nobody else: the call crosses the call servers.
    caller = next(u for u in users.values() if u.status == "active" and u not in members and u != overflow)
    listeners = phones([*members, overflow], BUSY)
    dial(sipraw, controller, caller, str(hunt["extension"]), timeout=10)
    between = time.time()
    dial(sipraw, controller, caller, str(hunt["extension"]), timeout=10)
    seen = rang(listeners)
    orders = [
        [uid for clock, uid in seen if clock < between],
        [uid for clock, uid in seen if clock >= between],
    ]
    ids = [m.id for m in members]
    first, second = orders
    # Every member once (each busy), then the overflow; the next call starts one member further.
    assert first[-1] == overflow.id and sorted(first[:-1]) == sorted(ids), orders
    start = ids.index(first[0])
    assert first[:-1] == ids[start:] + ids[:start], orders
    assert second[:-1] == ids[start + 1 :] + ids[: start + 1], orders
    assert second[-1] == overflow.id, orders


def test_a_ring_all_group_rings_everyone_for_its_timeout_then_overflows_to_its_voicemail(
    estate, users, phones, listen, sipraw, controller
):
    hunt = next(g for g in estate.hosts["cs1"]["voip_hunt_groups"] if g["strategy"] == "ring_all")
    assert hunt.get("overflow") == "voicemail", hunt
    members = members_of(users, hunt["id"])
    caller = next(
        u for u in users.values() if u.status == "active" and u.site == hunt["site"] and u not in members
    )
    voicemail = estate.hosts["cs1"]["lab_peers"]["voicemail"]["address"]
    listeners = phones(members, RINGING)
    mailbox = listen(("voicemail", voicemail, 5060))[0]
    result = dial(sipraw, controller, caller, str(hunt["extension"]), timeout=hunt["ring_timeout"] + 8)
    seen = rang(listeners)
    box = estate.hosts["cs1"]["kamailio_voicemail_uri"].format(
        extension=hunt["extension"], domain=caller.domain
    )
    # (A call of an earlier test may still retransmit to the voicemail server: only this box counts.)
    boxes = [i for i in mailbox.invites() if i["uri"] == box]
    assert sorted(uid for _, uid in seen) == sorted(m.id for m in members), seen
    assert seen[-1][0] - seen[0][0] < 1.5, f"the members did not ring together: {seen}"
    assert [i["uri"] for i in boxes] == [box], mailbox.seen()
    assert boxes[0]["clock"] - seen[0][0] >= hunt["ring_timeout"] - 0.5
    assert result["final"] == 486, [r["status"] for r in result["responses"]]


def test_no_answer_forwards_after_the_users_own_timeout(estate, users, phones, listen, sipraw, controller):
    callee = next(
        u for u in users.values()
        if u.status == "active" and ((u.model.get("features") or {}).get("call_forward") or {}).get("no_answer_timeout")
    )  # fmt: skip
    forward = callee.model["features"]["call_forward"]
    assert forward["no_answer"] == "voicemail", forward
    caller = next(u for u in users.values() if u.status == "active" and u.site == callee.site and u != callee)
    voicemail = estate.hosts["cs1"]["lab_peers"]["voicemail"]["address"]
    phone = phones([callee], RINGING)[callee.id]
    mailbox = listen(("voicemail", voicemail, 5060))[0]
    dial(sipraw, controller, caller, callee.extension, timeout=forward["no_answer_timeout"] + 8)
    rung = phone.invites()
    boxes = [i for i in mailbox.invites() if i["uri"].startswith(f"sip:{callee.extension}@")]
    assert len(rung) == 1 and len(boxes) == 1, (phone.seen(), mailbox.seen())
    waited = boxes[0]["clock"] - rung[0]["clock"]
    # The user's timeout, not the estate's default (kamailio_no_answer_timeout).
    assert forward["no_answer_timeout"] - 0.5 <= waited <= forward["no_answer_timeout"] + 3, waited
