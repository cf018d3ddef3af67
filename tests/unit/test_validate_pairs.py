"""A site's call servers (a pair, or more): what validation refuses and what it allows.

The small valid estate of tests/data/estate_base gets a second call server
for ams, cs3 (the lab's layout: cs1 and cs3 at ams, cs2 at thr). Each test
patches one thing and names every finding it must produce, byte for byte
(file, line, key path, message): a pair rule that reports too much or too
little fails here.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
import yaml

from voipctl.model.checks import validate

BASE = Path(__file__).resolve().parents[1] / "data" / "estate_base"
TODAY = datetime.date(2026, 6, 1)
CS1 = "host_vars/cs1/call_server.yml"
CS3 = "host_vars/cs3/call_server.yml"
CTI = "group_vars/all/cti.yml"
TRUNKS = "group_vars/all/trunks.yml"


def write(root: Path, file: str, text: str) -> None:
    path = root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    body = path.read_text()
    assert old in body, f"test setup: {old!r} not in {file}"
    path.write_text(body.replace(old, new, 1))


def call_server(root: Path, host: str, body: str) -> None:
    write(root, f"host_vars/{host}/call_server.yml", f"---\nvoip_call_server:\n{body}")


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    """estate_base with cs3 next to cs1 at site ams, agreeing on all they share."""
    root = tmp_path / "estate"
    shutil.copytree(BASE, root)
    edit(
        root,
        "hosts.yml",
        "            cs2: {ansible_host: 198.51.100.11, voip_site: thr}\n",
        "            cs2: {ansible_host: 198.51.100.11, voip_site: thr}\n"
        "            cs3: {ansible_host: 192.0.2.13, voip_site: ams}\n",
    )
    # Per-host values may differ: another media range, no test call.
    call_server(
        root, "cs3", "  sip_domain: ams.voip.example.com\n  sip_port: 5060\n  rtp_ports: 30000-39999\n"
    )
    write(root, "host_vars/cs3/rack.yml", "---\nvoip_rack: {rack: ams-r1, unit: 21, height: 1}\n")
    edit(root, CTI, "call_servers: [cs1, cs2]", "call_servers: [cs1, cs2, cs3]")
    # ams-sip1 without its channel limit (a pair counts it twice: warned of below).
    edit(root, TRUNKS, "    channels: 60\n", "")
    return root


def rendered(root: Path) -> list[str]:
    return [p.render() for p in validate(root, TODAY).problems]


def test_a_pair_that_agrees_is_valid(pair: Path):
    assert rendered(pair) == []


def test_the_sip_port_may_be_left_to_its_default_on_one_member(pair: Path):
    call_server(pair, "cs3", "  sip_domain: ams.voip.example.com\n")
    assert rendered(pair) == []


def test_members_with_different_sip_domains(pair: Path):
    call_server(pair, "cs3", "  sip_domain: ams2.voip.example.com\n  sip_port: 5060\n")
    assert rendered(pair) == [
        "error: host_vars/cs3/call_server.yml:3: voip_call_server.sip_domain: SIP domain ams2.voip.example.com "
        "differs from cs1's ams.voip.example.com (host_vars/cs1/call_server.yml:3): the call servers of site "
        "ams (cs1, cs3) share one SIP domain, the realm of the users' HA1 digests and the phones' domain",
    ]


@pytest.mark.parametrize("spelling", ["AMS.voip.example.com", "Ams.Voip.Example.Com"])
def test_a_case_variant_of_the_domain_is_still_a_disagreement(pair: Path, spelling: str):
    call_server(pair, "cs3", f"  sip_domain: {spelling}\n")
    assert rendered(pair) == [
        f"error: host_vars/cs3/call_server.yml:3: voip_call_server.sip_domain: SIP domain {spelling} "
        "differs from cs1's ams.voip.example.com (host_vars/cs1/call_server.yml:3): the call servers of site "
        "ams (cs1, cs3) share one SIP domain, the realm of the users' HA1 digests and the phones' domain "
        "(they differ only in case, but a digest is computed over the exact text)",
    ]


def test_a_trailing_dot_is_refused_by_the_schema_and_not_compared_again(pair: Path):
    call_server(pair, "cs3", "  sip_domain: ams.voip.example.com.\n")
    assert rendered(pair) == [
        "error: host_vars/cs3/call_server.yml:3: voip_call_server.sip_domain: 'ams.voip.example.com.' "
        "is not an IP address or host name",
    ]


def test_members_with_different_sip_ports(pair: Path):
    call_server(pair, "cs3", "  sip_domain: ams.voip.example.com\n  sip_port: 5080\n")
    assert rendered(pair) == [
        "error: host_vars/cs3/call_server.yml:4: voip_call_server.sip_port: SIP port 5080 differs from cs1's "
        "5060 (host_vars/cs1/call_server.yml:3): the call servers of site ams (cs1, cs3) are one SIP service "
        "on one port (a phone that fails over by DNS, one name for the members' addresses, or whose backup "
        "proxy has no port of its own, reaches the backup on the primary's port)",
    ]


def test_a_default_port_against_another_port_names_the_default(pair: Path):
    call_server(pair, "cs1", "  sip_domain: ams.voip.example.com\n  sip_port: 5080\n")
    call_server(pair, "cs3", "  sip_domain: ams.voip.example.com\n")
    assert rendered(pair) == [
        "error: host_vars/cs3/call_server.yml:2: voip_call_server: SIP port 5060 (the default) differs from "
        "cs1's 5080 (host_vars/cs1/call_server.yml:4): the call servers of site ams (cs1, cs3) are one SIP "
        "service on one port (a phone that fails over by DNS, one name for the members' addresses, or whose "
        "backup proxy has no port of its own, reaches the backup on the primary's port)",
    ]


def test_a_member_without_voip_call_server(pair: Path):
    (pair / CS3).unlink()
    assert rendered(pair) == [
        "error: hosts.yml:11: all.children.linux.children.call_servers.hosts.cs3: host cs3 in call_servers "
        "needs voip_call_server: the call servers of site ams (cs1, cs3) share its sip_domain and sip_port; "
        "cs1 has sip_domain ams.voip.example.com (host_vars/cs1/call_server.yml:3)",
    ]


def test_the_first_member_without_voip_call_server_is_compared_with_the_next(pair: Path):
    (pair / CS1).unlink()
    assert rendered(pair) == [
        "error: hosts.yml:9: all.children.linux.children.call_servers.hosts.cs1: host cs1 in call_servers "
        "needs voip_call_server: the call servers of site ams (cs1, cs3) share its sip_domain and sip_port; "
        "cs3 has sip_domain ams.voip.example.com (host_vars/cs3/call_server.yml:3)",
    ]


def test_a_single_call_server_without_voip_call_server(pair: Path):
    (pair / "host_vars/cs2/call_server.yml").unlink()
    assert rendered(pair) == [
        "error: hosts.yml:10: all.children.linux.children.call_servers.hosts.cs2: host cs2 in call_servers "
        "needs voip_call_server (its sip_domain at least)",
    ]


def test_a_member_whose_voip_call_server_is_invalid_is_not_compared_again(pair: Path):
    call_server(pair, "cs3", "  sip_domain: ams.voip.example.com\n  sip_port: http\n")
    problems = rendered(pair)
    assert len(problems) == 1 and problems[0].startswith(
        "error: host_vars/cs3/call_server.yml:4: voip_call_server.sip_port: "
    ), problems


def test_three_members_are_each_compared_with_the_first(pair: Path):
    edit(
        pair,
        "hosts.yml",
        "            cs3: {ansible_host: 192.0.2.13, voip_site: ams}\n",
        "            cs3: {ansible_host: 192.0.2.13, voip_site: ams}\n"
        "            cs4: {ansible_host: 192.0.2.14, voip_site: ams}\n",
    )
    call_server(pair, "cs4", "  sip_domain: ams.voip.example.com\n  sip_port: 5070\n")
    edit(pair, CTI, "call_servers: [cs1, cs2, cs3]", "call_servers: [cs1, cs2, cs3, cs4]")
    assert rendered(pair) == [
        "error: host_vars/cs4/call_server.yml:4: voip_call_server.sip_port: SIP port 5070 differs from cs1's "
        "5060 (host_vars/cs1/call_server.yml:3): the call servers of site ams (cs1, cs3, cs4) are one SIP "
        "service on one port (a phone that fails over by DNS, one name for the members' addresses, or whose "
        "backup proxy has no port of its own, reaches the backup on the primary's port)",
    ]


# -- two sites never share a domain, whatever the spelling --------------------


@pytest.mark.parametrize(
    ("spelling", "shown"),
    [("ams.voip.example.com", ""), ("AMS.voip.example.com", " as ams.voip.example.com")],
)
def test_another_site_never_shares_the_domain(pair: Path, spelling: str, shown: str):
    call_server(pair, "cs2", f"  sip_domain: {spelling}\n")
    assert rendered(pair) == [
        f"error: host_vars/cs2/call_server.yml:3: voip_call_server.sip_domain: SIP domain {spelling} is also "
        f"used by cs1 (site ams){shown}: two sites never share a domain (their users' HA1 digests and the "
        "phones' domain would collide)",
    ]


# -- CTI: an account names every member of a pair, or none ------------------


def test_a_cti_account_naming_one_member_of_a_pair(pair: Path):
    edit(pair, CTI, "call_servers: [cs1, cs2, cs3]", "call_servers: [cs2, cs1]")
    assert rendered(pair) == [
        "error: group_vars/all/cti.yml:8: voip_cti_accounts[0].call_servers[1]: names cs1 but not cs3 of "
        "site ams's call servers (cs1, cs3): the application would lose CTI when the site fails over to cs3; "
        "name every call server of the site (or the site in sites)",
    ]


def test_a_cti_account_naming_no_member_of_a_pair_is_valid(pair: Path):
    edit(pair, CTI, "call_servers: [cs1, cs2, cs3]", "call_servers: [cs2]")
    assert rendered(pair) == []


# -- a registering trunk: every member of one site, never two sites ---------


def test_both_members_of_one_site_register_its_trunk(pair: Path):
    edit(
        pair,
        TRUNKS,
        "    realm: sip.carrier-ams.example\n",
        "    realm: sip.carrier-ams.example\n    register: true\n",
    )
    assert rendered(pair) == []


def test_two_sites_never_register_one_account(pair: Path):
    edit(
        pair,
        TRUNKS,
        "    realm: sip.carrier-ams.example\n",
        "    realm: sip.carrier-ams.example\n    register: true\n",
    )
    edit(pair, "group_vars/all/sites.yml", "    trunks: [thr-sip1]\n", "    trunks: [ams-sip1, thr-sip1]\n")
    assert rendered(pair) == [
        "error: group_vars/all/trunks.yml:12: voip_trunks[0].register: trunk 'ams-sip1' would be registered "
        "by the call servers of 2 sites (ams: cs1, cs3; thr: cs2): one account registers the call servers of "
        "one site (a pair registers it from each member, so that the carrier reaches either); give each site "
        "its own trunk",
    ]


def test_a_pair_counting_a_trunks_channels_each_on_its_own_is_warned_of(pair: Path):
    assert validate(BASE, TODAY).problems == []  # one call server per site: nothing to warn of
    edit(
        pair,
        TRUNKS,
        "    realm: sip.carrier-ams.example\n",
        "    realm: sip.carrier-ams.example\n    channels: 30\n",
    )
    assert rendered(pair) == [
        "warning: group_vars/all/trunks.yml:12: voip_trunks[0].channels: each call server of site ams "
        "(cs1, cs3) counts ams-sip1's calls on its own: together they may offer the carrier up to 60 calls "
        "on its 30 channels, and the carrier refuses those beyond",
    ]


def test_the_lab_with_its_pair_is_valid():
    lab = Path(__file__).resolve().parents[2] / "inventory" / "lab"
    assert yaml.safe_load((lab / "host_vars/cs3/call_server.yml").read_text())["voip_call_server"]
    result = validate(lab)
    assert result.errors == [], "\n".join(p.render() for p in result.errors)
