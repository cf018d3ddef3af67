"""``voipctl validate``: check an inventory's estate model; exit 1 on errors.

Every finding names the file (relative to the inventory directory), the key
path and the line; all findings of a run are reported together. Warnings
alone exit 0. Bad data never produces a traceback.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import re
import sys
from pathlib import Path

from voipctl import paths
from voipctl.commandline import add_command, add_inventory_option
from voipctl.core.dates import cli_date
from voipctl.errors import VoipctlError
from voipctl.model.checks import Result, check, validate


def run(inventory: Path, today: datetime.date | None = None) -> Result:
    """Validate ``inventory`` (a directory, an inventory file or any Ansible source); VoipctlError if it is missing.

    A directory or a YAML inventory file is read by voipctl's fast loader;
    any other source (an inventory script, a plugin configuration such as
    ``constructed`` or NetBox's, a host list) by Ansible, as the preflight
    reads it (``voipctl.adapters.estate``). Both give the same findings.
    """
    if "," in str(inventory) and not inventory.exists():
        return _with_ansible(str(inventory), today)
    if not inventory.exists():
        raise VoipctlError(f"inventory {inventory} does not exist")
    if inventory.is_file() and needs_ansible(inventory):
        return _with_ansible(str(inventory), today)
    return validate(inventory, today)


def needs_ansible(path: Path) -> bool:
    """Whether only Ansible can read the inventory file ``path``: a script, or a plugin's configuration."""
    if os.access(path, os.X_OK):
        return True
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return PLUGIN_KEY.search(head) is not None


PLUGIN_KEY = re.compile(r"^plugin\s*:", re.MULTILINE)


def _with_ansible(source: str, today: datetime.date | None) -> Result:
    from ansible.errors import AnsibleError

    from voipctl.adapters.estate import load_with_ansible

    try:
        loaded = load_with_ansible([source])
    except AnsibleError as exc:
        raise VoipctlError(f"cannot load inventory {source}: {exc}") from exc
    return check(loaded, today)


def render_text(result: Result, inventory: Path) -> str:
    """Human report: one line per finding, then a summary line."""
    lines = [p.render() for p in result.problems]
    errors, warnings = len(result.errors), len(result.warnings)
    verdict = "invalid" if errors else "valid"
    lines.append(f"{inventory}: {verdict} ({errors} error(s), {warnings} warning(s))")
    return "\n".join(lines)


def render_json(result: Result, inventory: Path) -> str:
    """Machine report: {inventory, valid, errors, warnings, problems: [...]}."""
    return json.dumps(
        {
            "inventory": str(inventory),
            "valid": not result.errors,
            "errors": len(result.errors),
            "warnings": len(result.warnings),
            "problems": [p.as_dict() for p in result.problems],
        },
        indent=2,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    inventory = Path(args.inventory) if args.inventory else paths.repo_root() / "inventory" / "lab"
    # validate() keeps the cyclic collector off while it builds millions of
    # objects (no cycles among them). Switched back on before the report, its
    # first collection walks every one of them, about a second on a 100,000
    # user estate: keep it off until the result is gone.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _report(inventory, args)
    finally:
        if enabled:
            gc.enable()


def _report(inventory: Path, args: argparse.Namespace) -> int:
    result = run(inventory, args.date)
    report = render_json(result, inventory) if args.format == "json" else render_text(result, inventory)
    sys.stdout.write(report + "\n")
    return 1 if result.errors else 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub, "validate", "check the estate model of an inventory (exit 1 on errors)", __doc__
    )
    add_inventory_option(parser, "inventory directory")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument(
        "--date", type=cli_date, default=None, help="validate as of this day (grants, leavers); default today"
    )
    parser.set_defaults(func=cmd_validate)
