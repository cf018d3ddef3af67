"""voipctl.drill: the report of a drill and the hosts it drills (the drill itself runs in the lab tests)."""

from __future__ import annotations

import pytest

from voipctl.drill import Report, _kind
from voipctl.errors import VoipctlError


def test_report_stops_being_ok_at_the_first_failure():
    report = Report("cs1")
    assert report.run("one", lambda: "fine")
    assert report.ok

    def boom() -> str:
        raise VoipctlError("restore.yml failed (exit 2): no point")

    assert not report.run("two", boom)
    assert not report.ok
    assert [(s.name, s.result) for s in report.steps] == [("one", "ok"), ("two", "FAILED")]
    assert report.steps[1].detail == "restore.yml failed (exit 2): no point"
    assert "FAILED" in report.table().title


def test_only_call_and_provisioning_servers_are_drilled():
    groups = {"call_servers": ["cs1"], "provisioning_servers": ["prov1"], "gateways": ["gw1"]}
    assert _kind(groups, "cs1") == "call_server" and _kind(groups, "prov1") == "provisioning_server"
    with pytest.raises(VoipctlError, match="call servers and provisioning servers"):
        _kind(groups, "gw1")
