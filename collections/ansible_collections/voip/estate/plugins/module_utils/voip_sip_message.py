"""SIP messages of a test call (RFC 3261, 2617): requests, responses, digest authentication, dialogs, SDP.

Pure functions over text and bytes, for the user agents of ``voip_sip_call``:
the Digest challenge and the ``Authorization`` answering it, a request and a
UAS's response to one, the tags and URIs of From/To/Contact values, the route
set of in-dialog requests, where a UAS sends its responses, and a one-stream
audio SDP offer or answer. Passwords go into digest responses only.

Parsing a message, the identifiers and the errors are those of ``voip_sip``.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import USER_AGENT, SipError, parse_message

# Static RTP payload types we offer and accept, in order of preference.
CODECS = {8: "PCMA", 0: "PCMU"}
AUTH_STATUSES = (401, 407)
CHALLENGE_PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
URI = re.compile(r"^sips?:(?:[^@;>]+@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?", re.IGNORECASE)


class SipAuthError(SipError):
    """The server refused the credentials or asked for an authentication we cannot give."""


def parse_challenge(value: str) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate``/``Proxy-Authenticate`` Digest challenge (lower-case names).

    Raises ValueError for another scheme or a challenge without realm or nonce.
    """
    scheme, _space, rest = value.strip().partition(" ")
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
    first, headers = parse_message(request)[:2]
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


def auth_challenge(response: dict, what: str) -> tuple[dict, str]:
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


def stale_challenge(response: dict) -> bool:
    """Whether a second challenge only says our nonce went stale (the credentials were right)."""
    for name in ("www-authenticate", "proxy-authenticate"):
        for value in response["headers"].get(name, []):
            if re.search(r"stale\s*=\s*\"?true", value, re.IGNORECASE):
                return True
    return False


def response_target(headers: dict, source: tuple) -> tuple:
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
