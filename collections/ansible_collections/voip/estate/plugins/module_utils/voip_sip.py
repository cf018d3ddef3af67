"""SIP OPTIONS ping (RFC 3261) over plain Python sockets, for the health checks and the release gate.

``options_ping`` sends one OPTIONS transaction to ``sip:host:port`` from
the machine it runs on (the controller), over UDP or TCP, and returns the
final response's status, reason, latency and selected headers. Provisional
responses (1xx) are skipped. Over UDP the request is retransmitted as RFC
3261 17.1.2.2 says for a non-INVITE client transaction (timer E: T1 = 500
ms, doubling up to T2 = 4 s, T2 once a provisional response came) until
``timeout``; over TCP it is sent once.

The local address put in Via, From and Contact is the one the kernel picks
for the target (a connected socket), so the answer comes back to it.

Everything that goes wrong with the target raises ``SipError`` whose
message names the target, for example ``no answer from 10.0.0.1:5060/udp
within 2.0 s``. The builder and the parser are pure functions.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import secrets
import socket
import time

USER_AGENT = "voip-estate-health"
TRANSPORTS = ("udp", "tcp")
T1 = 0.5
T2 = 4.0
MAX_DATAGRAM = 65535
# What an ICMP port unreachable for our datagram says about the target.
UNREACHABLE = "is unreachable: ICMP port unreachable (nothing listening)"
# A TCP response bigger than this is not an OPTIONS answer we want.
MAX_STREAM = 256 * 1024
# Headers the result always carries (with those the caller asks for).
DEFAULT_HEADERS = ("Server", "User-Agent")

# RFC 3261 7.3.3 and later RFCs: compact header names.
COMPACT = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

STATUS_LINE = re.compile(r"^SIP/2\.0[ \t]+([1-6]\d\d)(?:[ \t]+(.*))?$")
REQUEST_LINE = re.compile(r"^[A-Za-z]+ \S+ SIP/2\.0$")
TOKEN = re.compile(r"^[!%*+`'~.\w-]+$")
BRANCH = re.compile(r";\s*branch\s*=\s*([^;,\s]+)", re.IGNORECASE)
MAGIC_COOKIE = "z9hG4bK"


class SipError(Exception):
    """The target could not be asked or did not answer properly; the message names it."""


class SipResolveError(SipError):
    """The target's name does not resolve."""


class SipTimeout(SipError):
    """No final response within the timeout."""


class SipMalformed(SipError):
    """The target answered something that is not a SIP response."""


class SipTransportError(SipError):
    """The transport failed: connection refused, port unreachable, reset."""


# --- pure functions -------------------------------------------------------------------------------


def host_part(host: str) -> str:
    """``host`` as it goes into a SIP URI or Via (an IPv6 address in brackets)."""
    host = host.strip("[]")
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def request_uri(host: str, port: int = 5060, user: str | None = None, transport: str = "udp") -> str:
    """``sip:[user@]host:port``, with ``;transport=tcp`` for TCP."""
    userinfo = f"{user}@" if user else ""
    params = ";transport=tcp" if transport == "tcp" else ""
    return f"sip:{userinfo}{host_part(host)}:{port}{params}"


def new_ids() -> dict[str, str]:
    """Fresh transaction identifiers: Via branch (with the RFC 3261 magic cookie), From tag, Call-ID."""
    return {
        "branch": MAGIC_COOKIE + secrets.token_hex(10),
        "tag": secrets.token_hex(6),
        "call_id": secrets.token_hex(12),
    }


def build_options(
    host: str,
    port: int,
    local_host: str,
    local_port: int,
    transport: str = "udp",
    user: str | None = None,
    ids: dict[str, str] | None = None,
    cseq: int = 1,
) -> bytes:
    """An RFC 3261 OPTIONS request to ``sip:[user@]host:port`` sent from ``local_host:local_port``."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    ids = ids or new_ids()
    uri = request_uri(host, port, user, transport)
    local = f"{host_part(local_host)}:{local_port}"
    params = ";transport=tcp" if transport == "tcp" else ""
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {local};branch={ids['branch']};rport",
        "Max-Forwards: 70",
        f"From: <sip:{USER_AGENT}@{host_part(local_host)}>;tag={ids['tag']}",
        f"To: <{uri}>",
        f"Call-ID: {ids['call_id']}@{host_part(local_host)}",
        f"CSeq: {cseq} OPTIONS",
        f"Contact: <sip:{USER_AGENT}@{local}{params}>",
        "Accept: application/sdp",
        f"User-Agent: {USER_AGENT}",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def header_name(name: str) -> str:
    """The canonical (lower-case, long) form of a header name."""
    name = name.strip().lower()
    return COMPACT.get(name, name)


def parse_message(data: bytes) -> tuple[str, dict[str, list[str]], bytes]:
    """A SIP message: (first line, headers by canonical lower-case name -> values in order, body).

    Folded lines are unfolded; compact names take their long form. Raises
    ValueError when ``data`` is not a SIP message.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    head, sep = text.partition("\r\n\r\n")[:2]
    if not sep:
        head, sep = text.partition("\n\n")[:2]
    body = data[len((head + sep).encode("utf-8")) :]
    lines = head.replace("\r\n", "\n").rstrip("\n").split("\n")
    first = lines[0].strip()
    if not first:
        raise ValueError("empty first line")
    headers: dict[str, list[str]] = {}
    last = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last is not None:
            headers[last][-1] = f"{headers[last][-1]} {line.strip()}"
            continue
        name, colon, value = line.partition(":")
        if not colon or not TOKEN.match(name.strip()):
            raise ValueError(f"not a header line: {line[:60]!r}")
        last = header_name(name)
        headers.setdefault(last, []).append(value.strip())
    return first, headers, body


def parse_response(data: bytes) -> dict:
    """A SIP response: status (int), reason, first_line, headers (canonical names -> values).

    Raises ValueError when ``data`` is not a SIP response (a request raises
    too; ``is_request`` tells them apart).
    """
    first = data.split(b"\n", 1)[0].strip().decode("utf-8", "backslashreplace")
    if not STATUS_LINE.match(first):
        raise ValueError(f"not a SIP status line: {first[:80]!r}")
    first, headers = parse_message(data)[:2]
    match = STATUS_LINE.match(first)
    return {
        "status": int(match.group(1)),
        "reason": (match.group(2) or "").strip(),
        "first_line": first,
        "headers": headers,
    }


def is_request(data: bytes) -> bool:
    """Whether ``data`` starts with a SIP request line (a request from the target, not an answer)."""
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    return bool(REQUEST_LINE.match(first))


def matches(response: dict, ids: dict[str, str], cseq: int = 1, method: str = "OPTIONS") -> bool:
    """Whether ``response`` answers the request with ``ids`` (top Via branch, Call-ID, CSeq and method).

    Raises ValueError when a header needed to tell is missing.
    """
    headers = response["headers"]
    for needed in ("via", "call-id", "cseq"):
        if not headers.get(needed):
            raise ValueError(f"response without {needed.title()} header")
    # The top Via is the first value of the first Via header (which may list several).
    top_via = headers["via"][0].split(",")[0]
    branch = BRANCH.search(top_via)
    call_id = headers["call-id"][0].split("@")[0]
    number, _space, method_ = headers["cseq"][0].partition(" ")
    return (
        branch is not None
        and branch.group(1) == ids["branch"]
        and call_id == ids["call_id"]
        and number.strip() == str(cseq)
        and method_.strip().upper() == method.upper()
    )


def select_headers(headers: dict[str, list[str]], names) -> dict[str, str | None]:
    """The headers asked for, under the names as asked (Server, User-Agent first); several values joined."""
    selected = {}
    for name in [*DEFAULT_HEADERS, *names]:
        if any(name.lower() == seen.lower() for seen in selected):
            continue
        values = headers.get(header_name(name))
        selected[name] = ", ".join(values) if values else None
    return selected


def retransmit_intervals(timeout: float, retries: int | None = None, provisional: bool = False):
    """Timer E: the waits between transmissions (T1 doubling up to T2; T2 after a 1xx), within ``timeout``."""
    waits, elapsed, interval = [], 0.0, T2 if provisional else T1
    while elapsed + interval < timeout and (retries is None or len(waits) < retries):
        waits.append(interval)
        elapsed += interval
        interval = T2 if provisional else min(interval * 2, T2)
    return waits


def endpoint(host: str, port: int, transport: str, address: str | None = None) -> str:
    """``host:port/transport`` for messages, with the address when the host is a name."""
    where = f"{host_part(host)}:{port}/{transport}"
    if address and address != host.strip("[]"):
        where += f" ({address})"
    return where


# --- the network ----------------------------------------------------------------------------------


def endpoint_error(port: int, timeout: float) -> str | None:
    """What is wrong with a module's ``port`` and ``timeout`` options, or None."""
    if not 0 < port < 65536:
        return f"port must be 1-65535, not {port}"
    if timeout <= 0:
        return f"timeout must be positive, not {timeout}"
    return None


def resolve(host: str, port: int, transport: str) -> tuple[int, tuple]:
    """(address family, socket address) of ``host`` (A/AAAA, no SRV); SipResolveError if it does not resolve."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=kind)
    except (socket.gaierror, UnicodeError) as exc:
        raise SipResolveError(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not infos:
        raise SipResolveError(f"cannot resolve {host}: no address")
    family, _socktype, _proto, _canonname, sockaddr = infos[0]
    return family, sockaddr


def options_ping(
    host: str,
    port: int = 5060,
    transport: str = "udp",
    timeout: float = 2.0,
    retries: int | None = None,
    user: str | None = None,
    headers=(),
) -> dict:
    """Send an OPTIONS to ``sip:[user@]host:port`` and return the final response.

    Returns status, reason, latency_ms (from the first transmission to the
    final response), headers (Server, User-Agent and ``headers``, None when
    absent), response_line, provisional (the 1xx codes seen), transmissions,
    address (the target's) and local (ours, as in Via). Raises SipError.
    """
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout}")
    family, sockaddr = resolve(host, port, transport)
    where = endpoint(host, port, transport, sockaddr[0])
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    ids = new_ids()
    with socket.socket(family, kind) as sock:
        exchange = _udp if transport == "udp" else _tcp
        result = exchange(sock, host, port, sockaddr, where, timeout, retries, user, ids)
    result["headers"] = select_headers(result.pop("all_headers"), headers)
    result["address"] = sockaddr[0]
    return result


def _udp(sock, host, port, sockaddr, where, timeout, retries, user, ids):
    with _socket_errors(where, "send to"):
        sock.connect(sockaddr)
    local_host, local_port = sock.getsockname()[:2]
    request = build_options(host, port, local_host, local_port, "udp", user, ids)
    start = time.monotonic()
    deadline = start + timeout
    waits = iter(retransmit_intervals(timeout, retries))
    next_send = start
    transmissions = 0
    provisional: list[int] = []
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise SipTimeout(_no_answer(where, timeout, provisional))
        if next_send is not None and now >= next_send:
            _send(sock, request, where)
            transmissions += 1
            wait = next(waits, None)
            next_send = None if wait is None else next_send + wait
        until = min(deadline, next_send) if next_send is not None else deadline
        sock.settimeout(max(until - now, 0.001))
        with _socket_errors(where, "receive from", UNREACHABLE):
            try:
                data = sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                continue
        received = time.monotonic()
        response = answer_to(data, where, ids)
        if response is None:
            continue
        if response["status"] < 200:
            if not provisional:
                # Proceeding: retransmit every T2 from now on (RFC 3261 17.1.2.2).
                waits = iter(retransmit_intervals(deadline - received, _left(retries, transmissions), True))
                wait = next(waits, None)
                next_send = None if wait is None else received + wait
            provisional.append(response["status"])
            continue
        return _result(response, start, received, provisional, transmissions, f"{local_host}:{local_port}")


def _tcp(sock, host, port, sockaddr, where, timeout, retries, user, ids):
    start = time.monotonic()
    deadline = start + timeout
    sock.settimeout(timeout)
    with _socket_errors(where, "connect to", "refused the connection (nothing listening)"):
        try:
            sock.connect(sockaddr)
        except TimeoutError as exc:
            raise SipTimeout(f"no connection to {where} within {float(timeout)} s") from exc
    local_host, local_port = sock.getsockname()[:2]
    request = build_options(host, port, local_host, local_port, "tcp", user, ids)
    _send(sock, request, where)
    buffer = b""
    provisional: list[int] = []
    while True:
        message, buffer = _next_stream_message(buffer, where)
        if message is None:
            now = time.monotonic()
            if now >= deadline:
                raise SipTimeout(_no_answer(where, timeout, provisional))
            sock.settimeout(deadline - now)
            with _socket_errors(where, "receive from"):
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
            if not chunk:
                raise SipTransportError(f"{where} closed the connection without a final response")
            buffer += chunk
            if len(buffer) > MAX_STREAM:
                raise SipMalformed(
                    f"malformed response from {where}: more than {MAX_STREAM} bytes without an end"
                )
            continue
        received = time.monotonic()
        response = answer_to(message, where, ids)
        if response is None:
            continue
        if response["status"] < 200:
            provisional.append(response["status"])
            continue
        return _result(response, start, received, provisional, 1, f"{local_host}:{local_port}")


def _next_stream_message(buffer: bytes, where: str) -> tuple[bytes | None, bytes]:
    """The first complete message of a TCP stream (headers and Content-Length body), and the rest."""
    buffer = buffer.lstrip(b"\r\n")  # keepalive CRLFs
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None, buffer
    head = buffer[:end].decode("utf-8", "replace")
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _colon, value = line.partition(":")
        if header_name(name) == "content-length":
            try:
                length = int(value.strip())
            except ValueError as exc:
                raise SipMalformed(
                    f"malformed response from {where}: Content-Length {value.strip()!r}"
                ) from exc
    total = end + 4 + length
    if len(buffer) < total:
        return None, buffer
    return buffer[:total], buffer[total:]


def _send(sock, request: bytes, where: str) -> None:
    with _socket_errors(where, "send to", UNREACHABLE):
        sock.sendall(request)


@contextlib.contextmanager
def _socket_errors(where: str, action: str, refused: str | None = None):
    """A socket error inside as SipTransportError naming ``where``.

    A refusal says ``where`` and ``refused`` when given; every other error
    (and a refusal without ``refused``) says ``cannot ACTION WHERE: reason``.
    """
    try:
        yield
    except OSError as exc:
        if refused and isinstance(exc, ConnectionRefusedError):
            raise SipTransportError(f"{where} {refused}") from exc
        raise SipTransportError(f"cannot {action} {where}: {exc.strerror or exc}") from exc


def answer_to(
    data: bytes, where: str, ids: dict[str, str], cseq: int = 1, method: str = "OPTIONS"
) -> dict | None:
    """The response in ``data`` if it answers our request; None for what to ignore; SipMalformed else."""
    if is_request(data):
        return None
    try:
        response = parse_response(data)
        ours = matches(response, ids, cseq, method)
    except ValueError as exc:
        raise SipMalformed(f"malformed response from {where}: {exc}") from exc
    # An answer to an earlier transaction (a late one) is not ours.
    return response if ours else None


def _result(response, start, received, provisional, transmissions, local) -> dict:
    return {
        "status": response["status"],
        "reason": response["reason"],
        "latency_ms": round((received - start) * 1000, 1),
        "response_line": response["first_line"],
        "all_headers": response["headers"],
        "provisional": provisional,
        "transmissions": transmissions,
        "local": local,
    }


def _no_answer(where, timeout, provisional) -> str:
    if provisional:
        seen = ", ".join(map(str, provisional))
        return f"no final answer from {where} within {float(timeout)} s (only {seen})"
    return f"no answer from {where} within {float(timeout)} s"


def _left(retries, transmissions):
    return None if retries is None else max(retries - (transmissions - 1), 0)


# --- the flow of a SIP probe module (sip_options, sip_test_call) --------------


def probe_module(argument_spec):
    """The AnsibleModule of a probe with ``port``, ``timeout`` and ``fail_on_unexpected``, endpoint checked.

    A probe changes nothing on any host, so it runs in check mode alike.
    (AnsibleModule is imported here: the rest of this file is plain Python.)
    """
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    problem = endpoint_error(module.params["port"], module.params["timeout"])
    if problem:
        module.fail_json(msg=problem)
    return module


def exit_probe(module, result):
    """End a probe with ``result``: never a change; a failure when not ``ok`` unless fail_on_unexpected is off."""
    if not result["ok"] and module.params["fail_on_unexpected"]:
        module.fail_json(changed=False, **result)
    module.exit_json(changed=False, **result)
