"""HTTP as a desk phone speaks it to the provisioning server (basic authentication with its login)."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request


def http_get(url: str, login: tuple[str, str] | None = None) -> tuple[int, str]:
    """(status, body) of a GET as a phone makes it, with HTTP basic authentication when given a login."""
    request = urllib.request.Request(url)
    if login:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
