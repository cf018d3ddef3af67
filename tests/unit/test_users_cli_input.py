"""`voipctl user ...` with untrusted input (issue #21): a clear error, nothing changed, no traceback.

Each case runs the CLI on a copy of the lab inventory and checks the exit
code, the message and that every file of the inventory is byte-identical
afterwards (or, for the values that are legitimate text, that they are
written so that Ansible's YAML reads them back as the same text).
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
import yaml

from voipctl import directory as ops
from voipctl.cli import main
from voipctl.directory import Directory, DirectoryError

ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime.date(2026, 11, 22)
DAY = ["--date", "2026-11-22"]
USERS = "group_vars/all/users.yml"
SWITCH = "host_vars/sw1/switch.yml"
HUNT_GROUPS = "group_vars/all/hunt_groups.yml"


@pytest.fixture
def cli(inv, capsys):
    """Run ``voipctl ARGS -i inv``: (exit code, stdout, stderr); argparse's exits become codes."""

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([*args, "-i", str(inv)])
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        return code, captured.out, captured.err

    return run


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a tree, by relative path (to prove that nothing was written)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(cli, inv, args: list[str], code: int, fragments: list[str]) -> str:
    """Run a command that must fail: its exit code, the fragments in stderr, every file unchanged."""
    before = snapshot(inv)
    got, _out, err = cli(*args)
    assert got == code, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert snapshot(inv) == before
    return err


def user_entry(inv: Path, uid: str) -> dict:
    """A user as Ansible reads the written file (PyYAML's safe loader)."""
    users = yaml.safe_load((inv / USERS).read_text())["voip_users"]
    return next(u for u in users if u["id"] == uid)


# -- 1. values in the estate's YAML dialect ------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "fragments"),
    [
        ("features.call_forward.busy=03721", ["features.call_forward.busy=03721: ", "2001", "3721"]),
        ("features.call_forward.busy=0777", ["features.call_forward.busy=0777: ", "octal (511)", "777"]),
        ("features.call_forward={busy: 03721}", ["features.call_forward={busy: 03721}: ", "2001"]),
        ("features.dnd=yes", ["features.dnd=yes: ", "ambiguous", "true"]),
        ("features.dnd=No", ["features.dnd=No: ", "ambiguous", "false"]),
        ("features.dnd=on", ["features.dnd=on: ", "true"]),
        ("features.dnd=OFF", ["features.dnd=OFF: ", "false"]),
        ("features.call_forward.no_answer_timeout=1:20", ["no_answer_timeout=1:20: ", "base-60", "80"]),
        ("features.call_forward.no_answer_timeout=2_0", ["no_answer_timeout=2_0: ", "20"]),
        ("features.call_forward={busy: 2002, busy: 2003}", ["duplicate key 'busy'"]),
    ],
)
def test_set_refuses_values_yaml_versions_read_differently(cli, inv, assignment, fragments):
    refused(cli, inv, ["user", "set", "jdevries", assignment, *DAY], 2, ["error: ", *fragments])


def test_set_writes_a_features_value_as_ansible_reads_it(cli, inv):
    code, out, err = cli(
        "user", "set", "jdevries", "features.call_forward.busy=2003", "features.dnd=true", *DAY
    )
    assert code == 0, err
    assert "features.call_forward.busy = 2003" in out
    features = user_entry(inv, "jdevries")["features"]
    assert features["call_forward"] == {"busy": 2003}
    assert features["dnd"] is True


def test_text_keys_take_their_value_as_text(cli, inv):
    # A DID read as YAML would be the number 31201234099: as text it keeps its '+'.
    code, out, err = cli(
        "user", "set", "jdevries", "did=+31201234099", "class_of_service=international", *DAY
    )
    assert code == 0, err
    assert "did = +31201234099" in out
    entry = user_entry(inv, "jdevries")
    assert (entry["did"], entry["class_of_service"]) == ("+31201234099", "international")
    assert '    did: "+31201234099"\n' in (inv / USERS).read_text()


@pytest.mark.parametrize(
    "name", ["Yes", "No", "On", "off", "0123", "1:20", "null", "~", "1_000", "2026-12-31", "1e3", "true"]
)
@pytest.mark.parametrize("how", ["set", "add"])
def test_ambiguous_text_is_written_quoted_and_stays_text(cli, inv, name, how):
    if how == "set":
        code, _out, err = cli("user", "set", "jdevries", f"name={name}", *DAY)
        uid = "jdevries"
    else:
        code, _out, err = cli("user", "add", "tnew", "--name", name, "--site", "ams", *DAY)
        uid = "tnew"
    assert code == 0, err
    assert user_entry(inv, uid)["name"] == name
    assert f'    name: "{name}"\n' in (inv / USERS).read_text()


def test_a_quoted_value_of_a_text_key_is_one_yaml_string(cli, inv):
    code, _out, err = cli("user", "set", "jdevries", 'name="Yes"', "email='jan@example.com'", *DAY)
    assert code == 0, err
    entry = user_entry(inv, "jdevries")
    assert (entry["name"], entry["email"]) == ("Yes", "jan@example.com")
    for value in ("'Jan", '"Jan" de Vries', "'a' 'b'"):
        refused(cli, inv, ["user", "set", "jdevries", f"name={value}", *DAY], 2,
                [f"name={value}: a value starting with a quote must be one quoted string"])  # fmt: skip


def test_plain_text_stays_plain():
    for text in ("Jan de Vries", "jdevries@example.com", "yealink-t54w", "O'Brien", "José Ñúñez", "Zoë 2"):
        assert type(ops.text_value(text)) is str, text
    for text in ("Yes", "0123", "1:20", "null", "~", "@x", "a: b", "x #y", "Jan ", "-x", "[/]", "'x", "_x"):
        assert type(ops.text_value(text)) is not str, text


@pytest.mark.parametrize("value", ["Yes", "off", "On", "1:20"])
def test_an_entry_that_would_read_back_differently_is_refused(inv, value):
    # A value put into the node unquoted, past text_value: the read-back check catches it.
    d = Directory(inv)
    d.user("jdevries")["name"] = value
    d.touch(d.users_file)
    with pytest.raises(DirectoryError, match=r"^users\.yml: user 'jdevries': ") as caught:
        d.write()
    assert f"the entry as written is refused: '{value}' is ambiguous" in str(caught.value)
    assert str(caught.value).endswith("; nothing was written")
    assert (inv / USERS).read_bytes() == (ROOT / "inventory" / "lab" / USERS).read_bytes()


@pytest.mark.parametrize(
    ("block", "meant", "message"),
    [
        ("  - id: x\n    name: 2\n", "2", "name would be written as '2' but read back by Ansible as 2"),
        ("  - id: x\n    name: true\n", 1, "name would be written as 1 but read back by Ansible as True"),
        ("  - id: x\n", "Jan", "name would be written as 'Jan' but read back by Ansible as (absent)"),
        ("  - id: x\n    name: [a]\n", ["a", "b"], "name would be written as ['a', 'b'] but read back by"),
    ],
)
def test_the_read_back_check_names_the_first_difference(block, meant, message):
    from ruamel.yaml.comments import CommentedMap

    from voipctl.directory_yaml import check_reads_back as _check_reads_back

    node = CommentedMap(id="x", name=meant)
    with pytest.raises(DirectoryError) as caught:
        _check_reads_back(block, node, "users.yml")
    assert str(caught.value).startswith(f"users.yml: user 'x': {message}")
    assert str(caught.value).endswith("; nothing was written")


def test_a_nested_value_that_would_read_back_differently_is_refused(inv):
    d = Directory(inv)
    d.user("jdevries")["features"]["call_forward"]["busy"] = "yes"
    d.touch(d.users_file)
    with pytest.raises(DirectoryError, match="the entry as written is refused: 'yes' is ambiguous"):
        d.check(TODAY)


def test_an_ambiguous_scalar_already_in_the_file_is_reported_with_its_line(cli, inv):
    path = inv / USERS
    path.write_text(path.read_text().replace("call_forward: {busy: 2002}", "call_forward: {busy: 02002}"))
    refused(cli, inv, ["user", "set", "svisser", "name=S Visser", *DAY], 2, ["users.yml:14: ", "'02002'"])


# -- 2. values that are not YAML, templates and control characters ---------------------------


@pytest.mark.parametrize(
    "name",
    ["{{ lookup('pipe','id') }}", "{% if x %}", "a{#b", "Jan\nde Vries", "tab\there", "nul\x00", "c1\x85"],
)
def test_text_with_templates_or_control_characters_is_refused_by_validation(cli, inv, name):
    refused(cli, inv, ["user", "set", "jdevries", f"name={name}", *DAY], 1,
            ["voip_users[0].name: ", "is not plain text", "nothing was written"])  # fmt: skip
    refused(cli, inv, ["user", "add", "tnew", "--name", name, "--site", "ams", *DAY], 1,
            ["is not plain text", "nothing was written"])  # fmt: skip
    refused(cli, inv, ["user", "grant", "svisser", "conference", "--until", "2026-12-31", "--reason", name, *DAY],
            1, [".grants[0].reason: ", "is not plain text", "nothing was written"])  # fmt: skip


@pytest.mark.parametrize(
    "name", ["@x", "&a", "*a", "!x", "|", ">", "[unclosed", "{x", "a: b", "x #y", "[/]", "%x"]
)
def test_text_that_is_not_plain_yaml_is_stored_quoted(cli, inv, name):
    code, out, err = cli("user", "set", "jdevries", f"name={name}", *DAY)
    assert code == 0, err
    assert f"name = {name}" in out  # printed as text, not as rich markup
    assert user_entry(inv, "jdevries")["name"] == name


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("@x", ["features.dnd=@x: not a YAML value", "cannot start any token"]),
        ("[unclosed", ["features.dnd=[unclosed: not a YAML value"]),
        ("*a", ["features.dnd=*a: not a YAML value (found undefined alias)"]),
        ("!x", ["features.dnd=!x: not a YAML value", "'!x'"]),
        ("{{ x }}", ["features.dnd={{ x }}: "]),
        ("a\n---\nb", ["features.dnd='a\\n---\\nb': not a YAML value", "single document"]),
        ("$ANSIBLE_VAULT;1.1;AES256", ["is not a plain value"]),
    ],
)
def test_a_features_value_that_is_not_yaml_is_refused(cli, inv, value, fragments):
    refused(cli, inv, ["user", "set", "jdevries", f"features.dnd={value}", *DAY], 2, fragments)


@pytest.mark.parametrize(
    ("assignment", "fragment"),
    [
        ("[/]=1", "'[/]' is not a key such as name"),
        ("features..dnd=1", "'features..dnd' is not a key"),
        ("name.first=Jan", "name is text and has no sub-keys: 'name.first'"),
        ("extension=9", "'extension' cannot be set here"),
        ("name", "'name' is not KEY=VALUE"),
    ],
)
def test_bad_keys_are_refused(cli, inv, assignment, fragment):
    refused(cli, inv, ["user", "set", "jdevries", assignment, *DAY], 2, [fragment])


def test_markup_in_values_prints_as_written(cli, inv):
    refused(cli, inv, ["user", "leave", "[/]", *DAY], 2, ["error: no user '[/]' in group_vars/all/users.yml"])
    refused(cli, inv, ["user", "revoke", "jdevries", "[bold]x[/bold]", *DAY], 2,
            ["has no grant or feature '[bold]x[/bold]'"])  # fmt: skip
    assert cli("user", "set", "jdevries", "name=[/] [bold]x", *DAY)[0] == 0
    for args in (["user", "list"], ["user", "show", "jdevries"]):
        code, out, err = cli(*args, *DAY)
        assert code == 0, err
        assert "[/] [bold]x" in out


def test_text_that_is_not_utf8_is_refused(cli, inv):
    # Bytes of the command line that are not UTF-8 arrive as lone surrogates.
    refused(cli, inv, ["user", "set", "jdevries", "name=Jan\udcff", *DAY], 2,
            ["name 'Jan\\udcff' is not valid UTF-8 text"])  # fmt: skip
    refused(cli, inv, ["user", "add", "tnew", "--name", "x\udcff", "--site", "ams", *DAY], 2,
            ["not valid UTF-8 text"])  # fmt: skip


# -- 3. huge values: bounded messages (no quadratic work: see make bench) ---------------------------------------


@pytest.mark.parametrize("how", ["add", "set"])
def test_a_50_mb_name_is_refused_quickly_without_echoing_it(cli, inv, how):
    name = "A" * 50_000_000
    args = (
        ["user", "add", "tnew", "--name", name, "--site", "ams"]
        if how == "add"
        else ["user", "set", "jdevries", f"name={name}"]
    )
    err = refused(
        cli, inv, [*args, *DAY], 2, ["name 'AAAA", "…' (50000000 characters) is too long: at most 200"]
    )
    assert len(err) < 500


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["user", "leave", "u" * 1_000_000], 2, "no user 'uuuu"),
        (["user", "set", "jdevries", "features.dnd=" + "x" * 100_000], 2, "at most 1000 characters"),
        (["user", "set", "jdevries", "email=" + "e" * 100_000], 2, "at most 254 characters"),
        (["user", "grant", "jdevries", "international", "--until", "2026-12-31", "--reason", "r" * 100_000], 2,
         "reason 'rrrr"),
        (["user", "add", "tnew", "--name", "N", "--site", "s" * 100_000], 2, "site 'ssss"),
        (["user", "add", "tnew", "--name", "N", "--site", "ams", "--device", "d" * 100_000], 2, "is not MAC:MODEL"),
        (["user", "add", "tnew", "--name", "N", "--site", "ams", "--extension", "9" * 100_000], 2,
         "is not an extension"),
        (["user", "leave", "jdevries", "--ticket", "T" * 100_000], 2, "is not a ticket id"),
        (["grants", "--expiring", "7" * 100_000], 2, "is not a number of days"),
    ],
)  # fmt: skip
def test_long_arguments_are_echoed_cut_short(cli, inv, args, code, fragment):
    err = refused(cli, inv, [*args, *DAY], code, [fragment, "characters)"])
    assert max(len(line) for line in err.splitlines()) < 400


def test_summaries_cut_long_values(inv):
    d = Directory(inv)
    name = "B" * 150
    change = ops.set_values(d, "jdevries", [f"name={name}"], today=TODAY)
    assert change.summary == f"name = {'B' * 60}… (150 characters)"
    assert not d.check(TODAY).errors
    d.write()
    assert user_entry(inv, "jdevries")["name"] == name


def test_bounded_cuts_long_lines_only():
    from voipctl.users_cli import bounded

    assert bounded("short\nlines") == "short\nlines"
    assert bounded("a\n" + "x" * 5000 + "\nb", 100) == "a\n" + "x" * 100 + "… (5000 characters)\nb"


# -- 4. a leave takes effect when it is applied ------------------------------------------------


@pytest.mark.parametrize("on", ["2026-11-23", "2027-01-31", "2099-12-31"])
def test_leave_refuses_a_date_in_the_future(cli, inv, on):
    refused(cli, inv, ["user", "leave", "svisser", "--on", on, *DAY], 2,
            [f"--on {on} lies in the future", "a leave takes effect when it is applied", "run it on that day"])  # fmt: skip


@pytest.mark.parametrize("on", ["2026-11-22", "2026-11-01", "2025-01-31"])
def test_leave_takes_today_or_a_past_date(cli, inv, on):
    code, _out, err = cli("user", "leave", "svisser", "--on", on, *DAY)
    assert code == 0, err
    entry = user_entry(inv, "svisser")
    assert (entry["status"], entry["leave_date"]) == ("leaver", on)


def test_leave_on_a_future_date_works_on_that_day(inv):
    d = Directory(inv)
    with pytest.raises(DirectoryError, match="lies in the future"):
        ops.leave(d, "svisser", today=TODAY, on=TODAY + datetime.timedelta(days=1))
    change = ops.leave(
        d, "svisser", today=TODAY + datetime.timedelta(days=1), on=TODAY + datetime.timedelta(days=1)
    )
    assert change.summary.endswith("left 2026-11-23")


# -- 5. the purge's quarantine --------------------------------------------------------------


@pytest.mark.parametrize("days", ["-1", "-30", "-1d", "-007"])
def test_purge_refuses_negative_grace_days(cli, inv, days):
    refused(cli, inv, ["user", "purge", f"--grace-days={days}", *DAY], 2,
            ["argument --grace-days: ", "is negative", "quarantine", "give 0 or more"])  # fmt: skip
    if not days.endswith("d"):  # argparse takes "-1d" for an option
        refused(cli, inv, ["user", "purge", "--grace-days", days, *DAY], 2, ["is negative"])


@pytest.mark.parametrize("days", ["x", "1.5", "٣", "1_0", "", "-0", "- 1"])
def test_purge_refuses_what_is_not_a_number_of_days(cli, inv, days):
    refused(
        cli, inv, ["user", "purge", f"--grace-days={days}", *DAY], 2, ["is not a number of days such as 7d"]
    )


def test_purge_api_refuses_negative_grace_days(inv):
    d = Directory(inv)
    with pytest.raises(DirectoryError, match="--grace-days -1 is negative"):
        ops.purge(d, today=TODAY, grace_days=-1)
    with pytest.raises(DirectoryError, match="is not a whole number of days"):
        ops.purge(d, today=TODAY, grace_days=True)
    # 0 days: every leaver whose day has passed; kbos left on 2026-09-30.
    assert [c.user for c in ops.purge(d, today=TODAY, grace_days=0)] == ["kbos"]


@pytest.mark.parametrize("policy", ["-5", "'90'", "true", "[]"])
def test_purge_refuses_a_bad_grace_period_in_the_policy(cli, inv, policy):
    (inv / "group_vars" / "all" / "directory_policy.yml").write_text(
        f"voip_directory_policy:\n  leaver_grace_days: {policy}\n"
    )
    refused(cli, inv, ["user", "purge", *DAY], 2,
            ["voip_directory_policy.leaver_grace_days", "is not a number of days, 0 or more"])  # fmt: skip


# -- 6. line endings --------------------------------------------------------------------------


def to_crlf(inv: Path, *files: str) -> None:
    for rel in files:
        path = inv / rel
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


@pytest.mark.parametrize(
    "args",
    [
        ["user", "add", "tnew", "--name", "Tom New", "--site", "ams"],
        ["user", "leave", "svisser"],
        ["user", "move", "svisser", "--site", "thr"],
        ["user", "set", "jdevries", "name=Yes", "features.dnd=true"],
        ["user", "grant", "svisser", "international", "--until", "2026-12-31", "--reason", "OPS-1"],
        ["user", "purge", "--grace-days", "30"],
    ],
)
def test_a_crlf_inventory_stays_crlf(cli, inv, tmp_path, args):
    lf = tmp_path / "lf"
    shutil.copytree(inv, lf)
    assert main([*args, "-i", str(lf), *DAY]) == 0
    to_crlf(inv, USERS, SWITCH, HUNT_GROUPS)
    before = snapshot(inv)
    code, _out, err = cli(*args, *DAY)
    assert code == 0, err
    after = snapshot(inv)
    assert after != before
    for rel, data in after.items():
        if rel in (USERS, SWITCH, HUNT_GROUPS):
            # The same edit as in the LF copy, in CRLF.
            assert data == (lf / rel).read_bytes().replace(b"\n", b"\r\n"), rel
        else:
            assert data == before[rel], rel


def test_a_file_mixing_line_endings_is_refused_when_it_would_be_written(cli, inv):
    path = inv / USERS
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\r\n".join(lines[:10]) + b"\r\n" + b"\n".join(lines[10:]))
    refused(cli, inv, ["user", "set", "jdevries", "name=Jan", *DAY], 2,
            ["group_vars/all/users.yml mixes line endings (lines ending 10 in CRLF, ", "in LF)",
             "convert it to one kind (dos2unix or unix2dos) first"])  # fmt: skip
    # A mixed file that the change does not write is left alone.
    to_crlf(inv, SWITCH)
    (inv / SWITCH).write_bytes((inv / SWITCH).read_bytes() + b"# a last line\n")
    path.write_bytes(b"\n".join(lines))
    code, _out, err = cli("user", "add", "tnew", "--name", "Tom", "--site", "ams", *DAY)
    assert code == 0, err
    refused(cli, inv, ["user", "leave", "svisser", *DAY], 2, ["host_vars/sw1/switch.yml mixes line endings"])


def test_a_lone_cr_file_is_refused(cli, inv):
    path = inv / USERS
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    refused(cli, inv, ["user", "set", "jdevries", "name=Jan", *DAY], 2, ["in CR alone", "mixes line endings"])


def big_directory(inv: Path, count: int, *, crlf: bool, tab: bool) -> None:
    """A users file of ``count`` users; a tab in a comment puts it outside the fast parser's subset."""
    entry = (
        "  - id: u{n}\n    name: User {n}\n    site: ams\n    extension: {ext}\n"
        "    class_of_service: internal\n    status: active\n"
    )
    head = "---\n# generated" + ("\t(tab)" if tab else "") + "\nvoip_users:\n"
    text = head + "".join(entry.format(n=n, ext=10000 + n) for n in range(count))
    data = text.replace("\n", "\r\n") if crlf else text
    (inv / USERS).write_bytes(data.encode())


@pytest.mark.parametrize("tab", [False, True], ids=["fast-parser", "pyyaml"])
def test_a_large_crlf_file_stays_crlf(inv, tab):
    # CRLF text goes the fast parser's way (held with LF line breaks); a tab
    # in a comment sends it to PyYAML. Speed is make bench's business.
    big_directory(inv, 2_000, crlf=True, tab=tab)
    d = Directory(inv)
    ops.set_values(d, "u1000", ["name=Yes"], today=TODAY)
    d.write()
    data = (inv / USERS).read_bytes()
    assert b'    name: "Yes"\r\n' in data and data.count(b"\n") == data.count(b"\r\n")
    assert len(Directory(inv).users) == 2_000
