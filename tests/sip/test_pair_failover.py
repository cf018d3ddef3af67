"""Kill one member of the Amsterdam pair (#27): the site goes on with the other.

With every active Amsterdam user registered through the primary (cs1), as
the phones' files say, cs1's container is killed. Then:
- every one of those users is in the survivor's (cs3's) location table,
  without registering again;
- a call between two of them through the survivor, a call from the other
  site (Tehran's cs2, whose dispatcher set holds both members) and a call
  to the carrier through the survivor are answered, each within
  ``BOUND_SECONDS`` of the kill (the time each took is printed);
- once cs1 runs again it has every registration back (DMQ's sync from the
  survivor) and takes calls.

And under SIPp load (calls at a steady rate through the survivor and from the
other site, phones calling and registering as their files say), the kill costs
no call or registration started ``BOUND_SECONDS`` after it, and no call through
the survivor at all.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from types import SimpleNamespace

import pytest
from location import contacts, wait_for
from pair_load import call_fields, load_calls

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import SipError, options_ping

pytestmark = pytest.mark.lab

# New calls must succeed within this many seconds of the kill (issue #27).
BOUND_SECONDS = 5.0
NATIONAL = "0201234567"


def answers_options(address: str) -> bool:
    """Whether the call server answers an OPTIONS with 200 within a second (no answer is False, not an error)."""
    try:
        return options_ping(address, timeout=1.0)["status"] == 200
    except SipError:
        return False


@pytest.fixture
def killed_primary(site_servers, estate, lab_topology, podman_exec):
    """Kill the pair's first member; start it again afterwards and wait until it answers SIP."""
    first, second = next(names for names in site_servers.values() if len(names) > 1)[:2]
    container = lab_topology.host(first).container(lab_topology.prefix)
    address = estate.hosts[first]["ansible_host"]
    state = {"first": first, "second": second, "address": address, "container": container}

    def kill() -> float:
        subprocess.run(["podman", "kill", container], capture_output=True, check=True)
        state["killed_at"] = time.monotonic()
        return state["killed_at"]

    def start() -> None:
        subprocess.run(["podman", "start", container], capture_output=True, check=False)
        assert wait_for(
            lambda: (
                podman_exec(first, "systemctl", "is-active", "kamailio", check=False).stdout.strip()
                == "active"
            ),
            120,
        ), f"kamailio did not come back on {first}"
        assert wait_for(lambda: answers_options(address), 30), f"{first} answers no OPTIONS"

    state["kill"], state["start"] = kill, start
    yield state
    start()


@pytest.fixture
def parties(killed_primary, users, estate) -> SimpleNamespace:
    """Who takes part: the pair's members (the one to kill first), the survivor's address, the
    site's active users who answer calls (caller and callee first) and a user of another site."""
    first, second = killed_primary["first"], killed_primary["second"]
    site = estate.hosts[first]["voip_site"]
    active = [
        u for u in users.values()
        if u.site == site and u.status == "active" and not (u.model.get("features") or {}).get("dnd")
    ]  # fmt: skip
    return SimpleNamespace(
        first=first, second=second, survivor=estate.hosts[second]["ansible_host"], active=active,
        caller=active[0], callee=active[1],
        other_site=next(u for u in users.values() if u.site != site and u.status == "active"),
    )  # fmt: skip


def test_the_site_goes_on_when_one_member_of_its_pair_dies(
    killed_primary, parties, register, call, phone, peer, podman_exec
):
    first, second, survivor = parties.first, parties.second, parties.survivor
    active, other_site, caller, callee = parties.active, parties.other_site, parties.caller, parties.callee
    # Every phone of the site registered through the primary, as its file says;
    # the callee's phone answers the calls below (one SIPp each).
    ports = {}
    for n, user in enumerate(u for u in active if u is not callee):
        ports[user.id] = 5291 + n
        assert register(user, port=ports[user.id], keep=True).final == "200"
    answer_local = phone(callee, "answer")
    try:
        for user in active:
            assert wait_for(lambda u=user: contacts(podman_exec, second, u.extension), 5), (
                f"{user.extension} is not replicated to {second} before the kill"
            )
        killed_at = killed_primary["kill"]()
        # 1. Every registration is on the survivor, none registered again.
        missing = [u.extension for u in active if not contacts(podman_exec, second, u.extension)]
        assert not missing, f"{second} lost registrations of {missing} when {first} died"
        # 2. A call between two users of the site through the survivor.
        result = call(dataclasses.replace(caller, server=survivor), callee.extension)
        answered = answer_local()
        local_seconds = time.monotonic() - killed_at
        assert result.final == "200", result.log
        assert answered.returncode == 0, answered.log
        # 3. A call from the other site: its call server fails over to the survivor.
        answer_remote = phone(dataclasses.replace(callee, server=survivor), "answer")
        started = time.monotonic()
        result = call(other_site, callee.extension)
        remote_call_seconds = time.monotonic() - started
        assert result.final == "200", result.log
        assert answer_remote().returncode == 0
        # 4. A call to the carrier through the survivor.
        carrier = peer("carrier", "answer")
        result = call(dataclasses.replace(caller, server=survivor), NATIONAL)
        assert result.final == "200", result.log
        assert carrier().returncode == 0
        carrier_seconds = time.monotonic() - killed_at
        print(f"after the kill of {first}: local call answered at {local_seconds:.2f} s, "
              f"the other site's call took {remote_call_seconds:.2f} s, carrier call done at {carrier_seconds:.2f} s")  # fmt: skip
        print(
            f"bench: failover_local_call={local_seconds:.3f} failover_other_site_call={remote_call_seconds:.3f}"
        )
        assert local_seconds <= BOUND_SECONDS, local_seconds
        assert remote_call_seconds <= BOUND_SECONDS, remote_call_seconds
        # 5. The killed member comes back with every registration and takes calls.
        killed_primary["start"]()
        missing = [
            u.extension
            for u in active
            if not wait_for(lambda u=u: contacts(podman_exec, first, u.extension), 30)
        ]
        assert not missing, f"{first} came back without the registrations of {missing}"
        answer_back = phone(dataclasses.replace(callee, server=survivor), "answer")
        result = call(caller, callee.extension)  # through the primary again
        assert result.final == "200", result.log
        assert answer_back().returncode == 0
    finally:
        for user in active:
            if user.id in ports:
                register.unregister(dataclasses.replace(user, server=survivor), ports[user.id])


# The load of test_calls_under_load_go_on_when_a_member_dies: new calls per second, per load. All
# the lab's phones share the controller's address: five requests a call, the loads to one server,
# must stay under its flood limit (kamailio_pike_reqs_density_per_unit, 30 per 2 s from one address).
LOAD_RATE = 1
LOAD_SECONDS = 40
# The registration load's port (its contacts, removed again at the end).
REGISTER_PORT = 6440
KILL_AFTER_SECONDS = 8


def load_report(name: str, calls: dict[int, dict], killed_at: float) -> tuple[str, list[int], float]:
    """A line for the log, the calls started ``BOUND_SECONDS`` after the kill or later that failed,
    and when the load recovered.

    The line says when the load recovered: the start of the last failed call
    after the kill (every later call was answered and ended), 0 if none failed.
    """
    before = [c for c in calls.values() if c["start"] < killed_at]
    after = [c for c in calls.values() if c["start"] >= killed_at + BOUND_SECONDS]
    late_failures = [
        n for n, c in calls.items() if c["start"] >= killed_at + BOUND_SECONDS and not c["ended"]
    ]
    failed = [c for c in calls.values() if not c["ended"]]
    recovered = max([c["start"] - killed_at for c in failed if c["start"] >= killed_at], default=0.0)
    line = (f"{name}: {len(calls)} calls, {len(before)} before the kill, {len(failed)} failed (in progress "
            f"through the dead member or started within {BOUND_SECONDS:.0f} s of the kill: {len(failed) - len(late_failures)}); "
            f"{len(after)} started {BOUND_SECONDS:.0f} s after the kill or later, "
            f"{len(after) - len(late_failures)} of them answered and ended; recovered {recovered:.2f} s after the kill")  # fmt: skip
    return line, late_failures, recovered


def test_calls_under_load_go_on_when_a_member_dies(killed_primary, parties, register, sipp_load, podman_exec):
    """SIPp load against the pair, then the primary's container is killed.

    Four loads of ``LOAD_RATE`` calls (or registrations) per second run for ``LOAD_SECONDS``:
    phones of the site calling as their files say (the primary, then the
    backup on a 503 or 3 s of silence: scenarios/load_phone.xml), calls
    between two users of the site through the survivor, and calls from the
    other site through its call server (whose dispatcher sends them to the
    primary until it fails), and the site's other phones refreshing their
    registrations as their files say (scenarios/load_register.xml: the
    primary, then the backup). One SIPp answers every call at the callee's phone,
    registered through the primary. Every call started ``BOUND_SECONDS``
    after the kill or later must be answered and ended; the local load
    through the survivor must lose none at all.
    """
    second, survivor = parties.second, parties.survivor
    other_site, caller, callee = parties.other_site, parties.caller, parties.callee
    # The registration load: the site's other phones, whose calls nobody places here.
    registering = [u for u in parties.active if u not in (caller, callee)]
    assert registering, "the lab's site has no third active user"
    port = 6400
    assert register(callee, port=port, keep=True).final == "200"
    total = LOAD_RATE * LOAD_SECONDS
    try:
        assert wait_for(lambda: contacts(podman_exec, second, callee.extension), 5)
        answering = sipp_load(
            "answer", callee.server, [], port=port, calls=3 * total, timeout=LOAD_SECONDS + 60
        )
        try:
            loads = {
                "the site's phones (primary, then backup)": sipp_load(
                    "load_phone", caller.server, [*call_fields(caller, callee.extension), survivor], port=6430,
                    calls=total, rate=LOAD_RATE, timeout=LOAD_SECONDS + 30),
                "local, through the survivor": sipp_load(
                    "load_call", survivor, call_fields(caller, callee.extension), port=6410, calls=total,
                    rate=LOAD_RATE, timeout=LOAD_SECONDS + 30),
                "from the other site": sipp_load(
                    "load_call", other_site.server, call_fields(other_site, callee.extension), port=6420,
                    calls=total, rate=LOAD_RATE, timeout=LOAD_SECONDS + 30),
                "the site's phones registering (primary, then backup)": sipp_load(
                    "load_register", caller.server,
                    [[u.extension, u.auth(), u.domain, "600", survivor] for u in registering], port=REGISTER_PORT,
                    calls=total, rate=LOAD_RATE, timeout=LOAD_SECONDS + 30),
            }  # fmt: skip
            time.sleep(KILL_AFTER_SECONDS)
            killed_at = time.time()
            killed_primary["kill"]()
            results = {name: run() for name, run in loads.items()}
            # The phones that registered through the load are in the survivor's table, at that port.
            on_survivor = {u.extension: contacts(podman_exec, second, u.extension) for u in registering}
        finally:
            answering.kill()
    finally:
        register.unregister(dataclasses.replace(callee, server=survivor), port)
        for user in registering:
            register.unregister(dataclasses.replace(user, server=survivor), REGISTER_PORT)
    problems = []
    for name, result in results.items():
        calls = load_calls(result.log)
        line, late_failures, recovered = load_report(name, calls, killed_at)
        print(line)
        print(f"bench: failover_recovered={recovered:.3f}")
        if len(calls) != total or any(c["start"] is None for c in calls.values()):
            problems.append(f"{name}: SIPp started {len(calls)} of {total} calls\n{result.log[-2000:]}")
        if late_failures:
            problems.append(f"{name}: calls {late_failures} failed {BOUND_SECONDS} s or more after the kill")
        if name.startswith("local") and not all(c["ended"] for c in calls.values()):
            lost = sorted(n for n, c in calls.items() if not c["ended"])
            problems.append(f"{name}: the survivor lost calls {lost}")
        if "registering" in name:
            # With the primary dead, every later registration went to the backup, and was taken there.
            moved = {int(w[1]) for w in map(str.split, result.log.splitlines()) if w[:1] == ["FAILOVER"]}
            late = {n for n, c in calls.items() if c["start"] >= killed_at + BOUND_SECONDS}
            if late - moved:
                problems.append(
                    f"{name}: registrations {sorted(late - moved)} after the kill did not fail over"
                )
    missing = [ext for ext, found in on_survivor.items() if not any(f":{REGISTER_PORT}" in c for c in found)]
    if missing:
        problems.append(
            f"not in the survivor's location table after the registration load: {missing} {on_survivor}"
        )
    assert not problems, "\n".join(problems)
