"""A Linux host's operating-system updates, in pure functions: which are security updates, which
are held, whether the host needs a reboot, which services run on replaced files.

The module ``os_updates`` reads apt's cache (python3-apt) and ``/proc`` and hands plain values
to these functions; they decide, so that every rule is tested without a host.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re

# Packages whose new version takes effect only at a reboot (the kernel, the C library, PID 1):
# a host that changed one is rebooted, as needrestart would ask.
REBOOT_PACKAGES = ("linux-image-*", "libc6", "systemd")
# A systemd unit in a /proc/PID/cgroup line ("0::/system.slice/kamailio.service").
_UNIT = re.compile(r"/([A-Za-z0-9@._:-]+\.service)(?:/|$)")
# Mapped files that are no files of a package (shared memory, memfd, anonymous).
_NOT_A_FILE = ("/dev/", "/memfd:", "/SYSV", "/run/", "/tmp/", "/var/", "/[")


class UpdatesError(Exception):
    """The updates cannot be listed, applied or put back."""


def matches_origin(origin, patterns):
    """Whether a repository ``origin`` ({origin, label, suite}) matches one of ``patterns``.

    A pattern names one or more of origin, label and suite; each named one must be equal.
    """
    for pattern in patterns or ():
        named = {k: pattern.get(k) for k in ("origin", "label", "suite") if pattern.get(k) not in (None, "")}
        if named and all(str(origin.get(k) or "") == str(v) for k, v in named.items()):
            return True
    return False


def is_security(origins, patterns):
    """Whether a candidate version that ``origins`` (repositories) offer is a security update."""
    return any(matches_origin(origin, patterns) for origin in origins)


def held_because(name, source, hold, dpkg_held):
    """Why a package is never upgraded here (``""``: it is not held).

    ``hold`` names the estate's pinned components (by package or source name: ``kamailio``
    holds ``kamailio-sqlite-modules``); ``dpkg_held``: ``apt-mark hold`` on the host.
    """
    if dpkg_held:
        return "held on the host (apt-mark hold)"
    for pinned in hold or ():
        if pinned in (name, source):
            return f"pinned by the release manifest ({pinned}): it changes only in a release"
    return ""


def select(upgradable, security_only, patterns, hold):
    """Split ``upgradable`` (dicts: name, source, installed, candidate, origins, dpkg_held, and
    ``newer``: the other versions newer than the installed one with their origins, newest first)
    into (updates to apply, held ones, skipped non-security ones), each with ``security`` set."""
    updates, held, skipped = [], [], []
    for pkg in sorted(upgradable, key=lambda p: p["name"]):
        candidate, origins = pkg["candidate"], pkg.get("origins") or []
        security = is_security(origins, patterns)
        if not security:
            # A security version hidden by a newer one from elsewhere (a point release) still makes
            # this a security update; security-only applies that version (newer ones first).
            hidden = next(
                (o for o in pkg.get("newer") or () if is_security(o.get("origins") or [], patterns)), None
            )
            if hidden is not None:
                security = True
                if security_only:
                    candidate, origins = hidden["version"], hidden.get("origins") or []
        row = {
            "name": pkg["name"],
            "source": pkg.get("source") or pkg["name"],
            "installed": pkg["installed"],
            "candidate": candidate,
            "origin": _origin_text(origins),
            "security": security,
        }
        why = held_because(row["name"], row["source"], hold, pkg.get("dpkg_held"))
        if why:
            held.append({**row, "why": why})
        elif security_only and not row["security"]:
            skipped.append(row)
        else:
            updates.append(row)
    return updates, held, skipped


def _origin_text(origins):
    first = origins[0] if origins else {}
    return "/".join(str(first.get(k) or "") for k in ("origin", "label", "suite")).strip("/")


def reboot_reasons(changed_names, reboot_required_pkgs, reboot_required, patterns=REBOOT_PACKAGES):
    """Why the host needs a reboot (empty: it does not).

    ``reboot_required``: /run/reboot-required exists (a package's maintainer script asked, as
    Debian's kernel packages do); ``reboot_required_pkgs``: the packages it names.
    """
    reasons = []
    if reboot_required:
        named = ", ".join(sorted(set(reboot_required_pkgs))) or "a package"
        reasons.append(f"/run/reboot-required (asked by {named})")
    for name in sorted(set(changed_names)):
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            reasons.append(f"{name} changed (it takes effect at a reboot)")
    return reasons


def replaced_files(maps_text):
    """The files a process maps that were replaced or removed on disk (``(deleted)`` in its maps)."""
    found = set()
    for line in maps_text.splitlines():
        if not line.endswith(" (deleted)"):
            continue
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        path = parts[5][: -len(" (deleted)")]
        if path.startswith("/") and not path.startswith(_NOT_A_FILE):
            found.add(path)
    return found


def unit_of(cgroup_text):
    """The systemd service a process belongs to, from its /proc/PID/cgroup (``""``: none)."""
    for line in cgroup_text.splitlines():
        if "/user.slice/" in line or "/init.scope" in line:
            return ""
        found = _UNIT.findall(line)
        if found:
            return found[-1]
    return ""


def units_to_restart(processes):
    """The services to restart, and those of them judged without reading their maps.

    ``processes`` maps a pid to (maps text, cgroup text); the maps text is ``None`` when the
    process's maps could not be read (root without CAP_SYS_PTRACE, as in a container). A
    service is listed when one of its processes maps a replaced file, or when one of its maps
    could not be read: whether it runs a replaced file is unknown, so it is restarted too
    (never silently left on an old library). PID 1 (systemd itself, which needs a reboot or
    a re-exec) and processes outside a service are not.
    """
    units, unread = set(), set()
    for pid, (maps_text, cgroup_text) in processes.items():
        if int(pid) == 1:
            continue
        unit = unit_of(cgroup_text)
        if not unit:
            continue
        if maps_text is None:
            unread.add(unit)
        elif replaced_files(maps_text):
            units.add(unit)
    return sorted(units | unread), sorted(unread - units)


def read_processes(proc="/proc"):
    """``{pid: (maps text or None when unreadable, cgroup text)}`` of the host's processes (those that
    vanish are skipped)."""
    found = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "cgroup"), encoding="utf-8", errors="replace") as handle:
                cgroup_text = handle.read()
        except OSError:
            continue  # gone
        try:
            with open(os.path.join(proc, entry, "maps"), encoding="utf-8", errors="replace") as handle:
                maps_text = handle.read()
        except PermissionError:
            maps_text = None
        except OSError:
            continue  # gone
        found[int(entry)] = (maps_text, cgroup_text)
    return found


def note_seen(seen, pending, now):
    """When each pending update was first seen: ``seen`` (``"name installed-version" -> ISO time``) kept
    for the pending ones, ``now`` for the new ones; updates no longer pending are dropped."""
    kept = {}
    for row in pending:
        # By the installed version: a newer candidate published meanwhile does not restart the wait.
        key = seen_key(row)
        kept[key] = seen.get(key) or now
    return kept


def seen_key(row):
    return f"{row['name']} {row['installed']}"


def load_seen(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UpdatesError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UpdatesError(f"{path}: not a mapping of update to the time it was first seen")
    return {str(k): str(v) for k, v in data.items()}


def save_json(path, data):
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def diff_text(updates):
    """The ``before``/``after`` of a diff: one line per package and version."""
    before = "".join(f"{u['name']} {u['installed']}\n" for u in updates)
    after = "".join(f"{u['name']} {u['candidate']}\n" for u in updates)
    return {"before": before, "after": after, "before_header": "installed", "after_header": "updated"}


def load_rollback(path):
    """The saved versions of the last update (``rollback.json``): (saved rows of name, version, file;
    the packages it installed new; the run it belongs to)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        saved = data["saved"]
        rows = [{"name": str(r["name"]), "version": str(r["version"]), "file": str(r["file"])} for r in saved]
        return rows, [str(n) for n in data.get("new") or []], str(data.get("run") or "")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UpdatesError(f"cannot read {path}: {exc}") from exc
