"""Releases against the lab: `voipctl release apply` on copies of the inventory whose manifest changed.

The lab's own manifest has voip-routing 1.0. In order:
1. release 1.1 (and a T54W firmware for Amsterdam only) succeeds on every
   host, kept registrations survive, every user registers and calls; it
   runs under SIPp load through each member of the Amsterdam pair and from
   Tehran: no call fails that was not on the server restarting at the time,
   and the pair keeps at least 80% of its rate of answered calls;
2. the broken 1.2 stops at the canary (cs1), which is rolled back to 1.1
   and its previous configuration; cs2, cs3 (its pair) and prov1 are never touched;
3. back to 1.0 with cs2 killed in the middle: the release stops with a clear
   report, no user is lost, and a second run completes once cs2 is back.
The lab ends where its own inventory says (1.0), as the next tests expect.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pair_load import downtime
from phone_http import file_url, http_get
from release_load import (
    DrainWatch,
    calls_under_load,
    everyone_registers_and_calls,
    judge_load,
    run_records,
    voipctl_run,
)

from ansible_collections.voip.estate.plugins.module_utils import voip_sip
from tests.inventory_copy import lab_copy
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
T54W_NEW = "96.86.0.120"
AMS_T54W = "80:5e:c0:10:20:01"
THR_T54W = "80:5e:c0:10:30:01"


def manifest_copy(tmp_path_factory, routing: str, version: str, firmware: bool = False) -> Path:
    copy = lab_copy(tmp_path_factory, f"release-{routing}")
    path = copy / "group_vars" / "all" / "release.yml"
    text = path.read_text()
    text = text.replace('voip-routing: "1.0"', f'voip-routing: "{routing}"').replace(
        "version: 2026.11.0", f"version: {version}"
    )
    if firmware:
        text = text.replace(
            "  components:\n", f"  firmware_sites: [ams]\n  components:\n    yealink-t54w: {T54W_NEW}\n"
        )
    path.write_text(text)
    return copy


def release(inventory: Path, *, on_line=None) -> tuple[int, str]:
    """Run `voipctl release apply -i INVENTORY`; call ``on_line`` with each output line."""
    return voipctl_run("release", "apply", "-i", str(inventory), on_line=on_line)


def routing_answer(address: str) -> str | None:
    answer = voip_sip.options_ping(address, 5060, timeout=2.0, headers=["X-Voip-Routing"])
    assert answer["status"] == 200, answer
    return answer["headers"].get("X-Voip-Routing")


def installed(podman_exec, host: str, package: str = "voip-routing") -> str:
    return podman_exec(host, "dpkg-query", "-W", "-f=${Version}", package).stdout.strip()


def started_at(podman_exec, host: str) -> str:
    return podman_exec(host, "systemctl", "show", "-p", "ActiveEnterTimestamp", "kamailio").stdout.strip()


def points(podman_exec, host: str) -> list[str]:
    listed = podman_exec("bak1", "ls", "-1", f"/srv/backups/{host}", check=False).stdout.split()
    return sorted(p for p in listed if p.endswith("Z"))


@pytest.fixture(scope="module", autouse=True)
def lab_at_its_own_manifest():
    """Start and end at the lab's own manifest (a release back, downgrades included)."""
    code, output = release(LAB)
    assert code == 0, output[-4000:]
    yield
    code, output = release(LAB)
    assert code == 0, output[-4000:]


@pytest.fixture(scope="module")
def lab_hosts(estate):
    return {name: estate.hosts[name]["ansible_host"] for name in ("cs1", "cs2", "cs3", "prov1")}


def test_a_good_release_reaches_every_host_and_keeps_registrations(
    tmp_path_factory,
    lab_hosts,
    users,
    register,
    call,
    answering,
    podman_exec,
    device_login,
    estate,
    sipp_load,
):
    inventory = manifest_copy(tmp_path_factory, "1.1", "2026.11.1", firmware=True)
    kept = next(u for u in users.values() if u.status == "active" and u.site == "ams")
    assert register(kept, keep=True).final == "200"
    try:
        drains = DrainWatch()
        with calls_under_load(users, estate, register, sipp_load) as load:
            loaded_at = time.time()
            time.sleep(20)
            started = time.time()
            code, output = release(inventory, on_line=drains)
            ended = time.time()
        assert code == 0, output[-4000:]
        windows = {
            host: drains.widen(host, downtime(podman_exec, host, loaded_at - 1))
            for host in ("cs1", "cs2", "cs3")
        }
        problems = judge_load(load, windows, (loaded_at + 2, started), (started, ended))
        assert not problems, "\n".join(problems)
        assert "completed" in output
        records = run_records(output)
        # prov1's packages were already at the manifest; its roles still applied the firmware (below).
        # The devices' images are the manifest's (tests/lab/test_device_release.py moves them).
        assert {h: r["result"] for h, r in records.items()} == {
            "cs1": "released", "cs2": "released", "cs3": "released", "prov1": "already at release",
            "gw1": "already at release", "sw1": "already at release",
        }  # fmt: skip
        for host in ("cs1", "cs2", "cs3"):
            assert installed(podman_exec, host) == "1.1"
            assert routing_answer(lab_hosts[host]) == "1.1"
            assert records[host]["test_call_setup_ms"] is not None, "the gate placed its test call"
            assert records[host]["backup_point"] in points(podman_exec, host), (
                "the pre-release backup is stored"
            )
        # Registrations survive the restart (written back to the database and loaded again).
        lookup = podman_exec("cs1", "kamcmd", "ul.lookup", "location", f"s:{kept.extension}", check=False)
        assert lookup.returncode == 0 and "Contact" in lookup.stdout, lookup.stdout + lookup.stderr
    finally:
        podman_exec("cs1", "kamcmd", "ul.rm", "location", f"s:{kept.extension}", check=False)
    everyone_registers_and_calls(users, register, call, answering)
    # Firmware site by site: Amsterdam's T54W gets the new image, Tehran's keeps the model's.
    prov = estate.hosts["prov1"]
    ams = http_get(file_url(prov, "805ec0102001.cfg"), device_login(AMS_T54W))
    thr = http_get(file_url(prov, "805ec0103001.cfg"), device_login(THR_T54W))
    assert ams[0] == 200 and f"/yealink-t54w/{T54W_NEW}" in ams[1]
    assert thr[0] == 200 and "/yealink-t54w/96.86.0.100" in thr[1]


def test_a_broken_release_stops_at_the_canary_which_is_rolled_back(
    tmp_path_factory, lab_hosts, users, register, call, answering, podman_exec
):
    inventory = manifest_copy(tmp_path_factory, "1.2", "2026.11.2", firmware=True)
    config_before = podman_exec("cs1", "sha256sum", "/etc/kamailio/kamailio.cfg").stdout
    untouched = {host: (started_at(podman_exec, host), points(podman_exec, host)) for host in ("cs2", "cs3")}
    code, output = release(inventory)
    assert code == 1, output[-4000:]
    assert "STOPPED at cs1" in output
    records = run_records(output)
    assert set(records) == {"cs1"}, "only the canary was touched"
    assert records["cs1"]["result"] == "rolled back"
    assert "manifest says 1.2" in records["cs1"]["error"] or "483" in records["cs1"]["error"], records["cs1"]
    # The canary is back on the previous version and configuration.
    assert installed(podman_exec, "cs1") == "1.1"
    assert routing_answer(lab_hosts["cs1"]) == "1.1"
    assert podman_exec("cs1", "sha256sum", "/etc/kamailio/kamailio.cfg").stdout == config_before
    # The other call servers (cs1's pair member cs3 too) were never touched:
    # same process, same version, no new backup.
    for host, (started, stored) in untouched.items():
        assert started_at(podman_exec, host) == started, host
        assert installed(podman_exec, host) == "1.1", host
        assert points(podman_exec, host) == stored, host
    everyone_registers_and_calls(users, register, call, answering)


def test_a_call_server_killed_mid_release_stops_it_and_loses_no_user(
    tmp_path_factory, lab_topology, users, register, podman_exec
):
    inventory = manifest_copy(tmp_path_factory, "1.0", "2026.11.3")
    cs2 = lab_topology.host("cs2").container(lab_topology.prefix)
    subscribers = {
        host: podman_exec(
            host, "sqlite3", "/var/lib/kamailio/kamailio.sqlite", "select count(*) from subscriber"
        ).stdout
        for host in ("cs1", "cs2", "cs3")
    }
    killed = threading.Event()

    def kill_cs2_while_cs1_upgrades(line: str) -> None:
        if not killed.is_set() and "Bring the host to the manifest with its roles" in line:
            killed.set()
            subprocess.run(["podman", "kill", cs2], capture_output=True, check=False)

    try:
        code, output = release(inventory, on_line=kill_cs2_while_cs1_upgrades)
        assert killed.is_set(), output[-3000:]
        assert code == 1, output[-4000:]
        assert "STOPPED at cs2" in output
        assert re.search(r"cs2\s+│\s+unreachable", output), output[-3000:]
        # One call server at a time (a pair is never down at once): cs3 comes after cs2.
        assert re.search(r"cs3\s+│\s+not reached", output), output[-3000:]
        assert re.search(r"prov1\s+│\s+not reached", output), output[-3000:]
    finally:
        subprocess.run(["podman", "start", cs2], capture_output=True, check=False)
    deadline = time.monotonic() + 90
    while podman_exec("cs2", "systemctl", "is-active", "kamailio", check=False).stdout.strip() != "active":
        assert time.monotonic() < deadline, "kamailio did not come back on cs2"
        time.sleep(2)
    # No user lost: the subscriber tables are whole, and every active user registers.
    for host, count in subscribers.items():
        now = podman_exec(
            host, "sqlite3", "/var/lib/kamailio/kamailio.sqlite", "select count(*) from subscriber"
        )
        assert now.stdout == count, host
    refused = [u.id for u in users.values() if u.status == "active" and register(u).final != "200"]
    assert not refused, refused
    # The release completes on a second run; the lab is at its own manifest again.
    code, output = release(inventory)
    assert code == 0, output[-4000:]
    assert {h: r["result"] for h, r in run_records(output).items()} == {
        "cs1": "already at release", "cs2": "released", "cs3": "released", "prov1": "already at release",
        "gw1": "already at release", "sw1": "already at release",
    }  # fmt: skip
    assert {installed(podman_exec, host) for host in ("cs1", "cs2", "cs3")} == {"1.0"}


def test_release_status_shows_no_drift_and_the_runs_on_record():
    run = subprocess.run(
        [sys.executable, "-m", "voipctl.cli", "release", "status", "--format", "json"],
        cwd=ROOT, env=ansible_environment(ROOT), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    status = json.loads(run.stdout)
    hosts = {h["host"]: h for h in status["hosts"]}
    assert set(hosts) >= {"cs1", "cs2", "cs3", "prov1", "gw1", "sw1"}
    assert all(not h["drift"] and not h.get("error") for h in hosts.values()), hosts
    assert hosts["cs1"]["installed"]["voip-routing"] == "1.0" and hosts["gw1"]["installed"]["ios"] == "17.6.5"
    assert hosts["sw1"]["installed"]["ios"] == "12.2(58)SE2"
    results = {r["result"] for run in status["runs"] for r in run["hosts"].values()}
    assert {"released", "rolled back"} <= results
