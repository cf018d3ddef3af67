"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_sip (OPTIONS request, response parsing, UDP/TCP exchange) and the module sip_options.

The network cases run against real responders on 127.0.0.1 (a thread per
responder): one that answers 100 then 200 with a Server header, one that
answers 503, one that never answers, one that answers garbage.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import (
    SipMalformed,
    SipResolveError,
    SipTimeout,
    SipTransportError,
    build_options,
    matches,
    new_ids,
    options_ping,
    parse_message,
    parse_response,
    request_uri,
    retransmit_intervals,
    select_headers,
)


def answer(request: bytes, status: str, extra: tuple[str, ...] = (), **replace) -> bytes:
    """A response to ``request`` as a server builds it: Via, From, To, Call-ID, CSeq copied."""
    _unused, headers, _unused = parse_message(request)
    copied = {name: headers[name][0] for name in ("via", "from", "to", "call-id", "cseq")}
    copied.update(replace)
    lines = [
        f"SIP/2.0 {status}",
        f"Via: {copied['via']};received=127.0.0.1",
        f"From: {copied['from']}",
        f"To: {copied['to']};tag=srv1",
        f"Call-ID: {copied['call-id']}",
        f"CSeq: {copied['cseq']}",
        *extra,
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Responder:
    """A UDP (or TCP) server on 127.0.0.1 that answers each request with ``reply(request)`` (a list of messages)."""

    def __init__(self, reply, transport="udp", delay=0.0):
        self.reply, self.delay, self.requests = reply, delay, []
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.05)
        self.stop = threading.Event()
        if transport == "tcp":
            self.sock.listen(1)
        target = self._udp if transport == "udp" else self._tcp
        self.thread = threading.Thread(target=target, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()

    def _udp(self):
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.requests.append(data)
            for message in self.reply(data):
                time.sleep(self.delay)
                self.sock.sendto(message, peer)

    def _tcp(self):
        while not self.stop.is_set():
            try:
                conn, _unused = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65535)
                self.requests.append(data)
                # In pieces, as a stream may deliver it.
                payload = b"\r\n".join([b"", *self.reply(data)])
                for i in range(0, len(payload), 7):
                    conn.sendall(payload[i : i + 7])
                time.sleep(0.1)


def trying_then_ok(request):
    return [
        answer(request, "100 Trying"),
        answer(request, "200 OK", ("Server: kamailio (5.6.3 (x86_64/linux))", "X-Routing: ams-1", "k: path")),
    ]


# --- the request ----------------------------------------------------------------------------------


def test_request_is_rfc3261_options_and_parses_back():
    ids = {"branch": "z9hG4bKabc123", "tag": "t1", "call_id": "c1"}
    raw = build_options("10.0.0.1", 5060, "10.0.0.9", 40000, ids=ids)
    assert raw.endswith(b"\r\n\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    first, headers, body = parse_message(raw)
    assert first == "OPTIONS sip:10.0.0.1:5060 SIP/2.0"
    assert headers == {
        "via": ["SIP/2.0/UDP 10.0.0.9:40000;branch=z9hG4bKabc123;rport"],
        "max-forwards": ["70"],
        "from": ["<sip:voip-estate-health@10.0.0.9>;tag=t1"],
        "to": ["<sip:10.0.0.1:5060>"],
        "call-id": ["c1@10.0.0.9"],
        "cseq": ["1 OPTIONS"],
        "contact": ["<sip:voip-estate-health@10.0.0.9:40000>"],
        "accept": ["application/sdp"],
        "user-agent": ["voip-estate-health"],
        "content-length": ["0"],
    }
    assert body == b""


def test_request_with_user_tcp_and_ipv6():
    raw = build_options("2001:db8::1", 5070, "2001:db8::9", 40000, transport="tcp", user="trunk1").decode()
    assert raw.startswith("OPTIONS sip:trunk1@[2001:db8::1]:5070;transport=tcp SIP/2.0\r\n")
    assert "Via: SIP/2.0/TCP [2001:db8::9]:40000;branch=z9hG4bK" in raw
    assert "Contact: <sip:voip-estate-health@[2001:db8::9]:40000;transport=tcp>" in raw
    assert request_uri("cs1.example", 5060) == "sip:cs1.example:5060"


def test_fresh_ids_carry_the_magic_cookie_and_differ():
    a, b = new_ids(), new_ids()
    assert a["branch"].startswith("z9hG4bK") and len(a["branch"]) > 7 + 8
    assert a != b


def test_retransmissions_follow_timer_e():
    assert retransmit_intervals(2.0) == [0.5, 1.0]
    assert retransmit_intervals(32.0) == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert retransmit_intervals(2.0, retries=1) == [0.5]
    assert retransmit_intervals(2.0, retries=0) == []
    assert retransmit_intervals(9.0, provisional=True) == [4.0, 4.0]


# --- parsing --------------------------------------------------------------------------------------


def test_response_headers_case_insensitive_compact_and_folded():
    raw = (
        b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 10.0.0.9:1;branch=z9hG4bKx\r\nVIA: SIP/2.0/UDP 10.0.0.8:1\r\n"
        b"i: c1@h\r\ncseq: 1 OPTIONS\r\nserver: kamailio\r\n (5.6.3)\r\nX-Routing: ams\r\nl: 0\r\n\r\n"
    )
    response = parse_response(raw)
    assert (response["status"], response["reason"], response["first_line"]) == (200, "OK", "SIP/2.0 200 OK")
    assert response["headers"]["via"] == ["SIP/2.0/UDP 10.0.0.9:1;branch=z9hG4bKx", "SIP/2.0/UDP 10.0.0.8:1"]
    assert response["headers"]["server"] == ["kamailio (5.6.3)"]
    assert select_headers(response["headers"], ["x-routing", "Call-ID", "Missing"]) == {
        "Server": "kamailio (5.6.3)", "User-Agent": None, "x-routing": "ams", "Call-ID": "c1@h", "Missing": None,
    }  # fmt: skip
    assert matches(response, {"branch": "z9hG4bKx", "call_id": "c1"})
    assert not matches(response, {"branch": "z9hG4bKother", "call_id": "c1"})


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"HTTP/1.1 200 OK\r\n\r\n", "not a SIP status line"),
        (b"\xff\xfe\x00garbage", "not a SIP status line: '.*garbage'"),
        (b"SIP/2.0 200 OK\r\nServer: \xff\r\n\r\n", "not UTF-8"),
        (b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n", "not a header line"),
        (b"SIP/2.0 99 Odd\r\n\r\n", "not a SIP status line"),
    ],
)
def test_malformed_responses(raw, error):
    with pytest.raises(ValueError, match=error):
        parse_response(raw)


# --- the exchange against local responders --------------------------------------------------------


def test_udp_skips_provisional_and_returns_the_final_answer():
    with Responder(trying_then_ok) as server:
        result = options_ping("127.0.0.1", server.port, timeout=2.0, headers=["X-Routing", "Supported"])
    assert (result["status"], result["reason"]) == (200, "OK")
    assert result["provisional"] == [100] and result["transmissions"] == 1
    assert result["response_line"] == "SIP/2.0 200 OK"
    assert result["headers"] == {
        "Server": "kamailio (5.6.3 (x86_64/linux))", "User-Agent": None, "X-Routing": "ams-1", "Supported": "path",
    }  # fmt: skip
    assert 0 <= result["latency_ms"] < 1000
    assert result["address"] == "127.0.0.1" and result["local"].startswith("127.0.0.1:")
    # The request as the server got it: addressed to it, from the local address in Via and Contact.
    first, headers, _unused = parse_message(server.requests[0])
    assert first == f"OPTIONS sip:127.0.0.1:{server.port} SIP/2.0"
    assert headers["via"][0].startswith(f"SIP/2.0/UDP {result['local']};branch=z9hG4bK")
    assert headers["contact"] == [f"<sip:voip-estate-health@{result['local']}>"]


def test_latency_is_measured():
    with Responder(lambda r: [answer(r, "200 OK")], delay=0.15) as server:
        result = options_ping("127.0.0.1", server.port, timeout=2.0)
    assert 150 <= result["latency_ms"] < 1000


def test_udp_503_is_returned_not_raised():
    with Responder(lambda r: [answer(r, "503 Service Unavailable")]) as server:
        result = options_ping("127.0.0.1", server.port, timeout=1.0)
    assert (result["status"], result["reason"]) == (503, "Service Unavailable")


def test_udp_retransmits_until_an_answer():
    seen = []

    def second_time(request):
        seen.append(request)
        return [answer(request, "200 OK")] if len(seen) == 2 else []

    with Responder(second_time) as server:
        result = options_ping("127.0.0.1", server.port, timeout=2.0)
    assert result["status"] == 200 and result["transmissions"] == 2
    assert seen[0] == seen[1]  # a retransmission is the same request
    assert result["latency_ms"] >= 500


def test_answers_of_another_transaction_are_ignored():
    def stale_then_ok(request):
        return [answer(request, "500 Old", **{"call-id": "stale@x"}), answer(request, "200 OK")]

    with Responder(stale_then_ok) as server:
        assert options_ping("127.0.0.1", server.port, timeout=1.0)["status"] == 200


def test_silence_times_out_with_a_clear_message():
    with Responder(lambda r: []) as server:
        started = time.monotonic()
        with pytest.raises(SipTimeout) as error:
            options_ping("127.0.0.1", server.port, timeout=0.3)
    assert str(error.value) == f"no answer from 127.0.0.1:{server.port}/udp within 0.3 s"
    assert time.monotonic() - started < 1.0
    assert len(server.requests) == 1  # 0.3 s leaves no room for a retransmission at 0.5 s


def test_only_provisional_is_a_timeout_that_says_so():
    with Responder(lambda r: [answer(r, "100 Trying")]) as server, pytest.raises(SipTimeout) as error:
        options_ping("127.0.0.1", server.port, timeout=0.3)
    assert str(error.value) == f"no final answer from 127.0.0.1:{server.port}/udp within 0.3 s (only 100)"


def test_garbage_is_a_malformed_response():
    with Responder(lambda r: [b"hello, this is not SIP\r\n"]) as server, pytest.raises(SipMalformed) as error:
        options_ping("127.0.0.1", server.port, timeout=1.0)
    assert str(error.value).startswith(
        f"malformed response from 127.0.0.1:{server.port}/udp: not a SIP status line"
    )


def test_port_unreachable_over_udp():
    # A port just freed: nothing listens, the kernel answers ICMP port unreachable.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SipTransportError, match=f"127.0.0.1:{port}/udp is unreachable"):
        options_ping("127.0.0.1", port, timeout=1.0)


def test_unresolvable_name():
    with pytest.raises(SipResolveError, match=r"^cannot resolve no-such-host\.invalid: "):
        options_ping("no-such-host.invalid", 5060, timeout=0.5)


def test_tcp_skips_provisional_and_reads_the_stream():
    with Responder(trying_then_ok, transport="tcp") as server:
        result = options_ping("127.0.0.1", server.port, transport="tcp", timeout=2.0, headers=["x-routing"])
    assert (result["status"], result["provisional"], result["headers"]["x-routing"]) == (200, [100], "ams-1")
    first, headers, _unused = parse_message(server.requests[0])
    assert first == f"OPTIONS sip:127.0.0.1:{server.port};transport=tcp SIP/2.0"
    assert headers["via"][0].startswith("SIP/2.0/TCP 127.0.0.1:")


def test_tcp_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SipTransportError, match=f"127.0.0.1:{port}/tcp refused the connection"):
        options_ping("127.0.0.1", port, transport="tcp", timeout=1.0)


# --- the module -----------------------------------------------------------------------------------


@pytest.fixture
def run(module_runner):
    def run(args, check=False):
        return module_runner("sip_options", args, check)

    return run


@pytest.mark.parametrize("check", [False, True])
def test_module_healthy_target(run, check):
    with Responder(trying_then_ok) as server:
        code, result, _unused = run(
            {"target": "127.0.0.1", "port": server.port, "headers": ["X-Routing"]}, check=check
        )
    assert code == 0, result
    assert result["ok"] is True and result["changed"] is False
    assert (result["status"], result["reason"]) == (200, "OK")
    assert result["headers"]["Server"].startswith("kamailio") and result["headers"]["X-Routing"] == "ams-1"
    assert isinstance(result["latency_ms"], float)
    assert result["msg"].startswith(f"127.0.0.1:{server.port}/udp answered 200 OK in ")
    assert len(server.requests) == 1  # sent in check mode too


def test_module_unexpected_status_fails_naming_the_target(run):
    with Responder(lambda r: [answer(r, "503 Service Unavailable")]) as server:
        code, result, _unused = run({"target": "127.0.0.1", "port": server.port})
        assert code == 1 and result["failed"] and not result["ok"] and result["status"] == 503
        assert result["msg"].startswith(f"127.0.0.1:{server.port}/udp answered 503 Service Unavailable in ")
        assert result["msg"].endswith("ms, expected 200")
        # Expected, or not failing: a result to collect.
        code, result, _unused = run({"target": "127.0.0.1", "port": server.port, "expect": [200, 503]})
        assert code == 0 and result["ok"] and result["status"] == 503
        code, result, _unused = run({"target": "127.0.0.1", "port": server.port, "fail_on_unexpected": False})
        assert code == 0 and not result.get("failed") and result["ok"] is False


def test_module_timeout(run):
    with Responder(lambda r: []) as server:
        code, result, _unused = run({"target": "127.0.0.1", "port": server.port, "timeout": 0.3})
        assert code == 1 and result["failed"] and result["changed"] is False
        assert result["msg"] == f"no answer from 127.0.0.1:{server.port}/udp within 0.3 s"
        assert (result["ok"], result["status"], result["latency_ms"]) == (False, None, None)
        code, result, _unused = run(
            {"target": "127.0.0.1", "port": server.port, "timeout": 0.3, "fail_on_unexpected": False}
        )
        assert code == 0 and result["ok"] is False and "no answer" in result["msg"]


def test_module_garbage(run):
    with Responder(lambda r: [b"\x00\x01garbage"]) as server:
        code, result, _unused = run({"target": "127.0.0.1", "port": server.port})
    assert code == 1 and result["msg"].startswith(f"malformed response from 127.0.0.1:{server.port}/udp")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"port": 0}, "port must be 1-65535, not 0"),
        ({"timeout": 0}, "timeout must be positive, not 0.0"),
        ({"retries": -1}, "retries must be 0 or more, not -1"),
        ({"transport": "tls"}, "value of transport must be one of: udp, tcp, got: tls"),
    ],
)
def test_module_bad_arguments(run, args, error):
    code, result, _unused = run({"target": "127.0.0.1", **args})
    assert code == 1 and error in result["msg"]
