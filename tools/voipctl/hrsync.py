"""``voipctl hr-sync``: reconcile an HR export (CSV) with the user directory.

HR knows who works here, since and until when, at which site and under which
name and e-mail address; the directory (``voip_users``) knows numbers,
phones and features. ``hr-sync FILE.csv`` compares the two as on a date and
reports what differs; with ``--apply`` it makes exactly those changes with
the directory operations (voipctl.directory), through the shared flow of
``voipctl user`` (validate before writing, diff, ``--dry-run``, ``--commit``).

What the report holds (``employee_id`` is the directory's user ``id``):

* joiner: in HR, started (start_date on or before the date) and not ended,
  not in the directory; added with the next free extension and DID of the
  site and class of service ``internal``;
* future joiner: start_date after the date; reported, not added yet;
* leaver: active in the directory, but with an end_date on or before the
  date (leaves on the end_date) or absent from HR (leaves on the date);
  users already marked leaver are not reported again;
* mover: the site differs; moved with a number of the new site;
* rename: the name or e-mail address differs; set from HR;
* conflict: a leaver of the directory whom HR lists as working (a re-hire);
  reported, never changed (re-activate by hand).

The export is UTF-8 CSV with a header row of exactly the columns in COLUMNS
(any order); dates are YYYY-MM-DD, end_date may be empty, every other field
is required. No cell may start with ``=``, ``+``, ``-`` or ``@`` (after any
leading blanks, tabs or line breaks, which are stripped): a spreadsheet runs
such a cell as a formula (CSV injection), and no column needs one (ids and
sites start with a letter, dates with a digit; there is no phone number
column), so a name like ``-Jan`` is refused too. Every problem of the file is
reported at once, each naming the file, the line and the column; with one,
nothing is changed.

A mass leave is refused (``--allow-mass-leave`` overrides it): ``--apply``
(with ``--dry-run`` too) stops before changing anything, with exit code 1,
when the plan makes leavers and

* the export holds no employees at all (a header-only file), or
* it makes more leavers than the larger of 5 and 10% (rounded down) of the
  directory's active users, or
* the export holds no row for a site where it makes leavers (a truncated
  export).

The report (without ``--apply``) prints the same warning and exits 0. With
``--apply`` the plan's counts are printed before anything is changed.

The steps: ``parse_csv`` and ``reconcile`` are pure and O(rows + users)
(dict lookups); ``apply`` makes the plan's changes in the loaded documents
and writes nothing (``cmd_hr_sync`` validates and writes through
``apply_changes``). ``apply`` runs one directory operation per change, and
each of those scans the directory.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import difflib
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML

from voipctl import directory as ops
from voipctl.console import err, out
from voipctl.directory import Change, Directory
from voipctl.errors import VoipctlError
from voipctl.model.types import PATTERNS, Email, UserId, shown
from voipctl.users_cli import add_common_options, apply_changes, inventory_of, today_of

COLUMNS = ("employee_id", "name", "email", "site", "start_date", "end_date")
OPTIONAL = frozenset({"end_date"})
CLASS_OF_SERVICE = "internal"  # of every joiner; raise it with `voipctl user set` or a grant
MAX_NAME = 200  # as the model's Text
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A spreadsheet runs a cell starting with one of these as a formula (checked after strip()).
FORMULA = re.compile(r"^[=+\-@]")
# A mass leave: more leavers than the larger of these (see mass_leave); --allow-mass-leave overrides.
MASS_LEAVE_MIN = 5
MASS_LEAVE_PERCENT = 10
OVERRIDE = "check the export, or pass --allow-mass-leave"
# A bar for --apply only when there is enough to wait for (and a terminal to draw it on).
PROGRESS_FROM = 100


class HrSyncError(VoipctlError):
    """The HR export cannot be used; nothing was changed."""

    exit_code = 1


def _format(annotated: Any) -> tuple[re.Pattern[str], str]:
    """The regular expression and description of a model string format (voipctl.model.types)."""
    pattern = next(m.pattern for m in annotated.__metadata__ if getattr(m, "pattern", None))
    return re.compile(pattern), PATTERNS[pattern]


USER_ID = _format(UserId)
EMAIL = _format(Email)


# -- parsing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem of the export: ``hr.csv:4: start_date: '2026-13-01' is not a date YYYY-MM-DD``."""

    path: str
    line: int
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: "
        return where + (f"{self.column}: " if self.column else "") + self.message


@dataclass(frozen=True)
class HrRow:
    """One employee of the export, checked; ``line`` is where the record starts."""

    line: int
    employee_id: str
    name: str
    email: str
    site: str
    start_date: datetime.date
    end_date: datetime.date | None = None

    def started(self, today: datetime.date) -> bool:
        """start_date on or before ``today``."""
        return self.start_date <= today

    def ended(self, today: datetime.date) -> bool:
        """end_date on or before ``today`` (the end_date is the first day gone)."""
        return self.end_date is not None and self.end_date <= today

    def working(self, today: datetime.date) -> bool:
        """Employed on ``today``: started and not ended."""
        return self.started(today) and not self.ended(today)


def parse_csv(path: Path | str, sites: Collection[str] | None = None) -> tuple[list[HrRow], list[Problem]]:
    """The employees of an HR export and every problem found, each with its line.

    ``sites``, when given, are the known site names. Rows with problems are
    left out of the result; callers refuse the whole file if there is any
    problem. Raises HrSyncError only when the file cannot be read at all.
    """
    name = str(path)
    text, problems = _read_text(Path(path), name)
    if text is None:
        return [], problems
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[HrRow] = []
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            return [], [Problem(name, 1, f"no header row; the first line must be {','.join(COLUMNS)}")]
        index = _check_header(header, name, problems)
        _parse_records(reader, len(header), index, name, sites, rows, problems)
    except csv.Error as exc:
        problems.append(
            Problem(name, reader.line_num, f"not valid CSV: {exc}; the rest of the file was not read")
        )
    return rows, problems


def _parse_records(
    reader: Any,
    width: int,
    index: Mapping[str, int],
    name: str,
    sites: Collection[str] | None,
    rows: list[HrRow],
    problems: list[Problem],
) -> None:
    """Append the good records of ``reader`` (after the header) to ``rows``, the problems to ``problems``."""
    first_line: dict[str, int] = {}
    end = reader.line_num
    for record in reader:
        start, end = end + 1, reader.line_num  # a quoted field may span lines: name the first
        if not any(cell.strip() for cell in record):
            continue  # blank lines and spreadsheets' empty ",,,,," rows
        if len(record) != width:
            problems.append(Problem(name, start, f"{len(record)} field(s), but the header has {width}"))
            continue
        fields = {column: record[i].strip() for column, i in index.items()}
        row = _parse_row(fields, name, start, sites, problems)
        uid = fields.get("employee_id")
        if uid and uid in first_line:
            message = f"duplicate {uid!r} (first on line {first_line[uid]})"
            problems.append(Problem(name, start, message, "employee_id"))
        elif uid:
            first_line[uid] = start
            if row is not None:
                rows.append(row)


def _read_text(path: Path, name: str) -> tuple[str | None, list[Problem]]:
    """The file as text (UTF-8, a byte-order mark from spreadsheets allowed)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HrSyncError(f"{name}: cannot read the HR export: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            Problem(name, line, f"not UTF-8 text (byte {data[exc.start]:#04x}); export as UTF-8 CSV")
        ]


def _check_header(header: list[str], name: str, problems: list[Problem]) -> dict[str, int]:
    """Position of each known column; unknown, repeated and missing columns are problems."""
    index: dict[str, int] = {}
    for position, column in enumerate(header):
        if column in index:
            problems.append(Problem(name, 1, f"column {column!r} appears twice"))
        elif column in COLUMNS:
            index[column] = position
        else:
            close = difflib.get_close_matches(column.strip().lower(), COLUMNS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                Problem(name, 1, f"unknown column {column!r} ({hint}the columns are {','.join(COLUMNS)})")
            )
    for column in COLUMNS:
        if column not in index:
            problems.append(Problem(name, 1, f"missing column {column!r}"))
    return index


def _parse_row(
    fields: Mapping[str, str], name: str, line: int, sites: Collection[str] | None, problems: list[Problem]
) -> HrRow | None:
    """One record as an HrRow, or None with its problems appended (all of them)."""
    before = len(problems)

    def problem(column: str, message: str) -> None:
        problems.append(Problem(name, line, message, column))

    fields = _without_formulas(fields, problem)
    for column in COLUMNS:
        if column in fields and not fields[column] and column not in OPTIONAL:
            problem(column, "is empty; a value is required")
    uid = fields.get("employee_id", "")
    if uid and not USER_ID[0].match(uid):
        problem("employee_id", f"{uid!r} is not {USER_ID[1]}")
    full_name = fields.get("name", "")
    if len(full_name) > MAX_NAME:
        problem("name", f"is {len(full_name)} characters long; at most {MAX_NAME}")
    if CONTROL.search(full_name):
        problem("name", f"{full_name!r} contains a line break or control character")
    email = fields.get("email", "")
    if email and not EMAIL[0].match(email):
        problem("email", f"{email!r} is not {EMAIL[1]}")
    site = fields.get("site", "")
    if site and sites is not None and site not in sites:
        problem("site", f"unknown site {site!r} (sites: {', '.join(sorted(sites)) or 'none'})")
    start = _date(fields, "start_date", problem)
    end = _date(fields, "end_date", problem)
    if start and end and end < start:
        problem("end_date", f"{end.isoformat()} is before start_date {start.isoformat()}")
    if len(problems) > before or len(fields) < len(COLUMNS) or start is None:
        return None
    return HrRow(line, uid, full_name, email, site, start, end)


def _without_formulas(fields: Mapping[str, str], problem: Callable[[str, str], None]) -> dict[str, str]:
    """``fields`` less the cells a spreadsheet would run as a formula (each one reported).

    The cells are already stripped, so `` =1`` and a tab or line break before
    the ``=`` are caught too. A refused cell gets no other check (one problem
    per cell), and its row is left out (a column is missing).
    """
    kept = {}
    for column, text in fields.items():
        # Fullwidth and small variants of = + - @ (U+FF1D, U+FE62, ...) are the same formula to a spreadsheet.
        if FORMULA.match(unicodedata.normalize("NFKC", text)):
            problem(column, f"{shown(text)} starts with {text[0]!r}, which a spreadsheet runs as a formula")
        else:
            kept[column] = text
    return kept


def _date(
    fields: Mapping[str, str], column: str, problem: Callable[[str, str], None]
) -> datetime.date | None:
    """The date in ``column`` (strictly YYYY-MM-DD), None when empty or bad (reported)."""
    text = fields.get(column, "")
    if not text:
        return None
    if DATE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    problem(column, f"{text!r} is not a date YYYY-MM-DD")
    return None


# -- reconciliation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Leaver:
    """An active user to mark leaver on ``on``, and why."""

    uid: str
    name: str
    site: str
    on: datetime.date
    reason: str


@dataclass(frozen=True)
class Mover:
    """An active user whose site in HR is another one."""

    uid: str
    name: str
    old_site: str
    new_site: str


@dataclass(frozen=True)
class Rename:
    """New values of ``name`` and/or ``email``: (field, old, new) each."""

    uid: str
    name: str
    fields: tuple[tuple[str, str | None, str], ...]

    @property
    def summary(self) -> str:
        return ", ".join(f"{key} {old or '(none)'} -> {new}" for key, old, new in self.fields)


@dataclass(frozen=True)
class Conflict:
    """A difference hr-sync reports but does not resolve."""

    uid: str
    name: str
    message: str


@dataclass
class Plan:
    """What differs between HR and the directory on a date; see the module docstring."""

    joiners: list[HrRow] = field(default_factory=list)
    leavers: list[Leaver] = field(default_factory=list)
    movers: list[Mover] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)
    future_joiners: list[HrRow] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def size(self) -> int:
        """The number of changes --apply makes."""
        return len(self.joiners) + len(self.leavers) + len(self.movers) + len(self.renames)

    def summary(self) -> str:
        """``3 joiners, 2 leavers, 1 mover, 1 rename`` (then what is only reported)."""
        changes = [
            _count(len(self.joiners), "joiner"),
            _count(len(self.leavers), "leaver"),
            _count(len(self.movers), "mover"),
            _count(len(self.renames), "rename"),
        ]
        text = ", ".join(c for c in changes if c) or "no changes"
        noted = [_count(len(self.future_joiners), "future joiner"), _count(len(self.conflicts), "conflict")]
        noted = [n for n in noted if n]
        return text + (f" (and {', '.join(noted)}, not applied)" if noted else "")


def _count(number: int, noun: str) -> str:
    """``3 joiners``, ``1 joiner``; empty for none."""
    return f"{number} {noun}{'' if number == 1 else 's'}" if number else ""


def _text(value: Any) -> str | None:
    """A directory value compared as text (None stays None: an absent e-mail address)."""
    return None if value is None else str(value)


def reconcile(rows: Iterable[HrRow], users: Iterable[Mapping[str, Any]], today: datetime.date) -> Plan:
    """Compare the export with the directory's users (plain data) as on ``today``.

    One pass over each, with a dict of the rows by employee_id: O(rows + users).
    Directory changes come in directory order, joiners in the export's order.
    """
    rows = list(rows)
    by_id = {row.employee_id: row for row in rows}
    plan = Plan()
    known: set[str] = set()
    for user in users:
        if not isinstance(user, Mapping) or user.get("id") is None:
            continue  # `voipctl validate` reports these
        uid = str(user["id"])
        known.add(uid)
        _compare(plan, user, uid, by_id.get(uid), today)
    for row in rows:
        if row.employee_id in known:
            continue
        if not row.started(today):
            plan.future_joiners.append(row)
        elif not row.ended(today):
            plan.joiners.append(row)
    return plan


def _compare(plan: Plan, user: Mapping[str, Any], uid: str, row: HrRow | None, today: datetime.date) -> None:
    """Add to ``plan`` what differs between one directory user and their HR row (or its absence)."""
    name, site = str(user.get("name", "")), str(user.get("site", ""))
    if user.get("status") == "leaver":
        if row is not None and row.working(today):
            message = f"a leaver since {user.get('leave_date')}, but working in HR (line {row.line})"
            plan.conflicts.append(Conflict(uid, name, f"{message}; not changed: re-activate by hand"))
        return
    if row is None:
        plan.leavers.append(Leaver(uid, name, site, today, "not in the HR export"))
        return
    if row.ended(today):
        plan.leavers.append(Leaver(uid, name, site, row.end_date, f"HR end_date {row.end_date}"))
        return
    if row.site != site:
        plan.movers.append(Mover(uid, name, site, row.site))
    changed = tuple(
        (key, _text(user.get(key)), new)
        for key, new in (("name", row.name), ("email", row.email))
        if _text(user.get(key)) != new
    )
    if changed:
        plan.renames.append(Rename(uid, name, changed))


def report_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    """The report as (change, user, name, site, detail): the changes, then what is only noted."""
    rows = [("joiner", j.employee_id, j.name, j.site, f"started {j.start_date}") for j in plan.joiners]
    rows += [("leaver", x.uid, x.name, x.site, f"{x.reason}; leaves {x.on}") for x in plan.leavers]
    rows += [("mover", m.uid, m.name, f"{m.old_site} -> {m.new_site}", "a number there") for m in plan.movers]
    rows += [("rename", r.uid, r.name, "", r.summary) for r in plan.renames]
    rows += [
        ("future joiner", f.employee_id, f.name, f.site, f"starts {f.start_date}; not added yet")
        for f in plan.future_joiners
    ]
    rows += [("conflict", c.uid, c.name, "", c.message) for c in plan.conflicts]
    return rows


def mass_leave_limit(active: int) -> int:
    """The most leavers one run may make: the larger of 5 and 10% (rounded down) of ``active``."""
    return max(MASS_LEAVE_MIN, active * MASS_LEAVE_PERCENT // 100)


def mass_leave(plan: Plan, rows: Collection[HrRow], users: Iterable[Mapping[str, Any]]) -> str | None:
    """Why ``plan`` looks like a broken export rather than real leavers; None when it does not.

    ``hr-sync would make 42 of 50 active users leavers (limit: 5, ...)``:
    the message without what to do (the callers add it, see OVERRIDE).

    Only a plan with leavers is suspect, when the export holds no employees,
    or the leavers are more than mass_leave_limit of the active users, or
    the export holds no row for a site where there are leavers (truncated).
    """
    if not plan.leavers:
        return None
    active = Counter(  # active users by site, as reconcile sees them
        str(user.get("site", ""))
        for user in users
        if isinstance(user, Mapping) and user.get("id") is not None and user.get("status") != "leaver"
    )
    total, limit = active.total(), mass_leave_limit(active.total())
    reasons = []
    if not rows:
        reasons.append("the export holds no employees")
    if len(plan.leavers) > limit:
        share = f"the larger of {MASS_LEAVE_MIN} and {MASS_LEAVE_PERCENT}% of the active users"
        reasons.append(f"limit: {limit}, {share}")
    leaving = Counter(leaver.site for leaver in plan.leavers)
    exported = {row.site for row in rows}
    for site in sorted(leaving.keys() - exported) if rows else ():  # no rows: said above
        where = f"where {leaving[site]} of {active.get(site, 0)} active users would leave"
        reasons.append(f"the export holds no row for site {site}, {where}")
    if not reasons:
        return None
    return f"hr-sync would make {len(plan.leavers)} of {total} active users leavers ({'; '.join(reasons)})"


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
        raise HrSyncError(f"{path}: {_count(len(problems), 'problem')}; nothing was changed")
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
