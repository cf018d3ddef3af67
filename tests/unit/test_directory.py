"""voipctl.directory and `voipctl user`: round-trip edits of a copy of the lab inventory."""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

import pytest

from voipctl import directory as ops
from voipctl.cli import main
from voipctl.directory import Directory, DirectoryError

ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime.date(2026, 11, 22)
USERS = "group_vars/all/users.yml"
SWITCH = "host_vars/sw1/switch.yml"


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    import difflib

    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    removed = [d[1:] for d in diff if d.startswith("-") and not d.startswith("---")]
    added = [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")]
    return removed, added


def test_untouched_documents_render_byte_for_byte(inv):
    d = Directory(inv)
    for rel in (USERS, SWITCH, "group_vars/all/hunt_groups.yml"):
        path = inv / rel
        if path != d.users_file:
            d.doc(path)
        assert d.render(path) == path.read_text(), rel


def test_add_takes_the_next_free_numbers_and_adds_only_its_lines(inv):
    before = (inv / USERS).read_text()
    d = Directory(inv)
    change = ops.add(d, "tnew", name="Tom New", site="ams", today=TODAY, class_of_service="national",
                     devices=[("80:5E:C0:10:20:07", "yealink-t54w")])  # fmt: skip
    assert not d.check(TODAY).errors
    d.write()
    removed, added = changed_lines(before, (inv / USERS).read_text())
    assert removed == []
    assert added == [
        "  - id: tnew", "    name: Tom New", "    site: ams", "    extension: 2000",
        '    did: "+31201234000"', "    class_of_service: national", "    devices:",
        '      - {mac: "80:5e:c0:10:20:07", model: yealink-t54w}', "    status: active",
    ]  # fmt: skip
    assert change.subject == "add tnew (ams, ext 2000, did +31201234000)"


def test_leave_removes_every_reference(inv):
    d = Directory(inv)
    change = ops.leave(d, "svisser", today=TODAY)
    assert not d.check(TODAY).errors, d.check(TODAY).errors
    d.write()
    users = (inv / USERS).read_text()
    switch = (inv / SWITCH).read_text()
    assert "call_forward: {busy: 2002}" not in users
    assert "00:04:13:10:20:02" not in users and "00:04:13:10:20:02" not in switch
    assert 'leave_date: "2026-11-22"' in users
    assert any("call forward busy to 2002 removed" in line for line in change.details)


def test_move_renumbers_and_retargets_forwards(inv):
    d = Directory(inv)
    ops.move(d, "svisser", site="thr", today=TODAY)
    assert not d.check(TODAY).errors
    d.write()
    users = (inv / USERS).read_text()
    assert "call_forward: {busy: 3000}" in users
    moved = Directory(inv).user("svisser")
    assert (moved["site"], moved["extension"]) == ("thr", 3000)


def test_grant_revoke_and_prune(inv):
    d = Directory(inv)
    ops.grant(d, "svisser", "international", until=datetime.date(2026, 12, 31), reason="OPS-200", today=TODAY)
    assert d.user("svisser")["grants"][0]["feature"] == "international"
    ops.revoke(d, "svisser", "international", today=TODAY)
    assert "grants" not in d.user("svisser")
    pruned = ops.prune_grants(d, today=TODAY)
    # mjansen's grant ended on 2026-06-30; pbakker's (2027-12-31) stays.
    assert [c.user for c in pruned] == ["mjansen"]
    assert "grants" not in d.user("mjansen") and d.user("pbakker")["grants"]


def test_expiring_lists_soonest_first(inv):
    rows = ops.expiring(Directory(inv), today=TODAY, within_days=7)
    assert [(r["user"], r["days_left"]) for r in rows] == [("mjansen", -145)]
    later = ops.expiring(Directory(inv), today=TODAY, within_days=800)
    assert [r["user"] for r in later] == ["mjansen", "zkarimi", "pbakker"]


def test_purge_respects_the_grace_period(inv):
    d = Directory(inv)
    # kbos left on 2026-09-30: 53 days before TODAY.
    assert ops.purge(d, today=TODAY, grace_days=60) == []
    gone = ops.purge(d, today=TODAY, grace_days=30)
    assert [c.user for c in gone] == ["kbos"]
    assert "kbos" not in [u["id"] for u in d.users]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: ops.add(d, "jdevries", name="X", site="ams", today=TODAY), "already exists"),
        (lambda d: ops.add(d, "x", name="X", site="nowhere", today=TODAY), "unknown site 'nowhere'"),
        (lambda d: ops.leave(d, "jdevris", today=TODAY), "did you mean jdevries"),
        (lambda d: ops.leave(d, "kbos", today=TODAY), "already a leaver"),
        (lambda d: ops.move(d, "jdevries", site="ams", today=TODAY), "already at site ams"),
        (lambda d: ops.revoke(d, "jdevries", "conference", today=TODAY), "no grant or feature"),
        (
            lambda d: ops.grant(
                d,
                "jdevries",
                "international",
                until=TODAY - datetime.timedelta(days=1),
                reason="x",
                today=TODAY,
            ),
            "lies in the past",
        ),
        (lambda d: ops.set_values(d, "jdevries", ["extension=9"], today=TODAY), "cannot be set here"),
        # Issue #21: untrusted input (more in test_users_cli_input.py).
        (
            lambda d: ops.leave(d, "svisser", today=TODAY, on=TODAY + datetime.timedelta(days=1)),
            "--on 2026-11-23 lies in the future",
        ),
        (lambda d: ops.purge(d, today=TODAY, grace_days=-1), "--grace-days -1 is negative"),
        (
            lambda d: ops.set_values(d, "jdevries", ["features.call_forward.busy=03721"], today=TODAY),
            r"features\.call_forward\.busy=03721: '03721' is ambiguous",
        ),
        (lambda d: ops.set_values(d, "jdevries", ["name.first=Jan"], today=TODAY), "has no sub-keys"),
        (lambda d: ops.add(d, "x", name="A" * 201, site="ams", today=TODAY), "at most 200 characters"),
    ],
)
def test_bad_requests_are_refused(inv, call, message):
    with pytest.raises(DirectoryError, match=message):
        call(Directory(inv))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(inv) -> Path:
    git(inv, "init", "-q")
    git(inv, "config", "user.email", "ops@example.com")
    git(inv, "config", "user.name", "Ops")
    git(inv, "add", ".")
    git(inv, "commit", "-qm", "baseline")
    return inv


def test_cli_add_commits_with_a_structured_message(repo, capsys):
    code = main(["user", "add", "tnew", "--name", "Tom New", "--site", "ams", "--cos", "national",
                 "-i", str(repo), "--date", "2026-11-22", "--commit", "--ticket", "OPS-123"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    message = git(repo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "users: add tnew (ams, ext 2000, did +31201234000) [OPS-123]"
    assert "Ticket: OPS-123" in message
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [USERS]
    assert git(repo, "status", "--porcelain") == ""


def test_cli_refuses_an_invalid_result_and_writes_nothing(repo, capsys):
    before = (repo / USERS).read_text()
    # 2001 belongs to jdevries: validation names the clash, nothing is written.
    code = main(["user", "add", "dup", "--name", "Dup", "--site", "ams", "--extension", "2001",
                 "-i", str(repo), "--date", "2026-11-22", "--commit"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "extension 2001 is already used by user jdevries" in captured.err
    assert "nothing was written" in captured.err
    assert (repo / USERS).read_text() == before
    assert git(repo, "log", "--oneline").count("\n") == 1


def test_cli_commit_refuses_files_with_uncommitted_edits(repo, capsys):
    (repo / USERS).write_text((repo / USERS).read_text() + "# a hand edit\n")
    code = main(["user", "leave", "svisser", "-i", str(repo), "--date", "2026-11-22", "--commit"])
    assert code == 2
    assert "uncommitted changes" in capsys.readouterr().err
    assert 'status: leaver\n    leave_date: "2026-11-22"' not in (repo / USERS).read_text()


def test_cli_dry_run_writes_nothing(repo, capsys):
    before = (repo / USERS).read_text()
    assert main(["user", "leave", "svisser", "-i", str(repo), "--dry-run"]) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    assert (repo / USERS).read_text() == before


def test_commit_subject_of_a_batch_counts_changes_by_kind():
    from voipctl.directory import Change
    from voipctl.users_cli import commit_message, commit_subject

    changes = [Change("leave", "a"), Change("add", "b"), Change("add", "c"), Change("rename", "d")]
    assert commit_subject(changes, None, batch="hr-sync") == "users: hr-sync 2 joiners, 1 leaver, 1 rename"
    assert commit_subject(changes[:1], "OPS-9", batch="hr-sync") == "users: hr-sync 1 leaver [OPS-9]"
    # Without a batch, the subjects stay as before.
    assert commit_subject(changes, None) == "users: add/leave/rename 4 users"
    assert commit_message(changes, None, batch="hr-sync").splitlines()[2:4] == ["- leave a", "- add b"]


def _patched(before: list[str], diff: list[str]) -> list[str]:
    """``before`` with a unified diff applied (the test's own reading of the format)."""
    import re

    out, at = [], 0
    for line in diff[2:]:
        hunk = re.match(r"@@ -(\d+)(?:,(\d+))? ", line)
        if hunk:
            start, length = int(hunk[1]), int(hunk[2] if hunk[2] is not None else 1)
            upto = start - 1 if length else start
            out += before[at:upto]
            at = upto
        elif line[0] == " ":
            assert before[at] == line[1:]
            out.append(line[1:])
            at += 1
        elif line[0] == "-":
            assert before[at] == line[1:]
            at += 1
        else:
            out.append(line[1:])
    return out + before[at:]


def test_unified_diff_is_a_correct_diff_and_difflibs_own_on_distinct_lines():
    import difflib
    import random

    from voipctl.directory import unified_diff

    rng = random.Random(7)
    for _ in range(300):
        before = [f"line {rng.randrange(6)}\n" for _ in range(rng.randrange(0, 40))]
        after = list(before)
        for _ in range(rng.randrange(0, 4)):
            at = rng.randrange(len(after) + 1)
            if after and rng.random() < 0.5:
                del after[min(at, len(after) - 1)]
            else:
                after.insert(at, f"new {rng.randrange(3)}\n")
        for context in (0, 1, 3):
            diff = unified_diff("".join(before), "".join(after), "a/x", "b/x", context)
            assert _patched(before, diff) == after if diff else before == after
    # A directory's lines are mostly distinct: there the hunks are exactly difflib's.
    before = [f"user {n}\n" for n in range(2000)]
    after = [*before[:700], "joiner\n", *before[700:1500], *before[1501:]]
    expected = list(difflib.unified_diff(before, after, "a/x", "b/x"))
    assert unified_diff("".join(before), "".join(after), "a/x", "b/x") == expected


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        (
            "dids",
            "31201234000-31201234999",
            r"cannot pick a DID: voip_sites\.ams\.dids: '31201234000-31201234999'",
        ),
        ("extensions", "2999-2000", r"cannot pick an extension: voip_sites\.ams\.extensions: .*empty"),
    ],
)
def test_a_bad_site_range_is_a_clear_refusal_not_a_traceback(inv, key, text, message):
    """Before the strict range reader met `user add`, a bad range was read loosely and the validation
    reported it; the strict reader raised UserDataError past the command (a traceback)."""
    sites = inv / "group_vars" / "all" / "sites.yml"
    sites.write_text(
        re.sub(rf"(\n    {key}: )[^\n]*", lambda m: f'{m.group(1)}"{text}"', sites.read_text(), count=1)
    )
    with pytest.raises(DirectoryError, match=message):
        ops.add(Directory(inv), "tnew", name="Tom New", site="ams", today=TODAY)
