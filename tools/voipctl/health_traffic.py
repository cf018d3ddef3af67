"""Health findings from the calls themselves: a trunk that answers too few, calls that sound poor, toll fraud.

``playbooks/health.yml`` sums up each call server's last hour of call
records (module call_stats: figures, never the rows) into its measurements
as ``calls``; ``check_traffic`` judges them against ``voip_health_policy``:

- ``trunk-asr``: the answer-seizure ratio of each trunk's calls in the hour,
  once it carried ``MIN_ATTEMPTS`` calls (fewer say nothing);
- ``call-quality``: the share of the hour's call ends with a MOS whose MOS
  was poor (below 3.6), once ``MIN_RATED`` calls were rated;
- ``toll-fraud``: a user's international and premium-rate call attempts in the hour
  (answered or refused) when they reach the threshold and are far above
  the user's usual rate (``FAR_ABOVE`` times their hourly average of the
  baseline week), and their international attempts outside the site's
  working hours; the same per source address (one source behind several
  stolen accounts, each under the threshold on its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voipctl.health_metrics import sample

# Fewer calls than these in the window are no ground for a verdict.
MIN_ATTEMPTS = 10
MIN_RATED = 5
# A user's international calls are suspicious at this many times their usual hourly rate.
FAR_ABOVE = 5


def _trunks(judge, host: str, trunks: Mapping[str, Mapping[str, int]]) -> None:
    for trunk, figures in sorted(trunks.items()):
        attempts, answered = int(figures.get("attempts") or 0), int(figures.get("answered") or 0)
        ratio = answered / attempts if attempts else 0.0
        samples = [
            sample("voip_trunk_attempted_calls", attempts, host=host, trunk=trunk),
            sample("voip_trunk_answer_seizure_ratio", ratio, host=host, trunk=trunk),
        ]
        if attempts < MIN_ATTEMPTS:
            judge.add("ok", host, "trunk-asr", f"calls to {trunk}", f"{answered} of {attempts}", f">= {MIN_ATTEMPTS} calls to judge",
                      "too few calls in the last hour to judge", samples)  # fmt: skip
            continue
        judge.measure(host, "trunk-asr", f"calls to {trunk}", "trunk_asr", round(ratio, 3), "",
                      f"{answered} of {attempts} calls answered in the last hour", samples)  # fmt: skip


def _quality(judge, host: str, rated: int, poor: int) -> None:
    share = poor / rated if rated else 0.0
    samples = [
        sample("voip_rated_calls", rated, host=host),
        sample("voip_poor_mos_call_ratio", share, host=host),
    ]
    if rated < MIN_RATED:
        judge.add("ok", host, "call-quality", "MOS", f"{poor} of {rated} poor", f">= {MIN_RATED} rated calls to judge",
                  "too few calls with a MOS in the last hour to judge", samples)  # fmt: skip
        return
    judge.measure(host, "call-quality", "MOS", "poor_mos_share", round(share, 3), "",
                  f"{poor} of {rated} calls sounded poor (MOS below 3.6) in the last hour", samples)  # fmt: skip


def _suspicions(
    judge, users: Mapping[str, Mapping[str, int]], window_h: float, baseline_h: float, kind: str = "user"
) -> list[tuple]:
    """(severity, object, value, threshold, message) of every user (or source address, ``kind``)
    whose international calls look like fraud."""
    found = []
    for name, figures in sorted(users.items()):
        uid = name if kind == "user" else f"source {name}"
        recent = int(figures.get("recent") or 0)
        usual = (int(figures.get("baseline") or 0) / baseline_h * window_h) if baseline_h else 0.0
        severity, threshold = judge.level("international_calls_per_hour", recent / window_h)
        # As many as this user usually makes is no finding.
        if severity != "ok" and recent >= FAR_ABOVE * usual:
            found.append((severity, uid, f"{recent} international calls in {window_h:g} h",
                          f"{threshold}, and {FAR_ABOVE}x the usual {usual:.1f}",
                          f"{uid} placed {recent} international calls (usually {usual:.1f} in as long): "
                          "a stolen account or phone?"))  # fmt: skip
        night = int(figures.get("after_hours") or 0)
        severity, threshold = judge.level("after_hours_international_calls", night)
        if severity != "ok":
            found.append((severity, f"{uid} after hours", f"{night} international calls", threshold,
                          f"{uid} placed {night} international calls outside the site's working hours"))  # fmt: skip
    return found


def _toll_fraud(judge, host: str, calls: Mapping[str, Any]) -> None:
    users = calls.get("international") or {}
    window_h = max(float(calls.get("window_s") or 3600) / 3600, 1e-9)
    baseline_h = float(calls.get("baseline_s") or 0) / 3600
    found = _suspicions(judge, users, window_h, baseline_h)
    suspects = len({f[1].split()[0] for f in found})
    # One source behind several accounts: each may stay under the threshold, the source does not.
    found += _suspicions(judge, calls.get("international_sources") or {}, window_h, baseline_h, "source")
    total = sum(int(f.get("recent") or 0) for f in users.values())
    samples = [
        sample("voip_international_attempted_calls", total, host=host),
        sample("voip_toll_fraud_suspect_users", suspects, host=host),
    ]
    if not found:
        judge.add("ok", host, "toll-fraud", "international calls", f"{total} in {window_h:g} h", "no user above their usual",
                  "no user places international calls far above their usual rate", samples)  # fmt: skip
    for index, (severity, obj, value, threshold, message) in enumerate(found):
        judge.add(severity, host, "toll-fraud", obj, value, threshold, message, samples if index == 0 else ())


def check_traffic(judge, host: str, calls: Mapping[str, Any] | None, error: str = "") -> None:
    """The findings of a call server's last hour of calls (``calls``: module call_stats' figures)."""
    if error:
        judge.add("warning", host, "call-quality", "call records", "unreadable", "readable",
                  f"the call records could not be summed up: {error}")  # fmt: skip
        return
    if not calls:
        return
    _trunks(judge, host, calls.get("trunks") or {})
    _quality(judge, host, int(calls.get("rated") or 0), int(calls.get("poor") or 0))
    _toll_fraud(judge, host, calls)
