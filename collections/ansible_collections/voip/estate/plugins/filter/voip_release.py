"""Release filters: a host's manifest components, what it runs, and the drift."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.adapters.vars import plain
    from voipctl.core.passwords import SecretError, user_sip_password
    from voipctl.derive import release


def voip_release_components(group_names, manifest):
    """``group_names | voip_release_components(voip_release)``: the components this host runs."""
    need_voipctl("voip_release_components")
    return release.components_of(group_names, (manifest or {}).get("components") or {})


def voip_release_installed(packages, components):
    """``ansible_facts.packages | voip_release_installed(components)``: ``{component: version or None}``."""
    need_voipctl("voip_release_installed")
    return release.installed_versions(packages or {}, components)


def voip_release_drift(installed, manifest):
    """``installed | voip_release_drift(voip_release)``: rows of components not at the manifest's version."""
    need_voipctl("voip_release_drift")
    return release.drift(installed, (manifest or {}).get("components") or {})


def voip_os_update_rows(updates):
    """``pending.updates | voip_os_update_rows``: OS updates as rows (component, installed, target)."""
    need_voipctl("voip_os_update_rows")
    return release.os_update_rows(plain(updates) or [])


def voip_sip_account(user_id, users, master_secret):
    """``'mjansen' | voip_sip_account(voip_users, vault_voip_sip_master_secret)``: ``{user, password}``.

    The extension and the SIP password (derived, as the call server's HA1
    and the phone's file are) of a directory user: for a test call.
    """
    need_voipctl("voip_sip_account")
    found = next((u for u in plain(users) or [] if u and u.get("id") == user_id), None)
    if found is None:
        raise AnsibleFilterError(f"voip_sip_account: no user {user_id!r} in voip_users")
    try:
        password = user_sip_password(master_secret, found)
    except SecretError as exc:
        raise AnsibleFilterError(f"voip_sip_account: {exc}") from exc
    return {"user": str(found["extension"]), "password": password}


class FilterModule:
    def filters(self):
        return {
            "voip_release_components": voip_release_components,
            "voip_release_installed": voip_release_installed,
            "voip_release_drift": voip_release_drift,
            "voip_os_update_rows": voip_os_update_rows,
            "voip_sip_account": voip_sip_account,
        }
