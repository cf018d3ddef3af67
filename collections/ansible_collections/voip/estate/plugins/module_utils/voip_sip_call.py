"""A real SIP test call from the controller: two minimal user agents over UDP (RFC 3261, 2617).

``place_call`` makes one call through a call server and hangs up again:

1. the callee registers (REGISTER, digest authentication as challenged,
   short Expires) from its own UDP socket;
2. the caller sends an INVITE with a small SDP offer (PCMA, PCMU) to
   ``sip:CALLEE@DOMAIN`` through the server, answering its 401/407 with the
   caller's credentials and skipping 100/180/183;
3. the callee, on a thread, receives the INVITE the server relays, answers
   180 then 200 with an SDP answer (Record-Route copied, a To tag and a
   Contact), retransmitting the 200 until the ACK comes; the caller ACKs the
   200 and sends BYE along the route set (Record-Route reversed, to the
   callee's Contact), the callee answers the BYE 200;
4. the callee unregisters (Expires: 0), also when the call failed.

It returns what happened: the INVITE's final status, the setup time (first
INVITE to 200), whether ACK and BYE completed, and a message naming what
failed, for example ``INVITE to 2002@ams.voip.test via 10.231.0.11:5060/udp:
480 Temporarily Unavailable``. Passwords go into digest responses only,
never into a message or a result.

This module holds the caller (INVITE, its timer A, CANCEL), its dialogs
(ACK and BYE; every forked 2xx on its own) and the call's flow. The UDP
sockets, the non-INVITE transactions (timer E), the registration and the
callee's thread are ``voip_sip_agents``'s. The messages they exchange
(requests, responses, digest authentication, route sets, SDP) are built and
read by ``voip_sip_message``; parsing, the retransmission timers, name
resolution and the errors are those of ``voip_sip`` (OPTIONS).
"""

from __future__ import annotations

import socket
import time

from ansible_collections.voip.estate.plugins.module_utils import voip_sip as sip
from ansible_collections.voip.estate.plugins.module_utils import voip_sip_message as msg
from ansible_collections.voip.estate.plugins.module_utils.voip_sip_agents import (
    Agent,
    Callee,
    Registration,
    local_address,
    non_invite,
)

__all__ = [
    "Agent",
    "Callee",
    "Caller",
    "Dialog",
    "Registration",
    "invite_intervals",
    "local_address",
    "place_call",
]


def invite_intervals(timeout: float):
    """Timer A: the waits between INVITE transmissions (T1 doubling, no cap) within ``timeout``."""
    waits, elapsed, interval = [], 0.0, sip.T1
    while elapsed + interval < timeout:
        waits.append(interval)
        elapsed += interval
        interval *= 2
    return waits


class Caller:
    """The calling UA: INVITE (with authentication), ACK, BYE, CANCEL, from its own Agent."""

    def __init__(self, agent: Agent, server: tuple, domain: str, user: str, password: str, callee: str,
                 timeout: float):  # fmt: skip
        self.agent, self.server, self.domain, self.user = agent, server, domain, user
        self._password = password
        self.timeout = timeout
        self.uri = f"sip:{callee}@{sip.host_part(domain)}"
        self.ids = sip.new_ids()
        self.call_id = f"{self.ids['call_id']}@{sip.host_part(agent.host)}"
        self.cseq = 0
        self.from_ = f"<sip:{user}@{sip.host_part(domain)}>;tag={self.ids['tag']}"
        self.to = f"<{self.uri}>"
        self.rtp = socket.socket(agent.family, socket.SOCK_DGRAM)
        self.rtp.bind((agent.host, 0))
        self.offer = msg.sdp(agent.host, self.rtp.getsockname()[1], list(msg.CODECS))
        self.what = f"INVITE to {callee}@{domain} via {agent.where}"
        self.auth: tuple[str, str] | None = None
        self.invite: bytes | None = None
        self.provisional: list[int] = []

    def close(self) -> None:
        self.rtp.close()

    def _headers(self, method: str, cseq: int, to: str | None = None) -> list[tuple[str, str]]:
        return [
            ("Via", self.agent.via(self.ids["branch"])),
            ("Max-Forwards", "70"),
            ("From", self.from_),
            ("To", to or self.to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]

    def invite_once(self, challenge: tuple[dict, str] | None, invited) -> dict:
        """One INVITE transaction: its final response (ACKed when not 2xx).

        Provisional codes add to ``self.provisional``. Raises SipTimeout when no final
        response comes within the timeout (after a CANCEL when the server had answered
        provisionally); ``invited()`` says whether the callee got the INVITE.
        """
        self.cseq += 1
        self.ids["branch"] = sip.new_ids()["branch"]
        headers = [
            *self._headers("INVITE", self.cseq),
            ("Contact", f"<sip:{self.user}@{self.agent.local}>"),
            ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"),
            ("Content-Type", "application/sdp"),
        ]
        if challenge is not None:
            params, name = challenge
            headers.append(
                (name, msg.digest_authorization(params, "INVITE", self.uri, self.user, self._password))
            )
        self.invite = msg.build_request("INVITE", self.uri, headers, self.offer)
        start = time.monotonic()
        deadline = start + self.timeout
        waits = iter(invite_intervals(self.timeout))
        next_send = start
        provisional: list[int] = []
        while True:
            now = time.monotonic()
            if now >= deadline:
                if provisional:
                    self._cancel()
                if provisional and not invited():
                    raise sip.SipTimeout(
                        f"the callee never received the INVITE within {float(self.timeout)} s"
                    )
                raise sip.SipTimeout(f"{self.what}: {_no_final(self.timeout, provisional)}")
            if next_send is not None and now >= next_send:
                self.agent.send(self.invite, self.server)
                wait = next(waits, None)
                next_send = None if wait is None else next_send + wait
            got = self.agent.receive(min(deadline, next_send) if next_send is not None else deadline)
            if got is None:
                continue
            response = self.agent.response(got[0], self.ids, self.cseq, "INVITE")
            if response is None:
                continue
            if response["status"] < 200:
                provisional.append(response["status"])
                self.provisional.append(response["status"])
                next_send = None  # Proceeding: no more retransmissions (17.1.1.2)
                continue
            if response["status"] >= 300:
                self._ack_failure(response)
            return response

    def _ack_failure(self, response: dict) -> None:
        """The hop-by-hop ACK of a non-2xx final answer: same branch, the response's To (17.1.1.3)."""
        to = response["headers"].get("to", [self.to])[0]
        self.agent.send(msg.build_request("ACK", self.uri, self._headers("ACK", self.cseq, to)), self.server)

    def _cancel(self) -> None:
        """CANCEL the pending INVITE (best effort, within one more timeout) and ACK its 487."""
        cancel = msg.build_request("CANCEL", self.uri, self._headers("CANCEL", self.cseq))
        deadline = time.monotonic() + self.timeout
        try:
            non_invite(self.agent, cancel, self.server, self.ids, self.cseq, "CANCEL", self.timeout)
            while time.monotonic() < deadline:
                got = self.agent.receive(deadline)
                if got is None:
                    break
                response = self.agent.response(got[0], self.ids, self.cseq, "INVITE")
                if response is not None and response["status"] >= 300:
                    self._ack_failure(response)
                    break
        except sip.SipError:
            pass

    def in_dialog(self, ok: dict) -> Dialog:
        remote = ok["headers"].get("to", [""])[0]
        contacts = msg.split_header_values(ok["headers"].get("contact", []))
        if not contacts:
            raise sip.SipMalformed(f"{self.what}: 200 OK without a Contact")
        request_uri, routes, hop = msg.dialog_route(ok["headers"].get("record-route", []), contacts[0])
        try:
            host, port = msg.uri_target(hop)
        except ValueError as exc:
            raise sip.SipMalformed(f"{self.what}: {exc}") from exc
        _family, sockaddr = sip.resolve(host, port, "udp")
        return Dialog(self, remote, request_uri, routes, sockaddr, _cseq_number(ok))


class Dialog:
    """The caller's side of the established call: ACK the 200, then BYE."""

    def __init__(self, caller: Caller, remote: str, request_uri: str, routes: list[str], next_hop: tuple,
                 invite_cseq: int):  # fmt: skip
        self.caller, self.remote, self.request_uri = caller, remote, request_uri
        self.routes, self.next_hop = routes, next_hop
        self.invite_cseq = invite_cseq

    def _request(self, method: str, cseq: int, branch: str) -> bytes:
        c = self.caller
        headers = [
            ("Via", c.agent.via(branch)),
            *[("Route", route) for route in self.routes],
            ("Max-Forwards", "70"),
            ("From", c.from_),
            ("To", self.remote),
            ("Call-ID", c.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        return msg.build_request(method, self.request_uri, headers)

    def ack(self) -> bytes:
        ack = self._request("ACK", self.invite_cseq, sip.new_ids()["branch"])
        self.caller.agent.send(ack, self.next_hop)
        return ack

    def bye(self) -> dict:
        c = self.caller
        c.cseq += 1
        ids = {**c.ids, "branch": sip.new_ids()["branch"]}
        bye = self._request("BYE", c.cseq, ids["branch"])
        return non_invite(c.agent, bye, self.next_hop, ids, c.cseq, "BYE", c.timeout)

    def direct(self) -> Dialog:
        """The same dialog without the call server's route: straight to the remote target."""
        try:
            host, port = msg.uri_target(self.request_uri)
        except ValueError as exc:
            raise sip.SipMalformed(f"{self.caller.what}: {exc}") from exc
        _family, sockaddr = sip.resolve(host, port, "udp")
        return Dialog(self.caller, self.remote, self.request_uri, [], sockaddr, self.invite_cseq)


def _cseq_number(response: dict) -> int:
    try:
        return int(response["headers"]["cseq"][0].split()[0])
    except (KeyError, IndexError, ValueError) as exc:
        raise sip.SipMalformed(f"a 2xx without a valid CSeq: {exc}") from exc


def _no_final(timeout: float, provisional: list[int]) -> str:
    if provisional:
        return f"no final answer within {float(timeout)} s (only {', '.join(map(str, provisional))})"
    return f"no answer within {float(timeout)} s"


def place_call(server: str, port: int, domain: str, caller: dict, callee: dict, timeout: float = 5.0) -> dict:
    """One test call from ``caller`` to ``callee`` through the call server ``server:port`` (UDP).

    ``caller`` and ``callee`` are dicts with ``user`` (the extension) and
    ``password``. Returns ok, status and reason (of the INVITE's final
    response), setup_ms, provisional, ack, bye, registered, unregistered,
    codec, media and msg; ``ok`` is True only when the call was answered
    with a 2xx, ACKed and hung up. Raises nothing for what the server or
    the callee do: that is in ``msg``.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout}")
    result = {
        "ok": False, "status": None, "reason": None, "setup_ms": None, "provisional": [],
        "ack": False, "bye": False, "registered": False, "unregistered": False,
        "codec": None, "media": None, "msg": "",
    }  # fmt: skip
    try:
        family, sockaddr = sip.resolve(server, port, "udp")
        where = sip.endpoint(server, port, "udp", sockaddr[0])
        address = local_address(family, sockaddr)
    except sip.SipError as exc:
        result["msg"] = str(exc)
        return result
    callee_agent = Agent(family, address, where)
    caller_agent = Agent(family, address, where)
    registration = Registration(callee_agent, sockaddr, domain, callee["user"], callee["password"], timeout)
    dialer = Caller(
        caller_agent, sockaddr, domain, caller["user"], caller["password"], callee["user"], timeout
    )
    thread = None
    try:
        registration.register()
        result["registered"] = True
        thread = Callee(callee_agent, callee["user"], dialer.call_id, timeout)
        thread.start()
        _call(dialer, thread, result)
    except sip.SipError as exc:
        result["msg"] = str(exc)
    finally:
        result["provisional"] = dialer.provisional
        if thread is not None:
            thread.stop.set()
            thread.join(2)
        if result["registered"]:
            try:
                registration.unregister()
                result["unregistered"] = True
            except sip.SipError as exc:
                result["msg"] = "; ".join(
                    filter(None, [result["msg"], f"{exc} (the binding expires by itself)"])
                )
        dialer.close()
        callee_agent.close()
        caller_agent.close()
    return result


def _call(dialer: Caller, callee: Callee, result: dict) -> None:
    """INVITE (answering one challenge), ACK and BYE; fills ``result``; raises SipError with the message."""
    start = time.monotonic()
    challenge = None
    for _attempt in range(3):
        response = dialer.invite_once(challenge, callee.invited.is_set)
        if response["status"] in msg.AUTH_STATUSES and (challenge is None or msg.stale_challenge(response)):
            challenge = msg.auth_challenge(response, dialer.what)
            continue
        break
    else:
        raise msg.SipAuthError(f"{dialer.what}: challenged again after answering the challenge")
    status, reason = response["status"], response["reason"]
    result["status"], result["reason"] = status, reason
    if callee.error is not None:
        raise sip.SipError(f"the callee failed: {callee.error}")
    if status >= 300:
        if status in msg.AUTH_STATUSES:
            raise msg.SipAuthError(f"{dialer.what}: {status} {reason} (challenged again)")
        raise sip.SipError(f"{dialer.what}: {status} {reason}".rstrip())
    result["setup_ms"] = round((time.monotonic() - start) * 1000, 1)
    address, port, payloads = msg.sdp_media(response.get("body", b""))
    result["codec"] = msg.CODECS.get(payloads[0]) if payloads else None
    result["media"] = f"{sip.host_part(address)}:{port}" if address and port else None
    answers = Answers(dialer, callee.tag)
    try:
        response = answers.ours(response)
        dialog = answers.dialogs[callee.tag]
        _wait_ack(answers, callee)
        result["ack"] = callee.acked.is_set()
        if not result["ack"]:
            raise sip.SipTimeout(f"the callee never received the ACK within {float(dialer.timeout)} s")
        bye = dialog.bye()
        if not 200 <= bye["status"] < 300:
            raise sip.SipError(
                f"BYE to {callee.user}@{dialer.domain}: {bye['status']} {bye['reason']}".rstrip()
            )
    finally:
        # The other contacts' answers are hung up only now: a call server that tracks one dialog
        # per call (Kamailio's dialog module) ends it at the first BYE and then drops the ACK and
        # the BYE of the test call's own callee.
        answers.hang_up_others()
    result["bye"] = True
    result["ok"] = True
    answer = f"{status} {reason}".strip()
    result["msg"] = (
        f"{dialer.what}: {answer} in {result['setup_ms']} ms, ACK and BYE completed" + answers.note()
    )


class Answers:
    """The 2xx answers of one forked INVITE, by To-tag: the test call's own callee's is kept;
    every other one (a phone of the same user answered first) is ACKed at once and hung up once
    the test call is over (``hang_up_others``), as a UAC does with a dialog it does not want
    (RFC 3261 13.2.2.4)."""

    def __init__(self, dialer: Caller, own_tag: str):
        self.dialer, self.own_tag = dialer, own_tag
        self.dialogs: dict[str, Dialog] = {}
        self.cseq = dialer.cseq
        self.others: list[str] = []
        self.unwanted: list[Dialog] = []

    def ack(self, response: dict) -> str | None:
        """ACK a 2xx on its own dialog (a new one is set up first; another contact's is hung up later,
        by ``hang_up_others``)."""
        tag = msg.tag_of(response["headers"].get("to", [""])[0])
        if tag not in self.dialogs:
            self.dialogs[tag] = self.dialer.in_dialog(response)
            self.dialogs[tag].ack()
            if tag != self.own_tag:
                self.unwanted.append(self.dialogs[tag])
            return tag
        self.dialogs[tag].ack()
        return tag

    def hang_up_others(self) -> None:
        """BYE every other contact that answered: through the call server, and when it refuses (its
        dialog ended with the test call's own BYE), straight to the contact."""
        while self.unwanted:
            self.others.append(self._hang_up(self.unwanted.pop(0)))

    def _hang_up(self, dialog: Dialog) -> str:
        who = msg.uri_of(dialog.request_uri)
        try:
            bye = dialog.bye()
        except sip.SipError as exc:
            bye = {"status": 0, "reason": str(exc)}
        if 200 <= bye["status"] < 300:
            return f"{who} ({bye['status']} to the BYE)"
        refused = f"{bye['status']} {bye['reason']}".strip() if bye["status"] else bye["reason"]
        try:
            direct = dialog.direct().bye()
        except sip.SipError as exc:
            return f"{who} ({refused} through the call server; {exc} straight to it)"
        return f"{who} ({refused} through the call server; {direct['status']} to the BYE straight to it)"

    def ours(self, first: dict) -> dict:
        """The callee's own 2xx, from ``first`` or a later one within the timeout."""
        deadline = time.monotonic() + self.dialer.timeout
        response: dict | None = first
        while response is None or self.ack(response) != self.own_tag:
            got = self.dialer.agent.receive(deadline)
            if got is None:
                if time.monotonic() < deadline:
                    continue
                self.hang_up_others()
                raise sip.SipError(
                    f"{self.dialer.what}: answered only by another contact of the user{self.note()}; "
                    f"the test call's callee never answered within {float(self.dialer.timeout)} s"
                )
            response = self.dialer.agent.response(got[0], self.dialer.ids, self.cseq, "INVITE")
            if response is not None and not 200 <= response["status"] < 300:
                response = None
        return response

    def note(self) -> str:
        if not self.others:
            return ""
        return f"; another contact of the user answered too and was hung up: {', '.join(self.others)}"


def _wait_ack(answers: Answers, callee: Callee) -> None:
    """Wait until the callee has the ACK, ACKing every retransmitted 2xx (on its own dialog) meanwhile."""
    dialer = answers.dialer
    deadline = time.monotonic() + dialer.timeout
    while not callee.acked.is_set() and time.monotonic() < deadline:
        got = dialer.agent.receive(min(deadline, time.monotonic() + 0.05))
        if got is None:
            continue
        response = dialer.agent.response(got[0], dialer.ids, answers.cseq, "INVITE")
        if response is not None and 200 <= response["status"] < 300:
            answers.ack(response)
