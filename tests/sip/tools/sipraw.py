"""Send crafted SIP requests over UDP (or TCP) and print every response as JSON.

Usage: python3 sipraw.py LOCAL_IP[:PORT] SERVER_IP[:PORT] SPEC_JSON [--transport udp|tcp] [--gap SECONDS]

Runs on the controller or inside a lab peer (``podman exec -i C python3 - ARGS < sipraw.py``);
standard library only. SPEC_JSON is one request or a list of requests, sent in order
(``--gap`` seconds apart, so that a source stays below the call server's flood limit).
A request is an object with:

  method, uri            the request line (required)
  name                   a label, copied to the result
  from, to               header values; default ``<sip:USER@DOMAIN>;tag=...`` and ``<URI>``
  to_tag                 appended to To as ``;tag=...`` (a made-up dialog)
  user, password         credentials: a 401/407 challenge is answered once (MD5; qop=auth with
                         cnonce and nc=00000001 when the challenge offers qop)
  domain                 the From domain (default: the URI's host)
  call_id, cseq          default: random, 1
  contact                a Contact value, a list of them (one header each), or null for none
                         (default ``<sip:USER@LOCAL:PORT>`` for INVITE, REGISTER, SUBSCRIBE)
  expires                an Expires header
  headers                extra header lines, sent verbatim ("Name: value")
  body, content_type     a body; ``"sdp": true`` makes a small audio offer
  timeout                seconds to wait for a final answer (default 3)
  cancel                 CANCEL an INVITE still unanswered at the timeout (default true)

Prints one JSON document: ``{"local": ..., "server": ..., "transport": ..., "results": [...]}``,
a result per request with ``final`` (the last final status, or null), ``responses`` (every
response received: status, reason, headers as [name, value] pairs, raw text), ``sent``
(every request sent, raw) and ``authorization`` (the credentials header sent, if any).
Every wait is bounded by the request's timeout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets
import select
import socket
import sys
import time

T1 = 0.5
CHALLENGE_PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
COMPACT = {"i": "call-id", "m": "contact", "f": "from", "t": "to", "v": "via", "l": "content-length"}


def hostport(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.partition(":")
    return host, int(port) if port else default_port


def parse(data: bytes) -> dict:
    text = data.decode("utf-8", errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1][1] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            headers.append([name.strip(), value.strip()])
    message = {"first": lines[0], "headers": headers, "body": body, "raw": text}
    match = re.match(r"SIP/2\.0\s+(\d{3})\s*(.*)", lines[0])
    if match:
        message["status"], message["reason"] = int(match.group(1)), match.group(2)
    return message


def header(message: dict, name: str) -> str | None:
    name = name.lower()
    for key, value in message["headers"]:
        key = key.lower()
        if COMPACT.get(key, key) == name:
            return value
    return None


def digest(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in CHALLENGE_PARAM.finditer(challenge)}  # fmt: skip

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # RFC 2617 digest

    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    qops = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce, count = secrets.token_hex(8), "00000001"
        fields += [f'response="{md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")}"', "qop=auth",
                   f"nc={count}", f'cnonce="{cnonce}"']  # fmt: skip
    else:
        fields.append(f'response="{md5(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append("algorithm=MD5")
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


class Transport:
    def __init__(self, kind: str, local: tuple[str, int], server: tuple[str, int]):
        self.kind, self.server = kind, server
        self.buffer = b""
        if kind == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(local)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(local)
            self.sock.settimeout(3)
            self.sock.connect(server)
        self.local = self.sock.getsockname()

    def send(self, data: bytes) -> None:
        if self.kind == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def receive(self, deadline: float) -> bytes | None:
        while True:
            if self.kind == "tcp":
                message = self._framed()
                if message is not None:
                    return message
            wait = deadline - time.monotonic()
            if wait <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], wait)
            if not ready:
                return None
            if self.kind == "udp":
                return self.sock.recvfrom(65535)[0]
            chunk = self.sock.recv(65535)
            if not chunk:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
                continue
            self.buffer += chunk

    def _framed(self) -> bytes | None:
        self.buffer = self.buffer.lstrip(b"\r\n")
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", self.buffer[:end])
        total = end + 4 + (int(length.group(1)) if length else 0)
        if len(self.buffer) < total:
            return None
        message, self.buffer = self.buffer[:total], self.buffer[total:]
        return message

    def close(self) -> None:
        self.sock.close()


class Request:
    def __init__(self, spec: dict, transport: Transport):
        self.spec, self.t = spec, transport
        self.method, self.uri = spec["method"].upper(), spec["uri"]
        host = re.sub(r"^sips?:(?:[^@]*@)?", "", self.uri).split(";")[0].split(">")[0]
        self.domain = spec.get("domain") or host.split(":")[0]
        self.user = spec.get("user")
        self.call_id = spec.get("call_id") or f"{secrets.token_hex(8)}@{transport.local[0]}"
        self.cseq = int(spec.get("cseq", 1))
        self.from_ = spec.get("from") or f"<sip:{self.user or 'anonymous'}@{self.domain}>"
        if ";tag=" not in self.from_:
            self.from_ += f";tag={secrets.token_hex(5)}"
        self.to = spec.get("to") or f"<{self.uri}>"
        if spec.get("to_tag"):
            self.to += f";tag={spec['to_tag']}"
        self.result = {"name": spec.get("name"), "method": self.method, "uri": self.uri, "call_id": self.call_id,
                       "final": None, "responses": [], "sent": [], "authorization": None}  # fmt: skip

    def build(self, method: str, cseq: int, branch: str, extra: list[str], body: str = "",
              to: str | None = None) -> bytes:  # fmt: skip
        local = f"{self.t.local[0]}:{self.t.local[1]}"
        lines = [
            f"{method} {self.uri} SIP/2.0",
            f"Via: SIP/2.0/{self.t.kind.upper()} {local};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: {self.from_}",
            f"To: {to or self.to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            *extra,
        ]
        if body:
            lines.append(f"Content-Type: {self.spec.get('content_type', 'application/sdp')}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def headers(self, authorization: tuple[str, str] | None) -> list[str]:
        spec, local = self.spec, f"{self.t.local[0]}:{self.t.local[1]}"
        contact = spec.get("contact", "default")
        if contact == "default":
            contact = f"<sip:{self.user or 'anonymous'}@{local}>" if self.method in (
                "INVITE", "REGISTER", "SUBSCRIBE") else None  # fmt: skip
        contacts = [] if contact is None else [contact] if isinstance(contact, str) else list(contact)
        lines = [f"Contact: {c}" for c in contacts]
        if spec.get("expires") is not None:
            lines.append(f"Expires: {spec['expires']}")
        if authorization:
            lines.append(f"{authorization[0]}: {authorization[1]}")
        return lines + list(spec.get("headers", []))

    def body(self) -> str:
        if self.spec.get("sdp"):
            ip = self.t.local[0]
            return (f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
                    f"m=audio {self.t.local[1] + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")  # fmt: skip
        return self.spec.get("body", "")

    def send(self, data: bytes) -> None:
        self.result["sent"].append(data.decode(errors="replace"))
        self.t.send(data)

    def transaction(self, authorization: tuple[str, str] | None, deadline: float) -> dict | None:
        """One transaction: the request (retransmitted over UDP until answered), its final response."""
        branch = "z9hG4bK" + secrets.token_hex(8)
        data = self.build(self.method, self.cseq, branch, self.headers(authorization), self.body())
        self.send(data)
        resend, interval, proceeding = time.monotonic() + T1, T1, False
        while time.monotonic() < deadline:
            wait = deadline if proceeding or self.t.kind == "tcp" else min(deadline, resend)
            got = self.t.receive(wait)
            if got is None:
                if not proceeding and self.t.kind == "udp" and time.monotonic() < deadline:
                    self.t.send(data)
                    interval = min(interval * 2, 4.0)
                    resend = time.monotonic() + interval
                continue
            response = parse(got)
            if "status" not in response:
                continue  # a request to us: not ours to answer here
            if header(response, "call-id") != self.call_id:
                continue
            cseq = (header(response, "cseq") or "").split()
            if cseq != [str(self.cseq), self.method]:
                continue
            self.result["responses"].append({k: response[k] for k in ("status", "reason", "headers", "raw")})
            if response["status"] < 200:
                proceeding = True
                continue
            if self.method == "INVITE":
                self.ack(response, branch)
            return response
        if self.method == "INVITE" and proceeding and self.spec.get("cancel", True):
            self.cancel(branch)
        return None

    def ack(self, response: dict, branch: str) -> None:
        to = header(response, "to") or self.to
        if response["status"] >= 300:
            self.send(self.build("ACK", self.cseq, branch, [], to=to))
            return
        # A 2xx: ACK and BYE along the route set, to hang up again (best effort).
        routes = [f"Route: {r.strip()}" for v in reversed([v for k, v in response["headers"]
                  if k.lower() == "record-route"]) for r in v.split(",")]  # fmt: skip
        contact = re.search(r"<([^>]+)>", header(response, "contact") or "")
        uri, self.uri = self.uri, contact.group(1) if contact else self.uri
        self.send(self.build("ACK", self.cseq, "z9hG4bK" + secrets.token_hex(8), routes, to=to))
        self.send(self.build("BYE", self.cseq + 1, "z9hG4bK" + secrets.token_hex(8), routes, to=to))
        self.uri = uri

    def cancel(self, branch: str) -> None:
        self.send(self.build("CANCEL", self.cseq, branch, []))
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            got = self.t.receive(deadline)
            if got is None:
                return
            response = parse(got)
            if response.get("status") and header(response, "call-id") == self.call_id:
                self.result["responses"].append(
                    {k: response[k] for k in ("status", "reason", "headers", "raw")}
                )
                if (header(response, "cseq") or "").endswith("INVITE") and response["status"] >= 200:
                    self.ack(response, branch)
                    return

    def run(self) -> dict:
        deadline = time.monotonic() + float(self.spec.get("timeout", 3))
        response, authorization = self.transaction(None, deadline), None
        if response is not None and response["status"] in (401, 407) and self.user:
            name = "WWW-Authenticate" if response["status"] == 401 else "Proxy-Authenticate"
            challenge = header(response, name)
            if challenge:
                value = digest(challenge, self.method, self.uri, self.user, self.spec.get("password", ""))
                authorization = (
                    "Authorization" if response["status"] == 401 else "Proxy-Authorization",
                    value,
                )
                self.result["authorization"] = f"{authorization[0]}: {authorization[1]}"
                self.cseq += 1
                response = self.transaction(authorization, deadline)
        self.result["final"] = response["status"] if response else None
        return self.result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("local", help="LOCAL_IP[:PORT] (port 0 or none: any)")
    parser.add_argument("server", help="SERVER_IP[:PORT] (default port 5060)")
    parser.add_argument("spec", help="a request or a list of requests, as JSON")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between requests")
    args = parser.parse_args()
    specs = json.loads(args.spec)
    specs = specs if isinstance(specs, list) else [specs]
    local, server = hostport(args.local, 0), hostport(args.server, 5060)
    results = []
    transport = None
    try:
        for i, spec in enumerate(specs[:200]):
            if i:
                time.sleep(min(max(args.gap, 0.0), 5.0))
            if transport is None:
                transport = Transport(args.transport, local, server)
            results.append(Request(spec, transport).run())
    finally:
        if transport is not None:
            transport.close()
    print(json.dumps({"local": f"{local[0]}:{transport.local[1] if transport else local[1]}",
                      "server": f"{server[0]}:{server[1]}", "transport": args.transport, "results": results}))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
