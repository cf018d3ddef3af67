"""``voipctl lab``: create, inspect and remove the lab estate (podman), and converge it."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from voipctl import paths
from voipctl.adapters import playbook
from voipctl.commandline import add_inventory_option
from voipctl.console import err, out
from voipctl.errors import LabError
from voiplab import lab as lab_ops
from voiplab.podman import Podman
from voiplab.readiness import all_up, status_rows
from voiplab.topology import Lab, load_lab


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lab", help="create, inspect and remove the lab estate (podman)")
    add_inventory_option(parser, "lab inventory")
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
    playbook.add_passthrough(p_conv, "extra ansible-playbook arguments after --")
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


def cmd_up(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    only = getattr(args, "hosts", None)
    err.print(f"lab up: {len(only) if only else len(lab.hosts)} hosts from {lab.inventory_path}")
    rows = lab_ops.up(lab, podman, fresh=args.fresh, only=only)
    _print_rows(rows, "lab up")
    return 0


def cmd_converge(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    down_hosts = [r["host"] for r in status_rows(lab, podman) if r["container"] != "running"]
    if down_hosts:
        raise LabError(f"lab hosts not running: {', '.join(down_hosts)}", hint="run `voipctl lab up` first")
    extra = playbook.passthrough(args)
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
    lab_ops.keep_run_log(lab.state_dir / "runs", started, args.playbook, result.output)
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


def cmd_down(args: argparse.Namespace) -> int:
    lab, podman = _context(args)
    rows = lab_ops.down(lab, podman, remove_images=args.images)
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
