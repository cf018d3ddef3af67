"""`voipctl docs`: the example renders, racks and phone paths are right, no secret, bad data writes nothing.

What each page must show is worked out here from the model's raw data; the
browser test (tests/docs) looks at the same pages in Chromium.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from voipctl import docs
from voipctl.adapters import inventory
from voipctl.cli import main
from voipctl.core.passwords import user_sip_password
from voipctl.derive import secrets
from voipctl.generate import dump
from voipctl.model.checks import validate
from voipctl.model.types import normalise_mac

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventory" / "example"
LAB = ROOT / "inventory" / "lab"
BASE = ROOT / "tests" / "data" / "estate_base"
TODAY = datetime.date(2026, 6, 1)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("example-site")
    result, written = docs.build(EXAMPLE, out, today=TODAY, records=str(out / "no-records"))
    assert not result.errors
    return out, result, written


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def svg_of(page: str, rack: str) -> str:
    match = re.search(rf'<svg[^>]*data-rack="{re.escape(rack)}".*?</svg>', page, re.S)
    assert match, f"no SVG of rack {rack}"
    return match.group(0)


def test_every_page_is_written(example):
    out, result, written = example
    sites = result.estate["voip_sites"]
    expected = {"index.html", "patching.html", "numbering.html", "trunks.html", "directory.html"}
    expected |= {"releases.html", "status.html"} | {f"racks-{s}.html" for s in sites}
    assert {p.name for p in written} == expected
    assert {p.name for p in out.iterdir() if p.is_file()} == expected
    for path in written:
        page = path.read_text()
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
        # Static and self-contained: no script, nothing loaded from elsewhere.
        assert "<script" not in page
        assert not re.search(r'(src|href)="(https?:)?//', page)
        for href in re.findall(r'href="([^"#]+)"', page):
            assert (out / href).is_file(), f"{path.name} links to missing {href}"


@pytest.mark.parametrize("rack_index", [0, -1])
def test_a_rack_svg_numbers_every_unit_and_spans_every_device(example, rack_index):
    out, result, _ = example
    name, rack = list(result.estate["voip_racks"].items())[rack_index]
    svg = svg_of((out / f"racks-{rack['site']}.html").read_text(), name)
    units = [int(u) for u in re.findall(r'<g class="unit" data-unit="(\d+)"', svg)]
    assert sorted(units) == list(range(1, rack["height"] + 1))
    expected = {}
    for host, values in result.hosts.items():
        spot = values.get("voip_rack")
        if spot and spot["rack"] == name:
            expected[host] = (spot["unit"], spot.get("height", 1))
    for panel in result.estate["voip_patch_panels"]:
        if panel["rack"] == name:
            expected[panel["name"]] = (panel["unit"], panel.get("height", 1))
    found = {
        d: (int(u), int(h))
        for d, u, h in re.findall(
            r'data-device="([^"]+)" data-kind="[^"]+" data-unit="(\d+)" data-height="(\d+)"', svg
        )
    }
    assert found == expected
    occupied = {u for unit, height in expected.values() for u in range(unit, unit + height)}
    empty = re.findall(r'<g class="unit" data-unit="(\d+)" data-occupied="no">', svg)
    assert {int(u) for u in empty} == set(range(1, rack["height"] + 1)) - occupied
    assert svg.count('class="empty"') == rack["height"] - len(occupied)


def phone_rows(page: str) -> dict[str, tuple[str, dict[str, str]]]:
    rows = {}
    for mac, complete, body in re.findall(
        r'<tr class="path[^"]*" data-mac="([^"]+)" data-switch-port="[^"]+" data-complete="(yes|no)">(.*?)</tr>',
        page,
        re.S,
    ):
        hops = {k: text_of(v) for k, v in re.findall(r'<td data-hop="([a-z]+)"[^>]*>(.*?)</td>', body, re.S)}
        rows[mac] = (complete, hops)
    return rows


def test_phone_paths_follow_the_model_hop_by_hop(example):
    out, result, _ = example
    estate = result.estate
    users = {normalise_mac(d["mac"]): u for u in estate["voip_users"] for d in u.get("devices", [])}
    cords = {}
    for conn in estate["voip_patch_connections"]:
        cords[conn["a"]], cords[conn["b"]] = conn["b"], conn["a"]
    outlets = {o["panel"]: o["name"] for o in estate["voip_wall_outlets"]}
    rows = phone_rows((out / "patching.html").read_text())
    seen = complete = 0
    for host, values in result.hosts.items():
        for port in (values.get("voip_switch") or {}).get("ports", []):
            if "phone_mac" not in port:
                continue
            seen += 1
            mac = normalise_mac(port["phone_mac"])
            user = users[mac]
            panel_port = cords[f"{host}:{port['name']}"]
            state, hops = rows[mac]
            assert hops == {
                "outlet": outlets[panel_port],
                "panel": panel_port,
                "switch": f"{host}:{port['name']}",
                "vlan": str(values["voip_switch"]["voice_vlan"]),
                "mac": mac,
                "user": f"{user['id']} ({user['name']}), ext {user['extension']}",
                "did": user.get("did", "none (extension only)"),
            }
            assert state == "yes"
            complete += state == "yes"
    assert len(rows) == seen > 0
    assert complete > 0


def test_an_incomplete_path_names_the_missing_hop(tmp_path):
    estate = tmp_path / "estate"
    shutil.copytree(BASE, estate)
    outlets = estate / "group_vars/all/outlets.yml"
    outlets.write_text(
        outlets.read_text().replace('  - {name: ams-1.01, panel: "ams-r2-pp1:1"', "  # removed", 1)
    )
    patching = (estate / "group_vars/all/patching.yml").read_text()
    switch_port = re.search(r'a: "ams-r2-pp1:1", b: "([^"]+)"', patching).group(1)
    result, _ = docs.build(estate, tmp_path / "site", today=TODAY)
    assert not result.errors
    page = (tmp_path / "site" / "patching.html").read_text()
    row = re.search(
        rf'<tr class="path incomplete"[^>]*data-switch-port="{re.escape(switch_port)}".*?</tr>', page, re.S
    )
    assert row, "the path without an outlet is not marked incomplete"
    assert "no wall outlet ends on ams-r2-pp1:1" in row.group(0)
    assert re.search(r'<td data-hop="outlet" class="gap">.*?missing', row.group(0))


def test_numbering_counts_every_claimed_number(example):
    out, result, _ = example
    page = (out / "numbering.html").read_text()
    estate = result.estate
    for site in estate["voip_sites"]:
        extensions = {u["extension"] for u in estate["voip_users"] if u["site"] == site}
        extensions |= {g["extension"] for g in estate["voip_hunt_groups"] if g["site"] == site}
        for values in result.hosts.values():
            if values.get("voip_site") == site:
                extensions |= {
                    p["extension"] for p in (values.get("voip_gateway") or {}).get("fxs_ports", [])
                }
        dids = {u["did"] for u in estate["voip_users"] if u["site"] == site and u.get("did")}
        section = page[page.index(f'id="site-{site}"') :]
        ext_table = re.search(r'data-kind="extensions">.*?</table>', section, re.S).group(0)
        did_table = re.search(r'data-kind="dids">.*?</table>', section, re.S).group(0)
        lo, hi = (int(x) for x in estate["voip_sites"][site]["extensions"].split("-"))
        assert f'data-used="{len(extensions)}"' in ext_table
        assert f'data-free="{hi - lo + 1 - len(extensions)}"' in ext_table
        assert f"{round(100 * len(extensions) / (hi - lo + 1), 1)} %" in ext_table
        assert f'data-used="{len(dids)}"' in did_table


def test_trunks_page_maps_classes_of_service_to_trunks(example):
    out, result, _ = example
    page = (out / "trunks.html").read_text()
    for trunk in result.estate["voip_trunks"]:
        assert f'data-trunk="{trunk["name"]}"' in page
        assert trunk["credentials_ref"] not in page
    for values in result.hosts.values():
        for span in (values.get("voip_gateway") or {}).get("pri_spans", []):
            assert span["switchtype"] in page


def test_trunks_page_lists_every_call_server_of_a_site_in_order(tmp_path):
    # The lab's site ams has a pair (cs1, the primary, then cs3); thr one server.
    out = tmp_path / "site"
    result, _ = docs.build(LAB, out, today=TODAY, records=str(tmp_path / "none"))
    assert not result.errors
    assert sorted(
        h for h, v in result.hosts.items() if "call_servers" in result.groups[h] and v["voip_site"] == "ams"
    ) == ["cs1", "cs3"]
    page = (out / "trunks.html").read_text()
    headings = [text_of(h) for h in re.findall(r"<h3>.*?</h3>", page)]
    assert "ams (call servers cs1, cs3)" in headings
    assert "thr (call server cs2)" in headings
    row = re.search(r'<tr data-trunk="lab-carrier">.*?</tr>', page, re.S).group(0)
    assert [text_of(c) for c in re.findall(r"<td>.*?</td>", row)][3] == "cs1, cs3"


def test_directory_shows_every_user_without_secret_keys(example):
    out, result, _ = example
    page = (out / "directory.html").read_text()
    ids = re.findall(r'<tr data-user="([^"]+)">', page)
    assert ids == [u["id"] for u in result.estate["voip_users"]]
    assert "password" not in page.lower().replace("no password, hash", "")


def test_no_run_records_is_said_not_failed(example):
    out, _, _ = example
    page = (out / "status.html").read_text()
    assert "No run records" in page and "no run records:" in page


def test_run_and_release_records_are_shown(tmp_path):
    records = tmp_path / "records"
    (records / "runs").mkdir(parents=True)
    base = {"check": False, "commit": "0123456789abcdef", "actor": "ops", "status": "successful", "rc": 0}
    health = {**base, "id": "20260601T010000000000Z", "playbook": "playbooks/health.yml",
              "started": "2026-06-01T01:00:00+00:00", "finished": "2026-06-01T01:01:00+00:00",
              "hosts": {"cs1": {"ok": 9, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 1},
                        "gw1": {"ok": 0, "changed": 0, "failed": 0, "unreachable": 1, "skipped": 0}}}  # fmt: skip
    backup = {**base, "id": "20260601T023000000000Z", "playbook": "playbooks/backup.yml",
              "started": "2026-06-01T02:30:00+00:00", "finished": "2026-06-01T02:31:00+00:00",
              "hosts": {"bak1": {"ok": 5, "changed": 2, "failed": 0, "unreachable": 0, "skipped": 0}}}  # fmt: skip
    for record in (health, backup):
        (records / "runs" / f"{record['id']}.json").write_text(json.dumps(record))
    (records / "releases" / "r1").mkdir(parents=True)
    (records / "releases" / "r1" / "cs1.json").write_text(
        json.dumps({"run": "r1", "host": "cs1", "result": "released", "after": {"kamailio": "5.6.3-2"}})
    )
    out = tmp_path / "site"
    assert (
        main(["docs", "-i", str(EXAMPLE), "-o", str(out), "--records", str(records), "--date", "2026-06-01"])
        == 0
    )
    status = (out / "status.html").read_text()
    assert health["id"] in status and backup["id"] in status
    assert re.search(r"<td>gw1</td><td class=\"bad\">unreachable</td>", status)
    assert re.search(r"<td>bak1</td><td class=\"ok\">ok</td>", status)
    assert "No run records" not in status
    releases = (out / "releases.html").read_text()
    assert re.search(
        r"<td>cs1</td><td>ams</td><td>kamailio</td><td>5.6.3</td>\s*<td[^>]*>5.6.3-2</td><td>released</td>",
        releases,
    )


def break_patching(root: Path) -> None:
    path = root / "group_vars/all/patching.yml"
    import yaml

    data = yaml.safe_load(path.read_text())
    data["voip_patch_connections"][0]["b"] = data["voip_patch_connections"][0]["a"]
    path.write_text(dump(data))


def test_invalid_model_exits_non_zero_and_writes_nothing(tmp_path, capsys):
    estate = tmp_path / "estate"
    shutil.copytree(BASE, estate)
    break_patching(estate)
    assert validate(estate, TODAY).errors
    out = tmp_path / "site"
    assert main(["docs", "-i", str(estate), "-o", str(out), "--date", "2026-06-01"]) == 1
    assert not out.exists()
    printed = capsys.readouterr()
    assert "voip_patch_connections[0].b: both ends are port" in printed.out
    assert "nothing written" in printed.err
    # An existing site is left as it was.
    out.mkdir()
    (out / "index.html").write_text("old")
    assert main(["docs", "-i", str(estate), "-o", str(out), "--date", "2026-06-01"]) == 1
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert (out / "index.html").read_text() == "old"


@pytest.fixture(scope="module")
def lab_secrets() -> set[str]:
    """Every secret of the lab's vault and every SIP password and HA1 derived from one."""
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    # Only the variables needed: others look up files of a lab that need not exist.
    names = [k for k in inventory.load(LAB, template=False).hosts["cs1"] if k.startswith("vault_")]
    inv = inventory.load(LAB, only=[*names, "voip_users", "voip_cti_accounts", "voip_call_server"])
    host = inv.hosts["cs1"]
    found = {str(v) for k, v in host.items() if k.startswith("vault_")}
    master = host["vault_voip_sip_master_secret"]
    domains = {inv.hosts[h]["voip_call_server"]["sip_domain"] for h in inv.hosts_in("call_servers")}
    for user in host["voip_users"]:
        password = user_sip_password(master, user)
        found.add(password)
        for domain in domains:
            found.add(secrets.ha1(str(user["extension"]), domain, password))
    for account in host["voip_cti_accounts"]:
        found.add(secrets.basic_digest(account["name"], host[account["credentials_ref"]]))
    assert len(found) > 10 and all(len(s) >= 12 for s in found)
    return found


def test_no_secret_of_the_lab_reaches_any_page(tmp_path, lab_secrets):
    out = tmp_path / "site"
    result, written = docs.build(LAB, out, today=TODAY, records=str(tmp_path / "none"))
    assert not result.errors and written
    for path in written:
        page = path.read_text()
        leaked = sorted(f"{s[:3]}... ({len(s)} chars)" for s in lab_secrets if s in page)
        assert not leaked, f"{path.name} shows secrets: {leaked}"
        assert "$ANSIBLE_VAULT" not in page
