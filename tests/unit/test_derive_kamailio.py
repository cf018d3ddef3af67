"""voipctl.derive.kamailio and .secrets: what a call server gets from the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from voipctl.core import passwords
from voipctl.derive import secrets
from voipctl.derive.kamailio import KamailioDataError, call_server_data
from voipctl.model.schema import CTI_RIGHTS

ROOT = Path(__file__).resolve().parents[2]

MASTER = "m" * 32
SITES = {
    "ams": {"extensions": "2000-2999", "dids": "+31201234000-+31201234999", "emergency": ["112"],
            "main_number": "+31201234000"},
    "thr": {"extensions": "3000-3999", "dids": "+982188110000-+982188110999", "emergency": ["110", "115"]},
}  # fmt: skip
USERS = [
    {"id": "a", "site": "ams", "extension": 2001, "did": "+31201234001", "class_of_service": "internal",
     "grants": [{"feature": "international", "until": "2026-12-31", "reason": "r"}],
     "features": {"dnd": True, "call_forward": {"busy": 2002}, "hunt_groups": ["rec"]}},
    {"id": "b", "site": "ams", "extension": 2002, "class_of_service": "national", "features": {"hunt_groups": ["rec"]}},
    {"id": "c", "site": "ams", "extension": 2003, "class_of_service": "national", "status": "leaver"},
    {"id": "d", "site": "thr", "extension": 3001, "class_of_service": "national"},
]  # fmt: skip


# The trunks' passwords, by vault variable (a trunk without credentials_ref gets TRUNK_REF).
TRUNK_REF = "vault_trunk_password"
TRUNK_SECRETS = {TRUNK_REF: "Tr-unk/pa55:word", "vault_other": "0ther-Tr-unk-pa55"}


def data(**kw):
    args = dict(
        site="ams", address="10.0.0.11", call_server={"sip_domain": "ams.test"}, sites=SITES, users=USERS,
        hunt_groups=[{"id": "rec", "site": "ams", "extension": 2900}],
        trunks=[{"name": "t1", "site": "ams", "address": "10.0.0.61", "carrier": "c"}],
        peers=[{"name": "cs2", "site": "thr", "address": "10.0.0.12"}],
        master_secret=MASTER, today="2026-11-22", trunk_secrets=TRUNK_SECRETS,
    )  # fmt: skip
    args.update(kw)
    args["trunks"] = [{"credentials_ref": TRUNK_REF, **t} for t in args["trunks"]]
    return call_server_data("cs1", **args)


def prefs(d, user):
    return {p["attribute"]: p["value"] for p in d["preferences"] if p["username"] == user}


def test_only_active_local_users_get_accounts_with_ha1():
    d = data()
    assert [s["username"] for s in d["subscribers"]] == ["2001", "2002"]
    pw = passwords.sip_password(MASTER, "a")
    assert d["subscribers"][0]["ha1"] == secrets.ha1("2001", "ams.test", pw)
    assert "password" not in d["subscribers"][0]


def test_grant_raises_class_of_service_until_its_date():
    assert prefs(data(), "2001")["cos"] == "international"
    assert prefs(data(today="2027-01-01"), "2001")["cos"] == "internal"


def test_features_and_caller_id():
    p = prefs(data(), "2001")
    assert p["dnd"] == "1" and p["cfb"] == "2002" and p["did"] == "+31201234001"
    assert "did" not in prefs(data(), "2002")


def test_did_aliases_and_hunt_groups_by_preferences():
    aliases = {(a["alias_username"], a["username"]) for a in data()["aliases"]}
    assert aliases == {("+31201234001", "2001")}
    group = {"id": "rec", "site": "ams", "extension": 2900, "did": "+31201234900", "strategy": "round_robin",
             "ring_timeout": 7, "overflow": 2003}  # fmt: skip
    d = data(hunt_groups=[group])
    # The group's DID reaches the group's number; the members ring by the group's preferences.
    assert ("+31201234900", "2900") in {(a["alias_username"], a["username"]) for a in d["aliases"]}
    assert prefs(d, "2900") == {
        "hg": "round_robin",
        "hgm": "2001,2002",
        "hgn": "2",
        "hgt": "7000",
        "hgo": "2003",
    }


def test_peers_trunks_and_routing_ranges():
    d = data()
    assert {t["tag"] for t in d["trusted"]} == {"callserver:cs2", "trunk:t1"}
    assert d["dispatcher"][0]["destination"] == "sip:10.0.0.61:5060;transport=udp"
    assert d["peers"] == [{"site": "thr", "setid": 100, "ext_from": 3000, "ext_to": 3999,
                           "servers": [{"name": "cs2", "address": "10.0.0.12", "port": 5060}]}]  # fmt: skip
    assert d["site_members"] == []
    assert d["local"]["emergency"] == ["112"]


PAIR_PEERS = [
    {"name": "cs4", "site": "thr", "address": "10.0.0.14", "port": 5070},
    {"name": "cs3", "site": "ams", "address": "10.0.0.13"},
    {"name": "cs2", "site": "thr", "address": "10.0.0.12"},
]


def test_a_pair_member_shares_registrations_with_the_other_and_relays_nothing_to_it():
    d = data(peers=PAIR_PEERS)
    assert d["site_members"] == [{"name": "cs3", "address": "10.0.0.13"}]
    # Its own site is local on both members: no relay range towards cs3.
    assert [p["site"] for p in d["peers"]] == ["thr"]
    # cs3 is a trusted peer (its calls and probes) and a contact may never point at it.
    assert "callserver:cs3" in {t["tag"] for t in d["trusted"]}
    assert "10.0.0.13" in d["peer_addresses"]


def test_another_sites_pair_is_one_probed_dispatcher_set_first_by_name():
    d = data(peers=PAIR_PEERS)
    (thr,) = d["peers"]
    assert [s["name"] for s in thr["servers"]] == ["cs2", "cs4"]
    rows = sorted((r for r in d["dispatcher"] if r["setid"] == thr["setid"]), key=lambda r: -r["priority"])
    assert [(r["destination"], r["flags"]) for r in rows] == [
        ("sip:10.0.0.12:5060", 8),
        ("sip:10.0.0.14:5070", 8),
    ]
    # The PSTN routes are never probed (a carrier need not answer OPTIONS).
    assert all(r["flags"] == 0 for r in d["dispatcher"] if r["setid"] < 100)


def test_both_members_of_a_pair_get_the_same_user_tables():
    one = data(peers=PAIR_PEERS)
    other = call_server_data(
        "cs3", site="ams", address="10.0.0.13", call_server={"sip_domain": "ams.test"}, sites=SITES, users=USERS,
        hunt_groups=[{"id": "rec", "site": "ams", "extension": 2900}],
        trunks=[{"name": "t1", "site": "ams", "address": "10.0.0.61", "carrier": "c", "credentials_ref": TRUNK_REF}],
        peers=[{"name": "cs1", "site": "ams", "address": "10.0.0.11"}, *PAIR_PEERS[:1], PAIR_PEERS[2]],
        master_secret=MASTER, today="2026-11-22", trunk_secrets=TRUNK_SECRETS,
    )  # fmt: skip
    for table in ("subscribers", "aliases", "preferences", "dispatcher", "peers"):
        assert one[table] == other[table], table
    assert other["site_members"] == [{"name": "cs1", "address": "10.0.0.11"}]


def test_trusted_peers_are_pinned_by_address_port_and_transport():
    trunks = [
        {"name": "t1", "site": "ams", "address": "10.0.0.61", "port": 5080, "carrier": "c"},
        {
            "name": "t2",
            "site": "ams",
            "address": "10.0.0.62",
            "transport": "tls",
            "port": 5061,
            "carrier": "c",
        },
        {"name": "t3", "site": "ams", "address": "10.0.0.63", "transport": "tcp", "carrier": "c"},
        {"name": "t9", "site": "thr", "address": "10.0.0.69", "carrier": "c"},
    ]
    gateways = [{"name": "gw1", "site": "ams", "address": "10.0.0.41"}]
    rows = {(r["grp"], r["ip_addr"], r["port"]) for r in data(trunks=trunks, gateways=gateways)["trusted"]}
    # UDP peers: group 1 and their SIP port; TCP (2) and TLS (3) connect from any port.
    assert {(1, "10.0.0.61", 5080), (3, "10.0.0.62", 0), (2, "10.0.0.63", 0)} <= rows
    assert {(1, "10.0.0.12", 5060), (1, "10.0.0.41", 5060)} <= rows
    # No peer is trusted from any port over UDP, nor over another transport.
    assert not {r for r in rows if r[0] == 1 and r[2] == 0}
    assert (1, "10.0.0.62", 5061) not in rows and (2, "10.0.0.61", 0) not in rows
    # Every local peer's host (any port) is in group 9: a registered contact may not point there.
    assert {r[1] for r in rows if r[0] == 9} == {
        "10.0.0.61",
        "10.0.0.62",
        "10.0.0.63",
        "10.0.0.41",
        "10.0.0.12",
    }
    # Another site's trunk is not trusted here, but it is a peer a contact may not point at.
    assert "10.0.0.69" not in {r[1] for r in rows}
    assert "10.0.0.69" in data(trunks=trunks)["peer_addresses"]


def test_a_peer_named_twice_gets_one_row_per_key():
    trunks = [
        {"name": "t1", "site": "ams", "address": "10.0.0.61", "carrier": "c"},
        {"name": "t1b", "site": "ams", "address": "10.0.0.61", "carrier": "c"},
    ]
    rows = [(r["grp"], r["ip_addr"], r["mask"], r["port"]) for r in data(trunks=trunks)["trusted"]]
    assert len(rows) == len(set(rows))


def test_voice_networks_are_every_sites_voice_subnets():
    sites = {
        "ams": {**SITES["ams"], "voice_subnets": ["10.100.0.0/16"]},
        "thr": {**SITES["thr"], "voice_subnets": ["10.101.0.0/16", "10.102.0.0/24"]},
    }
    assert data(sites=sites)["voice_networks"] == ["10.100.0.0/16", "10.101.0.0/16", "10.102.0.0/24"]
    assert data()["voice_networks"] == []


def test_cti_account_gets_methods_of_its_rights_and_a_digest_row():
    accounts = [
        {"name": "rec", "source_networks": ["10.0.0.0/24"], "rights": ["monitor"], "credentials_ref": "v"}
    ]
    d = data(cti_accounts=accounts, cti_secrets={"v": "s3cret"}, cti_rights_methods={"monitor": ["ul.dump"]})
    # What kamailio.cfg is rendered from carries no credential material ...
    assert d["cti"] == [{"name": "rec", "user": "rec", "networks": ["10.0.0.0/24"], "methods": ["ul.dump"]}]
    # ... the digest goes to the database's htable.
    assert d["cti_credentials"] == [{"key_name": "rec", "key_type": 0, "value_type": 0,
                                     "key_value": secrets.basic_digest("rec", "s3cret"), "expires": 0}]  # fmt: skip
    assert "s3cret" not in repr(d)


def test_role_maps_every_cti_right_of_the_model():
    defaults = yaml.safe_load(
        (
            ROOT / "collections/ansible_collections/voip/estate/roles" / "kamailio" / "defaults" / "main.yml"
        ).read_text()
    )
    assert set(defaults["kamailio_cti_rights_methods"]) == set(CTI_RIGHTS)


def denied_rpc(method: str) -> dict:
    """call_server_data arguments: a CTI right that maps to ``method`` too."""
    return {
        "cti_accounts": [{"name": "r", "rights": ["monitor"], "credentials_ref": "v"}],
        "cti_secrets": {"v": "s3cret"},
        "cti_rights_methods": {"monitor": ["ul.dump", method]},
    }


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"site": "xxx"}, "site 'xxx' is not in voip_sites"),
        ({"call_server": {}}, "sip_domain is not set"),
        (
            {"cti_accounts": [{"name": "r", "rights": ["nope"], "credentials_ref": "v"}]},
            "right 'nope' has no methods",
        ),
        (
            {"cti_accounts": [{"name": "r", "rights": [], "credentials_ref": "v"}]},
            "secret 'v' is not in the vault",
        ),
        # uac.reg_info prints a trunk's password; htable.dump the CTI digests.
        *(
            (denied_rpc(method), f"methods {method} show or change the call server's accounts and secrets")
            for method in ("uac.reg_info", "uac.reg_dump", "htable.dump", "cfg.set_now_int")
        ),
        # YAML read an unquoted password as a number: the carrier would get "44123456" or worse.
        (
            {"trunk_secrets": {TRUNK_REF: 44123456}},
            "vault_trunk_password is not a string: quote it in the vault",
        ),
    ],
)
def test_missing_data_is_named(kw, message):
    with pytest.raises(KamailioDataError, match=message):
        data(**kw)


def test_short_master_secret_is_refused_without_showing_it():
    with pytest.raises(passwords.SecretError) as exc:
        passwords.sip_password("Qx7-tiny", "a")
    assert "Qx7-tiny" not in str(exc.value)


def test_passwords_differ_per_user_and_rotation():
    assert len({passwords.sip_password(MASTER, u, r) for u in "ab" for r in (0, 1)}) == 4


def test_filter_gives_tables_as_json_on_request():
    import json

    from ansible.errors import AnsibleFilterError

    from ansible_collections.voip.estate.plugins.filter.voip_kamailio import voip_kamailio_data

    common = {
        "voip_sites": SITES,
        "voip_users": USERS,
        "voip_hunt_groups": [{"id": "rec", "site": "ams", "extension": 2900}],
    }
    hostvars = {
        "cs1": {**common, "voip_site": "ams", "ansible_host": "10.0.0.11", "voip_call_server": {"sip_domain": "ams.test"}},
        "cs2": {**common, "voip_site": "thr", "ansible_host": "10.0.0.12", "voip_call_server": {"sip_domain": "thr.test"}},
    }  # fmt: skip
    groups = {"call_servers": ["cs1", "cs2"]}
    whole = voip_kamailio_data("cs1", hostvars, groups, MASTER, today="2026-11-22")
    tables = voip_kamailio_data(
        "cs1", hostvars, groups, MASTER, today="2026-11-22", rows_json=["subscribers", "aliases"]
    )
    assert set(tables) == set(whole)
    for name in ("subscribers", "aliases"):
        assert isinstance(tables[name], str) and ", " not in tables[name]
        assert json.loads(tables[name]) == whole[name]
    assert {k: v for k, v in tables.items() if k not in ("subscribers", "aliases")} == {
        k: v for k, v in whole.items() if k not in ("subscribers", "aliases")
    }
    with pytest.raises(AnsibleFilterError, match=r"rows_json names unknown table\(s\) bogus"):
        voip_kamailio_data("cs1", hostvars, groups, MASTER, today="2026-11-22", rows_json=["bogus"])


def test_fxs_ports_of_the_sites_gateways_are_aliases_to_the_gateway():
    gateways = [
        {"name": "gw1", "site": "ams", "address": "10.0.0.41", "fxs_extensions": ["2990", "2991"]},
        {"name": "gw2", "site": "thr", "address": "10.0.0.42", "fxs_extensions": ["3990"]},
    ]
    aliases = data(gateways=gateways)["aliases"]
    assert {
        "alias_username": "2990",
        "alias_domain": "ams.test",
        "username": "2990",
        "domain": "10.0.0.41",
    } in aliases
    assert not [a for a in aliases if a["alias_username"] == "3990"], (
        "another site's gateway ports are not here"
    )
    trusted = {t["ip_addr"] for t in data(gateways=gateways)["trusted"]}
    assert "10.0.0.41" in trusted and "10.0.0.42" not in trusted


def test_hosts_give_call_servers_and_gateways_from_hostvars():
    from voipctl.adapters.hosts import call_servers, gateways

    hostvars = {
        "cs1": {"voip_site": "ams", "ansible_host": "10.0.0.11", "voip_call_server": {"sip_domain": "ams.test"}},
        "gw1": {"voip_site": "ams", "ansible_host": "10.0.0.41",
                "voip_gateway": {"fxs_ports": [{"port": "0/2/0", "extension": 2990}]}},
    }  # fmt: skip
    groups = {"call_servers": ["cs1"], "gateways": ["gw1"]}
    assert call_servers(hostvars, groups) == [
        {"name": "cs1", "site": "ams", "address": "10.0.0.11", "sip_domain": "ams.test", "sip_port": 5060}
    ]
    assert gateways(hostvars, groups) == [
        {"name": "gw1", "site": "ams", "address": "10.0.0.41", "fxs_extensions": ["2990"], "pri_spans": 0}
    ]


# --- the model is law: grants, no-answer timeout, hunt groups, PSTN routes -------------------


def test_a_voicemail_grant_gives_voicemail_until_its_date_and_not_after():
    user = {"id": "e", "site": "ams", "extension": 2005, "class_of_service": "internal",
            "grants": [{"feature": "voicemail", "until": "2026-12-31", "reason": "r"}]}  # fmt: skip
    uri = "sip:{extension}@vm.test"
    assert prefs(data(users=[user], voicemail_uri=uri), "2005")["vm"] == "sip:2005@vm.test"
    assert (
        prefs(data(users=[user], voicemail_uri=uri, today="2026-12-31"), "2005")["vm"] == "sip:2005@vm.test"
    )
    assert "vm" not in prefs(data(users=[user], voicemail_uri=uri, today="2027-01-01"), "2005")


def test_no_answer_timeout_and_forward_reach_the_call_server():
    user = {"id": "e", "site": "ams", "extension": 2005, "class_of_service": "internal",
            "features": {"call_forward": {"no_answer": 2001, "no_answer_timeout": 9}}}  # fmt: skip
    p = prefs(data(users=[user]), "2005")
    assert p["cfna"] == "2001" and p["nat"] == "9000"


def test_caller_id_is_the_did_else_the_sites_main_number():
    assert prefs(data(), "2001")["cli"] == "+31201234001"
    assert prefs(data(), "2002")["cli"] == "+31201234000"
    sites = {**SITES, "ams": {k: v for k, v in SITES["ams"].items() if k != "main_number"}}
    assert "cli" not in prefs(data(sites=sites), "2002")


def test_hunt_group_overflow_to_voicemail_is_the_groups_mailbox():
    group = {"id": "rec", "site": "ams", "extension": 2900, "strategy": "ring_all", "overflow": "voicemail"}
    p = prefs(data(hunt_groups=[group], voicemail_uri="sip:{extension}@vm.test"), "2900")
    assert p["hgvm"] == "sip:2900@vm.test" and "hgo" not in p and "hgt" not in p


TRUNKS = [
    {"name": "ams-a", "site": "ams", "address": "10.0.0.61", "carrier": "c", "classes_of_service": ["national"],
     "did_ranges": ["+31201234000-+31201234999"], "channels": 30},
    {"name": "ams-b", "site": "ams", "address": "10.0.0.62", "carrier": "c", "transport": "tls", "port": 5061,
     "classes_of_service": ["national", "international"], "did_ranges": ["+31201234000-+31201234999"]},
    {"name": "thr-a", "site": "thr", "address": "10.0.0.63", "carrier": "c", "classes_of_service": ["national"],
     "did_ranges": ["+982188110000-+982188110999", "+31201234500-+31201234599"]},
    {"name": "far", "site": "thr", "address": "10.0.0.64", "carrier": "c", "classes_of_service": ["national"],
     "did_ranges": ["+4930000000-+4930000999"]},
]  # fmt: skip
GATEWAYS = [{"name": "gw1", "site": "ams", "address": "10.0.0.41", "pri_spans": 1},
            {"name": "gw9", "site": "ams", "address": "10.0.0.49", "pri_spans": 0}]  # fmt: skip


def test_pstn_routes_by_class_of_service_then_gateways_with_pri():
    from voipctl.derive.kamailio import pstn_routes

    routes = pstn_routes("ams", SITES, TRUNKS, GATEWAYS)
    names = {kind: [r["name"] for r in found] for kind, found in routes.items()}
    assert names["national"] == ["ams-a", "ams-b", "gw1"]
    assert names["international"] == ["ams-b", "gw1"]
    # Emergency: every own trunk, the PRI gateway, then another site's trunk carrying the site's DIDs.
    assert names["emergency"] == ["ams-a", "ams-b", "gw1", "thr-a"]
    assert routes["emergency"][1]["uri"] == "sip:10.0.0.62:5061;transport=tls"
    # A site's own list of trunks wins, in its order.
    sites = {**SITES, "ams": {**SITES["ams"], "trunks": ["ams-b", "ams-a"]}}
    assert [r["name"] for r in pstn_routes("ams", sites, TRUNKS, GATEWAYS)["national"]] == [
        "ams-b",
        "ams-a",
        "gw1",
    ]


def test_a_site_without_own_trunk_reaches_emergency_over_another_sites_trunk():
    from voipctl.derive.kamailio import pstn_routes

    routes = pstn_routes(
        "thr", {**SITES, "thr": {**SITES["thr"], "trunks": []}}, TRUNKS[:1] + TRUNKS[2:3], []
    )
    assert [r["name"] for r in routes["emergency"]] == ["thr-a"]
    routes = pstn_routes("thr", SITES, [TRUNKS[0]], [])
    assert routes["emergency"] == [], "ams-a carries no number of thr"


def test_dispatcher_sets_are_ordered_by_priority_and_trunk_channels_are_counted():
    d = data(trunks=TRUNKS, gateways=GATEWAYS)
    national = sorted((r for r in d["dispatcher"] if r["setid"] == 10), key=lambda r: -r["priority"])
    assert [r["attrs"] for r in national] == ["trunk=ams-a", "trunk=ams-b", "gateway=gw1"]
    assert {r["setid"] for r in d["dispatcher"]} == {10, 11, 12, 100}  # 100: site thr's call server
    assert d["routes"]["emergency"] == ["ams-a", "ams-b", "gw1", "thr-a"]
    # Every trunk a route leads to, in route order; 0 channels: no limit.
    assert d["pstn_trunks"] == [
        {"name": "ams-a", "destination": "sip:10.0.0.61:5060;transport=udp", "channels": 30},
        {"name": "ams-b", "destination": "sip:10.0.0.62:5061;transport=tls", "channels": 0},
        {"name": "thr-a", "destination": "sip:10.0.0.63:5060;transport=udp", "channels": 0},
    ]


def test_every_routed_trunk_has_an_account_and_the_sites_own_register_when_the_model_says_so():
    trunks = [
        {**TRUNKS[0], "register": True, "username": "+31201234000", "realm": "sip.carrier.test"},
        {**TRUNKS[1], "credentials_ref": "vault_other"},
        # Another site's trunk (an emergency route here): credentials, but its site registers it.
        {**TRUNKS[2], "register": True},
        TRUNKS[3],
    ]
    d = data(trunks=trunks, gateways=GATEWAYS, call_server={"sip_domain": "ams.test", "sip_port": 5070},
             trunk_register_expires=300, tls_port=5071)  # fmt: skip
    assert d["trunk_accounts"] == [
        {"l_uuid": "ams-a", "l_username": "+31201234000", "l_domain": "ams.test", "r_username": "+31201234000",
         "r_domain": "10.0.0.61", "realm": "sip.carrier.test", "auth_username": "+31201234000",
         "auth_password": "Tr-unk/pa55:word", "auth_proxy": "sip:10.0.0.61:5060;transport=udp", "expires": 300,
         "flags": 0, "reg_delay": 0, "contact_addr": "10.0.0.11:5070"},
        {"l_uuid": "ams-b", "l_username": "ams-b", "l_domain": "ams.test", "r_username": "ams-b",
         "r_domain": "10.0.0.62", "realm": "", "auth_username": "ams-b", "auth_password": "0ther-Tr-unk-pa55",
         "auth_proxy": "sip:10.0.0.62:5061;transport=tls", "expires": 0, "flags": 1, "reg_delay": 0,
         "contact_addr": "10.0.0.11:5071;transport=tls"},
        {"l_uuid": "thr-a", "l_username": "thr-a", "l_domain": "ams.test", "r_username": "thr-a",
         "r_domain": "10.0.0.63", "realm": "", "auth_username": "thr-a", "auth_password": "Tr-unk/pa55:word",
         "auth_proxy": "sip:10.0.0.63:5060;transport=udp", "expires": 0, "flags": 1, "reg_delay": 0,
         "contact_addr": "10.0.0.11:5070"},
    ]  # fmt: skip
    assert d["registered_trunks"] == [{"name": "ams-a", "address": "10.0.0.61"}]
    # thr's call server registers thr-a (its own trunk), never ams-a.
    thr = call_server_data(
        "cs2", site="thr", address="10.0.0.12", call_server={"sip_domain": "thr.test"}, sites=SITES, users=[],
        trunks=[{"credentials_ref": TRUNK_REF, **t} for t in trunks], trunk_secrets=TRUNK_SECRETS,
        master_secret=MASTER, today="2026-11-22",
    )  # fmt: skip
    assert thr["registered_trunks"] == [{"name": "thr-a", "address": "10.0.0.63"}]
    assert [(r["l_uuid"], r["expires"], r["flags"]) for r in thr["trunk_accounts"]] == [
        ("thr-a", 600, 0),
        ("far", 0, 1),
    ]


def test_a_trunk_password_is_in_its_account_row_and_nowhere_else():
    d = data(trunks=TRUNKS, gateways=GATEWAYS)
    rows = d.pop("trunk_accounts")
    for secret in TRUNK_SECRETS.values():
        assert secret not in json.dumps(d), "a trunk password outside the trunk accounts"
        assert secret not in json.dumps([{k: v for k, v in r.items() if k != "auth_password"} for r in rows])
    assert {r["auth_password"] for r in rows} == {TRUNK_SECRETS[TRUNK_REF]}


def test_a_trunk_without_its_secret_is_refused_by_name_never_by_value():
    with pytest.raises(
        KamailioDataError, match=r"trunk t1: its secret 'vault_trunk_password' is not in the vault"
    ):
        data(trunk_secrets={})
    with pytest.raises(KamailioDataError, match=r"trunk t1: its secret 'vault_trunk_password'") as raised:
        data(trunk_secrets={TRUNK_REF: ""})
    assert TRUNK_SECRETS[TRUNK_REF] not in str(raised.value)


def test_the_sites_country_code_gives_its_pstn_prefixes():
    """A site's users dial the PSTN as people do in its country: 0/00 in most, 1/011 in North America."""
    assert (data()["local"]["national_prefix"], data()["local"]["international_prefix"]) == ("0", "00")
    sites = {**SITES, "ams": {**SITES["ams"], "country_code": "1"}}
    local = data(sites=sites)["local"]
    assert (local["national_prefix"], local["international_prefix"]) == ("1", "011")
