"""Desk phone filters: what the provisioning server serves. Logic lives in voipctl.derive.phones."""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.adapters.hosts import call_servers
    from voipctl.adapters.vars import plain
    from voipctl.core.activity import UserDataError
    from voipctl.core.passwords import SecretError, purpose_key
    from voipctl.derive.phones import PhoneDataError, phone_common, phone_data


def voip_phone_data(
    host, hostvars, groups, master_secret, provisioning_url, syslog_server=None, today=None, as_json=False
):
    """``inventory_hostname | voip_phone_data(hostvars, groups, master_secret, provisioning_url, ...)``.

    One entry per device of every active user (voipctl.derive.phones.phone_data).
    With ``as_json`` the list comes as one compact JSON string, what the
    phone_files module takes (why: docs/performance.md#rows-travel-as-one-json-string).
    """
    need_voipctl("voip_phone_data")
    me = hostvars[host]
    try:
        phones = phone_data(
            sites=plain(me["voip_sites"]),
            users=plain(me.get("voip_users")) or [],
            phone_models=plain(me.get("voip_phone_models")) or {},
            call_servers=call_servers(hostvars, groups),
            release=plain(me.get("voip_release")) or {},
            master_secret=master_secret,
            provisioning_url=provisioning_url,
            syslog_server=syslog_server or None,
            today=today,
        )
    except (PhoneDataError, SecretError, UserDataError, KeyError) as exc:
        raise AnsibleFilterError(f"voip_phone_data({host}): {exc}") from exc
    return json.dumps(phones, separators=(",", ":")) if as_json else phones


def voip_phone_common(host, hostvars, provisioning_url, syslog_server=None):
    """``inventory_hostname | voip_phone_common(hostvars, provisioning_url)``: the unassigned profile's settings."""
    need_voipctl("voip_phone_common")
    me = hostvars[host]
    try:
        return phone_common(
            sites=plain(me["voip_sites"]),
            phone_models=plain(me.get("voip_phone_models")) or {},
            release=plain(me.get("voip_release")) or {},
            provisioning_url=provisioning_url,
            syslog_server=syslog_server or None,
            default_site=me.get("voip_site"),
        )
    except (PhoneDataError, KeyError) as exc:
        raise AnsibleFilterError(f"voip_phone_common({host}): {exc}") from exc


def voip_phone_http_secret(master_secret):
    """``master_secret | voip_phone_http_secret``: the key phone logins derive from (not the master secret)."""
    need_voipctl("voip_phone_http_secret")
    try:
        return purpose_key(master_secret, "phone-http")
    except SecretError as exc:
        raise AnsibleFilterError(f"voip_phone_http_secret: {exc}") from exc


class FilterModule:
    def filters(self):
        return {
            "voip_phone_data": voip_phone_data,
            "voip_phone_common": voip_phone_common,
            "voip_phone_http_secret": voip_phone_http_secret,
        }
