"""N simulated voice gateways for the backup benchmark, and an inventory that holds them.

Each gateway is the lab's own simulator (``lab/images/netdev/iosgw.py``, an
IOS XE voice-gateway CLI over SSH), run as a process on the controller's
loopback with its own address (127.77.0.N; validation refuses two hosts at
one address) and its own state directory. The inventory is a
copy of ``inventory/lab`` with the gateways added in a group
``bench_gateways`` (a child of ``gateways``), so ``playbooks/backup.yml``
backs them up exactly as it backs up gw1: netmiko on the controller, the
point sealed (encrypted, manifest) and stored on the lab's backup server.
Each simulator gets a host key of its own, pinned in a known_hosts file the
inventory names (``voip_device_known_hosts``), as every device's is.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from lab_estate import copy_lab

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "inventory" / "lab"
IOSGW = ROOT / "lab" / "images" / "netdev" / "iosgw.py"
PORT = 2022
FORKS = 50
# Bench-only login of the simulators (they run on loopback for the run's length).
PASSWORD = "bench-only-gateway-login"


@dataclass
class Simulator:
    name: str
    address: str
    process: subprocess.Popen
    # Its SSH host key's public half, OpenSSH format ("ssh-ed25519 AAAA...").
    public_key: str = ""


def host_key(path: Path) -> str:
    """A host key for a simulator at ``path`` (generated once); its public half."""
    import asyncssh

    if not path.exists():
        path.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
        path.chmod(0o600)
    return " ".join(asyncssh.read_private_key(path).export_public_key().decode().split()[:2])


def _listening(address: str) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((address, PORT)) == 0


@contextlib.contextmanager
def simulators(count: int, work: Path) -> Iterator[list[Simulator]]:
    """Start ``count`` gateway simulators on the loopback; stop them on exit."""
    sims: list[Simulator] = []
    try:
        for n in range(1, count + 1):
            name, address = f"bgw{n:03d}", f"127.77.{n // 250}.{n % 250 + 1}"
            if _listening(address):
                raise SystemExit(f"bench: {address}:{PORT} is taken; stop what listens there")
            state = work / "gateways" / name
            state.mkdir(parents=True, exist_ok=True)
            public = host_key(state / "host_key")
            process = subprocess.Popen(
                [sys.executable, str(IOSGW), "--hostname", name, "--listen-host", address,
                 "--listen-port", str(PORT), "--username", "admin", "--password", PASSWORD,
                 "--state-dir", str(state), "--host-key", str(state / "host_key")],
                stdout=subprocess.DEVNULL, stderr=(state / "stderr").open("w"),
            )  # fmt: skip
            sims.append(Simulator(name, address, process, public))
        deadline = time.monotonic() + 120
        waiting = list(sims)
        while waiting:
            for sim in list(waiting):
                if sim.process.poll() is not None:
                    log = (work / "gateways" / sim.name / "stderr").read_text()[-2000:]
                    raise SystemExit(f"bench: simulator {sim.name} exited: {log}")
                if _listening(sim.address):
                    waiting.remove(sim)
            if waiting and time.monotonic() > deadline:
                raise SystemExit(f"bench: {len(waiting)} simulators not listening after 120 s")
            time.sleep(0.2)
        yield sims
    finally:
        for sim in sims:
            sim.process.terminate()
        for sim in sims:
            try:
                sim.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sim.process.kill()


def inventory(sims: list[Simulator], work: Path) -> Path:
    """A copy of the lab inventory with the simulators as the group ``bench_gateways``."""
    out = copy_lab(work / "lab-gateways")
    # Outside the inventory directory (Ansible would read it as an inventory).
    known_hosts = work / "bench-gateways.known_hosts"
    known_hosts.write_text("".join(f"[{sim.address}]:{PORT} {sim.public_key}\n" for sim in sims))
    hosts = yaml.safe_load((out / "hosts.yml").read_text())
    gateways = hosts["all"]["children"]["network_devices"]["children"]["gateways"]
    # Host variables: the group_vars/network_devices files outrank group
    # variables written in hosts.yml, not host variables.
    gateways.setdefault("children", {})["bench_gateways"] = {
        "hosts": {
            sim.name: {
                "ansible_host": sim.address,
                "voip_site": "ams",
                "voip_device_port": PORT,
                "voip_device_password": PASSWORD,
                "voip_device_known_hosts": str(known_hosts),
            }
            for sim in sims
        },
    }
    (out / "hosts.yml").write_text("---\n" + yaml.safe_dump(hosts, sort_keys=False))
    return out


def clean_store(inventory_path: Path, sims: list[Simulator]) -> None:
    """Remove the simulators' backup points from the backup server."""
    del sims  # every bgwNNN point goes: a stopped earlier run may have left some
    store = _store(inventory_path)
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible"), "-i", str(inventory_path), "bak1", "-b", "-m",
         "ansible.builtin.shell", "-a", f"rm -rf {store}/bgw[0-9][0-9][0-9]"],
        cwd=ROOT, env=_env(), check=True, capture_output=True,
    )  # fmt: skip


def stored_points(inventory_path: Path) -> dict[str, int]:
    """Gateway -> points with a manifest on the backup server."""
    store = _store(inventory_path)
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible"), "-i", str(inventory_path), "bak1", "-b", "-m",
         "ansible.builtin.shell", "-a", f"cd {store} && ls -d bgw[0-9][0-9][0-9]/*/MANIFEST.json || true"],
        cwd=ROOT, env=_env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    points: dict[str, int] = {}
    for line in done.stdout.splitlines():
        if line.startswith("bgw") and line.endswith("/MANIFEST.json"):
            host = line.split("/", 1)[0]
            points[host] = points.get(host, 0) + 1
    return points


def _store(inventory_path: Path) -> str:
    backup = yaml.safe_load((inventory_path / "group_vars" / "all" / "backup.yml").read_text())
    return backup["voip_backup_policy"].get("store", "/srv/backups")


def _env() -> dict[str, str]:
    from voiplab.lab import ansible_environment

    return ansible_environment(ROOT)
