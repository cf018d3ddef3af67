"""Property test: random mutations of inventory/example never fool the readers.

Every YAML file of the example inventory is mutated (hostile tokens put in
place of values, lines duplicated, dropped, re-indented, random text and
characters inserted) and read by ``voipctl.model.yamlfile.load_text``, the
one reader behind ``voipctl validate``, the preflight and ``voipctl user``.
For each text the reader either refuses it with a YamlFileError (a message,
never another exception) or returns exactly what both other readers see:
PyYAML's safe loader (YAML 1.1: what Ansible deploys) and ruamel.yaml's safe
loader (YAML 1.2: what editors, linters and voipctl's writer mean). The whole
validation (``voipctl.model.checks.validate``) is fed mutated inventories too
and must answer with findings, never a traceback.
"""

from __future__ import annotations

import datetime
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from voipctl.model.checks import validate
from voipctl.model.yamlfile import ENCRYPTED, VaultValue, YamlFileError, _Loader, load_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventory" / "example"
FILES = sorted(p for p in EXAMPLE.rglob("*.yml"))
# The first lines of each file: every construct they use, without reading
# 1,200 users a thousand times.
TEXTS = ["\n".join(p.read_text().split("\n")[:60]) + "\n" for p in FILES]
# Values an operator or an attacker might type, in several encodings.
HOSTILE = [
    "05050", "0110", "030", "03721", "08", "0o17", "0x1F", "0b101", "1_000", "1:20", "10:00", "190:20:30.15",
    "1e3", "1.0e3", "-.5", ".inf", ".NaN", "yes", "No", "ON", "off", "y", "n", "~", "null", "true", "False",
    "2026-W05-1", "2026-12-31", "2026-13-01", "2026-06-01 10:00:00", "<<", "=", "'05050'", '"yes"',
    "{{ lookup('pipe', 'id') }}", "{% if 1 %}x{% endif %}", "{# c #}", '"a\\nb"', '"a\\x00b"', '"\\u2028"',
    "&a 1", "*a", "!vault x", "!!python/object:os.system x", "[1, [2, [3]]]", "{a: 1, a: 2}", "[" * 200,
    "|\n  text", ">-", "- x", "? k", "'it''s'", '"esc\\"q"', "@x", "`x`", "%YAML 1.1", "\ufeff", "\t", "#",
]  # fmt: skip
_RUAMEL = YAML(typ="safe", pure=True)
_RUAMEL.constructor.add_constructor("!vault", lambda loader, node: VaultValue(loader.construct_scalar(node)))
_RUAMEL.constructor.add_constructor("!unsafe", lambda loader, node: str(loader.construct_scalar(node)))


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types, all the way down (True is not 1, a date is not its text)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(
            k in b and _same(k, _key(b, k)) and _same(v, b[k]) for k, v in a.items()
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str):
        return str(a) == str(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _key(mapping: dict, key: Any) -> Any:
    return next(k for k in mapping if k == key)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(TEXTS))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        kind = draw(st.sampled_from(["value", "value", "dup", "drop", "indent", "insert", "chars"]))
        line = lines[at]
        if kind == "value" and ":" in line:
            head = line.split(":", 1)[0]
            lines[at] = f"{head}: {draw(st.sampled_from(HOSTILE))}"
        elif kind == "value" and line.lstrip().startswith("- "):
            lines[at] = line[: line.index("- ") + 2] + draw(st.sampled_from(HOSTILE))
        elif kind == "dup":
            lines.insert(at, line)
        elif kind == "drop" and lines:
            del lines[at]
        elif kind == "indent":
            lines[at] = " " * draw(st.integers(0, 6)) + line.lstrip()
        elif kind == "insert":
            lines.insert(at, draw(st.text(max_size=40)))
        else:
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.text(max_size=6)) + line[cut:]
    return "\n".join(lines)


def _read(text: str, read: Any) -> tuple[bool, Any]:
    try:
        return True, read(text)
    except Exception:  # the other readers may refuse anything in their own way
        return False, None


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_reader_refuses_or_agrees_with_yaml_1_1_and_1_2(text):
    try:
        ours = load_text(text)
    except YamlFileError as exc:
        assert isinstance(exc.message, str) and exc.message
        return
    assert ours is not ENCRYPTED or text.startswith("$ANSIBLE_VAULT")
    ok11, ansible = _read(text, lambda t: yaml.load(t, Loader=_Loader))
    assert ok11, "accepted a text Ansible's loader refuses"
    assert _same(ours, ansible), (ours, ansible)
    ok12, yaml12 = _read(text, _RUAMEL.load)
    if ok12:  # ruamel refuses some YAML 1.1 texts (tabs, escapes) PyYAML reads the same way
        assert _same(ours, yaml12), (ours, yaml12)


@pytest.mark.parametrize("text", HOSTILE)
def test_every_hostile_token_is_refused_or_read_alike(text):
    body = f"voip_x: {text}\nlist: [{text}]\n"
    try:
        ours = load_text(body)
    except YamlFileError:
        return
    assert _same(ours, yaml.load(body, Loader=_Loader))
    ok12, yaml12 = _read(body, _RUAMEL.load)
    if ok12:
        assert _same(ours, yaml12)


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, len(FILES) - 1), mutated())
def test_validation_answers_with_findings_never_a_traceback(tmp_path_factory, index, text):
    root = tmp_path_factory.mktemp("fuzz") / "example"
    shutil.copytree(EXAMPLE, root)
    (root / FILES[index].relative_to(EXAMPLE)).write_text(text)
    result = validate(root, datetime.date(2026, 12, 3))
    for problem in result.problems:
        assert problem.render() and len(problem.render()) < 2000


# White space YAML does not separate with. Before, the fast reader dropped it
# from a key (``status\xa0: leaver`` was the key "status" to the validation,
# "status\xa0" to Ansible): the validation judged a value Ansible never reads.
ODD_SPACES = ["\xa0", "\u2003", "\u3000", "\u202f", "\u1680", "\u205f", "\u2009"]


@pytest.mark.parametrize("space", ODD_SPACES, ids=[f"U+{ord(c):04X}" for c in ODD_SPACES])
@pytest.mark.parametrize(
    "template",
    [
        "voip_x{s}: 1\n",
        "a:\n  b{s}: 1\n",
        "a:\n  - b{s}: 1\n",
        "a: {{b{s}: 1}}\n",
        "a:\n  - {{b{s}: 1, c: 2}}\n",
    ],
    ids=["top", "nested", "item", "flow", "flow-item"],
)
def test_a_key_with_other_white_space_is_read_as_ansible_reads_it(template, space):
    text = template.format(s=space)
    assert _same(load_text(text), yaml.load(text, Loader=_Loader))


@pytest.mark.parametrize("space", ODD_SPACES[:3], ids=[f"U+{ord(c):04X}" for c in ODD_SPACES[:3]])
def test_the_validation_refuses_a_key_ending_in_other_white_space(tmp_path, space):
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE, root)
    users = root / "group_vars" / "all" / "users.yml"
    users.write_text(
        users.read_text().replace(
            "    class_of_service: national\n", f"    class_of_service{space}: national\n", 1
        )
    )
    result = validate(root, datetime.date(2026, 12, 3))
    assert any(f"class_of_service{space}" in p.render() for p in result.errors), [
        p.render() for p in result.errors
    ][:5]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    extension: 2000\n", "    extension: {}\n"),
        ("    extension: 2000\n", "    extension: [2000]\n"),
        ("    devices:\n", "    devices: 5\n    x_devices:\n"),
        ("    devices:\n", '    devices: "80:5e:c0:00:00:01"\n    x_devices:\n'),
        ("      hunt_groups: [ams-support]\n", "      hunt_groups: [{id: ams-support}]\n"),
        ("      hunt_groups: [ams-support]\n", "      hunt_groups: [[ams-support]]\n"),
    ],
    ids=[
        "extension-mapping",
        "extension-list",
        "devices-number",
        "devices-text",
        "group-mapping",
        "group-list",
    ],
)
def test_a_user_of_the_wrong_shape_gives_findings_not_a_traceback(tmp_path, old, new):
    """A user the schema refuses is still remembered for the later checks; before, a mapping or list
    where a number or name belongs raised TypeError (unhashable type) out of the validation."""
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE, root)
    users = root / "group_vars" / "all" / "users.yml"
    text = users.read_text()
    assert old in text
    users.write_text(text.replace(old, new, 1))
    result = validate(root, datetime.date(2026, 12, 3))
    assert result.errors
