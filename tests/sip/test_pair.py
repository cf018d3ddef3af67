"""A site's pair of call servers (#27): registrations are shared, and only the pair may share them.

The lab's site ams has cs1 and cs3. A phone registered on one member is
found in the other's location table (DMQ replication) and reached through
it; a call to another site goes through that site's servers, the first
that answers. A converge that restarts both members restarts them one at a
time, so the site always has one that answers. The replication port takes KDMQ from the pair alone: a
forged replication message from anyone else (the outsider, or any source
on the SIP port) writes no contact, so it cannot take a user's calls.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import subprocess
import threading
import time
from pathlib import Path

import pytest
from location import contacts, wait_for
from pair_load import downtime

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import SipError, options_ping
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
DMQ_PORT = 5090
# The port the test phone registers from (kept until the test removes it).
PHONE_PORT = 5281


@pytest.fixture(scope="module")
def pair(site_servers, estate):
    """(first, second) call server names of the lab's pair, and their addresses."""
    pairs = [names for names in site_servers.values() if len(names) > 1]
    assert pairs, "the lab inventory has no site with two call servers"
    first, second = pairs[0][:2]
    return first, second, estate.hosts[first]["ansible_host"], estate.hosts[second]["ansible_host"]


@pytest.fixture
def pair_users(users, estate, pair):
    """Two active users of the pair's site, without do-not-disturb."""
    site = estate.hosts[pair[0]]["voip_site"]
    found = [
        u
        for u in users.values()
        if u.site == site and u.status == "active" and not (u.model.get("features") or {}).get("dnd")
    ]
    assert len(found) >= 2, f"the lab directory has fewer than two active users at {site}"
    return found[0], found[1]


@pytest.mark.parametrize("direction", ["first-to-second", "second-to-first"])
def test_a_registration_on_one_member_is_in_the_others_location_table(
    register, podman_exec, pair, pair_users, direction
):
    first, second, first_address, second_address = pair
    on, other, address = (first, second, first_address) if direction == "first-to-second" else (
        second, first, second_address)  # fmt: skip
    user = dataclasses.replace(pair_users[0], server=address)
    result = register(user, port=PHONE_PORT, keep=True)
    assert result.final == "200", result.log
    try:
        assert contacts(podman_exec, on, user.extension), f"{on} did not keep the registration it answered"
        assert wait_for(lambda: contacts(podman_exec, other, user.extension)), (
            f"{user.extension} registered on {on} is not in {other}'s location table after 5 s"
        )
        assert contacts(podman_exec, other, user.extension) == contacts(podman_exec, on, user.extension)
    finally:
        register.unregister(user, PHONE_PORT)
    # The de-registration is replicated too: the other member forgets the contact.
    assert wait_for(lambda: not contacts(podman_exec, other, user.extension)), (
        f"{other} still has {user.extension}'s contact after it de-registered on {on}"
    )


def test_a_call_through_one_member_reaches_a_phone_registered_on_the_other(
    call, answering, podman_exec, pair, pair_users
):
    _, second, first_address, second_address = pair
    caller, callee = pair_users
    waiter = answering(dataclasses.replace(callee, server=first_address))
    assert wait_for(lambda: contacts(podman_exec, second, callee.extension))
    result = call(dataclasses.replace(caller, server=second_address), callee.extension)
    answered = waiter()
    assert result.final == "200", result.log
    assert result.value("MEDIA") == second_address, "the media is anchored on the member that took the call"
    assert f"sip:{caller.extension}@" in (answered.value("ANSWERED") or ""), answered.log


def _forged_contact(extension: str, source: str, domain: str) -> dict:
    """A KDMQ usrloc update as a member sends it (dmq_usrloc's JSON), pointing the user at ``source``."""
    now = int(time.time())
    body = {
        "action": 1, "aor": extension, "ruid": f"forged-{secrets.token_hex(4)}",
        "c": f"sip:{extension}@{source}:5060", "received": "", "path": "", "callid": secrets.token_hex(8),
        "user_agent": "forged", "instance": "", "expires": now + 3600, "cseq": 1, "flags": 0,
        "cflags": 0, "q": -1, "last_modified": now, "methods": 4294967295, "reg_id": 0,
    }  # fmt: skip
    return {
        "body": json.dumps(body, separators=(",", ":")),
        "content_type": "application/json",
        "domain": domain,
    }


@pytest.mark.parametrize("port", [DMQ_PORT, 5060], ids=["dmq-port", "sip-port"])
@pytest.mark.parametrize("source_port", [DMQ_PORT, 5071], ids=["from-5090", "from-5071"])
def test_a_forged_replication_message_from_a_stranger_writes_no_contact(
    sipraw, lab_topology, podman_exec, pair, pair_users, port, source_port
):
    first, second, first_address, _ = pair
    user = pair_users[1]
    outsider = lab_topology.host("outsider").address
    podman_exec(first, "kamcmd", "ul.rm", "location", f"s:{user.extension}", check=False)
    spec = {"method": "KDMQ", "uri": f"sip:usrloc@{first_address}:{port}", "contact": None, "timeout": 2,
            **_forged_contact(user.extension, outsider, user.domain)}  # fmt: skip
    results = sipraw("outsider", f"{outsider}:{source_port}", f"{first_address}:{port}", [spec])
    time.sleep(1.0)
    assert not any(outsider in c for c in contacts(podman_exec, first, user.extension)), (
        f"a KDMQ from the outsider ({outsider}:{source_port} to port {port}) wrote a contact on {first}: "
        f"{contacts(podman_exec, first, user.extension)}; answers {[r.get('final') for r in results]}"
    )
    assert not any(outsider in c for c in contacts(podman_exec, second, user.extension))


def _converge(pair, *extra: str) -> str:
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "lab"),
         str(ROOT / "playbooks" / "call_servers.yml"), "--limit", f"{pair[0]},{pair[1]},localhost", *extra],
        cwd=ROOT, env=ansible_environment(ROOT), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run.stdout


class Watch(threading.Thread):
    """OPTIONS to both members every 0.2 s: the moments when neither answered."""

    def __init__(self, addresses: tuple[str, str]):
        super().__init__(daemon=True)
        self.addresses, self.stop, self.silent, self.samples = addresses, threading.Event(), [], 0

    def _answers(self, address: str) -> bool:
        try:
            options_ping(address, 5060, "udp", timeout=0.5, retries=1)
        except SipError:
            return False
        return True

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples += 1
            if not any(self._answers(a) for a in self.addresses):
                self.silent.append(time.time())
            time.sleep(0.2)


def test_a_converge_that_restarts_both_members_restarts_them_one_at_a_time(pair, podman_exec):
    """A change of kamailio.cfg on both members (here the peer probe interval) restarts each one,
    never both at once: their down windows (systemd's Stopping..Started) do not overlap, and at no
    moment did neither answer OPTIONS. The model's value is put back by a second converge.
    (Before the handler was throttled, both restarted in the same second.)"""
    first, second, *addresses = pair
    since = time.time() - 1
    watch = Watch(tuple(addresses))
    watch.start()
    try:
        _converge(pair, "-e", "kamailio_peer_probe_seconds=6")
        windows = {host: downtime(podman_exec, host, since) for host in (first, second)}
    finally:
        watch.stop.set()
        watch.join(5)
        _converge(pair)
    assert all(len(w) == 1 for w in windows.values()), windows
    (a_down, a_up), (b_down, b_up) = windows[first][0], windows[second][0]
    assert a_up <= b_down or b_up <= a_down, f"both members were down together: {windows}"
    assert watch.samples > 10 and not watch.silent, f"neither member answered at {watch.silent}"
