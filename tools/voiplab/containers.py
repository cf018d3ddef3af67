"""The lab's podman network and containers: created, checked, recreated when outdated.

A container carries the labels of the lab and of its host, and a hash of
its run arguments and image (``spec_hash``), so that a changed image or
setting recreates it and an unchanged one is left alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import subprocess
from typing import Any

from voipctl.errors import LabError
from voiplab.podman import Podman
from voiplab.topology import Lab, LabHost

LAB_LABEL = "voiplab"
HOST_LABEL = "voiplab.host"
SPEC_LABEL = "voiplab.spec"


# -- network -----------------------------------------------------------------


def ensure_network(podman: Podman, lab: Lab) -> str:
    """Create the lab network, or check the existing one; return what was done."""
    existing = podman.network(lab.network_name)
    if existing is not None:
        subnets = [s.get("subnet") for s in existing.get("subnets", [])]
        if str(lab.subnet) not in subnets:
            raise LabError(
                f"podman network {lab.network_name} exists with subnet {', '.join(map(str, subnets))}, "
                f"but the inventory wants {lab.subnet}",
                hint="run `voipctl lab down` to remove the old lab, then `voipctl lab up`",
            )
        return "exists"
    for other in podman.networks():
        for sub in other.get("subnets") or []:
            if sub.get("subnet") and ipaddress.IPv4Network(sub["subnet"]).overlaps(lab.subnet):
                raise LabError(
                    f"subnet {lab.subnet} is in use by podman network {other.get('name')}",
                    hint="remove that network or change lab_network.subnet in the lab inventory",
                )
    for iface, net in _host_networks():
        if net.overlaps(lab.subnet):
            raise LabError(
                f"subnet {lab.subnet} is in use on this machine by interface {iface} ({net})",
                hint="change lab_network.subnet in inventory/lab/group_vars/all/lab.yml",
            )
    podman.run(
        [
            "network",
            "create",
            "--subnet",
            str(lab.subnet),
            "--gateway",
            lab.gateway,
            "--label",
            LAB_LABEL,
            lab.network_name,
        ],
        what=f"creating network {lab.network_name}",
    )
    return "created"


def _host_networks() -> list[tuple[str, ipaddress.IPv4Network]]:
    result = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return []
    networks = []
    for iface in json.loads(result.stdout or "[]"):
        for addr in iface.get("addr_info", []):
            net = ipaddress.IPv4Network(f"{addr['local']}/{addr['prefixlen']}", strict=False)
            networks.append((iface.get("ifname", "?"), net))
    return networks


# -- containers --------------------------------------------------------------


def mac_address(address: str) -> str:
    """The fixed MAC address of the host at ``address``: locally administered, from its IPv4 address.

    A server keeps its MAC address when it restarts; podman would give a
    restarted container a new random one, and its peers (whose neighbour
    tables still hold the old one for up to a minute) would not reach it.
    """
    octets = ipaddress.IPv4Address(address).packed
    return ":".join(f"{b:02x}" for b in (0x02, 0x00, *octets))


def run_args(lab: Lab, host: LabHost, image_ref: str) -> list[str]:
    """The `podman run` arguments of a host's container (without the spec label)."""
    args = [
        "--name",
        host.container(lab.prefix),
        "--hostname",
        host.name,
        "--network",
        lab.network_name,
        "--ip",
        host.address,
        "--mac-address",
        mac_address(host.address),
        "--network-alias",
        host.name,
        "--label",
        LAB_LABEL,
        "--label",
        f"{HOST_LABEL}={host.name}",
    ]
    for cap in host.capabilities:
        args += ["--cap-add", cap]
    keys = lab.ssh_dir / "hosts" / host.name
    if host.systemd:
        # A Linux server comes back after a reboot (systemctl reboot ends the container's PID 1).
        args += [
            "--systemd=always",
            "--restart=always",
            "-v",
            f"{keys / 'ssh_host_ed25519_key'}:/etc/ssh/ssh_host_ed25519_key:ro",
            "-v",
            f"{keys / 'ssh_host_ed25519_key.pub'}:/etc/ssh/ssh_host_ed25519_key.pub:ro",
            image_ref,
        ]
    else:
        if host.ssh:
            # A network device simulator: its stable host key (its command names it with --host-key).
            args += ["-v", f"{keys / 'ssh_host_ed25519_key'}:{DEVICE_HOST_KEY}:ro"]
        for source, target in host.volumes:
            args += ["-v", f"{lab.state_dir / source}:{target}:ro"]
        args += ["--init", image_ref, *host.command]
    return args


# Where a network device simulator finds its host key (lab/images/netdev, --host-key).
DEVICE_HOST_KEY = "/etc/ssh/ssh_host_ed25519_key"


def spec_hash(args: list[str], image_id: str) -> str:
    return hashlib.sha256(json.dumps([args, image_id]).encode()).hexdigest()[:16]


def lab_containers(podman: Podman) -> dict[str, dict[str, Any]]:
    """Lab containers by inventory host name."""
    found = {}
    for c in podman.containers(LAB_LABEL):
        host = (c.get("Labels") or {}).get(HOST_LABEL)
        if host:
            found[host] = c
    return found


def ensure_container(
    podman: Podman, lab: Lab, host: LabHost, image_ref: str, image_id: str, existing: dict[str, Any] | None
) -> str:
    """Bring one host's container to running with the wanted spec; return what was done."""
    args = run_args(lab, host, image_ref)
    want = spec_hash(args, image_id)
    name = host.container(lab.prefix)
    if existing is not None:
        have = (existing.get("Labels") or {}).get(SPEC_LABEL)
        if have != want:
            podman.run(["rm", "-f", "-t", "5", name], what=f"removing outdated container {name}")
            action = "recreated (image or settings changed)"
        elif existing.get("State") != "running":
            podman.run(["start", name], what=f"starting container {name}")
            return f"started (was {existing.get('State')})"
        else:
            return "running"
    else:
        action = "created"
    podman.run(["run", "-d", "--label", f"{SPEC_LABEL}={want}", *args], what=f"creating container {name}")
    return action


# What an installer or cloud-init does on a new server: the first
# administrator, with the controller's key and passwordless sudo (the
# os_baseline role then manages the account like every other one). "$1" is
# the account, "$2" the public key: arguments, never spliced into the script.
BOOTSTRAP_LOGIN = r"""
set -eu
id -u "$1" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups sudo "$1"
home=$(getent passwd "$1" | cut -d: -f6)
if [ ! -s "$home/.ssh/authorized_keys" ]; then
  install -d -m 0700 -o "$1" -g "$(id -gn "$1")" "$home/.ssh"
  printf '%s\n' "$2" > "$home/.ssh/authorized_keys"
  chown "$1:$(id -gn "$1")" "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
fi
if [ ! -e /etc/sudoers.d/voip-estate-admins ]; then
  printf '%%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/voip-estate-admins
  chmod 0440 /etc/sudoers.d/voip-estate-admins
fi
"""


def bootstrap_login(podman: Podman, lab: Lab, host: LabHost) -> None:
    """Create the host's first administrator (``host.login``) if it has none; root gets no key."""
    key = (lab.ssh_dir / "id_ed25519.pub").read_text().strip()
    podman.run(
        ["exec", host.container(lab.prefix), "sh", "-c", BOOTSTRAP_LOGIN, "sh", host.login, key],
        what=f"creating the administrator {host.login} on {host.name}",
    )


def answers_exec(podman: Podman, container: str) -> bool:
    """True when a command runs in ``container`` (its processes are really there)."""
    try:
        podman.run(["exec", container, "true"], what=f"probing {container}")
    except LabError:
        return False
    return True
