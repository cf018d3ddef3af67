"""``voipctl drill restore HOST``: prove in the lab that a host comes back from its backup.

The drill destroys the host's container, recreates it bare from its image
(``voipctl lab up``: a Linux host without packages or configuration, a
gateway or a switch with its factory configuration), checks that it is bare,
restores it with ``playbooks/restore.yml`` from the latest backup point (or
``--point``) - a restore, not a converge - and then checks the host does its
job again, with the lab's own checks run against it
(``tests/sip/check_restored.py``):

- a call server: every active user of its site registers by SIPp, and a
  call between two of them is answered;
- a provisioning server: every active phone fetches its file with its login;
- a gateway or an access switch: its running configuration (lines that change
  by themselves left out) is the backed-up one, decrypted from the point on
  the controller; a gateway's dial-peers are up again.

It prints a report (each step, its result and time) and exits non-zero at
the first step that fails.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from voipctl import paths
from voipctl.adapters import inventory, playbook
from voipctl.commandline import add_inventory_option
from voipctl.console import err, out
from voipctl.errors import VoipctlError
from voiplab import lab
from voiplab.podman import Podman
from voiplab.topology import Lab, LabHost, load_lab

# What the drill checks after the restore, by the host's group: the -k of check_restored.py.
CHECKS = {
    "call_servers": "call_server",
    "provisioning_servers": "provisioning_server",
    "gateways": "gateway",
    "access_switches": "access_switch",
}
# A file the host's role installs: absent on the recreated, bare Linux host.
BARE_WITHOUT = {"call_server": "/etc/kamailio/kamailio.cfg", "provisioning_server": "/srv/provisioning"}
# What the model puts in a device's configuration: absent from its factory configuration.
BARE_CONFIG_WITHOUT = {
    "gateway": ("no dial-peer", re.compile(r"^dial-peer voice ", re.MULTILINE)),
    "access_switch": ("no voice VLAN", re.compile(r"^ switchport voice vlan ", re.MULTILINE)),
}


@dataclass
class Step:
    name: str
    result: str = "not run"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Report:
    host: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.result == "ok" for step in self.steps)

    def run(self, name: str, action: Callable[[], str]) -> bool:
        step = Step(name)
        self.steps.append(step)
        started = time.monotonic()
        try:
            step.detail = action() or ""
            step.result = "ok"
        except (VoipctlError, subprocess.SubprocessError, OSError) as exc:
            step.result = "FAILED"
            step.detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        step.seconds = time.monotonic() - started
        err.print(f"drill {self.host}: {name}: {step.result} ({step.seconds:.0f} s) {step.detail}")
        return step.result == "ok"

    def table(self) -> Table:
        table = Table(
            title=f"restore drill of {self.host}: {'passed' if self.ok else 'FAILED'}", title_justify="left"
        )
        for column in ("step", "result", "seconds", "detail"):
            table.add_column(column)
        for step in self.steps:
            table.add_row(step.name, step.result, f"{step.seconds:.0f}", step.detail)
        return table


def _kind(groups: dict[str, list[str]], host: str) -> str:
    for group, check in CHECKS.items():
        if host in groups.get(group, []):
            return check
    raise VoipctlError(
        f"{host}: the drill restores call servers, provisioning servers, gateways and access switches",
        hint="drill one of: " + ", ".join(sorted(h for g in CHECKS for h in groups.get(g, []))),
    )


def not_bare(kind: str, config: str) -> str | None:
    """The first line of a recreated device's ``config`` that its factory configuration cannot have, or None."""
    found = BARE_CONFIG_WITHOUT[kind][1].search(config)
    return found.group(0).strip() if found else None


def device_config(address: str, port: int, username: str, password: str, known_hosts: str) -> str:
    """A device's running configuration, read over SSH with netmiko (cisco_ios).

    The device's host key must be the one ``known_hosts`` (the estate's
    voip_device_known_hosts) pins: strict checking against that file only.
    """
    from netmiko import ConnectHandler
    from netmiko.exceptions import NetmikoBaseException
    from paramiko.ssh_exception import SSHException

    if not os.path.isfile(known_hosts):
        raise VoipctlError(f"{address}:{port}: the device known_hosts file {known_hosts} does not exist")
    try:
        session = ConnectHandler(
            device_type="cisco_ios", host=address, port=port, username=username, password=password,
            secret="", timeout=20, conn_timeout=20, fast_cli=False, ssh_strict=True, system_host_keys=False,
            alt_host_keys=True, alt_key_file=known_hosts, use_keys=False, allow_agent=False,
        )  # fmt: skip
        try:
            session.enable()
            return session.send_command("show running-config", read_timeout=60)
        finally:
            session.disconnect()
    except (NetmikoBaseException, SSHException) as exc:
        raise VoipctlError(f"{address}:{port}: {type(exc).__name__}: {str(exc).strip()[:200]}") from exc


@dataclass
class _Drill:
    """What the steps of one restore drill share: the lab, the host, its backup store and point."""

    root: Path
    lab: Lab
    podman: Podman
    target: LabHost
    kind: str
    host_vars: dict[str, Any]
    server: LabHost
    store: str
    point: str | None
    chosen: str | None = None

    def latest_point(self) -> str:
        """The backup point to restore: ``point`` if the backup server has it, else its latest."""
        listed = self.podman.run(
            ["exec", self.server.container(self.lab.prefix), "ls", "-1", self.store], check=False
        )
        points = sorted(p for p in listed.stdout.split() if p.endswith("Z"))
        if self.point and self.point not in points:
            raise VoipctlError(f"no backup point {self.point} of {self.target.name} on {self.server.name}")
        if not points:
            raise VoipctlError(
                f"no backup of {self.target.name} on {self.server.name}: run playbooks/backup.yml first"
            )
        return self.point or points[-1]

    def destroy(self) -> str:
        """Remove the host's container."""
        self.podman.run(
            ["rm", "-f", self.target.container(self.lab.prefix)], what=f"removing {self.target.name}"
        )
        return f"container {self.target.container(self.lab.prefix)} removed"

    def recreate(self) -> str:
        """``lab up``, then prove the recreated host bare (no model configuration, no role's file)."""
        target, kind, me = self.target, self.kind, self.host_vars
        lab.up(self.lab, self.podman)
        if kind in BARE_CONFIG_WITHOUT:
            login = (me["voip_device_username"], me["voip_device_password"], me["voip_device_known_hosts"])
            found = not_bare(
                kind, device_config(target.address, int(me.get("voip_device_port") or 22), *login)
            )
            if found:
                raise VoipctlError(
                    f"the recreated {target.name} is not bare: its configuration has {found!r}"
                )
            return f"bare from its image ({BARE_CONFIG_WITHOUT[kind][0]} in its configuration)"
        present = self.podman.run(
            ["exec", target.container(self.lab.prefix), "test", "-e", BARE_WITHOUT[kind]], check=False
        )
        if present.returncode == 0:
            raise VoipctlError(f"the recreated {target.name} is not bare: {BARE_WITHOUT[kind]} exists")
        return f"bare from its image (no {BARE_WITHOUT[kind]})"

    def restore(self) -> str:
        """playbooks/restore.yml for the host, from the chosen point."""
        chosen = self.chosen
        extra = ["-e", f"restore_host={self.target.name}"] + (
            ["-e", f"restore_point={chosen}"] if chosen else []
        )
        result = playbook.run(self.root, "playbooks/restore.yml", self.lab.inventory_path, extra, echo=False)
        if not result.ok:
            raise VoipctlError(
                f"restore.yml failed (exit {result.returncode}): {result.output.strip()[-300:]}"
            )
        return f"from {chosen}"

    def verify(self) -> str:
        """The lab's checks of the host's job (tests/sip/check_restored.py -k KIND)."""
        env = {**lab.ansible_environment(self.root), "VOIP_DRILL_HOST": self.target.name,
               "VOIP_DRILL_POINT": self.chosen}  # fmt: skip
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/sip/check_restored.py",
             "-k", self.kind],
            cwd=self.root, env=env, capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
        last = (run.stdout.strip().splitlines() or ["no output"])[-1]
        if run.returncode != 0:
            raise VoipctlError(f"checks failed: {last}")
        return last


def _prepare(host: str, inventory_arg: str | None, point: str | None) -> _Drill:
    """The drill of ``host``: the lab, the host's kind, its backup policy's server and store."""
    root = paths.repo_root()
    the_lab = load_lab(root, inventory_arg)
    podman = Podman(the_lab.containers_conf)
    target = the_lab.host(host)
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    inv = inventory.load(
        the_lab.inventory_path,
        only=(
            "voip_backup_policy",
            "voip_device_username",
            "voip_device_password",
            "voip_device_port",
            "voip_device_known_hosts",
            "lab_state_dir",
        ),
    )
    kind = _kind(inv.groups, target.name)
    me = inv.hosts[target.name]
    policy = me["voip_backup_policy"]
    server = the_lab.host(policy["server"])
    store = f"{policy.get('store', '/srv/backups')}/{target.name}"
    return _Drill(root, the_lab, podman, target, kind, me, server, store, point, chosen=point)


def restore_drill(host: str, inventory_arg: str | None = None, point: str | None = None) -> Report:
    """Destroy ``host``, recreate it bare, restore it from its backup and check it: the report of each step."""
    drill = _prepare(host, inventory_arg, point)
    report = Report(drill.target.name)
    if report.run("latest backup point", drill.latest_point):
        drill.chosen = report.steps[-1].detail
        for name, action in (("destroy the container", drill.destroy), ("recreate it bare", drill.recreate),
                             ("restore (restore.yml)", drill.restore),
                             (f"verify ({drill.kind.replace('_', ' ')})", drill.verify)):  # fmt: skip
            if not report.run(name, action):
                break
    return report


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "drill", help="lab drills: destroy a host and prove it comes back from its backup"
    )
    drill_sub = parser.add_subparsers(dest="drill_command", metavar="DRILL", required=True)
    p_restore = drill_sub.add_parser("restore", help="destroy HOST, recreate it bare, restore it, check it")
    p_restore.add_argument(
        "host", help="a call server, provisioning server, gateway or access switch of the lab"
    )
    add_inventory_option(p_restore, "lab inventory")
    p_restore.add_argument("--point", help="the backup point (YYYYMMDDTHHMMSSZ); default: the latest")
    p_restore.set_defaults(func=cmd_restore)


def cmd_restore(args: argparse.Namespace) -> int:
    report = restore_drill(args.host, args.inventory, args.point)
    out.print(report.table())
    return 0 if report.ok else 1
