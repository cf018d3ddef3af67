"""The preflight: validate an inventory once per process, before any host is touched.

Two Ansible plugins call it: ``vars_plugins/voip_preflight.py`` while the
inventory is read (so ``--limit``, ``--tags`` and ``--start-at-task`` cannot
skip it) and the ``voip_validate`` action of the preflight play, which shows
the warnings. Ansible's workers are forked from the process that read the
inventory, so the action finds the result here and does not validate again.
A result is reused only while no file of the inventory changed.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from pathlib import Path

from voipctl.model.checks import Result, validate

_RESULTS: dict[tuple, Result] = {}
_SUSPENDED = [0]


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Read an inventory in this process without the preflight (``voipctl.adapters.inventory.load``).

    voipctl's own readers (lab topology, records directory, release
    settings) need a few variables, not a valid estate: the playbooks they
    then run validate it. Only code in this process can suspend it.
    """
    _SUSPENDED[0] += 1
    try:
        yield
    finally:
        _SUSPENDED[0] -= 1


def active() -> bool:
    return not _SUSPENDED[0]


def fingerprint(source: str) -> tuple:
    """(path, size, mtime) of every file under ``source`` (or of the file itself), sorted."""
    found = []
    if os.path.isdir(source):
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                try:
                    stat = os.stat(full)
                except OSError:
                    continue  # a dangling or looping link: the validation reports it
                found.append((full, stat.st_size, stat.st_mtime_ns))
    elif os.path.exists(source):
        stat = os.stat(source)
        found.append((source, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def validated(source: str | Path, today: datetime.date | None = None) -> Result:
    """The validation of ``source`` as of ``today``, computed once while its files stay the same."""
    source = os.path.abspath(str(source))
    day = today or datetime.date.today()
    key = (source, day, fingerprint(source))
    result = _RESULTS.get(key)
    if result is None:
        _RESULTS.clear()
        result = _RESULTS[key] = validate(Path(source), day)
    return result


def report(source: str, result: Result) -> str:
    """The errors of ``result`` as an operator reads them: a summary line, then one line per error."""
    errors = result.errors
    lines = [p.render() for p in errors]
    return "\n".join(
        [
            f"estate model: {len(errors)} error(s) in {source}; nothing was run on any host",
            *lines,
            "fix the inventory (voipctl validate -i INVENTORY shows the same findings)",
        ]
    )
