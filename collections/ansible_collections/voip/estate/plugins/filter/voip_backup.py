"""Backup filters: what a host keeps, from the backup policy."""

from __future__ import annotations


def voip_backup_items(by_group, group_names):
    """``voip_backup_policy.paths | voip_backup_items(group_names)``: the host's items, by its groups, once each."""
    items = []
    for group in group_names:
        for item in (by_group or {}).get(group) or []:
            if item not in items:
                items.append(item)
    return items


def voip_backup_batch(hosts, hostvars, clear, check=False):
    """``ansible_play_batch | voip_backup_batch(hostvars, clear)``: the points this run took, for backup_seal.

    A host is in the batch when its file of this run is in the run's clear stage ``clear``
    (``<clear>/<host>/host.tar.gz`` fetched from a Linux host, ``<clear>/<host>/running-config``
    from a device): its registered ``__host_backup_fetched`` / ``__host_backup_device`` result names
    that path and did not fail or skip. Hosts without one (skipped, failed, from another run) are left
    out. Each point: host, stamp (``host_backup_point``), kind (linux, gateway, switch), files,
    packages. ``check`` (check mode, where nothing is fetched from a Linux host): a Linux host whose
    archive step ran counts."""
    points = []
    for host in hosts:
        facts = hostvars[host]
        groups = facts.get("group_names") or []
        linux = "linux" in groups
        name = "host.tar.gz" if linux else "running-config"
        src = f"{clear}/{host}/{name}"
        if linux and check:
            archived = facts.get("__host_backup_archive") or {}
            result = {**archived, "dest": src} if archived else {}
        else:
            result = facts.get("__host_backup_fetched" if linux else "__host_backup_device") or {}
        taken = result.get("dest") or result.get("path")
        if not result or result.get("failed") or result.get("skipped") or taken != src:
            continue
        if not facts.get("host_backup_point"):
            raise ValueError(f"voip_backup_batch: host {host} took a file but has no host_backup_point")
        points.append(
            {
                "host": host,
                "stamp": facts["host_backup_point"],
                "kind": "linux" if linux else ("gateway" if "gateways" in groups else "switch"),
                "files": [{"src": src, "name": name}],
                "packages": ((facts.get("__host_backup_archive") or {}).get("packages") or {})
                if linux
                else {},
            }
        )
    return points


def voip_apt_pin(item):
    """``{key: name, value: version}`` as apt's ``name=version``."""
    return f"{item['key']}={item['value']}"


def voip_apt_missing(recorded, packages):
    """``{package: version}`` recorded, as apt's ``name=version`` pins of those not installed at that
    version (``packages``: ``ansible_facts.packages``). A version already installed needs no
    repository that still offers it (a withdrawn update, a local build)."""
    missing = []
    for name, version in sorted((recorded or {}).items()):
        have = {str(entry.get("version")) for entry in (packages or {}).get(name) or ()}
        if str(version) not in have:
            missing.append(f"{name}={version}")
    return missing


def _offered(madison):
    """``apt-cache madison`` output as ``{package: [version, ...]}`` (binary packages only)."""
    offered = {}
    for line in str(madison or "").splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) == 3 and fields[2].endswith("Packages") and fields[0] and fields[1]:
            offered.setdefault(fields[0], []).append(fields[1])
    return offered


def voip_apt_restore(recorded, packages, madison):
    """What a restore installs of the recorded packages the host lacks, by what the repositories offer.

    ``madison``: ``apt-cache madison`` of those packages. A recorded version still offered is pinned
    (``name=version``). One no repository offers any more (a withdrawn or superseded update) is
    installed at the repositories' version (bare ``name``) and listed in ``substituted`` with the
    versions offered; a package offered at no version at all is listed in ``unoffered``.
    """
    offered = _offered(madison)
    plan = {"install": [], "substituted": [], "unoffered": []}
    for pin in voip_apt_missing(recorded, packages):
        name, version = pin.split("=", 1)
        if version in offered.get(name, ()):
            plan["install"].append(pin)
        elif offered.get(name):
            plan["install"].append(name)
            plan["substituted"].append({"name": name, "recorded": version, "offered": offered[name]})
        else:
            plan["unoffered"].append(pin)
    return plan


class FilterModule:
    def filters(self):
        return {
            "voip_backup_items": voip_backup_items,
            "voip_backup_batch": voip_backup_batch,
            "voip_apt_pin": voip_apt_pin,
            "voip_apt_missing": voip_apt_missing,
            "voip_apt_restore": voip_apt_restore,
        }
