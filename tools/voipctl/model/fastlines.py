"""The line reader of the fast YAML parser: the usual inventory file, a line at a time.

The row parser (``voipctl.model.fastyaml``: every row in one regex scan, one
tuple per row) spends most of a 100,000-user directory's time on that scan
and those tuples: over a million rows. Here a line is split at its first
": ", and its head (indentation, "- ", key) and its value are looked up by
their text: in a directory most heads and many values repeat. Only block
mappings, block sequences (items that are a scalar, a flow collection or a
compact mapping "- key: ..."), blank and comment lines are read. Keys go
through the row parser's ``key``, values through its ``scalar`` (or the same
checks inlined for a plain word, a decimal number, a double-quoted string),
so both readers resolve every scalar alike. Anything else (a trailing comment
after a key, an empty item, odd indentation, trailing spaces, several
documents, deep nesting) raises StepAside: ``fastyaml.parse`` then hands the
text to the row parser, which decides as before. Property tests
(tests/unit/test_fastyaml_lines.py) hold the two readers to the same result.

``parse_lines`` expects a text whose characters ``fastyaml.parse`` checked.
"""

from __future__ import annotations

import re
from typing import Any

from voipctl.model.fastyaml import _AMBIGUOUS, _DIGITS, _FLOWS, _WORDS, _markers, _Parser


class StepAside(Exception):
    """The line reader meets something it leaves to the row parser."""


# A key line's text before its ": " (or before a final ":"): indentation, an
# optional "- " and the key, as the row parser's _ROWS reads keys.
_HEAD = re.compile(
    r"""( *)(- )?("[^"\\\n]*"|'(?:[^'\n]|'')*'"""
    r"""|[^\s'"\[\]{},#&*!|>%@`?\-](?:[^:#\n]*[^\s:#])?|-[^\s:#](?:[^:#\n]*[^\s:#])?)"""
)
# Caches, pure functions of their text: a key line's head -> (indent, item,
# key), or False when it is no key line; a scalar's text -> its value
# (immutable: str, int, bool, None, float, date); flow mappings with one
# double-quoted string, by the text around it (see _one_string_map).
_HEADS: dict[str, Any] = {}
_VALUES: dict[str, Any] = {}
_SHAPES: dict[tuple[str, str], Any] = {}
_CACHED_AT_MOST = 20_000
# Deeper documents go to the row parser (the dialect's limit is MAX_DEPTH).
_DEPTH_AT_MOST = 32
_MISSING = object()
_ITEM = object()  # the "key" of an item that is a scalar or a flow collection
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Never in a parsed text: fastyaml refuses control characters first.
_SLOT = "\x01"


def parse_lines(text: str) -> Any:
    """The value of ``text``, or StepAside (Unsupported, BadScalar from a scalar the row parser refuses too)."""
    lines, root = _start(text)
    if root is None:
        return None
    helper = _Parser(None, [], [], None, {})
    heads, values, words = _HEADS, _VALUES, _WORDS
    # The open collection, its indentation and kind; the enclosing ones on the
    # stack, above a floor no row reaches (so len(stack) is the depth).
    cur, cur_indent, cur_seq = root, 0, isinstance(root, list)
    stack: list[tuple] = [(None, -1, False)]
    pending: Any = _MISSING  # a key of ``cur`` whose value is the block below it
    # The column of a key line that just goes on in ``cur`` (a mapping, no key
    # pending); -2 when there is none. Heads of items have -1 there.
    simple = -2 if cur_seq else 0
    for line in lines:
        head, sep, tail = line.partition(": ")
        if sep:
            found = heads.get(head)
            if found is None:
                found = _head(head, helper)
        elif line[-1:] == ":":
            found = heads.get(line[:-1])
            if found is None:
                found = _head(line[:-1], helper)
            tail = None
        else:
            found = False
        if found is False:
            found = _item(line)  # or a blank line, a comment
            if found is None:
                continue
            where, key, indent, item, tail = found
        else:
            where, key, indent, item = found
        if where != simple:
            cur, cur_indent, cur_seq = _place(stack, cur, cur_indent, cur_seq, pending, indent, item, key)
            pending = _MISSING
            simple = -2 if cur_seq else cur_indent
        if tail is None:
            if key in cur:
                raise StepAside
            cur[key] = None  # until the block below it, if any
            pending, simple = key, -2
            continue
        value = values.get(tail, _MISSING)
        if value is _MISSING:
            # The row parser's scalar(), inlined for the values seen once in a
            # directory (a name, an e-mail address, an extension, a quoted DID).
            if not tail or tail[0] == " " or tail[-1] == " ":
                raise StepAside  # spaces the row parser strips
            first = tail[0]
            if first == "[" or first == "{":
                value = _flow(tail, helper, len(stack))  # a new collection each time: not cached
            else:
                if first in _ASCII_LETTERS and "#" not in tail and ": " not in tail and tail[-1] != ":":
                    value = words.get(tail, tail)
                    if value is _AMBIGUOUS:
                        raise StepAside
                elif (
                    first in _DIGITS
                    and tail.isdigit()
                    and tail.isascii()
                    and (first != "0" or len(tail) == 1)
                ):
                    value = int(tail)
                elif first == '"' and tail[-1] == '"' and tail.count('"') == 2 and "\\" not in tail:
                    value = tail[1:-1]
                else:
                    value = helper.scalar(tail, 0)
                if len(values) < _CACHED_AT_MOST:
                    values[tail] = value
        if key is _ITEM:
            cur.append(value)
        elif key in cur:
            raise StepAside
        else:
            cur[key] = value
    return root


def _start(text: str) -> tuple[list[str], Any]:
    """The lines of the text (one "---" first at most: blanked) and the empty collection the first opens."""
    lines = text.split("\n")
    markers = _markers(text)
    if markers:
        if markers != ["---"] or not text.startswith("---\n"):
            raise StepAside  # several documents, an end marker, "--- # c"
        lines[0] = ""
    return lines, _root(lines)


def _root(lines: list[str]) -> Any:
    """The empty collection the first significant line opens; None if there is none."""
    for line in lines:
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        if len(stripped) != len(line):
            raise StepAside  # the document must start at column 0
        return [] if line == "-" or line.startswith("- ") else {}
    return None


def _head(head: str, helper: _Parser) -> Any:
    """(where, key, indent, item) of a key line's head (where: the indent, -1 for an item), or False; cached."""
    match = _HEAD.fullmatch(head)
    if match is None:
        found: Any = False
    else:
        indent, item = len(match[1]), bool(match[2])
        found = (-1 if item else indent, helper.key(match[3], 0), indent, item)
    if len(_HEADS) < _CACHED_AT_MOST:
        _HEADS[head] = found
    return found


def _item(line: str) -> tuple | None:
    """(-1, _ITEM, indent, True, value text) of an item that is no key line; None for a blank line or a comment."""
    stripped = line.lstrip(" ")
    if not stripped or stripped[0] == "#":
        return None
    if stripped[:2] != "- " or stripped[2:3] in (" ", "#") or line[-1] == " ":
        raise StepAside  # a lone scalar, an empty item, "-  x", trailing spaces
    return -1, _ITEM, len(line) - len(stripped), True, stripped[2:]


def _place(
    stack: list, cur: Any, indent: int, seq: bool, pending: Any, column: int, item: bool, key: Any
) -> tuple:
    """The collection a row at ``column`` belongs to (after ``pending:``, the block it opens).

    An item belongs to the sequence at its column ("- key: ..." opens a
    mapping in it, its keys at column + 2); a key to the mapping at its
    column. Returns the new (cur, indent, seq); the stack follows.
    """
    if pending is not _MISSING and (column > indent or (item and column == indent)):
        # The block under "key:"; a sequence may sit at the key's own column.
        new: Any = [] if item else {}
        cur[pending] = new
        stack.append((cur, indent, seq))
        cur, indent, seq = new, column, item
    elif item:
        while indent > column:
            cur, indent, seq = stack.pop()
    else:
        while indent > column or (seq and indent == column):
            cur, indent, seq = stack.pop()
    if seq != item or indent != column:
        raise StepAside  # no collection of that kind at that column
    if key is not _ITEM and item:
        stack.append((cur, indent, seq))
        new = {}
        cur.append(new)
        cur, indent, seq = new, column + 2, False
    if len(stack) > _DEPTH_AT_MOST:
        raise StepAside
    return cur, indent, seq


def _flow(text: str, helper: _Parser, depth: int) -> Any:
    """A flow collection, read by the row parser's scalar() at the same depth (mappings of one string by shape)."""
    cached = _FLOWS.get(text)
    if cached is not None:
        return cached.copy()  # a collection of scalars seen before, as scalar() keeps them
    helper.depth = depth
    if text[0] == "{":
        value = _one_string_map(text, helper)
        if value is not None:
            return value
    return helper.scalar(text, 0)


def _one_string_map(text: str, helper: _Parser) -> dict | None:
    """A flow mapping with one double-quoted value, such as a device's ``{mac: "...", model: x}``; None for others.

    Such mappings differ in their string alone, which the parser never
    looks into (no quote, no backslash in it): the mapping is read once with
    a placeholder in the string's place, and each one is a copy with the
    string put back. A mapping whose string is a key, or that holds a
    collection (the copies would share it), is read as any other.
    """
    parts = text.split('"')
    if len(parts) != 3 or "\\" in parts[1]:
        return None
    around = (parts[0], parts[2])
    shape = _SHAPES.get(around)
    if shape is None:
        template = helper.scalar(f'{parts[0]}"{_SLOT}"{parts[2]}', 0)
        flat = isinstance(template, dict) and not any(isinstance(v, (list, dict)) for v in template.values())
        slots = [key for key, value in template.items() if value == _SLOT] if flat else []
        shape = (template, slots[0]) if len(slots) == 1 else False
        if len(_SHAPES) < _CACHED_AT_MOST:
            _SHAPES[around] = shape
    if shape is False:
        return None
    template, slot = shape
    value = template.copy()
    value[slot] = parts[1]
    return value
