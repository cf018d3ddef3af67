"""An attacker's view of the ams call server: toll fraud, open relay, caller id spoofing,
digest replay and address-only trust.

Every attack is sent with ``tools/sipraw.py`` (crafted requests, answering a digest
challenge when given credentials) from the controller or a lab peer, and every place
the money could go is watched: ``tools/sip_listener.py`` on the carrier (the PSTN trunk,
UDP and TCP 5060), on the gateway gw1 (its simulator holds no SIP port) or on the
attacker's own address, and the request counters of the other call server cs2 (with a
packet sniffer on the controller where the counters are not enough). Each
test states what those saw: nothing, apart from the calls it makes on purpose.
"""

from __future__ import annotations

import datetime
import itertools
import re
import secrets
import subprocess

import pytest
from sniff import Sniffer

pytestmark = pytest.mark.lab

# A premium-rate number abroad: what a fraudster dials through the carrier.
PREMIUM = "00900123"
INTERNATIONAL = "0044207946000"
# The caller id an attacker would like the carrier to show.
SPOOFED = "+18005550199"
# Controller ports of this module's requests and listeners (the SIPp fixtures use 5100 up).
_PORTS = itertools.count(5700)
REFUSED_IN_DIALOG = (403, 404, 481)


# --- The lab: addresses, users, tools ---------------------------------------------------------


@pytest.fixture(scope="module")
def addr(lab_topology, estate, controller) -> dict[str, str]:
    found = {name: lab_topology.host(name).address for name in ("carrier", "outsider", "guest")}
    found.update({name: estate.hosts[name]["ansible_host"] for name in ("cs1", "cs2", "gw1")})
    found["controller"] = controller
    return found


def _active(users, site: str, **want):
    return [u for u in users.values() if u.status == "active" and u.site == site
            and all(u.model.get(k) == v for k, v in want.items())]  # fmt: skip


@pytest.fixture(scope="module")
def victim(users):
    """An ams user who may dial nothing outside (class of service internal): the fraudster's account."""
    found = _active(users, "ams", class_of_service="internal")
    assert found, "the lab directory has an active ams user with class of service internal"
    return found[0]


@pytest.fixture(scope="module")
def other_user(users, victim):
    """Another ams user (no do-not-disturb) who calls the victim's extension."""
    return next(
        u for u in _active(users, "ams") if u != victim and not (u.model.get("features") or {}).get("dnd")
    )


@pytest.fixture(scope="module")
def international_caller(users):
    """An ams user with a DID who may call abroad: class international or a current grant."""
    today = datetime.date.today()

    def allowed(u) -> bool:
        grants = [g for g in u.model.get("grants") or [] if g.get("feature") == "international"]
        return u.model.get("class_of_service") == "international" or any(
            datetime.date.fromisoformat(str(g["until"])) >= today for g in grants
        )

    found = [u for u in _active(users, "ams") if u.model.get("did") and allowed(u)]
    assert found, "the lab directory has an ams user with a DID allowed to call abroad"
    return found[0]


@pytest.fixture(scope="module")
def did_user(users):
    """An ams user with a DID, no forwarding and no do-not-disturb: a carrier call rings the phone."""
    found = [u for u in _active(users, "ams") if u.model.get("did")
             and not (u.model.get("features") or {}).get("dnd")
             and not (u.model.get("features") or {}).get("call_forward")]  # fmt: skip
    assert found, "the lab directory has an ams user with a DID and no forwarding"
    return found[0]


@pytest.fixture(scope="module")
def unban(addr, call_servers, lab_topology):
    """Forget bans and counted authentication failures of this module's sources (one exec per server)."""
    sources = " ".join(addr[name] for name in ("controller", "outsider", "guest", "carrier"))
    script = f"for s in {sources}; do for t in ipban authfail; do kamcmd htable.delete $t $s; done; done"

    def run():
        execs = [subprocess.Popen(["podman", "exec", lab_topology.host(server).container(lab_topology.prefix),
                                   "sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for server in call_servers.values()]  # fmt: skip
        for proc in execs:
            proc.wait(timeout=30)

    yield run
    run()


@pytest.fixture(autouse=True)
def unbanned(unban):
    """No ban of this module's sources when a test starts (nor when the module ends)."""
    unban()


@pytest.fixture
def bindings(call_servers, podman_exec):
    """The registered contacts of an extension on its call server; every extension looked at is cleared after."""
    seen = set()

    def contacts(user) -> list[str]:
        seen.add(user)
        out = podman_exec(call_servers[user.site], "kamcmd", "ul.lookup", "location", f"s:{user.extension}",
                          check=False)  # fmt: skip
        return re.findall(r"Address:\s*(\S+)", out.stdout)

    def clear(user) -> None:
        podman_exec(
            call_servers[user.site], "kamcmd", "ul.rm", "location", f"s:{user.extension}", check=False
        )

    contacts.clear = clear
    yield contacts
    for user in seen:
        clear(user)


@pytest.fixture
def cs2_requests(call_servers, podman_exec):
    """How many requests of a method the other call server (cs2) has received so far."""

    def count(method: str) -> int:
        stat = f"rcv_requests_{method.lower()}"
        out = podman_exec(call_servers["thr"], "kamcmd", "stats.get_statistics", stat, check=False).stdout
        found = re.search(rf"{stat}\s*=\s*(\d+)", out)
        assert found, f"no {stat} on cs2: {out}"
        return int(found.group(1))

    return count


def register_spec(user, contacts, *, expires: int = 60, **extra) -> dict:
    return {"method": "REGISTER", "uri": f"sip:{user.domain}", "user": user.extension, "password": user.password,
            "from": f"<sip:{user.extension}@{user.domain}>", "to": f"<sip:{user.extension}@{user.domain}>",
            "contact": contacts, "expires": expires, "timeout": 2, **extra}  # fmt: skip


def call_spec(caller, number: str, **extra) -> dict:
    """An authenticated INVITE (with SDP) from ``caller``, abandoned (CANCEL) after a short wait."""
    return {"method": "INVITE", "uri": f"sip:{number}@{caller.domain}", "user": caller.extension,
            "password": caller.password, "sdp": True, "timeout": 1.5, **extra}  # fmt: skip


def statuses(result: dict) -> str:
    return ", ".join(f"{r['status']} {r['reason']}" for r in result["responses"]) or "no answer"


def headers_named(request: dict, name: str) -> list[str]:
    return [v for k, v in request["headers"] if k.lower() == name.lower()]


# --- 1. Toll fraud through the registered Contact ---------------------------------------------

# Contacts an internal-only user registers to make the call server dial abroad for them.
# {carrier} {gw1} {cs2} {controller} {port} {ext} are filled in.
FOREIGN_CONTACTS = {
    "carrier": ["<sip:{premium}@{carrier}>"],
    "carrier-bare-uri": ["sip:{premium}@{carrier}"],
    "carrier-port": ["<sip:{premium}@{carrier}:5060>"],
    "carrier-udp": ["<sip:{premium}@{carrier}:5060;transport=udp>"],
    "carrier-tcp": ["<sip:{premium}@{carrier}:5060;transport=tcp>"],
    "maddr-carrier": ["<sip:{premium}@{controller}:{port};maddr={carrier}>"],
    "gateway": ["<sip:{premium}@{gw1}:5060>"],
    "other-call-server": ["<sip:{premium}@{cs2}:5060>"],
    "two-contacts-one-header": ["<sip:{ext}@{controller}:{port}>, <sip:{premium}@{carrier}>"],
    "two-contact-headers": ["<sip:{ext}@{controller}:{port}>", "<sip:{premium}@{carrier}>"],
}


@pytest.mark.parametrize("variant", list(FOREIGN_CONTACTS))
def test_register_with_a_foreign_contact_is_refused_and_calls_go_nowhere(
    variant, addr, victim, other_user, sipraw, listen, bindings, cs2_requests
):
    port = next(_PORTS)
    contacts = [c.format(premium=PREMIUM, port=port, ext=victim.extension, **addr)
                for c in FOREIGN_CONTACTS[variant]]  # fmt: skip
    bindings.clear(victim)
    carrier, gateway = listen(("carrier", addr["carrier"], 5060), ("gw1", addr["gw1"], 5060))
    invites_before = cs2_requests("invite")
    try:
        (reg,) = sipraw("controller", f"{addr['controller']}:{port}", addr["cs1"],
                        [register_spec(victim, contacts)])  # fmt: skip
        stored = bindings(victim)
        # The money path: another user calls the victim's extension.
        (call,) = sipraw("controller", f"{addr['controller']}:0", addr["cs1"],
                         [call_spec(other_user, victim.extension)])  # fmt: skip
        to_cs2 = cs2_requests("invite") - invites_before
    finally:
        bindings.clear(victim)
    problems = []
    if carrier.stop():
        problems.append(f"the carrier received {carrier.seen()}")
    if gateway.stop():
        problems.append(f"the gateway received {gateway.seen()}")
    if to_cs2:
        problems.append(f"cs2 received {to_cs2} INVITE(s)")
    if reg["final"] != 403:
        problems.append(f"REGISTER of {contacts} was answered {statuses(reg)}, not 403")
    if stored:
        problems.append(f"the binding was stored: {stored}")
    assert not problems, f"{variant}: " + "; ".join(problems) + f" (the call got {statuses(call)})"


def test_register_from_outside_the_voice_networks_is_refused(
    addr, victim, other_user, sipraw, listen, bindings
):
    """The guest network (no site's voice subnet) registers a user with its own, honest Contact."""
    port = 5070
    bindings.clear(victim)
    carrier, *_ = listen(("carrier", addr["carrier"], 5060))
    try:
        contact = f"<sip:{victim.extension}@{addr['guest']}:{port}>"
        (reg,) = sipraw("guest", f"{addr['guest']}:{port}", addr["cs1"], [register_spec(victim, contact)])
        stored = bindings(victim)
        (guest,) = listen(("guest", addr["guest"], port))
        (call,) = sipraw("controller", f"{addr['controller']}:0", addr["cs1"],
                         [call_spec(other_user, victim.extension)])  # fmt: skip
    finally:
        bindings.clear(victim)
    problems = []
    if guest.stop():
        problems.append(f"the guest's phone received {guest.seen()}")
    if carrier.stop():
        problems.append(f"the carrier received {carrier.seen()}")
    if reg["final"] != 403:
        problems.append(f"REGISTER from {addr['guest']} was answered {statuses(reg)}, not 403")
    if stored:
        problems.append(f"the binding was stored: {stored}")
    assert not problems, "; ".join(problems) + f" (the call got {statuses(call)})"


def test_register_with_the_source_as_contact_still_works(addr, victim, other_user, sipraw, listen, bindings):
    """Positive control: Contact host and port are the source's; the call reaches that phone."""
    port = next(_PORTS)
    contact = f"<sip:{victim.extension}@{addr['controller']}:{port}>"
    bindings.clear(victim)
    carrier, *_ = listen(("carrier", addr["carrier"], 5060))
    try:
        (reg,) = sipraw(
            "controller", f"{addr['controller']}:{port}", addr["cs1"], [register_spec(victim, contact)]
        )
        stored = bindings(victim)
        (phone,) = listen(("controller", addr["controller"], port))
        (call,) = sipraw("controller", f"{addr['controller']}:0", addr["cs1"],
                         [call_spec(other_user, victim.extension)])  # fmt: skip
    finally:
        bindings.clear(victim)
    assert reg["final"] == 200, statuses(reg)
    assert stored == [f"sip:{victim.extension}@{addr['controller']}:{port}"], stored
    assert [i["uri"] for i in phone.invites()] == [f"sip:{victim.extension}@{addr['controller']}:{port}"], (
        phone.seen() + f" (the call got {statuses(call)})"
    )
    assert not carrier.stop(), carrier.seen()


# --- 2. Unauthenticated in-dialog relay -------------------------------------------------------

ROUTES = {
    "own-route": ["<sip:{cs1};lr>"],
    "foreign-route": ["<sip:{target};lr>"],
    "own-then-foreign-route": ["<sip:{cs1};lr>", "<sip:{target};lr>"],
    "no-route": [],
}


@pytest.mark.parametrize("method", ["INVITE", "BYE", "MESSAGE", "OPTIONS"])
@pytest.mark.parametrize("target", ["carrier", "gw1", "cs2"])
def test_made_up_dialog_is_not_relayed(target, method, addr, sipraw, listen, cs2_requests):
    """The outsider, with no credentials, sends requests in a dialog that does not exist.

    What reaches cs2 is seen twice: its request counter (every transport) and the
    sniffer (every packet to cs2 holding this test's To-tags, which a proxy forwards
    unchanged). OPTIONS is judged by the sniffer alone: the other call servers'
    dispatcher probes (OPTIONS every few seconds) raise cs2's counter too.
    """
    watched = [] if target == "cs2" else listen((target, addr[target], 5060))
    before = cs2_requests(method)
    marker = secrets.token_hex(6)
    specs = []
    for n, (name, routes) in enumerate(ROUTES.items()):
        spec = {"name": name, "method": method, "uri": f"sip:{PREMIUM}@{addr[target]}",
                "from": f"<sip:{PREMIUM}@{addr['outsider']}>", "to_tag": f"{marker}{n}", "contact": None,
                "headers": [f"Route: {r.format(target=addr[target], cs1=addr['cs1'])}" for r in routes],
                "timeout": 1.5}  # fmt: skip
        if method == "MESSAGE":
            spec.update(body="free call please", content_type="text/plain")
        specs.append(spec)
    with Sniffer(marker.encode(), seconds=60) as sniffer:
        results = sipraw("outsider", f"{addr['outsider']}:5070", addr["cs1"], specs)
    to_cs2 = cs2_requests(method) - before
    problems = [f"{r['name']}: {statuses(r)}" for r in results if r["final"] not in REFUSED_IN_DIALOG]
    if watched and watched[0].stop():
        problems.append(f"{target} received {watched[0].seen()}")
    if target == "cs2" and to_cs2 and method != "OPTIONS":
        problems.append(f"cs2's counter shows {to_cs2} {method}(s) received")
    if sniffer.to(addr["cs2"]):
        problems.append(f"cs2 received {sniffer.to(addr['cs2'])}")
    assert not problems, f"{method} to {target}: " + "; ".join(problems)
    # The sniffer works: it saw the outsider's requests reach cs1.
    assert sniffer.to(addr["cs1"]), "the sniffer saw none of the outsider's requests"


# --- 3. Caller id spoofing --------------------------------------------------------------------

IDENTITY_HEADERS = ("Remote-Party-ID", "P-Preferred-Identity", "P-Asserted-Identity", "Diversion",
                    "History-Info", "P-Charge-Info")  # fmt: skip


def _spoof(name: str, sep: str = ": ") -> str:
    value = f"<sip:{SPOOFED}@{{domain}}>"
    extra = {"remote-party-id": ";party=calling;screen=yes;privacy=off", "diversion": ";reason=unconditional",
             "history-info": ";index=1"}.get(name.lower(), "")  # fmt: skip
    return f"{name}{sep}{value}{extra}"


SPOOFS = {
    "canonical": [_spoof(h) for h in IDENTITY_HEADERS],
    "lower-case": [_spoof(h.lower()) for h in IDENTITY_HEADERS],
    "upper-case": [_spoof(h.upper()) for h in IDENTITY_HEADERS],
    "odd-spacing": [_spoof(h, " :") for h in IDENTITY_HEADERS[:3]]
    + [_spoof(h, ":") for h in IDENTITY_HEADERS[3:]],
    "repeated-and-listed": [
        *(_spoof(h) for h in IDENTITY_HEADERS),
        *(_spoof(h) + f", <sip:{SPOOFED}@{{domain}}>" for h in IDENTITY_HEADERS),
        f'P-Asserted-Identity: "Bank" <tel:{SPOOFED}>',
    ],
}


@pytest.mark.parametrize("variant", list(SPOOFS))
def test_user_set_identity_headers_never_reach_the_carrier(
    variant, addr, international_caller, sipraw, listen
):
    caller = international_caller
    (carrier,) = listen(("carrier", addr["carrier"], 5060))
    headers = [h.format(domain=caller.domain) for h in SPOOFS[variant]]
    (call,) = sipraw("controller", f"{addr['controller']}:0", addr["cs1"],
                     [call_spec(caller, INTERNATIONAL, headers=headers, timeout=3)])  # fmt: skip
    invites = [i for i in carrier.invites() if call["call_id"] in "".join(headers_named(i, "Call-ID"))]
    assert len(invites) == 1, f"the call did not reach the carrier once: {statuses(call)}; {carrier.seen()}"
    invite = invites[0]
    names = {k.lower() for k, _ in invite["headers"]}
    leaked = sorted(names & {h.lower() for h in IDENTITY_HEADERS if h != "P-Asserted-Identity"})
    pai = [v for k, v in invite["headers"] if k.lower() == "p-asserted-identity"]
    problems = []
    if leaked:
        problems.append(f"user-set headers reached the carrier: {leaked}")
    if pai != [f"<sip:{caller.model['did']}@{caller.domain}>"]:
        problems.append(f"P-Asserted-Identity at the carrier is {pai}")
    if SPOOFED in invite["raw"]:
        problems.append(f"the spoofed number {SPOOFED} is in the INVITE")
    assert not problems, f"{variant}: " + "; ".join(problems) + "\n" + invite["raw"]


# --- 4. Digest replay -------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["same-number", "other-number", "from-outsider"])
def test_replayed_proxy_authorization_is_not_accepted(variant, addr, international_caller, sipraw, listen):
    caller = international_caller
    (carrier,) = listen(("carrier", addr["carrier"], 5060))
    (original,) = sipraw("controller", f"{addr['controller']}:0", addr["cs1"],
                         [call_spec(caller, INTERNATIONAL, timeout=3)])  # fmt: skip
    captured = original["authorization"]
    assert captured and original["final"] == 486, f"the original call: {statuses(original)}"
    number = INTERNATIONAL if variant != "other-number" else INTERNATIONAL[:-1] + "1"
    source = "outsider" if variant == "from-outsider" else "controller"
    replay = {"method": "INVITE", "uri": f"sip:{number}@{caller.domain}", "sdp": True, "timeout": 2,
              "from": f"<sip:{caller.extension}@{caller.domain}>", "headers": [captured]}  # fmt: skip
    (again,) = sipraw(source, f"{addr[source]}:0", addr["cs1"], [replay])
    relayed = sorted({headers_named(i, "Call-ID")[0] for i in carrier.invites()})
    problems = []
    if again["final"] not in (403, 407):
        problems.append(f"the replay was answered {statuses(again)}, not 407 or 403")
    if relayed != [original["call_id"]]:
        problems.append(f"the carrier received INVITEs of calls {relayed}, not just {original['call_id']}")
    assert not problems, f"{variant}: " + "; ".join(problems) + f"\nreplayed {captured}"


@pytest.mark.parametrize("method", ["INVITE", "REGISTER"])
def test_challenge_offers_qop_auth(method, addr, international_caller, sipraw):
    """With qop=auth the client counts its uses of a nonce (nc): a replayed count is refused."""
    caller = international_caller
    spec = (call_spec(caller, INTERNATIONAL) if method == "INVITE"
            else register_spec(caller, f"<sip:{caller.extension}@{addr['controller']}:5999>"))  # fmt: skip
    # The challenge only.
    del spec["user"]
    del spec["password"]
    (result,) = sipraw("controller", f"{addr['controller']}:0", addr["cs1"], [spec])
    name = "Proxy-Authenticate" if method == "INVITE" else "WWW-Authenticate"
    challenges = [v for r in result["responses"] for k, v in r["headers"] if k.lower() == name.lower()]
    assert challenges, f"no {name}: {statuses(result)}"
    assert all(re.search(r'\bqop="?[^",]*\bauth\b', c) for c in challenges), challenges


# --- 5. Trusted peers pinned by address, port and transport -----------------------------------

CARRIER_SOURCES = {"udp-port-5099": ("udp", 5099), "tcp": ("tcp", 0)}


def _carrier_call(addr, did_user, sipraw, listen, bindings, transport: str, source_port: int):
    """Register the DID user's phone on the controller; the carrier's address calls the DID.

    The phone declines (603): a busy phone (486) would send the call on to the
    user's voicemail, a lab peer with nothing listening, and the call server
    would answer the carrier's CANCEL of that branch only when its timer fires
    (fr_timer, 30 s). Its 487 then reached whatever listened on the carrier's
    port 5060 next (a later test's SIPp, which aborted on it).
    """
    port = next(_PORTS)
    user = did_user
    bindings.clear(user)
    try:
        (reg,) = sipraw("controller", f"{addr['controller']}:{port}", addr["cs1"],
                        [register_spec(user, f"<sip:{user.extension}@{addr['controller']}:{port}>")])  # fmt: skip
        assert reg["final"] == 200, f"the phone's REGISTER: {statuses(reg)}"
        (phone,) = listen(("controller", addr["controller"], port, ("--invite-status", "603")))
        invite = {"method": "INVITE", "uri": f"sip:{user.model['did']}@{addr['cs1']}", "sdp": True, "timeout": 2,
                  "from": f"<sip:+31612345678@{addr['carrier']}>", "contact": f"<sip:+31612345678@{addr['carrier']}>"}  # fmt: skip
        (call,) = sipraw(
            "carrier", f"{addr['carrier']}:{source_port}", addr["cs1"], [invite], transport=transport
        )
    finally:
        bindings.clear(user)
    return call, phone


@pytest.mark.parametrize("variant", list(CARRIER_SOURCES))
def test_carrier_address_from_another_port_or_transport_is_not_trusted(
    variant, addr, did_user, sipraw, listen, bindings, podman_exec
):
    transport, source_port = CARRIER_SOURCES[variant]
    call, phone = _carrier_call(addr, did_user, sipraw, listen, bindings, transport, source_port)
    problems = []
    if phone.invites():
        problems.append(f"the phone rang: {phone.seen()}")
    if call["final"] != 407:
        problems.append(f"the INVITE was answered {statuses(call)}, not 407")
    assert not problems, f"{variant}: " + "; ".join(problems)


def test_carrier_from_its_trunk_port_still_reaches_the_user(
    addr, did_user, sipraw, listen, bindings, podman_exec
):
    """Positive control: UDP from 10.231.0.61:5060, the trunk as configured, is trusted."""
    held = podman_exec("carrier", "ss", "-Hlnu", "sport = :5060", check=False).stdout.strip()
    assert not held, f"something already holds udp 5060 on the carrier: {held}"
    call, phone = _carrier_call(addr, did_user, sipraw, listen, bindings, "udp", 5060)
    assert [i["uri"].split("@")[0] for i in phone.invites()] == [f"sip:{did_user.extension}"], (
        f"{phone.seen()} (the carrier's INVITE got {statuses(call)})"
    )
    # The phone's answer came back: the transaction ended, nothing is left to
    # reach the carrier's port later.
    assert call["final"] == 603, statuses(call)


# --- 6. What a scanner learns from a keepalive ---------------------------------------------------


@pytest.mark.parametrize("source", ["outsider", "guest"])
def test_a_keepalive_tells_a_stranger_no_software_version(source, addr, sipraw):
    """OPTIONS to the server itself: a stranger gets 200 without the routing library's version;
    the controller (health checks, release gates) still gets it."""
    spec = {"method": "OPTIONS", "uri": f"sip:{addr['cs1']}", "contact": None, "timeout": 2}
    (stranger,) = sipraw(source, f"{addr[source]}:5999", addr["cs1"], [spec])
    (controller,) = sipraw("controller", f"{addr['controller']}:0", addr["cs1"], [spec])
    for result in (stranger, controller):
        assert result["final"] == 200, statuses(result)
    assert not [v for r in stranger["responses"] for k, v in r["headers"] if k.lower() == "x-voip-routing"], (
        stranger["responses"][-1]["raw"]
    )
    assert [v for r in controller["responses"] for k, v in r["headers"] if k.lower() == "x-voip-routing"], (
        controller["responses"][-1]["raw"]
    )
