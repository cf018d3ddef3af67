"""voipctl.diagnose: what the hosts say of one user, read and judged section by section."""

from __future__ import annotations

import pytest

from voipctl.calls import join
from voipctl.diagnose import (
    authentication,
    calls_section,
    contacts,
    fetches,
    journal_events,
    provisioning,
    registration,
    row_drift,
    user_rows,
)

NOW = 1_796_491_200.0
NETWORKS = ["10.231.0.0/26", "10.231.0.64/26"]
# kamcmd ul.lookup location s:2004 on Kamailio 5.6 (as read in the lab).
LOOKUP = """{
\tAoR: 2004
\tContacts: {
\t\tContact: {
\t\t\tAddress: sip:2004@10.231.0.1:5995
\t\t\tExpires: EXPIRES
\t\t\tQ: -1
\t\t\tCall-ID: 1-8444@10.231.0.1
\t\t\tUser-Agent: Yealink SIP-T54W 96.86.0.100
\t\t\tReceived: [not set]
\t\t\tSocket: udp:10.231.0.11:5060
\t\t\tLast-Modified: MODIFIED
\t\t}
\t}
}
"""
JOURNAL = (
    "2026-12-05T18:17:01+0100 cs1 /usr/sbin/kamailio[10207]: NOTICE: {1 2 REGISTER a@b} <script>: "
    "authentication failed for 2004 from 10.231.0.71\n"
    "2026-12-05T18:17:01+0100 cs1 /usr/sbin/kamailio[10207]: NOTICE: {1 2 REGISTER a@b} <script>: "
    "authentication failed for 20041 from 10.231.0.72\n"
    "2026-12-05T18:17:02+0100 cs1 /usr/sbin/kamailio[10207]: NOTICE: {1 2 REGISTER c@d} <script>: "
    "REGISTER of 2004 from 10.231.0.140:5072 with contact <<sip:2004@10.231.0.140:5072>>: refused\n"
)
ACCESS = (
    '10.231.0.5 - 805ec0000001 [05/Dec/2026:18:00:00 +0100] "GET /805ec0000001.cfg HTTP/1.1" 200 1234 "-" '
    '"Yealink SIP-T54W 96.86.0.100 80:5e:c0:00:00:01"\n'
    '10.231.0.5 - - [05/Dec/2026:18:05:00 +0100] "GET /805ec0000001.cfg HTTP/1.1" 401 0 "-" "curl/8"\n'
    '10.231.0.9 - 805ec0000009 [05/Dec/2026:18:06:00 +0100] "GET /805ec0000009.cfg HTTP/1.1" 200 1 "-" "x"\n'
)


def lookup(age: float) -> str:
    """A 60 s registration ``age`` seconds old (Kamailio shows the seconds left in Expires)."""
    return LOOKUP.replace("MODIFIED", str(int(NOW - age))).replace("EXPIRES", str(int(60 - age)))


def test_contacts_of_kamcmds_text_and_of_an_unknown_aor():
    [contact] = contacts(lookup(0))
    assert contact["Address"] == "sip:2004@10.231.0.1:5995" and contact["User-Agent"].startswith("Yealink")
    assert contacts("error: 404 - AOR not found") == []


@pytest.mark.parametrize(("age", "fresh"), [(5, True), (30, True), (40, False)])
def test_a_registration_without_its_refresh_is_a_phone_gone(age, fresh):
    section = registration({"cs1": {"ul_lookup": lookup(age)}}, ["10.231.0.0/24"], NOW)
    assert section.ok == fresh, section
    if not fresh:
        assert "no REGISTER since" in section.problems[0] and "on cs1" in section.problems[0]


def test_registered_from_outside_the_voice_networks_and_not_at_all():
    outside = registration({"cs1": {"ul_lookup": lookup(0)}}, ["10.231.0.64/26"], NOW)
    assert outside.problems == ["registered from 10.231.0.1, outside the voice networks"]
    nowhere = registration({"cs1": {"ul_lookup": ""}, "cs3": {"ul_lookup": ""}}, NETWORKS, NOW)
    assert nowhere.problems[0].startswith("not registered on any call server of the site (cs1, cs3)")


def test_the_journal_of_one_extension_only():
    events = journal_events(JOURNAL, "2004")
    assert [(e["kind"], e["source"]) for e in events] == [
        ("auth", "10.231.0.71"),
        ("refused", "10.231.0.140"),
    ]
    section = authentication(
        {"cs1": {"journal": JOURNAL, "ipban": "name: 10.231.0.71\nvalue: 1\n"}}, "2004", NETWORKS
    )
    assert any(p.startswith("1 failed authentications on cs1") for p in section.problems)
    assert "REGISTER from 10.231.0.140 refused on cs1: outside the voice networks" in section.problems
    assert "10.231.0.71 is banned on cs1: its calls and registrations get no answer" in section.problems


def test_a_phones_fetches_and_a_phone_that_never_fetched():
    assert [f["status"] for f in fetches(ACCESS, "805EC0000001")] == ["200", "401"]
    section = provisioning(
        [{"mac": "805ec0000001", "model": "yealink-t54w", "firmware": "96.86.0.100"},
         {"mac": "805ec0000002", "model": "yealink-t54w"}],
        {"prov1": {"access_log": ACCESS}},
    )  # fmt: skip
    assert "phone 805ec0000001: its last fetch was refused (401): a wrong login?" in section.problems
    assert "phone 805ec0000002 (yealink-t54w): phone file never fetched" in section.problems


def test_calls_failing_with_one_code_are_named_busy_and_cancelled_are_not():
    rows = [{"method": "INVITE", "callid": f"c{i}", "from_tag": "t", "sip_code": code, "sip_reason": reason,
             "note": note, "t_start": NOW - 100 + i, "t_end": NOW - 99 + i, "caller_uid": "rahmadi",
             "caller_ext": "3004", "dialled": "0044207946001"}
            for i, (code, reason, note) in enumerate([("403", "Forbidden", "International calls not allowed")] * 2
                                                      + [("486", "Busy Here", None), ("200", "OK", None)])]  # fmt: skip
    section = calls_section(join({"cs2": ("thr", rows)}), "rahmadi", "3004")
    assert section.problems == ["2 of 4 calls made fail with 403 (International calls not allowed)"]
    assert len(section.lines) == 4 and section.lines[0].endswith("403 International calls not allowed via -")


def test_row_drift_names_a_differing_hash_never_its_value():
    expected = user_rows(
        {"subscribers": [{"username": "2004", "domain": "d", "ha1": "aa" * 16, "ha1b": "bb" * 16},
                         {"username": "2005", "domain": "d", "ha1": "cc", "ha1b": "dd"}],
         "aliases": [{"alias_username": "+31201234004", "alias_domain": "d", "username": "2004", "domain": "d"}],
         "preferences": [{"username": "2004", "domain": "d", "attribute": "cos", "value": "national"}]},
        "2004",
    )  # fmt: skip
    assert len(expected["subscribers"]) == 1
    actual = {
        "subscribers": [{"username": "2004", "domain": "d", "ha1": "ff" * 16, "ha1b": "bb" * 16}],
        "aliases": [],
        "preferences": [{"username": "2004", "domain": "d", "attribute": "cos", "value": "international"},
                        {"username": "2004", "domain": "d", "attribute": "cfu", "value": "0900123"}],
    }  # fmt: skip
    messages = row_drift(expected, actual)
    assert messages == [
        "SIP account 2004@d: its password hash (ha1) differs from the model's",
        "number +31201234004 is missing (the model has it)",
        "preference cfu = '0900123' is not the model's",
        "preference cos: value is 'international', the model says 'national'",
    ]
    assert not any("ff" * 16 in m or "aa" * 16 in m for m in messages)
    assert row_drift(expected, expected) == []
