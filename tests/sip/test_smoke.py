"""The lab's SIP smoke (``make lab``, marker ``smoke``): is every call server serving?

Per call server of the lab inventory: an OPTIONS over UDP and TCP is
answered 200, one active user homed there registers with its real
password, and one call between two of its users is answered with the media
anchored on the call server. A few seconds per call server; the full SIP
suites (attacks, features, trunks, CTI, emergency) run in ``make test``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import options_ping
from voipctl.adapters import inventory

pytestmark = [pytest.mark.lab, pytest.mark.smoke]

ROOT = Path(__file__).resolve().parents[2]


def _call_servers() -> list[str]:
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    return sorted(inventory.load(ROOT / "inventory" / "lab", only=("ansible_host",)).hosts_in("call_servers"))


def pytest_generate_tests(metafunc):
    if "call_server" in metafunc.fixturenames:
        metafunc.parametrize("call_server", _call_servers())


@pytest.fixture
def homed(users, estate, call_server):
    """The active users of ``call_server``'s site without do-not-disturb, registering on ``call_server``.

    A site's second call server (a pair) serves the same users: the smoke
    registers and calls through each member directly.
    """
    address = estate.hosts[call_server]["ansible_host"]
    site = estate.hosts[call_server]["voip_site"]
    found = [
        dataclasses.replace(user, server=address)
        for user in users.values()
        if user.site == site and user.status == "active" and not (user.model.get("features") or {}).get("dnd")
    ]
    if len(found) < 2:
        pytest.fail(f"the lab directory has fewer than two active users on {call_server} ({address})")
    return found


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_call_server_answers_options(estate, call_server, transport):
    address = estate.hosts[call_server]["ansible_host"]
    result = options_ping(address, transport=transport, timeout=2.0)
    assert (result["status"], result["address"]) == (200, address), result


def test_a_user_registers(register, homed):
    result = register(homed[0])
    assert result.final == "200", result.log


def test_a_call_is_answered_with_media_on_the_call_server(call, answering, homed):
    caller, callee = homed[0], homed[1]
    waiter = answering(callee)
    result = call(caller, callee.extension)
    answered = waiter()
    assert result.final == "200", result.log
    assert "BYE 200" in result.log
    assert result.value("MEDIA") == caller.server
    assert f"sip:{caller.extension}@" in (answered.value("ANSWERED") or ""), answered.log
