"""Device software releases against the lab: the gateway and the switch move to the next image and back.

`voipctl release apply` on copies of the lab inventory whose manifest names other images
(voip_release.device_images), limited to the devices (the call servers' release has its own tests,
tests/sip/test_release.py). The images are the lab's store (.lab/device-images, written by `voipctl
lab up`): each device copies its image from the provisioning server, checks its SHA-512, boots it
and comes back; the role release_device's gate then wants the version, the saved configuration and
everything that carried voice before. In order:

1. check mode lists the devices behind and changes nothing (no copy, no reload);
2. the next images reach gw1 and sw1, with the configuration identical and voice up, and a second
   run changes nothing;
3. a gateway image that boots with its voice down is rolled back on gw1 and stops the release
   (sw1 is not reached); a switch image that boots without its configuration is rolled back on sw1;
4. back to the lab's own images (the lab ends where its inventory says).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.inventory_copy import lab_copy
from tests.lab.test_netdev import PODMAN_ENV, Login, cli
from voipctl.adapters import inventory
from voiplab import deviceimages
from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
STATE = Path(ansible_environment(ROOT)["VOIPLAB_STATE_DIR"])
GATEWAY = "Cisco ISR 4321 (lab simulator)"
SWITCH = "Cisco Catalyst 3750 (lab simulator)"
LIMIT = ["--", "--limit", "localhost,gw1,sw1"]


def image(name: str) -> dict:
    """A device image of the lab's store as the manifest names it."""
    for file, _platform, version, _broken in deviceimages.IMAGES:
        if file == name:
            data = (STATE / deviceimages.STORE / file).read_bytes()
            return {"version": version, "image": file, "sha512": hashlib.sha512(data).hexdigest()}
    raise KeyError(name)


GW_NEXT = "isr4300-universalk9.17.09.04a.SPA.bin"
GW_BROKEN = "isr4300-universalk9.17.09.05.SPA.bin"
SW_NEXT = "c3750-ipservicesk9-mz.150-2.SE11.bin"
SW_BROKEN = "c3750-ipservicesk9-mz.150-2.SE12.bin"


def manifest_copy(tmp_path_factory, name: str, gateway: str, switch: str) -> Path:
    """<tmp>/inventory/lab with the device images ``gateway`` and ``switch`` (file names of the store)."""
    copy = lab_copy(tmp_path_factory, f"device-{name}")
    path = copy / "group_vars" / "all" / "release.yml"
    text = path.read_text()
    head, _, _ = text.partition("  device_images:\n")
    images = {GATEWAY: image(gateway), SWITCH: image(switch)}
    body = "".join(
        f'    {model}:\n      version: "{i["version"]}"\n      image: {i["image"]}\n      sha512: "{i["sha512"]}"\n'
        for model, i in images.items()
    )
    path.write_text(
        head.replace("version: 2026.11.0", f"version: 2026.12.{name}") + "  device_images:\n" + body
    )
    return copy


def release(inventory: Path, *extra: str) -> tuple[int, str, dict[str, dict]]:
    """`voipctl release apply -i INVENTORY [extra]` limited to the devices: (exit code, output, records)."""
    env = {**ansible_environment(ROOT), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "voipctl.cli", "release", "apply", "-i", str(inventory), *extra, *LIMIT],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    run = re.search(r"\(run (\d{8}T\d{6}Z)\)", output)
    assert run, output[-3000:]
    records = STATE / "records" / "releases" / run.group(1)
    return proc.returncode, output, {p.stem: json.loads(p.read_text()) for p in records.glob("*.json")}


def running(devices, name: str) -> dict:
    """What the device runs: version, image, configuration (boot entry and volatile lines aside)."""
    version = cli(devices, name, show="show version")
    config = cli(devices, name, show="show running-config")
    found = re.search(r"Version ([^,\s]+)", version)
    booted = re.search(r'System image file is "[a-z]+:/?([^"]+)"', version)
    lines = [
        line
        for line in config.splitlines()
        if line.strip()
        and not line.startswith(("!", "Building configuration", "Current configuration", "boot system"))
    ]
    return {"version": found and found.group(1), "image": booted and booted.group(1), "config": lines}


def flash(devices, name: str) -> str:
    return cli(devices, name, show="dir bootflash:" if name == "gw1" else "dir flash:")


@pytest.fixture(scope="module")
def devices():
    """The devices' addresses and logins, from the lab inventory."""
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    inv = inventory.load(LAB, only=("ansible_host", "voip_device_username", "voip_device_password"))
    return {name: Login(inv.hosts[name]) for name in ("gw1", "sw1")}


@pytest.fixture(scope="module")
def start(devices):
    """The devices at the lab's own images before the tests, and again after them."""
    code, output, _ = release(LAB)
    assert code == 0, output[-4000:]
    yield {name: running(devices, name) for name in ("gw1", "sw1")}
    code, output, records = release(LAB)
    assert code == 0, output[-4000:]
    for name in ("gw1", "sw1"):
        now = running(devices, name)
        assert now["version"] == image(records[name]["image_after"])["version"], now


def test_check_mode_lists_the_devices_behind_and_changes_nothing(tmp_path_factory, devices, start):
    copy = manifest_copy(tmp_path_factory, "check", GW_NEXT, SW_NEXT)
    code, output, records = release(copy, "--check")
    assert code == 0, output[-4000:]
    for name, target in (("gw1", GW_NEXT), ("sw1", SW_NEXT)):
        record = records[name]
        assert record["result"] == "would change" and record["check_mode"], record
        assert record["drift"] == [{"component": "ios", "package": GATEWAY if name == "gw1" else SWITCH,
                                    "installed": start[name]["version"], "target": image(target)["version"]}]  # fmt: skip
        assert running(devices, name) == start[name]
        assert target not in flash(devices, name)


def test_the_next_images_reach_the_gateway_and_the_switch_with_their_configuration(
    tmp_path_factory, devices, start
):
    copy = manifest_copy(tmp_path_factory, "next", GW_NEXT, SW_NEXT)
    code, output, records = release(copy)
    assert code == 0, output[-4000:]
    assert re.search(r"gw1\s+│\s+released\s+│\s+ios 17\.6\.5 -> 17\.9\.4a", output), output[-3000:]
    for name, target in (("gw1", GW_NEXT), ("sw1", SW_NEXT)):
        record = records[name]
        assert record["result"] == "released", record
        assert record["image_before"] == start[name]["image"] and record["image_after"] == target, record
        assert record["backup_point"], record
        now = running(devices, name)
        assert now["version"] == image(target)["version"] and now["image"] == target
        assert now["config"] == start[name]["config"]
    # The image came from the provisioning server's images site, which serves the devices alone.
    served = subprocess.run(
        ["podman", "exec", "voiplab-prov1", "sha512sum", f"/srv/device-images/{GW_NEXT}"],
        env=PODMAN_ENV, capture_output=True, text=True, check=True,
    ).stdout.split()[0]  # fmt: skip
    assert served == image(GW_NEXT)["sha512"]
    isdn = cli(devices, "gw1", show="show isdn status")
    assert "MULTIPLE_FRAME_ESTABLISHED" in isdn and "TEI_ASSIGNED" not in isdn
    code, output, records = release(copy)
    again = {records[n]["result"] for n in ("gw1", "sw1")}
    assert code == 0 and again == {"already at release"}, output[-3000:]


def test_a_broken_image_is_rolled_back_and_stops_the_release(tmp_path_factory, devices, start):
    before = {name: running(devices, name) for name in ("gw1", "sw1")}
    copy = manifest_copy(tmp_path_factory, "broken-gw", GW_BROKEN, SW_BROKEN)
    code, output, records = release(copy)
    assert code == 1, output[-4000:]
    gw = records["gw1"]
    assert gw["result"] == "rolled back", gw
    assert "carried voice before and do not now: PRI" in gw["error"], gw
    assert gw["image_after"] == before["gw1"]["image"] and gw["voice_lost"] == []
    assert "sw1" not in records  # the release stopped at the gateway
    assert re.search(r"sw1\s+│\s+not reached", output), output[-3000:]
    assert running(devices, "gw1") == before["gw1"]
    assert "MULTIPLE_FRAME_ESTABLISHED" in cli(devices, "gw1", show="show isdn status")

    copy = manifest_copy(tmp_path_factory, "broken-sw", before["gw1"]["image"], SW_BROKEN)
    code, output, records = release(copy)
    assert code == 1, output[-4000:]
    assert records["gw1"]["result"] == "already at release", records["gw1"]
    sw = records["sw1"]
    assert sw["result"] == "rolled back", sw
    assert "came up without its saved configuration" in sw["error"], sw
    assert running(devices, "sw1") == before["sw1"]


# Run in the gateway's container: what the images site answers the device (status per request).
_FROM_GATEWAY = """
import http.client, json, sys
answers = {}
for method, path in json.loads(sys.argv[1]):
    conn = http.client.HTTPConnection(sys.argv[2], 8081, timeout=5)
    conn.request(method, path, body=b"x" if method != "GET" else None)
    answers[method + " " + path] = conn.getresponse().status
    conn.close()
print(json.dumps(answers))
"""


def test_the_images_site_serves_a_device_a_plain_file_by_get_and_nobody_else(start):
    # The image the good release put there (the test before this one).
    prov, factory = "10.231.0.21", GW_NEXT
    requests = [["GET", f"/{factory}"], ["GET", "/"], ["GET", "/..%2f..%2fetc%2fpasswd"],
                ["GET", "/../../etc/passwd"], ["GET", "/.part-x"], ["PUT", "/planted.bin"],
                ["POST", f"/{factory}"], ["GET", "/provisioning.htpasswd"]]  # fmt: skip
    answered = subprocess.run(
        ["podman", "exec", "voiplab-gw1", "/opt/netdev/bin/python", "-c", _FROM_GATEWAY, json.dumps(requests), prov],
        env=PODMAN_ENV, capture_output=True, text=True, check=True,
    )  # fmt: skip
    answers = json.loads(answered.stdout)
    assert answers.pop(f"GET /{factory}") == 200
    # No listing, no path out of the directory, no hidden file, no upload, nothing of the phones' site.
    assert all(status in (400, 403, 404, 405) for status in answers.values()), answers
    # Anyone else (here the controller, on the lab bridge) is not let in by the firewall.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{prov}:8081/{factory}", timeout=3)
