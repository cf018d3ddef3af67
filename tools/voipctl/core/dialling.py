"""How a site dials out: its national and international prefixes, by country code."""

from __future__ import annotations

from typing import Any

# Country code -> (national prefix, international prefix); every other country: 0 and 00.
DIAL_PREFIXES = {"1": ("1", "011"), "7": ("8", "810"), "61": ("0", "0011"), "81": ("0", "010")}


def dial_prefixes(country_code: Any) -> tuple[str, str]:
    """(national prefix, international prefix) of a site with ``country_code`` (none: 0 and 00)."""
    return DIAL_PREFIXES.get(str(country_code or ""), ("0", "00"))
