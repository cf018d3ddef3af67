"""Property tests: the line reader of the fast YAML parser reads what the row parser reads, or steps aside.

``fastyaml.parse`` reads a file line by line (``fastlines.parse_lines``) and hands
anything outside that reader's shapes to the row parser
(``fastyaml.parse_rows``), the reference: it agrees with PyYAML's C loader
or steps aside to the full reader (``test_fastyaml``, ``test_input_fuzz``).
Random documents built from inventory shapes and hostile tokens (duplicate
and case-variant keys, YAML 1.1 numbers and words, template markers,
indicators, odd indentation, trailing spaces and comments) must come out of
both alike: the same values of the same types, or the same error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voipctl.model import fastlines, fastyaml
from voipctl.model.yamlfile import _Loader

ROOT = Path(__file__).resolve().parents[2]

KEYS = [
    "id", "name", "Name", "NAME", "site", "a b", "-x", "'q k'", "'it''s'", '"dq"', '"a:b"', '"id"', "'id'",
    "2000", "0x10", "16", "yes", "Yes", "true", "True", "1", "null", "~", "k#x", "a:b", "on", "1.5",
    "2026-12-31", "<<", "=", "[x]", "{a}", "&a k", "*a", "? k", "!t k", "k ", "é",
]  # fmt: skip
VALUES = [
    "x", "Jan de Vries", "jv@example.com", "ams-reception", "200000", "0", "00", "05050", "1_000", "1:20",
    "1e3", "+31", "-5", "+7", "0.5", ".inf", "-.5", "0x1F", '"+31203300000"', '"a\\"b"', '"x" # c', '"x"y',
    '"', "'s'", "'it''s'", "'a' b", "true", "True", "TRUE", "tRUE", "yes", "Off", "y", "n", "null", "~",
    "2026-12-31", "2026-13-01", "2026-06-01 10:00:00", "[a, b]", "[1, [2]]", "[]", "{}", "{a: 1}",
    '{mac: "80:5e:c0:00:00:01", model: yealink-t54w}', "{a: 1, a: 2}", "{voicemail: true}", "{a: yes}",
    "[x, ON]", "{a: [1, {b: 2}]}", "[a, b] # c", "{a: 1} x", "x # c", "x#y", "a: b", "b:", "&a 1", "*a",
    "!vault x", "!!str 1", "|", ">-", "- x", "-", "? k", "@x", "`x`", "%x", "{{ x }}", "{% if %}", "[", "{",
    "]", "}", ", x", "=", "<<", "x\xa0y", "ü", "a  b", "a:b", "http://x/y", "#",
    # Flow mappings with one quoted string (read by their shape): the string as a key, in a
    # collection, twice, escaped, beside a duplicate key, an ambiguous word or a nested collection.
    '{"k": x}', '{a: ["x"]}', '{a: "x", b: [1]}', '{a: "x", a: y}', '{a: "x\\"y"}', '{a: "x", b: "y"}',
    '{a: "x" }', '{a: "x"} # c', '{a: "x", b: yes}', '{a: "", b: 1}', '{a: "x", "x"}', '{a: "x", b: {c: 1}}',
    '{mac: "80:5e:c0:00:00:01", model: 2026-12-31}', '{a: "x"', '{a: "x"}}', '[{a: "x"}]',
]  # fmt: skip
# Mostly what inventories hold, so that many documents are read to the end.
COMMON_KEYS = [
    "id", "name", "email", "site", "extension", "did", "class_of_service", "status", "leave_date", "devices",
    "mac", "model", "features", "voicemail", "dnd", "hunt_groups", "call_forward", "grants", "until", "reason",
]  # fmt: skip
COMMON_VALUES = [
    "x", "Jan de Vries", "jv@example.com", "200000", "true", '"+31203300000"', "[a, b]", "{a: 1}",
    '{mac: "80:5e:c0:00:00:01", model: yealink-t54w}', '{mac: "00:04:13:00:00:09", model: x}',
]  # fmt: skip
KEY = st.one_of(*[st.sampled_from(COMMON_KEYS)] * 3, st.sampled_from(KEYS))
VALUE = st.one_of(*[st.sampled_from(COMMON_VALUES)] * 5, st.sampled_from(VALUES))
INDENTS = st.sampled_from([1, 2, 2, 2, 3, 4])
# What may follow a value: mostly nothing; trailing spaces, a comment.
AFTER = st.sampled_from(["", "", "", "", "", "", "", " ", "  ", " # c", " #"])


@st.composite
def node(draw: st.DrawFn, indent: int, depth: int) -> list[str]:
    """The lines of a block collection whose rows start at column ``indent``."""
    pad = " " * indent
    out: list[str] = []
    as_sequence = draw(st.booleans())
    for _ in range(draw(st.integers(1, 4))):
        nested = depth < 4 and draw(st.integers(0, 3)) == 0
        if as_sequence:
            kind = draw(st.sampled_from(["scalar", "scalar", "compact", "compact", "nested"]))
            if kind == "scalar":
                out.append(f"{pad}- {draw(VALUE)}{draw(AFTER)}")
            elif kind == "compact":
                # "- key: value" and more keys lined up with the first one.
                body = draw(
                    node(indent + 2, depth + 1).filter(lambda lines: not lines[0].lstrip().startswith("-"))
                )
                out.append(f"{pad}- {body[0].lstrip(' ')}")
                out.extend(body[1:])
            else:
                out.append(f"{pad}-")
                out.extend(draw(node(indent + draw(INDENTS), depth + 1)))
        else:
            key = draw(KEY)
            if nested:
                out.append(f"{pad}{key}:")
                # A block below, deeper; a sequence may also sit at the key's own column.
                out.extend(draw(node(indent + draw(st.sampled_from([0, 2, 2, 4])), depth + 1)))
            elif draw(st.integers(0, 9)) == 0:
                out.append(f"{pad}{key}:")  # an empty value
            else:
                out.append(f"{pad}{key}: {draw(VALUE)}{draw(AFTER)}")
    return out


@st.composite
def document(draw: st.DrawFn) -> str:
    lines = draw(node(0, 0))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        at = draw(st.integers(0, len(lines)))
        kind = draw(st.sampled_from(["blank", "comment", "trail", "indent", "dup", "drop", "dash", "chars"]))
        if kind == "blank":
            lines.insert(at, " " * draw(st.integers(0, 4)))
        elif kind == "comment":
            lines.insert(
                at, " " * draw(st.integers(0, 4)) + draw(st.sampled_from(["#", "# c", "# k: v", "#x:"]))
            )
        elif at < len(lines) and kind == "trail":
            lines[at] += draw(st.sampled_from([" ", "  ", " # c", "#c", ":", ": "]))
        elif at < len(lines) and kind == "indent":
            lines[at] = " " * draw(st.integers(0, 6)) + lines[at].lstrip(" ")
        elif at < len(lines) and kind == "dup":
            lines.insert(at, lines[at])
        elif at < len(lines) and kind == "drop":
            del lines[at]
        elif at < len(lines) and kind == "dash":
            lines[at] = lines[at].replace("- ", draw(st.sampled_from(["-  ", "-", "- - "])), 1)
        elif at < len(lines):
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = (
                lines[at][:cut]
                + draw(st.sampled_from(["\t", "\xa0", "\r", "\x85", "\x00"]))
                + lines[at][cut:]
            )
    start = draw(st.sampled_from(["", "", "", "---\n", "---\n", "--- # c\n", "# c\n---\n"]))
    end = draw(st.sampled_from(["\n", "\n", "\n", "\n", "\n", "", "\n\n", "\n...\n", "\n---\nb: 1\n"]))
    return start + "\n".join(lines) + end


def _outcome(read, text: str) -> tuple:
    """(value's repr) or (error type, message): repr tells True from 1 and a date from its text."""
    try:
        return ("value", repr(read(text)))
    except (fastyaml.Unsupported, fastyaml.BadScalar) as exc:
        return (type(exc).__name__, str(exc))


def _lines_alone(text: str) -> tuple | None:
    """What the line reader returns by itself (characters checked first, as parse does); None if it steps aside."""
    try:
        fastyaml._check_characters(text)
        return ("value", repr(fastlines.parse_lines(text)))
    except (fastlines.StepAside, fastyaml.Unsupported, ValueError, RecursionError):
        return None


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_the_line_reader_reads_as_the_row_parser_or_steps_aside(text):
    reference = _outcome(fastyaml.parse_rows, text)
    alone = _lines_alone(text)
    if alone is not None:
        assert alone == reference, text
    assert _outcome(fastyaml.parse, text) == reference, text


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_what_the_line_reader_reads_pyyaml_reads_alike(text):
    alone = _lines_alone(text)
    if alone is not None:
        assert alone[1] == repr(yaml.load(text, Loader=_Loader)), text


def test_the_generated_documents_reach_the_line_reader():
    """The properties above mean something only if the line reader reads many of the documents."""
    read = 0

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(document())
    def count(text):
        nonlocal read
        read += _lines_alone(text) is not None

    count()
    assert read >= 25, read  # 37 with this generator (derandomized)


def test_the_line_reader_reads_a_generated_estate_without_stepping_aside(tmp_path):
    from voipctl.generate import generate, write

    write(generate(300, 3, seed=5), tmp_path / "g")
    users = tmp_path / "g" / "group_vars" / "all" / "users.yml"
    text = users.read_text()
    assert repr(fastlines.parse_lines(text)) == repr(fastyaml.parse_rows(text))
    assert repr(fastlines.parse_lines(text)) == repr(yaml.load(text, Loader=_Loader))


@pytest.mark.parametrize(
    "text",
    [
        "a:\n- 1\n- 2\nb: 3\n",  # a sequence at its key's column, then the mapping goes on
        "- a: 1\n  b:\n  - x\n  c: 2\n- d\n",
        "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
        "a:\nb:\n  c:\n",  # empty values
        "---\n# c\n\na: [1, {b: x}]  \n",
        "a: 1\n  b: 2\n",  # deeper without a key above: not YAML
        "- a\nb: 1\n",
        "a: 1\n- b\n",
        "a: 'x'\nb: \"y\"\nc: 'it''s'\n",
        "a: b\n   # comment at another column\nc: d\n",
        'a: 1 \nb: "x"  \nc: x # c\n- 1 \n',
        "- 1 \n- [a] \n- x #\n",
    ],
)
def test_shapes_at_the_edges_read_alike(text):
    assert _outcome(fastyaml.parse, text) == _outcome(fastyaml.parse_rows, text)


@pytest.mark.parametrize(
    "text",
    [
        "a:\n- 1\n- 2\nb: 3\n",
        "- a: 1\n  b:\n  - x\n  c: 2\n- d\n",
        '---\n# c\n\nv:\n  - id: x\n    f: {a: true}\n    d:\n      - {m: "1", n: y}\n',
    ],
)
def test_the_line_reader_reads_the_usual_shapes_itself(text):
    """Not only the same values: the line reader reads these without stepping aside (the speed is there)."""
    assert _lines_alone(text) == _outcome(fastyaml.parse_rows, text)


def test_flow_mappings_of_one_string_are_separate_values():
    text = 'a:\n  - {mac: "80:5e:c0:00:00:01", model: x}\n  - {mac: "80:5e:c0:00:00:02", model: x}\n'
    expected = {"a": [{"mac": "80:5e:c0:00:00:01", "model": "x"}, {"mac": "80:5e:c0:00:00:02", "model": "x"}]}
    first = fastyaml.parse(text)
    assert first == expected
    first["a"][0]["model"] = "changed"
    first["a"][1]["extra"] = 1
    assert fastyaml.parse(text) == expected
    nested = fastyaml.parse('- {a: "x", b: [1]}\n- {a: "y", b: [1]}\n')
    nested[0]["b"].append(2)
    assert nested[1] == {"a": "y", "b": [1]}


@pytest.mark.parametrize(
    "text",
    [
        # A byte order mark after the first character: PyYAML drops it at a document's start
        # ("---\n\ufeff01:" is the key 1) and refuses it elsewhere; never part of a key.
        "---\n\ufeff01: x\n",
        "---\n\ufeffa: 1\n",
        "a: 1\n\ufeffb: 2\n",
        "- \ufeff1\n",
        # ": " opens no plain key: PyYAML refuses these (a value without its key).
        "a: 1\n: k: x\n",
        ": k: x\n",
        "- : :\n",
        "-   : :\n",
        "a:\n  : b: 1\n",
    ],
)
def test_the_fast_path_reads_as_pyyaml_or_steps_aside(text):
    """Found by a wide differential fuzz (attack on #26): the fast path gave a value where PyYAML gives another or none."""
    try:
        fast = ("value", repr(fastyaml.parse(text)))
    except (fastyaml.Unsupported, fastyaml.BadScalar):
        return  # the full loader decides
    try:
        reference = ("value", repr(yaml.load(text, Loader=_Loader)))
    except yaml.YAMLError as exc:
        reference = ("error", type(exc).__name__)
    assert fast == reference, text
