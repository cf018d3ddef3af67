"""Number ranges of the estate model: ``"2000-2999"`` (extensions), ``"+31201234000-+31201234999"`` (DIDs).

The one reader of a range: the model's validation, the derived call-server,
gateway and free-number values all read ranges with ``parse_range``, so a
range the model accepts means the same numbers everywhere.
"""

from __future__ import annotations

import re

from voipctl.core.text import shown

# An E.164 number: '+', a country code not starting with 0, 7 to 15 digits in all.
E164_RE = r"^\+[1-9][0-9]{6,14}$"


def parse_range(text: str, *, e164: bool) -> tuple[int, int]:
    """``"2000-2999"`` -> (2000, 2999); ``"+3120..00-+3120..99"`` likewise for DIDs.

    Raises ValueError naming the text when it is not a non-empty range.
    """
    if not isinstance(text, str):
        raise ValueError(f"{shown(text)} is not a quoted range such as {_example(e164)}")
    low, sep, high = text.partition("-+" if e164 else "-")
    if e164:
        high = "+" + high
    pattern = E164_RE if e164 else r"^[0-9]{1,15}$"
    if not sep or not re.match(pattern, low) or not re.match(pattern, high):
        raise ValueError(f"{shown(text)} is not a range such as {_example(e164)}")
    if len(low) != len(high):
        raise ValueError(f"{shown(text)}: both ends must have the same number of digits")
    lo, hi = int(low), int(high)
    if lo > hi:
        raise ValueError(f"{shown(text)}: the range is empty (start after end)")
    return lo, hi


def _example(e164: bool) -> str:
    return "'+31201234000-+31201234999'" if e164 else "'2000-2999'"
