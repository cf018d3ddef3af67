"""Whether the lab is up: SSH banners, polling until hosts answer, and each host's status."""

from __future__ import annotations

import socket
import time
from typing import Any

from voipctl.errors import LabError
from voiplab.containers import lab_containers
from voiplab.podman import Podman
from voiplab.topology import Lab, LabHost

READY_TIMEOUT = 90.0
# Services the summary reports when they run on a Linux host.
WATCHED_SERVICES = ["ssh", "chrony", "nftables", "kamailio", "rtpengine", "nginx"]


def poll_ready(hosts: list[LabHost], timeout: float) -> tuple[dict[str, str], list[str]]:
    """Poll SSH until every host answers or ``timeout``; return (host -> banner, hosts still silent)."""
    deadline = time.monotonic() + timeout
    pending = {h.name: h for h in hosts if h.ssh}
    banners: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        for name, host in list(pending.items()):
            banner = ssh_banner(host.address)
            if banner:
                banners[name] = banner
                del pending[name]
        if pending:
            time.sleep(0.5)
    return banners, sorted(pending)


def wait_ready(
    lab: Lab, timeout: float = READY_TIMEOUT, hosts: list[LabHost] | None = None
) -> dict[str, str]:
    """Wait until every host answers SSH with a protocol banner; return host -> banner."""
    banners, pending = poll_ready(lab.hosts if hosts is None else hosts, timeout)
    if pending:
        raise LabError(
            f"no SSH answer within {timeout:.0f}s from: {', '.join(pending)}",
            hint="look at `podman logs " + " ".join(lab.prefix + n for n in pending) + "`",
        )
    return banners


def ssh_banner(address: str, port: int = 22, timeout: float = 1.0) -> str | None:
    """The SSH identification string a host sends, or None."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = sock.recv(256).decode(errors="replace")
    except OSError:
        return None
    line = data.splitlines()[0] if data else ""
    return line if line.startswith("SSH-") else None


def status_rows(lab: Lab, podman: Podman) -> list[dict[str, Any]]:
    """Per host: container state, address, SSH answer and (Linux) active services."""
    existing = lab_containers(podman)
    rows = []
    for host in lab.hosts:
        c = existing.get(host.name)
        state = c.get("State", "?") if c else "missing"
        banner = ssh_banner(host.address) if state == "running" and host.ssh else None
        services: list[str] = []
        if host.peer:
            services = [host.description] if host.description else []
        elif state == "running" and host.systemd:
            services = active_services(podman, host.container(lab.prefix))
        elif banner:
            services = [banner.split(" ")[0]]
        rows.append(
            {
                "host": host.name,
                "site": host.site or "",
                "address": host.address,
                "groups": [g for g in host.groups if g not in ("linux", "network_devices")],
                "container": state,
                "ssh": bool(banner),
                "peer": host.peer,
                "services": services,
            }
        )
    return rows


def all_up(rows: list[dict[str, Any]]) -> bool:
    """Every container runs, and every managed host answers SSH."""
    return all(r["container"] == "running" and (r["ssh"] or r.get("peer")) for r in rows)


def active_services(podman: Podman, container: str) -> list[str]:
    result = podman.run(["exec", container, "systemctl", "is-active", *WATCHED_SERVICES], check=False)
    states = result.stdout.split()
    return [svc for svc, state in zip(WATCHED_SERVICES, states, strict=False) if state == "active"]
