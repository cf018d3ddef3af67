"""Release manifest against what hosts run: which components a host has, and the drift.

Shared by the filters of ``playbooks/release.yml`` (which hosts need the
release, and did it land) and ``voipctl release status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The manifest's component -> the Debian package that carries it (same name if absent).
PACKAGES = {"rtpengine": "rtpengine-daemon"}
# The manifest's components each group's hosts run.
COMPONENTS_BY_GROUP = {
    "call_servers": ("kamailio", "rtpengine", "voip-routing"),
    "provisioning_servers": ("nginx",),
}
# Characters that may follow a manifest version in a Debian version
# (5.6.3 -> 5.6.3-2, 1.22.1 -> 1.22.1-9+deb12u1), as apt's "=5.6.3*" pins.
_SUFFIXES = ("-", "+", "~")


def package_of(component: str) -> str:
    return PACKAGES.get(component, component)


def components_of(group_names: Iterable[str], manifest_components: Mapping[str, Any]) -> list[str]:
    """The manifest components a host in ``group_names`` runs (in the manifest), in order."""
    found: list[str] = []
    for group in group_names:
        for component in COMPONENTS_BY_GROUP.get(group, ()):
            if component in manifest_components and component not in found:
                found.append(component)
    return found


def matches(installed: str | None, target: str) -> bool:
    """Whether an installed Debian version is the manifest's version."""
    if not installed:
        return False
    installed = str(installed).split(":", 1)[-1]  # an epoch does not count
    target = str(target)
    return installed == target or any(installed.startswith(target + s) for s in _SUFFIXES)


def installed_versions(package_facts: Mapping[str, Any], components: Iterable[str]) -> dict[str, str | None]:
    """``{component: installed version or None}`` from ``ansible_facts.packages``."""
    versions: dict[str, str | None] = {}
    for component in components:
        entries = package_facts.get(package_of(component)) or []
        versions[component] = str(entries[0]["version"]) if entries else None
    return versions


def drift(
    installed: Mapping[str, str | None], manifest_components: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The components whose installed version is not the manifest's, as rows."""
    rows = []
    for component, have in installed.items():
        want = str(manifest_components[component])
        if not matches(have, want):
            rows.append(
                {"component": component, "package": package_of(component), "installed": have, "target": want}
            )
    return rows


def os_update_rows(updates: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The os_updates module's updates as drift rows (component = package; target = new version)."""
    return [
        {
            "component": str(u["name"]),
            "package": str(u["name"]),
            "installed": u.get("installed"),
            "target": str(u["candidate"]),
            "security": bool(u.get("security")),
        }
        for u in updates
    ]
