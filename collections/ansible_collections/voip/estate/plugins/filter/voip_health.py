"""Health filters: shape what playbooks/health.yml measures for `voipctl health` (which judges it)."""

from __future__ import annotations

import os

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.adapters.vars import plain
    from voipctl.core.activity import users_of_site


def voip_health_mount(mount):
    """``ansible_mounts`` item -> ``{mount, used_pct}``."""
    total = mount.get("size_total") or 0
    available = mount.get("size_available") or 0
    used = round(100.0 * (total - available) / total, 1) if total else 0.0
    return {"mount": mount.get("mount"), "used_pct": used}


def voip_health_point(path):
    """``<store>/<host>/<stamp>`` -> ``{host, stamp}``."""
    return {"host": os.path.basename(os.path.dirname(path)), "stamp": os.path.basename(path)}


def voip_health_trunk(result):
    """A looped sip_options result -> ``{name, ok, status, latency_ms, msg}``."""
    item = result.get("item") or {}
    return {
        "name": item.get("name"),
        "address": item.get("address"),
        "ok": bool(result.get("ok")),
        "status": result.get("status"),
        "latency_ms": result.get("latency_ms"),
        "msg": result.get("msg", ""),
    }


def voip_health_expected_users(users):
    """``voip_users`` -> ``{site: active users}``: whom a site's call server should see registered.

    Active as the model says it (``voipctl.core.activity.users_of_site``).
    """
    need_voipctl("voip_health_expected_users")
    users = [u for u in plain(users) or [] if u]
    return {site: len(users_of_site(users, site)) for site in sorted({u["site"] for u in users})}


class FilterModule:
    def filters(self):
        return {
            "voip_health_mount": voip_health_mount,
            "voip_health_point": voip_health_point,
            "voip_health_trunk": voip_health_trunk,
            "voip_health_expected_users": voip_health_expected_users,
        }
