"""A fast parser for the plain subset of YAML that inventory files use.

PyYAML's C loader builds every node through Python constructors; on this
controller it reads about 0.5 MB/s, so a 100,000-user directory would take
half a minute. Inventory files use a small part of YAML: block mappings and
sequences, one-line flow collections, plain and simply quoted scalars and
comments. This module parses exactly that subset, resolving plain scalars with
PyYAML's own resolvers and constructors (so ``yes``, ``012``, ``2026-12-31``
mean what they mean to Ansible), and raises :class:`Unsupported` for anything
else (anchors, tags, block scalars, multi-line scalars, escapes, duplicate
keys, ...): callers then fall back to the full loader, which gives the same
result or the real error with its line.

Two readers share the scalar rules: the line reader (``voipctl.model.fastlines``) reads
the usual shapes of inventory files line by line, looking a line's head
(indentation, key) and value up by their text, and steps aside for anything
else to the row parser (``parse_rows``: every row of the subset in one regex
scan), which decides as the only reader did before. Property tests hold the
line reader to the row parser's result.

``parse(text, want=...)`` also records the line of chosen key paths, which is
how messages get line numbers without keeping marks for every node.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.nodes import ScalarNode
from yaml.reader import Reader
from yaml.resolver import Resolver

from voipctl.model.dialect import BOM, BUILDERS, MAX_DEPTH, MAX_NUMBER, ambiguity


class Unsupported(Exception):
    """The text is outside the subset; use the full YAML loader."""


class BadScalar(ValueError):
    """A plain scalar that looks like a date or number but is not one (``2026-13-01``)."""

    def __init__(self, text: str, reason: str):
        super().__init__(f"{text!r} is not a valid {reason}")
        self.text = text


_IMPLICIT = Resolver.yaml_implicit_resolvers
_BUILDERS = BUILDERS
# Characters that start something outside the subset when they open a value.
_BAD_START = frozenset("&*!|>%@`?,]}")
_KEY_LINE = re.compile(
    r"""(?P<key>"[^"\\]*"|'(?:[^']|'')*'|(?!:\s|:$)[^\s'"\[\]{},#&*!|>%@`?\-][^:#]*?|-[^\s:#][^:#]*?)\s*:"""
    # The two most common values are split out here to save a call per line:
    # a double-quoted string without escapes, and a plain word without ':' or '#'.
    r"""(?:[ ]+(?:"(?P<dq>[^"\\]*)"|(?P<plain>[A-Za-z0-9_.+/(][^#:"'{}\[\]]*)|(?P<val>.*)))?$"""
)
# Every significant row of a text (not blank, not a comment) in one C-level
# scan (MULTILINE, findall): its indentation, then either _KEY_LINE's groups
# or, for a row that is no key line, its content; trailing spaces dropped.
# The key-line part is _KEY_LINE with no class able to cross a newline ("\s"
# as "[^\S\n]") and its end ("$") at the end of the content, before trailing
# spaces (each value ends in a non-space), so it matches a row exactly as
# _KEY_LINE matches the row's content alone (a test checks them row by row).
# A sequence item ("- " and spaces) is matched on the text after it, the key
# line of a compact mapping, and ``item`` holds the "- ". An unmatched group
# is "": every group that matches is non-empty (``dq`` keeps its quotes).
_ROWS = re.compile(
    r"""^(?P<indent> *)(?:(?P<item>-[ ]+)?"""
    # The key: _KEY_LINE's lazy "[^:#]*?" stops before the spaces that end
    # it; written greedy, ending in a non-space, to save a step per character.
    r"""(?P<key>"[^"\\\n]*"|'(?:[^'\n]|'')*'"""
    r"""|(?!:\s|:$)[^\s'"\[\]{},#&*!|>%@`?\-](?:[^:#\n]*[^\s:#])?|-[^\s:#](?:[^:#\n]*[^\s:#])?)[^\S\n]*:"""
    r"""(?:[ ]+(?:(?P<dq>"[^"\\\n]*")(?= *$)|(?P<plain>[A-Za-z0-9_.+/(](?:[^#:"'{}\[\]\n]*[^#:"'{}\[\]\n ])?)(?= *$)"""
    r"""|(?P<val>[^\n]*[^ \n])(?= *$)))?(?= *$)"""
    r"""|(?P<content>[^ #\n](?:[^\n]*[^ \n])?)) *$""",
    re.MULTILINE,
)
# One-line flow mappings of simple pairs (`{mac: "..", model: x}`), the
# common case, are read with one regex; anything else goes through _flow.
_SIMPLE_VALUE = r"""(?:"[^"\\]*"|[^\s\[\]{},:#"'&*!|>%@`?\-][^\[\]{},:#"']*?)"""
_SIMPLE_MAP = re.compile(
    r"\{((?: *[A-Za-z_][A-Za-z0-9_]*: +"
    + _SIMPLE_VALUE
    + r" *,)* *[A-Za-z_][A-Za-z0-9_]*: +"
    + _SIMPLE_VALUE
    + r" *)\}"
)
_SIMPLE_PAIR = re.compile(r""" *([A-Za-z_][A-Za-z0-9_]*): +(?:"([^"\\]*)"|([^\[\]{},:#"']*?)) *(?:,|$)""")
# What PyYAML's reader refuses anywhere in a text, comments included.
_NON_PRINTABLE = Reader.NON_PRINTABLE
# Line breaks of YAML 1.1 besides LF and CR (NEL, LS, PS): rows here end at LF.
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")
# White space YAML does not separate with (no-break, em, ideographic spaces, ...):
# the regexes here would take it for a separator and drop it from a key, where
# PyYAML keeps it (``name\xa0:`` is the key "name\xa0" to Ansible).
_OTHER_SPACES = re.compile(r"[^\S \n]")
_MARKER = re.compile(r"^(?:---|\.\.\.)", re.MULTILINE)
_DQ = re.compile(r'"([^"\\]*)"')
_SQ = re.compile(r"'((?:[^']|'')*)'")
_FLOW_TOKEN = re.compile(
    r"""\s*(?:(?P<p>[\[\]{},])|"(?P<dq>[^"\\]*)"|'(?P<sq>(?:[^']|'')*)'|(?P<colon>:(?=[\s,\]}]))|(?P<plain>[^\s\[\]{},:#"'&*!|>%@`?][^\[\]{},:#]*))"""
)


def resolve(text: str) -> Any:
    """The value of a plain scalar, exactly as PyYAML's SafeLoader resolves it.

    A scalar outside the estate's dialect (``voipctl.model.dialect``: YAML 1.1
    and 1.2 read it differently, such as ``05050`` or ``yes``) raises
    Unsupported: the full reader reports it with its line and key path.
    """
    first = text[:1]
    if first in _DIGITS and text.isdigit() and text.isascii() and (first != "0" or len(text) == 1):
        return int(text)
    if first in _LETTERS:
        # Only whole words (bool, null) resolve among letter-first scalars.
        value = _WORDS.get(text, text)
        if value is _AMBIGUOUS:
            raise Unsupported(f"ambiguous scalar {text!r}")
        return value
    if len(text) > MAX_NUMBER and first in _NUMBER_START and not text.isdigit():
        raise Unsupported("a long plain scalar that may be a number")  # the dialect decides, unread
    candidates = _IMPLICIT.get(first)
    if candidates:
        for tag, regexp in candidates:
            if regexp.match(text):
                if tag == "tag:yaml.org,2002:null":
                    return None
                builder = _BUILDERS.get(tag)
                if builder is None:  # merge keys, `=` values: not in the subset
                    raise Unsupported(f"scalar {text!r}")
                try:
                    value = builder(ScalarNode(tag, text))
                except (ValueError, OverflowError) as exc:
                    raise BadScalar(text, f"{tag.rsplit(':', 1)[-1]} ({exc})") from None
                if ambiguity(text) is not None:
                    raise Unsupported(f"ambiguous scalar {text!r}")
                return value
    if first in _NUMBER_START and ambiguity(text) is not None:
        raise Unsupported(f"ambiguous scalar {text!r}")  # a YAML 1.2 number such as 1e3 or 0o17
    return text


def _word_table() -> tuple[frozenset, dict]:
    """Letter-first scalars that resolve to something else than a string.

    Derived from the resolver table itself (and checked against it in the
    tests): every first letter the resolvers know, and the words they accept.
    """
    letters = frozenset(c for c in _IMPLICIT if c.isalpha())
    words: dict[str, Any] = {}
    for word in ("yes", "no", "true", "false", "on", "off", "y", "n", "null"):
        for form in {word, word.capitalize(), word.upper()}:
            for tag, regexp in _IMPLICIT.get(form[0], ()):
                if regexp.match(form):
                    if ambiguity(form) is not None:
                        words[form] = _AMBIGUOUS  # yes, off, ...: outside the dialect
                    elif tag == "tag:yaml.org,2002:null":
                        words[form] = None
                    else:
                        words[form] = _BUILDERS[tag](ScalarNode(tag, form))
                    break
    return letters, words


# Marks the words of _WORDS that are outside the dialect.
_AMBIGUOUS = object()


_LETTERS, _WORDS = _word_table()
_DIGITS = frozenset("0123456789")
# First characters of a YAML 1.2 number that YAML 1.1 may read as a string.
_NUMBER_START = frozenset("0123456789+-.")
_KEYS: dict[str, Any] = {}
# Flow collections of scalars by their text (`{voicemail: true}`, `[ams-sales]`
# recur on thousands of users): a value is a pure function of its text, and
# callers get a copy of their own.
_FLOWS: dict[str, Any] = {}


def parse(text: str, want: set[tuple] | None = None, lines: dict[tuple, int] | None = None) -> Any:
    """Parse ``text``; raise Unsupported outside the subset.

    With ``want`` (key paths such as ``("voip_users", 12, "mac")``), the line
    (1-based) of each wanted path and of its ancestors is stored in ``lines``.
    Without, the line reader (``voipctl.model.fastlines``) reads the usual
    file, and steps aside to the row parser for anything else.
    """
    _check_characters(text)
    if want is None:
        from voipctl.model.fastlines import StepAside, parse_lines  # it builds on this module

        try:
            return parse_lines(text)
        except (StepAside, Unsupported, ValueError, RecursionError):
            pass  # the row parser decides, as before (and raises the same errors)
    return parse_rows(text, want, lines)


def _check_characters(text: str) -> None:
    if _plain_ascii(text):
        return  # none of the characters below
    if "\t" in text or "\r" in text or BOM in text:  # a BOM anywhere (PyYAML drops one after ---)
        raise Unsupported("tabs, carriage returns or a byte order mark")
    if _NON_PRINTABLE.search(text) or _OTHER_BREAKS.search(text):
        raise Unsupported("a character YAML does not allow, or a line break other than LF")
    if _OTHER_SPACES.search(text):
        raise Unsupported("white space other than the space")


def parse_rows(text: str, want: set[tuple] | None = None, lines: dict[tuple, int] | None = None) -> Any:
    """``parse`` by the row parser alone (the reference the line reader is tested against)."""
    _check_characters(text)
    # Significant rows (not blank, not comment-only) in one C-level scan.
    rows = _ROWS.findall(text)
    indents = [len(row[0]) for row in rows]
    markers = _markers(text)
    skip = 0
    if markers:
        first = rows[0][6] if rows else ""
        if markers != ["---"] or indents[0] != 0 or not (first == "---" or first.startswith("--- #")):
            raise Unsupported("several documents, content after --- or a document end marker")
        skip = 1
        del indents[0], rows[0]
    if not rows:
        return None
    numbers = None
    if want is not None:
        numbers = [n for n, raw in enumerate(text.split("\n"), 1) if raw.lstrip(" ")[:1] not in ("", "#")][
            skip:
        ]
    prefixes = None
    if want is not None:
        prefixes = {tuple(path[:i]) for path in want for i in range(len(path) + 1)}
    parser = _Parser(numbers, indents, rows, prefixes, lines if lines is not None else {})
    if indents[0] != 0:
        raise Unsupported("document does not start at column 0")
    try:
        value = parser.node(0, () if prefixes is not None else None)
    except RecursionError:
        raise Unsupported("nested too deep for the fast parser") from None
    except ValueError as exc:
        if isinstance(exc, BadScalar):
            raise
        # int() of a number longer than Python converts: the full loader reports it.
        raise Unsupported(f"value: {str(exc)[:80]}") from None
    if parser.i != len(rows):
        raise Unsupported(f"unexpected indentation at row {parser.i}")
    return value


# Text of nothing but printable ASCII and line feeds passes every character
# check of parse() at once (no tab, CR, BOM, control character, other break
# or other space): the usual inventory file, checked in two C-level passes.
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


def _plain_ascii(text: str) -> bool:
    return text.isascii() and not text.encode("ascii").translate(None, _PRINTABLE_ASCII)


class _Parser:
    def __init__(
        self,
        numbers: list[int] | None,
        indents: list[int],
        rows: list[tuple],
        prefixes: set[tuple] | None,
        lines: dict[tuple, int],
    ):
        self.numbers = numbers
        self.indents = indents
        # The groups of _ROWS: (indent, item, key, dq, plain, val, content).
        self.rows = rows
        self.count = len(rows)
        self.i = 0
        self.prefixes = prefixes
        self.lines = lines
        self.depth = 0  # block collections open (node() calls)

    def _sub(self, path: tuple | None, key: Any, row: int) -> tuple | None:
        if path is None:
            return None
        sub = (*path, key)
        if sub in self.prefixes:
            self.lines[sub] = self.numbers[row]
            return sub
        return None

    def node(self, min_indent: int, path: tuple | None) -> Any:
        i = self.i
        indent, row = self.indents[i], self.rows[i]
        if indent < min_indent:
            raise Unsupported(f"indentation at row {i}")
        if _is_item(row):
            return self.sequence(indent, path)
        if row[2]:
            return self.mapping(indent, path)
        # A lone scalar as a whole node (document or nested value on its own line).
        self.i += 1
        return self.scalar(row[6], i)

    def mapping(self, indent: int, path: tuple | None) -> dict:
        indents, count, rows = self.indents, self.count, self.rows
        keys = _KEYS
        letters, words, implicit, digits = _LETTERS, _WORDS, _IMPLICIT, _DIGITS
        result: dict = {}
        self._enter()
        i = self.i
        while i < count:
            ind = indents[i]
            if ind != indent:
                if ind > indent:
                    raise Unsupported(f"indentation at row {i}")
                break
            _, item, raw_key, dq, plain, val, _ = rows[i]
            if item or not raw_key:
                if _is_item(rows[i]):
                    break
                raise Unsupported(f"not a key at row {i}")
            key = keys.get(raw_key)
            if key is None:
                key = self.key(raw_key, i)
                if isinstance(key, str) and len(keys) < 10000:
                    keys[raw_key] = key
            if key in result:
                raise Unsupported(f"duplicate key {key!r} at row {i}")
            sub = None if path is None else self._sub(path, key, i)
            i += 1
            if dq:
                result[key] = dq[1:-1]
            elif plain:
                # resolve(), inlined for the two common cases: a letter-first
                # word (only bools and null resolve) and a first character no
                # resolver knows (a string).
                first = plain[0]
                if first in letters:
                    value = words.get(plain, plain)
                    if value is _AMBIGUOUS:
                        raise Unsupported(f"ambiguous scalar at row {i}")
                    result[key] = value
                elif first not in implicit:
                    result[key] = plain
                elif (
                    first in digits
                    and plain.isdigit()
                    and plain.isascii()
                    and (first != "0" or len(plain) == 1)
                ):
                    result[key] = int(plain)  # a decimal integer, as resolve() reads it first
                else:
                    result[key] = resolve(plain)
            elif not val or val[0] == "#":
                self.i = i
                if i < count and indents[i] > ind:
                    result[key] = self.node(ind + 1, sub)
                elif i < count and indents[i] == ind and _is_item(rows[i]):
                    result[key] = self.sequence(ind, sub)
                else:
                    result[key] = None
                i = self.i
            else:
                result[key] = self.scalar(val, i - 1, sub)
        self.i = i
        self.depth -= 1
        return result

    def _enter(self) -> None:
        """One more collection open; near the dialect's nesting limit the full reader decides."""
        self.depth += 1
        if self.depth > MAX_DEPTH - 1:
            raise Unsupported(f"deep nesting at row {self.i}")

    def sequence(self, indent: int, path: tuple | None) -> list:
        indents, count, rows = self.indents, self.count, self.rows
        result: list = []
        self._enter()
        while self.i < count:
            i = self.i
            ind, row = indents[i], rows[i]
            if ind != indent or not (row[1] or row[6] == "-" or row[6][:2] == "- "):  # _is_item(row)
                if ind > indent:
                    raise Unsupported(f"indentation at row {i}")
                break
            number = i
            sub = None if path is None else self._sub(path, len(result), number)
            if row[1]:
                # A compact mapping (the text after "- " is a key line): its
                # keys line up with that text.
                indents[i] = ind + len(row[1])
                rows[i] = (row[0], "", *row[2:])
                result.append(self.mapping(indents[i], sub))
                continue
            rest = row[6][1:].lstrip(" ")
            if not rest or rest[0] == "#":
                self.i += 1
                if self.i < count and indents[self.i] > ind:
                    result.append(self.node(ind + 1, sub))
                else:
                    result.append(None)
            elif rest[:2] == "- " or rest == "-":
                raise Unsupported(f"nested compact sequence at row {number}")
            else:
                self.i += 1
                result.append(self.scalar(rest, number, sub))
        self.depth -= 1
        return result

    def key(self, text: str, number: int) -> Any:
        first = text[0]
        if first == '"':
            return text[1:-1]
        if first == "'":
            return text[1:-1].replace("''", "'")
        key = resolve(text)
        if isinstance(key, (list, dict)):
            raise Unsupported(f"complex key at row {number}")
        return key

    def flow(self, text: str, number: int, path: tuple | None) -> Any:
        """A one-line flow collection (``text`` starts with ``[`` or ``{``)."""
        if text[0] == "{" and path is None:
            match = _SIMPLE_MAP.match(text)
            if match is not None and (match.end() == len(text) or text[match.end() :].lstrip()[:1] == "#"):
                if match.end() != len(text):
                    _comment_only(text[match.end() :], number)
                return _simple_pairs(match.group(1), number)
        value, end = _flow(text, 0, number, path, self)
        if end != len(text):
            _comment_only(text[end:], number)
        return value

    def scalar(self, text: str, number: int, path: tuple | None = None) -> Any:
        first = text[0]
        if first == '"' or first == "'":
            match = (_DQ if first == '"' else _SQ).match(text)
            if match is None:
                raise Unsupported(f"quoted scalar at row {number}")
            if match.end() != len(text):
                _comment_only(text[match.end() :], number)
            value = match.group(1)
            return value if first == '"' else value.replace("''", "'")
        if first == "[" or first == "{":
            if path is not None:  # lines wanted: no cache
                return self.flow(text, number, path)
            cached = _FLOWS.get(text)
            if cached is not None:
                return cached.copy()
            value = self.flow(text, number, None)
            if len(_FLOWS) < 10000 and not any(
                isinstance(v, (list, dict)) for v in (value.values() if isinstance(value, dict) else value)
            ):
                _FLOWS[text] = value.copy()
            return value
        if first in _BAD_START or text[:2] == "- " or text == "-":
            raise Unsupported(f"indicator {first!r} at row {number}")
        if "#" in text:
            cut = text.find(" #")
            if cut >= 0:
                text = text[:cut].rstrip(" ")
            if "#" in text:
                raise Unsupported(f"ambiguous plain scalar at row {number}")
        if ": " in text or text[-1] == ":":
            raise Unsupported(f"ambiguous plain scalar at row {number}")
        return resolve(text)


def _simple_pairs(body: str, number: int) -> dict:
    result: dict = {}
    keys = _KEYS
    for key, quoted, plain in _SIMPLE_PAIR.findall(body):
        if key in result:
            raise Unsupported(f"duplicate key {key!r} at row {number}")
        name = keys.get(key)
        if name is None:
            name = resolve(key)
            if isinstance(name, str) and len(keys) < 10000:
                keys[key] = name
        if plain:
            plain = plain.rstrip(" ")
            # resolve() inlined for a letter-first word, as in _Parser.mapping.
            first = plain[:1]
            if first in _LETTERS:
                value = _WORDS.get(plain, plain)
                if value is _AMBIGUOUS:
                    raise Unsupported(f"ambiguous scalar at row {number}")
                result[name] = value
            elif first not in _IMPLICIT:
                result[name] = plain
            else:
                result[name] = resolve(plain)
        else:
            result[name] = quoted
    return result


def _markers(text: str) -> list[str]:
    """``_MARKER.findall(text)``; the regex walks every character, a substring search does not."""
    if "\n---" not in text and "\n..." not in text:
        # Only the start of the text can hold one.
        return [text[:3]] if text.startswith(("---", "...")) else []
    return _MARKER.findall(text)


def _is_item(row: tuple) -> bool:
    """Whether a row of _ROWS is a sequence item ("- ..." or "-")."""
    if row[1]:
        return True
    content = row[6]
    return content == "-" or content.startswith("- ")


def _comment_only(rest: str, number: int) -> None:
    stripped = rest.strip()
    if stripped and not (stripped[0] == "#" and rest[:1] in (" ", "")):
        raise Unsupported(f"text after a value at row {number}")


def _flow(text: str, pos: int, number: int, path: tuple | None, parser: _Parser) -> tuple[Any, int]:
    """Parse one flow collection starting at ``text[pos]``; return (value, end)."""
    parser._enter()
    value = _flow_items(text, pos, number, path, parser)
    parser.depth -= 1
    return value


def _flow_items(text: str, pos: int, number: int, path: tuple | None, parser: _Parser) -> tuple[Any, int]:
    opening = text[pos]
    closing = "]" if opening == "[" else "}"
    result: Any = [] if opening == "[" else {}
    pos += 1
    expect_item = True
    while True:
        match = _FLOW_TOKEN.match(text, pos)
        if match is None:
            raise Unsupported(f"flow collection at row {number}")
        punct = match.group("p")
        if punct == closing:
            return result, match.end()
        if punct == ",":
            if expect_item:
                raise Unsupported(f"empty flow entry at row {number}")
            expect_item = True
            pos = match.end()
            continue
        if not expect_item:
            raise Unsupported(f"missing comma at row {number}")
        item, pos = _flow_scalar_or_collection(text, match, number, path, parser)
        if opening == "[":
            result.append(item)
        else:
            colon = _FLOW_TOKEN.match(text, pos)
            if colon is None or colon.group("colon") is None or isinstance(item, (list, dict)):
                raise Unsupported(f"flow mapping entry at row {number}")
            if item in result:
                raise Unsupported(f"duplicate key {item!r} at row {number}")
            value_match = _FLOW_TOKEN.match(text, colon.end())
            if value_match is None or value_match.group("p") in (",", "}"):
                result[item] = None
                pos = colon.end()
            else:
                sub = parser._sub(path, item, number)
                result[item], pos = _flow_scalar_or_collection(text, value_match, number, sub, parser)
        expect_item = False


def _flow_scalar_or_collection(
    text: str, match: re.Match, number: int, path: tuple | None, parser: _Parser
) -> tuple[Any, int]:
    punct = match.group("p")
    if punct in ("[", "{"):
        return _flow(text, match.end() - 1, number, path, parser)
    if punct is not None or match.group("colon") is not None:
        raise Unsupported(f"flow collection at row {number}")
    if match.group("dq") is not None:
        return match.group("dq"), match.end()
    if match.group("sq") is not None:
        return match.group("sq").replace("''", "'"), match.end()
    plain = match.group("plain").rstrip()
    if plain.startswith("- ") or plain == "-":
        raise Unsupported(f"flow plain scalar at row {number}")
    return resolve(plain), match.end()
