"""Watch the lab's traffic from the controller: which UDP and TCP packets carry a marker."""

from __future__ import annotations

import socket
import threading
import time

_PROTOCOLS = {6: "tcp", 17: "udp"}


class Sniffer(threading.Thread):
    """Watch every interface of the controller (AF_PACKET) for UDP or TCP payloads holding a marker.

    Unbound, so that the containers' veth ends show the frames the lab
    bridge forwards between containers (the bridge device itself does not):
    a packet between two containers is seen twice, once per veth.
    ``seen`` holds (source, destination, source port, destination port,
    length, protocol) per packet. Runs until ``seconds`` have passed or
    ``stop()``; also a context manager (started on entry, stopped on exit).
    """

    def __init__(self, marker: bytes, seconds: float):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.settimeout(0.2)
        self.marker, self.deadline = marker, time.monotonic() + seconds
        self.seen: list[tuple[str, str, int, int, int, str]] = []
        self._stopped = threading.Event()

    def __enter__(self) -> Sniffer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop watching (after a last short read) and wait for the thread."""
        self._stopped.set()
        self.join(timeout=5)

    def run(self) -> None:
        while time.monotonic() < self.deadline and not self._stopped.is_set():
            try:
                frame = self.sock.recv(65535)
            except TimeoutError:
                continue
            if frame[12:14] != b"\x08\x00":  # IPv4
                continue
            ip = frame[14:]
            if len(ip) < 28 or ip[9] not in _PROTOCOLS or self.marker not in ip:
                continue
            header = (ip[0] & 0x0F) * 4
            self.seen.append(
                (
                    socket.inet_ntoa(ip[12:16]),
                    socket.inet_ntoa(ip[16:20]),
                    int.from_bytes(ip[header : header + 2], "big"),
                    int.from_bytes(ip[header + 2 : header + 4], "big"),
                    len(ip),
                    _PROTOCOLS[ip[9]],
                )
            )
        self.sock.close()

    def to(self, address: str) -> list[tuple[str, str, int, int, int, str]]:
        """The packets seen on their way to ``address``."""
        return [p for p in self.seen if p[1] == address]
