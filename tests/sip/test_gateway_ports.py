"""Gateway port maps: a call to an FXS port's extension goes to the media gateway that holds the port.

The lab's gw1 is a CLI simulator without SIP; for this test a few lines of
Python listen on its SIP port, note the INVITE the call server relays and
answer 486 Busy Here (a fax line in use), which must reach the caller.
"""

from __future__ import annotations

import subprocess

import pytest

pytestmark = pytest.mark.lab

LISTENER = r"""
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", 5060))
sock.settimeout(20)
print("ready", flush=True)
while True:
    data, peer = sock.recvfrom(65535)
    text = data.decode(errors="replace")
    if not text.startswith("INVITE "):
        continue
    print(text.split("\r\n", 1)[0], flush=True)
    keep = [l for l in text.split("\r\n") if l.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")]
    to = next(l for l in text.split("\r\n") if l.lower().startswith("to:"))
    reply = "\r\n".join(["SIP/2.0 486 Busy Here", *keep, to + ";tag=gw1", "Content-Length: 0", "", ""])
    sock.sendto(reply.encode(), peer)
    # The ACK of the 486.
    sock.recvfrom(65535)
    break
"""


def test_a_call_to_an_fxs_extension_is_relayed_to_its_gateway(users, estate, lab_topology, call):
    gateway = estate.hosts["gw1"]
    fxs = gateway["voip_gateway"]["fxs_ports"][0]
    caller = next(u for u in users.values() if u.status == "active" and u.site == gateway["voip_site"])
    container = lab_topology.host("gw1").container(lab_topology.prefix)
    listener = subprocess.Popen(
        ["podman", "exec", "-i", container, "python3", "-u", "-c", LISTENER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert listener.stdout.readline().strip() == "ready"
        result = call(caller, str(fxs["extension"]))
        out, err = listener.communicate(timeout=20)
    finally:
        if listener.poll() is None:
            listener.kill()
    assert out.splitlines()[0].startswith(f"INVITE sip:{fxs['extension']}@{gateway['ansible_host']}"), (
        out + err
    )
    assert result.final == "486", result.log
