"""A site's pair of call servers (#27): registrations are shared, and only the pair may share them.

The lab's site ams has cs1 and cs3. A phone registered on one member is
found in the other's location table (DMQ replication) and reached through
it; a call to another site goes through that site's servers, the first
that answers. The replication port takes KDMQ from the pair alone: a
forged replication message from anyone else (the outsider, or any source
on the SIP port) writes no contact, so it cannot take a user's calls.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time

import pytest
from location import contacts, wait_for

pytestmark = pytest.mark.lab

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
