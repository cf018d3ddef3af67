"""The restore drills (`voipctl drill restore HOST`): destroyed, recreated bare, restored, checked.

A backup of cs1 is taken; the drill removes its container, recreates it from
the bare image (no Kamailio, no configuration), restores it with
``playbooks/restore.yml`` from the latest point (not a converge) and checks
that every active user of its site registers by SIPp and a call between two
users is answered. A point whose checksums fail is refused before the host
is touched. The provisioning server, the gateway and the access switch are
drilled the same way; the devices come back from their factory configuration
to exactly the backed-up one, and a converge finds nothing to change after.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest
from location import contacts, wait_for
from netmiko import ConnectHandler
from pair_load import call_fields, load_calls, soft_stop

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import strip_volatile

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}


def playbook(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    from voiplab.lab import ansible_environment

    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "lab"),
         str(ROOT / "playbooks" / name), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False, env=ansible_environment(ROOT),
    )  # fmt: skip
    if check:
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    return run


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=PODMAN_ENV, capture_output=True, text=True, check=check)


def test_a_damaged_point_is_refused_before_the_host_is_touched(estate):
    store = estate.hosts["cs1"]["voip_backup_policy"]["store"]
    playbook("backup.yml", "--limit", "cs1,localhost")
    latest = sorted(podman("exec", "voiplab-bak1", "ls", "-1", f"{store}/cs1").stdout.split())[-1]
    stored = f"{store}/cs1/{latest}/host.tar.gz.enc"
    podman("exec", "voiplab-bak1", "sh", "-c", f"printf x >> {stored}")
    try:
        run = playbook("restore.yml", "-e", "restore_host=cs1", check=False)
        assert run.returncode != 0
        assert "fails its checksums" in run.stdout and "host.tar.gz.enc: size" in run.stdout
        assert "Put the files and databases back" not in run.stdout, "refused before anything was restored"
    finally:
        podman("exec", "voiplab-bak1", "rm", "-rf", f"{store}/cs1/{latest}")


def test_restore_drill_of_cs1_passes(users, estate, register, sipp_load, podman_exec):
    """`voipctl drill restore cs1`: destroyed, recreated bare, restored, its users register and call again.

    cs1 is a member of the Amsterdam pair: while it is drilled cs3 carries the site. Amsterdam
    calls go through cs3 at a steady rate (SIPp) to a phone registered through cs1 before the
    drill; not one may fail, and cs1 comes back with that phone's registration.
    """
    ams = [u for u in users.values() if u.site == "ams" and u.status == "active"
           and not (u.model.get("features") or {}).get("dnd")]  # fmt: skip
    # Not the user the drill's own check calls (the first answering one after the first): a second
    # contact of the callee, this load's SIPp, would take that call.
    caller, callee = ams[0], ams[-1]
    cs3 = estate.hosts["cs3"]["ansible_host"]
    playbook("backup.yml", "--limit", "cs1,localhost")
    assert register(callee, port=6600, keep=True).final == "200"
    assert wait_for(lambda: contacts(podman_exec, "cs3", callee.extension), 5)
    answering = sipp_load("answer", callee.server, [], port=6600, calls=100000, timeout=1800)
    load = sipp_load("load_call", cs3, call_fields(caller, callee.extension), port=6620, calls=100000, rate=1,
                     timeout=1800)  # fmt: skip
    try:
        drill = subprocess.run([str(ROOT / ".venv" / "bin" / "voipctl"), "drill", "restore", "cs1"], cwd=ROOT,
                               capture_output=True, text=True, check=False, timeout=1800)  # fmt: skip
    finally:
        log = soft_stop(load)
        answering.kill()
    try:
        assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
        calls = load_calls(log)
        failed = sorted(n for n, c in calls.items() if not c["ended"])
        print(
            f"Amsterdam calls through cs3 during the drill of cs1: {len(calls)} calls, {len(failed)} failed"
        )
        assert calls and not failed, f"calls {failed} through cs3 failed while cs1 was drilled\n{log[-3000:]}"
        # cs1 is back with the registration it had (DMQ's sync from cs3).
        assert wait_for(lambda: contacts(podman_exec, "cs1", callee.extension), 30)
    finally:
        register.unregister(dataclasses.replace(callee, server=cs3), 6600)
    assert "restore drill of cs1: passed" in drill.stdout
    for step in (
        "destroy the container",
        "recreate it bare",
        "restore (restore.yml)",
        "verify (call server)",
    ):
        assert step in drill.stdout
    assert "bare from its image" in drill.stdout and "1 passed" in drill.stdout


def test_restore_drill_of_prov1_passes_and_leaves_nothing_to_converge():
    """The provisioning server: its phone files, logins, firmware and nginx come back exactly."""
    playbook("backup.yml", "--limit", "prov1,localhost")
    drill = subprocess.run([str(ROOT / ".venv" / "bin" / "voipctl"), "drill", "restore", "prov1"], cwd=ROOT,
                           capture_output=True, text=True, check=False, timeout=1800)  # fmt: skip
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    assert "restore drill of prov1: passed" in drill.stdout and "verify (provisioning server)" in drill.stdout
    check = playbook("provisioning.yml", "--check", "--limit", "prov1,localhost")
    assert "changed=0" in check.stdout.split("PLAY RECAP")[-1].split("prov1", 1)[1].splitlines()[0]


def device(estate, host: str) -> ConnectHandler:
    me = estate.hosts[host]
    session = ConnectHandler(
        device_type="cisco_ios", host=me["ansible_host"], port=int(me.get("voip_device_port") or 22),
        username=me["voip_device_username"], password=me["voip_device_password"], secret="", fast_cli=False,
    )  # fmt: skip
    session.enable()
    return session


def test_a_damaged_gateway_point_is_refused_and_nothing_is_pushed(estate):
    store = estate.hosts["gw1"]["voip_backup_policy"]["store"]
    playbook("backup.yml", "--limit", "gw1,localhost")
    latest = sorted(podman("exec", "voiplab-bak1", "ls", "-1", f"{store}/gw1").stdout.split())[-1]
    podman("exec", "voiplab-bak1", "sh", "-c", f"printf x >> {store}/gw1/{latest}/running-config.enc")
    # A change by hand that a restore would take away.
    drift = ["logging host 10.231.0.99"]
    session = device(estate, "gw1")
    try:
        session.send_config_set(drift, cmd_verify=False)
        before = strip_volatile(session.send_command("show running-config"))
        assert "logging host 10.231.0.99" in before
        run = playbook("restore.yml", "-e", "restore_host=gw1", check=False)
        assert run.returncode != 0
        assert "fails its checksums" in run.stdout and "running-config.enc: size" in run.stdout
        assert "Push the backed-up configuration" not in run.stdout, "refused before anything was pushed"
        assert strip_volatile(session.send_command("show running-config")) == before
    finally:
        session.send_config_set(["no logging host 10.231.0.99"], cmd_verify=False)
        session.disconnect()
        podman("exec", "voiplab-bak1", "rm", "-rf", f"{store}/gw1/{latest}")


@pytest.mark.parametrize(("host", "kind"), [("gw1", "gateway"), ("sw1", "access switch")])
def test_restore_drill_of_a_network_device_passes_and_leaves_nothing_to_converge(host, kind):
    """The gateway and the switch: from their factory configuration back to the backed-up one exactly."""
    playbook("backup.yml", "--limit", f"{host},localhost")
    drill = subprocess.run([str(ROOT / ".venv" / "bin" / "voipctl"), "drill", "restore", host], cwd=ROOT,
                           capture_output=True, text=True, check=False, timeout=1800)  # fmt: skip
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    assert f"restore drill of {host}: passed" in drill.stdout and f"verify ({kind})" in drill.stdout
    assert "bare from its image" in drill.stdout and "1 passed" in drill.stdout
    check = playbook("network.yml", "--check", "--limit", f"{host},localhost")
    assert "changed=0" in check.stdout.split("PLAY RECAP")[-1].split(host, 1)[1].splitlines()[0]
