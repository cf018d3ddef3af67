"""OS updates against the lab: `voipctl os-updates` with updates published in the lab repository's security suite.

In order:
1. check mode lists the published update on every Linux host and changes nothing;
2. a good security update (Debian's netbase, rebuilt newer, asking for a reboot as a kernel
   update does) reaches every Linux host batch by batch under SIP load: every host is rebooted,
   the call servers one at a time (the Amsterdam pair never down at once), no call is lost
   that was not on a draining server, registrations are kept; Debian's own updates (no security
   updates by the lab's model) and a newer build of a pinned component (voip-routing) are left alone;
3. a breaking security update (sqlite3's library without its library: Kamailio no longer starts)
   stops the run at the canary cs1, which is rolled back; no other host is touched;
4. `voipctl release status` and `voipctl health` report the waiting security update.
The suite is emptied at the end; the good update stays installed.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from os_packages import (
    REBOOT_POSTINST,
    debian_version,
    fetch,
    installed,
    newer_version,
    rebuild,
    without_files,
)
from pair_load import downtime
from release_load import (
    DrainWatch,
    calls_under_load,
    everyone_registers_and_calls,
    judge_load,
    run_records,
    voipctl_run,
)

from voiplab import aptrepo
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
LINUX = ("cs1", "cs2", "cs3", "prov1", "bak1")


def booted(podman_exec, host: str) -> str:
    """When the host's PID 1 started (changes at every reboot of the container)."""
    return podman_exec(host, "cut", "-d", " ", "-f22", "/proc/1/stat").stdout.strip()


def points(podman_exec, host: str) -> list[str]:
    return sorted(podman_exec("bak1", "ls", "-1", f"/srv/backups/{host}", check=False).stdout.split())


def os_updates(*args: str, on_line=None) -> tuple[int, str]:
    return voipctl_run("os-updates", *args, on_line=on_line)


@pytest.fixture(scope="module")
def suite(tmp_path_factory, podman_exec):
    """The lab repository's security suite: ``publish(debs)``; the packages built for this module."""
    apt = Path(ansible_environment(ROOT)["VOIPLAB_STATE_DIR"]) / "apt"
    work = tmp_path_factory.mktemp("os-updates")
    netbase = installed(podman_exec, "cs1", "netbase")
    good = rebuild(fetch(podman_exec, "cs1", "netbase", debian_version(netbase), work), newer_version(netbase),
                   work, REBOOT_POSTINST)  # fmt: skip
    routing = installed(podman_exec, "cs1", "voip-routing")
    held = rebuild(apt / f"voip-routing_{routing}_all.deb", f"{routing}+voiplab{int(time.time())}", work)
    library = installed(podman_exec, "cs1", "libsqlite3-0")
    broken = newer_version(library)
    sqlite3 = fetch(
        podman_exec, "cs1", "sqlite3", debian_version(installed(podman_exec, "cs1", "sqlite3")), work
    )
    packages = {
        "good": good,
        "held": held,
        "broken": [
            without_files("libsqlite3-0", broken, "amd64", "sqlite3", work),
            rebuild(sqlite3, broken, work),
        ],
    }
    yield lambda debs: aptrepo.publish_security(apt, list(debs)), packages
    aptrepo.publish_security(apt, [])


def test_check_mode_lists_the_update_and_changes_nothing(suite, podman_exec):
    publish, packages = suite
    publish([packages["good"], packages["held"]])
    before = {h: (installed(podman_exec, h, "netbase"), booted(podman_exec, h)) for h in LINUX}
    code, output = os_updates("--check", "--security-only")
    assert code == 0, output[-4000:]
    records = run_records(output)
    new = packages["good"].name.split("_")[1]
    for host in LINUX:
        assert records[host]["result"] == "would change", records[host]
        assert any(d["component"] == "netbase" and d["target"] == new for d in records[host]["drift"]), (
            records[host]
        )
        assert (installed(podman_exec, host, "netbase"), booted(podman_exec, host)) == before[host], host
    # The pinned component's newer build is a security update too, and held.
    assert "voip-routing" in records["cs1"]["held"]
    assert not any(d["component"] == "voip-routing" for d in records["cs1"]["drift"])


def test_a_security_update_reaches_every_host_with_sip_kept(
    suite, users, estate, register, call, answering, sipp_load, podman_exec
):
    publish, packages = suite
    publish([packages["good"], packages["held"]])
    new = packages["good"].name.split("_")[1]
    before = {h: booted(podman_exec, h) for h in LINUX}
    routing = installed(podman_exec, "cs1", "voip-routing")
    kept = next(u for u in users.values() if u.status == "active" and u.site == "ams")
    assert register(kept, keep=True).final == "200"
    try:
        drains = DrainWatch()
        with calls_under_load(users, estate, register, sipp_load) as load:
            loaded_at = time.time()
            time.sleep(20)
            started = time.time()
            code, output = os_updates("--security-only", on_line=drains)
            ended = time.time()
        assert code == 0, output[-4000:]
        windows = {h: drains.widen(h, downtime(podman_exec, h, loaded_at - 1)) for h in ("cs1", "cs2", "cs3")}
        problems = judge_load(load, windows, (loaded_at + 2, started), (started, ended))
        assert not problems, "\n".join(problems)
        # Never both members of the Amsterdam pair at once.
        for down1 in windows["cs1"]:
            for down3 in windows["cs3"]:
                assert down1[1] <= down3[0] or down3[1] <= down1[0], windows
        records = run_records(output)
        for host in LINUX:
            assert records[host]["result"] == "updated", records[host]
            assert installed(podman_exec, host, "netbase") == new, host
            assert booted(podman_exec, host) != before[host], f"{host} was not rebooted"
            assert any("reboot-required" in r for r in records[host]["reboot"]), records[host]
            assert records[host]["backup_point"] in points(podman_exec, host), host
        assert installed(podman_exec, "cs1", "voip-routing") == routing, "a pinned component changed"
        lookup = podman_exec("cs1", "kamcmd", "ul.lookup", "location", f"s:{kept.extension}", check=False)
        assert lookup.returncode == 0 and "Contact" in lookup.stdout, lookup.stdout + lookup.stderr
    finally:
        podman_exec("cs1", "kamcmd", "ul.rm", "location", f"s:{kept.extension}", check=False)
    everyone_registers_and_calls(users, register, call, answering)


def test_a_breaking_update_is_rolled_back_on_the_canary_and_stops_the_run(
    suite, users, register, call, answering, podman_exec
):
    publish, packages = suite
    publish([packages["good"], packages["held"], *packages["broken"]])
    library = installed(podman_exec, "cs1", "libsqlite3-0")
    untouched = {h: (booted(podman_exec, h), points(podman_exec, h)) for h in LINUX if h != "cs1"}
    code, output = os_updates("--security-only")
    assert code == 1, output[-4000:]
    assert "STOPPED at cs1" in output
    records = run_records(output)
    assert set(records) == {"cs1"}, "only the canary was touched"
    assert records["cs1"]["result"] == "rolled back", records["cs1"]
    # Kamailio no longer starts: the restart after the update, or the gate, says so by name.
    error = records["cs1"]["error"]
    assert re.search(r"kamailio(\.service did not start again| is \w+ .*not active)", error), error
    assert installed(podman_exec, "cs1", "libsqlite3-0") == library
    assert podman_exec("cs1", "systemctl", "is-active", "kamailio", check=False).stdout.strip() == "active"
    assert (
        podman_exec("cs1", "sqlite3", "/var/lib/kamailio/kamailio.sqlite", "select 1").stdout.strip() == "1"
    )
    for host, (started, stored) in untouched.items():
        assert (booted(podman_exec, host), points(podman_exec, host)) == (started, stored), host
        assert installed(podman_exec, host, "libsqlite3-0") == library, host
    everyone_registers_and_calls(users, register, call, answering)


def test_status_and_health_report_the_waiting_security_update(tmp_path, suite, voipctl):
    # The breaking update is still published: every host waits for it.
    status = voipctl("release", "status", "--format", "json")
    assert status.returncode == 0, status.stdout[-2000:] + status.stderr[-2000:]
    hosts = {h["host"]: h for h in json.loads(status.stdout)["hosts"]}
    assert {h for h in LINUX if "libsqlite3-0" in hosts[h]["os"]["security"]} == set(LINUX), hosts
    assert not any(hosts[h]["os"]["reboot_reasons"] for h in LINUX), "the good update's reboots were done"
    # Waiting under the model's 7 days is no finding; with 0 days it is one on every host.
    for days, expected in ((7, set()), (0, set(LINUX))):
        copy = tmp_path / f"days-{days}" / "inventory" / "lab"
        shutil.copytree(LAB, copy)
        (tmp_path / f"days-{days}" / "lab").symlink_to(ROOT / "lab")
        policy = copy / "group_vars" / "all" / "os_updates.yml"
        policy.write_text(re.sub(r"pending_days: \d+", f"pending_days: {days}", policy.read_text()))
        run = voipctl("health", "-i", str(copy), "--format", "json", "--drift", "none")
        findings = json.loads(run.stdout)["findings"]
        late = {f["host"] for f in findings if f["check"] == "os-updates" and f["severity"] == "warning"}
        assert late == expected, [f for f in findings if f["check"] == "os-updates"]
        if expected:
            assert all("libsqlite3-0" in f["message"] for f in findings
                       if f["check"] == "os-updates" and f["severity"] == "warning")  # fmt: skip
