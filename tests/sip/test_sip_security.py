"""Flood protection on the call servers: a flooding source is throttled and banned,
while a normal user keeps registering."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

FLOOD = Path(__file__).with_name("tools") / "register_flood.py"


@pytest.fixture
def unbanned(lab_topology, call_servers, forget_bans):
    """The outsider starts and ends with no ban and no counted failures on the ams call server."""
    outsider = lab_topology.host("outsider").address
    forget_bans(call_servers["ams"], outsider)
    yield outsider
    forget_bans(call_servers["ams"], outsider)


def test_register_flood_is_throttled_while_users_register(
    users, lab_topology, estate, unbanned, register, kamailio_setting
):
    site = estate.hosts["cs1"]["voip_site"]
    user = next(u for u in users.values() if u.status == "active" and u.site == site)
    # Ten times what pike lets through per sampling unit, sent over about 1.5 units.
    density = int(kamailio_setting("kamailio_pike_reqs_density_per_unit"))
    count = density * 10
    container = lab_topology.host("outsider").container(lab_topology.prefix)
    flood = subprocess.Popen(
        ["podman", "exec", "-i", container, "python3", "-", unbanned, user.server, user.domain, str(count), "200"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    flood.stdin.write(FLOOD.read_text())
    flood.stdin.close()
    # A user registers while the flood runs.
    during = register(user)
    stdout = flood.stdout.read()
    flood.wait(timeout=60)
    assert flood.returncode == 0, flood.stderr.read()
    report = json.loads(stdout)
    assert during.final == "200", during.log
    # The first requests were served, then the source was throttled and banned.
    assert 0 < report["answered"] < report["sent"] // 2, report
    assert report["probe_answered"] is False, report
    after = register(user)
    assert after.final == "200", after.log


def test_repeated_authentication_failures_ban_the_source(users, estate, unbanned, peer, kamailio_setting):
    site = estate.hosts["cs1"]["voip_site"]
    user = next(u for u in users.values() if u.status == "active" and u.site == site)
    failures = int(kamailio_setting("kamailio_auth_failures_before_ban"))
    wrong = [user.extension, user.auth("not-" + user.password), user.domain, "300"]
    for attempt in range(failures):
        result = peer(
            "outsider", "register", server=user.server, port=5070 + attempt, fields=wrong, timeout=5
        )()
        assert result.final == "403", f"attempt {attempt + 1}: {result.log}"
    # The source is banned now: even the right password gets no answer.
    right = [user.extension, user.auth(), user.domain, "300"]
    after = peer("outsider", "register", server=user.server, port=5090, fields=right, timeout=4)()
    assert after.final is None, after.log
