"""voipctl: the command line of voip-estate.

``main()`` only parses arguments and dispatches; each command lives in its
own module that exposes ``register(subparsers)`` and small functions that the
tests call directly.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from voipctl import __version__
from voipctl.errors import VoipctlError

# Command modules, in the order `voipctl --help` lists them.
COMMANDS = [
    "voiplab.cli",
    "voipctl.validate",
    "voipctl.generate",
    "voipctl.users_cli",
    "voipctl.hrsync",
    "voiplab.drill",
    "voipctl.release",
    "voipctl.os_updates",
    "voipctl.health",
    "voipctl.calls_cli",
    "voipctl.runs",
    "voipctl.docs",
    "voipctl.changelog",
    "voipctl.lint_commit",
]
# Commands that start without importing the other command modules (and with
# them rich, jinja2 and ansible: a second or so): `voipctl validate` runs in
# the preflight play and in CI. Their parser is the same as in the full one.
LEAN = {"validate": "voipctl.validate"}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``only`` (a LEAN module) just that command."""
    parser = argparse.ArgumentParser(
        prog="voipctl",
        description="Tools for the voip-estate repository: lab, validation, user changes, reports.",
    )
    parser.add_argument("--version", action="version", version=f"voipctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else [only]:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(LEAN.get(argv[0]) if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VoipctlError as exc:
        from rich.text import Text

        from voipctl.console import bounded, err

        # The message is text, never markup: it may quote input such as a name "[/]".
        err.print(Text.assemble(("error:", "bold red"), " ", bounded(exc.message)), soft_wrap=True)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", markup=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        from voipctl.console import err

        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
