"""The YAML values of the user directory: written so that Ansible reads what was meant.

Input is not trusted:

* Values are written so that Ansible (YAML 1.1, PyYAML) reads what was
  meant: a string that would read as something else unquoted (``Yes``,
  ``0123``, ``1:20``, ``null``) is written double-quoted (``text_value``),
  and every edited user entry is read back with the estate's loader
  (``voipctl.model.yamlfile.load_text``) after rendering and must equal the
  data meant (``check_reads_back``), else nothing is written.
* Every argument is checked for its length before any work on it
  (``argument``), and every value echoed in a message or summary is cut
  short (``shown``, ``clip``): a pasted 50 MB name costs no time and comes
  back as 60 characters.

This is the bottom of the directory modules: ``voipctl.directory_store``
reads and writes the files, ``voipctl.directory`` makes the changes.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from voipctl.errors import VoipctlError
from voipctl.model import yamlfile
from voipctl.model.types import Text, shown

# The longest name or grant reason: the model's Text.
TEXT_MAX = next(c.max_length for c in Text.__metadata__ if getattr(c, "max_length", None))
# The longest other argument (an e-mail address's maximum), and `set`'s YAML VALUE.
ARG_MAX = 254
VALUE_MAX = 1000


class DirectoryError(VoipctlError):
    """A change that cannot be made (unknown user, bad argument, invalid result)."""


def round_trip_yaml() -> YAML:
    """The round-trip YAML the directories are edited with: quotes kept, lines never wrapped, their indent."""
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def plain(value: Any) -> Any:
    """A round-trip node as plain Python data (for the derive functions)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def flow_map(**items: Any) -> CommentedMap:
    """A ``{key: value}`` mapping written in flow style, like the directories' devices and grants."""
    node = CommentedMap(items)
    node.fa.set_flow_style()
    return node


def argument(label: str, value: str, limit: int = ARG_MAX) -> str:
    """``value`` checked before any work is done on it: at most ``limit`` characters, UTF-8 text."""
    if len(value) > limit:
        raise DirectoryError(f"{label} {shown(value)} is too long: at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes of the command line that are not UTF-8
        raise DirectoryError(f"{label} {shown(value)} is not valid UTF-8 text") from None
    return value


def arguments(*items: tuple) -> None:
    """Check (label, value[, limit]) arguments with ``argument``; None values are skipped."""
    for label, value, *limit in items:
        if value is not None:
            argument(label, value, *limit)


# Strings that may be written unquoted (if the estate's loader reads them back as themselves):
# a letter or digit (any script) first, then letters, digits, spaces and a few marks.
_PLAIN_TEXT = re.compile(r"[^\W_][\w .@+()/'-]*")


def _reads_as(text: str, value: Any) -> bool:
    """Whether the estate's loader reads the YAML ``text`` as ``value`` (same type, same value)."""
    try:
        loaded = yamlfile.load_text(text)
    except yamlfile.YamlFileError:
        return False
    return type(loaded) is type(value) and loaded == value


def text_value(text: str) -> Any:
    """A string as it is written: plain when Ansible's YAML reads it back as the same text, else quoted.

    ``Jan de Vries`` stays plain; ``Yes``, ``0123``, ``1:20``, ``null``,
    ``~``, ``@x`` or ``a: b`` are written double-quoted and stay text.
    """
    if _PLAIN_TEXT.fullmatch(text) and not text.endswith(" ") and _reads_as(text, text):
        return text
    return quoted(text)


def quoted(text: str) -> Any:
    """A string written double-quoted, as the directories write DIDs, MACs and dates."""
    return DoubleQuotedScalarString(text)


_SCALARS = (bool, int, float, datetime.date, datetime.datetime)


def as_node(key: str, value: Any) -> Any:
    """``value`` (plain data) as round-trip nodes: strings quoted where needed, collections in flow style."""
    if isinstance(value, dict):
        node = flow_map()
        for item, sub in value.items():
            if type(item) is not str:
                raise DirectoryError(f"{key}: key {shown(item)} is not text")
            node[text_value(item)] = as_node(key, sub)
        return node
    if isinstance(value, list):
        seq = CommentedSeq(as_node(key, item) for item in value)
        seq.fa.set_flow_style()
        return seq
    if type(value) is str:
        return text_value(value)
    if value is None or type(value) in _SCALARS:
        return value
    raise DirectoryError(
        f"{key}: {shown(value)} is not a plain value (tags such as !vault are not taken here)"
    )


def check_reads_back(block: str, node: CommentedMap, where: str) -> None:
    """Belt and braces: an edited entry, as written, reads back (as Ansible would) as the data meant."""
    meant = plain(node)
    label = f"{where}: user {shown(str(meant.get('id')))}"
    try:
        read = yamlfile.load_text("voip_users:\n" + block)["voip_users"][0]
    except yamlfile.YamlFileError as exc:
        raise DirectoryError(
            f"{label}: the entry as written is refused: {exc.message}; nothing was written"
        ) from None
    found = _difference(meant, read, "")
    if found is not None:
        path, wanted, got = found
        raise DirectoryError(
            f"{label}: {path} would be written as {wanted} but read back by Ansible as {got}; nothing was written"
        )


_ABSENT = object()


def _difference(meant: Any, read: Any, path: str) -> tuple[str, str, str] | None:
    """The first key path where ``read`` is not ``meant`` (true is not 1), with both values shown."""
    if isinstance(meant, dict) and isinstance(read, dict):
        for key in [*meant, *(k for k in read if k not in meant)]:
            sub = f"{path}.{key}" if path else str(key)
            found = _difference(meant.get(key, _ABSENT), read.get(key, _ABSENT), sub)
            if found is not None:
                return found
        return None
    if isinstance(meant, list) and isinstance(read, list) and len(meant) == len(read):
        for index, (a, b) in enumerate(zip(meant, read, strict=True)):
            found = _difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if _kind(meant) == _kind(read) and (meant == read or (meant != meant and read != read)):  # NaN
        return None
    return path, _describe(meant), _describe(read)


def _kind(value: Any) -> str:
    for kind in (bool, int, float, str, datetime.datetime, datetime.date, dict, list):
        if isinstance(value, kind):
            return kind.__name__
    return "absent" if value is _ABSENT else type(value).__name__


def _describe(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    bases = {"int": int, "float": float, "str": str}  # ruamel's scalar types show as their base type
    kind = _kind(value)
    return shown(bases[kind](value) if kind in bases else plain(value))
