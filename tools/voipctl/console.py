"""One rich console for voipctl output (stderr for progress and errors)."""

import sys

from rich.console import Console

# Logs (CI, make) are not terminals: give tables room instead of rich's 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160

out = Console(highlight=False, width=_WIDTH)
err = Console(stderr=True, highlight=False, width=_WIDTH)
# A line of a message, report or diff is cut to this many characters.
LINE_MAX = 1000


def bounded(text: str, limit: int = LINE_MAX) -> str:
    """``text`` with every line cut to ``limit`` characters (a pasted 50 MB value never comes back whole)."""
    if len(text) <= limit:
        return text
    return "\n".join(
        line if len(line) <= limit else f"{line[:limit]}… ({len(line)} characters)"
        for line in text.split("\n")
    )
