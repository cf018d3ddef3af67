"""voipctl.hrsync and `voipctl hr-sync`: an HR export reconciled with a copy of the lab directory."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest

from voipctl import hrsync
from voipctl.directory import Directory, plain
from voipctl.hrsync import HrRow, parse_csv, reconcile

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "hr"
EXPORT = DATA / "lab-export.csv"
TODAY = datetime.date(2026, 11, 22)
HEADER = "employee_id,name,email,site,start_date,end_date\n"
SITES = ("ams", "thr")

# What lab-export.csv holds relative to inventory/lab on TODAY (see tests/data/hr/README.md).
LAB_REPORT = [
    ("joiner", "evandam", "Eva van Dam", "ams", "started 2026-11-16"),
    ("joiner", "bsmit", "Bram Smit", "ams", "started 2026-11-22"),
    ("joiner", "nrostami", "Nima Rostami", "thr", "started 2026-11-01"),
    ("leaver", "mjansen", "Maria Jansen", "ams", "not in the HR export; leaves 2026-11-22"),
    ("leaver", "lmeijer", "Lotte Meijer", "ams", "HR end_date 2026-11-13; leaves 2026-11-13"),
    ("mover", "rahmadi", "Reza Ahmadi", "thr -> ams", "a number there"),
    ("rename", "zkarimi", "Zahra Karimi", "",
     "name Zahra Karimi -> Zahra Karimi-Nouri, email zkarimi@example.com -> zahra.karimi@example.com"),
]  # fmt: skip


@pytest.fixture
def inv(tmp_path) -> Path:
    copy = tmp_path / "lab"
    shutil.copytree(ROOT / "inventory" / "lab", copy)
    return copy


def write_csv(tmp_path: Path, body: str, name: str = "hr.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path


def lab_plan(inv: Path, csv: Path = EXPORT) -> hrsync.Plan:
    directory = Directory(inv)
    rows, problems = parse_csv(csv, directory.sites)
    assert problems == []
    return reconcile(rows, plain(directory.users), TODAY)


# -- the report --------------------------------------------------------------------------


def test_the_lab_export_reports_exactly_its_changes(inv):
    plan = lab_plan(inv)
    assert hrsync.report_rows(plan) == LAB_REPORT
    assert plan.summary() == "3 joiners, 2 leavers, 1 mover, 1 rename"
    # Not reported: kbos (already a leaver), pbakker (ends later), hvos (left long ago).
    assert not {"kbos", "pbakker", "hvos"} & {row[1] for row in hrsync.report_rows(plan)}


def test_boundaries_of_dates():
    """start_date on the day: a joiner; end_date on the day: gone; end_date after it: still here."""
    users = [
        {"id": "here", "name": "H", "email": "h@example.com", "site": "ams", "status": "active"},
        {"id": "gone", "name": "G", "email": "g@example.com", "site": "ams", "status": "active"},
    ]
    rows = [
        HrRow(2, "new", "N", "n@example.com", "ams", TODAY),
        HrRow(
            3, "here", "H", "h@example.com", "ams", datetime.date(2020, 1, 1), TODAY + datetime.timedelta(1)
        ),
        HrRow(4, "gone", "G", "g@example.com", "ams", datetime.date(2020, 1, 1), TODAY),
        HrRow(5, "past", "P", "p@example.com", "ams", datetime.date(2010, 1, 1), datetime.date(2011, 1, 1)),
    ]
    plan = reconcile(rows, users, TODAY)
    assert [r.employee_id for r in plan.joiners] == ["new"]
    assert [(x.uid, x.on) for x in plan.leavers] == [("gone", TODAY)]
    assert plan.movers == plan.renames == plan.future_joiners == plan.conflicts == []


# -- malformed exports ---------------------------------------------------------------------

COLUMNS_HINT = "the columns are employee_id,name,email,site,start_date,end_date"
MALFORMED = {
    "wrong-column.csv": [
        f"1: unknown column 'mail' (did you mean 'email'? {COLUMNS_HINT})",
        "1: missing column 'email'",
    ],
    "bad-date.csv": [
        "4: start_date: '2026-13-01' is not a date YYYY-MM-DD",
        "5: end_date: '30-11-2026' is not a date YYYY-MM-DD",
    ],
    "duplicate-id.csv": ["5: employee_id: duplicate 'evandam' (first on line 3)"],
    "many-problems.csv": [
        "3: name: is empty; a value is required",
        "4: site: unknown site 'rtm' (sites: ams, thr)",
        "5: end_date: 2026-10-31 is before start_date 2026-11-01",
        "6: employee_id: 'Tom Dekker' is not a user id (2-32 lower-case letters, digits, '.', '_', '-')",
        "6: email: 'tdekker(at)example.com' is not an e-mail address",
        "7: 5 field(s), but the header has 6",
    ],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_exports_report_every_problem(name):
    problems = parse_csv(DATA / name, SITES)[1]
    assert [str(p) for p in problems] == [f"{DATA / name}:{message}" for message in MALFORMED[name]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["1: no header row; the first line must be employee_id,name,email,site,start_date,end_date"]),
        (HEADER.replace("\n", ",team\n"), [f"1: unknown column 'team' ({COLUMNS_HINT})"]),
        (HEADER.replace("site,", ""), ["1: missing column 'site'"]),
        (HEADER.replace("\n", ",name\n"), ["1: column 'name' appears twice"]),
        (HEADER + ",,,,,\n\njdevries,Jan,j@example.com,ams,2020-01-01,\n", []),
        (HEADER + 'a1,"Multi\nline",m@example.com,ams,2020-01-01,\nb1,B,b@example.com,ams,2020-02-30,\n',
         ["2: name: 'Multi\\nline' contains a line break or control character",
          "4: start_date: '2020-02-30' is not a date YYYY-MM-DD"]),
        (HEADER + "a1,A,a@example.com,ams,20200101,\n", ["2: start_date: '20200101' is not a date YYYY-MM-DD"]),
        (HEADER + 'a1,"A"x,a@example.com,ams,2020-01-01,\n',
         ["2: not valid CSV: ',' expected after '\"'; the rest of the file was not read"]),
    ],
)  # fmt: skip
def test_parse_problems(tmp_path, text, expected):
    path = write_csv(tmp_path, text, header="")
    assert [str(p) for p in parse_csv(path, SITES)[1]] == [f"{path}:{e}" for e in expected]


def test_parse_accepts_a_byte_order_mark_and_any_column_order(tmp_path):
    path = tmp_path / "hr.csv"
    path.write_bytes(
        "\ufeffsite,end_date,employee_id,start_date,email,name\r\n"
        "thr,,ahosseini,2019-11-02,ahosseini@example.com, Ali Hosseini \r\n".encode()
    )
    rows, problems = parse_csv(path, SITES)
    assert problems == []
    assert rows == [
        HrRow(2, "ahosseini", "Ali Hosseini", "ahosseini@example.com", "thr", datetime.date(2019, 11, 2))
    ]


def test_parse_refuses_text_that_is_not_utf8(tmp_path):
    path = tmp_path / "hr.csv"
    path.write_bytes(HEADER.encode() + "a1,Jos\xe9,a@example.com,ams,2020-01-01,\n".encode("latin-1"))
    assert [str(p) for p in parse_csv(path)[1]] == [
        f"{path}:2: not UTF-8 text (byte 0xe9); export as UTF-8 CSV"
    ]


# -- scale ------------------------------------------------------------------------------------


def test_ten_thousand_rows_against_ten_thousand_users(tmp_path):
    """One pass with dict lookups: 10,000 x 10,000 reconciles at once (no timing asserted)."""
    users = [
        {"id": f"u{i:05d}", "name": f"User {i}", "email": f"u{i:05d}@example.com",
         "site": SITES[i % 2], "extension": 2000 + i, "status": "active"}
        for i in range(10_000)
    ]  # fmt: skip
    lines = [HEADER]
    for i, user in enumerate(users):
        kind = i % 10
        if kind == 0:
            continue  # not in HR: a leaver today
        end = "2026-11-01" if kind == 1 else ""
        site = SITES[(i + 1) % 2] if kind == 2 else user["site"]
        name = f"User {i} Renamed" if kind == 3 else user["name"]
        lines.append(f"{user['id']},{name},{user['email']},{site},2020-01-01,{end}\n")
    lines += [f"n{i:05d},New {i},n{i:05d}@example.com,ams,2026-11-01,\n" for i in range(1_000)]
    path = tmp_path / "big.csv"
    path.write_text("".join(lines))
    rows, problems = parse_csv(path, SITES)
    assert problems == [] and len(rows) == 10_000
    plan = reconcile(rows, users, TODAY)
    assert len(plan.joiners) == 1_000
    assert {x.uid for x in plan.leavers} == {u["id"] for i, u in enumerate(users) if i % 10 in (0, 1)}
    assert {x.on for x in plan.leavers} == {TODAY, datetime.date(2026, 11, 1)}
    assert [m.uid for m in plan.movers] == [u["id"] for i, u in enumerate(users) if i % 10 == 2]
    assert [r.uid for r in plan.renames] == [u["id"] for i, u in enumerate(users) if i % 10 == 3]
    assert plan.summary() == "1000 joiners, 2000 leavers, 1000 movers, 1000 renames"
