"""The estate's YAML dialect: plain scalars on which YAML 1.1 and YAML 1.2 agree.

Ansible reads YAML 1.1 (PyYAML): ``05050`` is the octal number 2600, ``1:20``
is 80 (base 60), ``yes`` and ``off`` are booleans, ``1_000`` is 1000. YAML 1.2
(ruamel.yaml, most editors and linters, ``voipctl``'s own writer) reads the
same text as 5050, a string, a string and a string. An operator who writes
``extension: 05050`` means one of them and Ansible deploys the other, so the
model refuses every plain (unquoted) scalar whose value differs between the
two; quoting it, or writing the number in plain decimal, says what is meant.

``scan`` walks a text's YAML events once (libyaml's parser, no nodes built)
and refuses, with the line and the key path:

* such ambiguous plain scalars, and the YAML 1.1 merge key ``<<`` and value
  key ``=``;
* a key that appears twice in one mapping (YAML keeps the last one silently);
* aliases (``*name``) that repeat more than ``MAX_ALIAS_NODES`` nodes in
  all: an alias bomb expands a few lines into gigabytes (generated files,
  such as molecule's inventory, repeat a small mapping or two);
* nesting deeper than ``MAX_DEPTH`` (libyaml's composer recurses in C, and
  a deep enough document crashes the process);
* a byte order mark, which Ansible's loader drops and others keep in the key.

``voipctl.model.yamlfile`` runs it before the full loader; the fast parser
(``voipctl.model.fastyaml``) hands every ambiguous scalar to that path, so
both readers follow this one rule.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

MAX_DEPTH = 64
# Nodes that aliases may add to a document, each counted as the whole
# subtree it repeats (an alias bomb adds billions with a few lines).
MAX_ALIAS_NODES = 10_000
BOM = "\ufeff"
_CONSTRUCTOR = SafeConstructor()
# PyYAML's constructors of the implicit scalar types (the fast parser uses them too).
BUILDERS = {
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": _CONSTRUCTOR.construct_yaml_timestamp,
}
# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1023-core-schema).
_NULL12 = re.compile(r"^(?:null|Null|NULL|~|)$")
_BOOL12 = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT12 = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF12 = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN12 = re.compile(r"^\.(?:nan|NaN|NAN)$")
# Longer plain scalars that look like numbers are refused unread (see ambiguity).
MAX_NUMBER = 64
_NUMBERISH = re.compile(r"^[-+.0-9][-+.0-9_:a-fA-FxXoO]*$")


CLIP = 60


def clip(text: str, limit: int = CLIP) -> str:
    """``text`` for a message, cut short: ``AAAA… (50000000 characters)`` (``types.shown`` is the quoted form)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def render_path(path: tuple) -> str:
    """('voip_users', 12, 'devices', 0, 'mac') -> 'voip_users[12].devices[0].mac'."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            text = clip(str(part), 40)  # a hostile key is named, not echoed
            out += f".{text}" if out else text
    return out


class DialectError(ValueError):
    """Text outside the dialect; ``line`` is 1-based, ``path`` the key path (a tuple)."""

    def __init__(self, message: str, line: int | None, path: tuple = ()):
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path


def resolve11(text: str) -> Any:
    """A plain scalar's value as PyYAML (YAML 1.1, Ansible) reads it; ``=`` and ``<<`` as themselves."""
    for tag, regexp in Resolver.yaml_implicit_resolvers.get(text[:1], ()):
        if regexp.match(text):
            if tag == "tag:yaml.org,2002:null":
                return None
            builder = BUILDERS.get(tag)
            if builder is None:
                return text
            return builder(ScalarNode(tag, text))
    return None if text == "" else text


def resolve12(text: str) -> Any:
    """A plain scalar's value in the YAML 1.2 core schema (timestamps as YAML 1.1, see ``ambiguity``)."""
    if _NULL12.match(text):
        return None
    if text in _BOOL12:
        return _BOOL12[text]
    if _INT10.match(text):
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT12.match(text):
        return float(text)
    if _INF12.match(text):
        return -math.inf if text[0] == "-" else math.inf
    if _NAN12.match(text):
        return math.nan
    return text


def ambiguity(text: str) -> str | None:
    """Why the plain scalar ``text`` is refused, or None when YAML 1.1 and 1.2 agree on it."""
    if text == "<<":
        return "'<<' (a YAML 1.1 merge key) is not allowed: write the keys out"
    if text == "=":
        return "'=' (a YAML 1.1 value key) is not allowed: quote it ('=') if it is text"
    if len(text) > MAX_NUMBER and not text.lstrip("+-").isdigit() and _NUMBERISH.match(text):
        # Base-60 and long integers cost quadratic time to convert (and more
        # than 4,300 digits Python refuses): no model value is a number this long.
        return f"a plain value of {len(text)} characters that reads as a number: quote it if it is text"
    try:
        old = resolve11(text)
    except (ValueError, OverflowError):
        return None  # the loader reports the bad value (2026-13-01, a 5,000-digit number) itself
    try:
        new = resolve12(text)
    except (ValueError, OverflowError):
        return f"a plain value of {len(text)} characters that YAML 1.2 cannot read as a number: quote it"
    if _same(old, new) or (not isinstance(new, (int, float)) and type(old).__name__ in ("date", "datetime")):
        # Dates: the model reads an unquoted day and a quoted one alike.
        return None
    return _hint(text, old, new)


def _same(old: Any, new: Any) -> bool:
    if type(old) is not type(new):
        return False
    if isinstance(old, float) and math.isnan(old):
        return math.isnan(new)
    return old == new


def _hint(text: str, old: Any, new: Any) -> str:
    shown = repr(text)
    if isinstance(old, bool):
        word = "true" if old else "false"
        return f"{shown} is ambiguous: Ansible (YAML 1.1) reads it as {word}, YAML 1.2 as text; write {word}, or quote it"
    if isinstance(old, int) and re.match(r"^[-+]?0[0-7_]+$", text):
        return (
            f"{shown} is ambiguous: Ansible (YAML 1.1) reads a leading zero as octal ({old}), YAML 1.2 as "
            f"{new!r}; write {text.lstrip('+-0') or '0'} for the number, or quote it ('{text}') for a string of digits"
        )
    if isinstance(old, (int, float)) and ":" in text:
        return f"{shown} is ambiguous: Ansible (YAML 1.1) reads it as a base-60 number ({old}); quote it ('{text}')"
    if isinstance(old, (int, float)) and "_" in text:
        return f"{shown} is ambiguous: Ansible (YAML 1.1) reads it as {old}, YAML 1.2 as text; write {old} or quote it"
    return (
        f"{shown} is ambiguous: Ansible (YAML 1.1) reads it as {old!r}, YAML 1.2 as {new!r}; "
        "write the number in plain decimal, or quote it"
    )


class _Frame:
    """One open collection while scanning: a mapping (keys seen) or a sequence (next index)."""

    __slots__ = ("anchor", "index", "key", "keys", "last", "mapping", "next_key", "nodes")

    def __init__(self, mapping: bool, key: Any):
        self.mapping = mapping
        self.keys: dict[Any, int] | None = {} if mapping else None
        self.next_key = True  # mappings: the next node is a key
        self.index = 0  # sequences: index of the next item
        self.key = key  # the key or index this collection sits under
        self.last: Any = None  # mappings: the key whose value comes next
        self.anchor: str | None = None
        self.nodes = 1  # nodes of this collection, aliases expanded


def scan(text: str) -> None:
    """Raise DialectError for the first thing in ``text`` outside the dialect (see the module docstring)."""
    if text.startswith(BOM):
        raise DialectError("the file starts with a byte order mark (U+FEFF): save it as UTF-8 without BOM", 1)
    stack: list[_Frame] = [_Frame(False, None)]  # the stream: documents are its items
    anchors: dict[str, int] = {}
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            _event(stack, anchors, event)
    except yaml.MarkedYAMLError:
        return  # not YAML at all: the full loader reports it with its line
    except yaml.YAMLError:
        return


def _path(stack: list[_Frame], last: Any = None) -> tuple:
    """The key path of the open collection (the document's root has none), plus ``last``."""
    parts = tuple(frame.key for frame in stack[2:])
    return parts if last is None else (*parts, last)


def _slot(stack: list[_Frame]) -> tuple:
    """The key path of the node that comes next (a mapping value or a sequence item)."""
    frame = stack[-1]
    if len(stack) == 1:
        return ()
    if not frame.mapping:
        return _path(stack, frame.index)
    return _path(stack) if frame.next_key else _path(stack, frame.last)


def _event(stack: list[_Frame], anchors: dict[str, int], event: Any) -> None:
    kind = type(event)
    line = event.start_mark.line + 1 if event.start_mark else None
    if kind is yaml.AliasEvent:
        _alias(stack, anchors, event, line)
    elif kind is yaml.ScalarEvent:
        key = _scalar(stack, event, line)
        stack[-1].nodes += 1
        if event.anchor:
            anchors[event.anchor] = 1
            anchors["\0key:" + event.anchor] = key
    elif kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
        if len(stack) > MAX_DEPTH:
            raise DialectError(f"nested deeper than {MAX_DEPTH} levels", line, _slot(stack))
        key = _take_slot(stack, None, line)
        frame = _Frame(kind is yaml.MappingStartEvent, key)
        frame.anchor = event.anchor
        stack.append(frame)
    elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
        frame = stack.pop()
        stack[-1].nodes += frame.nodes
        if frame.anchor:
            anchors[frame.anchor] = frame.nodes


def _alias(stack: list[_Frame], anchors: dict[str, int], event: Any, line: int | None) -> None:
    """An alias repeats its anchor's whole subtree: count it, and refuse a document that grows too much."""
    where = _slot(stack)
    if any(frame.anchor == event.anchor for frame in stack):
        raise DialectError(f"alias *{event.anchor} refers to a collection that contains it (a recursive value)",
                           line, where)  # fmt: skip
    repeated = anchors.get(event.anchor, 1)
    # As a key, an alias of a scalar is that scalar's key (duplicates are still duplicates).
    key = anchors.get("\0key:" + event.anchor, object())
    _take_slot(stack, (key, f"*{event.anchor}"), line)
    stack[-1].nodes += repeated
    added = anchors.setdefault("\0added", 0) + repeated
    anchors["\0added"] = added
    if added > MAX_ALIAS_NODES:
        raise DialectError(
            f"alias *{event.anchor}: aliases repeat more than {MAX_ALIAS_NODES} nodes in this file "
            "(an alias bomb?): write the values out",
            line,
            where,
        )


def _scalar(stack: list[_Frame], event: Any, line: int | None) -> Any:
    value = event.value
    plain = not event.style and event.implicit[0] and event.tag is None
    if plain:
        why = ambiguity(value)
        if why is not None:
            raise DialectError(why, line, _slot(stack))
    key = value
    if plain:
        # An unquoted 2026-13-01 stays text here: the loader reports it.
        with contextlib.suppress(ValueError, OverflowError):
            key = resolve11(value)
    _take_slot(stack, (key, value), line)
    return key


def _take_slot(stack: list[_Frame], key: tuple | None, line: int | None) -> Any:
    """Account for one node in the open collection; return the key or index it sits under."""
    frame = stack[-1]
    if len(stack) == 1:
        return None
    if not frame.mapping:
        frame.index += 1
        return frame.index - 1
    if not frame.next_key:
        frame.next_key = True
        return frame.last
    frame.next_key = False
    if key is None:
        raise DialectError("a key must be a plain or quoted scalar, not a collection", line, _path(stack))
    value, text = key
    first = frame.keys.get(value)
    if first is not None:
        raise DialectError(
            f"duplicate key {text!r} (first at line {first}): YAML keeps only the last one",
            line,
            _path(stack, text),
        )
    frame.keys[value] = line or 0
    frame.last = value
    return value
