"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_netdev (parse, plan, mask) and voipctl.derive.netdev (intended configurations)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    mask,
    overwritten,
    parse,
    plan,
    strip_volatile,
)
from voipctl.derive.netdev import (
    GATEWAY_MANAGED,
    NetdevDataError,
    gateway_config,
    ios_patterns,
    range_patterns,
    switch_config,
)

ROOT = Path(__file__).resolve().parents[2]

RUNNING = """Building configuration...

Current configuration : 310 bytes
!
! Last configuration change at 09:27:53 UTC Sun Nov 22 2026 by admin
version 17.6
!
hostname gw1
username admin privilege 15 secret 9 $9$abc$def
!
dial-peer voice 400 pots
 description FXS
 destination-pattern 2999
 port 0/2/0
!
dial-peer voice 999 voip
 description by hand
!
interface GigabitEthernet0/0/0
 no ip address
!
end
"""

INTENDED = """hostname gw1
dial-peer voice 400 pots
 description FXS
 destination-pattern 2990
 port 0/2/0
dial-peer voice 401 pots
 destination-pattern 2991
"""


def test_parse_drops_header_separators_and_volatile_lines():
    tree = parse(RUNNING)
    assert [line for line, _ in tree] == [
        "hostname gw1", "username admin privilege 15 secret 9 $9$abc$def", "dial-peer voice 400 pots",
        "dial-peer voice 999 voip", "interface GigabitEthernet0/0/0",
    ]  # fmt: skip
    assert tree[2][1] == [("description FXS", []), ("destination-pattern 2999", []), ("port 0/2/0", [])]
    assert "Last configuration change" not in strip_volatile(RUNNING)
    assert strip_volatile(RUNNING) == strip_volatile(
        RUNNING.replace("09:27:53", "10:00:00").replace("310", "999")
    )


def test_plan_repairs_blocks_adds_missing_and_removes_only_managed_extras():
    todo = plan(RUNNING, INTENDED, ["^dial-peer voice "])
    assert todo["commands"] == [
        "dial-peer voice 400 pots", " no destination-pattern 2999", " destination-pattern 2990",
        "dial-peer voice 401 pots", " destination-pattern 2991",
        "no dial-peer voice 999 voip",
    ]  # fmt: skip
    assert todo["removed"] == [
        "dial-peer voice 400 pots / destination-pattern 2999",
        "dial-peer voice 999 voip",
    ]
    # Unmanaged lines (the username, the interface) are left alone; converged means no command.
    converged = RUNNING.replace("2999", "2990").replace(
        "dial-peer voice 999 voip\n description by hand\n", ""
    )
    assert plan(converged + INTENDED.split("dial-peer voice 401")[0], INTENDED, ["^dial-peer voice "])
    assert plan(INTENDED, INTENDED, ["^dial-peer voice "])["commands"] == []


BACKUP = """hostname gw1
username admin privilege 15 secret 9 $9$new$hash
dial-peer voice 400 pots
 description FXS
 destination-pattern 2999
 port 0/2/0
interface GigabitEthernet0/0/0
 no ip address
"""


def test_replace_removes_every_line_not_in_the_backup_but_not_an_overwritten_setting():
    drifted = RUNNING + "interface Loopback0\n no ip address\nip name-server 10.0.0.1\n"
    todo = plan(drifted, BACKUP, ["^dial-peer voice "], replace=True)
    assert todo["commands"] == [
        "username admin privilege 15 secret 9 $9$new$hash",
        "no dial-peer voice 999 voip", "no interface Loopback0", "no ip name-server 10.0.0.1",
    ]  # fmt: skip
    # The old secret of the same user is overwritten by the push, not negated
    # (``no username admin ...`` would remove the user just pushed); it is
    # still shown as removed.
    assert "username admin privilege 15 secret 9 $9$abc$def" in todo["removed"]
    # Without replace, only the managed extra goes.
    assert plan(drifted, BACKUP, ["^dial-peer voice "])["commands"] == [
        "username admin privilege 15 secret 9 $9$new$hash", "no dial-peer voice 999 voip",
    ]  # fmt: skip
    # Restored: nothing left, and a line the push did not overwrite after all is removed then.
    assert plan(BACKUP, BACKUP, [], replace=True)["commands"] == []
    kept = BACKUP + "username admin privilege 15 secret 9 $9$abc$def\n"
    assert plan(kept, BACKUP, [], replace=True)["commands"] == [
        "no username admin privilege 15 secret 9 $9$abc$def"
    ]


@pytest.mark.parametrize(
    ("line", "pushed", "expected"),
    [
        ("hostname gw1", ["hostname gw2"], True),
        ("enable secret 9 $9$a", ["enable secret 9 $9$b"], True),
        ("username bob privilege 15 secret 9 $9$a", ["username admin privilege 15 secret 9 $9$b"], False),
        ("username admin privilege 15 secret 9 $9$a", ["username admin secret 9 $9$b"], False),
        ("mls qos", ["mls qos"], False),
        ("hostname", ["hostname gw2"], False),
    ],
)
def test_overwritten_is_the_same_setting_with_another_value(line, pushed, expected):
    assert overwritten(line, pushed) is expected


def test_negating_a_no_line_restores_it():
    todo = plan("interface Serial0/1/0:15\n no cdp enable\n", "interface Serial0/1/0:15\n", [])
    assert todo["commands"] == ["interface Serial0/1/0:15", " cdp enable"]


def test_a_no_line_that_an_intended_value_sets_is_not_negated():
    todo = plan("interface Gi0/0/0\n no ip address\n", "interface Gi0/0/0\n ip address 10.0.0.1 255.0.0.0\n")
    assert todo["commands"] == ["interface Gi0/0/0", " ip address 10.0.0.1 255.0.0.0"]
    assert todo["removed"] == ["interface Gi0/0/0 / no ip address"]


def test_secrets_are_masked():
    assert (
        mask("username admin privilege 15 secret 9 $9$abc") == "username admin privilege 15 secret 9 ********"
    )
    assert mask("enable secret s3cret") == "enable secret ********"
    # Conservative: whatever follows one of the words is masked, even in a description.
    assert mask("description FXS port") == "description FXS port"
    assert mask("description the key 42") == "description the key ********"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        ("2000", "2999", ["2..."]),
        ("2041", "2117", ["204[1-9]", "20[5-9].", "210.", "211[0-7]"]),
        ("+31201234900", "+31201234999", ["+312012349.."]),
        ("2990", "2990", ["2990"]),
    ],
)
def test_ios_patterns_match_exactly_the_range(low, high, expected):
    patterns = ios_patterns(low, high)
    assert patterns == expected
    regex = re.compile("|".join(p.replace("+", r"\+").replace(".", "[0-9]") for p in patterns))
    lo, hi = int(low.lstrip("+")), int(high.lstrip("+"))
    width = len(low.lstrip("+"))
    prefix = "+" if low.startswith("+") else ""
    for n in range(max(0, lo - 150), min(10**width, hi + 150)):
        assert bool(regex.fullmatch(f"{prefix}{n:0{width}d}")) == (lo <= n <= hi), n


def test_ios_patterns_refuse_a_bad_range():
    with pytest.raises(NetdevDataError, match="not a range"):
        ios_patterns("300", "2000")


def test_model_ranges_are_read_by_the_models_parser():
    assert range_patterns("0100-0199", e164=False, what="x") == ["01.."]
    assert range_patterns("+31201234900-+31201234999", e164=True, what="x") == ["+312012349.."]
    with pytest.raises(NetdevDataError, match=r"voip_sites\.ams\.extensions: .*range is empty"):
        range_patterns("2999-2000", e164=False, what="voip_sites.ams.extensions")


def load(path: str):
    return yaml.safe_load((ROOT / path).read_text())


def test_lab_gateway_and_switch_configurations():
    sites = load("inventory/lab/group_vars/all/sites.yml")["voip_sites"]
    gw = load("inventory/lab/host_vars/gw1/gateway.yml")["voip_gateway"]
    servers = [
        {"name": "cs2", "site": "thr", "address": "10.0.0.12"},
        {"name": "cs1", "site": "ams", "address": "10.0.0.11"},
    ]
    text = gateway_config("gw1", gateway=gw, site="ams", sites=sites, call_servers=servers)
    tree = dict(parse(text))
    # The site's own call server first (preference 0), the other as fallback.
    assert ("session target ipv4:10.0.0.11:5060", []) in tree["dial-peer voice 100 voip"]
    assert ("preference 1", []) in tree["dial-peer voice 102 voip"]
    assert ("destination-pattern 2990", []) in tree["dial-peer voice 400 pots"]
    assert ("connection plar opx 2900", []) in tree["voice-port 0/3/0"]
    assert ("pri-group timeslots 1-31", []) in tree["controller E1 0/1/0"]
    # Every voice-port the device creates for the PRI is in the model (managed lines are removed otherwise).
    assert "voice-port 0/1/0:15" in tree and "^voice-port " in GATEWAY_MANAGED
    sw = load("inventory/lab/host_vars/sw1/switch.yml")["voip_switch"]
    switch = dict(parse(switch_config("sw1", switch=sw, site="ams", sites=sites)))
    assert ("switchport voice vlan 110", []) in switch["interface GigabitEthernet1/0/1"]
    assert ("mls qos trust dscp", []) in switch["interface GigabitEthernet1/0/1"]
    assert switch["interface GigabitEthernet1/0/48"] == [("description uplink", [])]


@pytest.mark.parametrize(
    ("channels", "e1", "timeslots"),
    [(30, True, "1-31"), (10, True, "1-10,16"), (15, True, "1-16"), (20, True, "1-21"), (1, True, "1,16"),
     (23, False, "1-24"), (12, False, "1-12,24")],
)  # fmt: skip
def test_a_pri_span_takes_the_timeslots_of_its_channels(channels, e1, timeslots):
    """The model's channels of a span: a 10-channel E1 uses timeslots 1-10 and its D-channel 16."""
    from voipctl.derive.netdev import pri_timeslots

    assert pri_timeslots(channels, e1=e1) == timeslots


def test_emergency_numbers_leave_the_gateway_over_its_pri_then_through_the_call_servers():
    """An analog port's 112 (a door or lift phone) has a way out even without the call server."""
    from voipctl.derive.netdev import gateway_config

    sites = {"ams": {"extensions": "2000-2999", "emergency": ["112"]}}
    gateway = {"pri_spans": [{"port": "0/1/0", "switchtype": "primary-net5", "channels": 30}],
               "fxs_ports": [{"port": "0/2/0", "extension": 2990}]}  # fmt: skip
    servers = [{"name": "cs1", "site": "ams", "address": "10.0.0.11"}]
    text = gateway_config("gw1", gateway=gateway, site="ams", sites=sites, call_servers=servers)
    pri = text.index(
        "dial-peer voice 600 pots\n description emergency 112 via PRI 0/1/0\n destination-pattern 112\n"
    )
    voip = text.index(
        "dial-peer voice 800 voip\n description emergency 112 to call server cs1\n destination-pattern 112\n"
    )
    assert " port 0/1/0:15\n forward-digits all\n preference 0\n" in text[pri:voip]
    assert " preference 1\n" in text[voip:]


def test_the_netdev_filters_build_from_hostvars_and_name_their_errors():
    """voip_gateway_config and voip_switch_config: the derive functions on a host's variables."""
    from ansible.errors import AnsibleFilterError

    from ansible_collections.voip.estate.plugins.filter.voip_netdev import (
        voip_gateway_config,
        voip_switch_config,
    )

    sites = load("inventory/lab/group_vars/all/sites.yml")["voip_sites"]
    sw = load("inventory/lab/host_vars/sw1/switch.yml")["voip_switch"]
    gw = load("inventory/lab/host_vars/gw1/gateway.yml")["voip_gateway"]
    hostvars = {
        "sw1": {"voip_site": "ams", "voip_sites": sites, "voip_switch": sw},
        "gw1": {"voip_site": "ams", "voip_sites": sites, "voip_gateway": gw},
        "cs1": {"voip_site": "ams", "ansible_host": "10.0.0.11"},
    }
    assert voip_switch_config("sw1", hostvars) == switch_config("sw1", switch=sw, site="ams", sites=sites)
    servers = [{"name": "cs1", "site": "ams", "address": "10.0.0.11", "sip_domain": None, "sip_port": 5060}]
    assert voip_gateway_config("gw1", hostvars, {"call_servers": ["cs1"]}) == gateway_config(
        "gw1", gateway=gw, site="ams", sites=sites, call_servers=servers
    )
    with pytest.raises(AnsibleFilterError, match=r"^voip_switch_config\(sw1\): 'voip_sites'"):
        voip_switch_config("sw1", {"sw1": {"voip_site": "ams"}})
    with pytest.raises(AnsibleFilterError, match=r"^voip_gateway_config\(gw1\): .*no call server"):
        voip_gateway_config("gw1", hostvars, {})
