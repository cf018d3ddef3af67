"""Release manifest against hosts (voipctl.derive.release) and the release report (voipctl.release)."""

from __future__ import annotations

import argparse
import json

import pytest

from ansible_collections.voip.estate.plugins.filter.voip_release import FilterModule
from voipctl import os_updates
from voipctl import release as cli
from voipctl.adapters.playbook import PlaybookResult
from voipctl.derive import release
from voipctl.errors import VoipctlError

MANIFEST = {
    "components": {"kamailio": "5.6.3", "rtpengine": "10.5.3.5", "nginx": "1.22.1", "voip-routing": "1.1"}
}


@pytest.mark.parametrize(
    ("installed", "target", "same"),
    [
        ("5.6.3-2", "5.6.3", True),
        ("1:5.6.3-2", "5.6.3", True),  # an epoch does not count
        ("1.22.1-9+deb12u1", "1.22.1", True),
        ("1.1", "1.1", True),
        ("1.10", "1.1", False),  # not a prefix match
        ("1.1.1", "1.1", False),
        ("1.2", "1.1", False),
        (None, "1.1", False),
    ],
)
def test_installed_matches_the_manifest_version(installed, target, same):
    assert release.matches(installed, target) is same


def test_components_by_group_and_drift():
    assert release.components_of(["linux", "call_servers"], MANIFEST["components"]) == [
        "kamailio", "rtpengine", "voip-routing",
    ]  # fmt: skip
    assert release.components_of(["provisioning_servers"], MANIFEST["components"]) == ["nginx"]
    assert release.components_of(["backup_servers"], MANIFEST["components"]) == []
    facts = {
        "kamailio": [{"version": "5.6.3-2"}],
        "rtpengine-daemon": [{"version": "10.5.3.5-1"}],
        "voip-routing": [{"version": "1.0"}],
    }
    installed = release.installed_versions(facts, ["kamailio", "rtpengine", "voip-routing"])
    assert installed == {"kamailio": "5.6.3-2", "rtpengine": "10.5.3.5-1", "voip-routing": "1.0"}
    assert release.drift(installed, MANIFEST["components"]) == [
        {"component": "voip-routing", "package": "voip-routing", "installed": "1.0", "target": "1.1"}
    ]
    missing = release.installed_versions({}, ["voip-routing"])
    assert release.drift(missing, MANIFEST["components"])[0]["installed"] is None


def test_filters_wrap_the_derivation():
    filters = FilterModule().filters()
    components = filters["voip_release_components"](["call_servers"], MANIFEST)
    installed = filters["voip_release_installed"]({"voip-routing": [{"version": "1.1"}]}, components)
    assert [d["component"] for d in filters["voip_release_drift"](installed, MANIFEST)] == [
        "kamailio",
        "rtpengine",
    ]


def test_batches_are_counts_or_percentages():
    assert cli.batches("1, 2,50%") == [1, 2, "50%"]
    for bad in ("0", "x", "150%", "-1"):
        with pytest.raises(VoipctlError, match="--batches"):
            cli.batches(bad)


def record(host, result, **kw):
    return {"host": host, "result": result, "before": {"voip-routing": "1.1"}, "after": {"voip-routing": "1.1"},
            "drift": [], "backup_point": "", "error": "", **kw}  # fmt: skip


def test_outcome_of_a_release_stopped_at_the_canary():
    records = {
        "cs1": record("cs1", "rolled back", backup_point="20261130T040000Z",
                      drift=[{"component": "voip-routing", "installed": "1.1", "target": "1.2"}],
                      error="Check that the routing library answers at the manifest's version: ..."),
    }  # fmt: skip
    recap = PlaybookResult(2, hosts={"cs1": {"failures": 1, "unreachable": 0, "changed": 9}})
    report = cli.outcome("r1", "2026.11.2", ["cs1", "cs2", "prov1"], records, recap)
    assert not report.completed and report.stopped_at == ["cs1"]
    assert [(h.host, h.result) for h in report.hosts] == [
        ("cs1", "rolled back"), ("cs2", "not reached"), ("prov1", "not reached"),
    ]  # fmt: skip
    assert report.hosts[0].change == "voip-routing 1.1 (target 1.2)"
    assert report.hosts[0].point == "20261130T040000Z"


def test_outcome_names_an_unreachable_host_and_a_change():
    records = {
        "cs1": record("cs1", "released", before={"voip-routing": "1.1"}, after={"voip-routing": "1.0"})
    }
    recap = PlaybookResult(4, hosts={"cs1": {"failures": 0, "unreachable": 0, "changed": 5},
                                     "cs2": {"failures": 0, "unreachable": 1, "changed": 0}})  # fmt: skip
    report = cli.outcome("r2", "2026.11.3", ["cs1", "cs2", "prov1"], records, recap)
    assert report.hosts[0].change == "voip-routing 1.1 -> 1.0"
    assert (report.hosts[1].result, report.stopped_at) == ("unreachable", ["cs2"])


def test_history_reads_every_run(tmp_path):
    for run, host in (("20261130T010000Z", "cs1"), ("20261130T020000Z", "cs2")):
        (tmp_path / "releases" / run).mkdir(parents=True)
        (tmp_path / "releases" / run / f"{host}.json").write_text(json.dumps(record(host, "released")))
    assert [(run, sorted(records)) for run, records in cli.history(tmp_path)] == [
        ("20261130T010000Z", ["cs1"]), ("20261130T020000Z", ["cs2"]),
    ]  # fmt: skip
    (tmp_path / "releases" / "20261130T020000Z" / "cs2.json").write_text("{")
    with pytest.raises(VoipctlError, match="unreadable release record"):
        cli.history(tmp_path)


def test_sip_account_of_a_directory_user():
    account = FilterModule().filters()["voip_sip_account"]
    users = [{"id": "ann", "extension": 2001}, {"id": "bob", "extension": 2002, "password_rotation": 2}]
    master = "m" * 32
    from voipctl.core import passwords

    assert account("bob", users, master) == {
        "user": "2002",
        "password": passwords.sip_password(master, "bob", 2),
    }
    with pytest.raises(Exception, match="no user 'eve'"):
        account("eve", users, master)
    with pytest.raises(Exception, match="master secret"):
        account("ann", users, "short")


def test_os_updates_pass_only_plain_validated_values_to_the_playbook():
    parser = argparse.ArgumentParser()
    os_updates.register(parser.add_subparsers())
    args = parser.parse_args(["os-updates", "--security-only", "--batches", "1,100%", "--check"])
    extra = os_updates.extra_vars("20261205T000000Z", args)
    assert json.loads(extra[1]) == {
        "release_run_id": "20261205T000000Z", "os_updates_security_only": True, "release_batches": [1, "100%"],
    }  # fmt: skip
    assert extra[2:] == ["--check", "--diff"]
    # A template in --batches never reaches Ansible (extra vars are templates).
    args = parser.parse_args(["os-updates", "--batches", "{{ lookup('pipe', 'id') }}"])
    with pytest.raises(VoipctlError, match="--batches"):
        os_updates.extra_vars("20261205T000000Z", args)


def test_os_update_rows_and_records_read_as_changes():
    rows = FilterModule().filters()["voip_os_update_rows"](
        [{"name": "netbase", "installed": "6.4", "candidate": "6.4+1", "security": True}]
    )
    assert rows == [
        {
            "component": "netbase",
            "package": "netbase",
            "installed": "6.4",
            "target": "6.4+1",
            "security": True,
        }
    ]
    text = cli.change_text({"result": "updated", "before": {"netbase": "6.4"}, "after": {"netbase": "6.4+1"},
                            "drift": rows, "reboot": ["libc6 changed (it takes effect at a reboot)"]})  # fmt: skip
    assert text == "netbase 6.4 -> 6.4+1, rebooted: libc6 changed (it takes effect at a reboot)"
