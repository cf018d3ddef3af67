"""``voipctl health --format prometheus``, read back with prometheus_client's own parser.

A rich estate (every check the health module knows, ok and failing, and
host names with quotes, backslashes and newlines from an untrusted model)
is judged and written as Prometheus text. Then: every metric is one the
runbook index (docs/runbooks/README.md) documents, with one unit that its
name's suffix says and the label set the index gives; no label value is a
timestamp or free text; a later backup changes values, never the series
set; and values are in base units (a 3-hour-old backup is 10800 seconds).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from voipctl import health

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "docs" / "runbooks"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CHRONY = "0AE7001F,10.231.0.31,9,1796014989.3,{offset},0.0000018,0.00004,-0.014,0.000,0.216,0.0000625,0.0000542,65.1,{leap}"
ISDN = (
    "ISDN {iface} interface\n\tdsl 0, interface ISDN Switchtype = primary-net5\n"
    "    Layer 1 Status:\n\t{l1}\n    Layer 2 Status:\n\tTEI = 0, Ces = 1, SAPI = 0, State = {l2}\n"
)
PORTS = (
    "PORT            CH SIG-TYPE     ADMIN OPER STATUS   STATUS   EC\n"
    "=============== == ============ ===== ==== ======== ======== ==\n"
    "0/2/0           -- fxs-ls       up    dorm on-hook  idle     y\n"
    "0/2/1           -- fxs-ls       down  down on-hook  idle     y\n"
)
# Host names an untrusted model could carry: quotes, backslashes, newlines, a fake sample line.
EVIL_CS = 'cs"2\\\nvoip_health_status{host="x"} 0'
EVIL_GW = 'gw\\"1\n'
HOSTS = ["cs1", EVIL_CS, "prov1", "gw1", EVIL_GW, "gw-down", "cs-unmeasured"]
TRUNKS = ["carrier-ok", 'carrier "b"']
UNIT_WORDS = {"seconds", "ratio", "bytes", "info", "total", "percent", "pct", "hours", "hour", "ms",
              "milliseconds", "minutes", "days", "count", "value"}  # fmt: skip
TIMESTAMP = re.compile(r"\d{8}T\d{4,6}Z|\d{4}-\d{2}-\d{2}|\d{2}:\d{2}|^\d{9,}(\.\d+)?$")


def documented() -> dict[str, dict[str, object]]:
    """The metric table of the runbook index: name -> unit, labels, runbook cell."""
    rows = {}
    for line in (RUNBOOKS / "README.md").read_text().splitlines():
        match = re.match(r"^\| `(voip_[a-z0-9_]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", line)
        if match:
            name, unit, labels, meaning, runbook = (g.strip() for g in match.groups())
            rows[name] = {"unit": unit, "labels": tuple(x.strip() for x in labels.split(",")),
                          "meaning": meaning, "runbook": runbook}  # fmt: skip
    return rows


def linux(host, **over):
    m = {
        "host": host, "groups": ["linux"], "site": "ams",
        "services": {"ssh": "active", "chrony": "active"},
        "mounts": [{"mount": "/", "used_pct": 85.0}, {"mount": "/var", "used_pct": 12.5}],
        "memory": {"total_mb": 1000, "available_mb": 250}, "cpus": 4, "loadavg": "2.00 1 1 1/200 123",
        "chrony": CHRONY.format(offset="-0.250000000", leap="Normal"),
        "installed": {"voip-routing": "1.0"}, "drift": [],
    }  # fmt: skip
    m.update(over)
    return m


def call_server(host, **over):
    m = linux(host, groups=["linux", "call_servers"],
              services={"kamailio": "active", "rtpengine-daemon": "failed", "ssh": "active"},
              sip={"ok": True, "status": 200, "latency_ms": 3.0},
              kamailio={"registered": "usrloc:location_users = 9", "banned": "name: 1.2.3.4\n" * 2,
                        "authfail": "name: 5.6.7.8\n"})  # fmt: skip
    m.update(over)
    return m


def gateway(host, **over):
    isdn = ISDN.format(iface="Serial0/1/0:15", l1="ACTIVE", l2="MULTIPLE_FRAME_ESTABLISHED") + ISDN.format(
        iface="Serial0/1/1:15", l1="DEACTIVATED", l2="TEI_ASSIGNED"
    )
    m = {"host": host, "groups": ["network_devices", "gateways"], "pri_spans": 3, "image": "17.6.5",
         "outputs": {"show isdn status": isdn, "show voice port summary": PORTS,
                     "show version": "Cisco IOS XE Software, Version 17.3.1\n"}}  # fmt: skip
    m.update(over)
    return m


EVIL_SITE = 'th"r\\n}x'
# The last hour's calls of cs1: a trunk with too few calls to judge and one that answers 1 in 12;
# 4 of 10 rated calls poor; a user far above their usual international calls, and at night.
CALLS = {
    "window_s": 3600, "baseline_s": 604800, "attempts": 40, "answered": 20,
    "trunks": {"carrier-ok": {"attempts": 3, "answered": 3}, 'carrier "b"': {"attempts": 12, "answered": 1}},
    "rated": 10, "poor": 4,
    "international": {"pbakker": {"recent": 12, "baseline": 2, "after_hours": 4},
                      "jdevries": {"recent": 1, "baseline": 20, "after_hours": 0}},
}  # fmt: skip
SITES = ("ams", EVIL_SITE)


def rich(backup_taken: datetime = NOW - timedelta(hours=3), drift=(("cs1", "Sync SIP accounts"),)):
    """Every check kind, ok and failing, hostile host names included: (findings, Prometheus text)."""
    measurements = {
        "cs1": call_server("cs1", drift=[{"component": "voip-routing", "installed": "0.9", "target": "1.0"}],
                           installed={"voip-routing": "0.9", "kamailio": "5.6.3"}, calls=CALLS),
        EVIL_CS: call_server(EVIL_CS, sip={"ok": False, "msg": "no answer from 10.0.0.12:5060/udp within 2.0 s"},
                             calls_error="no call records database at /var/lib/kamailio/calls.sqlite",
                             kamailio={"registered": "", "banned": "", "authfail": ""},
                             chrony=CHRONY.format(offset="0.1", leap="Not synchronised")),
        "prov1": linux("prov1", certificate="notAfter=Dec  5 10:00:00 2026 GMT", chrony="", os_updates={
            "updates": [{"name": "openssl", "candidate": "3.0.2", "security": True, "since": "2026-11-01T00:00:00+00:00"},
                        {"name": "tzdata", "candidate": "2026f", "security": False, "since": "2026-11-01T00:00:00+00:00"}],
            "reboot_reasons": ["libc6 changed (it takes effect at a reboot)"]}),
        "prov2": linux("prov2", certificate="unable to load certificate"),
        "gw1": gateway("gw1"),
        EVIL_GW: gateway(EVIL_GW, outputs={**gateway("x")["outputs"], "show version": "Version 17.6.5\n"}),
        "gw-down": gateway("gw-down", error="10.231.0.42:22: no SSH answer within 20 s", outputs={}),
    }  # fmt: skip
    stamp = backup_taken.strftime("%Y%m%dT%H%M%SZ")
    est = {
        "backups": [{"host": h, "stamp": stamp} for h in ("cs1", EVIL_CS, "prov1", "gw1", EVIL_GW)]
        + [{"host": "cs1", "stamp": "20200101T000000Z"}],
        "expected_users": {"ams": 10},
        "trunks": [{"name": "carrier-ok", "ok": True, "status": 200, "latency_ms": 12.0},
                   {"name": 'carrier "b"', "ok": False, "msg": "408 Request Timeout"}],
        "health_policy": {},
    }  # fmt: skip
    # cs1 and the hostile call server are a pair at ams (one of them down); the
    # unmeasured one alone at a site with a hostile name (down: the site is not served).
    sites = {"cs1": "ams", EVIL_CS: "ams", "cs-unmeasured": EVIL_SITE}
    findings = health.evaluate(measurements, est, list(drift), now=NOW, expected_hosts=["cs-unmeasured"],
                               call_server_sites=sites)  # fmt: skip
    return findings, health.prometheus(findings)


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def series(text):
    """(metric, labels) of every sample: the series set."""
    return {
        (s.name, frozenset(s.labels.items())) for f in text_string_to_metric_families(text) for s in f.samples
    }


def values(text):
    return {(s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}  # fmt: skip


def test_every_declared_metric_is_documented_with_its_unit_labels_and_runbook():
    from voipctl.health_metrics import METRICS

    docs = documented()
    assert set(docs) == set(METRICS)
    for name, metric in METRICS.items():
        assert docs[name]["unit"] == (metric.unit or "1"), name
        assert docs[name]["labels"] == metric.labels, name
        if metric.check:
            assert docs[name]["runbook"] == f"[{metric.check}]({metric.check}.md)", name
            assert (RUNBOOKS / f"{metric.check}.md").is_file()


def test_the_rich_estate_has_every_check_kind():
    findings, _ = rich()
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert {f.check for f in findings} == pages
    assert {f.severity for f in findings} == {"ok", "warning", "critical"}


def test_every_family_has_one_unit_its_name_says_and_its_documented_labels():
    _, text = rich()
    docs = documented()
    parsed = list(text_string_to_metric_families(text))
    assert len({f.name for f in parsed}) == len(parsed), "a metric split into several families"
    assert text.count("# TYPE ") == len(parsed)
    for family in parsed:
        assert family.name in docs, f"{family.name} is not in docs/runbooks/README.md"
        unit, labels = docs[family.name]["unit"], docs[family.name]["labels"]
        assert family.documentation and family.type == "gauge", family.name
        if unit == "1":
            assert family.name.rsplit("_", 1)[1] not in UNIT_WORDS, (
                f"{family.name} has no unit but a unit suffix"
            )
        else:
            assert family.name.endswith(f"_{unit}"), f"{family.name} is documented in {unit}"
        for s in family.samples:
            assert s.name == family.name and tuple(s.labels) == labels, s
            if unit == "ratio":
                assert 0 <= s.value <= 1, s
            if unit == "info":
                assert s.value == 1, s
            if family.name == "voip_health_status":
                assert s.value in (0, 1, 2), s
            if family.name.endswith(("_up", "_active")):
                assert s.value in (0, 1), s


def test_label_values_come_from_bounded_sets_never_timestamps_or_free_text():
    findings, text = rich()
    bounded = {
        # A site's findings (site-service) name the site, from the model's voip_sites.
        "host": {*HOSTS, "prov2", *TRUNKS, "estate", *SITES},
        "site": set(SITES),
        "check": {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"},
        "service": {"ssh", "chrony", "kamailio", "rtpengine-daemon"},
        "mount": {"/", "/var"},
        "component": {"voip-routing", "kamailio", "ios"},
        "version": {"0.9", "1.0", "5.6.3", "17.3.1", "17.6.5"},
        "interface": {"Serial0/1/0:15", "Serial0/1/1:15"},
        "port": {"0/2/0", "0/2/1"},
        "trunk": set(TRUNKS),
        "playbook": {"playbooks/users.yml"},
    }
    free_text = {f.message for f in findings} | {f.object for f in findings if " " in f.object}
    seen_hosts = set()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            for label, value in s.labels.items():
                assert value in bounded[label], (
                    f"{family.name}{{{label}={value!r}}} is not from a bounded set"
                )
                assert not TIMESTAMP.search(value), f"{family.name}{{{label}={value!r}}} is a timestamp"
                assert value not in free_text, f"{family.name}{{{label}={value!r}}} is free text"
            seen_hosts.add(s.labels.get("host"))
    # The hostile names survive escaping unchanged, and none of them forged a series of its own.
    assert {EVIL_CS, EVIL_GW} <= seen_hosts
    assert not any(line.startswith('voip_health_status{host="x"}') for line in text.splitlines())


def test_a_later_backup_changes_values_not_the_series_set():
    _, before = rich(NOW - timedelta(hours=3))
    _, after = rich(NOW - timedelta(minutes=20))
    assert series(before) == series(after)
    old, new = values(before), values(after)
    changed = {name for (name, _), value in old.items() if new[(name, _)] != value}
    assert changed == {"voip_backup_age_seconds", "voip_backup_last_success_timestamp_seconds"}


def test_values_are_in_base_units():
    _, text = rich(NOW - timedelta(hours=3))
    got = values(text)

    def value(name, **labels):
        return got[(name, frozenset(labels.items()))]

    assert value("voip_backup_age_seconds", host="gw1") == 10800
    assert (
        value("voip_backup_last_success_timestamp_seconds", host="gw1")
        == (NOW - timedelta(hours=3)).timestamp()
    )
    assert value("voip_backup_age_seconds", host="cs1") == 10800  # the newest point counts
    assert value("voip_disk_used_ratio", host="cs1", mount="/") == pytest.approx(0.85)
    assert value("voip_memory_available_ratio", host="cs1") == pytest.approx(0.25)
    assert value("voip_memory_total_bytes", host="cs1") == 1000 * 1024 * 1024
    assert value("voip_memory_available_bytes", host="cs1") == 250 * 1024 * 1024
    assert value("voip_load1_per_cpu", host="cs1") == pytest.approx(0.5)
    assert value("voip_time_offset_seconds", host="cs1") == pytest.approx(0.25)
    assert value("voip_sip_options_latency_seconds", host="cs1") == pytest.approx(0.003)
    assert value("voip_trunk_options_latency_seconds", trunk="carrier-ok") == pytest.approx(0.012)
    assert value("voip_sip_registered_users", host="cs1") == 9
    assert value("voip_sip_expected_users", host="cs1") == 10
    assert value("voip_sip_registered_ratio", host="cs1") == pytest.approx(0.9)
    assert value("voip_security_banned_sources", host="cs1") == 2
    assert value("voip_security_auth_failure_sources", host="cs1") == 1
    expires = datetime(2026, 12, 5, 10, 0, tzinfo=UTC).timestamp()
    assert value("voip_certificate_expiry_timestamp_seconds", host="prov1") == expires
    assert value("voip_component_version_info", host="cs1", component="voip-routing", version="0.9") == 1
    assert value("voip_component_version_info", host="gw1", component="ios", version="17.3.1") == 1
    assert value("voip_service_active", host="cs1", service="rtpengine-daemon") == 0
    assert value("voip_gateway_pri_up", host="gw1", interface="Serial0/1/1:15") == 0
    assert value("voip_gateway_voice_port_up", host="gw1", port="0/2/1") == 0
    assert value("voip_config_drift_tasks", playbook="playbooks/users.yml") == 1
    # The status keeps the alerting semantics: the worst finding of a check on a host.
    assert value("voip_health_status", host="cs1", check="service") == 2
    assert value("voip_health_status", host="cs1", check="version") == 1
    assert value("voip_health_status", host="gw1", check="gateway-ports") == 1
    assert value("voip_health_status", host="cs-unmeasured", check="unreachable") == 2
    assert value("voip_health_status", host='carrier "b"', check="trunk") == 2


def test_no_drift_is_a_zero_not_a_missing_series():
    _, text = rich(drift=())
    assert values(text)[("voip_config_drift_tasks", frozenset({("playbook", "playbooks/users.yml")}))] == 0


def test_a_sample_must_carry_its_metrics_labels():
    from voipctl.health_metrics import sample

    with pytest.raises(ValueError, match="takes the labels"):
        sample("voip_disk_used_ratio", 0.5, host="cs1")
