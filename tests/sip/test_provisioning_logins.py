"""Provisioning logins in the lab: one phone's login rotated, a retired MAC's login gone after its grace.

A copy of the lab inventory is changed and applied to the provisioning
servers with playbooks/provisioning.yml; the files on the provisioning server
are read before and after. The lab's own model is applied again at the end,
so the other tests find the lab as the inventory describes it.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from phone_http import file_url, http_get

from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
USERS = Path("group_vars") / "all" / "users.yml"
ROTATED = "80:5e:c0:10:20:01"  # a Yealink of the lab's directory
RETIRED = "00:04:13:10:30:01"  # the second phone (a Snom) of a user with two


def converge(inventory: Path, *extra: str) -> None:
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory),
         str(ROOT / "playbooks" / "provisioning.yml"), "--limit", "provisioning_servers", *extra],
        cwd=ROOT, env=ansible_environment(ROOT), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def bare(mac: str) -> str:
    return mac.replace(":", "").lower()


@pytest.fixture(scope="module")
def provisioning(estate):
    return estate.hosts_in("provisioning_servers")[0]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A copy of the lab inventory (beside a link to the lab's files: firmware); the lab's is applied after."""
    base = tmp_path_factory.mktemp("logins")
    (base / "lab").symlink_to(ROOT / "lab")
    copy = base / "inventory" / "lab"
    shutil.copytree(LAB, copy)
    yield copy
    converge(LAB)


def edit(inventory: Path, old: str, new: str) -> None:
    path = inventory / USERS
    text = path.read_text()
    assert text.count(old) == 1, f"test setup: {old!r} not once in {USERS}"
    path.write_text(text.replace(old, new))


def on_server(podman_exec, host: str) -> tuple[dict[str, str], dict[str, str]]:
    """({mac: htpasswd line}, {phone file: sha256}) as they are on the provisioning server."""
    logins = podman_exec(host, "cat", "/etc/nginx/provisioning.htpasswd").stdout
    sums = podman_exec(host, "sh", "-c", "cd /srv/provisioning && sha256sum -- *.cfg *.xml").stdout
    entries = dict(line.split(":", 1) for line in logins.splitlines() if line and not line.startswith("#"))
    files = {name: digest for digest, name in (line.split() for line in sums.splitlines())}
    return entries, files


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def test_rotating_one_phones_login_changes_one_entry_and_one_file(
    model, provisioning, estate, podman_exec, device_login
):
    server = estate.hosts[provisioning]
    converge(model)
    entries, files = on_server(podman_exec, provisioning)
    name = f"{bare(ROTATED)}.cfg"
    old = device_login(ROTATED)
    assert http_get(file_url(server, name), old)[0] == 200
    edit(model, f'{{mac: "{ROTATED}", model: yealink-t54w}}',
         f'{{mac: "{ROTATED}", model: yealink-t54w, password_rotation: 1}}')  # fmt: skip
    converge(model)
    entries_after, files_after = on_server(podman_exec, provisioning)
    assert changed(entries, entries_after) == {bare(ROTATED)}
    assert changed(files, files_after) == {name}
    assert http_get(file_url(server, name), old)[0] == 401, "the old login is dead"
    assert http_get(file_url(server, name), device_login(ROTATED, rotation=1))[0] == 200
    other = next(mac for mac in entries if mac != bare(ROTATED))
    assert http_get(file_url(server, "y000000000000.cfg"), device_login(other))[0] == 200


def test_a_retired_mac_loses_its_login_after_the_grace(
    model, provisioning, estate, podman_exec, device_login
):
    server = estate.hosts[provisioning]
    grace = int((server.get("voip_directory_policy") or {}).get("retired_device_grace_days", 30))
    assert grace > 0, "the lab keeps a retired phone's login for a while"
    name, login = f"{bare(RETIRED)}.xml", device_login(RETIRED)
    edit(model, f'      - {{mac: "{RETIRED}", model: snom-d785}}\n', "")
    today = datetime.date.today()
    converge(model, "-e", f"provisioning_server_today={today}")
    status, text = http_get(file_url(server, name), login)
    assert status == 200 and "unassigned" in text and f"retired={today}" in text
    assert bare(RETIRED) in on_server(podman_exec, provisioning)[0]
    # The last day of the grace: still there.
    converge(model, "-e", f"provisioning_server_today={today + datetime.timedelta(days=grace - 1)}")
    assert bare(RETIRED) in on_server(podman_exec, provisioning)[0]
    # Past it: no login, no file.
    converge(model, "-e", f"provisioning_server_today={today + datetime.timedelta(days=grace)}")
    entries, files = on_server(podman_exec, provisioning)
    assert bare(RETIRED) not in entries and name not in files
    assert http_get(file_url(server, name), login)[0] == 401
