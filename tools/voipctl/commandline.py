"""What the command modules' parsers share: a documented subcommand and the ``-i/--inventory`` option."""

from __future__ import annotations

import argparse


def add_command(
    sub: argparse._SubParsersAction, name: str, help: str, doc: str, *, raw: bool = True, **kwargs
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` shows ``doc`` (a module docstring) as written, or (not ``raw``) its
    first paragraph re-wrapped."""
    if raw:
        kwargs["formatter_class"] = argparse.RawDescriptionHelpFormatter
    else:
        doc = doc.split("\n\n")[0]
    return sub.add_parser(name, help=help, description=doc, **kwargs)


def add_inventory_option(parser: argparse.ArgumentParser, what: str = "inventory") -> None:
    """``-i/--inventory``: a path, or an environment name under inventory/ (``paths.resolve_inventory``)."""
    parser.add_argument("-i", "--inventory", help=f"{what} (default: inventory/lab)")
