"""Calls in progress whose phones vanished end by themselves; live calls and emergency calls go on.

A call whose phones vanish without a BYE (power cut, crash, cable) used to stay
"in progress" on the call server for the dialog module's default 12 hours: it
held a trunk channel, and a release's drain waited for it until its timeout.
The call server now asks the estate's phones in a call with OPTIONS every
``kamailio_dialog_keepalive_seconds``; no answer or 481 ends the call.

Three calls through cs1 at once, with the module's own SIP agents on the
controller:
- a ghost: set up, then both phones' sockets closed: the call server must end it;
- a live call whose phones answer OPTIONS: asked on both sides, never ended;
- an emergency call to the carrier whose phone answers nothing: never asked,
  never ended (an emergency call is never ended by the server).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time

import pytest

from ansible_collections.voip.estate.plugins.module_utils import voip_sip as sip
from ansible_collections.voip.estate.plugins.module_utils import voip_sip_message as msg
from ansible_collections.voip.estate.plugins.module_utils.voip_sip_call import (
    Agent,
    Callee,
    Caller,
    Registration,
    local_address,
)

pytestmark = pytest.mark.lab

SERVER = "cs1"
# The keepalive interval (30 s) plus the dialog timer's step (10 s), the OPTIONS's
# transaction timeout (fr_timer, 30 s) and the dialog's last 10 s, with a margin.
BOUND_SECONDS = 110


def _dialogs(podman_exec) -> set[str]:
    out = podman_exec(SERVER, "kamcmd", "dlg.list", check=False).stdout
    return set(re.findall(r"call-id:\s*(\S+)", out))


class Phone:
    """A UDP agent of the controller that counts the OPTIONS it gets and, if ``answers``, answers them."""

    def __init__(self, agent: Agent, tag: str, answers: bool):
        self.agent, self.tag, self.answers = agent, tag, answers
        self.options: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            got = self.agent.receive(time.monotonic() + 0.2)
            if got is None or not got[0].startswith(b"OPTIONS "):
                continue
            self.options.append(time.time())
            if self.answers:
                _first, headers, _body = sip.parse_message(got[0])
                reply = msg.build_response(got[0], 200, "OK", self.tag)
                self.agent.send(reply, msg.response_target(headers, got[1]))

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(2)


def _counting(agent: Agent, seen: list[float]) -> None:
    """Record the OPTIONS ``agent`` receives (the callee thread answers them)."""
    receive = agent.receive

    def wrapped(until: float):
        got = receive(until)
        if got is not None and got[0].startswith(b"OPTIONS "):
            seen.append(time.time())
        return got

    agent.receive = wrapped


class Call:
    """One call through the call server, set up with the sip_test_call module's agents."""

    def __init__(self, address: str, domain: str, caller, number: str, callee=None):
        family, sockaddr = sip.resolve(address, 5060, "udp")
        where = sip.endpoint(address, 5060, "udp", sockaddr[0])
        local = local_address(family, sockaddr)
        self.agents = [Agent(family, local, where)]
        self.dialer = Caller(self.agents[0], sockaddr, domain, caller.extension, caller.password, number, 5.0)
        self.callee, self.callee_options = None, []
        if callee is not None:
            self.agents.append(Agent(family, local, where))
            _counting(self.agents[1], self.callee_options)
            Registration(self.agents[1], sockaddr, domain, callee.extension, callee.password, 5.0).register()
            self.callee = Callee(self.agents[1], callee.extension, self.dialer.call_id, 5.0)
            self.callee.start()
        challenge = None
        for _attempt in range(2):
            response = self.dialer.invite_once(challenge, lambda: True)
            if response["status"] in msg.AUTH_STATUSES and challenge is None:
                challenge = msg.auth_challenge(response, self.dialer.what)
                continue
            break
        assert response["status"] == 200, f"{self.dialer.what}: {response['status']} {response['reason']}"
        self.dialog = self.dialer.in_dialog(response)
        self.dialog.ack()
        self._confirm()
        if self.callee is not None:
            assert self.callee.acked.is_set(), f"{self.dialer.what}: the callee got no ACK"

    def _confirm(self) -> None:
        """ACK every retransmitted 200 until they stop (1.5 s quiet), as a phone does: the first ACK
        can reach the call server before it has taken the 200 in, and it drops an ACK it cannot
        match. An unACKed call would end by the dialog module's no-ACK timeout, not by keepalives."""
        deadline, quiet = time.monotonic() + 6, time.monotonic() + 1.5
        while time.monotonic() < min(deadline, quiet):
            got = self.agents[0].receive(min(deadline, quiet))
            if got is None:
                continue
            answer = self.agents[0].response(got[0], self.dialer.ids, self.dialog.invite_cseq, "INVITE")
            if answer is not None and 200 <= answer["status"] < 300:
                self.dialog.ack()
                quiet = time.monotonic() + 1.5

    @property
    def call_id(self) -> str:
        return self.dialer.call_id

    def vanish(self) -> None:
        """Both phones gone without a word: sockets closed, no BYE, no unregistration."""
        if self.callee is not None:
            self.callee.stop.set()
            self.callee.join(2)
        for agent in self.agents:
            agent.close()


def test_a_call_whose_phones_vanished_ends_and_live_and_emergency_calls_go_on(
    estate, users, peer, podman_exec
):
    host = estate.hosts[SERVER]
    site = host["voip_site"]
    active = [u for u in users.values() if u.site == site and u.status == "active"]
    caller = active[0]
    # Callees whose calls ring their own phone: no do-not-disturb, no forwarding.
    callees = [u for u in active[1:] if not {"dnd", "call_forward"} & set(u.model.get("features") or {})]
    assert len(callees) >= 2, f"the lab has fewer than two users at {site} who take their own calls"
    ghost_callee, live_callee = callees[:2]
    emergency = str(next(iter(host["voip_sites"][site]["emergency"])))
    domain, address = host["voip_call_server"]["sip_domain"], host["ansible_host"]
    carrier = peer("carrier", "answer", timeout=BOUND_SECONDS + 30)
    ghost = Call(address, domain, caller, ghost_callee.extension, ghost_callee)
    live = Call(address, domain, caller, live_callee.extension, live_callee)
    sos = Call(address, domain, caller, emergency)
    live_caller = Phone(live.agents[0], live.dialer.ids["tag"], answers=True)
    sos_caller = Phone(sos.agents[0], sos.dialer.ids["tag"], answers=False)
    started = time.time()
    try:
        for phone in (live_caller, sos_caller):
            phone.thread.start()
        assert {ghost.call_id, live.call_id, sos.call_id} <= _dialogs(podman_exec)
        ghost.vanish()
        ended = None
        while time.time() - started < BOUND_SECONDS:
            if ghost.call_id not in _dialogs(podman_exec):
                ended = time.time() - started
                break
            time.sleep(2)
        still = _dialogs(podman_exec)
    finally:
        for phone in (live_caller, sos_caller):
            phone.halt()
        live_bye = None
        with contextlib.suppress(sip.SipError):
            live_bye = live.dialog.bye()
        with contextlib.suppress(sip.SipError):
            sos.dialog.bye()  # the carrier's SIPp may have ended by now: best effort
        live.vanish()
        sos.vanish()
        carrier.kill()
        for callee in (ghost_callee, live_callee):
            podman_exec(SERVER, "kamcmd", "ul.rm", "location", f"s:{callee.extension}", check=False)
    print(f"the ghost call ended {ended} s after it was set up; the live call's phones were asked "
          f"{len(live_caller.options)} (caller) and {len(live.callee_options)} (callee) times")  # fmt: skip
    assert ended is not None, f"the call whose phones vanished was still in progress after {BOUND_SECONDS} s"
    assert live.call_id in still, "a call whose phones answer was ended"
    assert live_bye is not None and live_bye["status"] == 200 and live.callee.byed.is_set(), live_bye
    assert live_caller.options and live.callee_options, "the live call's phones were not both asked"
    assert sos.call_id in still, "the emergency call was ended"
    assert not sos_caller.options, "the emergency caller was asked in the call"
