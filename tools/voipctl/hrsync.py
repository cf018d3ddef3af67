"""``voipctl hr-sync``: reconcile an HR export (CSV) with the user directory.

HR knows who works here, since and until when, at which site and under which
name and e-mail address; the directory (``voip_users``) knows numbers,
phones and features. ``hr-sync FILE.csv`` compares the two as on a date and
reports what differs; with ``--apply`` it makes exactly those changes with
the directory operations (voipctl.directory), through the shared flow of
``voipctl user`` (validate before writing, diff, ``--dry-run``, ``--commit``).

The export's columns and checks are in voipctl.hrsync_export
(``parse_csv``); what the report holds (joiners, future joiners, leavers,
movers, renames, conflicts) and when a plan is a mass leave, in
voipctl.hrsync_plan (``reconcile``, ``mass_leave``); here, the command and
``apply``.

A mass leave is refused (``--allow-mass-leave`` overrides it): ``--apply``
(with ``--dry-run`` too) stops before changing anything, with exit code 1,
when the plan makes leavers and looks like a broken export (no employees,
more leavers than the larger of 5 and 10% of the active users, no row for a
site where it makes leavers). The report (without ``--apply``) prints the
same warning and exits 0. With ``--apply`` the plan's counts are printed
before anything is changed.

The steps: ``parse_csv`` and ``reconcile`` are pure and O(rows + users)
(dict lookups); ``apply`` makes the plan's changes in the loaded documents
and writes nothing (``cmd_hr_sync`` validates and writes through
``apply_changes``). ``apply`` runs one directory operation per change, and
each of those scans the directory.
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML

from voipctl import directory as ops
from voipctl.console import err, out
from voipctl.directory import Change, Directory
from voipctl.errors import VoipctlError
from voipctl.hrsync_export import COLUMNS, HrRow, HrSyncError, parse_csv
from voipctl.hrsync_plan import (
    MASS_LEAVE_MIN,
    MASS_LEAVE_PERCENT,
    Plan,
    counted,
    mass_leave,
    mass_leave_limit,
    reconcile,
    report_rows,
)
from voipctl.users_cli import add_common_options, apply_changes, inventory_of, today_of

CLASS_OF_SERVICE = "internal"  # of every joiner; raise it with `voipctl user set` or a grant
OVERRIDE = "check the export, or pass --allow-mass-leave"
# A bar for --apply only when there is enough to wait for (and a terminal to draw it on).
PROGRESS_FROM = 100


# -- applying -------------------------------------------------------------------------------

_SAFE = YAML(typ="safe", pure=True)


def _yaml_text(value: str) -> str:
    """``value`` as YAML that loads back as the same string: plain if it can be, else quoted."""
    try:
        if _SAFE.load(value) == value:
            return value
    except Exception:  # ruamel raises several error types; quoting is the answer to all
        pass
    return json.dumps(value, ensure_ascii=False)


def apply(
    plan: Plan,
    directory: Directory,
    today: datetime.date,
    *,
    step: Callable[[Change], None] | None = None,
) -> list[Change]:
    """Make the plan's changes in ``directory`` (not written); the Changes, one per user and kind.

    Joiners come first, so that they never take a number a mover has just
    left. Future joiners and conflicts are not touched. ``step`` is called
    after each change (progress).
    """
    changes: list[Change] = []

    def done(change: Change) -> None:
        changes.append(change)
        if step is not None:
            step(change)

    for row in plan.joiners:
        change = ops.add(
            directory, row.employee_id, name=row.name, email=row.email, site=row.site,
            class_of_service=CLASS_OF_SERVICE, today=today,
        )  # fmt: skip
        change.details.insert(0, f"HR start_date {row.start_date}")
        done(change)
    for leaver in plan.leavers:
        change = ops.leave(directory, leaver.uid, today=today, on=leaver.on)
        change.details.insert(0, leaver.reason)
        done(change)
    for mover in plan.movers:
        done(ops.move(directory, mover.uid, site=mover.new_site, today=today))
    for rename in plan.renames:
        ops.set_values(
            directory, rename.uid, [f"{key}={_yaml_text(new)}" for key, _, new in rename.fields], today=today
        )
        done(Change("rename", rename.uid, rename.summary))
    return changes


# -- command --------------------------------------------------------------------------------

MASS_LEAVE_HELP = f"""\
safety: --apply (and --apply --dry-run) refuses a mass leave and changes
nothing (exit 1) unless --allow-mass-leave is given; a plan with leavers is
a mass leave when
  - the export holds no employees at all (a header-only file), or
  - it makes more leavers than the larger of {MASS_LEAVE_MIN} and {MASS_LEAVE_PERCENT}% (rounded down)
    of the active users, or
  - the export holds no row for a site where it makes leavers (a truncated export).
Without --apply the report prints the same warning and exits 0.
Cells starting with =, +, -, @ (spreadsheet formulas) are refused."""


def load_plan(path: Path, directory: Directory, today: datetime.date) -> tuple[Plan, str | None]:
    """Parse the export against the directory's sites and reconcile; refuse it on any problem.

    Also the mass_leave warning of the plan (None when there is none).
    """
    rows, problems = parse_csv(path, directory.sites)
    if problems:
        for problem in problems:
            err.print(str(problem), markup=False, soft_wrap=True, highlight=False)
        raise HrSyncError(f"{path}: {counted(len(problems), 'problem')}; nothing was changed")
    users = directory.users.data()
    plan = reconcile(rows, users, today)
    return plan, mass_leave(plan, rows, users)


def _warn(message: str) -> None:
    err.print(Text.assemble(("warning: ", "bold yellow"), message), soft_wrap=True)


def report_table(rows: Iterable[tuple[str, ...]], title: str) -> Table:
    """``rows`` of report_rows as a rich table (cells as plain text: names are not markup)."""
    table = Table(title=Text(title), title_justify="left")
    for column in ("change", "user", "name", "site", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _print_not_applied(plan: Plan) -> None:
    """With --apply: what the export holds but hr-sync does not change."""
    for change, uid, _name, _site, detail in report_rows(plan):
        if change in ("future joiner", "conflict"):
            out.print(Text(f"{change} {uid}: {detail}"))


def _apply_with_progress(plan: Plan, directory: Directory, today: datetime.date) -> list[Change]:
    """apply, with a progress bar on stderr for a big plan on a terminal."""
    if plan.size < PROGRESS_FROM or not err.is_terminal:
        return apply(plan, directory, today)
    columns = (TextColumn("hr-sync"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("hr-sync", total=plan.size)
        return apply(plan, directory, today, step=lambda _change: progress.advance(task))


def _report(args: argparse.Namespace) -> int:
    """hr-sync without --apply: the table, and the mass_leave warning (still exit 0: nothing is written)."""
    today = today_of(args)
    plan, warning = load_plan(args.csv, Directory(inventory_of(args)), today)
    out.print(report_table(report_rows(plan), f"hr-sync {args.csv} on {today}: {plan.summary()}"))
    if warning:
        _warn(f"{warning}; {OVERRIDE}")
    out.print("report only, nothing written" + ("; --apply makes these changes" if plan.size else ""))
    return 0


def cmd_hr_sync(args: argparse.Namespace) -> int:
    """Report (default) or apply (--apply) the differences between the export and the directory."""
    if not args.apply and (args.commit or args.ticket):
        raise VoipctlError("--commit and --ticket go with --apply (without it, hr-sync only reports)")
    if not args.apply:
        return _report(args)

    def edit(directory: Directory, today: datetime.date) -> list[Change]:
        plan, warning = load_plan(args.csv, directory, today)
        out.print(Text(f"hr-sync {args.csv} on {today}: {plan.summary()}"))
        _print_not_applied(plan)
        if warning and not args.allow_mass_leave:
            hint = "nothing was changed; --dry-run --allow-mass-leave shows what it would do"
            raise HrSyncError(f"{warning}; {OVERRIDE}", hint=hint)
        if warning:
            _warn(f"{warning}; applied anyway (--allow-mass-leave)")
        return _apply_with_progress(plan, directory, today)

    return apply_changes(args, edit, verb="hr-sync", batch="hr-sync")


def register(sub: argparse._SubParsersAction) -> None:
    """``voipctl hr-sync FILE.csv [--apply] [-i INVENTORY] [--date D] [--dry-run] [--commit] [--ticket T]``."""
    parser = sub.add_parser(
        "hr-sync",
        help="reconcile an HR export (CSV) with the user directory: report, or --apply",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog=MASS_LEAVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "csv", type=Path, metavar="FILE.csv", help=f"HR export with the columns {','.join(COLUMNS)}"
    )
    parser.add_argument(
        "--apply",
        action="store_true",
        help="make the changes (joiners, leavers, movers, renames) through the user-change flow",
    )
    parser.add_argument(
        "--allow-mass-leave",
        action="store_true",
        help="apply even a plan that looks like a broken export (see below); the warning is still printed",
    )
    add_common_options(parser, edits=True)
    parser.set_defaults(func=cmd_hr_sync)


__all__ = [
    "COLUMNS",
    "HrRow",
    "HrSyncError",
    "Plan",
    "apply",
    "cmd_hr_sync",
    "mass_leave",
    "mass_leave_limit",
    "parse_csv",
    "reconcile",
    "register",
    "report_rows",
]
