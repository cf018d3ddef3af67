"""``voipctl release apply|status``: apply the release manifest and see where the estate stands.

``apply`` runs ``playbooks/release.yml`` under a new run id and then prints
what happened to each host from the run's records (written by the role
``release_host`` on the controller) and the play recap: released, already
at the release, rolled back (with the step that failed and the backup point
it went back to), failed, unreachable, or not reached because the release
stopped before. It exits 1 when the release did not complete.

``status`` asks every host what it runs (``playbooks/versions.yml``),
compares it with the manifest (drift), shows each Linux host's OS state
(security updates waiting, a reboot needed) and lists the runs on record
(releases and OS update runs).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from voipctl import paths
from voipctl.adapters import inventory, playbook
from voipctl.commandline import add_inventory_option
from voipctl.console import err, out
from voipctl.core.stamps import stamp
from voipctl.errors import VoipctlError

RELEASE_GROUPS = ("call_servers", "provisioning_servers", "gateways", "access_switches")
# The Linux hosts an OS update run goes through, in its order.
OS_GROUPS = ("call_servers", "provisioning_servers", "backup_servers")
STATUS_GROUPS = ("call_servers", "provisioning_servers", "backup_servers", "gateways", "access_switches")


@dataclass
class Context:
    root: Path
    inventory_path: Path
    groups: dict[str, list[str]]
    manifest: dict[str, Any]
    records_dir: Path

    def hosts(self, groups: tuple[str, ...]) -> list[str]:
        found: list[str] = []
        for group in groups:
            found += [h for h in self.groups.get(group, []) if h not in found]
        return found


def context(inventory_arg: str | None) -> Context:
    root = paths.repo_root()
    inv_path = Path(inventory_arg) if inventory_arg else root / "inventory" / "lab"
    if not inv_path.is_absolute():
        inv_path = Path.cwd() / inv_path
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    inv = inventory.load(inv_path, only=("voip_release", "voip_records_dir"))
    first = next(iter(inv.hosts.values()), {})
    if not first.get("voip_release"):
        raise VoipctlError(f"{inv_path}: voip_release (the release manifest) is not set")
    if not first.get("voip_records_dir"):
        raise VoipctlError(f"{inv_path}: voip_records_dir (where run records are kept) is not set")
    return Context(root, inv_path, inv.groups, first["voip_release"], Path(first["voip_records_dir"]))


# -- records -------------------------------------------------------------------


def load_run(records_dir: Path, run_id: str) -> dict[str, dict[str, Any]]:
    """The records of one release run, by host."""
    found = {}
    for path in sorted((records_dir / "releases" / run_id).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise VoipctlError(f"unreadable release record {path}: {exc}") from exc
        found[str(record.get("host", path.stem))] = record
    return found


def history(records_dir: Path) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    base = records_dir / "releases"
    if not base.is_dir():
        return []
    return [(run.name, load_run(records_dir, run.name)) for run in sorted(base.iterdir()) if run.is_dir()]


@dataclass
class HostOutcome:
    host: str
    result: str
    change: str = ""
    point: str = ""
    detail: str = ""


@dataclass
class Outcome:
    run_id: str
    release: str
    hosts: list[HostOutcome] = field(default_factory=list)
    completed: bool = False

    @property
    def stopped_at(self) -> list[str]:
        return [
            h.host
            for h in self.hosts
            if h.result in ("rolled back", "ROLLBACK FAILED", "failed", "unreachable")
        ]


def change_text(record: dict[str, Any]) -> str:
    before, after = record.get("before") or {}, record.get("after") or {}
    parts = [
        f"{c} {before.get(c) or '-'} -> {after.get(c) or '-'}" for c in after if before.get(c) != after.get(c)
    ]
    if not parts and record.get("drift"):
        parts = [
            f"{d['component']} {d.get('installed') or '-'} (target {d['target']})" for d in record["drift"]
        ]
    if record.get("reboot") and record.get("result") == "updated":
        parts.append("rebooted: " + "; ".join(record["reboot"]))
    return ", ".join(parts)


def outcome(
    run_id: str,
    release: str,
    hosts: list[str],
    records: dict[str, dict[str, Any]],
    result: playbook.PlaybookResult,
) -> Outcome:
    """What happened to each host, from its record or else from the play recap."""
    report = Outcome(run_id, release, completed=result.ok)
    for host in hosts:
        record = records.get(host)
        recap = result.hosts.get(host, {})
        if record:
            report.hosts.append(
                HostOutcome(host, record["result"], change_text(record), record.get("backup_point") or "",
                            record.get("error") or "")
            )  # fmt: skip
        elif recap.get("unreachable"):
            report.hosts.append(
                HostOutcome(host, "unreachable", detail="no SSH answer: the release stopped here")
            )
        elif recap.get("failures"):
            report.hosts.append(
                HostOutcome(host, "failed", detail="failed without a record (see the output above)")
            )
        else:
            report.hosts.append(
                HostOutcome(host, "not reached", detail="the release stopped before this host")
            )
    return report


def outcome_table(report: Outcome, what: str = "release") -> Table:
    where = ", ".join(report.stopped_at) or "an error before any host (see the output above)"
    state = "completed" if report.completed else f"STOPPED at {where}"
    table = Table(title=f"{what} {report.release} (run {report.run_id}): {state}", title_justify="left")
    for column in ("host", "result", "change", "backup point", "detail"):
        table.add_column(column)
    for h in report.hosts:
        table.add_row(h.host, h.result, h.change, h.point, h.detail)
    return table


# -- commands ------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("release", help="apply the release manifest; versions and release history")
    rsub = parser.add_subparsers(dest="release_command", metavar="ACTION", required=True)
    p_apply = rsub.add_parser("apply", help="run playbooks/release.yml and report each host's outcome")
    add_run_options(p_apply, "show which hosts are behind and what would change", "provisioning servers")
    p_apply.set_defaults(func=cmd_apply)
    p_status = rsub.add_parser("status", help="versions per host against the manifest, and the release runs")
    add_inventory_option(p_status)
    p_status.add_argument("--format", choices=("table", "json"), default="table")
    p_status.set_defaults(func=cmd_status)


def add_run_options(parser: argparse.ArgumentParser, check_help: str, others: str) -> None:
    """The options of a run over the hosts in batches (release apply, os-updates): -i, --check,
    --batches, and ansible-playbook's own after --."""
    add_inventory_option(parser)
    parser.add_argument("--check", action="store_true", help=check_help)
    parser.add_argument(
        "--batches",
        help=f"serial batches, comma-separated (default: call servers one at a time, {others} "
        "1,100%%; a batch holding two call servers of one site is refused)",
        default="",
    )
    playbook.add_passthrough(parser, "more ansible-playbook arguments after --")


def batches(text: str) -> list[int | str]:
    found: list[int | str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part.endswith("%") and part[:-1].isdigit() and 0 < int(part[:-1]) <= 100:
            found.append(part)
        elif part.isdigit() and int(part) > 0:
            found.append(int(part))
        else:
            raise VoipctlError(f"--batches: {part!r} is neither a host count nor a percentage such as 50%")
    return found


def cmd_apply(args: argparse.Namespace) -> int:
    ctx = context(args.inventory)
    run_id = stamp(datetime.now(UTC))
    extra = ["-e", f"release_run_id={run_id}"]
    if args.batches:
        extra += ["-e", json.dumps({"release_batches": batches(args.batches)})]
    if args.check:
        extra += ["--check", "--diff"]
    extra += playbook.passthrough(args)
    release = str(ctx.manifest.get("version"))
    err.print(f"release {release}: run {run_id} over {', '.join(ctx.hosts(RELEASE_GROUPS))}")
    result = playbook.run(ctx.root, "playbooks/release.yml", ctx.inventory_path, extra)
    report = outcome(run_id, release, ctx.hosts(RELEASE_GROUPS), load_run(ctx.records_dir, run_id), result)
    out.print(outcome_table(report))
    return 0 if report.completed else 1


def read_versions(ctx: Context) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="voip-versions-") as tmp:
        result = playbook.run(
            ctx.root, "playbooks/versions.yml", ctx.inventory_path, ["-e", f"versions_dir={tmp}"], echo=False
        )
        found = {p.stem: json.loads(p.read_text()) for p in Path(tmp).glob("*.json")}
    for host in ctx.hosts(STATUS_GROUPS):
        if host not in found:
            recap = result.hosts.get(host, {})
            why = "unreachable" if recap.get("unreachable") else "failed to answer"
            found[host] = {"host": host, "installed": {}, "drift": [], "error": why}
    return found


def os_row(state: dict[str, Any]) -> tuple[str, str, str, str]:
    """The status row of a host's OS: (component, running, wanted, state)."""
    security, reasons = list(state.get("security") or []), list(state.get("reboot_reasons") or [])
    running = f"{len(security)} security / {state.get('pending', 0)} updates waiting"
    problems = []
    if security:
        problems.append(
            "SECURITY UPDATES: " + ", ".join(security[:6]) + (" ..." if len(security) > 6 else "")
        )
    if reasons:
        problems.append("REBOOT NEEDED: " + "; ".join(reasons))
    return (
        "os",
        running,
        "no security update waiting",
        f"[red]{' | '.join(problems)}[/red]" if problems else "ok",
    )


def host_rows(entry: dict[str, Any], components: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """A host's rows of the status table: each component against the manifest, then its OS."""
    if entry.get("error"):
        return [("-", "-", "-", f"[red]{entry['error']}[/red]")]
    rows = []
    drifting = {d["component"]: d for d in entry.get("drift", [])}
    for component, have in entry.get("installed", {}).items():
        want = drifting[component]["target"] if component in drifting else components.get(component, "")
        if component == "ios":
            want = drifting["ios"]["target"] if "ios" in drifting else have
        state = "[red]DRIFT[/red]" if component in drifting else "ok"
        rows.append((component, str(have or "-"), str(want or "-"), state))
    if "os" in entry:
        rows.append(os_row(entry["os"]))
    return rows


def cmd_status(args: argparse.Namespace) -> int:
    ctx = context(args.inventory)
    versions = read_versions(ctx)
    runs = history(ctx.records_dir)
    if args.format == "json":
        out.print_json(
            data={
                "release": ctx.manifest,
                "hosts": [versions[h] for h in ctx.hosts(STATUS_GROUPS)],
                "runs": [{"run": run, "hosts": records} for run, records in runs],
            }
        )
        return 0
    components = ctx.manifest.get("components") or {}
    table = Table(
        title=f"release {ctx.manifest.get('version')} ({ctx.manifest.get('name', '')})", title_justify="left"
    )
    for column in ("host", "component", "running", "manifest", "state"):
        table.add_column(column)
    for host in ctx.hosts(STATUS_GROUPS):
        for row in host_rows(versions[host], components):
            table.add_row(host, *row)
    out.print(table)
    runs_table = Table(title="release runs on record", title_justify="left")
    for column in ("run", "release", "hosts"):
        runs_table.add_column(column)
    for run, records in runs:
        release = next((r.get("release", "") for r in records.values()), "")
        summary = ", ".join(f"{h} {r.get('result')}" for h, r in sorted(records.items()))
        runs_table.add_row(run, str(release), summary)
    out.print(runs_table)
    return 0
