"""The HR export of ``voipctl hr-sync``: a CSV file parsed, and every row checked.

The export is UTF-8 CSV with a header row of exactly the columns in COLUMNS
(any order); dates are YYYY-MM-DD, end_date may be empty, every other field
is required. No cell may start with ``=``, ``+``, ``-`` or ``@`` (after any
leading blanks, tabs or line breaks, which are stripped): a spreadsheet runs
such a cell as a formula (CSV injection), and no column needs one (ids and
sites start with a letter, dates with a digit; there is no phone number
column), so a name like ``-Jan`` is refused too. Every problem of the file is
reported at once, each naming the file, the line and the column; with one,
nothing is changed.

``parse_csv`` is pure and O(rows).
"""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voipctl.errors import VoipctlError
from voipctl.model.types import PATTERNS, Email, UserId, shown

COLUMNS = ("employee_id", "name", "email", "site", "start_date", "end_date")
OPTIONAL = frozenset({"end_date"})
MAX_NAME = 200  # as the model's Text
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A spreadsheet runs a cell starting with one of these as a formula (checked after strip()).
FORMULA = re.compile(r"^[=+\-@]")


class HrSyncError(VoipctlError):
    """The HR export cannot be used; nothing was changed."""

    exit_code = 1


def _format(annotated: Any) -> tuple[re.Pattern[str], str]:
    """The regular expression and description of a model string format (voipctl.model.types)."""
    pattern = next(m.pattern for m in annotated.__metadata__ if getattr(m, "pattern", None))
    return re.compile(pattern), PATTERNS[pattern]


USER_ID = _format(UserId)
EMAIL = _format(Email)


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
