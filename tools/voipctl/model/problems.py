"""Problems found in an inventory, each naming file, key path and line."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voipctl.model.dialect import render_path
from voipctl.model.loader import Origin
from voipctl.model.yamlfile import find_lines

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding. ``path`` is the key path inside ``file``, e.g. ``voip_users[12].devices[0].mac``."""

    severity: str
    file: str
    path: str
    message: str
    line: int | None = None

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.path:
            where = f"{where}: {self.path}"
        return f"{self.severity}: {where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Reporter:
    """Collects findings as (origin, sub-path) and resolves their lines at the end."""

    def __init__(self, root: Path):
        self.root = root
        # (severity, file, path, message) -> the origin's own line, if it has one (insertion ordered)
        self._found: dict[tuple, int | None] = {}

    def add(self, severity: str, origin: Origin, sub: tuple, message: str) -> None:
        key = (severity, origin.file, (*origin.path, *sub), message)
        if self._found.get(key) is None:
            self._found[key] = origin.line

    def error(self, origin: Origin, sub: tuple, message: str) -> None:
        self.add(ERROR, origin, sub, message)

    def warning(self, origin: Origin, sub: tuple, message: str) -> None:
        self.add(WARNING, origin, sub, message)

    def file_error(self, file: str, line: int | None, message: str, path: tuple = ()) -> None:
        """A finding about a file as read (not a variable): its line is known, or found from ``path``."""
        if line is None and path:
            self._found[(ERROR, file, path, message)] = None
        else:
            self._found[(ERROR, file, ("@line", line, *path), message)] = None

    def problems(self) -> list[Problem]:
        """All findings with lines, errors first, then by file and line."""
        wanted: dict[str, set[tuple]] = defaultdict(set)
        for _sev, file, path, _msg in self._found:
            if path[:1] != ("@line",):
                wanted[file].add(path)
        lines = {file: find_lines(self.root / file, paths) for file, paths in wanted.items()}
        result = []
        for (severity, file, path, message), known in self._found.items():
            if path[:1] == ("@line",):
                result.append(Problem(severity, file, render_path(path[2:]), message, path[1]))
                continue
            found = lines.get(file, {})
            line = None
            for cut in range(len(path), 0, -1):
                line = found.get(path[:cut])
                if line is not None:
                    break
            result.append(
                Problem(severity, file, render_path(path), message, line if line is not None else known)
            )
        result.sort(key=lambda p: (p.severity != ERROR, p.file, p.line or 0, p.path))
        return result
