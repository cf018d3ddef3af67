"""voipctl.health_traffic: findings from the last hour of calls (ASR per trunk, poor MOS, toll fraud)."""

from __future__ import annotations

import pytest

from voipctl.health import Judge
from voipctl.health_traffic import check_traffic

WEEK = 7 * 24 * 3600


def judged(calls, thresholds=None, error=""):
    judge = Judge(thresholds)
    check_traffic(judge, "cs1", calls, error)
    return {(f.check, f.object): f for f in judge.findings}


def figures(**over):
    return {"window_s": 3600, "baseline_s": WEEK, "attempts": 0, "answered": 0, "trunks": {}, "rated": 0,
            "poor": 0, "international": {}, **over}  # fmt: skip


@pytest.mark.parametrize(
    ("attempts", "answered", "severity"),
    [(9, 0, "ok"), (10, 5, "ok"), (10, 3, "warning"), (10, 1, "critical"), (40, 7, "critical")],
)
def test_a_trunks_answer_seizure_ratio_from_ten_calls_on(attempts, answered, severity):
    found = judged(figures(trunks={"carrier": {"attempts": attempts, "answered": answered}}))
    finding = found[("trunk-asr", "calls to carrier")]
    assert finding.severity == severity and finding.runbook == "docs/runbooks/trunk-asr.md"
    [ratio] = [s.value for s in finding.samples if s.metric == "voip_trunk_answer_seizure_ratio"]
    assert ratio == pytest.approx(answered / attempts)


@pytest.mark.parametrize(
    ("rated", "poor", "severity"), [(4, 4, "ok"), (10, 0, "ok"), (10, 1, "warning"), (10, 3, "critical")]
)
def test_the_share_of_poor_calls_from_five_rated_on(rated, poor, severity):
    assert judged(figures(rated=rated, poor=poor))[("call-quality", "MOS")].severity == severity


def test_a_burst_of_international_calls_far_above_the_usual_is_toll_fraud():
    found = judged(figures(international={
        "pbakker": {"recent": 12, "baseline": 1, "after_hours": 0},
        # As many as this user makes every hour of the week: no finding.
        "trader": {"recent": 12, "baseline": 12 * 168, "after_hours": 0},
        "mjansen": {"recent": 31, "baseline": 0, "after_hours": 0},
        "night": {"recent": 3, "baseline": 0, "after_hours": 3},
    }))  # fmt: skip
    assert found[("toll-fraud", "pbakker")].severity == "warning"
    assert found[("toll-fraud", "mjansen")].severity == "critical"
    assert ("toll-fraud", "trader") not in found
    assert found[("toll-fraud", "night after hours")].severity == "warning"
    assert "a stolen account or phone?" in found[("toll-fraud", "pbakker")].message
    samples = {s.metric: s.value for f in found.values() for s in f.samples}
    assert samples["voip_toll_fraud_suspect_users"] == 3
    assert samples["voip_international_attempted_calls"] == 12 + 12 + 31 + 3


def test_a_quiet_hour_is_ok_and_thresholds_come_from_the_model():
    quiet = judged(figures(international={"pbakker": {"recent": 2, "baseline": 0, "after_hours": 0}}))
    assert quiet[("toll-fraud", "international calls")].severity == "ok"
    strict = judged(
        figures(international={"pbakker": {"recent": 2, "baseline": 0, "after_hours": 0}}),
        {"international_calls_per_hour": {"warning": 2, "critical": 5}},
    )
    assert strict[("toll-fraud", "pbakker")].severity == "warning"


def test_unreadable_records_are_a_warning_and_no_figures_no_finding():
    found = judged(None, error="no call records database at /var/lib/kamailio/calls.sqlite")
    assert found[("call-quality", "call records")].severity == "warning"
    assert judged({}) == {}


def test_one_source_behind_several_accounts_is_toll_fraud_too():
    users = {f"u{i}": {"recent": 4, "baseline": 0, "after_hours": 0} for i in range(4)}
    source = {"192.0.2.7": {"recent": 16, "baseline": 0, "after_hours": 0}}
    found = judged(figures(international=users, international_sources=source))
    # No account reaches the threshold; their source does.
    assert not any(obj.startswith("u") for (check, obj) in found if check == "toll-fraud")
    finding = found[("toll-fraud", "source 192.0.2.7")]
    assert (
        finding.severity == "warning" and "source 192.0.2.7 placed 16 international calls" in finding.message
    )
    samples = {s.metric: s.value for f in found.values() for s in f.samples}
    assert samples["voip_toll_fraud_suspect_users"] == 0


def test_poor_mos_is_one_threshold_on_the_host_and_on_the_controller():
    # module_utils runs on the call server and cannot import voipctl: the two constants must agree.
    from ansible_collections.voip.estate.plugins.module_utils.voip_call_stats import POOR_MOS as ON_HOST
    from voipctl.calls import POOR_MOS

    assert ON_HOST == POOR_MOS
