"""The Prometheus metrics of ``voipctl health``: declared once, each in one unit, rendered as text.

Every metric names its unit by its suffix (base units only: ``_seconds``,
``_ratio`` as 0..1, ``_bytes``; a count by what it counts; ``_info`` always
1; states without a unit), has a fixed label set from bounded values (host,
check, service, mount, ...; never a timestamp, a message or free text) and
a runbook page. docs/runbooks/README.md documents each one; a unit test
holds the table and ``METRICS`` together. The checks in ``voipctl.health``
attach ``Sample``s to their findings; ``exposition`` writes the text
format node_exporter's textfile collector reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

RUNBOOKS = "docs/runbooks"


@dataclass(frozen=True)
class Metric:
    """One Prometheus metric: a single unit, a fixed label set, its runbook page."""

    name: str
    unit: str  # seconds, ratio, bytes, info, what a count counts (users, ...), or "" for states
    labels: tuple[str, ...]
    help: str
    check: str  # the runbook page, docs/runbooks/<check>.md ("" for the status of every check)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("voip_health_status", "", ("host", "check"), "Worst severity of the check's findings on the host: 0 ok, 1 warning, 2 critical.", ""),
        Metric("voip_service_active", "", ("host", "service"), "1 if the systemd service is active, 0 otherwise.", "service"),
        Metric("voip_disk_used_ratio", "ratio", ("host", "mount"), "Used share of the file system (0..1).", "disk"),
        Metric("voip_memory_available_ratio", "ratio", ("host",), "Available share of the memory (0..1).", "memory"),
        Metric("voip_memory_available_bytes", "bytes", ("host",), "Available memory.", "memory"),
        Metric("voip_memory_total_bytes", "bytes", ("host",), "Total memory.", "memory"),
        Metric("voip_load1_per_cpu", "", ("host",), "1-minute load average divided by the number of CPUs.", "load"),
        Metric("voip_time_offset_seconds", "seconds", ("host",), "Absolute offset of the system clock to chrony's reference.", "time"),
        Metric("voip_sip_options_latency_seconds", "seconds", ("host",), "Time the call server took to answer SIP OPTIONS.", "sip-options"),
        Metric("voip_sip_registered_users", "users", ("host",), "Users registered on the call server.", "registrations"),
        Metric("voip_sip_expected_users", "users", ("host",), "Active users of the call server's site in the model.", "registrations"),
        Metric("voip_sip_registered_ratio", "ratio", ("host",), "Registered users divided by the site's active users.", "registrations"),
        Metric("voip_security_banned_sources", "sources", ("host",), "Sources banned for floods or authentication failures.", "security"),
        Metric("voip_security_auth_failure_sources", "sources", ("host",), "Sources with recent authentication failures.", "security"),
        Metric("voip_certificate_expiry_timestamp_seconds", "seconds", ("host",), "Unix time at which the provisioning HTTPS certificate expires.", "certificate"),
        Metric("voip_component_version_info", "info", ("host", "component", "version"), "Installed version of a release component (always 1).", "version"),
        Metric("voip_gateway_pri_up", "", ("host", "interface"), "1 if the PRI span has layer 1 ACTIVE and layer 2 MULTIPLE_FRAME_ESTABLISHED, 0 otherwise.", "gateway-pri"),
        Metric("voip_gateway_voice_port_up", "", ("host", "port"), "1 if the voice port is administratively and operationally up, 0 otherwise.", "gateway-ports"),
        Metric("voip_backup_age_seconds", "seconds", ("host",), "Age of the host's newest backup point.", "backup-age"),
        Metric("voip_backup_last_success_timestamp_seconds", "seconds", ("host",), "Unix time of the host's newest backup point.", "backup-age"),
        Metric("voip_trunk_options_latency_seconds", "seconds", ("trunk",), "Time the carrier took to answer SIP OPTIONS.", "trunk"),
        Metric("voip_site_call_servers", "servers", ("site",), "Call servers of the site in the model (a pair has two).", "site-service"),
        Metric("voip_site_serving_call_servers", "servers", ("site",), "Call servers of the site that run Kamailio and answer SIP OPTIONS.", "site-service"),
        Metric("voip_trunk_attempted_calls", "calls", ("host", "trunk"), "Calls the call server sent to the trunk in the last hour.", "trunk-asr"),
        Metric("voip_trunk_answer_seizure_ratio", "ratio", ("host", "trunk"), "Answered share of the calls sent to the trunk in the last hour.", "trunk-asr"),
        Metric("voip_rated_calls", "calls", ("host",), "Calls that ended in the last hour with a MOS (media quality) measured.", "call-quality"),
        Metric("voip_poor_mos_call_ratio", "ratio", ("host",), "Share of the rated calls of the last hour whose MOS was below 3.6.", "call-quality"),
        Metric("voip_international_attempted_calls", "calls", ("host",), "International and premium-rate call attempts of the call server's users in the last hour.", "toll-fraud"),
        Metric("voip_toll_fraud_suspect_users", "users", ("host",), "Users whose international calls of the last hour look like toll fraud.", "toll-fraud"),
        Metric("voip_os_pending_security_updates", "updates", ("host",), "Security updates the host waits for (the release's components held).", "os-updates"),
        Metric("voip_os_pending_updates", "updates", ("host",), "Operating-system updates the host waits for, security or not (the release's components held).", "os-updates"),
        Metric("voip_os_security_update_wait_seconds", "seconds", ("host",), "How long the host's oldest waiting security update has waited since first seen.", "os-updates"),
        Metric("voip_os_reboot_required", "", ("host",), "1 if the host needs a reboot for updates it took, 0 otherwise.", "os-updates"),
        Metric("voip_config_drift_tasks", "tasks", ("playbook",), "Tasks a check-mode run of the playbook would change (0: the hosts match the model).", "config-drift"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Sample:
    """One number of a finding for Prometheus, in its metric's base unit."""

    metric: str
    labels: tuple[str, ...]  # values, in the order of METRICS[metric].labels
    value: float


def sample(metric: str, value: float, **labels: str) -> Sample:
    """A sample of a declared metric; its labels must be exactly the metric's."""
    declared = METRICS[metric].labels
    if set(labels) != set(declared):
        raise ValueError(f"{metric} takes the labels {declared}, not {tuple(labels)}")
    return Sample(metric, tuple(str(labels[name]) for name in declared), float(value))


def _label(value: str) -> str:
    """A label value escaped as the text exposition format asks: backslash, double quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _value(value: float) -> str:
    """A sample value in full precision (a Unix time keeps its seconds), integers without a fraction."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def exposition(samples: Iterable[Sample]) -> str:
    """The text exposition format: per metric with samples, HELP and TYPE, then its series, sorted.

    Metrics come in the order of ``METRICS``; a series given twice keeps its last value.
    """
    series: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in METRICS}
    for s in samples:
        series[s.metric][s.labels] = s.value
    lines: list[str] = []
    for name, metric in METRICS.items():
        if not series[name]:
            continue
        page = f"{RUNBOOKS}/{metric.check or '<check>'}.md"
        lines += [f"# HELP {name} {metric.help} Runbook: {page}.", f"# TYPE {name} gauge"]
        for labels, value in sorted(series[name].items()):
            text = ",".join(f'{k}="{_label(v)}"' for k, v in zip(metric.labels, labels, strict=True))
            lines.append(f"{name}{{{text}}} {_value(value)}")
    return "\n".join(lines) + "\n"
