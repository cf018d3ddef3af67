"""HTTP as a desk phone speaks it to the provisioning server (basic authentication with its login).

With ``provisioning_server_tls`` on, phones fetch over HTTPS and trust the
provisioning server's certificate (the lab's is self-signed and made on the
host): ``file_url`` gives the URL a phone uses, ``trust`` adds a certificate
(tests/sip/conftest.py loads the lab's), and an HTTPS request trusts only
those.
"""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

_TRUSTED: list[str] = []


def trust(pem: str) -> None:
    """Trust ``pem`` (a provisioning server's certificate) for HTTPS requests."""
    if pem not in _TRUSTED:
        _TRUSTED.append(pem)


def _context() -> ssl.SSLContext:
    assert _TRUSTED, "no provisioning server certificate is trusted (phone_http.trust)"
    return ssl.create_default_context(cadata="".join(_TRUSTED))


def file_url(server: Mapping[str, Any], path: str) -> str:
    """The URL a phone fetches ``path`` from on ``server`` (its host variables): HTTPS when TLS is on."""
    address, path = server["ansible_host"], path.lstrip("/")
    if server.get("provisioning_server_tls"):
        port = int(server.get("provisioning_server_tls_port") or 443)
        return f"https://{address}{'' if port == 443 else f':{port}'}/{path}"
    port = int(server.get("provisioning_server_port") or 80)
    return f"http://{address}{'' if port == 80 else f':{port}'}/{path}"


def http_exchange(url: str, login: tuple[str, str] | None = None) -> tuple[int, Mapping[str, str], str]:
    """(status, headers, body) of a GET as a phone makes it, with HTTP basic authentication when given a login."""
    request = urllib.request.Request(url)
    if login:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = _context() if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, ""


def http_get(url: str, login: tuple[str, str] | None = None) -> tuple[int, str]:
    """(status, body) of a GET as a phone makes it, with HTTP basic authentication when given a login."""
    status, _headers, body = http_exchange(url, login)
    return status, body
