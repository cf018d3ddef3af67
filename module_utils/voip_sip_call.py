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

Parsing, the retransmission timers, name resolution and the errors are those
of ``voip_sip`` (OPTIONS); this module adds requests in general, responses,
digest authentication, dialogs and SDP.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import threading
import time

try:
    from ansible.module_utils.voip_sip import (
        MAX_DATAGRAM,
        T1,
        T2,
        USER_AGENT,
        SipError,
        SipMalformed,
        SipTimeout,
        SipTransportError,
        endpoint,
        host_part,
        is_request,
        matches,
        new_ids,
        parse_message,
        parse_response,
        resolve,
        retransmit_intervals,
    )
except ImportError:  # imported from the repository (unit tests)
    from module_utils.voip_sip import (
        MAX_DATAGRAM,
        T1,
        T2,
        USER_AGENT,
        SipError,
        SipMalformed,
        SipTimeout,
        SipTransportError,
        endpoint,
        host_part,
        is_request,
        matches,
        new_ids,
        parse_message,
        parse_response,
        resolve,
        retransmit_intervals,
    )

# The callee's binding lives this long if its unregistration gets lost.
REGISTER_EXPIRES = 60
# Static RTP payload types we offer and accept, in order of preference.
CODECS = {8: "PCMA", 0: "PCMU"}
AUTH_STATUSES = (401, 407)
CHALLENGE_PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
URI = re.compile(r"^sips?:(?:[^@;>]+@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?", re.IGNORECASE)


class SipAuthError(SipError):
    """The server refused the credentials or asked for an authentication we cannot give."""


# --- pure functions -------------------------------------------------------------------------------


def parse_challenge(value: str) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate``/``Proxy-Authenticate`` Digest challenge (lower-case names).

    Raises ValueError for another scheme or a challenge without realm or nonce.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"not a Digest challenge: {scheme!r}")
    params = {
        name.lower(): unquoted or quoted.replace('\\"', '"')
        for name, quoted, unquoted in CHALLENGE_PARAM.findall(rest)
    }
    for needed in ("realm", "nonce"):
        if needed not in params:
            raise ValueError(f"Digest challenge without {needed}")
    return params


def digest_authorization(
    challenge: dict[str, str],
    method: str,
    uri: str,
    user: str,
    password: str,
    cnonce: str | None = None,
    nc: int = 1,
) -> str:
    """The ``Authorization`` value answering ``challenge`` (RFC 2617: MD5, qop auth or none).

    Raises SipAuthError for what we do not speak (another algorithm, qop auth-int only).
    """
    algorithm = challenge.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise SipAuthError(f"unsupported digest algorithm {algorithm}")
    qops = [q.strip().lower() for q in challenge.get("qop", "").split(",") if q.strip()]
    if qops and "auth" not in qops:
        raise SipAuthError(f"unsupported digest qop {challenge['qop']}")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode("utf-8")).hexdigest()  # RFC 2617 digest

    realm, nonce = challenge["realm"], challenge["nonce"]
    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if qops:
        cnonce = cnonce or secrets.token_hex(8)
        count = f"{nc:08x}"
        response = md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{md5(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append("algorithm=MD5")
    if "opaque" in challenge:
        fields.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(fields)


def build_request(method: str, uri: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """A SIP request: request line, ``headers`` in order, User-Agent, Content-Length, body."""
    lines = [f"{method} {uri} SIP/2.0", *(f"{name}: {value}" for name, value in headers)]
    lines += [f"User-Agent: {USER_AGENT}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def build_response(
    request: bytes,
    status: int,
    reason: str,
    to_tag: str | None = None,
    extra: list[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """A response to ``request`` as a UAS builds it (RFC 3261 8.2.6).

    Via (all, in order), From, Call-ID and CSeq are copied; To too, with
    ``to_tag`` added when it has none; Record-Route is copied into 18x and
    2xx answers to an INVITE (12.1.1), so that the caller learns the route set.
    """
    first, headers, _ = parse_message(request)
    method = first.split(" ", 1)[0].upper()
    to = headers["to"][0]
    if to_tag and not has_tag(to):
        to = f"{to};tag={to_tag}"
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {via}" for via in headers["via"]]
    lines += [f"From: {headers['from'][0]}", f"To: {to}"]
    lines += [f"Call-ID: {headers['call-id'][0]}", f"CSeq: {headers['cseq'][0]}"]
    if method == "INVITE" and 100 < status < 300:
        lines += [f"Record-Route: {route}" for route in headers.get("record-route", [])]
    lines += [f"{name}: {value}" for name, value in extra]
    lines += [f"Server: {USER_AGENT}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def has_tag(name_addr: str) -> bool:
    """Whether a From/To value carries a tag (outside the <URI>)."""
    return tag_of(name_addr) is not None


def tag_of(name_addr: str) -> str | None:
    """The tag parameter of a From/To value, or None."""
    params = name_addr.rsplit(">", 1)[-1]
    match = re.search(r";\s*tag\s*=\s*([^;\s]+)", params, re.IGNORECASE)
    return match.group(1) if match else None


def split_header_values(values: list[str]) -> list[str]:
    """Comma-separated name-addr lists (Record-Route, Route, Contact) as single entries."""
    entries = []
    for value in values:
        entries += [
            entry.strip() for entry in re.split(r",(?=(?:[^<]*<[^>]*>)*[^>]*$)", value) if entry.strip()
        ]
    return entries


def uri_of(name_addr: str) -> str:
    """The URI of a name-addr (``"Bob" <sip:b@h>;tag=1``) or a bare addr-spec."""
    if "<" in name_addr:
        return name_addr.split("<", 1)[1].split(">", 1)[0].strip()
    return name_addr.split(";", 1)[0].strip()


def uri_target(uri: str) -> tuple[str, int]:
    """(host, port) a SIP URI is sent to (``maddr`` and SRV are not used; 5060 by default)."""
    match = URI.match(uri)
    if not match:
        raise ValueError(f"not a SIP URI: {uri!r}")
    return match.group(1).strip("[]"), int(match.group(2) or 5060)


def dialog_route(record_routes: list[str], contact: str) -> tuple[str, list[str], str]:
    """(Request-URI, Route values, next-hop URI) of in-dialog requests from a caller (RFC 3261 12.2.1.1).

    The caller's route set is the Record-Route of the 2xx in reverse order.
    A loose router (``;lr``) first keeps the remote target as Request-URI;
    a strict router takes its place and the target goes last into Route.
    """
    routes = list(reversed(split_header_values(record_routes)))
    target = uri_of(contact)
    if not routes:
        return target, [], target
    first = uri_of(routes[0])
    if re.search(r";\s*lr\b", first, re.IGNORECASE):
        return target, routes, first
    return first, [*routes[1:], f"<{target}>"], first


def sdp(address: str, port: int, payloads, session: int | None = None) -> bytes:
    """A one-stream audio SDP (offer or answer) at ``address:port`` with ``payloads`` (static types)."""
    session = session if session is not None else secrets.randbelow(10**9)
    family = "IP6" if ":" in address else "IP4"
    lines = [
        "v=0",
        f"o=- {session} {session} IN {family} {address}",
        "s=voip-estate test call",
        f"c=IN {family} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(map(str, payloads))}",
        *(f"a=rtpmap:{pt} {CODECS[pt]}/8000" for pt in payloads),
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def sdp_media(body: bytes) -> tuple[str | None, int | None, list[int]]:
    """(connection address, audio port, payload types) of an SDP body; Nones when absent."""
    address, port, payloads = None, None, []
    for line in body.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("c=") and (address is None or port is None):
            address = line.split()[-1] if len(line.split()) >= 3 else None
        elif line.startswith("m=audio ") and port is None:
            fields = line.split()
            if len(fields) >= 4 and fields[1].isdigit():
                port = int(fields[1])
                payloads = [int(pt) for pt in fields[3:] if pt.isdigit()]
    return address, port, payloads


def choose_codec(offer_payloads: list[int]) -> int | None:
    """The first payload type of the offer that we speak (PCMA, PCMU), or None."""
    return next((pt for pt in offer_payloads if pt in CODECS), None)


def invite_intervals(timeout: float):
    """Timer A: the waits between INVITE transmissions (T1 doubling, no cap) within ``timeout``."""
    waits, elapsed, interval = [], 0.0, T1
    while elapsed + interval < timeout:
        waits.append(interval)
        elapsed += interval
        interval *= 2
    return waits


# --- the network ----------------------------------------------------------------------------------


def local_address(family: int, sockaddr: tuple) -> str:
    """The source address the kernel picks to reach ``sockaddr``."""
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(sockaddr)
        except OSError as exc:
            raise SipTransportError(f"no route to {sockaddr[0]}: {exc.strerror or exc}") from exc
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
        return f"{host_part(self.host)}:{self.port}"

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes, target: tuple) -> None:
        try:
            self.sock.sendto(data, target)
        except OSError as exc:
            raise SipTransportError(f"cannot send to {target[0]}:{target[1]}: {exc.strerror or exc}") from exc

    def receive(self, until: float) -> tuple[bytes, tuple] | None:
        """One datagram before the monotonic time ``until``, or None."""
        self.sock.settimeout(max(until - time.monotonic(), 0.001))
        try:
            return self.sock.recvfrom(MAX_DATAGRAM)
        except TimeoutError:
            return None
        except ConnectionRefusedError:
            # An ICMP port unreachable for an earlier datagram (a Linux UDP socket reports it once).
            return None
        except OSError as exc:
            raise SipTransportError(f"cannot receive from {self.where}: {exc.strerror or exc}") from exc

    def via(self, branch: str) -> str:
        return f"SIP/2.0/UDP {self.local};branch={branch};rport"

    def response(self, data: bytes, ids: dict, cseq: int, method: str) -> dict | None:
        """``data`` parsed if it answers our request (ids, cseq, method); None for anything else."""
        if is_request(data):
            return None
        try:
            response = parse_response(data)
            ours = matches(response, ids, cseq, method)
        except ValueError as exc:
            raise SipMalformed(f"malformed response from {self.where}: {exc}") from exc
        if ours:
            _, _, response["body"] = parse_message(data)
        return response if ours else None


def non_invite(agent: Agent, request: bytes, target: tuple, ids: dict, cseq: int, method: str,
               timeout: float) -> dict:  # fmt: skip
    """A non-INVITE client transaction (RFC 3261 17.1.2): timer E retransmissions, the final response.

    Raises SipTimeout (naming the server) without one within ``timeout``.
    """
    start = time.monotonic()
    deadline = start + timeout
    waits = iter(retransmit_intervals(timeout))
    next_send = start
    provisional = False
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise SipTimeout(f"no answer from {agent.where} within {float(timeout)} s")
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
                waits = iter(retransmit_intervals(deadline - time.monotonic(), provisional=True))
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
        self.ids = new_ids()
        self.call_id = f"{self.ids['call_id']}@{host_part(agent.host)}"
        self.cseq = 0

    def register(self, expires: int = REGISTER_EXPIRES) -> dict:
        """REGISTER (answering one challenge); the 200 response. Raises SipError naming the user."""
        what = "REGISTER" if expires else "REGISTER (Expires: 0)"
        challenge, header = None, None
        for _ in range(3):
            self.cseq += 1
            self.ids["branch"] = new_ids()["branch"]
            uri = f"sip:{host_part(self.domain)}"
            headers = [
                ("Via", self.agent.via(self.ids["branch"])),
                ("Max-Forwards", "70"),
                ("From", f"<sip:{self.user}@{host_part(self.domain)}>;tag={self.ids['tag']}"),
                ("To", f"<sip:{self.user}@{host_part(self.domain)}>"),
                ("Call-ID", self.call_id),
                ("CSeq", f"{self.cseq} REGISTER"),
                ("Contact", f"<sip:{self.user}@{self.agent.local}>"),
                ("Expires", str(expires)),
            ]
            if challenge is not None:
                headers.append(
                    (header, digest_authorization(challenge, "REGISTER", uri, self.user, self._password))
                )
            request = build_request("REGISTER", uri, headers)
            try:
                response = non_invite(self.agent, request, self.server, self.ids, self.cseq, "REGISTER",
                                      self.timeout)  # fmt: skip
            except SipError as exc:
                raise type(exc)(f"{what} of {self.user}: {exc}") from exc
            status = response["status"]
            if status in AUTH_STATUSES and (challenge is None or _stale(response)):
                challenge, header = _challenge(response, f"{what} of {self.user}")
                continue
            if 200 <= status < 300:
                return response
            raise SipAuthError(f"{what} of {self.user}: {status} {response['reason']}".rstrip())
        raise SipAuthError(f"{what} of {self.user}: challenged again after answering the challenge")

    def unregister(self) -> dict:
        return self.register(expires=0)


def _challenge(response: dict, what: str) -> tuple[dict, str]:
    """(challenge parameters, header to answer with) of a 401/407."""
    name = "www-authenticate" if response["status"] == 401 else "proxy-authenticate"
    answer = "Authorization" if response["status"] == 401 else "Proxy-Authorization"
    values = response["headers"].get(name)
    if not values:
        raise SipAuthError(f"{what}: {response['status']} without a {name.title()} header")
    for value in values:
        try:
            return parse_challenge(value), answer
        except ValueError:
            continue
    raise SipAuthError(f"{what}: {response['status']} without a Digest challenge")


def _stale(response: dict) -> bool:
    """Whether a second challenge only says our nonce went stale (the credentials were right)."""
    for name in ("www-authenticate", "proxy-authenticate"):
        for value in response["headers"].get(name, []):
            if re.search(r"stale\s*=\s*\"?true", value, re.IGNORECASE):
                return True
    return False


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
            if not is_request(data):
                continue
            try:
                first, headers, body = parse_message(data)
                method = first.split(" ", 1)[0].upper()
                ours = headers["call-id"][0] == self.call_id
            except (ValueError, KeyError, IndexError):
                continue
            reply_to = _response_target(headers, source)
            if method == "ACK":
                if ours:
                    self.acked.set()
                    next_send = None
                continue
            if method == "OPTIONS":
                self.agent.send(build_response(data, 200, "OK", self.tag), reply_to)
            elif method == "INVITE" and ours:
                if self._ok is None:
                    self.invited.set()
                    self.agent.send(build_response(data, 180, "Ringing", self.tag, self._contact()), reply_to)
                    self._ok = self._answer(data, body)
                    self._ok_to = reply_to
                    waits = iter(retransmit_intervals(64 * T1))
                    next_send = time.monotonic() + next(waits, T2)
                self.agent.send(self._ok, reply_to)  # the answer, again for a retransmitted INVITE
            elif method == "INVITE":
                self.agent.send(build_response(data, 486, "Busy Here", secrets.token_hex(6)), reply_to)
            elif method == "BYE" and ours:
                self.agent.send(build_response(data, 200, "OK", self.tag), reply_to)
                self.byed.set()
                self.acked.set()  # a BYE implies the ACK arrived (or no longer matters)
                next_send = None
            elif method != "CANCEL" or not ours:
                self.agent.send(build_response(data, 481, "Call/Transaction Does Not Exist", self.tag),
                                reply_to)  # fmt: skip

    def _contact(self) -> list[tuple[str, str]]:
        return [("Contact", f"<sip:{self.user}@{self.agent.local}>")]

    def _answer(self, request: bytes, offer: bytes) -> bytes:
        _, _, payloads = sdp_media(offer)
        codec = choose_codec(payloads)
        if codec is None:
            return build_response(request, 488, "Not Acceptable Here", self.tag)
        answer = sdp(self.agent.host, self.rtp.getsockname()[1], [codec])
        extra = [*self._contact(), ("Content-Type", "application/sdp")]
        return build_response(request, 200, "OK", self.tag, extra, answer)


def _response_target(headers: dict, source: tuple) -> tuple:
    """Where a UAS sends its responses: the top Via's received/rport, else the source (RFC 3261 18.2.2, 3581)."""
    via = headers["via"][0].split(",")[0]
    rport = re.search(r";\s*rport\s*=\s*(\d+)", via)
    received = re.search(r";\s*received\s*=\s*([^;\s]+)", via)
    host = received.group(1) if received else source[0]
    port = int(rport.group(1)) if rport else source[1]
    sent_by = re.match(r"SIP/2\.0/UDP\s+(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?", via, re.IGNORECASE)
    if sent_by and not received and not rport:
        host, port = sent_by.group(1).strip("[]"), int(sent_by.group(2) or 5060)
        if not re.match(r"^[\d.:a-fA-F]+$", host):
            host = source[0]
    return (host, port, *source[2:])


class Caller:
    """The calling UA: INVITE (with authentication), ACK, BYE, CANCEL, from its own Agent."""

    def __init__(self, agent: Agent, server: tuple, domain: str, user: str, password: str, callee: str,
                 timeout: float):  # fmt: skip
        self.agent, self.server, self.domain, self.user = agent, server, domain, user
        self._password = password
        self.timeout = timeout
        self.uri = f"sip:{callee}@{host_part(domain)}"
        self.ids = new_ids()
        self.call_id = f"{self.ids['call_id']}@{host_part(agent.host)}"
        self.cseq = 0
        self.from_ = f"<sip:{user}@{host_part(domain)}>;tag={self.ids['tag']}"
        self.to = f"<{self.uri}>"
        self.rtp = socket.socket(agent.family, socket.SOCK_DGRAM)
        self.rtp.bind((agent.host, 0))
        self.offer = sdp(agent.host, self.rtp.getsockname()[1], list(CODECS))
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
        self.ids["branch"] = new_ids()["branch"]
        headers = [
            *self._headers("INVITE", self.cseq),
            ("Contact", f"<sip:{self.user}@{self.agent.local}>"),
            ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"),
            ("Content-Type", "application/sdp"),
        ]
        if challenge is not None:
            params, name = challenge
            headers.append(
                (name, digest_authorization(params, "INVITE", self.uri, self.user, self._password))
            )
        self.invite = build_request("INVITE", self.uri, headers, self.offer)
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
                    raise SipTimeout(f"the callee never received the INVITE within {float(self.timeout)} s")
                raise SipTimeout(f"{self.what}: {_no_final(self.timeout, provisional)}")
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
        self.agent.send(build_request("ACK", self.uri, self._headers("ACK", self.cseq, to)), self.server)

    def _cancel(self) -> None:
        """CANCEL the pending INVITE (best effort, within one more timeout) and ACK its 487."""
        cancel = build_request("CANCEL", self.uri, self._headers("CANCEL", self.cseq))
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
        except SipError:
            pass

    def in_dialog(self, ok: dict) -> Dialog:
        remote = ok["headers"].get("to", [""])[0]
        contacts = split_header_values(ok["headers"].get("contact", []))
        if not contacts:
            raise SipMalformed(f"{self.what}: 200 OK without a Contact")
        request_uri, routes, hop = dialog_route(ok["headers"].get("record-route", []), contacts[0])
        try:
            host, port = uri_target(hop)
        except ValueError as exc:
            raise SipMalformed(f"{self.what}: {exc}") from exc
        _, sockaddr = resolve(host, port, "udp")
        return Dialog(self, remote, request_uri, routes, sockaddr)


class Dialog:
    """The caller's side of the established call: ACK the 200, then BYE."""

    def __init__(self, caller: Caller, remote: str, request_uri: str, routes: list[str], next_hop: tuple):
        self.caller, self.remote, self.request_uri = caller, remote, request_uri
        self.routes, self.next_hop = routes, next_hop
        self.invite_cseq = caller.cseq

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
        return build_request(method, self.request_uri, headers)

    def ack(self) -> bytes:
        ack = self._request("ACK", self.invite_cseq, new_ids()["branch"])
        self.caller.agent.send(ack, self.next_hop)
        return ack

    def bye(self) -> dict:
        c = self.caller
        c.cseq += 1
        ids = {**c.ids, "branch": new_ids()["branch"]}
        bye = self._request("BYE", c.cseq, ids["branch"])
        return non_invite(c.agent, bye, self.next_hop, ids, c.cseq, "BYE", c.timeout)


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
        family, sockaddr = resolve(server, port, "udp")
        where = endpoint(server, port, "udp", sockaddr[0])
        address = local_address(family, sockaddr)
    except SipError as exc:
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
    except SipError as exc:
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
            except SipError as exc:
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
    for _ in range(3):
        response = dialer.invite_once(challenge, callee.invited.is_set)
        if response["status"] in AUTH_STATUSES and (challenge is None or _stale(response)):
            challenge = _challenge(response, dialer.what)
            continue
        break
    else:
        raise SipAuthError(f"{dialer.what}: challenged again after answering the challenge")
    status, reason = response["status"], response["reason"]
    result["status"], result["reason"] = status, reason
    if callee.error is not None:
        raise SipError(f"the callee failed: {callee.error}")
    if status >= 300:
        if status in AUTH_STATUSES:
            raise SipAuthError(f"{dialer.what}: {status} {reason} (challenged again)")
        raise SipError(f"{dialer.what}: {status} {reason}".rstrip())
    result["setup_ms"] = round((time.monotonic() - start) * 1000, 1)
    address, port, payloads = sdp_media(response.get("body", b""))
    result["codec"] = CODECS.get(payloads[0]) if payloads else None
    result["media"] = f"{host_part(address)}:{port}" if address and port else None
    dialog = dialer.in_dialog(response)
    dialog.ack()
    _wait_ack(dialer, dialog, callee)
    result["ack"] = callee.acked.is_set()
    if not result["ack"]:
        raise SipTimeout(f"the callee never received the ACK within {float(dialer.timeout)} s")
    bye = dialog.bye()
    if not 200 <= bye["status"] < 300:
        raise SipError(f"BYE to {callee.user}@{dialer.domain}: {bye['status']} {bye['reason']}".rstrip())
    result["bye"] = True
    result["ok"] = True
    answer = f"{status} {reason}".strip()
    result["msg"] = f"{dialer.what}: {answer} in {result['setup_ms']} ms, ACK and BYE completed"


def _wait_ack(dialer: Caller, dialog: Dialog, callee: Callee) -> None:
    """Wait until the callee has the ACK, ACKing every retransmitted 200 meanwhile."""
    deadline = time.monotonic() + dialer.timeout
    while not callee.acked.is_set() and time.monotonic() < deadline:
        got = dialer.agent.receive(min(deadline, time.monotonic() + 0.05))
        if got is None:
            continue
        response = dialer.agent.response(got[0], dialer.ids, dialog.invite_cseq, "INVITE")
        if response is not None and 200 <= response["status"] < 300:
            dialog.ack()
