"""The user agents of the SIP test call (voip_sip_call): their UDP sockets on the controller, the
non-INVITE client transactions (RFC 3261 17.1.2, timer E), the callee's registration and the
callee itself, a thread that answers the call.

Messages are built and read by ``voip_sip_message``; parsing, the retransmission timers, name
resolution and the errors are ``voip_sip``'s.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time

from ansible_collections.voip.estate.plugins.module_utils import voip_sip as sip
from ansible_collections.voip.estate.plugins.module_utils import voip_sip_message as msg

# The callee's binding lives this long if its unregistration gets lost.
REGISTER_EXPIRES = 60


# --- the network ----------------------------------------------------------------------------------


def local_address(family: int, sockaddr: tuple) -> str:
    """The source address the kernel picks to reach ``sockaddr``."""
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(sockaddr)
        except OSError as exc:
            raise sip.SipTransportError(f"no route to {sockaddr[0]}: {exc.strerror or exc}") from exc
        return probe.getsockname()[0]


class Agent:
    """A user agent's UDP socket on the controller: sends anywhere, receives SIP messages."""

    def __init__(self, family: int, address: str, where: str):
        self.where = where  # the call server, for messages
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.host, self.port = self.sock.getsockname()[:2]
        self.family = family

    @property
    def local(self) -> str:
        return f"{sip.host_part(self.host)}:{self.port}"

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes, target: tuple) -> None:
        try:
            self.sock.sendto(data, target)
        except OSError as exc:
            raise sip.SipTransportError(
                f"cannot send to {target[0]}:{target[1]}: {exc.strerror or exc}"
            ) from exc

    def receive(self, until: float) -> tuple[bytes, tuple] | None:
        """One datagram before the monotonic time ``until``, or None."""
        self.sock.settimeout(max(until - time.monotonic(), 0.001))
        try:
            return self.sock.recvfrom(sip.MAX_DATAGRAM)
        except TimeoutError:
            return None
        except ConnectionRefusedError:
            # An ICMP port unreachable for an earlier datagram (a Linux UDP socket reports it once).
            return None
        except OSError as exc:
            raise sip.SipTransportError(f"cannot receive from {self.where}: {exc.strerror or exc}") from exc

    def via(self, branch: str) -> str:
        return f"SIP/2.0/UDP {self.local};branch={branch};rport"

    def response(self, data: bytes, ids: dict, cseq: int, method: str) -> dict | None:
        """``data`` parsed if it answers our request (ids, cseq, method); None for anything else."""
        response = sip.answer_to(data, self.where, ids, cseq, method)
        if response is not None:
            response["body"] = sip.parse_message(data)[2]
        return response


def non_invite(agent: Agent, request: bytes, target: tuple, ids: dict, cseq: int, method: str,
               timeout: float) -> dict:  # fmt: skip
    """A non-INVITE client transaction (RFC 3261 17.1.2): timer E retransmissions, the final response.

    Raises SipTimeout (naming the server) without one within ``timeout``.
    """
    start = time.monotonic()
    deadline = start + timeout
    waits = iter(sip.retransmit_intervals(timeout))
    next_send = start
    provisional = False
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise sip.SipTimeout(f"no answer from {agent.where} within {float(timeout)} s")
        if next_send is not None and now >= next_send:
            agent.send(request, target)
            wait = next(waits, None)
            next_send = None if wait is None else next_send + wait
        got = agent.receive(min(deadline, next_send) if next_send is not None else deadline)
        if got is None:
            continue
        response = agent.response(got[0], ids, cseq, method)
        if response is None:
            continue
        if response["status"] < 200:
            if not provisional:
                provisional = True
                waits = iter(sip.retransmit_intervals(deadline - time.monotonic(), provisional=True))
                wait = next(waits, None)
                next_send = None if wait is None else time.monotonic() + wait
            continue
        response["elapsed"] = time.monotonic() - start
        return response


class Registration:
    """The callee's binding at the call server: ``register()`` then ``unregister()`` from its Agent."""

    def __init__(self, agent: Agent, server: tuple, domain: str, user: str, password: str, timeout: float):
        self.agent, self.server, self.domain, self.user = agent, server, domain, user
        self._password = password
        self.timeout = timeout
        self.ids = sip.new_ids()
        self.call_id = f"{self.ids['call_id']}@{sip.host_part(agent.host)}"
        self.cseq = 0

    def register(self, expires: int = REGISTER_EXPIRES) -> dict:
        """REGISTER (answering one challenge); the 200 response. Raises SipError naming the user."""
        what = "REGISTER" if expires else "REGISTER (Expires: 0)"
        challenge, header = None, None
        for _attempt in range(3):
            self.cseq += 1
            self.ids["branch"] = sip.new_ids()["branch"]
            uri = f"sip:{sip.host_part(self.domain)}"
            headers = [
                ("Via", self.agent.via(self.ids["branch"])),
                ("Max-Forwards", "70"),
                ("From", f"<sip:{self.user}@{sip.host_part(self.domain)}>;tag={self.ids['tag']}"),
                ("To", f"<sip:{self.user}@{sip.host_part(self.domain)}>"),
                ("Call-ID", self.call_id),
                ("CSeq", f"{self.cseq} REGISTER"),
                ("Contact", f"<sip:{self.user}@{self.agent.local}>"),
                ("Expires", str(expires)),
            ]
            if challenge is not None:
                headers.append(
                    (header, msg.digest_authorization(challenge, "REGISTER", uri, self.user, self._password))
                )
            request = msg.build_request("REGISTER", uri, headers)
            try:
                response = non_invite(self.agent, request, self.server, self.ids, self.cseq, "REGISTER",
                                      self.timeout)  # fmt: skip
            except sip.SipError as exc:
                raise type(exc)(f"{what} of {self.user}: {exc}") from exc
            status = response["status"]
            if status in msg.AUTH_STATUSES and (challenge is None or msg.stale_challenge(response)):
                challenge, header = msg.auth_challenge(response, f"{what} of {self.user}")
                continue
            if 200 <= status < 300:
                return response
            raise msg.SipAuthError(f"{what} of {self.user}: {status} {response['reason']}".rstrip())
        raise msg.SipAuthError(f"{what} of {self.user}: challenged again after answering the challenge")

    def unregister(self) -> dict:
        return self.register(expires=0)


class Callee(threading.Thread):
    """The called UA on its own thread: answers the INVITE with ``call_id`` 180 then 200, and the BYE.

    Records when the INVITE, the ACK and the BYE came (monotonic times).
    Other INVITEs (another test's call to the same extension) get 486, OPTIONS 200, other
    requests outside the call 481.
    """

    def __init__(self, agent: Agent, user: str, call_id: str, timeout: float):
        super().__init__(daemon=True, name=f"sip-callee-{user}")
        self.agent, self.user, self.call_id, self.timeout = agent, user, call_id, timeout
        self.tag = secrets.token_hex(6)
        self.stop = threading.Event()
        self.invited = threading.Event()
        self.acked = threading.Event()
        self.byed = threading.Event()
        self.error: Exception | None = None
        self.rtp = socket.socket(agent.family, socket.SOCK_DGRAM)
        self.rtp.bind((agent.host, 0))
        self._ok: bytes | None = None
        self._ok_to: tuple | None = None

    def run(self) -> None:
        try:
            self._serve()
        except Exception as exc:  # reported to the caller's side
            self.error = exc
        finally:
            self.rtp.close()

    def _serve(self) -> None:
        waits = None
        next_send = None
        while not self.stop.is_set():
            until = time.monotonic() + 0.05
            if next_send is not None:
                until = min(until, next_send)
            got = self.agent.receive(until)
            now = time.monotonic()
            if next_send is not None and now >= next_send and not self.acked.is_set():
                # 200 retransmissions until the ACK (RFC 3261 13.3.1.4).
                self.agent.send(self._ok, self._ok_to)
                wait = next(waits, None)
                next_send = None if wait is None else now + wait
            if got is None:
                continue
            data, source = got
            if not sip.is_request(data):
                continue
            try:
                first, headers, body = sip.parse_message(data)
                method = first.split(" ", 1)[0].upper()
                ours = headers["call-id"][0] == self.call_id
            except (ValueError, KeyError, IndexError):
                continue
            reply_to = msg.response_target(headers, source)
            if method == "ACK":
                if ours:
                    self.acked.set()
                    next_send = None
                continue
            if method == "OPTIONS":
                self.agent.send(msg.build_response(data, 200, "OK", self.tag), reply_to)
            elif method == "INVITE" and ours:
                if self._ok is None:
                    self.invited.set()
                    self.agent.send(
                        msg.build_response(data, 180, "Ringing", self.tag, self._contact()), reply_to
                    )
                    self._ok = self._answer(data, body)
                    self._ok_to = reply_to
                    waits = iter(sip.retransmit_intervals(64 * sip.T1))
                    next_send = time.monotonic() + next(waits, sip.T2)
                self.agent.send(self._ok, reply_to)  # the answer, again for a retransmitted INVITE
            elif method == "INVITE":
                self.agent.send(msg.build_response(data, 486, "Busy Here", secrets.token_hex(6)), reply_to)
            elif method == "BYE" and ours:
                self.agent.send(msg.build_response(data, 200, "OK", self.tag), reply_to)
                self.byed.set()
                self.acked.set()  # a BYE implies the ACK arrived (or no longer matters)
                next_send = None
            elif method == "CANCEL" and ours:
                # The call server cancels this branch when another contact of the user answered
                # first: the INVITE is answered already, so the CANCEL only gets its 200.
                self.agent.send(msg.build_response(data, 200, "OK", self.tag), reply_to)
            else:
                self.agent.send(msg.build_response(data, 481, "Call/Transaction Does Not Exist", self.tag),
                                reply_to)  # fmt: skip

    def _contact(self) -> list[tuple[str, str]]:
        return [("Contact", f"<sip:{self.user}@{self.agent.local}>")]

    def _answer(self, request: bytes, offer: bytes) -> bytes:
        payloads = msg.sdp_media(offer)[2]
        codec = msg.choose_codec(payloads)
        if codec is None:
            return msg.build_response(request, 488, "Not Acceptable Here", self.tag)
        answer = msg.sdp(self.agent.host, self.rtp.getsockname()[1], [codec])
        extra = [*self._contact(), ("Content-Type", "application/sdp")]
        return msg.build_response(request, 200, "OK", self.tag, extra, answer)
