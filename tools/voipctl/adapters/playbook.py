"""Run ansible-playbook with live output and return what the recap says.

The output streams to the terminal unchanged; alongside, the recap and the
names of changed tasks are collected so that callers can enforce
idempotence ("a second converge changes nothing") and report per host.
"""

from __future__ import annotations

import argparse
import importlib.util
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


MITOGEN_STRATEGY = "mitogen_linear"


def mitogen_strategies() -> Path | None:
    """The directory of mitogen's Ansible strategy plugins, or None when mitogen is not installed."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy"
    return found if (found / f"{MITOGEN_STRATEGY}.py").is_file() else None


def strategy_environment(environ: dict[str, str]) -> dict[str, str]:
    """The environment a playbook run by voipctl gets for its strategy (docs/performance.md).

    mitogen's ``mitogen_linear`` (one persistent interpreter per host instead
    of a module upload per task) when mitogen is installed and
    ``ANSIBLE_STRATEGY`` is not set; ``ANSIBLE_STRATEGY=linear`` (or any
    other) keeps stock Ansible. mitogen's plugin directory is added to
    ``ANSIBLE_STRATEGY_PLUGINS`` whenever it is installed, so that
    ``ANSIBLE_STRATEGY=mitogen_linear`` works too. ansible.cfg stays stock:
    ``ansible-playbook`` run by hand, AWX and the execution environment use
    Ansible's own strategy unless told otherwise.
    """
    env = dict(environ)
    plugins = mitogen_strategies()
    if plugins is None:
        if env.get("ANSIBLE_STRATEGY", "").startswith("mitogen"):
            raise VoipctlError(
                f"ANSIBLE_STRATEGY={env['ANSIBLE_STRATEGY']} but mitogen is not installed",
                hint="run `make venv` (requirements-runtime.txt pins it) or set ANSIBLE_STRATEGY=linear",
            )
        return env
    known = [p for p in env.get("ANSIBLE_STRATEGY_PLUGINS", "").split(os.pathsep) if p]
    env["ANSIBLE_STRATEGY_PLUGINS"] = os.pathsep.join([*known, str(plugins)])
    env.setdefault("ANSIBLE_STRATEGY", MITOGEN_STRATEGY)
    return env


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
    env = strategy_environment(
        dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    )
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
