"""voipctl.health_os: findings of a host's operating system (security updates waiting, a reboot pending)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voipctl.health import Judge, evaluate
from voipctl.health_os import check_os_updates
from voipctl.release import host_rows, os_row

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def update(name, days, security=True):
    return {
        "name": name,
        "candidate": "2",
        "security": security,
        "since": (NOW - timedelta(days=days)).isoformat(),
    }


def judged(updates, policy=None, error=""):
    judge = Judge(None)
    check_os_updates(judge, "cs1", updates, policy or {}, NOW, error)
    return {(f.check, f.object): f for f in judge.findings}


@pytest.mark.parametrize(
    ("days", "limit", "severity"),
    [(6.9, None, "ok"), (7, None, "warning"), (30, 7, "warning"), (0, 0, "warning"), (3, 5, "ok")],
)
def test_a_security_update_waiting_past_the_limit_is_a_warning(days, limit, severity):
    policy = {} if limit is None else {"pending_days": limit}
    found = judged({"updates": [update("openssl", days)], "reboot_reasons": []}, policy)
    finding = found.get(("os-updates", "security updates")) or found[("os-updates", "updates")]
    assert finding.severity == severity and finding.runbook == "docs/runbooks/os-updates.md"
    if severity == "warning":
        assert "openssl" in finding.message


def test_other_updates_never_count_however_old_and_the_figures_are_metrics():
    found = judged(
        {"updates": [update("tzdata", 90, security=False), update("openssl", 1)], "reboot_reasons": []}
    )
    finding = found[("os-updates", "updates")]
    assert finding.severity == "ok"
    values = {s.metric: s.value for s in finding.samples}
    assert values["voip_os_pending_security_updates"] == 1 and values["voip_os_pending_updates"] == 2
    assert values["voip_os_security_update_wait_seconds"] == pytest.approx(86400)


def test_a_pending_reboot_is_a_warning_with_its_reason():
    found = judged({"updates": [], "reboot_reasons": ["libc6 changed (it takes effect at a reboot)"]})
    assert found[("os-updates", "reboot")].severity == "warning"
    assert "libc6" in found[("os-updates", "reboot")].message


def test_an_unreadable_list_is_a_warning_and_an_unmeasured_host_says_nothing():
    found = judged(None, error="apt is locked")
    assert (
        found[("os-updates", "updates")].severity == "warning"
        and "apt is locked" in found[("os-updates", "updates")].message
    )
    assert judged(None) == {}


def test_an_unparsable_first_seen_time_counts_as_just_seen():
    found = judged({"updates": [{"name": "x", "security": True, "since": "{{ lookup('pipe', 'id') }}"}]})
    assert found[("os-updates", "updates")].severity == "ok"


def test_a_first_seen_time_without_a_zone_is_utc():
    found = judged({"updates": [{"name": "x", "security": True, "since": "2026-11-01T00:00:00"}]})
    assert found[("os-updates", "security updates")].severity == "warning"


def test_evaluate_takes_the_limit_from_the_model():
    m = {
        "host": "bak1",
        "groups": ["backup_servers"],
        "services": {},
        "os_updates": {"updates": [update("openssl", 2)]},
    }
    for days, severity in ((1, "warning"), (3, "ok")):
        findings = evaluate({"bak1": m}, {"os_updates_policy": {"pending_days": days}}, now=NOW)
        assert {f.severity for f in findings if f.check == "os-updates"} == {severity}


def test_the_status_row_names_the_waiting_security_updates_and_a_pending_reboot():
    assert os_row({"security": [], "pending": 3, "reboot_reasons": []})[-1] == "ok"
    _, running, _, state = os_row(
        {"security": ["openssl"], "pending": 3, "reboot_reasons": ["libc6 changed"]}
    )
    assert running == "1 security / 3 updates waiting"
    assert "SECURITY UPDATES: openssl" in state and "REBOOT NEEDED: libc6 changed" in state
    rows = host_rows(
        {"installed": {"kamailio": "5.6.3-2"}, "drift": [], "os": {"security": [], "pending": 0}},
        {"kamailio": "5.6.3"},
    )
    assert [r[0] for r in rows] == ["kamailio", "os"]
    assert host_rows({"error": "unreachable"}, {}) == [("-", "-", "-", "[red]unreachable[/red]")]
