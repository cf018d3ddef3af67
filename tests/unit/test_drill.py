"""voiplab.drill: the report of a drill and the hosts it drills (the drill itself runs in the lab tests)."""

from __future__ import annotations

import pytest

from voipctl.errors import VoipctlError
from voiplab.drill import Report, _kind, not_bare


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


def test_call_servers_provisioning_servers_gateways_and_switches_are_drilled():
    groups = {
        "call_servers": ["cs1"], "provisioning_servers": ["prov1"], "gateways": ["gw1"],
        "access_switches": ["sw1"], "backup_servers": ["bak1"],
    }  # fmt: skip
    assert [_kind(groups, h) for h in ("cs1", "prov1", "gw1", "sw1")] == [
        "call_server", "provisioning_server", "gateway", "access_switch",
    ]  # fmt: skip
    with pytest.raises(
        VoipctlError, match="call servers, provisioning servers, gateways and access switches"
    ) as exc:
        _kind(groups, "bak1")
    assert exc.value.hint == "drill one of: cs1, gw1, prov1, sw1"


FACTORY_GATEWAY = """Building configuration...
!
version 17.6
!
hostname gw1
!
username admin privilege 15 secret 9 $9$a$b
!
interface GigabitEthernet0/0/0
 no ip address
!
end
"""
FACTORY_SWITCH = """hostname sw1
!
vlan 1
!
interface GigabitEthernet1/0/1
!
end
"""


def test_a_recreated_device_is_bare_without_what_the_model_puts_there():
    assert not_bare("gateway", FACTORY_GATEWAY) is None
    assert not_bare("access_switch", FACTORY_SWITCH) is None
    converged = FACTORY_GATEWAY.replace("end\n", "dial-peer voice 400 pots\n port 0/2/0\n!\nend\n")
    assert not_bare("gateway", converged) == "dial-peer voice"
    # A description mentioning a dial-peer is not one.
    assert (
        not_bare("gateway", FACTORY_GATEWAY.replace(" no ip", " description dial-peer voice 1\n no ip"))
        is None
    )
    voice = FACTORY_SWITCH.replace(
        "1/0/1\n", "1/0/1\n switchport access vlan 10\n switchport voice vlan 110\n"
    )
    assert not_bare("access_switch", voice) == "switchport voice vlan"
