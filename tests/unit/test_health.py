"""voipctl.health: measurements judged into findings, exit codes and Prometheus text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ansible_collections.voip.estate.plugins.filter.voip_health import FilterModule
from voipctl import health

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CHRONY_OK = "0AE7001F,10.231.0.31,9,1796014989.3,0.000007772,0.0000018,0.00004,-0.014,0.000,0.216,0.0000625,0.0000542,65.1,Normal"
ISDN_UP = (
    "Global ISDN Switchtype = primary-net5\nISDN Serial0/1/0:15 interface\n\tdsl 0, interface ISDN Switchtype = primary-net5\n"
    "    Layer 1 Status:\n\tACTIVE\n    Layer 2 Status:\n\tTEI = 0, Ces = 1, SAPI = 0, State = MULTIPLE_FRAME_ESTABLISHED\n"
)
PORTS = (
    "PORT            CH SIG-TYPE     ADMIN OPER STATUS   STATUS   EC\n"
    "=============== == ============ ===== ==== ======== ======== ==\n"
    "0/2/0           -- fxs-ls       up    dorm on-hook  idle     y\n"
)


def call_server(**over):
    m = {
        "host": "cs1", "groups": ["linux", "call_servers"], "site": "ams",
        "services": {"kamailio": "active", "rtpengine-daemon": "active", "ssh": "active"},
        "mounts": [{"mount": "/", "used_pct": 40.0}], "memory": {"total_mb": 1000, "available_mb": 500},
        "cpus": 2, "loadavg": "0.50 0.40 0.30 1/200 123", "chrony": CHRONY_OK,
        "installed": {"voip-routing": "1.0"}, "drift": [],
        "sip": {"ok": True, "status": 200, "latency_ms": 3.0},
        "kamailio": {"registered": "usrloc:location_users = 9", "banned": "", "authfail": ""},
    }  # fmt: skip
    m.update(over)
    return m


def estate(**over):
    e = {"backups": [{"host": "cs1", "stamp": "20261130T023000Z"}, {"host": "gw1", "stamp": "20261130T023000Z"}],
         "expected_users": {"ams": 10}, "trunks": [], "health_policy": {}}  # fmt: skip
    e.update(over)
    return e


def gateway(**over):
    m = {"host": "gw1", "groups": ["network_devices", "gateways"], "pri_spans": 1, "image": "17.6.5",
         "outputs": {"show isdn status": ISDN_UP, "show voice port summary": PORTS,
                     "show version": "Cisco IOS XE Software, Version 17.6.5\n"}}  # fmt: skip
    m.update(over)
    return m


def judged(measurements, est=None, drift=()):
    findings = health.evaluate(measurements, est or estate(), list(drift), now=NOW)
    return findings, {(f.host, f.check, f.object): f for f in findings}


def test_a_healthy_estate_is_all_ok():
    findings, _ = judged({"cs1": call_server(), "gw1": gateway()})
    assert {f.severity for f in findings} == {"ok"}, [f for f in findings if f.severity != "ok"]
    checks = {f.check for f in findings}
    assert {"service", "disk", "memory", "load", "time", "sip-options", "registrations", "security",
            "backup-age", "gateway-pri", "gateway-ports", "version", "config-drift"} <= checks  # fmt: skip
    assert health.exit_code(findings) == 0


def test_a_stopped_kamailio_is_critical_with_its_runbook():
    findings, by = judged({"cs1": call_server(services={"kamailio": "inactive", "ssh": "active"},
                                              sip={"ok": False, "msg": "no answer from 10.0.0.11:5060/udp within 2.0 s"})})  # fmt: skip
    service = by[("cs1", "service", "kamailio")]
    assert service.severity == "critical" and service.runbook == "docs/runbooks/service.md"
    assert "inactive" in service.message
    assert by[("cs1", "sip-options", "OPTIONS")].message.startswith("no answer from")
    assert health.exit_code(findings) == 2
    assert findings[0].severity == "critical"  # worst first


@pytest.mark.parametrize(
    ("measurement", "est", "key", "severity"),
    [
        ({"mounts": [{"mount": "/", "used_pct": 85.0}]}, None, ("cs1", "disk", "/"), "warning"),
        ({"memory": {"total_mb": 1000, "available_mb": 30}}, None, ("cs1", "memory", "available"), "critical"),
        ({"loadavg": "9.0 1 1 1/1 1"}, None, ("cs1", "load", "load1 per cpu"), "critical"),
        ({"chrony": CHRONY_OK.replace("Normal", "Not synchronised")}, None, ("cs1", "time", "chrony"), "critical"),
        ({"kamailio": {"registered": "x = 7", "banned": "", "authfail": ""}}, None, ("cs1", "registrations", "users"),
         "warning"),
        ({"kamailio": {"registered": "x = 9", "banned": "name: 1.2.3.4\n" * 3, "authfail": ""}}, None,
         ("cs1", "security", "banned sources"), "warning"),
        ({"drift": [{"component": "voip-routing", "installed": "1.0", "target": "1.1"}]}, None,
         ("cs1", "version", "voip-routing"), "warning"),
        ({}, estate(backups=[{"host": "cs1", "stamp": "20261128T023000Z"}]), ("cs1", "backup-age",
         "latest point 20261128T023000Z"), "critical"),
        ({}, estate(backups=[]), ("cs1", "backup-age", "latest point"), "critical"),
        ({"certificate": "notAfter=Dec  5 10:00:00 2026 GMT"}, None, ("cs1", "certificate", "provisioning HTTPS"),
         "critical"),
    ],
)  # fmt: skip
def test_each_measurement_has_its_finding(measurement, est, key, severity):
    _, by = judged({"cs1": call_server(**measurement)}, est)
    assert by[key].severity == severity, by[key]


def test_thresholds_come_from_the_policy():
    est = estate(health_policy={"thresholds": {"registered_ratio": {"warning": 0, "critical": 0}}})
    _, by = judged({"cs1": call_server(kamailio={"registered": "x = 0", "banned": "", "authfail": ""})}, est)
    assert by[("cs1", "registrations", "users")].severity == "ok"


def test_gateway_pri_ports_and_version():
    down = ISDN_UP.replace("\tACTIVE", "\tDEACTIVATED").replace("MULTIPLE_FRAME_ESTABLISHED", "TEI_ASSIGNED")
    outputs = {"show isdn status": down, "show voice port summary": PORTS.replace("up    dorm", "down  down"),
               "show version": "Cisco IOS XE Software, Version 17.3.1\n"}  # fmt: skip
    _, by = judged({"gw1": gateway(outputs=outputs)})
    assert by[("gw1", "gateway-pri", "Serial0/1/0:15")].severity == "critical"
    assert by[("gw1", "gateway-ports", "0/2/0")].severity == "warning"
    assert by[("gw1", "version", "ios")].value == "17.3.1"
    _, by = judged({"gw1": gateway(error="10.231.0.41:22: no SSH answer within 20 s", outputs={})})
    assert by[("gw1", "unreachable", "SSH")].severity == "critical"


def test_an_unmeasured_host_and_drift_and_a_silent_trunk():
    est = estate(trunks=[{"name": "carrier", "ok": False, "msg": "no answer"}])
    findings = health.evaluate({"cs1": call_server()}, est, [("cs1", "Sync SIP accounts")], now=NOW,
                               expected_hosts=["cs1", "cs2"])  # fmt: skip
    by = {(f.host, f.check, f.object): f for f in findings}
    assert by[("cs2", "unreachable", "SSH")].severity == "critical"
    assert by[("cs1", "config-drift", "Sync SIP accounts")].severity == "warning"
    assert by[("carrier", "trunk", "OPTIONS")].severity == "critical"


def test_prometheus_text():
    findings, _ = judged({"cs1": call_server(services={"kamailio": "failed"})})
    text = health.prometheus(findings)
    assert 'voip_health_status{host="cs1",check="service"} 2' in text
    assert 'voip_service_active{host="cs1",service="kamailio"} 0' in text
    assert 'voip_disk_used_ratio{host="cs1",mount="/"} 0.4' in text
    assert text.count("# TYPE") == text.count("# HELP") and text.endswith("\n")
    # more in test_health_prometheus.py


def test_filters():
    f = FilterModule().filters()
    assert f["voip_health_mount"]({"mount": "/", "size_total": 100, "size_available": 25}) == {
        "mount": "/",
        "used_pct": 75.0,
    }
    assert f["voip_health_point"]("/srv/backups/cs1/20261130T023000Z") == {
        "host": "cs1",
        "stamp": "20261130T023000Z",
    }
    users = [{"site": "ams"}, {"site": "ams", "status": "leaver"}, {"site": "thr", "status": "active"}]
    assert f["voip_health_expected_users"](users) == {"ams": 1, "thr": 1}


PAIR = {"cs1": "ams", "cs3": "ams", "cs2": "thr"}


def site_findings(measurements, expected=("cs1", "cs2", "cs3")):
    findings = health.evaluate(measurements, estate(), now=NOW, expected_hosts=list(expected),
                               call_server_sites=PAIR)  # fmt: skip
    return {(f.host, f.check, f.object): f for f in findings}


def test_a_pair_with_one_member_down_is_critical_but_its_site_is_still_served():
    by = site_findings({"cs1": call_server(), "cs2": call_server(host="cs2", site="thr")})  # cs3 unreachable
    pair = by[("ams", "site-service", "pair")]
    assert (
        pair.severity == "critical"
        and "cs1 carries site ams alone" in pair.message
        and "lost cs3" in pair.message
    )
    served = by[("ams", "site-service", "call servers")]
    assert (served.severity, served.value) == ("ok", "1 of 2") and "served by cs1" in served.message
    assert by[("thr", "site-service", "call servers")].severity == "ok"
    assert ("thr", "site-service", "pair") not in by, "a site with one call server has no pair"
    text = health.prometheus(list(by.values()))
    assert (
        'voip_site_call_servers{site="ams"} 2' in text
        and 'voip_site_serving_call_servers{site="ams"} 1' in text
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"services": {"kamailio": "failed", "rtpengine-daemon": "active", "ssh": "active"}},
        {"sip": {"ok": False, "status": None, "msg": "no answer"}},
    ],
    ids=["kamailio-stopped", "no-options-answer"],
)
def test_a_member_that_serves_no_call_counts_as_down(broken):
    by = site_findings({"cs1": call_server(), "cs3": call_server(host="cs3", **broken),
                        "cs2": call_server(host="cs2", site="thr")})  # fmt: skip
    assert by[("ams", "site-service", "pair")].severity == "critical"
    assert by[("ams", "site-service", "call servers")].value == "1 of 2"


def test_a_site_whose_every_call_server_is_down_is_critical_and_a_whole_pair_is_ok():
    by = site_findings({"cs2": call_server(host="cs2", site="thr")})  # cs1 and cs3 unreachable
    assert by[("ams", "site-service", "call servers")].severity == "critical"
    assert ("ams", "site-service", "pair") not in by, "no pair finding when nothing is left to carry the site"
    whole = site_findings({h: call_server(host=h, site=s) for h, s in PAIR.items()})
    assert whole[("ams", "site-service", "call servers")].severity == "ok"
    assert ("ams", "site-service", "pair") not in whole
    # A problem that does not stop calls (a full disk warning) does not take a member out.
    disk = site_findings({**{h: call_server(host=h, site=s) for h, s in PAIR.items()},
                          "cs3": call_server(host="cs3", mounts=[{"mount": "/", "used_pct": 99.0}])})  # fmt: skip
    assert disk[("ams", "site-service", "call servers")].value == "2 of 2"
