"""The trunks a call server sends calls to and the ``uacreg`` table: their accounts and registrations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voipctl.derive.kamailio.common import KamailioDataError
from voipctl.derive.kamailio.routes import trunk_uri

# uacreg flags: a trunk that does not register has its registration disabled
# (and expires 0: the uac module sends no REGISTER for it); its row only
# holds the credentials the call server answers the carrier's challenges with.
UAC_REG_DISABLED = 1


def _contact_address(address: str, port: int, tls_port: int, transport: str) -> str:
    """Where a carrier reaches this call server over ``transport`` (a Contact's host part, no ``sip:``)."""
    if transport == "tls":
        return f"{address}:{tls_port};transport=tls"
    return f"{address}:{port}" + (";transport=tcp" if transport == "tcp" else "")


def trunk_accounts(
    routed: list[Mapping[str, Any]],
    registering: set[str],
    secrets_by_ref: Mapping[str, str],
    *,
    domain: str,
    contact: Mapping[str, Any],
    expires: int,
) -> list[dict[str, Any]]:
    """uacreg rows: the account of every trunk this call server routes calls to.

    ``l_uuid`` is the trunk's name (the user part of the registered Contact,
    and the key kamailio.cfg finds the credentials by when the carrier
    challenges a call); the user is the trunk's ``username`` (default: its
    name) at its address; the password the vault variable
    ``credentials_ref`` holds (the only secret of the row: column
    ``auth_password``). Trunks in ``registering`` register every
    ``expires`` seconds; the others never (expires 0, disabled).
    """
    rows = []
    for trunk in routed:
        ref = trunk.get("credentials_ref")
        secret = secrets_by_ref.get(ref) if ref else None
        if not secret:
            raise KamailioDataError(f"trunk {trunk['name']}: its secret {ref!r} is not in the vault")
        if not isinstance(secret, str):
            # YAML made a number of it (0044 is 36): the carrier would get another password.
            raise KamailioDataError(f"trunk {trunk['name']}: {ref} is not a string: quote it in the vault")
        user = str(trunk.get("username") or trunk["name"])
        registers = trunk["name"] in registering
        transport = trunk.get("transport", "udp")
        rows.append(
            {"l_uuid": trunk["name"], "l_username": user, "l_domain": domain, "r_username": user,
             "r_domain": str(trunk["address"]), "realm": str(trunk.get("realm") or ""), "auth_username": user,
             "auth_password": str(secret), "auth_proxy": trunk_uri(trunk),
             "expires": int(expires) if registers else 0, "flags": 0 if registers else UAC_REG_DISABLED,
             "reg_delay": 0,
             "contact_addr": _contact_address(contact["address"], contact["port"], contact["tls_port"], transport)}
        )  # fmt: skip
    return rows


def trunk_data(
    routes: Mapping[str, list[dict[str, Any]]],
    trunks: list[Mapping[str, Any]],
    own_trunks: list[Mapping[str, Any]],
    secrets_by_ref: Mapping[str, str],
    *,
    domain: str,
    contact: Mapping[str, Any],
    expires: int,
) -> dict[str, Any]:
    """The trunks a call server sends calls to, and the ones it registers with.

    ``pstn_trunks``: each route's destination names its trunk (whose account
    answers the carrier's challenges) and the channels it carries at most
    (0: no limit; kamailio.cfg counts calls per trunk). ``registered_trunks``:
    the site's own trunks (trusted for inbound calls) whose model says
    ``register: true``; a call to their registered Contact (user: the
    trunk's name) is for the number in its To header. ``trunk_accounts``:
    the uacreg rows (``trunk_accounts``).
    """
    by_name = {t["name"]: t for t in trunks}
    names = dict.fromkeys(r["name"] for found in routes.values() for r in found if r["kind"] == "trunk")
    routed = [by_name[n] for n in names]
    registering = {t["name"] for t in own_trunks if t.get("register")}
    return {
        "pstn_trunks": [
            {"name": t["name"], "destination": trunk_uri(t), "channels": int(t.get("channels") or 0)}
            for t in routed
        ],
        "registered_trunks": [
            {"name": t["name"], "address": str(t["address"])} for t in own_trunks if t["name"] in registering
        ],
        "trunk_accounts": trunk_accounts(
            routed, registering, secrets_by_ref, domain=domain, contact=contact, expires=expires
        ),
    }
