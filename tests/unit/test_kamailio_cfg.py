"""The call server's kamailio.cfg as the role renders it: the defences of the call path are
there for every estate, fast (the lab's attacker suite proves them against a real Kamailio).

The template is rendered with jinja2 from the role's defaults and the data
voipctl.derive.kamailio builds for a small two-site estate.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
import yaml

from voipctl.derive.kamailio import call_server_data

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (
    ROOT
    / "collections/ansible_collections/voip/estate/roles"
    / "kamailio"
    / "templates"
    / "etc"
    / "kamailio"
    / "kamailio.cfg.j2"
)
SITES = {
    "ams": {
        "extensions": "2000-2999",
        "emergency": ["112"],
        "voice_subnets": ["10.100.0.0/16"],
        "country_code": "31",
        "dids": "+31201234000-+31201234999",
        "main_number": "+31201234000",
        "premium_prefixes": ["0900", "0906"],
    },
    "thr": {"extensions": "3000-3999", "emergency": ["110"], "voice_subnets": ["10.101.0.0/16"]},
}
TRUNK_PASSWORD = "Tr-unk-pa55-w0rd"
IDENTITY_HEADERS = ["P-Asserted-Identity", "P-Preferred-Identity", "Remote-Party-ID", "Diversion",
                    "History-Info", "P-Charge-Info", "P-Called-Party-ID"]  # fmt: skip


@pytest.fixture(scope="module")
def data() -> dict:
    return small_estate_data()


def small_estate_data() -> dict:
    """The call server data of cs1 in a small two-site estate (rendered with ``render``)."""
    defaults = yaml.safe_load(
        (
            ROOT / "collections/ansible_collections/voip/estate/roles" / "kamailio" / "defaults" / "main.yml"
        ).read_text()
    )
    return call_server_data(
        "cs1", site="ams", address="10.0.0.11", call_server={"sip_domain": "ams.test"}, sites=SITES, users=[],
        trunks=[{"name": "t1", "site": "ams", "address": "10.0.0.61", "carrier": "c", "channels": 30,
                 "classes_of_service": ["national", "international"], "credentials_ref": "vault_t1",
                 "register": True},
                {"name": "t2", "site": "ams", "address": "10.0.0.62", "port": 5061, "transport": "tls",
                 "carrier": "c", "classes_of_service": ["national"], "credentials_ref": "vault_t2"}],
        gateways=[{"name": "gw1", "site": "ams", "address": "10.0.0.41", "pri_spans": 1}],
        peers=[{"name": "cs2", "site": "thr", "address": "10.0.0.12"}],
        cti_accounts=[{"name": "wall", "source_networks": ["10.0.0.5/32", "10.0.1.0/24"], "rights": ["monitor"],
                       "credentials_ref": "v"}],
        cti_secrets={"v": "s3cret"}, cti_rights_methods=defaults["kamailio_cti_rights_methods"],
        trunk_secrets={"vault_t1": TRUNK_PASSWORD, "vault_t2": TRUNK_PASSWORD[::-1]},
        master_secret="m" * 32, today="2026-11-22",
    )  # fmt: skip


@pytest.fixture(scope="module")
def cfg(data) -> str:
    return render(data)


def render(data: dict) -> str:
    defaults = yaml.safe_load(
        (
            ROOT / "collections/ansible_collections/voip/estate/roles" / "kamailio" / "defaults" / "main.yml"
        ).read_text()
    )
    settings = {k: v for k, v in defaults.items() if not (isinstance(v, str) and "{{" in v)}
    role_vars = yaml.safe_load(
        (ROOT / "collections/ansible_collections/voip/estate/roles/kamailio/vars/main.yml").read_text()
    )
    settings |= {k: v for k, v in role_vars.items() if not (isinstance(v, str) and "{{" in v)}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["comment"] = lambda text: "# " + str(text)
    return env.from_string(TEMPLATE.read_text()).render(
        **settings, __kamailio_data=data, ansible_managed="managed", inventory_hostname="cs1",
        kamailio_listen_address="10.0.0.11", kamailio_keepalive_version_sources=["10.0.9.0/24"],
        kamailio_sip_port=5060,
    )  # fmt: skip


def route(cfg: str, name: str) -> str:
    """The body of route ``name`` (any kind: request, branch, failure, event)."""
    found = re.search(r"^\w*route\[" + re.escape(name) + r"\] \{\n(.*?)^\}", cfg, re.M | re.S)
    assert found, f"no route {name}"
    return found.group(1)


def test_the_cti_never_hands_the_body_to_the_json_rpc_dispatcher(cfg):
    assert "jsonrpc_dispatch" not in cfg
    assert 'jsonrpc_exec(\'{"jsonrpc":"2.0","method":"$var(method)"' in route(cfg, "CTI_EXEC")
    request = route(cfg, "CTI_REQUEST")
    # One object, no escapes, one method key in any case, a bounded body.
    for check in ("[{].*[}]", "[\\\\]", "[Mm][Ee][Tt][Hh][Oo][Dd]", "{s.len}) > 4096"):
        assert check in request, check
    http = route(cfg, "xhttp:request")
    assert http.index("ipban") < http.index("Authorization"), "a banned source is refused before any login"
    for var in ("method", "params", "id"):
        assert f'$var({var}) = "";' in http, f"$var({var}) is reset per request"
    # The allowed methods lead to the checked call only.
    assert re.search(r'\$var\(method\) == "ul\.dump".*\) \{\n\t+route\(CTI_EXEC\);', http, re.S)


def test_the_cti_and_sip_over_tls_listen_and_nothing_serves_plain_http(cfg):
    assert "listen=tls:10.0.0.11:8443" in cfg and "listen=tls:10.0.0.11:5061" in cfg
    assert not re.search(r"listen=tcp:\S+:8443", cfg)
    assert '$pr != "tls"' in route(cfg, "xhttp:request")


def test_registrations_are_checked_before_they_are_saved(cfg):
    registrar = route(cfg, "REGISTRAR")
    assert registrar.index("route(CONTACT_CHECK)") < registrar.index('save("location")')
    check = route(cfg, "CONTACT_CHECK")
    assert "$(var(contact){uri.host}) != $si" in check and "uri.maddr" in check
    assert 'is_in_subnet("$si", "10.100.0.0/16,10.101.0.0/16")' in check
    # Located contacts at any peer of the estate are dropped.
    device = route(cfg, "TO_DEVICE")
    for address in ("10.0.0.12", "10.0.0.41", "10.0.0.61"):
        assert f'$rd == "{address}"' in device, address


def test_in_dialog_requests_need_a_known_dialog(cfg):
    within = route(cfg, "WITHINDLG")
    assert within.index("is_known_dlg()") < within.index("loose_route()")


def test_identity_headers_from_users_are_removed_and_digests_are_counted(cfg):
    strip = re.search(r'remove_hf_re\("\^\(([^)]*)\)\$"\)', cfg)
    assert strip and set(strip.group(1).split("|")) >= set(IDENTITY_HEADERS)
    assert 'modparam("auth", "qop", "auth")' in cfg and 'modparam("auth", "nonce_count", 1)' in cfg
    assert re.findall(r'(?:proxy|www)_challenge\("[^"]+", "(\d+)"\)', cfg) and all(
        int(flags) & 1 for flags in re.findall(r'(?:proxy|www)_challenge\("[^"]+", "(\d+)"\)', cfg)
    ), "every challenge asks for qop=auth"


def test_trusted_peers_follow_the_transport_and_media_is_strict(cfg):
    assert 'allow_source_address("$var(trusted_grp)")' in cfg
    calls = re.findall(r"rtpengine_manage\(([^)]*)\)", cfg)
    assert calls and all("strict-source" in c for c in calls), calls


def test_nothing_blocks_an_emergency_call(cfg):
    """Bans, floods and drains let an emergency call through; it is dialled before any class of service."""
    reqinit = route(cfg, "REQINIT")
    assert "if ($sht(ipban=>$si) != $null && !route(EMERGENCY_PASSES_BAN)) {" in reqinit
    flood = reqinit[reqinit.index("if (!pike_check_req())") :]
    assert (
        flood.index("$sht(ipban=>$si) = 1;")
        < flood.index("if (!route(EMERGENCY_PASSES_BAN)) {")
        < flood.index("exit;")
    )
    main = route(cfg, "request_route") if "request_route[" in cfg else cfg[cfg.index("request_route {") :]
    assert "$sht(maint=>drain) == 1 && !route(IS_EMERGENCY)" in main
    dial = route(cfg, "DIAL")
    assert dial.strip().startswith("if (route(IS_EMERGENCY_NUMBER)) {\n\t\troute(TO_EMERGENCY);")
    assert '$rU == "112"' in route(cfg, "IS_EMERGENCY_NUMBER")
    # The emergency set has every route; no full trunk holds it back.
    assert "$avp(pstn_set) = DS_EMERGENCY;" in route(cfg, "TO_EMERGENCY")
    assert '$avp(pstn_kind) != "emergency"' in route(cfg, "PSTN_ROOM")


def test_calls_fail_over_between_pstn_routes(cfg):
    failure = route(cfg, "PSTN_FAILURE")
    assert 't_check_status("477|5[0-9][0-9]")' in failure and "ds_next_dst()" in failure
    relay = route(cfg, "PSTN_RELAY")
    assert "while (!t_relay()) {" in relay and "ds_next_dst()" in relay
    assert 'ds_select_dst("$avp(pstn_set)", "8")' in route(cfg, "TO_PSTN")


def test_a_ban_lets_through_only_emergency_calls_from_voice_networks_and_their_own_requests(cfg):
    passes = route(cfg, "EMERGENCY_PASSES_BAN")
    assert "$sht(sos=>$ci) != $null" in passes
    assert 'route(IS_EMERGENCY) && is_in_subnet("$si", "10.100.0.0/16,10.101.0.0/16")' in passes
    emergency = route(cfg, "TO_EMERGENCY")
    assert emergency.index('get_profile_size("sos", "$si", "$var(sos)")') < emergency.index(
        "$sht(sos=>$ci) = 1;"
    )


def test_pstn_numbers_are_digits_only_and_the_request_uri_is_rebuilt(cfg):
    dial = route(cfg, "DIAL")
    assert '$rU =~ "^00[1-9][0-9]{3,15}$"' in dial and '$rU =~ "^0[1-9][0-9]{3,15}$"' in dial
    assert '$rU =~ "^[+][1-9][0-9]{6,14}$"' in dial
    assert route(cfg, "TO_PSTN").strip().startswith("# The number alone")
    assert '$ru = "sip:" + $rU + "@ams.test";' in route(cfg, "TO_PSTN")


def test_a_forward_to_the_pstn_goes_out_with_the_forwarding_users_rights(cfg):
    assert "$avp(fwd_cos) = $avp(cos);" in route(cfg, "TO_USER")
    assert "$avp(caller_cos) = $avp(fwd_cos);" in route(cfg, "FORWARD")


def test_a_ringing_route_is_not_failed_over_after_the_no_answer_time(cfg):
    assert 't_check_status("408") && t_branch_timeout() && !t_branch_replied()' in route(cfg, "PSTN_FAILURE")


def test_ring_all_forks_only_to_registered_members(cfg):
    hunt = route(cfg, "HUNT_ALL")
    assert 'registered("location", "$var(uri)")' in hunt
    assert hunt.index("registered(") < hunt.index("append_branch();")


def test_gateways_get_e164_numbers_and_their_analog_ports_reach_emergency(cfg):
    branch = route(cfg, "PSTN_BRANCH")
    assert '$du == "sip:10.0.0.41:5060;transport=udp"' in branch
    assert '$rU = "+31" + $(rU{s.substr,1,0});' in branch and '$rU = "+" + $(rU{s.substr,2,0});' in branch
    peer = route(cfg, "FROM_PEER")
    assert 'route(IS_EMERGENCY_NUMBER) && ($si == "10.0.0.41")' in peer
    assert '$avp(caller_cli) = "+31201234000";' in peer


def test_no_trunk_password_and_no_account_row_is_in_the_config(cfg, data):
    """The accounts live in uacreg (synced by the table module): a config diff never carries a credential."""
    for secret in (TRUNK_PASSWORD, TRUNK_PASSWORD[::-1], "s3cret"):
        assert secret not in cfg
    for row in data["trunk_accounts"]:
        assert row["auth_password"] not in cfg
    assert not re.search(r'modparam\("uac",\s*"credential"', cfg), "credentials in a modparam"
    # The auth AVPs are named here; their values come from the database at challenge time.
    for param, avp in (("auth_username_avp", "trunk_user"), ("auth_password_avp", "trunk_pass"),
                       ("auth_realm_avp", "trunk_realm")):  # fmt: skip
        assert f'modparam("uac", "{param}", "$avp({avp})")' in cfg
    assert re.search(r"^\s*\$avp\(trunk_pass\) *=", cfg, re.M) is None, "a password assigned in the script"


def test_no_caller_sets_the_cseq_the_dialog_module_sends(cfg):
    """track_cseq_updates writes a P-K-CSeq-* header's value into the CSeq of what goes out."""
    main = cfg[cfg.index("request_route {") :]
    assert main.index('remove_hf_re("^P-K-CSeq-(Auth|Refresh)$");') < main.index(
        "if (!isflagset(FLT_TRUSTED))"
    )


def test_every_relay_from_the_pstn_failure_route_drops_the_replies_before_it(cfg):
    """Else tm picks an earlier route's 407 over this one's 486 (the best reply of all branches)."""
    body = route(cfg, "PSTN_FAILURE")
    assert body.count("route(PSTN_RELAY);") == 2 and body.count("route(PSTN_AUTH_FAILED);") == 1
    assert body.count("t_drop_replies();\n\t\t\troute(PSTN_RELAY);") == 2, body
    assert "t_drop_replies();\n\t\troute(PSTN_AUTH_FAILED);" in body
    # t_drop_replies() is for failure routes only (kamailio -c refuses it in a route[]).
    assert "t_drop_replies" not in route(cfg, "PSTN_AUTH_FAILED")


def test_a_challenge_is_answered_only_towards_the_route(cfg):
    failure = route(cfg, "PSTN_FAILURE")
    assert "$var(du) = $du;" in failure and "$du = $var(du);" in failure
    assert failure.index("if ($du != $var(du)) {") < failure.index("} else if (uac_auth()) {")


def test_uac_is_loaded_and_registers_from_the_database(cfg):
    assert 'loadmodule "uac.so"' in cfg
    assert cfg.index('loadmodule "tm.so"') < cfg.index('loadmodule "uac.so"')
    assert cfg.index('loadmodule "dialog.so"') < cfg.index('loadmodule "uac.so"')
    assert 'modparam("uac", "reg_db_url", DBURL)' in cfg
    assert 'modparam("uac", "reg_contact_addr", "10.0.0.11:5060")' in cfg
    assert (
        'modparam("uac", "reg_timer_interval", 20)' in cfg
        and 'modparam("uac", "reg_retry_interval", 120)' in cfg
    )
    # The CSeq of a call answered with credentials stays in step for its later requests.
    assert 'modparam("dialog", "track_cseq_updates", 1)' in cfg


def test_a_carrier_challenge_is_answered_once_with_the_routes_trunk_account(cfg):
    failure = route(cfg, "PSTN_FAILURE")
    challenge = failure[
        failure.index('if (t_check_status("401|407")) {') : failure.index("route(PSTN_AUTH_FAILED);")
    ]
    assert failure.index('t_check_status("401|407")') < failure.index("\troute(PSTN_RELEASE);"), (
        "a challenged call keeps its trunk channel while it is answered"
    )
    # The account of the route's trunk, then the answer; the same route again.
    assert "if (route(PSTN_ACCOUNT)) {" in challenge
    assert challenge.index("} else if (uac_auth()) {") < challenge.index("route(PSTN_RELAY);")
    # The Request-URI stays the dialled number's; the password leaves the AVPs before the relay.
    assert (
        challenge.index("$var(ruri) = $ru;")
        < challenge.index("} else if (uac_auth()) {")
        < challenge.index("$ru = $var(ruri);")
    )
    assert (
        challenge.index("} else if (uac_auth()) {")
        < challenge.index("$(avp(trunk_pass)[*]) = $null;")
        < challenge.index("route(PSTN_RELAY);")
    )
    # Once per route: a second challenge (or a gateway's: no account) is a failed route.
    account = route(cfg, "PSTN_ACCOUNT")
    assert account.index("$avp(pstn_authed) != $null") < account.index("$avp(pstn_authed) = 1;")
    assert account.index("$avp(pstn_authed) = 1;") < account.index(
        'uac_reg_request_to("$avp(pstn_route)", "0")'
    )
    refused = route(cfg, "PSTN_AUTH_FAILED")
    # The next route, else 503: the caller never gets the carrier's challenge.
    assert refused.index("ds_next_dst()") < refused.index('t_reply("503"')
    # Each newly selected route may be answered once: its trunk, by destination.
    room = route(cfg, "PSTN_ROOM")
    assert room.index("$(avp(pstn_authed)[*]) = $null;") < room.index('$avp(pstn_route) = "t1";')
    assert 'if ($du == "sip:10.0.0.62:5061;transport=tls") {\n\t\t\t$avp(pstn_route) = "t2";' in room
    # Only a trunk with channels is counted.
    assert 'set_dlg_profile("trunk", "t1")' in room and 'set_dlg_profile("trunk", "t2")' not in room


def test_an_inbound_call_to_a_registered_contact_is_for_the_number_in_to(cfg, data):
    """Only from the carrier the trunk registers with (any other peer's $rU stays as it is)."""
    assert data["registered_trunks"] == [{"name": "t1", "address": "10.0.0.61"}]
    peer = route(cfg, "FROM_PEER")
    assert peer.index('if (($rU == "t1" && $si == "10.0.0.61")) {\n\t\t$rU = $tU;') < peer.index(
        'alias_db_lookup("dbaliases")'
    )
    without = render({**data, "registered_trunks": []})
    assert "$rU = $tU;" not in route(without, "FROM_PEER")


def test_call_records_take_every_estate_field_from_an_avp_and_nothing_from_a_header(cfg):
    fields = yaml.safe_load(
        (ROOT / "collections/ansible_collections/voip/estate/roles/kamailio/vars/main.yml").read_text()
    )["__kamailio_calls_fields"]
    extra = re.search(r'modparam\("acc", "db_extra", "([^"]*)"\)', cfg).group(1)
    pairs = dict(item.split("=", 1) for item in extra.split(";"))
    # t_end is acc's own time (time_attr); every other field is a column the schema task adds.
    assert list(pairs) == [f["column"] for f in fields if f["column"] != "t_end"]
    assert 'modparam("acc", "time_attr", "t_end")' in cfg
    # AVPs the routing sets: never a header a caller wrote, never a credential.
    assert all(re.fullmatch(r"\$avp\([a-z][a-z0-9_]*\)", pv) for pv in pairs.values()), pairs


def test_a_call_is_recorded_only_once_it_is_authenticated_or_from_a_peer(cfg):
    callers = [
        name for name in re.findall(r"^\w*route\[(\w+)\]", cfg, re.M) if "route(ACC_ON)" in route(cfg, name)
    ]
    assert callers == ["FROM_PEER", "FROM_USER"]
    # A user's call: recorded after route AUTH (in request_route, FROM_USER comes after it).
    main = route(cfg, "request_route") if "request_route[" in cfg else cfg.split("request_route {", 1)[1]
    assert main.index("route(AUTH);") < main.index("route(FROM_USER);")
    assert "setflag(FLT_ACC)" not in route(cfg, "REGISTRAR")
    assert 'if (!is_method("INVITE") || has_totag())' in route(cfg, "ACC_ON")


def test_the_end_of_a_call_is_recorded_with_its_packet_counters_read_before_the_session_goes(cfg):
    media = route(cfg, "MEDIA")
    assert media.index("$avp(acc_rtp) = $rtpestat;") < media.index("rtpengine_delete();")
    withindlg = route(cfg, "WITHINDLG")
    bye = withindlg[withindlg.index('if (is_method("BYE"))') :]
    assert bye.index("setflag(FLT_ACC);") < bye.index("route(RELAY);")


def test_every_answer_the_server_gives_a_call_itself_is_stateful_and_recorded(cfg):
    """A stateless answer leaves no call record: the call path answers through route REFUSE (or
    statefully where a transaction exists), and makes no transaction before a relay (one made
    early loses the route in the failure routes: the carrier's challenge went unanswered)."""
    for name in (
        "FROM_PEER",
        "DIAL",
        "TO_EMERGENCY",
        "TO_PSTN",
        "TO_USER",
        "HUNT_OVERFLOW",
        "FORWARD",
        "TO_PEER",
    ):
        body = route(cfg, name)
        assert "send_reply(" not in body and "sl_send_reply(" not in body, name
    refuse = route(cfg, "REFUSE")
    assert "$avp(acc_note) = $var(reason);" in refuse
    assert "!t_is_failure_route() && !t_newtran()" in refuse
    assert "t_newtran" not in route(cfg, "ACC_ON")


def test_a_premium_rate_number_needs_the_international_class_of_service_and_is_recorded_as_premium(cfg):
    dial = route(cfg, "DIAL")
    premium = dial.index('if ($rU =~ "^(0900|0906)[0-9]{1,15}$") {')
    # Before the national numbers (which the premium ones would match), after E.164 became national.
    assert dial.index("# A number in E.164") < premium < dial.index('$avp(acc_kind) = "national";')
    branch = dial[premium : dial.index("route(TO_PSTN);", premium)]
    assert '$avp(acc_kind) = "premium";' in branch
    assert 'if ($avp(caller_cos) != "international") {' in branch and "route(REFUSE);" in branch
    assert '$var(reason) = "Premium-rate calls not allowed";' in branch


def test_every_process_gives_the_call_records_a_busy_timeout_before_it_can_write_one(cfg):
    # acc and sqlops share one connection per database and process; sqlops sets the timeout on it.
    assert 'modparam("sqlops", "sqlcon", "calls=>sqlite://' in cfg
    assert 'sql_query("calls", "PRAGMA busy_timeout = 2000");' in route(cfg, "ACC_DB")
    main = cfg.split("request_route {", 1)[1]
    assert main.lstrip().startswith("route(ACC_DB);")
    assert route(cfg, "REPLY").lstrip().startswith("route(ACC_DB);")
