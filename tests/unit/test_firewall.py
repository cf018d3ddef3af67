"""voipctl.derive.firewall and the voip_firewall_rules filter: table-driven."""

from __future__ import annotations

import pytest

from voipctl.derive.firewall import FirewallDataError, firewall_rules

CATALOG = {
    "ssh": {"protocols": ["tcp"], "ports": [22], "sources": ["10.0.0.0/24", "2001:db8::/64"]},
    "sip": {"protocols": ["udp", "tcp"], "ports": [5060], "sources": ["10.1.0.0/16"]},
    "rtp": {"protocols": ["udp"], "ports": ["30000-40000"], "sources": "any"},
    "http": {"protocols": ["tcp"], "ports": [80, 8080], "sources": ["10.2.0.5"]},
}
BY_GROUP = {"all": ["ssh"], "call_servers": ["sip", "rtp"], "provisioning_servers": ["http"]}


def services(rules):
    return sorted({(r["service"], r["protocol"]) for r in rules})


def test_every_host_gets_the_all_group_services():
    assert services(firewall_rules(["backup_servers"], BY_GROUP, CATALOG)) == [("ssh", "tcp")]


def test_call_server_gets_sip_on_both_protocols_and_rtp():
    rules = firewall_rules(["linux", "call_servers"], BY_GROUP, CATALOG)
    assert services(rules) == [("rtp", "udp"), ("sip", "tcp"), ("sip", "udp"), ("ssh", "tcp")]


def test_sources_split_by_family_and_any():
    rules = {(r["service"], r["protocol"]): r for r in firewall_rules(["call_servers"], BY_GROUP, CATALOG)}
    assert rules[("ssh", "tcp")]["sources_v4"] == ["10.0.0.0/24"]
    assert rules[("ssh", "tcp")]["sources_v6"] == ["2001:db8::/64"]
    assert rules[("rtp", "udp")]["any_source"] is True
    assert rules[("rtp", "udp")]["ports"] == "30000-40000"


def test_single_address_becomes_host_network_and_ports_join():
    (http,) = [
        r for r in firewall_rules(["provisioning_servers"], BY_GROUP, CATALOG) if r["service"] == "http"
    ]
    assert http["sources_v4"] == ["10.2.0.5/32"]
    assert http["ports"] == "80, 8080"


def test_extra_services_are_added_once():
    rules = firewall_rules(["call_servers"], BY_GROUP, CATALOG, ["sip", "http"])
    assert services(rules).count(("sip", "udp")) == 1
    assert ("http", "tcp") in services(rules)


@pytest.mark.parametrize(
    ("by_group", "catalog", "extra", "message"),
    [
        ({"all": ["telnet"]}, CATALOG, [], "services_by_group['all'] names unknown service 'telnet'"),
        ({"all": "ssh"}, CATALOG, [], "services_by_group['all'] must be a list"),
        ({"all": []}, CATALOG, ["ftp"], "extra services name unknown service 'ftp'"),
        ({"all": ["x"]}, {"x": {"protocols": ["sctp"], "ports": [1]}}, [], "catalog['x'].protocols: 'sctp'"),
        ({"all": ["x"]}, {"x": {"ports": []}}, [], "catalog['x'].ports: at least one port"),
        ({"all": ["x"]}, {"x": {"ports": [70000]}}, [], "catalog['x'].ports: 70000 is outside"),
        ({"all": ["x"]}, {"x": {"ports": ["9-3"]}}, [], "catalog['x'].ports: '9-3' is outside"),
        ({"all": ["x"]}, {"x": {"ports": ["ssh"]}}, [], "catalog['x'].ports: 'ssh' is not a port"),
        ({"all": ["x"]}, {"x": {"ports": [1], "sources": ["10.0.0.300/8"]}}, [], "catalog['x'].sources[0]"),
        ({"all": ["x"]}, {"x": {"ports": [1], "sources": []}}, [], "catalog['x'].sources: empty"),
        (
            {"all": ["x"]},
            {"x": {"ports": [1], "sources": "lan"}},
            [],
            "catalog['x'].sources: 'any' or a list",
        ),
    ],
)
def test_bad_data_names_the_element(by_group, catalog, extra, message):
    with pytest.raises(FirewallDataError) as exc:
        firewall_rules(["call_servers"], by_group, catalog, extra)
    assert message in str(exc.value)


def test_filter_plugin_wraps_errors():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.voip.estate.plugins.filter.voip_firewall import FilterModule

    flt = FilterModule().filters()["voip_firewall_rules"]
    assert services(flt(["call_servers"], BY_GROUP, CATALOG)) == services(
        firewall_rules(["call_servers"], BY_GROUP, CATALOG)
    )
    with pytest.raises(AnsibleFilterError, match="unknown service 'nope'"):
        flt([], {"all": ["nope"]}, CATALOG)
