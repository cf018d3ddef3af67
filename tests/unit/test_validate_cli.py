"""`voipctl validate` and `voipctl generate-estate` from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from voipctl.cli import LEAN, build_parser, main
from voipctl.generate import generate, write
from voipctl.model.checks import validate

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "tests" / "data" / "estate_base"


def test_lab_and_example_exit_zero(capsys):
    assert main(["validate", "-i", str(ROOT / "inventory" / "lab")]) == 0
    assert main(["validate", "-i", str(ROOT / "inventory" / "example")]) == 0
    assert "valid (0 error(s)" in capsys.readouterr().out


def test_errors_exit_one_and_json_lists_them(tmp_path, capsys):
    root = tmp_path / "e"
    shutil.copytree(BASE, root)
    users = root / "group_vars/all/users.yml"
    users.write_text(users.read_text().replace('mac: "80:5e:c0:00:00:01"', 'mac: "80:5e:c0:00:00"', 1))
    assert main(["validate", "-i", str(root), "--format", "json", "--date", "2026-06-01"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    (problem,) = [p for p in report["problems"] if p["file"] == "group_vars/all/users.yml"]
    assert problem["file"] == "group_vars/all/users.yml"
    assert problem["path"] == "voip_users[0].devices[0].mac"
    assert problem["line"] == 16  # the line of that device in the file


def test_warnings_only_exit_zero(tmp_path, capsys):
    root = tmp_path / "e"
    shutil.copytree(BASE, root)
    users = root / "group_vars/all/users.yml"
    users.write_text(
        users.read_text().replace(
            "    class_of_service: national\n",
            '    class_of_service: national\n    grants:\n      - {feature: national, until: "2026-01-01", reason: r}\n',
            1,
        )
    )
    assert main(["validate", "-i", str(root), "--date", "2026-06-01"]) == 0
    out = capsys.readouterr().out
    assert "warning: group_vars/all/users.yml:" in out and "expired on 2026-01-01" in out


def test_missing_inventory_is_an_operator_error(tmp_path, capsys):
    assert main(["validate", "-i", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_garbage_never_raises(tmp_path):
    root = tmp_path / "g"
    (root / "group_vars" / "all").mkdir(parents=True)
    (root / "hosts.yml").write_text("---\n- not\n- a mapping\n")
    (root / "group_vars/all/a.yml").write_text(
        "---\nvoip_sites: [1, 2]\nvoip_users: {a: 1}\nvoip_trunks: 7\n"
    )
    (root / "group_vars/all/b.yml").write_bytes(b"\xff\xfe not utf-8")
    problems = validate(root).problems
    rendered = "\n".join(p.render() for p in problems)
    assert "hosts.yml:1: an inventory file must be a mapping of groups" in rendered
    assert "group_vars/all/b.yml: invalid YAML: not UTF-8" in rendered
    # A file that cannot be read hides its variables: only the files' errors
    # are reported (the rest would be findings about what is merely missing).
    assert "voip_sites" not in rendered and len(problems) == 2
    (root / "group_vars/all/b.yml").unlink()
    (root / "hosts.yml").write_text("---\nall: {}\n")
    rendered = "\n".join(p.render() for p in validate(root).problems)
    assert "voip_sites: [1, 2] is not a mapping" in rendered
    assert "voip_trunks: 7 is not a list" in rendered


def test_generator_is_deterministic_and_valid(tmp_path):
    assert generate(300, 3, seed=5) == generate(300, 3, seed=5)
    assert generate(300, 3, seed=5) != generate(300, 3, seed=6)
    write(generate(300, 3, seed=5), tmp_path / "g")
    assert validate(tmp_path / "g").errors == []


def test_generate_estate_command_refuses_a_non_empty_directory(tmp_path, capsys):
    assert main(["generate-estate", "--users", "40", "--sites", "2", "-o", str(tmp_path / "x")]) == 0
    assert main(["generate-estate", "--users", "40", "--sites", "2", "-o", str(tmp_path / "x")]) == 2
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(LEAN))
def test_lean_command_line_is_the_full_one(command, capsys):
    """`voipctl validate` builds only its own parser: same help, same usage errors."""
    seen = []
    for only in (None, LEAN[command]):
        for argv in ([command, "--help"], [command, "--no-such-option"]):
            with pytest.raises(SystemExit) as exit_:
                build_parser(only).parse_args(argv)
            captured = capsys.readouterr()
            seen.append((only is None, argv, exit_.value.code, captured.out, captured.err))
    full, lean = seen[:2], seen[2:]
    assert [s[1:] for s in full] == [s[1:] for s in lean]


def test_validate_leaves_the_cyclic_collector_as_it_found_it(capsys):
    import gc

    lab = str(ROOT / "inventory" / "lab")
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            assert main(["validate", "-i", lab]) == 0
            assert gc.isenabled() is enabled
    finally:
        gc.enable()
    capsys.readouterr()
