"""The Kamailio filter plugin's own logic (the data itself is tested in test_derive_kamailio)."""

from __future__ import annotations

from ansible_collections.voip.estate.plugins.filter.voip_kamailio import voip_pin_versions, voip_site_members


def test_pin_versions_pins_only_the_prefixed_packages():
    assert voip_pin_versions(["kamailio", "kamailio-sqlite-modules", "sqlite3"], "kamailio", "5.6.3") == [
        "kamailio=5.6.3*",
        "kamailio-sqlite-modules=5.6.3*",
        "sqlite3",
    ]
    assert voip_pin_versions(["kamailio"], "kamailio", "") == ["kamailio"]


def test_site_members_are_the_other_call_servers_of_the_site_and_only_for_a_call_server():
    hostvars = {
        "cs1": {"voip_site": "ams", "ansible_host": "10.0.0.11"},
        "cs3": {"voip_site": "ams", "ansible_host": "10.0.0.13"},
        "cs2": {"voip_site": "thr", "ansible_host": "10.0.0.12"},
        "prov1": {"voip_site": "ams", "ansible_host": "10.0.0.21"},
    }
    groups = {"call_servers": ["cs1", "cs2", "cs3"], "provisioning_servers": ["prov1"]}
    assert voip_site_members("cs1", hostvars, groups) == ["10.0.0.13"]
    assert voip_site_members("cs3", hostvars, groups) == ["10.0.0.11"]
    assert voip_site_members("cs2", hostvars, groups) == []
    # A host of the same site that is no call server opens nothing to them.
    assert voip_site_members("prov1", hostvars, groups) == []
