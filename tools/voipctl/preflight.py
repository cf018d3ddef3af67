"""The preflight: validate the estate once per process, before any host is touched.

Two Ansible plugins call it: the collection's ``plugins/vars/voip_preflight.py`` while the
inventory is read (so ``--limit``, ``--tags`` and ``--start-at-task`` cannot
skip it) and the ``voip_validate`` action of the preflight play, which shows
the warnings. Both validate the estate as Ansible loaded it, from any
inventory source (``voipctl.adapters.estate``), not the files on disk.
Ansible's workers are forked from the process that read the inventory, so
the action finds the result here and does not validate again. A result is
reused only while no file of the inventory sources changed.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voipctl.model.checks import Result, check, validate

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


def validated_inventory(
    all_group: Any, loader: Any, sources: list[str], today: datetime.date | None = None
) -> Result:
    """The validation of the estate Ansible loaded (its group ``all``) from ``sources``, computed once.

    The result is kept while the files of the sources stay the same: the
    vars plugin computes it while Ansible reads the inventory, the
    ``voip_validate`` action (in a worker forked later) finds it here.
    """
    from voipctl.adapters.estate import from_ansible

    day = today or datetime.date.today()
    key = ("ansible", tuple(sources), day, tuple(fingerprint(s) for s in sources))
    result = _RESULTS.get(key)
    if result is None:
        _RESULTS.clear()
        result = _RESULTS[key] = check(from_ansible(all_group, loader, sources), day)
    return result


def cached(sources: list[str], today: datetime.date | None = None) -> Result | None:
    """The result for ``sources`` computed earlier in this process (or the one it was forked from), if any."""
    day = today or datetime.date.today()
    return _RESULTS.get(("ansible", tuple(sources), day, tuple(fingerprint(s) for s in sources)))


def preflight(loader: Any, path: str, entities: list[Any]) -> tuple[str, Result]:
    """The vars plugin's check: the sources of this run (as text for the report) and their validation."""
    from voipctl.adapters.estate import all_group_of, sources_in_use

    sources = sources_in_use(path)
    return ", ".join(sources), validated_inventory(all_group_of(entities), loader, sources)


def validated_here(
    hostvars: Any, loader: Any, sources: list[str], today: datetime.date | None = None
) -> tuple[list[str], Result]:
    """The ``voip_validate`` action's check: the estate of this run, from the vars plugin's result when it is kept.

    ``hostvars`` (a play's ``hostvars``) leads to the inventory Ansible loaded.
    """
    from voipctl.adapters.estate import normalise_sources

    sources = normalise_sources(sources)
    result = cached(sources, today)
    if result is None:
        inventory = getattr(hostvars, "_inventory", None)
        if inventory is None:
            raise ValueError("the play's hostvars do not lead to Ansible's inventory")
        result = validated_inventory(inventory.groups["all"], loader, sources, today)
    return sources, result


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
