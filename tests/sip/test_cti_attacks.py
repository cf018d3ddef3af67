"""Attacks on the CTI JSON-RPC endpoint: an account with only the monitor right,
from the source it is allowed, tries to run RPCs it is not granted.

The call server used to check the method with the json module (json-c: keys
case-sensitive, the last duplicate wins, strict about escapes, nesting depth
and the size of what it is given), keep it in $var(method), which outlives
the request in its worker, and then hand the body to jsonrpc_dispatch, which
parses it again with srjson (keys case-insensitive, the first match wins,
lenient). Every way the two could disagree is tried, each after an allowed
request on the same connection (so in the same worker), against two
ungranted RPCs: htable.sets, whose side effect (an item in the authfail
table under a random marker key) kamcmd reads back, and core.shmmem, whose
result has a recognisable shape. Refused means: no side effect, no result of
the ungranted method, and 400 or 403. An unambiguous request for a granted
method still answers 200. Bodies go through tools/jsonrpc_raw.py exactly as
written here; where it sends them is fixture cti_target's choice
(VOIP_CTI_URL overrides it).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

CLIENT = Path(__file__).with_name("tools") / "jsonrpc_raw.py"
REMOTE = "/tmp/cti-attacks"
# Ungranted RPCs: one with an observable side effect, one read-only with a recognisable result.
SIDE_EFFECT = "htable.sets"
READ_ONLY = "core.shmmem"
SIDE_EFFECT_TABLE = "authfail"
RESULT_OF = {
    SIDE_EFFECT: re.compile(r"Key set to new value"),
    READ_ONLY: re.compile(r'"real_used"\s*:'),
}


@dataclass(frozen=True)
class Account:
    name: str
    password: str = field(repr=False)
    methods: tuple[str, ...]
    host: str  # the call server's inventory name
    server: str  # its address
    source: str  # where the account may connect from: "controller" or a lab host or peer
    source_address: str

    @property
    def allowed(self) -> str:
        """The granted method the attacks hide behind (and the positive control calls)."""
        return "core.uptime" if "core.uptime" in self.methods else self.methods[0]


@pytest.fixture(scope="session")
def monitor(estate, kamailio_setting, lab_topology, controller) -> Account:
    """A CTI account with only the monitor right, and a lab source inside its networks."""
    host = estate.hosts["cs1"]
    rights = kamailio_setting("kamailio_cti_rights_methods")
    account = next((a for a in host["voip_cti_accounts"] if a["rights"] == ["monitor"]), None)
    if account is None:
        pytest.fail("the lab has no CTI account with only the monitor right")
    methods = tuple(sorted({m for right in account["rights"] for m in rights[right]}))
    assert methods, account
    assert SIDE_EFFECT not in methods and READ_ONLY not in methods, methods
    places = {"controller": controller, **{h.name: h.address for h in lab_topology.hosts}}
    networks = [ipaddress.ip_network(n) for n in account["source_networks"]]
    source = next(
        (n for n, a in places.items() if any(ipaddress.ip_address(a) in net for net in networks)), None
    )
    if source is None:
        pytest.fail(f"no lab source inside {account['source_networks']}")
    call_server = account.get("call_servers", ["cs1"])[0]
    return Account(
        name=account["name"],
        password=host[account["credentials_ref"]],
        methods=methods,
        host=call_server,
        server=estate.hosts[call_server]["ansible_host"],
        source=source,
        source_address=places[source],
    )


@pytest.fixture(scope="session")
def cti_target(monitor, cti_endpoint) -> tuple[str, str | None]:
    """(URL, CA file as the source reads it) of the account's call server: HTTPS with the
    server's certificate pinned (conftest's cti_endpoint).

    VOIP_CTI_URL (e.g. http://{server}:8080/RPC) names it outright instead, to
    run these attacks against a call server on an older configuration (plain
    HTTP, before the fixes): that is how they were shown to succeed there.
    """
    override = os.environ.get("VOIP_CTI_URL")
    if override:
        return override.format(server=monitor.server), None
    return cti_endpoint(monitor.source, monitor.server)


@pytest.fixture(scope="session")
def raw_rpc(monitor, cti_target, lab_topology, tmp_path_factory):
    """Send raw bodies in order on one connection from the account's source; returns their outcomes."""
    workdir = tmp_path_factory.mktemp("cti-attacks")
    url, cafile = cti_target
    container = None
    if monitor.source != "controller":
        container = lab_topology.host(monitor.source).container(lab_topology.prefix)
        subprocess.run(["podman", "exec", container, "mkdir", "-p", REMOTE], check=True, timeout=30)

    def send(*bodies: str, password: str | None = None, timeout: float = 5.0) -> list[dict]:
        args = [
            url,
            monitor.name,
            password or monitor.password,
            "--timeout",
            str(timeout),
        ]
        if cafile:
            args += ["--cafile", cafile]
        for i, body in enumerate(bodies):
            if container:
                path = f"{REMOTE}/body-{i}"
                subprocess.run(["podman", "exec", "-i", container, "sh", "-c", f"cat > {path}"],
                               input=body, text=True, check=True, timeout=30)  # fmt: skip
            else:
                path = str(workdir / f"body-{i}")
                Path(path).write_text(body)
            args += ["--body-file", path]
        if container:
            cmd = ["podman", "exec", "-i", container, "python3", "-", *args]
        else:
            cmd = [sys.executable, "-", *args]
        wait = 30 + len(bodies) * (timeout + 1)
        done = subprocess.run(
            cmd, input=CLIENT.read_text(), capture_output=True, text=True, timeout=wait, check=True
        )
        outcome = json.loads(done.stdout)
        return outcome if isinstance(outcome, list) else [outcome]

    return send


@pytest.fixture(autouse=True)
def unbanned(monitor, forget_bans):
    """The account's source starts and ends with no ban and no counted failures on the call server."""
    forget_bans(monitor.host, monitor.source_address)
    yield monitor.source_address
    forget_bans(monitor.host, monitor.source_address)


@pytest.fixture(scope="session")
def htable_item(monitor, podman_exec):
    """Whether an item is in the side effect's table, as kamcmd reads it (proved to see a set item)."""

    def present(key: str) -> bool:
        out = podman_exec(monitor.host, "kamcmd", "htable.get", SIDE_EFFECT_TABLE, key, check=False).stdout
        return "value" in out and "error" not in out.lower()

    probe = f"cti-probe-{secrets.token_hex(6)}"
    podman_exec(monitor.host, "kamcmd", "htable.sets", SIDE_EFFECT_TABLE, probe, "probe")
    try:
        assert present(probe), "kamcmd does not see an item set in the table"
    finally:
        podman_exec(monitor.host, "kamcmd", "htable.delete", SIDE_EFFECT_TABLE, probe, check=False)
    assert not present(probe)
    return present


@pytest.fixture
def marker(monitor, htable_item, podman_exec):
    """A fresh key the side-effect RPC would set; removed afterwards if an attack did set it."""
    key = f"cti-attack-{secrets.token_hex(6)}"
    assert not htable_item(key)
    yield key
    podman_exec(monitor.host, "kamcmd", "htable.delete", SIDE_EFFECT_TABLE, key, check=False)


# -- request bodies ------------------------------------------------------------------------------

J = json.dumps


def obj(*members: tuple[str, str]) -> str:
    """A JSON object from (raw key text, raw value text) pairs: duplicates and escapes stay as written."""
    return "{" + ",".join(f"{key}:{value}" for key, value in members) + "}"


def request(method_text: str, params: str, *extra: tuple[str, str]) -> str:
    return obj(('"jsonrpc"', '"2.0"'), ('"method"', method_text), ('"params"', params), ('"id"', "1"), *extra)


def misspelt_escape(method: str) -> str:
    """The method name with one letter written as an escape that is not JSON (\\h for h): json-c
    refuses the document, srjson reads the letter."""
    i = next(i for i, c in enumerate(method) if c.isalpha() and c not in "bfnrtu")
    return J(method[:i])[:-1] + "\\" + method[i:] + '"'


def method_key_cases(allowed: str, x: str, p: str) -> dict[str, str]:
    a, X = J(allowed), J(x)
    head = ('"jsonrpc"', '"2.0"')
    return {
        "METHOD-first": obj(head, ('"METHOD"', X), ('"params"', p), ('"method"', a), ('"id"', "1")),
        "METHOD-last": obj(head, ('"method"', a), ('"METHOD"', X), ('"params"', p), ('"id"', "1")),
        "Method-first": obj(head, ('"Method"', X), ('"params"', p), ('"method"', a), ('"id"', "1")),
        "Method-last": obj(head, ('"method"', a), ('"Method"', X), ('"params"', p), ('"id"', "1")),
        "u006dethod-first": obj(head, ('"\\u006dethod"', X), ('"params"', p), ('"method"', a), ('"id"', "1")),
        "u006dethod-last": obj(head, ('"method"', a), ('"\\u006dethod"', X), ('"params"', p), ('"id"', "1")),
        "u004du0045THOD-first": obj(
            head, ('"\\u004d\\u0045THOD"', X), ('"params"', p), ('"method"', a), ('"id"', "1")
        ),
        "u004du0045THOD-last": obj(
            head, ('"method"', a), ('"\\u004d\\u0045THOD"', X), ('"params"', p), ('"id"', "1")
        ),
        "two-method-keys-ungranted-first": obj(
            head, ('"method"', X), ('"params"', p), ('"method"', a), ('"id"', "1")
        ),
        "two-method-keys-ungranted-last": obj(
            head, ('"method"', a), ('"method"', X), ('"params"', p), ('"id"', "1")
        ),
    }


def shape_cases(allowed: str, x: str, p: str) -> dict[str, str]:
    a, X = J(allowed), J(x)
    good = request(a, "[]")
    bad = request(X, p)
    no_method = obj(('"jsonrpc"', '"2.0"'), ('"params"', p), ('"id"', "1"))
    return {
        "batch-granted-first": f"[{good},{bad}]",
        "batch-ungranted-first": f"[{bad},{good}]",
        "nested-in-params": obj(('"jsonrpc"', '"2.0"'), ('"params"', bad), ('"id"', "1")),
        "nested-envelope": obj(('"request"', bad)),
        "method-number": request("1", p),
        "method-object": request(obj(('"method"', X)), p),
        "method-array": request(f"[{X}]", p),
        "method-null": request("null", p),
        "method-missing": no_method,
        "empty-body": "",
        "not-json": f"method={x}&params={p}",
        "two-documents": f"{good} {bad}",
        # Beyond the 8 KB Kamailio's script variables hold, under its TCP read buffer.
        "huge-12k": request(X, p, ('"pad"', J("A" * 12000))),
    }


def parser_differential_cases(allowed: str, x: str, p: str) -> dict[str, str]:
    """Bodies json-c refuses and srjson reads as a call of the ungranted method."""
    X = J(x)
    return {
        "bad-escape-in-method": request(misspelt_escape(x), p),
        "bad-escape-elsewhere": request(X, p, ('"note"', '"\\q"')),
        "nesting-deeper-than-json-c": request(X, p, ('"pad"', "[" * 40 + "]" * 40)),
    }


def params_of(x: str, key: str) -> str:
    return J([SIDE_EFFECT_TABLE, key, "cti-attack"]) if x == SIDE_EFFECT else "[]"


def assert_refused(outcome: dict, x: str, key: str, htable_item) -> None:
    """No side effect, no result of the ungranted method, and a 400 or 403."""
    if x == SIDE_EFFECT:
        assert not htable_item(key), f"the ungranted {x} ran: its item is in the table ({outcome})"
    assert not RESULT_OF[x].search(outcome["body"]), f"the ungranted {x} ran: {outcome}"
    if outcome["status"] == 200:
        pytest.fail(f"the ambiguous request was accepted (200) instead of refused: {outcome}")
    assert outcome["status"] in (400, 403), f"neither 400 nor 403: {outcome}"


# -- tests ---------------------------------------------------------------------------------------


def test_an_unambiguous_granted_request_still_answers(monitor, raw_rpc):
    """Positive control: the granted method, plainly asked for, answers 200 with its result."""
    (answer,) = raw_rpc(request(J(monitor.allowed), "[]"))
    assert answer["status"] == 200, answer
    assert '"result"' in answer["body"] and '"error"' not in answer["body"], answer


@pytest.mark.parametrize("x", [SIDE_EFFECT, READ_ONLY])
@pytest.mark.parametrize("case", list(method_key_cases("a", "b.c", "[]")))
def test_duplicate_method_keys_run_nothing_ungranted(monitor, raw_rpc, marker, htable_item, case, x):
    """Two method keys (by case, by \\u escapes, or twice the same): refused, whichever comes first."""
    attack(monitor, raw_rpc, marker, htable_item, case, x)


@pytest.mark.parametrize("x", [SIDE_EFFECT, READ_ONLY])
@pytest.mark.parametrize("case", list(shape_cases("a", "b.c", "[]")))
def test_batches_nesting_and_odd_bodies_run_nothing_ungranted(monitor, raw_rpc, marker, htable_item, case, x):
    """Batches, a method nested or not a string, none at all, no body, no JSON, a huge body: refused."""
    attack(monitor, raw_rpc, marker, htable_item, case, x)


@pytest.mark.parametrize("x", [SIDE_EFFECT, READ_ONLY])
@pytest.mark.parametrize("case", list(parser_differential_cases("a", "b.c", "[]")))
def test_method_of_the_previous_request_is_not_reused(monitor, raw_rpc, marker, htable_item, case, x):
    """After a granted request in the same worker, a body whose method the script cannot read
    (but jsonrpc_dispatch can) does not run under the previous request's method."""
    attack(monitor, raw_rpc, marker, htable_item, case, x)


def attack(monitor, raw_rpc, marker, htable_item, case: str, x: str) -> None:
    builders = (method_key_cases, shape_cases, parser_differential_cases)
    bodies = {
        name: body for b in builders for name, body in b(monitor.allowed, x, params_of(x, marker)).items()
    }
    prime, answer = raw_rpc(request(J(monitor.allowed), "[]"), bodies[case])
    assert prime["status"] == 200 and '"result"' in prime["body"], f"the granted request failed: {prime}"
    assert_refused(answer, x, marker, htable_item)


@pytest.mark.parametrize("x", [SIDE_EFFECT, READ_ONLY])
def test_a_body_beyond_what_the_server_reads_runs_nothing(monitor, raw_rpc, marker, htable_item, x):
    """A 1 MB body (more than Kamailio's TCP read buffer): nothing runs, and the next request is served."""
    body = request(J(x), params_of(x, marker), ('"pad"', J("A" * 1_000_000)))
    prime, answer = raw_rpc(request(J(monitor.allowed), "[]"), body)
    assert prime["status"] == 200, prime
    if x == SIDE_EFFECT:
        assert not htable_item(marker), f"the ungranted {x} ran ({answer})"
    assert not RESULT_OF[x].search(answer["body"]), answer
    assert answer["status"] in (None, 400, 403, 413), answer
    (after,) = raw_rpc(request(J(monitor.allowed), "[]"))
    assert after["status"] == 200, after


def test_password_guessing_bans_the_source(monitor, raw_rpc, podman_exec, kamailio_setting):
    """Wrong passwords as often as kamailio_auth_failures_before_ban: then the right one is refused too.

    Refused means 403, or no answer at all (the connection refused or dropped).
    """
    failures = int(kamailio_setting("kamailio_auth_failures_before_ban"))
    plain = request(J(monitor.allowed), "[]")
    guesses = raw_rpc(*[plain] * failures, password=f"not-{monitor.password}")
    assert [g["status"] for g in guesses] == [401] * failures, guesses
    ban = podman_exec(
        monitor.host, "kamcmd", "htable.get", "ipban", monitor.source_address, check=False
    ).stdout
    assert "value" in ban, f"{failures} failures did not ban {monitor.source_address}: {ban}"
    (after,) = raw_rpc(plain)
    assert after["status"] in (None, 403), f"the banned source still gets in with the right password: {after}"
    assert RESULT_OF[READ_ONLY].search(after["body"]) is None and '"result"' not in after["body"], after
