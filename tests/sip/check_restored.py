"""Checks of a host just restored from its backup, run by `voipctl drill restore HOST` (not collected by `make test`).

The host is named by VOIP_DRILL_HOST; the drill selects the checks of its
kind with ``-k call_server`` or ``-k provisioning_server``.
"""

from __future__ import annotations

import os

import pytest
from phone_http import http_get

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def restored(estate):
    host = os.environ.get("VOIP_DRILL_HOST")
    assert host in estate.hosts, f"VOIP_DRILL_HOST names no lab host: {host!r}"
    return host


def test_call_server_every_active_user_registers_and_a_call_is_answered(
    restored, estate, users, register, call, answering
):
    site = estate.hosts[restored]["voip_site"]
    active = [u for u in users.values() if u.status == "active" and u.site == site]
    assert len(active) >= 2, f"site {site} has fewer than two active users"
    refused = [u.id for u in active if register(u).final != "200"]
    assert not refused, f"not registered after the restore: {refused}"
    caller = active[0]
    callee = next(u for u in active[1:] if not (u.model.get("features") or {}).get("dnd"))
    waiter = answering(callee)
    result = call(caller, callee.extension)
    waiter()
    assert result.final == "200", result.log


def test_provisioning_server_every_active_phone_fetches_its_file(restored, estate, users, device_login):
    models = estate.hosts[restored]["voip_phone_models"]
    address = estate.hosts[restored]["ansible_host"]
    fetched = 0
    for user in users.values():
        if user.status != "active":
            continue
        for device in user.model.get("devices") or []:
            bare = device["mac"].replace(":", "").lower()
            name = (
                f"{bare}.cfg"
                if models[device["model"]]["vendor"] in ("yealink", "polycom")
                else f"{bare}.xml"
            )
            status, text = http_get(f"http://{address}/{name}", device_login(device["mac"]))
            assert status == 200 and user.extension in text, (user.id, name, status)
            fetched += 1
    assert fetched, "no active phone in the directory"
