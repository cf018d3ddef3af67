"""Estate-model filters: derived user values. Logic lives in voipctl.core.activity and voipctl.derive.users.

``on`` (a date or YYYY-MM-DD, not a timestamp such as ``now()``) defaults to today on the controller.
"""

from __future__ import annotations

import datetime

from ansible.errors import AnsibleFilterError

try:
    from voipctl.ansible.vars import plain
    from voipctl.core import activity as _activity
    from voipctl.derive import users as _users
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    _users = None
    _IMPORT_ERROR = exc


def _call(name, func, *args):
    if _users is None:
        raise AnsibleFilterError(f"{name} needs the voipctl package (run `make venv`): {_IMPORT_ERROR}")
    try:
        return func(*args)
    except _activity.UserDataError as exc:
        raise AnsibleFilterError(f"{name}: {exc}") from exc


def _on(on):
    return datetime.date.today() if on is None else on


def voip_effective_cos(user, on=None):
    """``user | voip_effective_cos`` -> internal | national | international, grants included."""
    return _call("voip_effective_cos", lambda: _activity.effective_class_of_service(user, _on(on)))


def voip_active_grants(user, on=None):
    """``user | voip_active_grants`` -> the grants still valid today (or on ``on``)."""
    return _call("voip_active_grants", lambda: _activity.active_grants(user, _on(on)))


def voip_active_features(user, on=None):
    """``user | voip_active_features`` -> features in force, feature grants included; {} for leavers."""
    return _call("voip_active_features", lambda: _activity.active_features(user, _on(on)))


def voip_site_users(users, site, leavers=False):
    """``voip_users | voip_site_users('ams')`` -> the site's active users (leavers too if asked)."""
    return _call("voip_site_users", lambda: _activity.users_of_site(plain(users), site, leavers=leavers))


def voip_next_free_extension(users, sites, site):
    """``voip_users | voip_next_free_extension(voip_sites, 'ams')`` -> lowest free extension or None."""
    return _call("voip_next_free_extension", lambda: _users.next_free_extension(plain(users), sites, site))


def voip_next_free_did(users, sites, site):
    """``voip_users | voip_next_free_did(voip_sites, 'ams')`` -> lowest free DID or None."""
    return _call("voip_next_free_did", lambda: _users.next_free_did(plain(users), sites, site))


class FilterModule:
    def filters(self):
        return {
            "voip_effective_cos": voip_effective_cos,
            "voip_active_grants": voip_active_grants,
            "voip_active_features": voip_active_features,
            "voip_site_users": voip_site_users,
            "voip_next_free_extension": voip_next_free_extension,
            "voip_next_free_did": voip_next_free_did,
        }
