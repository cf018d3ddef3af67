"""One rich console for voipctl output (stderr for progress and errors)."""

import sys

from rich.console import Console

# Logs (CI, make) are not terminals: give tables room instead of rich's 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160

out = Console(highlight=False, width=_WIDTH)
err = Console(stderr=True, highlight=False, width=_WIDTH)
