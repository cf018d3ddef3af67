"""Units stay small enough to carry on: no file over 600 lines and no function over 80 lines in the
product code (tools/ and the collection's plugins; tests and the lab's device simulators
are not product code)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["tools", "collections/ansible_collections/voip/estate/plugins"]
FILE_LINES_AT_MOST = 600
FUNCTION_LINES_AT_MOST = 80
SOURCES = sorted(p for d in PRODUCT for p in (ROOT / d).rglob("*.py") if ".egg-info" not in str(p))


def oversized(path: Path, root: Path = ROOT) -> list[str]:
    """What in ``path`` is over the limits, one line each (names relative to ``root``)."""
    text = path.read_text()
    name = path.relative_to(root)
    found = []
    lines = text.count("\n")
    if lines > FILE_LINES_AT_MOST:
        found.append(f"{name}: {lines} lines (at most {FILE_LINES_AT_MOST})")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > FUNCTION_LINES_AT_MOST:
                found.append(
                    f"{name}:{node.lineno}: {node.name} has {length} lines "
                    f"(at most {FUNCTION_LINES_AT_MOST}): split it into named steps"
                )
    return found


def test_the_product_code_is_found():
    assert len(SOURCES) > 100


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_file_or_function_is_too_long(path):
    assert oversized(path) == []


def test_the_limits_find_a_long_function_and_a_long_file(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES_AT_MOST))
    (tmp_path / "long.py").write_text(f"def f():\n{body}\n")
    (tmp_path / "short.py").write_text(f"def f():\n{body[: body.rindex(chr(10))]}\n")
    (tmp_path / "big.py").write_text("x = 1\n" * (FILE_LINES_AT_MOST + 1))
    assert oversized(tmp_path / "long.py", tmp_path) == [
        f"long.py:1: f has {FUNCTION_LINES_AT_MOST + 1} lines (at most {FUNCTION_LINES_AT_MOST}): split it into named steps"
    ]
    assert oversized(tmp_path / "short.py", tmp_path) == []
    assert oversized(tmp_path / "big.py", tmp_path) == [
        f"big.py: {FILE_LINES_AT_MOST + 1} lines (at most 600)"
    ]
