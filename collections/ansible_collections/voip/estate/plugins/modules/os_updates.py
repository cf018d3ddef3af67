#!/usr/bin/python
"""List, apply or put back a Debian host's operating-system updates."""

DOCUMENTATION = r"""
module: os_updates
short_description: List, apply or put back a Debian host's operating-system updates
description:
  - Runs on the host (python3-apt). Refreshes apt's package lists (O(update_cache)), then lists the
    packages with a newer version, each marked as a security update when a repository of
    O(security_origins) offers it.
  - The estate's pinned components (O(hold), by package or source name) and packages held on the
    host (C(apt-mark hold)) are never upgraded; they are returned under RV(held). An update that
    would remove a package or change a held one is refused before anything changes.
  - O(state=pending) only lists (and notes, in O(seen_file), when each pending update was first
    seen, so that a health check can judge how long a security update has waited).
  - O(state=latest) first saves the installed version of every package it changes in
    O(rollback_dir) (from a repository or apt's cache; a version found in neither is refused before
    anything changes), then upgrades with apt-get, keeping changed configuration files. It returns
    whether the host needs a reboot (RV(reboot_reasons)) and the services that run replaced files
    (RV(services), to restart).
  - O(state=previous) installs the versions the last O(state=latest) saved (downgrades) and removes the
    packages it installed new (a new kernel ABI package); when that run replaced nothing (it was refused,
    or found no update), or O(run_id) names another run, nothing changes.
  - The held packages apt could upgrade are named at their installed version in the same apt-get call,
    so that apt's own plan cannot move them either.
  - Refreshing the package lists (O(update_cache)) happens in check mode too; it changes no package, and a
    check needs current lists.
  - Check mode lists what would change and changes nothing; diff mode shows the versions.
options:
  state:
    description: List the updates, apply them, or put back what the last O(state=latest) replaced.
    type: str
    choices: [pending, latest, previous]
    default: pending
  security_only:
    description: Apply (and list as pending) only security updates.
    type: bool
    default: false
  security_origins:
    description:
      - The repositories whose updates are security updates. Each names one or more of C(origin),
        C(label) and C(suite) as the repository's Release file does; all it names must be equal.
    type: list
    elements: dict
    default: []
  hold:
    description: Package or source names never upgraded here (the release manifest's components).
    type: list
    elements: str
    default: []
  update_cache:
    description: Refresh the package lists first.
    type: bool
    default: true
  rollback_dir:
    description: Where O(state=latest) saves the replaced versions and O(state=previous) finds them.
    type: path
    default: /var/lib/voip-estate/os-updates/rollback
  seen_file:
    description: Where O(state=pending) notes when each pending update was first seen.
    type: path
    default: /var/lib/voip-estate/os-updates/seen.json
  run_id:
    description:
      - The run this update belongs to. O(state=latest) records it with the saved versions;
        O(state=previous) puts back only what that run replaced (nothing when another run's versions are saved).
    type: str
    default: ""
  reboot_packages:
    description: Packages (shell patterns) whose change needs a reboot, besides C(/run/reboot-required).
    type: list
    elements: str
    default: [linux-image-*, libc6, systemd]
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Lists what would change; the first-seen notes are not written either.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: One line per package with its installed and its new version.
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: List the security updates a host is waiting for
  voip.estate.os_updates:
    security_only: true
    security_origins: [{origin: Debian, label: Debian-Security}]
    hold: [kamailio, rtpengine, nginx, voip-routing]
  register: pending

- name: Apply them
  voip.estate.os_updates:
    state: latest
    security_only: true
    security_origins: [{origin: Debian, label: Debian-Security}]
    hold: [kamailio, rtpengine, nginx, voip-routing]

- name: Put back what the last update replaced
  voip.estate.os_updates:
    state: previous
"""

RETURN = r"""
updates:
  description: The updates listed or applied (name, source, installed, candidate, origin, security, since).
  type: list
  elements: dict
  returned: always
held:
  description: Upgradable packages left alone, each with C(why).
  type: list
  elements: dict
  returned: always
skipped:
  description: Upgradable packages that are no security update (with O(security_only)).
  type: list
  elements: dict
  returned: always
reboot_reasons:
  description: Why the host needs a reboot now (empty when it does not).
  type: list
  elements: str
  returned: always
reboot_required:
  description: Whether the host needs a reboot now.
  type: bool
  returned: always
services:
  description:
    - Services that need a restart (O(state=latest) and O(state=previous)) because one of their processes maps a
      replaced file, or because the maps of one of their processes could not be read (see RV(services_unread)).
  type: list
  elements: str
  returned: always
services_unread:
  description:
    - Services in RV(services) only because the maps of one of their processes could not be read (root without
      C(CAP_SYS_PTRACE)); whether they run replaced files is unknown, so they are restarted too.
  type: list
  elements: str
  returned: always
restored:
  description: Packages O(state=previous) put back, with the version.
  type: list
  elements: dict
  returned: always
removed:
  description: Packages O(state=previous) removed because the update had installed them new.
  type: list
  elements: str
  returned: when O(state=previous)
"""

import datetime
import glob
import os
import shutil

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.voip.estate.plugins.module_utils import voip_os_updates as updates_lib

try:
    import apt
    import apt_pkg

    HAS_APT = True
except ImportError:  # pragma: no cover - python3-apt is on every Debian host
    HAS_APT = False

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
APT_OPTIONS = ["-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]


def _origins(version):
    return [
        {"origin": o.origin, "label": o.label, "suite": o.archive}
        for o in version.origins
        if o.archive != "now"
    ]


def _upgradable(cache):
    found = []
    for pkg in cache:
        if not pkg.is_upgradable:
            continue
        found.append(
            {
                "name": pkg.name,
                "source": pkg.candidate.source_name,
                "installed": pkg.installed.version,
                "candidate": pkg.candidate.version,
                "origins": _origins(pkg.candidate),
                "newer": [
                    {"version": v.version, "origins": _origins(v)}
                    for v in pkg.versions
                    if v != pkg.candidate and v > pkg.installed
                ],
                "dpkg_held": pkg._pkg.selected_state == apt_pkg.SELSTATE_HOLD,
            }
        )
    return found


def _open_cache(module):
    try:
        cache = apt.Cache()
        if module.params["update_cache"]:
            cache.update()
            cache.open(None)
    except (apt.cache.FetchFailedException, apt.cache.LockFailedException, SystemError) as exc:
        raise updates_lib.UpdatesError(f"cannot read the package lists: {exc}") from exc
    return cache


def _changes(cache, updates, held_names):
    """Mark the updates; refuse one that removes a package or changes a held one. The packages
    apt would change, as (name, installed version or None)."""
    with cache.actiongroup():
        for row in updates:
            cache[row["name"]].mark_upgrade()
    changes = cache.get_changes()
    for pkg in changes:
        if pkg.marked_delete:
            raise updates_lib.UpdatesError(f"the updates would remove {pkg.name}: refused, nothing changed")
        if pkg.name in held_names:
            raise updates_lib.UpdatesError(f"the updates would change the held package {pkg.name}: refused")
    return [(pkg.name, pkg.installed.version if pkg.installed else None) for pkg in changes]


def _save_one(cache, name, version, rollback_dir):
    """The archive of the installed ``version`` of ``name`` in ``rollback_dir``."""
    pkg = cache[name]
    if pkg.installed.downloadable:
        try:
            return pkg.installed.fetch_binary(rollback_dir)
        except (apt.package.FetchError, SystemError) as exc:
            raise updates_lib.UpdatesError(
                f"{name} {version} could not be fetched to be kept for a rollback: {exc}; refused, nothing changed"
            ) from exc
    quoted = version.replace(":", "%3a")
    cached = glob.glob(f"/var/cache/apt/archives/{name}_{quoted}_*.deb")
    if not cached:
        raise updates_lib.UpdatesError(
            f"{name} {version} is in no repository and not in apt's cache: it could not be rolled back; "
            "refused, nothing changed"
        )
    return shutil.copy(cached[0], rollback_dir)


def _save(cache, changes, rollback_dir, run_id):
    """Keep the installed versions of ``changes`` (and the names of the packages the update installs
    new) for ``state: previous``; an earlier update's are replaced only now, when this one changes."""
    shutil.rmtree(rollback_dir, ignore_errors=True)
    os.makedirs(rollback_dir, mode=0o700)
    saved, new = [], []
    for name, version in changes:
        if version is None:
            new.append(name)
            continue
        saved.append(
            {"name": name, "version": version, "file": _save_one(cache, name, version, rollback_dir)}
        )
    updates_lib.save_json(
        os.path.join(rollback_dir, "rollback.json"), {"run": run_id, "saved": saved, "new": new}
    )
    return saved


def _apt_get(module, args, what):
    rc, out, err = module.run_command(["apt-get", *APT_OPTIONS, *args], environ_update=APT_ENV)
    if rc != 0:
        raise updates_lib.UpdatesError(f"{what}: apt-get exited {rc}: {(err or out).strip()[-800:]}")


def _after(module, changed_names):
    pkgs = []
    if os.path.exists("/run/reboot-required.pkgs"):
        with open("/run/reboot-required.pkgs", encoding="utf-8") as handle:
            pkgs = handle.read().split()
    reasons = updates_lib.reboot_reasons(
        changed_names, pkgs, os.path.exists("/run/reboot-required"), module.params["reboot_packages"]
    )
    return {"reboot_reasons": reasons, "reboot_required": bool(reasons)}


def _apply(module, cache, updates, held):
    changes = _changes(cache, updates, {row["name"] for row in held})
    result = {"changed": bool(changes), "services": [], "services_unread": [], "restored": []}
    if module.check_mode or not changes:
        return {**result, **_after(module, [])}
    _save(cache, changes, module.params["rollback_dir"], module.params["run_id"])
    pins = [f"{row['name']}={row['candidate']}" for row in updates]
    # The held packages apt could upgrade stay at their version even in apt-get's own plan.
    pins += [f"{row['name']}={row['installed']}" for row in held]
    _apt_get(module, ["install", "--only-upgrade", *pins], "upgrading")
    result["services"], result["services_unread"] = updates_lib.units_to_restart(updates_lib.read_processes())
    return {**result, **_after(module, [name for name, _version in changes])}


def _installed(cache, name):
    return cache[name].installed.version if name in cache and cache[name].installed else None


def _previous(module, cache):
    """Put back what the update of ``run_id`` (any, when empty) replaced, and remove what it installed new."""
    nothing = {"changed": False, "restored": [], "removed": [], "services": [], "services_unread": []}
    path = os.path.join(module.params["rollback_dir"], "rollback.json")
    if not os.path.exists(path):
        # The last update replaced nothing (it was refused before any change, or found none).
        return {**nothing, **_after(module, [])}
    saved, new, run_id = updates_lib.load_rollback(path)
    if module.params["run_id"] and run_id != module.params["run_id"]:
        # Another run's: this run replaced nothing here.
        return {**nothing, **_after(module, [])}
    back = [row for row in saved if _installed(cache, row["name"]) != row["version"]]
    gone = [name for name in new if _installed(cache, name)]
    result = {
        "changed": bool(back or gone),
        "restored": [{"name": r["name"], "version": r["version"]} for r in back],
        "removed": gone,
    }
    if (back or gone) and not module.check_mode:
        if back:
            _apt_get(module, ["install", "--allow-downgrades", *[r["file"] for r in back]], "putting back")
        if gone:
            _apt_get(module, ["purge", *gone], "removing what the update installed")
        result["services"], result["services_unread"] = updates_lib.units_to_restart(
            updates_lib.read_processes()
        )
    changed_names = [r["name"] for r in back] + gone
    return {**nothing, **result, **_after(module, changed_names)}


def run(module):
    params = module.params
    cache = _open_cache(module)
    if params["state"] == "previous":
        return {"updates": [], "held": [], "skipped": [], **_previous(module, cache)}
    patterns = [dict(p) for p in params["security_origins"]]
    updates, held, skipped = updates_lib.select(
        _upgradable(cache), params["security_only"], patterns, params["hold"]
    )
    seen = updates_lib.note_seen(
        updates_lib.load_seen(params["seen_file"]),
        updates,
        datetime.datetime.now(datetime.timezone.utc).isoformat(),  # noqa: UP017 - Python < 3.11 on a target
    )
    for row in updates:
        row["since"] = seen[updates_lib.seen_key(row)]
    result = {"updates": updates, "held": held, "skipped": skipped}
    if params["state"] == "pending":
        if not module.check_mode:
            updates_lib.save_json(params["seen_file"], seen)
        return {
            **result,
            "changed": False,
            "services": [],
            "services_unread": [],
            "restored": [],
            **_after(module, []),
        }
    return {**result, **_apply(module, cache, updates, held)}


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["pending", "latest", "previous"], "default": "pending"},
            "security_only": {"type": "bool", "default": False},
            "security_origins": {"type": "list", "elements": "dict", "default": []},
            "hold": {"type": "list", "elements": "str", "default": []},
            "update_cache": {"type": "bool", "default": True},
            "rollback_dir": {"type": "path", "default": "/var/lib/voip-estate/os-updates/rollback"},
            "seen_file": {"type": "path", "default": "/var/lib/voip-estate/os-updates/seen.json"},
            "reboot_packages": {
                "type": "list",
                "elements": "str",
                "default": list(updates_lib.REBOOT_PACKAGES),
            },
            "run_id": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    if not HAS_APT:
        module.fail_json(msg=missing_required_lib("python3-apt"))
    for pattern in module.params["security_origins"]:
        unknown = set(pattern) - {"origin", "label", "suite"}
        if unknown or not pattern:
            module.fail_json(
                msg=f"security_origins: {pattern!r} must name origin, label or suite (and nothing else)"
            )
    try:
        result = run(module)
    except (updates_lib.UpdatesError, OSError) as exc:
        module.fail_json(msg=str(exc))
    if module._diff and result.get("changed"):
        result["diff"] = updates_lib.diff_text(result["updates"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
