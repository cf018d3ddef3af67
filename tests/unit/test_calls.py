"""voipctl.calls and voipctl.calls_cli: call records joined into calls, filtered, summed up and shown."""

from __future__ import annotations

import argparse
import csv
import io

import pytest
from rich.console import Console

from voipctl.calls import POOR_MOS, Query, clean, join, selected, summary
from voipctl.calls_cli import as_csv, moment, table

T = 1_800_000_000.0


def invite(callid, code="200", reason="OK", *, start=T, setup=1.5, tag="ft", **fields):
    return {"method": "INVITE", "callid": callid, "from_tag": tag, "sip_code": code, "sip_reason": reason,
            "t_start": start, "t_end": start + setup, **fields}  # fmt: skip


def bye(callid, end, *, tag="ft", **fields):
    return {"method": "BYE", "callid": callid, "from_tag": tag, "sip_code": "200", "sip_reason": "OK",
            "t_end": end, **fields}  # fmt: skip


ALICE = {"caller_uid": "alice", "caller_ext": "2001", "caller_did": "+31201234001"}


def test_an_answered_call_with_its_end_and_quality():
    rows = [
        invite("c1", **ALICE, dialled="2002", callee_uid="bob", callee_ext="2002", route="user", target="2002"),
        bye("c1", T + 61.5, mos="4.3", mos_min="4.1", loss_pct="0.5", jitter_ms="3", rtt_ms="20",
            rtp="RTP: 480000 bytes, 3000 packets, 0 errors; RTCP: 0 bytes, 0 packets, 0 errors"),
    ]  # fmt: skip
    [call] = join({"cs1": ("ams", rows)})
    assert (call.caller_uid, call.callee_uid, call.route, call.code, call.site) == (
        "alice",
        "bob",
        "user",
        200,
        "ams",
    )
    assert call.setup_s == 1.5 and call.talk_s == 60.0 and call.ended
    assert (call.mos, call.mos_min, call.loss_pct, call.packets) == (4.3, 4.1, 0.5, 3000)


def test_a_call_across_sites_is_one_call_with_the_last_legs_route_and_the_first_legs_answer():
    rows_ams = [
        invite("x", **ALICE, dialled="3001", route="peer", target="thr"),
        bye("x", T + 11.5, mos="4.4"),
    ]
    rows_thr = [
        invite("x", start=T + 0.01, setup=1.4, caller_ext="2001", callee_uid="reza", callee_ext="3001", route="user"),
        bye("x", T + 11.5, mos="3.1", loss_pct="7"),
    ]  # fmt: skip
    [call] = join({"cs2": ("thr", rows_thr), "cs1": ("ams", rows_ams)})
    assert call.servers == ["cs1", "cs2"] and call.routes == ["peer", "user"]
    assert (call.site, call.route, call.caller_uid, call.callee_uid) == ("ams", "user", "alice", "reza")
    # The worst leg's quality is the call's.
    assert call.mos == 3.1 and call.loss_pct == 7.0 and call.talk_s == 10.0


def test_failed_calls_have_no_talk_and_a_bye_of_an_earlier_call_is_left_out():
    rows = [
        invite("busy", "486", "Busy Here", route="user"),
        bye("old", T - 5),
        invite("n", "487", "Request Terminated"),
    ]
    calls = join({"cs1": ("ams", rows)})
    assert [(c.callid, c.code, c.failed, c.talk_s, c.ended) for c in calls] == [
        ("busy", 486, True, None, False),
        ("n", 487, True, None, False),
    ]


def test_a_retry_with_the_same_call_id_counts_once_as_the_last_answer():
    rows = [invite("r", "407", "Proxy Auth", setup=0.1), invite("r", "200", start=T + 1, setup=2)]
    [call] = join({"cs1": ("ams", rows)})
    assert call.code == 200 and call.retries == 1 and call.setup_s == 2.0


def test_selection_by_window_site_user_failure_and_route():
    rows = [
        invite("a", **ALICE, route="trunk", target="carrier", kind="international"),
        invite(
            "b",
            "403",
            "Forbidden",
            start=T + 10,
            note="International calls not allowed",
            caller_ext="2003",
            kind="international",
        ),
        invite("c", start=T + 20, caller_ext="2004", callee_ext="2001", route="user"),
    ]
    calls = join({"cs1": ("ams", rows)})

    def ids(**query):
        return [c.callid for c in selected(calls, Query(since=T - 1, **query), {"cs1": "ams"})]

    assert ids() == ["a", "b", "c"]
    assert ids(until=T + 15) == ["a", "b"]
    assert ids(user="alice") == ["a"] and ids(user="2001") == ["a", "c"] and ids(user="+31201234001") == ["a"]
    assert ids(failed=True) == ["b"]
    assert calls[1].reason == "International calls not allowed" and calls[0].reason == "OK"
    assert ids(route="trunk") == ["a"]
    assert ids(site="ams") == ["a", "b", "c"] and ids(site="thr") == []


def test_summary_per_site_and_trunk():
    rows = [
        invite("a", route="trunk", target="carrier"),
        bye("a", T + 31.5, mos=str(POOR_MOS - 1)),
        invite("b", "503", "No PSTN route left", route="trunk", target="carrier"),
        invite("c", route="user"),
        bye("c", T + 11.5, mos="4.4"),
    ]
    data = summary(join({"cs1": ("ams", rows)}))
    assert data["trunks"]["carrier"] == {"attempts": 2, "answered": 1, "asr": 0.5, "average_talk_s": 30.0,
                                         "rated": 1, "poor_mos_share": 1.0}  # fmt: skip
    assert data["sites"]["ams"]["attempts"] == 3 and data["sites"]["ams"]["poor_mos_share"] == 0.5


@pytest.mark.parametrize(
    "hostile",
    [
        "[bold red]x[/]",
        "\x1b[2J\x1b[H",
        "2001\r\nX-Fake: 1",
        "\x00\x7f\x9b",
        '=HYPERLINK("http://x")',
        "+1-2",
    ],
)
def test_a_callers_text_is_data_everywhere(hostile):
    rows = [invite("h", caller_ext=hostile, dialled=hostile, route="user")]
    calls = join({"cs1": ("ams", rows)})
    console = Console(record=True, width=300, force_terminal=True, color_system=None)
    console.print(table(calls))
    shown = console.export_text()
    assert clean(hostile) in shown and "\x1b" not in shown and "\r" not in shown and "\x00" not in shown
    # CSV: one record, and no cell a spreadsheet would run as a formula.
    parsed = list(csv.DictReader(io.StringIO(as_csv(calls))))
    assert len(parsed) == 1
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in parsed[0].values())
    assert parsed[0]["caller_ext"].lstrip("'") == clean(hostile)


def test_moments():
    now = T
    assert (
        moment("2h", now) == now - 7200
        and moment("30m", now) == now - 1800
        and moment("7d", now) == now - 604800
    )
    assert moment("2027-01-15", now) == 1_799_971_200.0
    assert moment("2027-01-15T01:00Z", now) == 1_799_974_800.0
    assert moment("2027-01-15T02:00+01:00", now) == 1_799_974_800.0
    for bad in ("yesterday", "2h ago", "2027-13-01", "-2h", "1e9", "2027-01-15T25:00", "٢h"):
        with pytest.raises(argparse.ArgumentTypeError, match="is not a time"):
            moment(bad, now)


def test_a_user_filter_reaches_the_call_servers_only_as_plain_names():
    from voipctl.calls_cli import _party, parties_of

    users = [
        {"id": "jdevries", "extension": 2001, "did": "+31201234001"},
        {"id": "svisser", "extension": 2002},
    ]
    assert parties_of("2001", users) == ["jdevries", "2001", "+31201234001"]
    assert parties_of("svisser", users) == ["svisser", "2002"]
    assert parties_of("+4420", users) == ["+4420"]
    for hostile in ("{{ lookup('pipe', 'id') }}", "2001' OR '1'='1", "a b", "", "x" * 65, "2001\n"):
        with pytest.raises(argparse.ArgumentTypeError, match="is not a user id, extension or DID"):
            _party(hostile)
