"""The fast YAML subset parser must agree with PyYAML's safe C loader, or step aside."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from voipctl.model import fastyaml
from voipctl.model.yamlfile import ENCRYPTED, VaultValue, YamlFileError, _Loader, find_lines, load_text

ROOT = Path(__file__).resolve().parents[2]

AGREE = [
    "---\na: 1\nb: [1, 2, x]\nc: {d: true, e: 'it''s', f: \"q\"}\n",
    "a:\n- 1\n- 2\nb: ~\nc:\n  - x: 1\n    y: 2\n  - z\n",
    "- a\n- b: 1\n  c: 2\n-\n  - 3\n",
    'x: 2026-12-31\nu: .inf\nt: +31201234041\ns: "+31"\nw: 1.5\nv: -0.25\n',
    "k: v # comment\n# full line\nl: 'q' # c\nm: [a, b] # c\n",
    "2000: x\n'3000': y\nTrue: FALSE\n",
    "a:\n  b:\n    c: [1, {d: [2, 3]}]\n",
    "mac: 00:15:65:12:34:56\nclock: 08:30\n",
    "empty: {}\nel: []\nn:\nnull_word: null\ntilde: ~\n",
    "url: http://x/y\nname: Jan de Vries\n",
    'dev: {mac: "80:5e:c0:00:00:01", model: yealink-t54w}\nflow: {a: 1, b: x y, c: "1, 2"}\n',
    "nums: [0x1f, -5, +7, 0.5, 0, 00]\n",
    "words: [y, n, Y, N, TRUE, tRUE, NULL, Null, nULL, oFF, yES]\n",
]


@pytest.mark.parametrize("text", AGREE)
def test_fast_parser_agrees_with_the_c_loader(text):
    fast = fastyaml.parse(text)
    full = yaml.load(text, Loader=_Loader)
    assert fast == full
    assert repr(fast) == repr(full)  # same types too (True vs 1, date vs str)


UNSUPPORTED = [
    "a: &x 1\nb: *x\n",
    "a: !vault |\n  $ANSIBLE_VAULT;1.1\n",
    "a: |\n  text\n",
    "a: >-\n  folded\n",
    "a: plain\n  continued\n",
    'a: "esc\\"aped"\n',
    "a: 1\na: 2\n",
    "---\na: 1\n---\nb: 2\n",
    "? complex\n: key\n",
    "a:\n\t- tab\n",
    "<<: {a: 1}\n",
]


@pytest.mark.parametrize("text", UNSUPPORTED)
def test_outside_the_subset_the_parser_steps_aside(text):
    with pytest.raises(fastyaml.Unsupported):
        fastyaml.parse(text)


@pytest.mark.parametrize("text", ["name: ]\n", "- }\n", "a: ,x\n", "a: [x, ]]\n", "a:\n  - ,\n"])
def test_a_flow_indicator_cannot_open_a_plain_scalar(text):
    """YAML refuses a plain scalar that starts with ``]``, ``}`` or ``,``; the fast parser took it for a string."""
    with pytest.raises(yaml.YAMLError):
        yaml.load(text, Loader=_Loader)
    with pytest.raises(fastyaml.Unsupported):
        fastyaml.parse(text)
    with pytest.raises(YamlFileError):
        load_text(text)


def test_full_loader_takes_over_with_ansible_tags():
    value = load_text(
        "---\nsecret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nplain: !unsafe '{{ x }}'\n"
    )
    assert isinstance(value["secret"], VaultValue)
    assert value["plain"] == "{{ x }}"


def test_encrypted_file_is_recognised():
    assert load_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n") is ENCRYPTED


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3, ""),
        ("a: 1\n  b: 2\n", 2, ""),
        ("a: 1\nd: 2026-13-01\n", 2, "not a valid timestamp"),
    ],
)
def test_invalid_yaml_names_the_line(text, line, fragment):
    with pytest.raises(YamlFileError) as info:
        load_text(text)
    assert info.value.line == line
    assert fragment in info.value.message


def test_word_table_matches_the_resolver():
    for word in ["true", "False", "TRUE", "null", "Null", "NULL", "y", "n", "nay", "oFF"]:
        assert fastyaml.resolve(word) == yaml.load(f"v: {word}", Loader=_Loader)["v"], word
    for word in ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"]:
        with pytest.raises(fastyaml.Unsupported):
            fastyaml.resolve(word)


# Plain scalars YAML 1.1 (Ansible) and YAML 1.2 read differently: the fast
# parser steps aside and the reader refuses them with the line and key path.
AMBIGUOUS = [
    ("extension: 05050\n", 1, "extension", "octal (2600)"),
    ("a:\n  sip_port: 05060\n", 2, "a.sip_port", "octal (2608)"),
    ("v: [1, 0110]\n", 1, "v[1]", "octal (72)"),
    ("- {channels: 030}\n", 1, "[0].channels", "octal (24)"),
    ("busy: 03721\n", 1, "busy", "octal (2001)"),
    ("t: 1:30\n", 1, "t", "base-60 number (90)"),
    ("start: 10:00\n", 1, "start", "base-60 number (600)"),
    ("f: 190:20:30.15\n", 1, "f", "base-60"),
    ("n: 1_000\n", 1, "n", "reads it as 1000"),
    ("b: 0b101\n", 1, "b", "reads it as 5"),
    ("o: 0o17\n", 1, "o", "YAML 1.2 as 15"),
    ("e: 1e3\n", 1, "e", "YAML 1.2 as 1000.0"),
    ("e: 1.0e3\n", 1, "e", "YAML 1.2 as 1000.0"),
    ("x: 08\n", 1, "x", "YAML 1.2 as 8"),
    ("voicemail: yes\n", 1, "voicemail", "reads it as true"),
    ("dnd: Off\n", 1, "dnd", "reads it as false"),
    ("a: {b: NO}\n", 1, "a.b", "reads it as false"),
    ("words: [x, ON]\n", 1, "words[1]", "reads it as true"),
    ("yes: 1\n", 1, "", "reads it as true"),
    ("<<: {a: 1}\n", 1, "", "merge key"),
    ("a: =\n", 1, "a", "value key"),
]


@pytest.mark.parametrize(("text", "line", "path", "fragment"), AMBIGUOUS, ids=[a[0] for a in AMBIGUOUS])
def test_ambiguous_scalars_are_refused_with_line_and_path(text, line, path, fragment):
    from voipctl.model.dialect import render_path

    with pytest.raises(fastyaml.Unsupported):
        fastyaml.parse(text)
    with pytest.raises(YamlFileError) as info:
        load_text(text)
    assert info.value.dialect
    assert info.value.line == line
    assert render_path(info.value.path) == path
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("text", "line", "path", "fragment"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "a", "duplicate key 'a' (first at line 1)"),
        ("u:\n  - id: x\n    id: y\n", 3, "u[0].id", "duplicate key 'id'"),
        ("d: {mac: x, mac: y}\n", 1, "d.mac", "duplicate key 'mac'"),
        ("s:\n  ams: {}\n  'ams': {}\n", 3, "s.ams", "duplicate key"),
        ("s:\n  1: a\n  0x1: b\n", 3, "s.0x1", "duplicate key"),
        ("a: &x [" + "1, " * 9_999 + "1]\nb: *x\n", 2, "b", "aliases repeat more than 10000 nodes"),
        ("\ufeffvoip_users: []\n", 1, "", "byte order mark"),
        ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", 1, "a" + "[0]" * 63, "nested deeper than 64"),
        ("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)), 65, "", "nested deeper than 64"),
    ],
    ids=["top", "in-list", "flow", "quoted", "int-forms", "alias-bomb", "bom", "deep-flow", "deep-block"],
)
def test_duplicates_aliases_bom_and_depth_are_refused(text, line, path, fragment):
    with pytest.raises(YamlFileError) as info:
        load_text(text)
    assert info.value.line == line
    if path:
        assert render_path_of(info.value) == path
    assert fragment in info.value.message


def render_path_of(error: YamlFileError) -> str:
    from voipctl.model.dialect import render_path

    return render_path(error.path)


def test_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    with pytest.raises(YamlFileError) as info:
        load_text("\n".join(lines) + "\n")
    assert "aliases repeat more than 10000 nodes" in info.value.message
    assert info.value.line == 4  # a3 would repeat 11,000 nodes: refused before anything is built


def test_small_aliases_read_as_ansible_reads_them():
    # Generated files (molecule's inventory) repeat a small mapping.
    text = "a: &x {host: h, port: 22}\nb: *x\nc: [*x, *x]\n"
    assert load_text(text) == yaml.load(text, Loader=_Loader)


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "inventory/lab/group_vars/all/users.yml",
        ROOT / "inventory/lab/hosts.yml",
        ROOT / "inventory/example/group_vars/all/users.yml",
        ROOT / "inventory/example/group_vars/all/patching.yml",
        ROOT / "inventory/example/hosts.yml",
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_repository_inventory_files_parse_fast_and_identically(path):
    text = path.read_text()
    assert fastyaml.parse(text) == yaml.load(text, Loader=_Loader)


def test_lines_of_wanted_paths(tmp_path):
    path = tmp_path / "users.yml"
    path.write_text(
        "---\nvoip_users:\n  - id: a\n    devices:\n      - {mac: x, model: y}\n  - id: b\n    devices: []\n"
    )
    lines = find_lines(path, {("voip_users", 0, "devices", 0, "mac"), ("voip_users", 1, "id")})
    assert lines[("voip_users", 0, "devices", 0, "mac")] == 5
    assert lines[("voip_users", 1, "id")] == 6
    assert lines[("voip_users",)] == 2


def test_lines_fall_back_to_the_full_composer(tmp_path):
    path = tmp_path / "x.yml"
    path.write_text("---\nanchor: &a 1\nlist:\n  - *a\n  - |\n    block\n")
    assert find_lines(path, {("list", 1)})[("list", 1)] == 5


# Rows of every kind the key-line scan meets: items, compact mappings, quoted
# keys, comments, odd whitespace (\x0b and \u2028 are \s but no line break),
# trailing spaces, values that are not plain words.
ROW_KEYS = [
    "id",
    "a b",
    "'q k'",
    "'it''s'",
    '"dq"',
    '"a:b"',
    "-x",
    "2000",
    "k#x",
    "x\x0b",
    "k\u2028",
    "[x]",
    "? c",
]
ROW_VALUES = [
    "",
    "1",
    "Jan de Vries",
    '"s"',
    '"a\\"b"',
    "'s'",
    "[1, 2]",
    "{a: 1}",
    "x # c",
    "x#y",
    "a: b",
    "\x0bv",
    "-",
]


def _rows():
    for key in ROW_KEYS:
        for sep in (":", ": ", ":  ", " :", ":x", "\x0b: "):
            for value in ROW_VALUES:
                yield f"{key}{sep}{value}"
    for value in ROW_VALUES:
        yield value
        yield f"- {value}"


@pytest.mark.parametrize("indent", ["", "  ", "  - ", "-   "])
@pytest.mark.parametrize("trail", ["", "  ", " # c"])
def test_row_scan_reads_each_row_as_the_key_line_alone(indent, trail):
    """_ROWS reads all rows in one scan; each must come out as _KEY_LINE reads the row's content."""
    rows = [indent + row + trail for row in _rows() if (indent + row + trail).strip(" ")]
    scanned = fastyaml._ROWS.findall("\n".join(rows))
    significant = [row.rstrip(" ") for row in rows if not row.lstrip(" ").startswith("#")]
    assert len(scanned) == len(significant)
    for row, (spaces, item, key, dq, plain, val, content) in zip(significant, scanned, strict=True):
        text = row[len(spaces) :]
        is_item = text == "-" or text.startswith("- ")
        match = fastyaml._KEY_LINE.match(text[1:].lstrip(" ") if is_item else text)
        if match is None:
            assert (item, key, dq, plain, val, content) == ("", "", "", "", "", text), row
            continue
        assert item == (text[: len(text) - len(text[1:].lstrip(" "))] if is_item else ""), row
        expected_dq = None if match["dq"] is None else f'"{match["dq"]}"'
        assert (key, dq or None, plain or None, val or None) == (
            match["key"],
            expected_dq,
            match["plain"],
            match["val"],
        ), row
        assert content == "", row


def test_repeated_flow_collections_are_separate_values():
    value = fastyaml.parse("a: {voicemail: true}\nb: {voicemail: true}\nc: [x, 1]\nd: [x, 1]\n")
    assert value == {"a": {"voicemail": True}, "b": {"voicemail": True}, "c": ["x", 1], "d": ["x", 1]}
    assert value["a"] is not value["b"] and value["c"] is not value["d"]
    value["a"]["voicemail"] = False
    value["c"].append(2)
    again = fastyaml.parse("e: {voicemail: true}\nf: [x, 1]\n")
    assert again == {"e": {"voicemail": True}, "f": ["x", 1]}


def test_generated_estate_parses_fast_and_identically(tmp_path):
    from voipctl.generate import generate, write

    write(generate(500, 3, seed=3), tmp_path / "g")
    for path in sorted((tmp_path / "g").rglob("*.yml")):
        text = path.read_text()
        assert repr(fastyaml.parse(text)) == repr(yaml.load(text, Loader=_Loader)), path


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a: 1\n",
        "---\na: 1\n",
        "...\n",
        "--- # c\na:\n",
        "a: 1\n---\n",
        "a: 1\n...\n",
        "---\n...\n",
        "-- x\n..y\n",
    ],
)
def test_document_markers_are_found_as_by_the_regex(text):
    assert fastyaml._markers(text) == fastyaml._MARKER.findall(text)


@pytest.mark.parametrize(
    "value",
    [
        "Fax\nusername backdoor",
        "x\r\ny",
        "a\tb",
        "n\x00",
        "c1\x85d",
        "del\x7f",
        'q"uote\\back',
        "ls\u2028x",
        "ü",
    ],
)
def test_generated_yaml_keeps_control_characters_exactly(value):
    """voipctl's YAML writer escapes what a reader would fold: a line break stays a line break
    (a raw one in a double-quoted scalar reads back as a space), for both readers."""
    from voipctl.generate import dump

    text = dump({"k": [{"name": value}]})
    assert yaml.safe_load(text)["k"][0]["name"] == value
    assert load_text(text)["k"][0]["name"] == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &a [*a]\n", "alias *a refers to a collection that contains it"),
        ("a: &a {b: *a}\n", "alias *a refers to a collection that contains it"),
        ("&k voip_site: ams\nx: 1\n*k : thr\n", "duplicate key '*k'"),
        ("unit: 1" + ":59" * 30_000 + "\n", "a plain value of 90001 characters that reads as a number"),
        ("a: 0" + "1" * 5_000 + "\n", "YAML 1.2 cannot read as a number"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": -Infinity}', "-Infinity is not a JSON number"),
        ('{"a": {"__ansible_unsafe": "x"}}', "Ansible's own encoding"),
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ("[" * 5_000 + "]" * 5_000, "nested deeper than 64 levels"),
    ],
    ids=["recursive-list", "recursive-map", "alias-key", "long-base-60", "long-octal", "json-nan", "json-inf",
         "json-unsafe", "json-duplicate", "json-deep"],
)  # fmt: skip
def test_what_the_attacker_review_found_is_refused(text, fragment):
    with pytest.raises(YamlFileError) as info:
        load_text(text)
    assert fragment in info.value.message


def test_json_is_read_as_ansible_reads_it_first():
    # Ansible tries json.loads before YAML: 1e3 is a number in JSON, a string to YAML 1.1.
    assert load_text('{"a": 1e3, "b": "x"}') == {"a": 1000.0, "b": "x"}
    assert load_text('{"a"\n: 1}') == {"a": 1}
