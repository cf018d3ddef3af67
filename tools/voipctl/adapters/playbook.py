"""Run ansible-playbook with live output and return what the recap says.

The output streams to the terminal unchanged; alongside, the recap and the
names of changed tasks are collected so that callers can enforce
idempotence ("a second converge changes nothing") and report per host.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voipctl.errors import VoipctlError

RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failures>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)"
)
TASK_LINE = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.*)\] \**$")
CHANGED_LINE = re.compile(r"^changed: \[(?P<host>[^\]]+)\]")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class PlaybookResult:
    """Exit code, per-host recap counts and the tasks that reported a change."""

    returncode: int
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)
    changed_tasks: list[tuple[str, str]] = field(default_factory=list)
    output: str = ""

    @property
    def changed(self) -> int:
        return sum(h["changed"] for h in self.hosts.values())

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(
            h["failures"] == 0 and h["unreachable"] == 0 for h in self.hosts.values()
        )


def parse_output(lines: Iterable[str]) -> PlaybookResult:
    """Collect recap counts and changed tasks from ansible-playbook's default output."""
    result = PlaybookResult(returncode=0)
    task = "?"
    for raw in lines:
        line = ANSI.sub("", raw.rstrip("\n"))
        if m := TASK_LINE.match(line):
            task = m.group("name")
        elif m := CHANGED_LINE.match(line):
            result.changed_tasks.append((m.group("host").split(" ")[0], task))
        elif m := RECAP_LINE.match(line):
            result.hosts[m.group("host")] = {k: int(v) for k, v in m.groupdict().items() if k != "host"}
    return result


def add_passthrough(parser: argparse.ArgumentParser, text: str) -> None:
    """Let a command that runs a playbook take more ansible-playbook arguments after ``--``."""
    parser.add_argument("ansible_args", nargs=argparse.REMAINDER, help=text)


def passthrough(args: argparse.Namespace) -> list[str]:
    """The ansible-playbook arguments given after ``--`` (see ``add_passthrough``), without it."""
    return [a for a in args.ansible_args if a != "--"]


def run(
    root: Path,
    playbook: str,
    inventory: Path,
    extra_args: Sequence[str] = (),
    *,
    echo: bool = True,
) -> PlaybookResult:
    """Run ``ansible-playbook -i INVENTORY PLAYBOOK EXTRA`` from ``root``."""
    book = root / playbook
    if not book.is_file():
        raise VoipctlError(f"playbook {playbook} not found under {root}")
    exe = Path(sys.executable).with_name("ansible-playbook")
    cmd = [str(exe) if exe.exists() else "ansible-playbook", "-i", str(inventory), str(book), *extra_args]
    env = dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
    except FileNotFoundError as exc:
        raise VoipctlError("ansible-playbook is not installed", hint="run `make venv`") from exc
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if echo:
            sys.stdout.write(line)
            sys.stdout.flush()
    proc.wait()
    result = parse_output(lines)
    result.returncode = proc.returncode
    result.output = "".join(lines)
    return result
