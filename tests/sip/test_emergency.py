"""Emergency calls and PSTN routes, against the lab: every route the model offers, in order.

The routes come from the model through voipctl.derive.kamailio.pstn_routes,
the same function the call servers' dispatcher sets are built from: for an
emergency call the site's trunks, its gateways' PRI spans, then another
site's trunk that carries the site's numbers; for national and
international calls the trunks that allow the class of service, then the
PRI gateways. Each route is a lab host (the carriers, gw1) where
tools/sip_listener.py takes the calls: it records every INVITE and refuses
it (486, or the status a test asks for), so a call walks through every
route and the order is visible. A route without a listener is down (UDP:
no answer; TLS: connection refused).
"""

from __future__ import annotations

import itertools
import re
import subprocess
import time
from pathlib import Path

import pytest

from voipctl.adapters.hosts import gateways as model_gateways
from voipctl.derive.kamailio import pstn_routes

pytestmark = pytest.mark.lab

NATIONAL = "0201234567"
SCENARIOS = Path(__file__).with_name("scenarios")
TLS_FILES = ["--tls", "/etc/sip-tls/cert.pem", "/etc/sip-tls/key.pem"]
_PORTS = itertools.count(5940)


@pytest.fixture(scope="module")
def routes(estate):
    """site -> kind of call -> the routes (name, uri, kind) in the order the model gives."""
    hosts = estate.hosts
    gateways = model_gateways(hosts, {"gateways": estate.hosts_in("gateways")})
    model = hosts["cs1"]
    return {
        site: pstn_routes(site, model["voip_sites"], model["voip_trunks"], gateways)
        for site in model["voip_sites"]
    }


@pytest.fixture(scope="module")
def route_host(lab_topology):
    """A route's URI -> (lab host, address, port, listener options)."""
    by_address = {host.address: host.name for host in lab_topology.hosts}

    def where(uri: str) -> tuple[str, str, int, list[str]]:
        found = re.match(r"^sip:([0-9.]+):([0-9]+);transport=(udp|tcp|tls)$", uri)
        assert found, f"unexpected route URI {uri}"
        address, port, transport = found.group(1), int(found.group(2)), found.group(3)
        assert address in by_address, f"route {uri} is no lab host"
        return by_address[address], address, port, TLS_FILES if transport == "tls" else []

    return where


@pytest.fixture
def pstn(listen, route_host):
    """Listeners on the given routes (each refusing INVITEs with ``status``); returns them by route name."""

    def start(found: list[dict], status: int = 486) -> dict:
        specs = []
        for route in found:
            name, address, port, options = route_host(route["uri"])
            specs.append((name, address, port, [*options, "--invite-status", str(status)]))
        return dict(zip((r["name"] for r in found), listen(*specs), strict=True))

    return start


def caller_of(
    users, site: str, *, did: bool, cos: tuple[str, ...] = ("internal", "national", "international")
):
    for user in users.values():
        if (user.status == "active" and user.site == site and bool(user.model.get("did")) == did
                and user.model["class_of_service"] in cos):  # fmt: skip
            return user
    pytest.fail(f"the lab has no active user of {site} with did={did} and a class of service in {cos}")


def dial(sipraw, controller, caller, number: str, *, timeout: float = 12) -> dict:
    spec = {"method": "INVITE", "uri": f"sip:{number}@{caller.domain}", "user": caller.extension,
            "password": caller.password, "sdp": True, "timeout": timeout}  # fmt: skip
    return sipraw("controller", f"{controller}:{next(_PORTS)}", caller.server, [spec])[0]


def header(invite: dict, name: str) -> list[str]:
    return [v for k, v in invite["headers"] if k.lower() == name.lower()]


SITES = ["ams", "thr"]


@pytest.mark.parametrize("site", SITES)
def test_every_emergency_number_walks_every_route_in_order_with_callback_and_site(
    site, estate, users, routes, pstn, sipraw, controller
):
    """A caller without a DID and the lowest class of service: the site's main number calls back."""
    found = routes[site]["emergency"]
    assert len(found) >= 2, f"the lab gives site {site} two emergency routes at least: {found}"
    numbers = [str(n) for n in estate.hosts["cs1"]["voip_sites"][site]["emergency"]]
    main = estate.hosts["cs1"]["voip_sites"][site]["main_number"]
    caller = caller_of(users, site, did=False, cos=("internal", "national"))
    listeners = pstn(found)
    finals = [dial(sipraw, controller, caller, number)["final"] for number in numbers]
    seen = {name: listener.invites() for name, listener in listeners.items()}
    for number in numbers:
        # Every route got the call once (each refused it), in the model's order.
        firsts = []
        for route in found:
            invites = [i for i in seen[route["name"]] if i["uri"].startswith(f"sip:{number}@")]
            assert len(invites) == 1, (
                f"{number} at {route['name']}: {[i['uri'] for i in seen[route['name']]]}"
            )
            invite = invites[0]
            assert header(invite, "P-Asserted-Identity") == [f"<sip:{main}@{caller.domain}>"], invite["raw"]
            assert header(invite, "X-Caller-Site") == [site], invite["raw"]
            firsts.append(invite["clock"])
        assert firsts == sorted(firsts), f"{number}: the routes were not tried in the model's order"
    assert finals == [486] * len(numbers), finals


@pytest.mark.parametrize("site", SITES)
def test_emergency_calls_go_on_when_the_sites_trunk_is_down(
    site, estate, users, routes, pstn, sipraw, controller
):
    found = routes[site]["emergency"]
    assert found[0]["kind"] == "trunk", found
    number = str(estate.hosts["cs1"]["voip_sites"][site]["emergency"][0])
    caller = caller_of(users, site, did=True)
    # The first route (the site's trunk) has nobody listening: down.
    listeners = pstn(found[1:])
    result = dial(sipraw, controller, caller, number, timeout=20)
    nxt = listeners[found[1]["name"]].invites()
    assert [i["uri"].split("@")[0] for i in nxt] == [f"sip:{number}"], f"{found[1]['name']} saw {nxt}"
    assert header(nxt[0], "P-Asserted-Identity") == [f"<sip:{caller.model['did']}@{caller.domain}>"]
    assert result["final"] == 486, result["responses"]


def test_a_drain_and_a_ban_never_stop_an_emergency_call(
    estate, users, routes, pstn, sipraw, controller, podman_exec, call_servers, forget_bans
):
    server = call_servers["ams"]
    caller = caller_of(users, "ams", did=True, cos=("national", "international"))
    number = str(estate.hosts["cs1"]["voip_sites"]["ams"]["emergency"][0])
    listeners = pstn(routes["ams"]["emergency"])
    podman_exec(server, "kamcmd", "htable.seti", "maint", "drain", "1")
    podman_exec(server, "kamcmd", "htable.seti", "ipban", controller, "1")
    try:
        national = dial(sipraw, controller, caller, NATIONAL, timeout=3)
        emergency = dial(sipraw, controller, caller, number)
    finally:
        podman_exec(server, "kamcmd", "htable.delete", "maint", "drain", check=False)
        forget_bans(server, controller)
    # The banned source gets no answer for anything else ...
    assert national["final"] is None and not national["responses"], national["responses"]
    # ... but its emergency call is authenticated and goes out.
    invites = listeners[routes["ams"]["emergency"][0]["name"]].invites()
    assert [i["uri"].split("@")[0] for i in invites] == [f"sip:{number}"], invites
    assert emergency["final"] == 486, [r["status"] for r in emergency["responses"]]


def test_a_national_call_fails_over_from_a_failing_trunk_to_the_gateway(
    estate, users, routes, pstn, sipraw, controller
):
    found = routes["ams"]["national"]
    assert [r["kind"] for r in found] == ["trunk", "gateway"], found
    caller = caller_of(users, "ams", did=True, cos=("national", "international"))
    trunk = pstn(found[:1], status=503)[found[0]["name"]]
    gateway = pstn(found[1:])[found[1]["name"]]
    result = dial(sipraw, controller, caller, NATIONAL)
    at_trunk, at_gateway = trunk.invites(), gateway.invites()
    assert len(at_trunk) == 1 and len(at_gateway) == 1, (trunk.seen(), gateway.seen())
    assert at_trunk[0]["clock"] <= at_gateway[0]["clock"]
    assert header(at_gateway[0], "P-Asserted-Identity") == [f"<sip:{caller.model['did']}@{caller.domain}>"]
    # The trunk gets the number as dialled, the gateway in E.164 (its PRI dial-peers match +T).
    code = estate.hosts["cs1"]["voip_sites"][caller.site]["country_code"]
    assert at_trunk[0]["uri"].startswith(f"sip:{NATIONAL}@")
    assert at_gateway[0]["uri"].startswith(f"sip:+{code}{NATIONAL[1:]}@"), at_gateway[0]["uri"]
    assert result["final"] == 486, result["responses"]


def test_a_national_call_fails_over_when_the_trunk_is_down(estate, users, routes, pstn, sipraw, controller):
    found = routes["ams"]["national"]
    caller = caller_of(users, "ams", did=True, cos=("national", "international"))
    code = estate.hosts["cs1"]["voip_sites"]["ams"]["country_code"]
    gateway = pstn(found[1:])[found[1]["name"]]
    result = dial(sipraw, controller, caller, NATIONAL, timeout=20)
    assert [i["uri"].split("@")[0] for i in gateway.invites()] == [f"sip:+{code}{NATIONAL[1:]}"], (
        gateway.seen()
    )
    assert result["final"] == 486, result["responses"]


def test_a_refusal_by_the_carrier_is_not_failed_over(users, routes, pstn, sipraw, controller):
    """The far end refused the call (busy): trying the gateway would only call the busy number again."""
    found = routes["ams"]["national"]
    caller = caller_of(users, "ams", did=True, cos=("national", "international"))
    listeners = pstn(found)
    result = dial(sipraw, controller, caller, NATIONAL)
    assert len(listeners[found[0]["name"]].invites()) == 1
    assert listeners[found[1]["name"]].invites() == [], listeners[found[1]["name"]].seen()
    assert result["final"] == 486, result["responses"]


def test_a_full_trunk_refuses_the_next_call_but_never_an_emergency_call(
    estate, users, routes, pstn, sipraw, controller, podman_exec, call_servers, forget_bans, tmp_path
):
    """``channels`` calls ring on a trunk at once (SIPp holds them); the next national call is refused
    with 503 when no other route remains, an emergency call still goes out."""
    site = next(
        s for s in SITES if len(routes[s]["national"]) == 1 and routes[s]["national"][0]["kind"] == "trunk"
    )
    name = routes[site]["national"][0]["name"]
    trunk = next(t for t in estate.hosts["cs1"]["voip_trunks"] if t["name"] == name)
    channels = trunk["channels"]
    caller = caller_of(users, site, did=True, cos=("national", "international"))
    carrier = pstn(routes[site]["national"], status=180)[name]
    fields = tmp_path / "hold.csv"
    fields.write_text(
        f"SEQUENTIAL\n{caller.extension};{caller.auth()};{caller.domain};{NATIONAL};{caller.domain};\n"
    )
    port = next(_PORTS) + 100
    hold = subprocess.Popen(
        ["sipp", f"{caller.server}:5060", "-sf", str(SCENARIOS / "hold.xml"), "-inf", str(fields), "-i", controller,
         "-p", str(port), "-m", str(channels), "-l", str(channels), "-r", "2", "-timeout", "60s", "-nostdin",
         "-trace_logs", "-log_file", str(tmp_path / "hold.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    server = call_servers[site]
    try:
        # Two calls a second (three requests each): below the flood limit.
        deadline = time.monotonic() + channels / 2 + 6
        used = 0
        while time.monotonic() < deadline and used < channels:
            out = podman_exec(server, "kamcmd", "dlg.profile_get_size", "trunk", name, check=False).stdout
            used = int(re.search(r"(\d+)", out).group(1)) if re.search(r"(\d+)", out) else 0
            time.sleep(0.3)
        assert used == channels, f"{used} calls on {name}: {out}"
        refused = dial(sipraw, controller, caller, NATIONAL, timeout=5)
        number = str(estate.hosts["cs1"]["voip_sites"][site]["emergency"][0])
        dial(sipraw, controller, caller, number, timeout=2)
    finally:
        _, err = hold.communicate(timeout=60)
        forget_bans(server, controller)
    invites = carrier.invites()
    assert refused["final"] == 503, [r["status"] for r in refused["responses"]]
    assert len([i for i in invites if i["uri"].startswith(f"sip:{NATIONAL}@")]) == channels
    assert len([i for i in invites if i["uri"].startswith(f"sip:{number}@")]) == 1, (
        "the emergency call went out"
    )
    assert hold.returncode == 0, (tmp_path / "hold.log").read_text()[-2000:] + err


def test_a_caller_cannot_forge_the_callback_number_or_the_site(
    estate, users, routes, pstn, sipraw, controller
):
    """The old code appended its own headers after the caller's: a PSAP reading the first saw the forgery."""
    found = routes["ams"]["emergency"]
    caller = caller_of(users, "ams", did=True)
    number = str(estate.hosts["cs1"]["voip_sites"]["ams"]["emergency"][0])
    listeners = pstn(found)
    spec = {"method": "INVITE", "uri": f"sip:{number}@{caller.domain}", "user": caller.extension,
            "password": caller.password, "sdp": True, "timeout": 12,
            "headers": ["X-Caller-Site: thr", "x-caller-site: nowhere", "P-Asserted-Identity: <sip:+15550100@evil>"]}  # fmt: skip
    sipraw("controller", f"{controller}:{next(_PORTS)}", caller.server, [spec])
    invite = listeners[found[0]["name"]].invites()[0]
    assert header(invite, "X-Caller-Site") == ["ams"], invite["raw"]
    assert header(invite, "P-Asserted-Identity") == [f"<sip:{caller.model['did']}@{caller.domain}>"], invite[
        "raw"
    ]


def test_an_analog_port_of_the_gateway_reaches_emergency_with_the_sites_main_number(
    estate, routes, pstn, sipraw, lab_topology, call_servers
):
    """A door or lift phone on gw1's FXS port dials 112: the gateway sends it to its call server."""
    gateway = estate.hosts["gw1"]
    site = gateway["voip_site"]
    number = str(estate.hosts["cs1"]["voip_sites"][site]["emergency"][0])
    main = estate.hosts["cs1"]["voip_sites"][site]["main_number"]
    server = estate.hosts[call_servers[site]]
    fxs = gateway["voip_gateway"]["fxs_ports"][0]
    found = routes[site]["emergency"]
    listeners = pstn([r for r in found if r["kind"] == "trunk"])
    domain = server["voip_call_server"]["sip_domain"]
    spec = {"method": "INVITE", "uri": f"sip:{number}@{domain}", "from": f"<sip:{fxs['extension']}@{gateway['ansible_host']}>;tag=fxs1",
            "sdp": True, "timeout": 12}  # fmt: skip
    # From the gateway's own address and SIP port: a trusted peer, no digest.
    sipraw("gw1", f"{gateway['ansible_host']}:5060", server["ansible_host"], [spec])
    invite = listeners[found[0]["name"]].invites()[0]
    assert invite["uri"].startswith(f"sip:{number}@"), invite["raw"]
    assert header(invite, "P-Asserted-Identity") == [f"<sip:{main}@{domain}>"], invite["raw"]
    assert header(invite, "X-Caller-Site") == [site], invite["raw"]
