"""``voipctl health``: the estate's health as findings, each with the runbook step to take.

``playbooks/health.yml`` measures (services, disk, memory, load, time sync,
versions, SIP OPTIONS, registrations, bans, certificates, gateway PRI and
voice ports, backup points, trunks) into one JSON file per host; ``users.yml
--check`` tells the configuration drift of the user tables and phone files.
This module judges those measurements against the model's thresholds
(``voip_health_policy``, defaults below) into findings: severity (ok,
warning, critical), host, check, object, measured value, threshold and the
runbook (``docs/runbooks/<check>.md``). Output as a table, JSON or
Prometheus text (node_exporter's textfile collector). Exit code: 0 all ok,
1 a warning, 2 a critical finding.

The Prometheus text has one metric per quantity, in base units (seconds,
ratio 0..1, bytes; counts named by what they count), declared in
``voipctl.health_metrics.METRICS`` and documented in docs/runbooks/README.md. A finding carries
its numbers as ``Sample``s; labels come from bounded sets only (host,
check, service, mount, ...), never a timestamp, a message or free text,
so a new backup or a new message changes a value, not the series set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from voipctl import paths
from voipctl.adapters import inventory, playbook
from voipctl.commandline import add_inventory_option
from voipctl.console import err, out
from voipctl.core.stamps import parse_stamp
from voipctl.errors import VoipctlError
from voipctl.health_metrics import Sample, exposition, sample
from voipctl.health_os import check_os_updates
from voipctl.health_traffic import check_traffic

SEVERITIES = ("ok", "warning", "critical")
RUNBOOKS = "docs/runbooks"
# Defaults of voip_health_policy.thresholds. For the *minimum* kinds
# (memory_available_pct, registered_ratio, certificate_days) a value below
# the threshold is the finding; for the others a value at or above it.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "disk_used_pct": {"warning": 80, "critical": 90},
    "memory_available_pct": {"warning": 15, "critical": 5},
    "load_per_cpu": {"warning": 2.0, "critical": 4.0},
    "time_offset_ms": {"warning": 100, "critical": 1000},
    "sip_latency_ms": {"warning": 200, "critical": 1000},
    "registered_ratio": {"warning": 0.8, "critical": 0.5},
    "banned_sources": {"warning": 1, "critical": 50},
    "auth_failure_sources": {"warning": 5, "critical": 50},
    "certificate_days": {"warning": 30, "critical": 7},
    "backup_age_hours": {"warning": 26, "critical": 50},
    # From the call records of the last hour (voipctl.health_traffic).
    "trunk_asr": {"warning": 0.4, "critical": 0.2},
    "poor_mos_share": {"warning": 0.1, "critical": 0.3},
    "international_calls_per_hour": {"warning": 10, "critical": 30},
    "after_hours_international_calls": {"warning": 3, "critical": 10},
}
MINIMUM_KINDS = {"memory_available_pct", "registered_ratio", "certificate_days", "trunk_asr"}
MIB = 1024 * 1024  # Ansible's *_mb facts are MiB


@dataclass(frozen=True)
class Finding:
    severity: str
    host: str
    check: str
    object: str
    value: str
    threshold: str
    message: str
    samples: tuple[Sample, ...] = field(default=(), compare=False, repr=False)

    @property
    def runbook(self) -> str:
        return f"{RUNBOOKS}/{self.check}.md"

    def as_dict(self) -> dict[str, str]:
        fields = {k: v for k, v in asdict(self).items() if k != "samples"}
        return {**fields, "runbook": self.runbook}


class Judge:
    """Collects findings while the checks run."""

    def __init__(self, thresholds: Mapping[str, Mapping[str, float]] | None = None):
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.findings: list[Finding] = []

    def add(
        self,
        severity: str,
        host: str,
        check: str,
        obj: str,
        value: Any,
        threshold: Any,
        message: str,
        samples: Iterable[Sample] = (),
    ) -> None:
        self.findings.append(
            Finding(severity, host, check, obj, str(value), str(threshold), message, tuple(samples))
        )

    def level(self, kind: str, value: float) -> tuple[str, str]:
        """Severity of ``value`` against threshold ``kind``, and the threshold as text."""
        limits = self.thresholds[kind]
        if kind in MINIMUM_KINDS:
            severity = (
                "critical" if value < limits["critical"] else "warning" if value < limits["warning"] else "ok"
            )
            return severity, f">= {limits['warning']:g} (critical < {limits['critical']:g})"
        severity = (
            "critical" if value >= limits["critical"] else "warning" if value >= limits["warning"] else "ok"
        )
        return severity, f"< {limits['warning']:g} (critical >= {limits['critical']:g})"

    def measure(
        self,
        host: str,
        check: str,
        obj: str,
        kind: str,
        value: float,
        unit: str,
        what: str,
        samples: Iterable[Sample] = (),
    ) -> None:
        severity, threshold = self.level(kind, value)
        self.add(severity, host, check, obj, f"{value:g}{unit}", threshold, what, samples)


# -- the checks ----------------------------------------------------------------


def _number(text: str, pattern: str) -> float | None:
    match = re.search(pattern, text or "")
    return float(match.group(1)) if match else None


def check_linux(
    judge: Judge,
    m: Mapping[str, Any],
    expected_users: Mapping[str, int],
    estate: Mapping[str, Any],
    now: datetime,
) -> None:
    host = m["host"]
    if "os_updates" in m:
        check_os_updates(judge, host, m["os_updates"], estate.get("os_updates_policy") or {}, now,
                         m.get("os_updates_error") or "")  # fmt: skip
    for service, state in sorted((m.get("services") or {}).items()):
        active = [sample("voip_service_active", state == "active", host=host, service=service)]
        if state == "active":
            judge.add("ok", host, "service", service, state, "active", f"{service} runs", active)
        else:
            judge.add("critical", host, "service", service, state, "active",
                      f"{service} is {state}, not running", active)  # fmt: skip
    for mount in m.get("mounts") or []:
        used = float(mount["used_pct"])
        judge.measure(host, "disk", mount["mount"], "disk_used_pct", used, "%", "disk used",
                      [sample("voip_disk_used_ratio", used / 100, host=host, mount=mount["mount"])])  # fmt: skip
    memory = m.get("memory") or {}
    if memory.get("total_mb"):
        total, available = float(memory["total_mb"]), float(memory.get("available_mb") or 0)
        pct = round(100.0 * available / total, 1)
        judge.measure(host, "memory", "available", "memory_available_pct", pct, "%", "memory available", [
            sample("voip_memory_available_ratio", available / total, host=host),
            sample("voip_memory_available_bytes", available * MIB, host=host),
            sample("voip_memory_total_bytes", total * MIB, host=host),
        ])  # fmt: skip
    load1 = _number(m.get("loadavg", ""), r"^\s*([0-9.]+)")
    if load1 is not None:
        cpus = max(int(m.get("cpus") or 1), 1)
        judge.measure(host, "load", "load1 per cpu", "load_per_cpu", round(load1 / cpus, 2), "",
                      "1-minute load per CPU", [sample("voip_load1_per_cpu", load1 / cpus, host=host)])  # fmt: skip
    _check_time(judge, host, m.get("chrony") or "")
    # The installed versions go with the host's first version finding.
    versions = [sample("voip_component_version_info", 1, host=host, component=component, version=version)
                for component, version in sorted((m.get("installed") or {}).items()) if version]  # fmt: skip
    for drift in m.get("drift") or []:
        judge.add(
            "warning", host, "version", drift["component"], drift.get("installed") or "not installed",
            drift["target"], f"runs {drift['component']} {drift.get('installed')}, the release manifest says {drift['target']}",
            versions,
        )  # fmt: skip
        versions = []
    if not m.get("drift") and m.get("installed"):
        judge.add("ok", host, "version", "components", ", ".join(f"{k} {v}" for k, v in m["installed"].items()),
                  "release manifest", "at the release manifest", versions)  # fmt: skip
    if "call_servers" in (m.get("groups") or []):
        _check_call_server(judge, m, expected_users)
        check_traffic(judge, host, m.get("calls"), m.get("calls_error") or "")
    if m.get("certificate"):
        _check_certificate(judge, host, m["certificate"])


def _check_time(judge: Judge, host: str, chrony: str) -> None:
    fields = chrony.strip().split(",")
    if len(fields) < 14:
        judge.add("critical", host, "time", "chrony", "no answer", "synchronised", "chrony does not answer")
        return
    leap = fields[-1]
    if leap != "Normal":
        judge.add(
            "critical", host, "time", "chrony", leap, "Normal", f"the clock is not synchronised ({leap})"
        )
        return
    offset = abs(float(fields[4]))
    judge.measure(host, "time", f"offset to {fields[1] or 'local clock'}", "time_offset_ms", round(offset * 1000, 3),
                  " ms", "clock offset", [sample("voip_time_offset_seconds", offset, host=host)])  # fmt: skip


def _check_call_server(judge: Judge, m: Mapping[str, Any], expected_users: Mapping[str, int]) -> None:
    host = m["host"]
    sip = m.get("sip") or {}
    if not sip.get("ok"):
        judge.add("critical", host, "sip-options", "OPTIONS", sip.get("status") or "no answer", "200",
                  sip.get("msg") or "SIP OPTIONS not answered")  # fmt: skip
    else:
        latency = float(sip.get("latency_ms") or 0)
        judge.measure(host, "sip-options", "OPTIONS", "sip_latency_ms", latency, " ms", "SIP OPTIONS answered",
                      [sample("voip_sip_options_latency_seconds", latency / 1000, host=host)])  # fmt: skip
    kam = m.get("kamailio") or {}
    registered = _number(kam.get("registered", ""), r"=\s*([0-9]+)")
    expected = int(expected_users.get(m.get("site") or "", 0))
    if registered is None:
        judge.add(
            "critical",
            host,
            "registrations",
            "location",
            "unknown",
            expected,
            "Kamailio's statistics do not answer",
        )
    elif expected:
        ratio = round(registered / expected, 2)
        severity, threshold = judge.level("registered_ratio", ratio)
        judge.add(severity, host, "registrations", "users", f"{registered:g} of {expected}", threshold,
                  f"{ratio:.0%} of the site's active users registered", [
                      sample("voip_sip_registered_users", registered, host=host),
                      sample("voip_sip_expected_users", expected, host=host),
                      sample("voip_sip_registered_ratio", registered / expected, host=host),
                  ])  # fmt: skip
    banned = (kam.get("banned") or "").count("name:")
    judge.measure(host, "security", "banned sources", "banned_sources", banned, "",
                  "sources banned for floods or auth failures",
                  [sample("voip_security_banned_sources", banned, host=host)])  # fmt: skip
    failing = (kam.get("authfail") or "").count("name:")
    judge.measure(host, "security", "authentication failures", "auth_failure_sources", failing, "",
                  "sources with recent authentication failures",
                  [sample("voip_security_auth_failure_sources", failing, host=host)])  # fmt: skip


def _check_certificate(judge: Judge, host: str, text: str, now: datetime | None = None) -> None:
    match = re.search(r"notAfter=(.+)$", text.strip())
    if not match:
        judge.add(
            "critical", host, "certificate", "provisioning", "unreadable", "readable", text.strip()[:120]
        )
        return
    not_after = datetime.strptime(match.group(1).strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    days = round(((not_after - (now or datetime.now(UTC))).total_seconds()) / 86400, 1)
    judge.measure(host, "certificate", "provisioning HTTPS", "certificate_days", days, " days",
                  f"expires {not_after:%Y-%m-%d}",
                  [sample("voip_certificate_expiry_timestamp_seconds", not_after.timestamp(), host=host)])  # fmt: skip


def check_gateway(judge: Judge, m: Mapping[str, Any]) -> None:
    host = m["host"]
    if m.get("error") or not m.get("outputs"):
        judge.add(
            "critical", host, "unreachable", "SSH", "no answer", "answers", m.get("error") or "no output"
        )
        return
    isdn = m["outputs"].get("show isdn status", "")
    spans = re.findall(r"ISDN (\S+) interface.*?Layer 1 Status:\s*(\S+).*?State = (\S+)", isdn, re.S)
    for interface, layer1, layer2 in spans:
        up = layer1 == "ACTIVE" and layer2 == "MULTIPLE_FRAME_ESTABLISHED"
        judge.add("ok" if up else "critical", host, "gateway-pri", interface, f"L1 {layer1}, L2 {layer2}",
                  "L1 ACTIVE, L2 MULTIPLE_FRAME_ESTABLISHED", "PRI up" if up else "PRI down",
                  [sample("voip_gateway_pri_up", up, host=host, interface=interface)])  # fmt: skip
    if int(m.get("pri_spans") or 0) > len(spans):
        judge.add(
            "critical",
            host,
            "gateway-pri",
            "spans",
            len(spans),
            m["pri_spans"],
            "PRI spans missing on the gateway",
        )
    ports = m["outputs"].get("show voice port summary", "")
    for line in ports.splitlines():
        cols = line.split()
        if len(cols) >= 5 and re.match(r"^\d+/\d+/\d+", cols[0]) and cols[3] in ("up", "down"):
            bad = cols[3] == "down" or cols[4] == "down"
            judge.add("warning" if bad else "ok", host, "gateway-ports", cols[0], f"admin {cols[3]}, oper {cols[4]}",
                      "admin up", "voice port down" if bad else "voice port in service",
                      [sample("voip_gateway_voice_port_up", not bad, host=host, port=cols[0])])  # fmt: skip
    version = _number(m["outputs"].get("show version", ""), r"Version ([0-9]+\.[0-9]+)")
    shown = m["outputs"].get("show version", "")
    # The IOS line: IOS XE prints its own version ("Version 17.06.05") first.
    have = re.search(r"^Cisco IOS Software.*?, Version ([^ ,\n]+)", shown, re.M) or re.search(
        r"Version ([^ ,\n]+)", shown
    )
    if m.get("image") and have and version is not None:
        same = have.group(1) == m["image"]
        judge.add("ok" if same else "warning", host, "version", "ios", have.group(1), m["image"],
                  "at the release manifest" if same else "differs from the release manifest",
                  [sample("voip_component_version_info", 1, host=host, component="ios", version=have.group(1))])  # fmt: skip


def check_backups(judge: Judge, estate: Mapping[str, Any], hosts: Iterable[str], now: datetime) -> None:
    latest: dict[str, str] = {}
    for point in estate.get("backups") or []:
        if point["stamp"] > latest.get(point["host"], ""):
            latest[point["host"]] = point["stamp"]
    for host in hosts:
        stamp = latest.get(host)
        if not stamp:
            judge.add(
                "critical",
                host,
                "backup-age",
                "latest point",
                "none",
                "a point",
                "no backup point of this host",
            )
            continue
        taken = parse_stamp(stamp)
        age = (now - taken).total_seconds()
        judge.measure(host, "backup-age", f"latest point {stamp}", "backup_age_hours", round(age / 3600, 1), " h",
                      "age of the latest backup", [
                          sample("voip_backup_age_seconds", age, host=host),
                          sample("voip_backup_last_success_timestamp_seconds", taken.timestamp(), host=host),
                      ])  # fmt: skip


def check_trunks(judge: Judge, estate: Mapping[str, Any]) -> None:
    for trunk in estate.get("trunks") or []:
        if trunk.get("ok"):
            latency = float(trunk.get("latency_ms") or 0)
            judge.measure(trunk["name"], "trunk", "OPTIONS", "sip_latency_ms", latency, " ms",
                          "the carrier answers SIP OPTIONS",
                          [sample("voip_trunk_options_latency_seconds", latency / 1000, trunk=trunk["name"])])  # fmt: skip
        else:
            judge.add("critical", trunk["name"], "trunk", "OPTIONS", trunk.get("status") or "no answer", "200",
                      trunk.get("msg") or "the carrier does not answer")  # fmt: skip


# A call server with a critical finding of these checks serves no call.
_SERVER_DOWN = {("unreachable", None), ("sip-options", None), ("service", "kamailio")}


def check_sites(judge: Judge, call_server_sites: Mapping[str, Any]) -> None:
    """Each site's call servers: is the site served, and is its pair whole?

    Run after the hosts' checks: a member is down when it could not be
    measured, answers no OPTIONS or does not run Kamailio. A site with a
    member up is served (ok); with none, it is critical. A pair (or more)
    with a member down is critical for the pair, whose other member now
    carries the site alone: one more failure and the site is down.
    """
    down = {
        f.host for f in judge.findings
        if f.severity == "critical" and ((f.check, None) in _SERVER_DOWN or (f.check, f.object) in _SERVER_DOWN)
    }  # fmt: skip
    by_site: dict[str, list[str]] = {}
    for host, site in sorted(call_server_sites.items()):
        if site:
            by_site.setdefault(str(site), []).append(host)
    for site, members in sorted(by_site.items()):
        lost = [h for h in members if h in down]
        up = [h for h in members if h not in down]
        samples = [sample("voip_site_call_servers", len(members), site=site),
                   sample("voip_site_serving_call_servers", len(up), site=site)]  # fmt: skip
        served = f"{len(up)} of {len(members)}"
        if not up:
            judge.add("critical", site, "site-service", "call servers", served, "at least 1",
                      f"no call server of site {site} serves calls ({', '.join(members)} down)", samples)  # fmt: skip
        else:
            judge.add("ok", site, "site-service", "call servers", served, "at least 1",
                      f"site {site} is served by {', '.join(up)}", samples)  # fmt: skip
        if len(members) > 1 and lost and up:
            judge.add("critical", site, "site-service", "pair", served, f"{len(members)} of {len(members)}",
                      f"the pair {' + '.join(members)} has lost {', '.join(lost)}: {', '.join(up)} carries "
                      f"site {site} alone, with no backup")  # fmt: skip


def check_drift(judge: Judge, changed: Iterable[tuple[str, str]], playbook_name: str) -> None:
    changed = list(changed)
    # The estate's count goes with the first drift finding (or the "no change" one).
    count = [sample("voip_config_drift_tasks", len(changed), playbook=playbook_name)]
    for host, task in changed:
        judge.add("warning", host, "config-drift", task, "would change", "no change",
                  f"{playbook_name} --check would change this (the host differs from the model)", count)  # fmt: skip
        count = []
    if not changed:
        judge.add("ok", "estate", "config-drift", playbook_name, "no change", "no change",
                  "the hosts match the model", count)  # fmt: skip


def evaluate(
    measurements: Mapping[str, Mapping[str, Any]],
    estate: Mapping[str, Any],
    drift: Iterable[tuple[str, str]] | None = None,
    drift_playbook: str = "playbooks/users.yml",
    now: datetime | None = None,
    expected_hosts: Iterable[str] = (),
    call_server_sites: Mapping[str, Any] | None = None,
) -> list[Finding]:
    """Every finding of the measured estate, worst first.

    ``call_server_sites``: each call server's site (from the inventory, so
    a host that could not be measured still counts for its site).
    """
    policy = estate.get("health_policy") or {}
    judge = Judge(policy.get("thresholds"))
    now = now or datetime.now(UTC)
    expected_users = estate.get("expected_users") or {}
    for host in expected_hosts:
        if host not in measurements:
            judge.add(
                "critical",
                host,
                "unreachable",
                "SSH",
                "no answer",
                "answers",
                "the host could not be measured",
            )
    for _host, m in sorted(measurements.items()):
        if "gateways" in (m.get("groups") or []):
            check_gateway(judge, m)
        elif "services" in m:
            check_linux(judge, m, expected_users, estate, now)
    if call_server_sites:
        check_sites(judge, call_server_sites)
    check_backups(judge, estate, sorted({*measurements, *expected_hosts}), now)
    check_trunks(judge, estate)
    if drift is not None:
        check_drift(judge, drift, drift_playbook)
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(judge.findings, key=lambda f: (order[f.severity], f.host, f.check, f.object))


def exit_code(findings: Iterable[Finding]) -> int:
    severities = {f.severity for f in findings}
    return 2 if "critical" in severities else 1 if "warning" in severities else 0


# -- output --------------------------------------------------------------------


def prometheus(findings: Iterable[Finding]) -> str:
    """Prometheus text exposition (node_exporter textfile collector), one metric per quantity.

    ``voip_health_status{host,check}`` is the worst severity of a check on a
    host (for alerting); then every metric of ``METRICS`` the findings carry
    samples of (see ``voipctl.health_metrics``).
    """
    status: dict[tuple[str, str], int] = {}
    samples: list[Sample] = []
    for f in findings:
        key = (f.host, f.check)
        status[key] = max(status.get(key, 0), SEVERITIES.index(f.severity))
        samples += f.samples
    statuses = [sample("voip_health_status", level, host=h, check=c) for (h, c), level in status.items()]
    return exposition([*statuses, *samples])


def table(findings: list[Finding]) -> Table:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    title = "estate health: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    result = Table(title=title, title_justify="left")
    for column in ("severity", "host", "check", "object", "value", "threshold", "runbook / finding"):
        result.add_column(column)
    colour = {"ok": "green", "warning": "yellow", "critical": "red"}
    for f in findings:
        detail = f.message if f.severity == "ok" else f"{f.message}\n→ {f.runbook}"
        result.add_row(
            f"[{colour[f.severity]}]{f.severity}[/]", f.host, f.check, f.object, f.value, f.threshold, detail
        )
    return result


# -- command -------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("health", help="the estate's health as findings with runbook steps")
    add_inventory_option(parser)
    parser.add_argument("--format", choices=("table", "json", "prometheus"), default="table")
    parser.add_argument("--output", help="write the report to this file (atomically) instead of stdout")
    parser.add_argument(
        "--drift", choices=("users", "site", "none"), default="users",
        help="configuration drift from a check-mode run of users.yml (default), site.yml, or none",
    )  # fmt: skip
    parser.set_defaults(func=cmd_health)


DRIFT_PLAYBOOKS = {"users": "playbooks/users.yml", "site": "playbooks/site.yml"}


def measure(
    root: Path, inventory_path: Path
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], playbook.PlaybookResult]:
    with tempfile.TemporaryDirectory(prefix="voip-health-") as tmp:
        result = playbook.run(
            root, "playbooks/health.yml", inventory_path, ["-e", f"health_dir={tmp}"], echo=False
        )
        found = {p.stem: json.loads(p.read_text()) for p in Path(tmp).glob("*.json")}
    estate = found.pop("_estate", {})
    if not estate and not found:
        raise VoipctlError(
            f"playbooks/health.yml measured nothing (exit {result.returncode}): {result.output[-600:]}"
        )
    return found, estate, result


def cmd_health(args: argparse.Namespace) -> int:
    root = paths.repo_root()
    inv_path = Path(args.inventory).resolve() if args.inventory else root / "inventory" / "lab"
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    inv = inventory.load(inv_path, only=("voip_site",))
    groups = inv.groups
    hosts = [h for g in ("linux", "gateways") for h in groups.get(g, [])]
    sites = {h: inv.hosts[h].get("voip_site") for h in groups.get("call_servers", [])}
    err.print(f"health: measuring {len(hosts)} hosts")
    measurements, estate, _ = measure(root, inv_path)
    drift = None
    if args.drift != "none":
        check = playbook.run(root, DRIFT_PLAYBOOKS[args.drift], inv_path, ["--check"], echo=False)
        drift = check.changed_tasks
        if check.returncode != 0:
            drift = [
                *drift,
                ("estate", f"{DRIFT_PLAYBOOKS[args.drift]} --check failed (exit {check.returncode})"),
            ]
    findings = evaluate(
        measurements,
        estate,
        drift,
        DRIFT_PLAYBOOKS.get(args.drift, ""),
        expected_hosts=hosts,
        call_server_sites=sites,
    )
    if args.format == "table":
        if args.output:
            raise VoipctlError("--output takes --format json or prometheus")
        out.print(table(findings))
    else:
        text = (
            json.dumps(
                {"findings": [f.as_dict() for f in findings], "exit_code": exit_code(findings)}, indent=2
            )
            + "\n"
            if args.format == "json"
            else prometheus(findings)
        )
        if args.output:
            target = Path(args.output)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(text)
            tmp.replace(target)
        else:
            out.file.write(text)
    return exit_code(findings)
