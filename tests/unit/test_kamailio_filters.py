"""The Kamailio filter plugin's own logic (the data itself is tested in test_derive_kamailio)."""

from __future__ import annotations

from ansible_collections.voip.estate.plugins.filter.voip_kamailio import voip_pin_versions


def test_pin_versions_pins_only_the_prefixed_packages():
    assert voip_pin_versions(["kamailio", "kamailio-sqlite-modules", "sqlite3"], "kamailio", "5.6.3") == [
        "kamailio=5.6.3*",
        "kamailio-sqlite-modules=5.6.3*",
        "sqlite3",
    ]
    assert voip_pin_versions(["kamailio"], "kamailio", "") == ["kamailio"]
