"""How a message echoes an input value: ``shown``, cut short, never the whole of a pasted megabyte."""

from __future__ import annotations

import reprlib
from typing import Any

# A value echoed in a message is cut to about this many characters.
SHOWN_LIMIT = 60


def shown(value: Any) -> str:
    """``repr(value)`` for a message, cut to ~60 characters: ``'AAAA…' (50000000 characters)``.

    Every message that echoes an input value uses this: a pasted 50 MB
    string must not come back as a 50 MB line. Containers are shown with
    their number of items, never walked in full.
    """
    if isinstance(value, str):
        if len(value) <= SHOWN_LIMIT:
            return repr(value)
        head = repr(value[:SHOWN_LIMIT])
        return f"{head[:-1]}…{head[-1]} ({len(value)} characters)"
    if isinstance(value, (bytes, bytearray)):
        if len(value) <= SHOWN_LIMIT:
            return repr(value)
        return f"{repr(bytes(value[:SHOWN_LIMIT]))[:-1]}…' ({len(value)} bytes)"
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        text = _SHORT.repr(value)
        if len(text) > SHOWN_LIMIT:
            text = text[:SHOWN_LIMIT] + "…"
        return f"{text} ({len(value)} items)" if len(value) > _SHORT.maxlist or text.endswith("…") else text
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        return "a number of thousands of digits"
    return text if len(text) <= SHOWN_LIMIT else f"{text[:SHOWN_LIMIT]}… ({len(text)} characters)"


# Containers: a few items, each cut short, two levels deep.
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 24
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = _SHORT.maxfrozenset = 5
_SHORT.maxlevel = 2
