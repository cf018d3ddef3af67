"""The lab: the estate of inventory/lab as podman containers on this machine.

The topology is read from the lab inventory (``ansible_host`` and the
``lab_*`` variables), so `voipctl lab`, molecule and the end-to-end tests
share one definition. Every operation is idempotent: ``up`` creates what is
missing, starts what is stopped, recreates what is outdated and leaves the
rest alone; ``down`` removes every lab container and the lab network.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from voipctl import paths
from voipctl.ansible import inventory, playbook
from voipctl.console import err, out
from voipctl.core.stamps import stamp_us
from voipctl.errors import LabError
from voiplab import aptrepo, images, labcerts
from voiplab.podman import Podman

LAB_LABEL = "voiplab"
HOST_LABEL = "voiplab.host"
SPEC_LABEL = "voiplab.spec"
READY_TIMEOUT = 90.0
# Converge outputs kept under <state dir>/runs.
RUN_LOGS = 20
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
# Services the summary reports when they run on a Linux host.
WATCHED_SERVICES = ["ssh", "chrony", "nftables", "kamailio", "rtpengine", "nginx"]


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


# The lab state subdirectory that holds the built package repository.
APT_VOLUME = "apt"


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
    hosts: list[LabHost] = []
    seen: dict[str, str] = {}
    for hostname, hv in inv.hosts.items():
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
            raise LabError(
                f"{source}: hosts {seen[str(address)]} and {hostname} share ansible_host {address}"
            )
        seen[str(address)] = hostname
        hosts.append(
            LabHost(
                name=hostname,
                address=str(address),
                groups=inv.groups_of(hostname),
                site=hv.get("voip_site"),
                image=str(spec["image"]),
                systemd=bool(spec.get("systemd", False)),
                capabilities=list(spec.get("capabilities", [])),
                command=[str(c) for c in spec.get("command", [])],
                login=_login(
                    hv.get("ansible_user"), bool(spec.get("systemd", False)), f"{source}: host {hostname}"
                ),
            )
        )
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


# -- SSH keys ----------------------------------------------------------------


def ensure_keys(lab: Lab) -> None:
    """Controller key and per-host SSH host keys (generated once), and a pinned known_hosts.

    Every host that answers SSH gets a host key: the Linux hosts' sshd and the
    network device simulators (``--host-key``) read it from the same mount, so
    a recreated container presents the key the known_hosts file pins.
    """
    if shutil.which("ssh-keygen") is None:
        raise LabError("ssh-keygen is not installed", hint="apt-get install openssh-client")
    lab.ssh_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(lab.ssh_dir, 0o700)
    _keygen(lab.ssh_dir / "id_ed25519", "voiplab-controller")
    lines = []
    for host in lab.hosts:
        if not host.ssh:
            continue
        key = lab.ssh_dir / "hosts" / host.name / "ssh_host_ed25519_key"
        key.parent.mkdir(parents=True, exist_ok=True)
        _keygen(key, f"root@{host.name}")
        kind, blob = key.with_suffix(".pub").read_text().split()[:2]
        lines.append(f"{host.name},{host.address} {kind} {blob}")
    text = "\n".join(lines) + "\n"
    known_hosts = lab.ssh_dir / "known_hosts"
    if not known_hosts.is_file() or known_hosts.read_text() != text:
        tmp = known_hosts.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, known_hosts)


def _keygen(path: Path, comment: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.unlink(missing_ok=True)
    result = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise LabError(f"ssh-keygen for {path} failed: {result.stderr.strip()}")


def ensure_certificates(lab: Lab) -> list[tuple[str, str]]:
    """The lab CA (always: the lab's call servers trust it) and each TLS peer's certificate."""
    certs = lab.state_dir / "certs"
    labcerts.ensure_ca(certs)
    rows = []
    for host in lab.hosts:
        if host.certificate and labcerts.ensure_peer_certificate(certs, host.name, host.address):
            rows.append((f"certificate of {host.name}", "issued by the lab CA"))
    return rows


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
        args += [
            "--systemd=always",
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


def _answers_exec(podman: Podman, container: str) -> bool:
    """True when a command runs in ``container`` (its processes are really there)."""
    try:
        podman.run(["exec", container, "true"], what=f"probing {container}")
    except LabError:
        return False
    return True


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


def up(lab: Lab, podman: Podman, fresh: bool = False, only: list[str] | None = None) -> list[tuple[str, str]]:
    """Create or repair the whole lab, or the hosts named in ``only``; return (object, action) rows.

    With ``fresh`` every host's container (of ``only``: those) is recreated
    from its image (images and network are kept), so that a converge starts
    from bare hosts. Keys and known_hosts always cover every host.
    """
    rows: list[tuple[str, str]] = []
    recipes = images.load_recipes(lab.root / "lab" / "images")
    chosen = lab.hosts if only is None else [lab.host(name) for name in only]
    wanted = {h.image for h in chosen}
    image_ids = images.ensure_images(podman, recipes, wanted, lab.build_dir, lambda m: err.print(f"  {m}"))
    ensure_keys(lab)
    rows += ensure_certificates(lab)
    if any(source == APT_VOLUME for host in lab.hosts for source, _ in host.volumes):
        # The packages the repository peer serves (built only when their recipes changed).
        rows.append(
            ("apt repository", aptrepo.build(lab.root / "lab" / "packages", lab.state_dir / APT_VOLUME))
        )
    rows.append((f"network {lab.network_name}", ensure_network(podman, lab)))
    existing = lab_containers(podman)
    if only is not None:
        existing = {name: c for name, c in existing.items() if name in {h.name for h in chosen}}
    if fresh:
        for name, container in sorted(existing.items()):
            podman.run(["rm", "-f", "-t", "5", container.get("Names", [name])[0]], what=f"removing {name}")
        existing = {}
    for name in sorted(set(existing) - {h.name for h in lab.hosts}):
        cname = existing[name].get("Names", [name])[0]
        podman.run(["rm", "-f", "-t", "5", cname], what=f"removing container {cname}")
        rows.append((cname, "removed (no longer in the inventory)"))
    for host in chosen:
        ref = recipes[host.image].ref
        action = ensure_container(podman, lab, host, ref, image_ids[host.image], existing.get(host.name))
        if action == "running" and not host.ssh and not _answers_exec(podman, host.container(lab.prefix)):
            # Reported running, processes gone (after a reboot of this machine): a peer
            # has no SSH to poll, so it is asked to run a command instead.
            podman.run(["rm", "-f", "-t", "5", host.container(lab.prefix)], what=f"removing dead {host.name}")
            ensure_container(podman, lab, host, ref, image_ids[host.image], None)
            action = "recreated (reported running, but no process answered)"
        if host.systemd:
            # Every time (the script is idempotent): a container whose first
            # attempt failed gets its administrator on the next `lab up`.
            bootstrap_login(podman, lab, host)
        rows.append((host.container(lab.prefix), action))
    _, silent = poll_ready(chosen, READY_TIMEOUT / 2)
    if silent:
        # Podman can report a container as running whose processes are gone
        # (seen here after an image build): recreate those once.
        for host in (lab.host(name) for name in silent):
            cname = host.container(lab.prefix)
            podman.run(["rm", "-f", "-t", "5", cname], what=f"removing unresponsive container {cname}")
            ensure_container(podman, lab, host, recipes[host.image].ref, image_ids[host.image], None)
            if host.systemd:
                bootstrap_login(podman, lab, host)
            rows.append((cname, "recreated (no SSH answer although it was reported running)"))
        wait_ready(lab, hosts=[lab.host(name) for name in silent])
    return rows


def down(lab: Lab, podman: Podman, remove_images: bool = False) -> list[tuple[str, str]]:
    rows = []
    for name, container in sorted(lab_containers(podman).items()):
        cname = container.get("Names", [name])[0]
        podman.run(["rm", "-f", "-t", "5", cname], what=f"removing container {cname}")
        rows.append((cname, "removed"))
    if podman.network(lab.network_name) is not None:
        podman.run(["network", "rm", "-f", lab.network_name], what=f"removing network {lab.network_name}")
        rows.append((f"network {lab.network_name}", "removed"))
    if remove_images:
        for recipe in images.load_recipes(lab.root / "lab" / "images").values():
            if podman.image_id(recipe.ref):
                podman.run(["rmi", "-f", recipe.ref], what=f"removing image {recipe.ref}")
                rows.append((recipe.ref, "removed"))
    return rows


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


def render_status(rows: list[dict[str, Any]], title: str, converge: dict[str, Any] | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("host", "site", "address", "role", "container", "ssh", "running"):
        table.add_column(col)
    if converge:
        table.add_column("last converge")
    for row in rows:
        cells = [
            row["host"],
            row["site"],
            row["address"],
            ", ".join(row["groups"]),
            row["container"],
            "-" if row.get("peer") else ("yes" if row["ssh"] else "no"),
            ", ".join(row["services"]) or "-",
        ]
        if converge:
            stats = converge.get("hosts", {}).get(row["host"])
            cells.append(
                f"ok={stats['ok']} changed={stats['changed']} failed={stats['failures']}" if stats else "-"
            )
        table.add_row(*cells)
    return table


# -- command line ------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lab", help="create, inspect and remove the lab estate (podman)")
    parser.add_argument("-i", "--inventory", help="lab inventory (default: inventory/lab)")
    lab_sub = parser.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    p_up = lab_sub.add_parser("up", help="build images if needed, create or start every lab host")
    p_up.add_argument("--fresh", action="store_true", help="recreate every host's container from its image")
    p_up.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="HOST",
        help="only this host (repeatable); the others are left alone",
    )
    p_up.set_defaults(func=cmd_up)
    p_conv = lab_sub.add_parser("converge", help="run a playbook against the lab and record its recap")
    p_conv.add_argument("--playbook", default="playbooks/site.yml")
    p_conv.add_argument(
        "--expect-no-change", action="store_true", help="fail when any host reports a change (idempotence)"
    )
    p_conv.add_argument(
        "ansible_args", nargs=argparse.REMAINDER, help="extra ansible-playbook arguments after --"
    )
    p_conv.set_defaults(func=cmd_converge)
    p_down = lab_sub.add_parser("down", help="remove every lab container and the lab network")
    p_down.add_argument("--images", action="store_true", help="also remove the lab images")
    p_down.set_defaults(func=cmd_down)
    p_status = lab_sub.add_parser("status", help="state of every lab host; exit 3 when not all are up")
    p_status.add_argument("--format", choices=["table", "json"], default="table")
    p_status.set_defaults(func=cmd_status)
    p_summary = lab_sub.add_parser("summary", help="hosts, what runs on them and the last converge")
    p_summary.set_defaults(func=cmd_summary)
    p_ssh = lab_sub.add_parser("ssh", help="open a shell (or run a command) on a lab host")
    p_ssh.add_argument("host")
    p_ssh.add_argument("remote", nargs=argparse.REMAINDER, help="command to run instead of a shell")
    p_ssh.set_defaults(func=cmd_ssh)


def _context(args: argparse.Namespace) -> tuple[Lab, Podman]:
    root = paths.repo_root()
    lab = load_lab(root, args.inventory)
    return lab, Podman(lab.containers_conf)


def _print_rows(rows: list[tuple[str, str]], title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("object")
    table.add_column("action")
    for obj, action in rows:
        table.add_row(obj, action)
    out.print(table)


def cmd_up(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    only = getattr(args, "hosts", None)
    err.print(f"lab up: {len(only) if only else len(lab.hosts)} hosts from {lab.inventory_path}")
    rows = up(lab, podman, fresh=args.fresh, only=only)
    _print_rows(rows, "lab up")
    return 0


def cmd_converge(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    down_hosts = [r["host"] for r in status_rows(lab, podman) if r["container"] != "running"]
    if down_hosts:
        raise LabError(f"lab hosts not running: {', '.join(down_hosts)}", hint="run `voipctl lab up` first")
    extra = [a for a in args.ansible_args if a != "--"]
    started = datetime.now(UTC)
    result = playbook.run(lab.root, args.playbook, lab.inventory_path, extra)
    record = {
        "playbook": args.playbook,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "returncode": result.returncode,
        "hosts": result.hosts,
    }
    lab.state_dir.mkdir(parents=True, exist_ok=True)
    (lab.state_dir / "last-converge.json").write_text(json.dumps(record, indent=2) + "\n")
    keep_run_log(lab.state_dir / "runs", started, args.playbook, result.output)
    if not result.ok:
        raise LabError(
            f"{args.playbook} failed (exit {result.returncode}); see the output above", exit_code=1
        )
    if args.expect_no_change:
        if result.changed:
            lines = "\n    ".join(f"{host}: {task}" for host, task in result.changed_tasks)
            raise LabError(
                f"idempotence: {result.changed} change(s) on a second converge:\n    {lines}", exit_code=1
            )
        err.print(f"idempotence: changed=0 on all {len(result.hosts)} hosts")
    return 0


def ansible_environment(root: Path, **extra: str) -> dict[str, str]:
    """Environment for running Ansible against the lab from another checkout or a copy of its inventory.

    The repository's ansible.cfg and venv, no colours, the lab's state
    directory (SSH keys) even for an inventory copied elsewhere, the lab's
    vault password unless one is set; ``extra`` on top.
    """
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(root / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        CONTAINERS_CONF=str(root / "lab" / "containers.conf"),
        VOIPLAB_STATE_DIR=str(root / ".lab"),
        PATH=f"{root / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    env.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    env.update(extra)
    return env


def keep_run_log(
    directory: Path, started: datetime, playbook_path: str, output: str, keep: int = RUN_LOGS
) -> Path:
    """Store a run's output as ``<UTC start>-<playbook>.log``; keep the newest ``keep`` logs.

    The end-to-end tests scan these logs for secrets (none may appear).
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{stamp_us(started)}-{Path(playbook_path).stem}.log"
    path = directory / name
    path.write_text(output)
    path.chmod(0o600)
    for old in sorted(directory.glob("*.log"))[:-keep]:
        old.unlink()
    return path


def cmd_down(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    rows = down(lab, podman, remove_images=args.images)
    if rows:
        _print_rows(rows, "lab down")
    else:
        out.print("lab down: nothing to remove")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    rows = status_rows(lab, podman)
    if args.format == "json":
        out.print_json(json.dumps(rows))
    else:
        out.print(render_status(rows, "lab status"))
    return 0 if all_up(rows) else 3


def cmd_summary(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    rows = status_rows(lab, podman)
    last = lab.state_dir / "last-converge.json"
    converge = json.loads(last.read_text()) if last.is_file() else None
    title = "lab summary"
    if converge:
        title += f" (last converge: {converge.get('playbook')}, {converge.get('finished')})"
    out.print(render_status(rows, title, converge))
    return 0 if all_up(rows) else 3


def cmd_ssh(args: argparse.Namespace) -> int:
    lab, _podman = _context(args)
    host = lab.host(args.host)
    if host.peer:
        # Peers run no SSH server: a shell inside their container.
        podman = Podman(lab.containers_conf)
        os.environ.update(podman.env)
        cmd = [podman.executable, "exec", "-it", host.container(lab.prefix), *(args.remote or ["/bin/bash"])]
        os.execvp(cmd[0], cmd)
    if host.systemd:
        cmd = [
            "ssh",
            "-i",
            str(lab.ssh_dir / "id_ed25519"),
            "-o",
            f"UserKnownHostsFile={lab.ssh_dir / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            f"{host.login}@{host.address}",
            *args.remote,
        ]
    else:
        # Network devices: the device's own CLI login (credentials from the vault), host key pinned.
        cmd = [
            "ssh",
            "-o",
            f"UserKnownHostsFile={lab.ssh_dir / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            host.address,
        ]
    if shutil.which("ssh") is None:
        raise LabError("ssh is not installed", hint="apt-get install openssh-client")
    os.execvp(cmd[0], cmd)
    return 0  # pragma: no cover
