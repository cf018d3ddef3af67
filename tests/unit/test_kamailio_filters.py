"""The Kamailio filter plugin's own logic (the data itself is tested in test_derive_kamailio)."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.voip_kamailio import voip_pin_versions, voip_rows_json


def test_rows_json_gives_each_table_as_one_compact_json_string():
    data = {"subscribers": [{"username": "2001", "ha1": "x"}], "aliases": [], "domain": "ams.lab"}
    tables = voip_rows_json(data, ["subscribers", "aliases"])
    assert tables == {"subscribers": '[{"username":"2001","ha1":"x"}]', "aliases": "[]"}
    assert json.loads(tables["subscribers"]) == data["subscribers"]


def test_rows_json_names_a_missing_table():
    with pytest.raises(AnsibleFilterError, match="no trusted in the data"):
        voip_rows_json({"subscribers": []}, ["subscribers", "trusted"])


def test_pin_versions_pins_only_the_prefixed_packages():
    assert voip_pin_versions(["kamailio", "kamailio-sqlite-modules", "sqlite3"], "kamailio", "5.6.3") == [
        "kamailio=5.6.3*",
        "kamailio-sqlite-modules=5.6.3*",
        "sqlite3",
    ]
    assert voip_pin_versions(["kamailio"], "kamailio", "") == ["kamailio"]
