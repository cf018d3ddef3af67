"""module_utils voip_sip_message (digest, dialogs), voip_sip_call (the test call) and the module sip_test_call.

The calls run against ``FakeProxy``, a registrar and stateless-ish proxy on
127.0.0.1 (a thread): it challenges REGISTER with 401 and INVITE with 407,
checks the digest with its own MD5 code, keeps bindings, relays the INVITE
to the registered contact with a Record-Route and Via of its own, relays the
responses back, and loose-routes ACK and BYE. Behaviours replace the relay:
``busy`` (486), ``drop`` (100 Trying, then the INVITE goes nowhere) and
``forgetful`` (no binding: 480), ``drop_first_ack`` (the callee must retransmit its 200 and the caller ACK again).
``phone_first`` forks the INVITE: ``FakePhone``, another contact of the callee's user, answers
200 before the INVITE is relayed to the test call's callee; ``phone_only`` relays it nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import parse_message
from ansible_collections.voip.estate.plugins.module_utils.voip_sip_call import invite_intervals, place_call
from ansible_collections.voip.estate.plugins.module_utils.voip_sip_message import (
    SipAuthError,
    build_response,
    choose_codec,
    dialog_route,
    digest_authorization,
    parse_challenge,
    sdp,
    sdp_media,
    split_header_values,
    tag_of,
    uri_target,
)

REALM = "test.voip"
PASSWORDS = {"2001": "caller-secret-1", "2002": "callee-secret-2"}
CALLER = {"user": "2001", "password": PASSWORDS["2001"]}
CALLEE = {"user": "2002", "password": PASSWORDS["2002"]}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# --- pure functions -------------------------------------------------------------------------------


def test_digest_answers_the_rfc2617_example():
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = digest_authorization(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", cnonce="0a4f113b", nc=1
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    assert "qop=auth, nc=00000001" in value and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in value
    assert "Circle Of Life" not in value


def test_digest_without_qop_and_what_we_refuse():
    challenge = parse_challenge('Digest realm="r", nonce="n1"')
    value = digest_authorization(challenge, "REGISTER", "sip:d", "u", "p")
    expected = md5(f"{md5('u:r:p')}:n1:{md5('REGISTER:sip:d')}")
    assert f'response="{expected}"' in value and "qop" not in value and "cnonce" not in value
    with pytest.raises(SipAuthError, match="unsupported digest algorithm SHA-256"):
        digest_authorization({**challenge, "algorithm": "SHA-256"}, "INVITE", "sip:x", "u", "p")
    with pytest.raises(SipAuthError, match="unsupported digest qop auth-int"):
        digest_authorization({**challenge, "qop": "auth-int"}, "INVITE", "sip:x", "u", "p")
    with pytest.raises(ValueError, match="not a Digest challenge"):
        parse_challenge('Basic realm="r"')
    with pytest.raises(ValueError, match="without nonce"):
        parse_challenge('Digest realm="r"')


def test_response_copies_the_transaction_and_record_route():
    invite = (
        b"INVITE sip:2002@10.0.0.9:4000 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKp\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.8:5070;branch=z9hG4bKc;rport=5070\r\nRecord-Route: <sip:10.0.0.1;lr>\r\n"
        b"From: <sip:2001@d>;tag=a\r\nTo: <sip:2002@d>\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    first, headers, body = parse_message(
        build_response(invite, 180, "Ringing", "t9", [("Contact", "<sip:x>")])
    )
    assert first == "SIP/2.0 180 Ringing" and body == b""
    assert headers["via"] == [
        "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKp",
        "SIP/2.0/UDP 10.0.0.8:5070;branch=z9hG4bKc;rport=5070",
    ]
    assert headers["to"] == ["<sip:2002@d>;tag=t9"] and headers["record-route"] == ["<sip:10.0.0.1;lr>"]
    assert (headers["cseq"], headers["call-id"], headers["contact"]) == (["2 INVITE"], ["c1"], ["<sip:x>"])
    # Not into a final error, and a To that has a tag keeps it.
    _unused, headers, _unused = parse_message(
        build_response(invite.replace(b"<sip:2002@d>", b"<sip:2002@d>;tag=old"), 486, "Busy Here", "t9")
    )
    assert "record-route" not in headers and tag_of(headers["to"][0]) == "old"


def test_dialog_route_loose_strict_and_none():
    rr = ["<sip:10.0.0.2;lr>, <sip:10.0.0.1:5062;lr;ftag=x>"]
    assert split_header_values(rr) == ["<sip:10.0.0.2;lr>", "<sip:10.0.0.1:5062;lr;ftag=x>"]
    uri, routes, hop = dialog_route(rr, "<sip:2002@10.0.0.9:4000>;expires=60")
    assert (uri, hop) == ("sip:2002@10.0.0.9:4000", "sip:10.0.0.1:5062;lr;ftag=x")
    assert routes == ["<sip:10.0.0.1:5062;lr;ftag=x>", "<sip:10.0.0.2;lr>"]
    assert uri_target(hop) == ("10.0.0.1", 5062)
    assert dialog_route(["<sip:10.0.0.1>"], "<sip:b@h>") == ("sip:10.0.0.1", ["<sip:b@h>"], "sip:10.0.0.1")
    assert dialog_route([], "sip:b@[2001:db8::9]:4000") == (
        "sip:b@[2001:db8::9]:4000",
        [],
        "sip:b@[2001:db8::9]:4000",
    )
    assert uri_target("sip:b@[2001:db8::9]:4000") == ("2001:db8::9", 4000)
    assert uri_target("sip:cs1.example;transport=udp") == ("cs1.example", 5060)


def test_sdp_offer_answer_and_codec_choice():
    offer = sdp("10.0.0.9", 4002, [8, 0], session=7)
    assert b"m=audio 4002 RTP/AVP 8 0\r\n" in offer and b"a=rtpmap:8 PCMA/8000" in offer
    assert b"c=IN IP4 10.0.0.9" in offer and b"o=- 7 7 IN IP4 10.0.0.9" in offer
    assert sdp_media(offer) == ("10.0.0.9", 4002, [8, 0])
    assert sdp_media(b"") == (None, None, [])
    assert (choose_codec([18, 0, 8]), choose_codec([18, 9])) == (0, None)
    assert invite_intervals(5.0) == [0.5, 1.0, 2.0]


# --- a fake call server ---------------------------------------------------------------------------


class UdpParty:
    """A SIP party on a UDP port of 127.0.0.1, on its own thread: ``_handle`` gets each datagram."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.methods: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            try:
                data, source = self.sock.recvfrom(65535)
            except (TimeoutError, ConnectionRefusedError):
                continue
            self._handle(data, source)

    def _handle(self, data: bytes, source: tuple) -> None:
        raise NotImplementedError


class FakeProxy(UdpParty):
    """Registrar and proxy on 127.0.0.1 (see the module docstring)."""

    def __init__(self, behaviour="relay", qop=True, register_status=401):
        super().__init__()
        self.behaviour, self.qop, self.register_status = behaviour, qop, register_status
        self.me = f"127.0.0.1:{self.port}"
        self.nonce = "n0nce" + self.me.replace(":", "")
        self.bindings: dict[str, tuple] = {}
        self.origins: dict[str, tuple] = {}
        self.received: list[bytes] = []
        self.acks = 0
        self.ended = set()
        self.phone = FakePhone()

    def __enter__(self):
        self.phone.thread.start()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        for party in (self, self.phone):
            party.stop.set()
            party.thread.join(2)
            party.sock.close()

    def _handle(self, data, source):
        self.received.append(data)
        if data.startswith(b"SIP/2.0"):
            self._response(data)
        else:
            self._request(data, source)

    def _reply(self, request, source, status, reason, extra=(), to_tag="fake"):
        _unused, headers, _unused = parse_message(request)
        lines = [f"SIP/2.0 {status} {reason}", *(f"Via: {v}" for v in headers["via"])]
        to = headers["to"][0] + ("" if status == 100 or ";tag=" in headers["to"][0] else f";tag={to_tag}")
        lines += [f"From: {headers['from'][0]}", f"To: {to}", f"Call-ID: {headers['call-id'][0]}"]
        lines += [f"CSeq: {headers['cseq'][0]}", *extra, "Content-Length: 0"]
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), source)

    def _authorized(self, request, method, header) -> bool | None:
        """None without credentials, else whether they are right (checked independently of the module)."""
        _unused, headers, _unused = parse_message(request)
        if header not in headers:
            return None
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', headers[header][0].partition(" ")[2]))
        password = PASSWORDS.get(params["username"])
        if password is None or params["nonce"] != self.nonce or params["realm"] != REALM:
            return False
        ha1, ha2 = md5(f"{params['username']}:{REALM}:{password}"), md5(f"{method}:{params['uri']}")
        if self.qop:
            expected = md5(f"{ha1}:{self.nonce}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        else:
            expected = md5(f"{ha1}:{self.nonce}:{ha2}")
        return params["response"] == expected

    def _challenge(self, status):
        name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
        qop = ', qop="auth"' if self.qop else ""
        return (f'{name}: Digest realm="{REALM}", nonce="{self.nonce}"{qop}',)

    def _request(self, data, source):
        first, headers, _unused = parse_message(data)
        method, uri = first.split(" ")[:2]
        self.methods.append(method)
        if method == "REGISTER":
            header = "authorization" if self.register_status == 401 else "proxy-authorization"
            ok = self._authorized(data, method, header)
            if ok is None:
                return self._reply(data, source, self.register_status, "Unauthorized",
                                   self._challenge(self.register_status))  # fmt: skip
            if not ok:
                return self._reply(data, source, 403, "Forbidden")
            user = re.search(r"sip:(\w+)@", headers["to"][0]).group(1)
            contact = re.search(r"<(sip:[^>]+)>", headers["contact"][0]).group(1)
            if headers["expires"][0] == "0":
                self.bindings.pop(user, None)
            else:
                self.bindings[user] = contact
            return self._reply(data, source, 200, "OK", (f"Contact: <{contact}>;expires=60",))
        if method == "INVITE":
            ok = self._authorized(data, method, "proxy-authorization")
            if ok is None:
                return self._reply(data, source, 407, "Proxy Authentication Required", self._challenge(407))
            if not ok:
                return self._reply(data, source, 403, "Forbidden")
            self._reply(data, source, 100, "Trying")
            if self.behaviour == "busy":
                return self._reply(data, source, 486, "Busy Here")
            if self.behaviour == "drop":
                self.pending = (data, source)
                return None
            user = re.match(r"sip:(\w+)@", uri).group(1)
            if self.behaviour in ("phone_first", "phone_only", "one_dialog"):
                # The user's own phone answers first (its 200 relayed as a proxy relays every 2xx).
                contact = f"<sip:{user}@127.0.0.1:{self.phone.port}>"
                self._reply(data, source, 200, "OK", (f"Record-Route: <sip:{self.me};lr>", f"Contact: {contact}"),
                            to_tag="phone")  # fmt: skip
                if self.behaviour == "phone_only":
                    return None
            if user not in self.bindings or self.behaviour == "forgetful":
                return self._reply(data, source, 480, "Temporarily Unavailable")
            target = self.bindings[user]
            return self._forward(data, source, target, record_route=True)
        if method == "CANCEL":
            self._reply(data, source, 200, "OK")
            pending, origin = self.pending
            return self._reply(pending, origin, 487, "Request Terminated")
        routes = headers.get("route", [])
        if method in ("ACK", "BYE") and routes:
            assert self.me in routes[0], routes
            if self.behaviour == "one_dialog":
                # As Kamailio's dialog module: one dialog per call, ended by the first BYE; later
                # in-dialog requests belong to no dialog of this server (ACK dropped, BYE 404).
                call_id = headers["call-id"][0]
                if call_id in self.ended:
                    return None if method == "ACK" else self._reply(data, source, 404, "Not Here")
                if method == "BYE":
                    self.ended.add(call_id)
            if method == "ACK":
                self.acks += 1
                if self.behaviour == "drop_first_ack" and self.acks == 1:
                    return None
            return self._forward(data, source, uri, drop_route=True)
        return None  # the hop-by-hop ACK of a final error

    def _forward(self, data, source, target, record_route=False, drop_route=False):
        branch = f"z9hG4bKfake{len(self.origins)}"
        self.origins[branch] = source
        head, _unused, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method = lines[0].split(" ")[0]
        lines[0] = f"{method} {target} SIP/2.0"
        if drop_route:
            lines = [line for line in lines if not line.lower().startswith("route:")]
        extra = [f"Via: SIP/2.0/UDP {self.me};branch={branch}"]
        if record_route:
            extra.append(f"Record-Route: <sip:{self.me};lr>")
        lines = [lines[0], *extra, *lines[1:]]
        host, port = uri_target(target)
        self.sock.sendto("\r\n".join(lines).encode() + b"\r\n\r\n" + body, (host, port))

    def _response(self, data):
        head, _unused, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        top = next(i for i, line in enumerate(lines) if line.lower().startswith("via:"))
        branch = re.search(r"branch=([^;\s]+)", lines[top]).group(1)
        if branch in self.origins:
            del lines[top]
            self.sock.sendto("\r\n".join(lines).encode() + b"\r\n\r\n" + body, self.origins[branch])


class FakePhone(UdpParty):
    """Another contact of the callee's user (a desk phone): records the requests of its dialog and
    answers the BYE (through the proxy, which loose-routes to it)."""

    def _handle(self, data, source):
        first, headers, _unused = parse_message(data)
        self.methods.append(first.split(" ")[0])
        if first.startswith("BYE "):
            lines = ["SIP/2.0 200 OK", *(f"Via: {v}" for v in headers["via"])]
            lines += [f"{name}: {headers[name.lower()][0]}" for name in ("From", "To", "Call-ID", "CSeq")]
            self.sock.sendto(("\r\n".join([*lines, "Content-Length: 0"]) + "\r\n\r\n").encode(), source)


def call(proxy, caller=None, callee=None, timeout=2.0):
    return place_call("127.0.0.1", proxy.port, REALM, caller or CALLER, callee or CALLEE, timeout)


def assert_no_password_anywhere(proxy, result):
    everything = b"".join(proxy.received) + json.dumps(result).encode()
    for password in PASSWORDS.values():
        assert password.encode() not in everything


# --- calls ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("qop", [True, False])
def test_call_answered_acked_and_hung_up(qop):
    with FakeProxy(qop=qop) as proxy:
        result = call(proxy)
    assert result["ok"] is True, result["msg"]
    assert (result["status"], result["reason"], result["codec"]) == (200, "OK", "PCMA")
    assert result["provisional"] == [100, 180]
    assert result["ack"] is result["bye"] is result["registered"] is result["unregistered"] is True
    assert 0 < result["setup_ms"] < 2000
    assert result["msg"].startswith(f"INVITE to 2002@{REALM} via 127.0.0.1:{proxy.port}/udp: 200 OK in ")
    assert result["msg"].endswith(" ms, ACK and BYE completed")
    assert result["media"].startswith("127.0.0.1:")
    # REGISTER and INVITE each challenged once; ACK and BYE went through the proxy (Route from
    # Record-Route); the binding is gone again.
    assert proxy.methods == [
        "REGISTER",
        "REGISTER",
        "INVITE",
        "ACK",
        "INVITE",
        "ACK",
        "BYE",
        "REGISTER",
        "REGISTER",
    ]
    assert proxy.bindings == {}
    assert_no_password_anywhere(proxy, result)


def test_register_challenged_with_407_works_too():
    with FakeProxy(register_status=407) as proxy:
        assert call(proxy)["ok"] is True


def test_a_lost_ack_is_sent_again_on_the_retransmitted_200():
    with FakeProxy(behaviour="drop_first_ack") as proxy:
        result = call(proxy)
    assert result["ok"] is True and result["ack"] is True, result["msg"]
    assert proxy.acks >= 2


def test_a_phone_of_the_callee_answering_first_is_hung_up_and_the_callee_still_gets_the_call():
    """The call server forks the INVITE to every contact of the user: a phone that answers first
    gets its ACK and a BYE, and the test call goes on with its own callee. (Before: the caller
    ACKed only the first 200, the phone's, and failed with "the callee never received the ACK",
    as a release gate did in the lab with a SIPp phone registered for the same user.)"""
    with FakeProxy(behaviour="phone_first") as proxy:
        result = call(proxy)
    assert result["ok"] is True and result["ack"] is True and result["bye"] is True, result["msg"]
    assert proxy.phone.methods == ["ACK", "BYE"], "the phone that answered was ACKed and hung up"
    assert result["msg"].endswith(
        f"ACK and BYE completed; another contact of the user answered too and was hung up: "
        f"sip:2002@127.0.0.1:{proxy.phone.port} (200 to the BYE)"
    ), result["msg"]
    assert proxy.methods.count("ACK") >= 3 and proxy.methods.count("BYE") == 2


def test_a_phone_answering_first_is_hung_up_after_the_call_when_the_server_tracks_one_dialog():
    """A call server that ends its one dialog at the first BYE (Kamailio's dialog module, which then
    drops in-dialog requests of no dialog it tracks): the phone's BYE waits until the test call's
    own ACK and BYE went through, then goes through the server (404) and straight to the phone.
    (Before: the phone was hung up first, the server dropped the callee's ACK, and the gate failed
    with "the callee never received the ACK", as test_gate_call.py did once in CI.)"""
    with FakeProxy(behaviour="one_dialog") as proxy:
        result = call(proxy)
    assert result["ok"] is True and result["ack"] is True and result["bye"] is True, result["msg"]
    assert proxy.phone.methods == ["ACK", "BYE"]
    assert result["msg"].endswith(
        f"another contact of the user answered too and was hung up: sip:2002@127.0.0.1:{proxy.phone.port} "
        "(404 Not Here through the call server; 200 to the BYE straight to it)"
    ), result["msg"]


def test_an_answer_only_from_another_phone_of_the_user_fails_and_hangs_it_up():
    with FakeProxy(behaviour="phone_only") as proxy:
        result = call(proxy, timeout=0.6)
    assert result["ok"] is False and result["status"] == 200
    assert result["msg"] == (
        f"INVITE to 2002@{REALM} via 127.0.0.1:{proxy.port}/udp: answered only by another contact of the user; "
        f"another contact of the user answered too and was hung up: sip:2002@127.0.0.1:{proxy.phone.port} "
        "(200 to the BYE); the test call's callee never answered within 0.6 s"
    )
    assert proxy.phone.methods == ["ACK", "BYE"]
    assert result["unregistered"] is True


def test_wrong_callee_password_is_refused_at_register():
    with FakeProxy() as proxy:
        result = call(proxy, callee={**CALLEE, "password": "wrong"})
    assert result["msg"] == "REGISTER of 2002: 403 Forbidden"
    assert (result["ok"], result["registered"], result["status"]) == (False, False, None)
    assert "INVITE" not in proxy.methods


def test_wrong_caller_password_is_refused_and_the_callee_unregisters():
    with FakeProxy() as proxy:
        result = call(proxy, caller={**CALLER, "password": "wrong-one"})
    assert result["msg"] == f"INVITE to 2002@{REALM} via 127.0.0.1:{proxy.port}/udp: 403 Forbidden"
    assert (result["ok"], result["status"], result["setup_ms"]) == (False, 403, None)
    assert result["registered"] is result["unregistered"] is True and proxy.bindings == {}
    assert "wrong-one" not in json.dumps(result)


def test_busy_is_the_final_status():
    with FakeProxy(behaviour="busy") as proxy:
        result = call(proxy)
    assert (result["ok"], result["status"], result["reason"]) == (False, 486, "Busy Here")
    assert result["msg"] == f"INVITE to 2002@{REALM} via 127.0.0.1:{proxy.port}/udp: 486 Busy Here"
    assert (result["ack"], result["bye"], result["unregistered"]) == (False, False, True)


def test_callee_not_registered_is_480():
    with FakeProxy(behaviour="forgetful") as proxy:
        result = call(proxy)
    assert (result["ok"], result["status"]) == (False, 480)
    assert (
        result["msg"] == f"INVITE to 2002@{REALM} via 127.0.0.1:{proxy.port}/udp: 480 Temporarily Unavailable"
    )


def test_callee_never_receives_the_invite():
    with FakeProxy(behaviour="drop") as proxy:
        result = call(proxy, timeout=0.6)
    assert result["msg"] == "the callee never received the INVITE within 0.6 s"
    assert (result["ok"], result["status"], result["provisional"]) == (False, None, [100])
    # The pending INVITE was cancelled, its 487 ACKed, and the callee unregistered.
    assert "CANCEL" in proxy.methods and result["unregistered"] is True


def test_no_call_server_answers():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = place_call("127.0.0.1", port, REALM, CALLER, CALLEE, 0.3)
    assert result["msg"] == f"REGISTER of 2002: no answer from 127.0.0.1:{port}/udp within 0.3 s"
    assert result["ok"] is False and result["registered"] is False


def test_unresolvable_server():
    result = place_call("no-such-host.invalid", 5060, REALM, CALLER, CALLEE, 0.3)
    assert result["ok"] is False and result["msg"].startswith("cannot resolve no-such-host.invalid")


# --- the module -----------------------------------------------------------------------------------


@pytest.fixture
def run(module_runner):
    def run(args, check=False):
        return module_runner("sip_test_call", args, check)

    return run


def args(proxy, **extra):
    return {"server": "127.0.0.1", "port": proxy.port, "domain": REALM, "caller": CALLER, "callee": CALLEE,
            "timeout": 2.0, **extra}  # fmt: skip


@pytest.mark.parametrize("check", [False, True])
def test_module_call_succeeds_in_normal_and_check_mode(run, check):
    with FakeProxy() as proxy:
        code, result, out = run(args(proxy), check=check)
    assert code == 0, result
    assert result["ok"] is True and result["changed"] is False and result["status"] == 200
    assert result["ack"] and result["bye"] and isinstance(result["setup_ms"], float)
    assert "INVITE" in proxy.methods  # the call is made in check mode too
    assert all(password not in out for password in PASSWORDS.values())


def test_module_failure_fails_or_reports(run):
    with FakeProxy(behaviour="busy") as proxy:
        code, result, out = run(args(proxy))
        assert code == 1 and result["failed"] and result["changed"] is False
        assert (result["ok"], result["status"]) == (False, 486)
        assert result["msg"].endswith(": 486 Busy Here")
        code, result, _unused = run(args(proxy, fail_on_unexpected=False))
        assert code == 0 and not result.get("failed") and result["ok"] is False
    assert all(password not in out for password in PASSWORDS.values())


def test_module_wrong_password(run):
    with FakeProxy() as proxy:
        code, result, out = run(args(proxy, callee={**CALLEE, "password": "not-the-password"}))
    assert code == 1 and result["msg"] == "REGISTER of 2002: 403 Forbidden"
    assert "not-the-password" not in out


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"port": 0}, "port must be 1-65535, not 0"),
        ({"timeout": 0}, "timeout must be positive, not 0.0"),
        ({"callee": CALLER}, "caller and callee must be different users, both are 2001"),
        ({"caller": {"user": "2001"}}, "missing required arguments: password"),
    ],
)
def test_module_bad_arguments(run, extra, error):
    code, result, _unused = run(
        {"server": "127.0.0.1", "domain": REALM, "caller": CALLER, "callee": CALLEE, **extra}
    )
    assert code == 1 and error in result["msg"]
