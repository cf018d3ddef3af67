"""What the builders of a call server's tables share: the error, number ranges, voicemail URIs."""

from __future__ import annotations

from typing import Any


class KamailioDataError(ValueError):
    """The model lacks something a call server needs; the message names it."""


def parse_range(text: Any, what: str) -> tuple[int, int]:
    """(first, last) of a range ``FROM-TO`` of numbers (a leading ``+`` ignored); ``what`` names it in errors."""
    try:
        lo, hi = (int(p.strip().lstrip("+")) for p in str(text).split("-"))
    except ValueError as exc:
        raise KamailioDataError(f"{what}: {text!r} is not a range FROM-TO") from exc
    return lo, hi


class VoicemailBox:
    """The voicemail URI of a mailbox number (None: the estate has no voicemail)."""

    def __init__(self, template: str | None, domain: str):
        self.template, self.domain = template, domain

    def __call__(self, number: str) -> str | None:
        if not self.template:
            return None
        return str(self.template).format(extension=number, domain=self.domain)
