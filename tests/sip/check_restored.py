"""Checks of a host just restored from its backup, run by `voipctl drill restore HOST` (not collected by `make test`).

The host is named by VOIP_DRILL_HOST, the backup point it was restored from
by VOIP_DRILL_POINT; the drill selects the checks of its kind with ``-k
call_server``, ``-k provisioning_server``, ``-k gateway`` or ``-k
access_switch``.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from pathlib import Path

import pytest
from netmiko import ConnectHandler
from phone_http import file_url, http_get

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import open_point
from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import mask, strip_volatile

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
    server = estate.hosts[restored]
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
            status, text = http_get(file_url(server, name), device_login(device["mac"]))
            assert status == 200 and user.extension in text, (user.id, name, status)
            fetched += 1
    assert fetched, "no active phone in the directory"


@pytest.fixture(scope="module")
def backed_up(restored, estate, lab_topology, tmp_path_factory):
    """The device's configuration in the drill's point: copied from the backup server, verified, decrypted."""
    point = os.environ.get("VOIP_DRILL_POINT")
    assert point, "VOIP_DRILL_POINT names no backup point"
    policy = estate.hosts[restored]["voip_backup_policy"]
    server = lab_topology.host(policy["server"]).container(lab_topology.prefix)
    here = tmp_path_factory.mktemp("point")
    subprocess.run(
        ["podman", "cp", f"{server}:{policy.get('store', '/srv/backups')}/{restored}/{point}", str(here / point)],
        check=True, capture_output=True,
    )  # fmt: skip
    _, files = open_point(
        str(here / point), estate.hosts[restored]["vault_backup_key"], restored, point, str(here / "open")
    )
    plain = Path(files["running-config"])
    return plain.read_text()


@pytest.fixture(scope="module")
def device(restored, estate):
    me = estate.hosts[restored]
    session = ConnectHandler(
        device_type="cisco_ios", host=me["ansible_host"], port=int(me.get("voip_device_port") or 22),
        username=me["voip_device_username"], password=me["voip_device_password"], secret="", fast_cli=False,
    )  # fmt: skip
    session.enable()
    yield session
    session.disconnect()


def _same_config(device, backed_up):
    running = strip_volatile(device.send_command("show running-config", read_timeout=60))
    differ = [
        mask(line) for line in difflib.unified_diff(backed_up.splitlines(), running.splitlines(), lineterm="")
    ]
    assert running == backed_up, "running configuration differs from the backup:\n" + "\n".join(differ[:40])


def test_gateway_runs_the_backed_up_configuration_and_its_dial_peers_are_up(device, backed_up):
    _same_config(device, backed_up)
    tags = set(re.findall(r"^dial-peer voice (\d+) ", backed_up, re.MULTILINE))
    assert tags, "the backup holds no dial-peer"
    summary = device.send_command("show dial-peer voice summary")
    up = {m.group(1) for m in re.finditer(r"^(\d+)\s+(?:voip|pots)\s+up\s+up\b", summary, re.MULTILINE)}
    assert up == tags, f"dial-peers up: {sorted(up)}, backed up: {sorted(tags)}"


def test_access_switch_runs_the_backed_up_configuration(device, backed_up):
    _same_config(device, backed_up)
    assert re.search(r"^ switchport voice vlan \d+", backed_up, re.MULTILINE), (
        "the backup holds no voice VLAN"
    )
