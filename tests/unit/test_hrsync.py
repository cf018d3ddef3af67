"""voipctl.hrsync and `voipctl hr-sync`: an HR export reconciled with a copy of the lab directory."""

from __future__ import annotations

import csv
import datetime
import difflib
import io
import shutil
import subprocess
from pathlib import Path

import pytest

from voipctl import hrsync
from voipctl.cli import main
from voipctl.directory import Directory, plain
from voipctl.hrsync import HrRow, mass_leave, mass_leave_limit, parse_csv, reconcile
from voipctl.model.checks import validate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "hr"
EXPORT = DATA / "lab-export.csv"
TODAY = datetime.date(2026, 11, 22)
USERS = "group_vars/all/users.yml"
SWITCH = "host_vars/sw1/switch.yml"
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
CHANGED_USERS = {"evandam", "bsmit", "nrostami", "mjansen", "lmeijer", "rahmadi", "zkarimi"}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a tree, by relative path (to prove that nothing was written)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write_csv(tmp_path: Path, body: str, name: str = "hr.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path


def lab_plan(inv: Path, csv: Path = EXPORT) -> hrsync.Plan:
    directory = Directory(inv)
    rows, problems = parse_csv(csv, directory.sites)
    assert problems == []
    return reconcile(rows, plain(directory.users), TODAY)


def user_blocks(text: str) -> dict[str, str]:
    """The lines of each ``- id:`` entry of a users.yml, by id."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("  - id: "):
            current = line.split(": ", 1)[1]
            blocks[current] = []
        if current:
            blocks[current].append(line)
    return {uid: "\n".join(lines) for uid, lines in blocks.items()}


def run(inv: Path, *args: str) -> int:
    return main(["hr-sync", *args, "-i", str(inv), "--date", TODAY.isoformat()])


# -- the report --------------------------------------------------------------------------


def test_the_lab_export_reports_exactly_its_changes(inv):
    plan = lab_plan(inv)
    assert hrsync.report_rows(plan) == LAB_REPORT
    assert plan.summary() == "3 joiners, 2 leavers, 1 mover, 1 rename"
    # Not reported: kbos (already a leaver), pbakker (ends later), hvos (left long ago).
    assert not {"kbos", "pbakker", "hvos"} & {row[1] for row in hrsync.report_rows(plan)}


def test_cli_report_prints_the_table_and_writes_nothing(inv, capsys):
    before = snapshot(inv)
    assert run(inv, str(EXPORT)) == 0
    output = capsys.readouterr().out
    assert "3 joiners, 2 leavers, 1 mover, 1 rename" in output
    assert "report only, nothing written" in output
    for change, uid, *_ in LAB_REPORT:
        assert any(change in line and uid in line for line in output.splitlines()), uid
    assert snapshot(inv) == before


def test_future_joiners_and_rehires_are_reported_not_applied(inv, tmp_path, capsys):
    text = EXPORT.read_text().replace("2017-04-03,2026-09-30", "2017-04-03,")  # kbos works again per HR
    csv = write_csv(tmp_path, text + "fstart,Fay Start,fstart@example.com,thr,2026-12-01,\n", header="")
    plan = lab_plan(inv, csv)
    rows = hrsync.report_rows(plan)
    assert rows[: len(LAB_REPORT)] == LAB_REPORT
    assert rows[len(LAB_REPORT) :] == [
        ("future joiner", "fstart", "Fay Start", "thr", "starts 2026-12-01; not added yet"),
        ("conflict", "kbos", "Kees Bos", "",
         "a leaver since 2026-09-30, but working in HR (line 6); not changed: re-activate by hand"),
    ]  # fmt: skip
    assert plan.summary().endswith("(and 1 future joiner, 1 conflict, not applied)")
    assert run(inv, str(csv), "--apply") == 0
    output = capsys.readouterr().out
    assert "future joiner fstart: starts 2026-12-01; not added yet" in output
    users = {u["id"]: u for u in plain(Directory(inv).users)}
    assert "fstart" not in users and users["kbos"]["status"] == "leaver"


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


# -- --apply -------------------------------------------------------------------------------


def in_range(number: str | int, text: str) -> bool:
    low, high = text.replace("-+", "-").split("-")
    return int(low.lstrip("+")) <= int(str(number).lstrip("+")) <= int(high.lstrip("+"))


def test_apply_makes_the_changes_and_the_result_validates(inv, capsys):
    assert run(inv, str(EXPORT), "--apply") == 0, capsys.readouterr()
    directory = Directory(inv)
    users = {u["id"]: u for u in plain(directory.users)}
    sites = directory.sites
    for uid, site in (("evandam", "ams"), ("bsmit", "ams"), ("nrostami", "thr")):
        user = users[uid]
        assert (user["site"], user["class_of_service"], user["status"]) == (site, "internal", "active")
        assert in_range(user["extension"], sites[site]["extensions"])
        assert in_range(user["did"], sites[site]["dids"])
    assert users["evandam"]["email"] == "evandam@example.com"
    assert len({u["extension"] for u in users.values()}) == len(users)
    assert (users["mjansen"]["status"], users["mjansen"]["leave_date"]) == ("leaver", "2026-11-22")
    assert (users["lmeijer"]["status"], users["lmeijer"]["leave_date"]) == ("leaver", "2026-11-13")
    assert "devices" not in users["mjansen"] and "devices" not in users["lmeijer"]
    assert users["rahmadi"]["site"] == "ams" and in_range(users["rahmadi"]["extension"], "2000-2999")
    assert (users["zkarimi"]["name"], users["zkarimi"]["email"]) == (
        "Zahra Karimi-Nouri",
        "zahra.karimi@example.com",
    )
    assert validate(inv, TODAY).errors == []
    # Applied, the export and the directory agree: a second run finds nothing.
    assert lab_plan(inv).size == 0
    assert run(inv, str(EXPORT), "--apply") == 0
    assert "hr-sync: nothing to change" in capsys.readouterr().out


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    removed = [d[1:] for d in diff if d.startswith("-") and not d.startswith("---")]
    added = [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")]
    return removed, added


def test_apply_changes_only_the_intended_lines(inv):
    before = snapshot(inv)
    assert run(inv, str(EXPORT), "--apply") == 0
    after = snapshot(inv)
    assert sorted(k for k in before if before[k] != after[k]) == [USERS, SWITCH]
    old, new = before[USERS].decode(), after[USERS].decode()
    old_blocks, new_blocks = user_blocks(old), user_blocks(new)
    for uid in old_blocks.keys() - CHANGED_USERS:
        assert new_blocks[uid] == old_blocks[uid], uid
    assert list(new_blocks) == [*old_blocks, "evandam", "bsmit", "nrostami"]
    removed, added = changed_lines(old, new)
    assert removed == [
        "    grants:",
        '      - {feature: international, until: "2026-06-30", reason: "trade fair, ticket OPS-87"}',
        "    devices:",
        '      - {mac: "64:16:7f:10:20:04", model: polycom-vvx450}',
        "    status: active",
        "    devices:",
        '      - {mac: "00:1b:54:10:20:05", model: cisco-cp8841}',
        "    status: active",
        "    name: Zahra Karimi",
        "    email: zkarimi@example.com",
        "    site: thr",
        "    extension: 3004",
    ]
    assert added[:8] == [
        "    status: leaver",
        '    leave_date: "2026-11-22"',
        "    status: leaver",
        '    leave_date: "2026-11-13"',
        "    name: Zahra Karimi-Nouri",
        "    email: zahra.karimi@example.com",
        "    site: ams",
        "    extension: 2008",
    ]
    assert added[8:] == [
        line for uid in ("evandam", "bsmit", "nrostami") for line in new_blocks[uid].splitlines()
    ]
    removed, added = changed_lines(before[SWITCH].decode(), after[SWITCH].decode())
    assert [line.split(",")[0] for line in removed] == ["    - {name: Gi1/0/4", "    - {name: Gi1/0/5"]
    assert all("phone_mac" not in line for line in added) and len(added) == 2


def test_apply_reports_each_change_as_it_goes(inv):
    directory = Directory(inv)
    plan = lab_plan(inv)
    seen = []
    changes = hrsync.apply(plan, directory, TODAY, step=seen.append)
    assert seen == changes and len(changes) == plan.size == 7
    assert [c.verb for c in changes] == ["add"] * 3 + ["leave"] * 2 + ["move", "rename"]
    assert not directory.check(TODAY).errors
    assert snapshot(inv) == snapshot(ROOT / "inventory" / "lab")  # apply writes nothing


def test_dry_run_writes_nothing(inv, capsys):
    before = snapshot(inv)
    assert run(inv, str(EXPORT), "--apply", "--dry-run") == 0
    output = capsys.readouterr().out
    assert "dry run: nothing written" in output and "+  - id: evandam" in output
    assert snapshot(inv) == before


@pytest.mark.parametrize("name", ["O'Brien: Jr.", "true", "#1 Fan", "Ann [temp]", "José Ñúñez", "2026"])
def test_renames_keep_any_name_exactly(inv, tmp_path, name):
    text = EXPORT.read_text().replace("Zahra Karimi-Nouri", name)
    assert run(inv, str(write_csv(tmp_path, text, header="")), "--apply") == 0
    assert Directory(inv).user("zkarimi")["name"] == name
    assert validate(inv, TODAY).errors == []


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_commit_makes_one_commit_with_the_counts(inv, capsys):
    git(inv, "init", "-q")
    git(inv, "config", "user.email", "ops@example.com")
    git(inv, "config", "user.name", "Ops")
    git(inv, "add", ".")
    git(inv, "commit", "-qm", "baseline")
    assert run(inv, str(EXPORT), "--apply", "--commit", "--ticket", "OPS-7") == 0, capsys.readouterr()
    assert git(inv, "rev-list", "--count", "HEAD").strip() == "2"
    message = git(inv, "log", "-1", "--format=%B").splitlines()
    assert message[0] == "users: hr-sync 3 joiners, 2 leavers, 1 mover, 1 rename [OPS-7]"
    body = [line for line in message if line.startswith("- ")]
    assert body == [
        "- add evandam (ams, ext 2000, did +31201234000)",
        "- add bsmit (ams, ext 2007, did +31201234002)",
        "- add nrostami (thr, ext 3000, did +982188110000)",
        "- leave mjansen (ams, ext 2004, left 2026-11-22)",
        "- leave lmeijer (ams, ext 2005, left 2026-11-13)",
        "- move rahmadi (thr -> ams, ext 3004 -> 2008)",
        "- rename zkarimi (name Zahra Karimi -> Zahra Karimi-Nouri, "
        "email zkarimi@example.com -> zahra.karimi@example.com)",
    ]
    assert "  not in the HR export" in message and "Ticket: OPS-7" in message
    assert sorted(git(inv, "show", "--name-only", "--format=", "HEAD").split()) == [USERS, SWITCH]
    assert git(inv, "status", "--porcelain") == ""


def test_commit_without_apply_is_refused(inv, capsys):
    assert run(inv, str(EXPORT), "--commit") == 2
    assert "--commit and --ticket go with --apply" in capsys.readouterr().err


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


@pytest.mark.parametrize("apply", [False, True])
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_cli_refuses_malformed_exports_and_writes_nothing(inv, tmp_path, monkeypatch, capsys, name, apply):
    shutil.copy(DATA / name, tmp_path / "hr.csv")
    monkeypatch.chdir(tmp_path)
    before = snapshot(inv)
    assert run(inv, "hr.csv", *(["--apply", "--commit"] if apply else [])) == 1
    errors = capsys.readouterr().err
    for message in MALFORMED[name]:
        assert f"hr.csv:{message}\n" in errors
    count = len(MALFORMED[name])
    assert f"hr.csv: {count} problem{'s' if count > 1 else ''}; nothing was changed" in errors
    assert snapshot(inv) == before


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


def test_a_missing_file_is_an_error(inv, tmp_path, capsys):
    assert run(inv, str(tmp_path / "nope.csv")) == 1
    assert "cannot read the HR export" in capsys.readouterr().err


# -- formulas (CSV injection) ----------------------------------------------------------------

GOOD = {"employee_id": "a1", "name": "Ann One", "email": "a1@example.com", "site": "ams",
        "start_date": "2020-01-01", "end_date": ""}  # fmt: skip
FORMULAS = [
    ("=cmd|' /C calc'!A0", "\"=cmd|' /C calc'!A0\" starts with '='"),
    ("+1+1", "'+1+1' starts with '+'"),
    ("-2+3", "'-2+3' starts with '-'"),
    ("@SUM(1)", "'@SUM(1)' starts with '@'"),
    (" =1", "'=1' starts with '='"),  # leading blanks are stripped, then checked
    ("\t=1", "'=1' starts with '='"),
    ("\r=1", "'=1' starts with '='"),
    ('=HYPERLINK("http://x.example","y")', "'=HYPERLINK(\"http://x.example\",\"y\")' starts with '='"),
    ('=HYPERLINK("http://evil.example/a-long-path/that/goes/on/and/on","click me")',
     "'=HYPERLINK(\"http://evil.example/a-long-path/that/goes/on/and…' (76 characters) starts with '='"),
    # long cells are shortened
    ("-x@example.com", "'-x@example.com' starts with '-'"),  # matches the e-mail format: still refused
    # Fullwidth and small forms: a spreadsheet reads them as = + - (NFKC).
    ("\uff1dHYPERLINK(1)", "'\uff1dHYPERLINK(1)' starts with '\uff1d'"),
    ("\uff0b1", "'\uff0b1' starts with '\uff0b'"),
    ("\ufe631", "'\ufe631' starts with '\ufe63'"),
    ("\uff20SUM(1)", "'\uff20SUM(1)' starts with '\uff20'"),
]  # fmt: skip


def csv_of(*records: dict[str, str]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=hrsync.COLUMNS, quoting=csv.QUOTE_ALL)  # a CR too
    writer.writeheader()
    writer.writerows(records)
    return text.getvalue()


@pytest.mark.parametrize("column", hrsync.COLUMNS)
@pytest.mark.parametrize(("cell", "expected"), FORMULAS)
def test_formula_cells_are_refused_in_every_column(tmp_path, column, cell, expected):
    path = write_csv(tmp_path, csv_of({**GOOD, column: cell}), header="")
    rows, problems = parse_csv(path, SITES)
    message = f"{expected}, which a spreadsheet runs as a formula"
    assert [str(p) for p in problems] == [f"{path}:2: {column}: {message}"]  # one problem per cell
    assert rows == []


@pytest.mark.parametrize("name", ["-Jan", "+Jan", "@jan", "=Jan", " -Jan"])
def test_a_name_starting_like_a_formula_is_refused(tmp_path, name):
    """A real name never starts with these; refusing the rare one is the safe side."""
    path = write_csv(tmp_path, csv_of({**GOOD, "name": name}), header="")
    assert [p.column for p in parse_csv(path, SITES)[1]] == ["name"]


@pytest.mark.parametrize(
    "name", ["Zahra Karimi-Nouri", "Jan + Piet", "Ann (=)", "Ann @ home", "O'Brien", "'Quoted"]
)
def test_formula_characters_inside_a_value_are_fine(tmp_path, name):
    path = write_csv(tmp_path, csv_of({**GOOD, "name": name, "email": "a+tag@example.com"}), header="")
    rows, problems = parse_csv(path, SITES)
    assert problems == [] and (rows[0].name, rows[0].email) == (name, "a+tag@example.com")


def test_cli_refuses_a_formula_and_writes_nothing(inv, tmp_path, capsys):
    text = EXPORT.read_text().replace("Zahra Karimi-Nouri", '"=HYPERLINK(""http://x.example"",""y"")"')
    path = write_csv(tmp_path, text, header="")
    before = snapshot(inv)
    assert run(inv, str(path), "--apply", "--allow-mass-leave") == 1
    errors = capsys.readouterr().err
    assert f"{path}:10: name: '=HYPERLINK(" in errors and "1 problem; nothing was changed" in errors
    assert snapshot(inv) == before


# -- the mass-leave safety -------------------------------------------------------------------
# inventory/lab has 9 active users (ams 5, thr 4): the limit is 5; lab-export.csv makes 2 leavers.

LIMIT_REASON = "limit: 5, the larger of 5 and 10% of the active users"
OVERRIDE = "; check the export, or pass --allow-mass-leave"


def ending(*uids: str) -> str:
    """lab-export.csv with an end_date of 2026-11-01 for each of ``uids``: more leavers."""
    lines = EXPORT.read_text().splitlines(keepends=True)
    return "".join(
        line.replace(",\n", ",2026-11-01\n") if line.split(",")[0] in uids else line for line in lines
    )


def without_site(site: str) -> str:
    """lab-export.csv less the rows of ``site`` (a truncated export)."""
    return "".join(line for line in EXPORT.read_text().splitlines(keepends=True) if f",{site}," not in line)


def refused(monkeypatch) -> None:
    """Fail the test if hrsync gets as far as changing anything."""

    def apply(*_args, **_kwargs):
        raise AssertionError("hr-sync applied a refused plan")

    monkeypatch.setattr(hrsync, "apply", apply)


@pytest.mark.parametrize("body", ["", ",,,,,\n\n"], ids=["header-only", "blank-rows"])
@pytest.mark.parametrize("options", [[], ["--commit", "--ticket", "OPS-1"], ["--dry-run"]])
def test_an_export_without_employees_is_refused_before_any_change(
    inv, tmp_path, monkeypatch, capsys, body, options
):
    refused(monkeypatch)
    before = snapshot(inv)
    assert run(inv, str(write_csv(tmp_path, body)), "--apply", *options) == 1
    output, errors = capsys.readouterr()
    assert "on 2026-11-22: 9 leavers\n" in output  # the counts come first
    message = (
        f"hr-sync would make 9 of 9 active users leavers (the export holds no employees; {LIMIT_REASON})"
    )
    assert f"error: {message}{OVERRIDE}\n" in errors
    assert "hint: nothing was changed" in errors and "Traceback" not in errors
    assert snapshot(inv) == before


def test_an_export_without_a_site_is_refused(inv, tmp_path, monkeypatch, capsys):
    """No thr row: 3 of its users leave (rahmadi moves to ams), 5 in all, within the limit, but refused."""
    refused(monkeypatch)
    before = snapshot(inv)
    assert run(inv, str(write_csv(tmp_path, without_site("thr"), header="")), "--apply") == 1
    message = "hr-sync would make 5 of 9 active users leavers (the export holds no row for site thr, "
    assert f"error: {message}where 3 of 4 active users would leave){OVERRIDE}\n" in capsys.readouterr().err
    assert snapshot(inv) == before


def test_leavers_up_to_the_limit_are_applied(inv, tmp_path, capsys):
    csv = write_csv(tmp_path, ending("jdevries", "svisser", "ahosseini"), header="")
    assert run(inv, str(csv), "--apply") == 0, capsys.readouterr()
    output, errors = capsys.readouterr()
    assert "3 joiners, 5 leavers, 1 mover, 1 rename" in output and "warning" not in errors
    users = {u["id"]: u for u in plain(Directory(inv).users)}
    leavers = {"mjansen", "lmeijer", "jdevries", "svisser", "ahosseini"}
    assert {uid for uid, u in users.items() if u["status"] == "leaver"} == leavers | {"kbos"}
    assert validate(inv, TODAY).errors == []


def test_one_leaver_over_the_limit_is_refused(inv, tmp_path, monkeypatch, capsys):
    refused(monkeypatch)
    before = snapshot(inv)
    csv = write_csv(tmp_path, ending("jdevries", "svisser", "ahosseini", "mrezaei"), header="")
    assert run(inv, str(csv), "--apply") == 1
    message = f"hr-sync would make 6 of 9 active users leavers ({LIMIT_REASON}){OVERRIDE}"
    assert f"error: {message}\n" in capsys.readouterr().err
    assert snapshot(inv) == before


@pytest.mark.parametrize("body", ["", "WITHOUT_THR"])
def test_allow_mass_leave_applies_with_a_warning(inv, tmp_path, capsys, body):
    text = without_site("thr") if body else HEADER
    assert run(inv, str(write_csv(tmp_path, text, header="")), "--apply", "--allow-mass-leave") == 0
    errors = capsys.readouterr().err
    assert "warning: hr-sync would make" in errors and "; applied anyway (--allow-mass-leave)" in errors
    users = {u["id"]: u for u in plain(Directory(inv).users)}
    leavers = {uid for uid, u in users.items() if u["status"] == "leaver"}
    assert leavers == (
        {"mjansen", "lmeijer", "ahosseini", "mrezaei", "zkarimi", "kbos"} if body else set(users)
    )
    assert validate(inv, TODAY).errors == []


def test_the_report_warns_and_exits_0(inv, tmp_path, capsys):
    before = snapshot(inv)
    assert run(inv, str(write_csv(tmp_path, ""))) == 0
    output, errors = capsys.readouterr()
    message = (
        f"hr-sync would make 9 of 9 active users leavers (the export holds no employees; {LIMIT_REASON})"
    )
    assert f"warning: {message}{OVERRIDE}\n" in errors
    assert "9 leavers" in output and "report only, nothing written" in output
    assert snapshot(inv) == before


def test_apply_prints_the_counts_before_the_changes(inv, capsys):
    assert run(inv, str(EXPORT), "--apply") == 0
    output = capsys.readouterr().out
    summary = output.index(f"hr-sync {EXPORT} on 2026-11-22: 3 joiners, 2 leavers, 1 mover, 1 rename\n")
    assert summary < output.index("changes") < output.index("+  - id: evandam")


def active_users(count: int) -> list[dict[str, str]]:
    return [
        {"id": f"u{i:03d}", "name": f"U {i}", "email": f"u{i:03d}@example.com", "site": SITES[i % 2],
         "status": "active"}
        for i in range(count)
    ]  # fmt: skip


def rows_of(users: list[dict[str, str]]) -> list[HrRow]:
    start = datetime.date(2020, 1, 1)
    return [HrRow(i + 2, u["id"], u["name"], u["email"], u["site"], start) for i, u in enumerate(users)]


@pytest.mark.parametrize(
    ("active", "limit"), [(0, 5), (9, 5), (50, 5), (59, 5), (60, 6), (100, 10), (10_000, 1_000)]
)
def test_the_limit_is_the_larger_of_5_and_10_percent(active, limit):
    assert mass_leave_limit(active) == limit


@pytest.mark.parametrize(("leaving", "refused"), [(20, False), (21, True)])
def test_mass_leave_counts_against_ten_percent_of_a_large_directory(leaving, refused):
    users = [*active_users(200), {"id": "old", "site": "ams", "status": "leaver"}]  # not counted
    rows = rows_of(users[leaving:200])
    plan = reconcile(rows, users, TODAY)
    assert len(plan.leavers) == leaving
    expected = "hr-sync would make 21 of 200 active users leavers (limit: 20, the larger of 5 and 10% "
    assert mass_leave(plan, rows, users) == (expected + "of the active users)" if refused else None)


def test_mass_leave_ignores_plans_without_leavers():
    users = active_users(4)
    moved = [HrRow(r.line, r.employee_id, r.name, r.email, "ams", r.start_date) for r in rows_of(users)]
    plan = reconcile(moved, users, TODAY)  # thr has no row, but its users move: nobody leaves
    assert len(plan.movers) == 2 and mass_leave(plan, moved, users) is None
    assert mass_leave(reconcile([], [], TODAY), [], []) is None  # an empty export for an empty directory


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
