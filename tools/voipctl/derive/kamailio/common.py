"""What the builders of a call server's tables share: the error, number ranges, voicemail URIs."""

from __future__ import annotations

from typing import Any

from voipctl.core import ranges


class KamailioDataError(ValueError):
    """The model lacks something a call server needs; the message names it."""


def parse_range(text: Any, what: str, *, e164: bool) -> tuple[int, int]:
    """(first, last) of an extension range, or with ``e164`` a DID range (``voipctl.core.ranges``);
    ``what`` names it in errors."""
    try:
        return ranges.parse_range(text, e164=e164)
    except ValueError as exc:
        raise KamailioDataError(f"{what}: {exc}") from exc


class VoicemailBox:
    """The voicemail URI of a mailbox number (None: the estate has no voicemail)."""

    def __init__(self, template: str | None, domain: str):
        self.template, self.domain = template, domain

    def __call__(self, number: str) -> str | None:
        if not self.template:
            return None
        return str(self.template).format(extension=number, domain=self.domain)
