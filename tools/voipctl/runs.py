"""``voipctl apply PLAYBOOK`` and ``voipctl runs``: every apply leaves a run record.

``apply`` runs a playbook through ansible-runner and writes a record to
``<voip_records_dir>/runs/<id>.json``: the estate's commit (and whether the
work tree was dirty), the actor, the ticket, start and end, the exit status,
per-host ok/changed/failed/unreachable/skipped counts and the names of the
tasks that changed something. Only names and counts are kept - never task
arguments or results - so no secret can reach a record. ``runs`` lists the
records; with ``voipctl changelog`` they answer who changed what, when, and
whether it was applied. ARA, when installed, can be added as a callback
(``ANSIBLE_CALLBACK_PLUGINS``) for the full task-level history.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from voipctl import paths
from voipctl.adapters import inventory
from voipctl.adapters.playbook import strategy_environment
from voipctl.commandline import add_inventory_option
from voipctl.console import err, out
from voipctl.core.stamps import stamp_us
from voipctl.errors import VoipctlError

TICKET = re.compile(r"^[A-Z][A-Z0-9]+-[0-9]+$")
STATS = ("ok", "changed", "failures", "dark", "skipped")


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def commit_info(root: Path) -> dict[str, Any]:
    """The checkout's commit, whether it has uncommitted changes, and the commit's ticket trailer."""
    commit = git(root, "rev-parse", "HEAD")
    ticket = git(root, "log", "-1", "--format=%(trailers:key=Ticket,valueonly)") if commit else ""
    return {
        "commit": commit or None,
        "dirty": bool(git(root, "status", "--porcelain", "--untracked-files=no")) if commit else None,
        "commit_ticket": ticket.splitlines()[0].strip() if ticket else None,
    }


def actor() -> str:
    for name in ("VOIP_ACTOR", "GITLAB_USER_LOGIN", "GITHUB_ACTOR"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def summarise(
    events: list[dict[str, Any]], stats: dict[str, Any] | None
) -> tuple[dict, list[dict[str, str]]]:
    """Per-host counts (from the runner's stats) and the changed tasks (from its events), names only."""
    hosts: dict[str, dict[str, int]] = {}
    for key in STATS:
        for host, count in ((stats or {}).get(key) or {}).items():
            row = hosts.setdefault(host, {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 0})
            row[{"failures": "failed", "dark": "unreachable"}.get(key, key)] = int(count)
    changed = []
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_ok" and (data.get("res") or {}).get("changed"):
            entry = {"host": str(data.get("host")), "task": str(data.get("task"))}
            if entry not in changed:
                changed.append(entry)
    return hosts, changed


def records_dir(inventory_path: Path) -> Path:
    inv = inventory.load(inventory_path, only=("voip_records_dir",))
    value = next((h.get("voip_records_dir") for h in inv.hosts.values() if h.get("voip_records_dir")), None)
    if not value:
        raise VoipctlError(f"{inventory_path}: voip_records_dir (where run records are kept) is not set")
    return Path(value).resolve()


def write_record(directory: Path, record: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['id']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.chmod(tmp, 0o640)
    tmp.replace(path)
    return path


def run_playbook(root: Path, playbook: str, inventory_path: Path, check: bool, extra: list[str]) -> Any:
    import ansible_runner

    cmdline = " ".join([*(["--check", "--diff"] if check else []), *extra])
    env = {
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    # The strategy every playbook voipctl runs gets: mitogen's unless ANSIBLE_STRATEGY says otherwise.
    strategy = strategy_environment(dict(os.environ))
    env.update({k: v for k, v in strategy.items() if k.startswith("ANSIBLE_STRATEGY")})
    private = root / ".lab" / "runner" if (root / ".lab").is_dir() else Path.home() / ".voipctl-runner"
    private.mkdir(parents=True, exist_ok=True)
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(root),
        playbook=str((root / playbook).resolve()),
        inventory=str(inventory_path),
        cmdline=cmdline or None,
        envvars=env,
        quiet=False,
        suppress_env_files=True,
        artifact_dir=str(private / "artifacts"),
        rotate_artifacts=5,
    )


def register(sub: argparse._SubParsersAction) -> None:
    p_apply = sub.add_parser("apply", help="run a playbook (ansible-runner) and leave a run record")
    p_apply.add_argument("playbook", help="the playbook, e.g. playbooks/users.yml")
    add_inventory_option(p_apply)
    p_apply.add_argument("--check", action="store_true", help="check mode with diff (recorded as such)")
    p_apply.add_argument("--ticket", help="the change's ticket (default: the commit's Ticket: trailer)")
    p_apply.add_argument("-l", "--limit", help="limit to these hosts or groups (ansible-playbook --limit)")
    p_apply.set_defaults(func=cmd_apply)
    p_runs = sub.add_parser("runs", help="the run records: who applied what, when, from which commit")
    add_inventory_option(p_runs)
    p_runs.add_argument("--limit", type=int, default=20, help="the newest N records (default 20)")
    p_runs.add_argument("--format", choices=("table", "json"), default="table")
    p_runs.set_defaults(func=cmd_runs)


def _inventory(arg: str | None, root: Path) -> Path:
    path = Path(arg).resolve() if arg else root / "inventory" / "lab"
    if not path.exists():
        raise VoipctlError(f"inventory {path} does not exist")
    return path


def cmd_apply(args: argparse.Namespace) -> int:
    root = paths.repo_root()
    if not (root / args.playbook).is_file():
        raise VoipctlError(f"playbook {args.playbook} not found under {root}")
    if args.ticket and not TICKET.match(args.ticket):
        raise VoipctlError(f"--ticket {args.ticket!r} is not a ticket such as OPS-123")
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    inv = _inventory(args.inventory, root)
    directory = records_dir(inv) / "runs"
    info = commit_info(root)
    started = datetime.now(UTC)
    runner = run_playbook(root, args.playbook, inv, args.check, ["--limit", args.limit] if args.limit else [])
    finished = datetime.now(UTC)
    hosts, changed = summarise(list(runner.events), runner.stats)
    record = {
        "id": stamp_us(started),
        "playbook": args.playbook,
        "inventory": str(inv.relative_to(root)) if inv.is_relative_to(root) else str(inv),
        "check": args.check,
        "limit": args.limit,
        **info,
        "ticket": args.ticket or info["commit_ticket"],
        "actor": actor(),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "status": runner.status,
        "rc": runner.rc,
        "hosts": hosts,
        "changed_tasks": changed,
    }
    path = write_record(directory, record)
    totals = {k: sum(h[k] for h in hosts.values()) for k in ("ok", "changed", "failed", "unreachable")}
    err.print(
        f"apply {args.playbook}: {runner.status} (rc {runner.rc}), "
        + ", ".join(f"{k}={v}" for k, v in totals.items())
        + f"; record {path}"
    )
    return 0 if runner.rc == 0 else 1


def load_records(directory: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise VoipctlError(f"unreadable run record {path}: {exc}") from exc
    return found


def cmd_runs(args: argparse.Namespace) -> int:
    root = paths.repo_root()
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    records = load_records(records_dir(_inventory(args.inventory, root)) / "runs")[-args.limit :]
    if args.format == "json":
        out.print_json(data=records)
        return 0
    table = Table(title=f"run records (newest {len(records)})", title_justify="left")
    for column in ("started", "playbook", "mode", "commit", "actor", "ticket", "status", "changed"):
        table.add_column(column)
    for r in records:
        commit = (r.get("commit") or "-")[:10] + ("+dirty" if r.get("dirty") else "")
        changed = sum(h.get("changed", 0) for h in (r.get("hosts") or {}).values())
        table.add_row(r["started"], r["playbook"], "check" if r.get("check") else "apply", commit,
                      r.get("actor") or "-", r.get("ticket") or "-", str(r.get("status")), str(changed))  # fmt: skip
    out.print(table)
    return 0
