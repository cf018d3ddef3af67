"""Trunk authentication against the lab carriers: a call server answers a carrier's digest
challenge with the trunk's username and its vaulted password, once per route, and a trunk
whose model says ``register: true`` registers with its carrier.

Calls: lab-carrier (UDP, Amsterdam) plays a carrier that asks for credentials (407), with
SIPp on the carrier peer (scenarios carrier_auth.xml, carrier_auth_refused.xml). SIPp logs
the answer and the test checks it against the vault: SIPp's ``verifyauth`` reads an
Authorization header only, never the Proxy-Authorization that answers a 407.

Registration: the registering trunk's carrier (lab-carrier-tls, over TLS, Tehran) plays a
registrar with tools/sip_listener.py ``--register-realm`` (401, then 200); the test makes
the call server register at once (``kamcmd uac.reg_refresh``) and checks the answer alike.

Passwords are compared, never printed: no assertion message holds one, and ``uac.reg_info``
(which prints the password) is read for its flags only.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
import time

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_sip_message import parse_challenge
from voipctl.adapters.hosts import gateways as model_gateways
from voipctl.derive.kamailio import pstn_routes, site_trunks

pytestmark = pytest.mark.lab

NATIONAL = "0201234567"
REALM = "carrier.lab"
TLS_FILES = ["--tls", "/etc/sip-tls/cert.pem", "/etc/sip-tls/key.pem"]
# uac.reg_info flags: the registration is disabled, and it succeeded.
UAC_REG_DISABLED, UAC_REG_ONLINE = 1, 4


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # RFC 2617 digest


def digest_problems(value: str, method: str, username: str, password: str, nonces: set[str]) -> list[str]:
    """What is wrong with the digest answer ``value`` (nothing: it answers our challenge with the password)."""
    try:
        params = parse_challenge(value)
    except ValueError as exc:
        return [f"not a digest answer: {exc}"]
    problems = []
    if params.get("username") != username:
        problems.append(f"username {params.get('username')!r}, not the model's {username!r}")
    if params.get("realm") != REALM:
        problems.append(f"realm {params.get('realm')!r}, not the challenge's {REALM!r}")
    if params.get("nonce") not in nonces:
        problems.append(f"nonce {params.get('nonce')!r} is none the carrier issued")
    ha1 = md5(f"{username}:{params.get('realm')}:{password}")
    ha2 = md5(f"{method}:{params.get('uri')}")
    if params.get("qop"):
        parts = [params.get(k, "") for k in ("nonce", "nc", "cnonce", "qop")]
        expected = md5(":".join([ha1, *parts, ha2]))
    else:
        expected = md5(f"{ha1}:{params.get('nonce')}:{ha2}")
    if params.get("response") != expected:
        problems.append("the response was not computed with the trunk's password from the vault")
    return problems


@pytest.fixture(scope="module")
def model(estate):
    return estate.hosts["cs1"]


@pytest.fixture(scope="module")
def trunk_of(model):
    def get(name: str) -> dict:
        return next(t for t in model["voip_trunks"] if t["name"] == name)

    return get


def credentials(model, trunk: dict) -> tuple[str, str]:
    """The trunk's (username, password): the model's username (default: its name), the vault's password."""
    return str(trunk.get("username") or trunk["name"]), str(model[trunk["credentials_ref"]])


def national_caller(users, site: str):
    for user in users.values():
        if (user.status == "active" and user.site == site
                and user.model["class_of_service"] in ("national", "international")):  # fmt: skip
            return user
    pytest.fail(f"the lab has no active user of {site} who may call national numbers")


def journal_since(podman_exec, server: str, started: str) -> str:
    return podman_exec(server, "journalctl", "-u", "kamailio", "--since", started, "--no-pager").stdout


def now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def test_a_challenged_call_is_answered_with_the_trunks_credentials_and_goes_through(
    model, trunk_of, users, call, peer, podman_exec, call_servers
):
    trunk = trunk_of("lab-carrier")
    username, password = credentials(model, trunk)
    caller = national_caller(users, trunk["site"])
    started = now()
    nonce = secrets.token_hex(16)
    carrier = peer("carrier", "carrier_auth", fields=[REALM, nonce], listening=True)
    result = call(caller, NATIONAL)
    seen = carrier()
    assert result.final == "200", result.log
    assert seen.returncode == 0, seen.log
    answer = seen.value("CREDENTIALS")
    assert answer, f"the carrier got no answer to its challenge: {seen.log}"
    problems = digest_problems(answer, "INVITE", username, password, {nonce})
    assert not problems, f"{problems}: {answer}"
    # The answer is the call's next INVITE (CSeq + 1); the call's later requests follow it.
    first, second = int(seen.value("CSEQ1")), int(seen.value("CSEQ2"))
    assert second == first + 1, seen.log
    assert int(seen.value("ACK")) == second, seen.log
    assert int(seen.value("BYE")) > second, (
        f"the BYE must have a higher CSeq than the answered INVITE: {seen.log}"
    )
    assert result.value("BYE") == "200", result.log
    assert password not in journal_since(podman_exec, call_servers[trunk["site"]], started), (
        "the trunk's password is in the call server's log"
    )


def test_refused_credentials_are_not_offered_again_and_the_call_takes_the_next_route(
    model,
    estate,
    trunk_of,
    users,
    call,
    peer,
    listen,
    lab_topology,
    kamailio_setting,
    podman_exec,
    call_servers,
):
    """The carrier asks again after the answer: that route failed; the next one gets the call."""
    trunk = trunk_of("lab-carrier")
    username, password = credentials(model, trunk)
    later = later_routes(model, estate, lab_topology, trunk, ["--invite-status", "503"])
    caller = national_caller(users, trunk["site"])
    nonces = {secrets.token_hex(16), secrets.token_hex(16)}
    started = now()
    carrier = peer("carrier", "carrier_auth_refused", fields=[REALM, *sorted(nonces)], listening=True)
    listeners = listen(*later)
    began = time.monotonic()
    result = call(caller, NATIONAL)
    elapsed = time.monotonic() - began
    seen = carrier()
    assert seen.returncode == 0, f"the carrier saw no answered challenge: {seen.log}"
    answer = seen.value("CREDENTIALS") or ""
    problems = digest_problems(answer, "INVITE", username, password, nonces)
    assert not problems, f"{problems}: {answer}"
    # Refused: the next route, each refusing with 503; with none left the call server
    # answers 503 itself (a carrier's own 503 would reach the caller as 500).
    assert result.final == "503", result.log
    for listener in listeners:
        assert len(listener.invites()) == 1, listener.seen()
    # A third INVITE to the carrier (no one answers it any more) would have cost a route timeout.
    assert elapsed < kamailio_setting("kamailio_pstn_response_timeout"), f"the call took {elapsed:.1f}s"
    journal = journal_since(podman_exec, call_servers[trunk["site"]], started)
    assert f"route {trunk['name']} refused the credentials" in journal, "the call server did not say why"


def later_routes(model, estate, lab_topology, trunk: dict, options: list[str]) -> list[tuple]:
    """Listeners (host, address, port, options) for the national routes after ``trunk``'s."""
    gateways = model_gateways(estate.hosts, {"gateways": estate.hosts_in("gateways")})
    routes = pstn_routes(trunk["site"], model["voip_sites"], model["voip_trunks"], gateways)["national"]
    assert routes[0]["name"] == trunk["name"], (
        f"the lab's national calls from {trunk['site']} go first to {routes}"
    )
    by_address = {host.address: host.name for host in lab_topology.hosts}
    later = []
    for route in routes[1:]:
        address, port = re.match(r"^sip:([0-9.]+):([0-9]+);transport=udp$", route["uri"]).groups()
        later.append((by_address[address], address, int(port), options))
    assert later, "the lab's national calls have a route after the first trunk"
    return later


def test_a_refusal_after_an_answered_challenge_is_the_carriers_answer(
    model, estate, trunk_of, users, call, peer, listen, lab_topology
):
    """407, the answer, then 486: the caller hears busy and no other route is tried.

    A review read tm as picking the first route's 407 over the later 486 (the best
    reply of all the call's branches), so that a busy callee would be taken for
    refused credentials and called again elsewhere. The lab did not reproduce it:
    with the t_drop_replies() calls removed this test passes too. It stays as the
    proof that a refusal after an answered challenge is final.
    """
    trunk = trunk_of("lab-carrier")
    username, password = credentials(model, trunk)
    caller = national_caller(users, trunk["site"])
    nonce = secrets.token_hex(16)
    carrier = peer("carrier", "carrier_auth_busy", fields=[REALM, nonce], listening=True)
    listeners = listen(*later_routes(model, estate, lab_topology, trunk, ["--invite-status", "503"]))
    result = call(caller, NATIONAL)
    seen = carrier()
    assert seen.returncode == 0, seen.log
    problems = digest_problems(seen.value("CREDENTIALS") or "", "INVITE", username, password, {nonce})
    assert not problems, problems
    assert result.final == "486", result.log
    for listener in listeners:
        assert listener.invites() == [], f"a busy callee was called again elsewhere: {listener.seen()}"


def registering(model) -> list[tuple[dict, str]]:
    """(trunk, site) for each trunk with ``register: true`` and each site whose call servers register it."""
    found = []
    for trunk in model["voip_trunks"]:
        if trunk.get("register"):
            for site in model["voip_sites"]:
                if trunk in site_trunks(site, model["voip_sites"], model["voip_trunks"]):
                    found.append((trunk, site))
    return found


def reg_flags(podman_exec, server: str, trunk: str) -> dict[str, int]:
    """flags and expires of a trunk's registration record (the RPC's output also holds the password: never kept)."""
    out = podman_exec(server, "kamcmd", "uac.reg_info", "l_uuid", trunk, check=False).stdout
    return {
        key: int(m.group(1)) for key in ("flags", "expires") if (m := re.search(rf"\b{key}:\s*(\d+)", out))
    }


def test_a_registering_trunk_registers_with_its_credentials(
    model, estate, call_servers, listen, podman_exec, kamailio_setting, lab_topology
):
    pairs = registering(model)
    assert pairs, "the lab has a trunk with register: true"
    trunk, site = pairs[0]
    server = call_servers[site]
    server_address = estate.hosts[server]["ansible_host"]
    username, password = credentials(model, trunk)
    transport, port = trunk.get("transport", "udp"), int(trunk.get("port", 5060))
    carrier = next(host.name for host in lab_topology.hosts if host.address == trunk["address"])
    options = [*(TLS_FILES if transport == "tls" else []), "--register-realm", REALM]
    started = now()
    (registrar,) = listen((carrier, trunk["address"], port, options))
    # Register now, not at the next refresh: the record is loaded again from the database.
    refreshed = podman_exec(server, "kamcmd", "uac.reg_refresh", trunk["name"], check=False)
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    deadline = time.monotonic() + kamailio_setting("kamailio_trunk_register_interval") + 30
    flags = {}
    next_refresh = time.monotonic() + 10
    while time.monotonic() < deadline:
        flags = reg_flags(podman_exec, server, trunk["name"])
        if flags.get("flags", 0) & UAC_REG_ONLINE:
            break
        if time.monotonic() > next_refresh:
            # A full run once saw the first REGISTER's TLS connection refused although the
            # listener had said it was ready; the retry then waits longer than this test.
            # Ask again: what is checked is the REGISTER and its credentials, not retry timing.
            podman_exec(server, "kamcmd", "uac.reg_refresh", trunk["name"], check=False)
            next_refresh = time.monotonic() + 10
        time.sleep(1)
    registrar.stop()
    registers = [r for r in registrar.requests if r["method"] == "REGISTER"]
    assert flags.get("flags", 0) & UAC_REG_ONLINE, (
        f"{server} did not register {trunk['name']}: {registrar.seen()}"
    )

    def header(request: dict, name: str) -> list[str]:
        return [v for k, v in request["headers"] if k.lower() == name.lower()]

    challenged = [r for r in registers if not header(r, "Authorization")]
    answered = [r for r in registers if header(r, "Authorization")]
    assert challenged and answered, registrar.seen()
    for request in answered:
        (answer,) = header(request, "Authorization")
        problems = digest_problems(answer, "REGISTER", username, password, set(registrar.nonces))
        assert not problems, f"{problems}: {answer}"
    request = answered[-1]
    assert request["transport"] == transport and request["source"][0] == server_address, registrar.seen()
    assert request["uri"] == f"sip:{trunk['address']}", request["uri"]
    assert re.search(rf"<sip:{re.escape(username)}@{re.escape(trunk['address'])}>", header(request, "To")[0])
    # The carrier's inbound calls go to the call server over the trunk's transport; the user is the trunk's name.
    contact_port = kamailio_setting("kamailio_tls_port") if transport == "tls" else 5060
    suffix = f";transport={transport}" if transport != "udp" else ""
    assert header(request, "Contact") == [f"<sip:{trunk['name']}@{server_address}:{contact_port}{suffix}>"], (
        header(request, "Contact")
    )
    assert header(request, "Expires") == [str(kamailio_setting("kamailio_trunk_register_expires"))]
    assert password not in journal_since(podman_exec, server, started), "the trunk's password is in the log"


def test_a_trunk_without_register_never_registers(model, estate, call_servers, podman_exec):
    """Every other trunk account holds credentials only: registration disabled, no expiry."""
    registered = {(trunk["name"], site) for trunk, site in registering(model)}
    checked = 0
    for site, server in call_servers.items():
        for trunk in model["voip_trunks"]:
            record = reg_flags(podman_exec, server, trunk["name"])
            if not record or (trunk["name"], site) in registered:
                continue
            checked += 1
            assert record["flags"] & UAC_REG_DISABLED and not record["flags"] & UAC_REG_ONLINE, (
                server,
                trunk["name"],
            )
            assert record["expires"] == 0, (server, trunk["name"], record)
    assert checked, "no call server has an account of a trunk that does not register"
