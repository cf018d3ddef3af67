"""Read one YAML file of an inventory: fast subset parser first, full loader second.

Values come out as Ansible's loader would give them (PyYAML safe types);
``!vault`` scalars become :class:`VaultValue` and ``!unsafe`` strings plain
strings. Whole-file vault encryption is reported as :data:`ENCRYPTED`.
Line numbers are found afterwards and only for the key paths asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from voipctl.model import dialect, fastyaml


class VaultValue(str):
    """An ``!vault`` encrypted scalar: a secret the validator never sees."""


class _EncryptedFile:
    def __repr__(self) -> str:
        return "ENCRYPTED"


ENCRYPTED = _EncryptedFile()


class YamlFileError(Exception):
    """A file that is not valid YAML or not in the dialect; ``line`` is 1-based when known, ``path`` a key path."""

    def __init__(self, message: str, line: int | None, path: tuple = (), *, dialect: bool = False):
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path
        self.dialect = dialect  # valid YAML, but outside the estate's dialect


class _Loader(yaml.CSafeLoader):
    """PyYAML's C safe loader plus the two tags Ansible adds."""


_Loader.add_constructor("!vault", lambda loader, node: VaultValue(loader.construct_scalar(node)))
_Loader.add_constructor("!unsafe", lambda loader, node: str(loader.construct_scalar(node)))


def load_text(text: str) -> Any:
    """Parse YAML text as Ansible's loader would (fast path first), in the estate's dialect.

    Text outside the dialect (``voipctl.model.dialect``: ambiguous numbers and
    words, duplicate keys, aliases, deep nesting, a byte order mark) raises
    YamlFileError with its line and key path, as does text that is not YAML.
    """
    if text.startswith("$ANSIBLE_VAULT"):
        return ENCRYPTED
    if text.lstrip()[:1] in ("{", "["):
        found = _json(text)
        if found is not _NOT_JSON:
            return found
    try:
        return fastyaml.parse(text)
    except fastyaml.Unsupported:
        pass
    except fastyaml.BadScalar as exc:
        raise YamlFileError(str(exc), _line_of_scalar(text, exc.text)) from None
    try:
        dialect.scan(text)
    except dialect.DialectError as exc:
        raise YamlFileError(exc.message, exc.line, exc.path, dialect=True) from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise YamlFileError(problem, mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(str(exc), None) from None
    except (ValueError, OverflowError, TypeError) as exc:
        # Constructors reject values such as an unquoted 2026-13-01.
        raise YamlFileError(f"invalid value: {exc}", None) from None


_NOT_JSON = object()
# Keys Ansible's JSON decoder turns into tagged values instead of mappings.
_ANSIBLE_JSON_KEYS = ("__ansible_unsafe", "__ansible_vault")


def _json(text: str) -> Any:
    """JSON as Ansible reads it first (json.loads before YAML), or _NOT_JSON when it is not JSON.

    Duplicate keys, NaN and Infinity (Python's json accepts them), and the
    keys Ansible's decoder turns into tagged values are refused.
    """

    def pairs(items: list[tuple[str, Any]]) -> dict:
        result: dict = {}
        for key, value in items:
            if key in result:
                raise YamlFileError(f"duplicate key {key!r}: JSON keeps only the last one", None, (key,))
            if key in _ANSIBLE_JSON_KEYS:
                raise YamlFileError(f"{key!r} is Ansible's own encoding, not estate data", None, (key,))
            result[key] = value
        return result

    def constant(name: str) -> Any:
        raise YamlFileError(f"{name} is not a JSON number", None)

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError:
        return _NOT_JSON
    except RecursionError:
        data = None
    if data is None or _too_deep(data):
        raise YamlFileError(f"nested deeper than {dialect.MAX_DEPTH} levels", None)
    return data


def _too_deep(data: Any) -> bool:
    """Whether collections nest deeper than the dialect allows (iteratively: no recursion limit to hit)."""
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, (dict, list)):
            if depth > dialect.MAX_DEPTH:
                return True
            todo.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def _line_of_scalar(text: str, scalar: str) -> int | None:
    at = text.find(scalar)
    return None if at < 0 else text.count("\n", 0, at) + 1


def load_file(path: Path) -> Any:
    """Parse one file; JSON is YAML too. Raises YamlFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"not UTF-8 text ({exc.reason})", None) from None
    except OSError as exc:
        raise YamlFileError(f"cannot read: {exc.strerror}", None) from None
    return load_text(text)


def find_lines(path: Path, paths: set[tuple]) -> dict[tuple, int]:
    """1-based lines of the given key paths (and their ancestors) in ``path``.

    Missing paths are left out; callers fall back to the nearest ancestor.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    lines: dict[tuple, int] = {}
    try:
        fastyaml.parse(text, want=paths, lines=lines)
        return lines
    except (fastyaml.Unsupported, fastyaml.BadScalar):
        lines.clear()
    try:
        root = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError):
        return {}
    wanted = {p[:i] for p in paths for i in range(len(p) + 1)}
    _walk(root, (), wanted, lines)
    return lines


def _walk(node: Any, path: tuple, wanted: set[tuple], lines: dict[tuple, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            try:
                key = yaml.load(yaml.serialize(key_node), Loader=_Loader)
            except yaml.YAMLError:
                continue
            sub = (*path, key)
            if sub in wanted:
                lines[sub] = key_node.start_mark.line + 1
                _walk(value_node, sub, wanted, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            sub = (*path, index)
            if sub in wanted:
                lines[sub] = item.start_mark.line + 1
                _walk(item, sub, wanted, lines)
