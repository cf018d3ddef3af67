"""Kamailio filters: a call server's data from the estate model. Logic lives in voipctl.derive.kamailio."""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.adapters.hosts import call_servers, gateways
    from voipctl.adapters.vars import plain
    from voipctl.core.activity import UserDataError
    from voipctl.core.passwords import SecretError
    from voipctl.derive.kamailio import KamailioDataError, call_server_data, site_members


def voip_kamailio_data(host, hostvars, groups, master_secret, cti_secrets=None, cti_rights_methods=None,
                       voicemail_uri=None, today=None, rows_json=None, trunk_secrets=None,
                       trunk_register_expires=600, tls_port=5061):  # fmt: skip
    """``inventory_hostname | voip_kamailio_data(hostvars, groups, master_secret, ...)``.

    ``trunk_secrets``: the trunks' passwords by the vault variable names
    their ``credentials_ref`` give (only the ``trunk_accounts`` rows hold them).

    With ``rows_json`` (table names) those tables come as one compact JSON
    string each, what the table modules take, and the other keys as they
    are (why: docs/performance.md#rows-travel-as-one-json-string).
    """
    need_voipctl("voip_kamailio_data")
    me = hostvars[host]
    peers = _other_call_servers(host, hostvars, groups)
    try:
        data = call_server_data(
            host,
            site=me["voip_site"],
            address=me["ansible_host"],
            call_server=plain(me.get("voip_call_server")) or {},
            sites=plain(me["voip_sites"]),
            users=plain(me.get("voip_users")) or [],
            hunt_groups=plain(me.get("voip_hunt_groups")) or [],
            trunks=plain(me.get("voip_trunks")) or [],
            gateways=gateways(hostvars, groups),
            peers=peers,
            cti_accounts=plain(me.get("voip_cti_accounts")) or [],
            cti_secrets=cti_secrets,
            cti_rights_methods=cti_rights_methods,
            trunk_secrets=trunk_secrets,
            trunk_register_expires=int(trunk_register_expires),
            tls_port=int(tls_port),
            master_secret=master_secret,
            voicemail_uri=voicemail_uri or None,
            today=today,
        )
    except (KamailioDataError, SecretError, UserDataError, KeyError) as exc:
        raise AnsibleFilterError(f"voip_kamailio_data({host}): {exc}") from exc
    if rows_json is None:
        return data
    missing = [name for name in rows_json if name not in data]
    if missing:
        raise AnsibleFilterError(
            f"voip_kamailio_data({host}): rows_json names unknown table(s) {', '.join(missing)}"
        )
    return {
        name: json.dumps(value, separators=(",", ":")) if name in rows_json else value
        for name, value in data.items()
    }


def _other_call_servers(host, hostvars, groups):
    """Every call server but ``host``: name, site, address and SIP port (the call server data's peers)."""
    return [
        {"name": s["name"], "site": s["site"], "address": s["address"], "port": s["sip_port"]}
        for s in call_servers(hostvars, groups)
        if s["name"] != host
    ]


def voip_site_members(host, hostvars, groups):
    """``inventory_hostname | voip_site_members(hostvars, groups)``: the addresses of the other call servers of its site.

    The peers the call server's DMQ replicates registrations with (the
    firewall opens its DMQ port to them alone); empty for a host that is no
    call server or whose site has no other.
    """
    need_voipctl("voip_site_members")
    if host not in (groups.get("call_servers") or []):
        return []
    site = hostvars[host].get("voip_site")
    return [m["address"] for m in site_members(_other_call_servers(host, hostvars, groups), site)]


def voip_pin_versions(packages, prefix, version):
    """Pin the packages whose name starts with ``prefix`` to ``version*`` (apt syntax); others unchanged."""
    if not version:
        return list(packages)
    return [f"{p}={version}*" if str(p).startswith(prefix) else p for p in packages]


class FilterModule:
    def filters(self):
        return {
            "voip_kamailio_data": voip_kamailio_data,
            "voip_pin_versions": voip_pin_versions,
            "voip_site_members": voip_site_members,
        }
