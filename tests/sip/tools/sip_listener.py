"""A SIP party that refuses every call, for a bounded time: prints what it received as JSON.

Usage: python3 sip_listener.py ADDRESS PORT [--duration SECONDS] [--tcp] [--stop-file PATH]
       [--invite-status 486] [--tls CERT KEY] [--register-realm REALM]

Binds UDP ADDRESS:PORT (and TCP with ``--tcp``), answers every INVITE with 486 Busy Here
(a retransmission gets the same answer), takes ACKs silently, and answers every other
request 200 OK (a CANCEL of an INVITE it answered only provisionally also gets the INVITE's 487). It prints ``{"ready": true}`` once listening, then runs until DURATION
seconds have passed or the stop file exists (it removes it then), and prints one JSON line at the end:
``{"address", "port", "requests": [{"time", "clock", "transport", "source", "method", "uri",
"headers": [[name, value], ...], "raw"}], "other": [...]}`` with every request received in
full (``time``: seconds since the start; ``clock``: the wall clock, which every lab host
shares, to order requests seen by several listeners; ``other``: what was not a request, and
TLS handshakes that failed). With ``--tls`` the
TCP listener speaks TLS with that certificate and key (a carrier reached over SIP-TLS).
With ``--register-realm`` it plays a carrier's registrar: a REGISTER without
Authorization gets 401 with a digest challenge of that realm (qop=auth, a fresh
nonce), one with Authorization 200 with its Contacts and their expiry (it
checks no password: the caller verifies the recorded Authorization); the
report lists the nonces it issued (``nonces``).
Runs on a lab peer with ``python3 -``; standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import select
import signal
import socket
import ssl
import time

MAX_DURATION = 120.0
REASONS = {180: "Ringing", 200: "OK", 401: "Unauthorized", 403: "Forbidden", 480: "Temporarily Unavailable", 486: "Busy Here",
           487: "Request Terminated", 503: "Service Unavailable", 603: "Decline"}  # fmt: skip
COMPACT = {"i": "call-id", "m": "contact", "f": "from", "t": "to", "v": "via", "l": "content-length"}


def parse(data: bytes) -> dict:
    text = data.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    headers: list[list[str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1][1] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            headers.append([name.strip(), value.strip()])
    parts = lines[0].split(" ")
    request = len(parts) == 3 and parts[2] == "SIP/2.0"
    return {"method": parts[0] if request else None, "uri": parts[1] if request else None,
            "headers": headers, "raw": text}  # fmt: skip


def values(message: dict, name: str) -> list[str]:
    return [v for k, v in message["headers"] if COMPACT.get(k.lower(), k.lower()) == name]


def reply(message: dict, status: int, tags: dict, extra: tuple[str, ...] = ()) -> bytes:
    lines = [f"SIP/2.0 {status} {REASONS.get(status, 'Whatever')}"]
    lines += [f"Via: {v}" for v in values(message, "via")]
    lines += [f"From: {v}" for v in values(message, "from")[:1]]
    to = (values(message, "to") or [""])[0]
    if ";tag=" not in to and message["method"] != "CANCEL" and status > 100:
        key = (values(message, "call-id") or [""])[0]
        to += ";tag=" + tags.setdefault(key, secrets.token_hex(5))
    lines += [f"To: {to}", *(f"Call-ID: {v}" for v in values(message, "call-id")[:1])]
    lines += [f"CSeq: {v}" for v in values(message, "cseq")[:1]]
    lines += [*extra, "Server: lab-sip-listener", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def registrar(message: dict, realm: str, nonces: list[str]) -> tuple[int, tuple[str, ...]]:
    """A registrar's answer to a REGISTER: a challenge, or 200 with the Contacts (no password is checked)."""
    if not values(message, "authorization"):
        nonces.append(secrets.token_hex(16))
        return 401, (
            f'WWW-Authenticate: Digest realm="{realm}", nonce="{nonces[-1]}", algorithm=MD5, qop="auth"',
        )
    expires = (values(message, "expires") or ["3600"])[0].strip()
    return 200, tuple(f"Contact: {c};expires={expires}" for c in values(message, "contact"))


def framed(buffer: bytes) -> tuple[bytes | None, bytes]:
    buffer = buffer.lstrip(b"\r\n")
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None, buffer
    length = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", buffer[:end])
    total = end + 4 + (int(length.group(1)) if length else 0)
    if len(buffer) < total:
        return None, buffer
    return buffer[:total], buffer[total:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("address")
    parser.add_argument("port", type=int)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--tcp", action="store_true", help="listen on TCP too")
    parser.add_argument("--stop-file", help="stop as soon as this file exists")
    parser.add_argument("--invite-status", type=int, default=486)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="TCP over TLS with this certificate")
    parser.add_argument("--register-realm", help="challenge REGISTERs with this realm, then accept them")
    args = parser.parse_args()
    context = None
    if args.tls:
        args.tcp = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*args.tls)
    deadline = time.monotonic() + min(max(args.duration, 0.0), MAX_DURATION)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((args.address, args.port))
    listeners = [udp]
    tcp = None
    if args.tcp:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((args.address, args.port))
        tcp.listen(16)
        listeners.append(tcp)
    connections: dict[socket.socket, bytes] = {}
    requests, other, tags, nonces = [], [], {}, []
    start = time.monotonic()
    print(json.dumps({"ready": True}), flush=True)

    def handle(data: bytes, source: tuple, transport: str, answer) -> None:
        message = parse(data)
        if message["method"] is None:
            other.append({"time": round(time.monotonic() - start, 3), "transport": transport,
                          "source": list(source[:2]), "raw": message["raw"]})  # fmt: skip
            return
        requests.append({"time": round(time.monotonic() - start, 3), "clock": time.time(), "transport": transport,
                         "source": list(source[:2]), **message})  # fmt: skip
        if message["method"] == "ACK":
            return
        status, extra = (args.invite_status if message["method"] == "INVITE" else 200), ()
        if message["method"] == "REGISTER" and args.register_realm:
            status, extra = registrar(message, args.register_realm, nonces)
        answer(reply(message, status, tags, extra))
        if message["method"] == "CANCEL" and args.invite_status < 200:
            # The ringing INVITE ends too: 487, as a phone answers a cancelled call.
            number = (values(message, "cseq") or ["1"])[0].split()[0]
            headers = [[k, f"{number} INVITE" if k.lower() == "cseq" else v] for k, v in message["headers"]]
            answer(reply({**message, "method": "INVITE", "headers": headers}, 487, tags))

    while not stopping and time.monotonic() < deadline:
        if args.stop_file and os.path.exists(args.stop_file):
            os.remove(args.stop_file)
            break
        ready, _, _ = select.select(listeners + list(connections), [], [], 0.1)
        for sock in ready:
            if sock is udp:
                data, source = udp.recvfrom(65535)
                handle(data, source, "udp", lambda out, s=source: udp.sendto(out, s))
            elif sock is tcp:
                conn, peer = tcp.accept()
                if context is not None:
                    try:
                        conn.settimeout(5)
                        conn = context.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError) as exc:
                        other.append({"time": round(time.monotonic() - start, 3), "transport": "tls",
                                      "source": list(peer[:2]), "tls_error": str(exc)})  # fmt: skip
                        conn.close()
                        continue
                connections[conn] = b""
            else:
                try:
                    chunk = sock.recv(65535)
                    # TLS: a record read may leave decrypted data that select() never reports.
                    while isinstance(sock, ssl.SSLSocket) and sock.pending():
                        chunk += sock.recv(sock.pending())
                except OSError:
                    chunk = b""
                if not chunk:
                    connections.pop(sock, None)
                    sock.close()
                    continue
                buffer = connections[sock] + chunk
                while True:
                    message, buffer = framed(buffer)
                    if message is None:
                        break
                    handle(message, sock.getpeername(), "tls" if context else "tcp", sock.sendall)
                connections[sock] = buffer
    for sock in [*listeners, *connections]:
        sock.close()
    print(json.dumps({"address": args.address, "port": args.port, "requests": requests, "other": other,
                      "nonces": nonces}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
