"""A REGISTER flood from one source, run on a lab peer: prints what was answered, as JSON.

Usage: python3 register_flood.py LOCAL_IP SERVER_IP DOMAIN COUNT RATE
Sends COUNT unauthenticated REGISTERs at RATE per second, counts the
answers (a registrar answers each with a 401 challenge), then sends one
more after a pause and reports whether it was answered (a banned source
gets nothing).
"""

import json
import socket
import sys
import time
import uuid


def request(local: str, port: int, domain: str, tag: str) -> bytes:
    return (
        f"REGISTER sip:{domain} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local}:{port};branch=z9hG4bK-{tag}\r\n"
        f"From: <sip:flood@{domain}>;tag={tag}\r\n"
        f"To: <sip:flood@{domain}>\r\n"
        f"Call-ID: {tag}@{local}\r\n"
        "CSeq: 1 REGISTER\r\n"
        f"Contact: <sip:flood@{local}:{port}>\r\n"
        "Max-Forwards: 70\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def drain(sock: socket.socket) -> int:
    answers = 0
    while True:
        try:
            sock.recvfrom(65535)
        except BlockingIOError:
            return answers
        answers += 1


def main() -> None:
    local, server, domain, count, rate = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
        float(sys.argv[5]),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((local, 0))
    sock.setblocking(False)
    port = sock.getsockname()[1]
    run = uuid.uuid4().hex[:8]
    answered = 0
    for i in range(count):
        sock.sendto(request(local, port, domain, f"{run}-{i}"), (server, 5060))
        answered += drain(sock)
        time.sleep(1.0 / rate)
    time.sleep(1.0)
    answered += drain(sock)
    sock.sendto(request(local, port, domain, f"{run}-probe"), (server, 5060))
    time.sleep(2.0)
    probe = drain(sock)
    print(json.dumps({"sent": count, "answered": answered, "probe_answered": probe > 0}))


if __name__ == "__main__":
    main()
