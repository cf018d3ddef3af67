"""The lab topology: the hosts and peers of inventory/lab, their addresses, images and logins.

Read from the lab inventory (``ansible_host`` and the ``lab_*`` variables),
so `voipctl lab`, molecule and the end-to-end tests share one definition;
``load_lab`` checks it is complete and consistent.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voipctl import paths
from voipctl.adapters import inventory
from voipctl.errors import LabError

# The variables the lab topology is read from.
LAB_VARIABLES = (
    "ansible_host",
    "ansible_user",
    "voip_site",
    "lab_container",
    "lab_network",
    "lab_container_prefix",
    "lab_state_dir",
    "lab_peers",
)
# An account name the lab creates for Ansible's login (useradd's portable names).
LOGIN_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


@dataclass
class LabHost:
    name: str
    address: str
    groups: list[str]
    site: str | None
    image: str
    systemd: bool
    capabilities: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    # A party outside the estate that the lab plays (a carrier, a voicemail
    # server, an untrusted source): not managed, no SSH; tests drive it with
    # `podman exec`.
    peer: bool = False
    description: str = ""
    # Read-only mounts of a peer: (directory below the lab state dir, path in the container).
    volumes: list[tuple[str, str]] = field(default_factory=list)
    # A peer that speaks TLS: the lab CA issues it a certificate (voiplab.labcerts).
    certificate: bool = False
    # The administrator Ansible logs in as (the inventory's ansible_user). Like
    # an installer or cloud-init on a real server, `lab up` creates it on a new
    # Linux host with the controller key and sudo; root never logs in over SSH.
    login: str = ""

    @property
    def ssh(self) -> bool:
        return not self.peer

    def container(self, prefix: str) -> str:
        return f"{prefix}{self.name}"


@dataclass
class Lab:
    """The lab as the inventory describes it."""

    root: Path
    inventory_path: Path
    network_name: str
    subnet: ipaddress.IPv4Network
    gateway: str
    prefix: str
    state_dir: Path
    hosts: list[LabHost]

    @property
    def ssh_dir(self) -> Path:
        return self.state_dir / "ssh"

    @property
    def build_dir(self) -> Path:
        return self.state_dir / "build"

    @property
    def containers_conf(self) -> Path:
        return self.root / "lab" / "containers.conf"

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if name in (host.name, host.container(self.prefix)):
                return host
        raise LabError(f"{name!r} is not a lab host (lab hosts: {', '.join(h.name for h in self.hosts)})")


def load_lab(root: Path, inventory_arg: str | None = None) -> Lab:
    """Read the lab topology from the inventory and check it is complete and consistent."""
    source = paths.resolve_inventory(root, inventory_arg)
    # The lab's vault password is lab-only and committed (real environments
    # set ANSIBLE_VAULT_PASSWORD_FILE from their secret store).
    vault_file = root / "lab" / "vault-password.lab"
    if "ANSIBLE_VAULT_PASSWORD_FILE" not in os.environ and vault_file.is_file():
        os.environ["ANSIBLE_VAULT_PASSWORD_FILE"] = str(vault_file)
    # Only the lab's own variables are rendered: others may look up files
    # (SSH keys) that `lab up` has not generated yet.
    inv = inventory.load(source, only=LAB_VARIABLES)
    if not inv.hosts:
        raise LabError(f"inventory {source} has no hosts")
    first = next(iter(inv.hosts.values()))
    where = f"{source}/group_vars/all"
    net = first.get("lab_network")
    if not isinstance(net, dict):
        raise LabError(f"{where}: lab_network is not set; is {source} a lab inventory?")
    try:
        subnet = ipaddress.IPv4Network(net["subnet"])
        gateway = str(ipaddress.IPv4Address(net["gateway"]))
        name = str(net["name"])
    except (KeyError, ValueError) as exc:
        raise LabError(f"{where}: lab_network needs name, subnet and gateway ({exc})") from exc
    state_dir = Path(first.get("lab_state_dir") or paths.lab_state_dir(root)).resolve()
    seen: dict[str, str] = {}
    hosts = [_inventory_host(source, hostname, hv, inv.groups_of(hostname), subnet, gateway, seen)
             for hostname, hv in inv.hosts.items()]  # fmt: skip
    hosts += _peers(first.get("lab_peers"), f"{where}/lab.yml", subnet, gateway, seen)
    return Lab(
        root=root,
        inventory_path=source,
        network_name=name,
        subnet=subnet,
        gateway=gateway,
        prefix=str(first.get("lab_container_prefix", "voiplab-")),
        state_dir=state_dir,
        hosts=hosts,
    )


def _inventory_host(
    source: Path,
    hostname: str,
    hv: dict[str, Any],
    groups: list[str],
    subnet: ipaddress.IPv4Network,
    gateway: str,
    seen: dict[str, str],
) -> LabHost:
    """An inventory host of the lab (``lab_container``, ``ansible_host``), its address recorded in ``seen``."""
    spec = hv.get("lab_container")
    if not isinstance(spec, dict) or "image" not in spec:
        raise LabError(f"{source}: host {hostname}: lab_container.image is not set")
    try:
        address = ipaddress.IPv4Address(hv.get("ansible_host", ""))
    except ValueError as exc:
        raise LabError(f"{source}: host {hostname}: ansible_host is not an IPv4 address ({exc})") from exc
    if address not in subnet or str(address) in (gateway, str(subnet.network_address)):
        raise LabError(
            f"{source}: host {hostname}: ansible_host {address} is not a usable address of {subnet}"
        )
    if str(address) in seen:
        raise LabError(f"{source}: hosts {seen[str(address)]} and {hostname} share ansible_host {address}")
    seen[str(address)] = hostname
    return LabHost(
        name=hostname,
        address=str(address),
        groups=groups,
        site=hv.get("voip_site"),
        image=str(spec["image"]),
        systemd=bool(spec.get("systemd", False)),
        capabilities=list(spec.get("capabilities", [])),
        command=[str(c) for c in spec.get("command", [])],
        login=_login(hv.get("ansible_user"), bool(spec.get("systemd", False)), f"{source}: host {hostname}"),
    )


def _login(user: Any, systemd: bool, where: str) -> str:
    """The account Ansible logs in as on a Linux host (ansible_user): an administrator, never root."""
    if not systemd:
        return ""
    if user is None or user == "root":
        raise LabError(
            f"{where}: the lab logs in as an administrator of voip_admins, not as root",
            hint="set ansible_user in the lab inventory's group_vars/linux/connection.yml",
        )
    if not isinstance(user, str) or not LOGIN_NAME.fullmatch(user):
        raise LabError(f"{where}: ansible_user {user!r} is not an account name")
    return user


def _peers(
    spec: Any, where: str, subnet: ipaddress.IPv4Network, gateway: str, seen: dict[str, str]
) -> list[LabHost]:
    """The lab's peers (``lab_peers``: name -> address, image, description)."""
    if spec is None:
        return []
    if not isinstance(spec, dict):
        raise LabError(f"{where}: lab_peers must be a mapping of peer name to its settings")
    peers = []
    for name, settings in spec.items():
        what = f"{where}: lab_peers.{name}"
        if not isinstance(settings, dict) or "image" not in settings or "address" not in settings:
            raise LabError(f"{what}: needs address and image")
        try:
            address = ipaddress.IPv4Address(settings["address"])
        except ValueError as exc:
            raise LabError(f"{what}.address: {exc}") from exc
        if address not in subnet or str(address) in (gateway, str(subnet.network_address)):
            raise LabError(f"{what}.address: {address} is not a usable address of {subnet}")
        if str(address) in seen:
            raise LabError(f"{what}.address: {address} is already used by {seen[str(address)]}")
        if name in seen.values():
            raise LabError(f"{what}: {name} is already the name of an inventory host")
        volumes = settings.get("volumes") or {}
        if not isinstance(volumes, dict) or not all(
            isinstance(k, str) and k and not k.startswith("/") and ".." not in k and str(v).startswith("/")
            for k, v in volumes.items()
        ):
            raise LabError(f"{what}.volumes: a mapping of lab state subdirectory name to an absolute path")
        seen[str(address)] = str(name)
        peers.append(
            LabHost(
                name=str(name),
                address=str(address),
                groups=["lab_peers"],
                site=None,
                image=str(settings["image"]),
                systemd=False,
                command=[str(c) for c in settings.get("command", ["sleep", "infinity"])],
                peer=True,
                description=str(settings.get("description", "")),
                volumes=[(str(k), str(v)) for k, v in volumes.items()],
                certificate=settings.get("certificate") is True,
            )
        )
    return peers
