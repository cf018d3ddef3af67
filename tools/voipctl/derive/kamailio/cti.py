"""CTI accounts: the rights a call server grants, and the ``htable`` rows of their credential digests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.derive import secrets
from voipctl.derive.kamailio.common import KamailioDataError

# RPC methods no CTI right may grant: uac.* prints and changes the trunks'
# accounts (passwords included), htable.* the CTI credential digests and the
# drain flag, cfg.* the running settings.
CTI_DENIED_RPC = ("uac.", "htable.", "cfg.")


def _serves(account: Mapping[str, Any], host: str, site: str) -> bool:
    """Whether ``account`` may use call server ``host`` of ``site`` (no list: every one)."""
    servers = account.get("call_servers")
    account_sites = account.get("sites")
    return not ((servers and host not in servers) or (account_sites and site not in account_sites))


def account_methods(account: Mapping[str, Any], rights_methods: Mapping[str, Iterable[str]]) -> set[str]:
    """The RPC methods of ``account``'s rights; an unknown right or a method that exposes secrets is an error."""
    methods: set[str] = set()
    for right in account.get("rights", []):
        if right not in rights_methods:
            raise KamailioDataError(
                f"CTI account {account['name']}: right {right!r} has no methods "
                f"(known rights: {', '.join(sorted(rights_methods))})"
            )
        methods.update(rights_methods[right])
    exposing = sorted(m for m in methods if str(m).startswith(CTI_DENIED_RPC))
    if exposing:
        raise KamailioDataError(
            f"CTI account {account['name']}: methods {', '.join(exposing)} show or change the call "
            "server's accounts and secrets (trunk passwords, CTI credentials, settings): no CTI right grants them"
        )
    return methods


def cti_data(
    accounts: Iterable[Mapping[str, Any]],
    *,
    host: str,
    site: str,
    cti_secrets: Mapping[str, str] | None,
    rights_methods: Mapping[str, Iterable[str]] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(CTI accounts of call server ``host``, their htable rows): name, networks and methods; digests."""
    cti, credentials = [], []
    for account in accounts:
        if not _serves(account, host, site):
            continue
        methods = account_methods(account, rights_methods or {})
        ref = account.get("credentials_ref")
        secret = (cti_secrets or {}).get(ref) if ref else None
        if not secret:
            raise KamailioDataError(f"CTI account {account['name']}: its secret {ref!r} is not in the vault")
        cti.append(
            {"name": account["name"], "user": account["name"], "networks": list(account.get("source_networks", [])),
             "methods": sorted(methods)}
        )  # fmt: skip
        # The credential check's digest lives in the database (htable "cti"),
        # never in kamailio.cfg: a config diff must not carry credential material.
        credentials.append(
            {"key_name": account["name"], "key_type": 0, "value_type": 0,
             "key_value": secrets.basic_digest(account["name"], secret), "expires": 0}
        )  # fmt: skip
    return cti, credentials
