"""``voipctl os-updates``: the Linux hosts' operating-system updates, batch by batch behind the health gate.

Runs ``playbooks/os_updates.yml`` under a new run id (the release's order,
gate, backup and rollback; the release manifest's components are held) and
prints what happened to each host from the run's records: updated (with the
packages and whether it rebooted), up to date, rolled back (with the step
that failed), failed, unreachable, or not reached because the run stopped.
``--check`` lists what would change on each host and changes nothing. It
exits 1 when the run did not complete.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from voipctl.adapters import playbook
from voipctl.console import err, out
from voipctl.core.stamps import stamp
from voipctl.release import OS_GROUPS, add_run_options, batches, context, load_run, outcome, outcome_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "os-updates", help="apply the Linux hosts' OS updates, batch by batch behind the health gate"
    )
    add_run_options(parser, "list what would change on each host; change nothing", "the other hosts")
    parser.add_argument(
        "--security-only",
        action="store_true",
        help="only the security updates (from the repositories voip_os_updates.security_origins names)",
    )
    parser.set_defaults(func=cmd_os_updates)


def extra_vars(run_id: str, args: argparse.Namespace) -> list[str]:
    """The playbook's arguments: only validated plain values (extra vars are templates)."""
    values: dict = {"release_run_id": run_id, "os_updates_security_only": bool(args.security_only)}
    if args.batches:
        values["release_batches"] = batches(args.batches)
    extra = ["-e", json.dumps(values)]
    if args.check:
        extra += ["--check", "--diff"]
    return extra + playbook.passthrough(args)


def cmd_os_updates(args: argparse.Namespace) -> int:
    ctx = context(args.inventory)
    run_id = stamp(datetime.now(UTC))
    what = "security updates" if args.security_only else "OS updates"
    hosts = ctx.hosts(OS_GROUPS)
    err.print(
        f"{what}: run {run_id} over {', '.join(hosts)}{' (check: nothing changes)' if args.check else ''}"
    )
    result = playbook.run(ctx.root, "playbooks/os_updates.yml", ctx.inventory_path, extra_vars(run_id, args))
    report = outcome(run_id, what, hosts, load_run(ctx.records_dir, run_id), result)
    out.print(outcome_table(report, what="os-updates:"))
    return 0 if report.completed else 1
