"""SIP over TLS to a carrier: the Tehran call server reaches its trunk `lab-carrier-tls`
(`transport: tls` in the model) over TLS and verifies the carrier's certificate.

The carrier is tools/sip_listener.py on the lab peer carrier-tls with the
certificate the lab CA issued it (`voipctl lab up`); the call servers trust
that CA (`kamailio_tls_ca_certificates`). A carrier whose certificate does
not chain to it gets a failed handshake and no call.
"""

from __future__ import annotations

import subprocess

import pytest

pytestmark = pytest.mark.lab

NATIONAL = "0211234567"


@pytest.fixture(scope="module")
def tls_trunk(estate):
    trunks = [t for t in estate.hosts["cs2"]["voip_trunks"] if t.get("transport") == "tls"]
    assert trunks, "the lab has a TLS trunk"
    return trunks[0]


@pytest.fixture(scope="module")
def caller(users, tls_trunk):
    """A user of the TLS trunk's site with a DID who may call national numbers."""
    found = [u for u in users.values() if u.status == "active" and u.site == tls_trunk["site"]
             and u.model.get("did") and u.model.get("class_of_service") in ("national", "international")]  # fmt: skip
    assert found, "the lab has a user at the TLS trunk's site with a DID and national rights"
    return found[0]


def national_call(caller) -> dict:
    return {"method": "INVITE", "uri": f"sip:{NATIONAL}@{caller.domain}", "user": caller.extension,
            "password": caller.password, "sdp": True, "timeout": 4}  # fmt: skip


def test_a_call_reaches_the_tls_carrier_over_verified_tls(tls_trunk, caller, controller, sipraw, listen):
    carrier = listen(("carrier-tls", tls_trunk["address"], tls_trunk["port"],
                      ["--tls", "/etc/sip-tls/cert.pem", "/etc/sip-tls/key.pem"]))[0]  # fmt: skip
    result = sipraw("controller", f"{controller}:5990", caller.server, [national_call(caller)])[0]
    invites = carrier.invites()
    assert result["final"] == 486, f"the carrier's answer did not come back: {result['responses']}"
    assert len(invites) == 1, f"the TLS carrier saw: {carrier.seen()}; other: {carrier.other}"
    invite = invites[0]
    assert invite["transport"] == "tls" and invite["uri"].startswith(f"sip:{NATIONAL}@"), invite["raw"]
    # The caller id is the model's: the caller's DID.
    pai = [v for k, v in invite["headers"] if k.lower() == "p-asserted-identity"]
    assert pai == [f"<sip:{caller.model['did']}@{caller.domain}>"], invite["raw"]


def test_a_carrier_with_an_untrusted_certificate_gets_no_call(
    tls_trunk, caller, controller, sipraw, listen, podman_exec, call_servers, tmp_path
):
    """Same address and port, a self-signed certificate: the call server refuses the handshake."""
    key, cert = tmp_path / "rogue.key", tmp_path / "rogue.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", f"/CN={tls_trunk['address']}", "-addext",
         f"subjectAltName=IP:{tls_trunk['address']}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    for path in (key, cert):
        podman_exec("carrier-tls", "sh", "-c", f"cat > /tmp/{path.name}", input=path.read_text())
    carrier = listen(("carrier-tls", tls_trunk["address"], tls_trunk["port"],
                      ["--tls", "/tmp/rogue.crt", "/tmp/rogue.key"]))[0]  # fmt: skip
    server = call_servers[tls_trunk["site"]]
    started = podman_exec(server, "date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
    result = sipraw("controller", f"{controller}:5992", caller.server, [national_call(caller)])[0]
    assert carrier.stop() == [], f"a carrier the estate does not trust received: {carrier.seen()}"
    assert any("tls_error" in o for o in carrier.other), f"no TLS handshake was tried: {carrier.other}"
    # Nothing the rogue carrier could say reached the caller (the transaction
    # waits for its timer, or fails: either way no answer from that carrier).
    assert result["final"] not in (180, 183, 200, 486), result["responses"]
    journal = podman_exec(server, "journalctl", "-u", "kamailio", "--since", started, "--no-pager").stdout
    assert "certificate verify failed" in journal, "the call server did not say why it refused the carrier"
