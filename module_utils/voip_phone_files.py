"""Bring a provisioning directory to the files of a whole set of phones in one call.

Shared logic of the module phone_files; runs on the provisioning server with
the standard library only (the rendering is voip_phone_templates). The
directory is listed once; every wanted file is rendered and compared with
the file on disk; only files whose content, owner, group or mode differ are
written (temporary file in the same directory, then os.replace). A per-MAC
file on disk whose MAC is not among the phones is an orphan (the phone's
user left or the phone was replaced): it gets its vendor's "unassigned"
profile, or is removed. The result and the diff name files and changed
setting names, never values: a password never leaves the host.
"""

from __future__ import annotations

import base64
import contextlib
import grp
import hashlib
import hmac
import os
import pwd
import re
import stat
import tempfile

try:
    from ansible.module_utils import voip_phone_templates as templates
    from ansible.module_utils.voip_args import ArgumentError, validate_list
except ImportError:  # pragma: no cover - outside Ansible (tests, bench)
    from module_utils import voip_phone_templates as templates
    from module_utils.voip_args import ArgumentError, validate_list

PER_MAC = re.compile(r"^([0-9a-f]{12})\.(cfg|xml)$")
COMMON_NAMES = (templates.YEALINK_COMMON, templates.POLYCOM_MASTER)
# Lists in the result are cut to this many names (counts are always whole).
LIST_LIMIT = 50


class PhoneFilesError(Exception):
    """The files cannot be brought to the wanted state (bad input, directory, owner); names the element."""


def parse_mode(mode):
    """A file mode from ``0640``, ``"0640"``, ``"640"`` or an int; refuses world-writable modes."""
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode).strip()
        try:
            value = int(text, 8)
        except ValueError:
            raise PhoneFilesError(f"mode {mode!r} is not an octal file mode such as '0640'") from None
    if value < 0 or value > 0o7777:
        raise PhoneFilesError(f"mode {mode!r} is not a file mode")
    if value & 0o002:
        raise PhoneFilesError(f"mode {oct(value)} makes the provisioning files world-writable")
    return value


def _uid(owner):
    if owner is None:
        return -1
    if str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise PhoneFilesError(f"owner {owner!r} does not exist on this host") from None


def _gid(group):
    if group is None:
        return -1
    if str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise PhoneFilesError(f"group {group!r} does not exist on this host") from None


def desired_files(phones):
    """{file name: (text, entry or None)} of all phones plus the common files; duplicate MACs are errors."""
    files = {name: (text, None) for name, text in templates.render_common().items()}
    macs = {}
    for index, entry in enumerate(phones):
        mac = str(entry.get("mac") or "").lower()
        if not re.match(r"^[0-9a-f]{12}$", mac) or mac == "000000000000":
            raise PhoneFilesError(
                f"phones[{index}]: mac {entry.get('mac')!r} is not 12 lower-case hex digits"
            )
        if mac in macs:
            raise PhoneFilesError(f"phones[{index}]: MAC {mac} repeats phones[{macs[mac]}]")
        macs[mac] = index
        try:
            rendered = templates.render(entry)
        except templates.TemplateError as exc:
            raise PhoneFilesError(f"phones[{index}]: {exc}") from exc
        for name, text in rendered.items():
            files[name] = (text, entry)
    return files, set(macs)


def list_directory(dest):
    """{name: os.stat_result} of the regular files directly in ``dest`` (temporary files excluded)."""
    try:
        with os.scandir(dest) as entries:
            return {
                e.name: e.stat(follow_symlinks=False)
                for e in entries
                if not e.name.startswith(".") and e.is_file(follow_symlinks=False)
            }
    except FileNotFoundError:
        raise PhoneFilesError(f"dest {dest} does not exist (the role creates it)") from None
    except NotADirectoryError:
        raise PhoneFilesError(f"dest {dest} is not a directory") from None
    except OSError as exc:
        raise PhoneFilesError(f"cannot list {dest}: {exc}") from exc


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError as exc:
        raise PhoneFilesError(f"cannot read {path}: {exc}") from exc


def write_atomic(dest, name, text, mode, uid, gid):
    """Write ``dest/name`` through a temporary file in ``dest`` and os.replace; owner/mode set first."""
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), mode)
            if uid != -1 or gid != -1:
                os.fchown(handle.fileno(), uid, gid)
        os.replace(tmp, os.path.join(dest, name))
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PhoneFilesError(f"cannot write {os.path.join(dest, name)}: {exc}") from exc


def _attrs_differ(st, mode, uid, gid):
    return (
        stat.S_IMODE(st.st_mode) != mode
        or (uid != -1 and st.st_uid != uid)
        or (gid != -1 and st.st_gid != gid)
    )


def device_http_password(secret, mac):
    """A phone's HTTP password for its provisioning files (user name: the bare MAC), derived from ``secret``."""
    digest = hmac.new(secret.encode(), f"phone-http:{mac}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:24]


def htpasswd_line(secret, mac):
    """``mac:{SSHA}...`` for nginx's auth_basic_user_file; the salt is derived too, so the line is stable."""
    salt = hmac.new(secret.encode(), f"phone-http-salt:{mac}".encode(), hashlib.sha256).digest()[:8]
    password = device_http_password(secret, mac).encode()
    return f"{mac}:{{SSHA}}{base64.b64encode(hashlib.sha1(password + salt).digest() + salt).decode()}\n"


HTPASSWD_HEAD = (
    "# Per-device HTTP logins of the desk phones (user: the MAC), written by the phone_files module.\n"
)


def sync_http_auth(path, secret, macs, mode, uid, gid, check_mode=False):
    """Bring the htpasswd file ``path`` to one login per MAC in ``macs``; return whether it changed."""
    text = HTPASSWD_HEAD + "".join(htpasswd_line(secret, mac) for mac in sorted(macs))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and _read(path) == text and not _attrs_differ(st, mode, uid, gid):
        return False
    if not check_mode:
        write_atomic(os.path.dirname(path) or ".", os.path.basename(path), text, mode, uid, gid)
    return True


def sync(
    dest,
    phones,
    common=None,
    owner=None,
    group=None,
    mode="0640",
    unassigned="profile",
    check_mode=False,
    http_auth_file=None,
    http_auth_secret=None,
):
    """Bring ``dest`` to the files of ``phones``; return (changed, counts, changes, diff lines).

    ``changes`` has the file names written (with the setting names that
    changed), unassigned and removed; ``diff`` is a list of (before, after)
    lines naming files and setting names only.
    """
    if unassigned not in ("profile", "remove"):
        raise PhoneFilesError(f"unassigned must be 'profile' or 'remove', not {unassigned!r}")
    file_mode = parse_mode(mode)
    uid, gid = _uid(owner), _gid(group)
    wanted, macs = desired_files(phones)
    on_disk = list_directory(dest)

    written, unchanged, made_unassigned, removed, skipped = [], 0, [], [], []
    plan = []  # (name, text) to write
    diff_before, diff_after = [], []

    for name, (text, _entry) in wanted.items():
        st = on_disk.get(name)
        if st is None:
            plan.append((name, text))
            written.append({"file": name, "new": True})
            diff_after.append(f"{name}: new\n")
            continue
        current = _read(os.path.join(dest, name)) if st.st_size == len(text.encode()) else None
        if current == text:
            if _attrs_differ(st, file_mode, uid, gid):
                plan.append((name, text))
                written.append({"file": name, "keys": [], "attributes": True})
                diff_before.append(f"{name}: owner/group/mode\n")
                diff_after.append(f"{name}: owner/group/mode changed\n")
            else:
                unchanged += 1
            continue
        if current is None:
            current = _read(os.path.join(dest, name))
        keys = templates.changed_keys(current, text)
        plan.append((name, text))
        written.append({"file": name, "keys": keys})
        diff_before.append(f"{name}: {', '.join(keys) or 'content'}\n")
        diff_after.append(f"{name}: {', '.join(keys) or 'content'} changed\n")

    orphans = sorted(
        name
        for name, _st in on_disk.items()
        if PER_MAC.match(name) and name not in wanted and name not in COMMON_NAMES
    )
    to_remove = []
    for name in orphans:
        mac = PER_MAC.match(name).group(1)
        path = os.path.join(dest, name)
        if mac in macs:
            # A MAC that changed vendor (.cfg <-> .xml): its old file goes.
            to_remove.append(name)
            continue
        if unassigned == "remove":
            to_remove.append(name)
            continue
        current = _read(path)
        vendor = templates.sniff_vendor(name, current)
        if vendor is None:
            skipped.append(name)
            continue
        fields = templates.read_marker(current)
        settings = templates.unassigned_settings(common, fields.get("model"), fields.get("site"))
        text = templates.render_unassigned(vendor, mac, settings)[name]
        if current == text and not _attrs_differ(on_disk[name], file_mode, uid, gid):
            unchanged += 1
            continue
        plan.append((name, text))
        made_unassigned.append(name)
        diff_before.append(f"{name}: {fields.get('user') or 'assigned'}\n")
        diff_after.append(f"{name}: unassigned\n")
    for name in to_remove:
        removed.append(name)
        diff_before.append(f"{name}\n")

    if not check_mode:
        for name, text in plan:
            write_atomic(dest, name, text, file_mode, uid, gid)
        for name in to_remove:
            try:
                os.unlink(os.path.join(dest, name))
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise PhoneFilesError(f"cannot remove {os.path.join(dest, name)}: {exc}") from exc

    http_changed = False
    if http_auth_file:
        if not http_auth_secret:
            raise PhoneFilesError("http_auth_file needs http_auth_secret")
        # Every MAC served a file (assigned, or given the unassigned profile) gets a login.
        served = {
            PER_MAC.match(name).group(1)
            for name in wanted
            if PER_MAC.match(name) and name not in COMMON_NAMES
        }
        served |= {
            PER_MAC.match(name).group(1) for name in orphans if name not in to_remove and name not in skipped
        }
        http_changed = sync_http_auth(
            http_auth_file, http_auth_secret, served, file_mode, uid, gid, check_mode
        )
        if http_changed:
            diff_before.append(f"{http_auth_file}: device logins\n")
            diff_after.append(f"{http_auth_file}: {len(served)} device login(s)\n")

    counts = {
        "written": len(written),
        "unchanged": unchanged,
        "unassigned": len(made_unassigned),
        "removed": len(removed),
        "total": len(wanted) + (len(orphans) - len(removed) - len(skipped)),
    }
    changes = {
        "written": written[:LIST_LIMIT],
        "unassigned": made_unassigned[:LIST_LIMIT],
        "removed": removed[:LIST_LIMIT],
        "skipped": skipped[:LIST_LIMIT],
        "truncated": any(len(x) > LIST_LIMIT for x in (written, made_unassigned, removed, skipped)),
    }
    if http_auth_file:
        counts["http_logins"] = len(served)
        changes["http_logins_changed"] = http_changed
    changed = bool(written or made_unassigned or removed or http_changed)
    return changed, counts, changes, (diff_before, diff_after)


def diff_text(dest, lines, limit=200):
    """--diff output: one line per file (names and setting names only), cut at ``limit`` lines per side."""

    def join(items):
        text = "".join(items[:limit])
        if len(items) > limit:
            text += f"... and {len(items) - limit} more file(s)\n"
        return text

    before, after = lines
    return {"before": join(before), "after": join(after), "before_header": dest, "after_header": dest}


ACCOUNT_OPTIONS = {
    "username": {"type": "str", "required": True},
    "auth_name": {"type": "str"},
    "password": {"type": "str", "required": True, "no_log": True},
    "domain": {"type": "str", "required": True},
    "registrar": {"type": "str", "required": True},
    "port": {"type": "int", "default": 5060},
}

PHONE_OPTIONS = {
    "mac": {"type": "str", "required": True},
    "mac_colon": {"type": "str"},
    "vendor": {"type": "str", "required": True, "choices": sorted(templates.EXTENSIONS)},
    "model": {"type": "str", "required": True},
    "user": {"type": "str"},
    "site": {"type": "str"},
    "display_name": {"type": "str"},
    "extension": {"type": "str", "required": True},
    "firmware": {"type": "dict", "options": {"version": {"type": "str"}, "url": {"type": "str"}}},
    "account": {"type": "dict", "required": True, "options": ACCOUNT_OPTIONS},
    "timezone": {"type": "str"},
    "utc_offset_minutes": {"type": "int", "default": 0},
    "ntp_servers": {"type": "list", "elements": "str", "default": []},
    "voice_vlan": {"type": "int"},
    "syslog_server": {"type": "str"},
    "line_keys": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "type": {"type": "str", "default": "blf", "choices": ["blf"]},
            "extension": {"type": "str", "required": True},
            "label": {"type": "str"},
        },
    },
}

ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    # A list of phones or its JSON (module_utils/voip_args: fast to template,
    # kept out of the host's journal), validated against PHONES_SPEC.
    "phones": {"type": "raw", "required": True, "no_log": True},
    "common": {"type": "dict", "default": {}},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "mode": {"type": "raw", "default": "0640"},
    "unassigned": {"type": "str", "default": "profile", "choices": ["profile", "remove"]},
    "http_auth_file": {"type": "path"},
    "http_auth_secret": {"type": "str", "no_log": True},
}


PHONES_SPEC = {"phones": {"type": "list", "elements": "dict", "required": True, "options": PHONE_OPTIONS}}


def run_module():
    """The whole flow of the phone_files module: arguments, sync, result (never the phones, never a secret)."""
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        phones, secrets = validate_list(params["phones"], "phones", PHONES_SPEC)
    except ArgumentError as exc:
        module.fail_json(
            msg=str(exc), invocation={"module_args": {"dest": params["dest"], "phones": "not echoed"}}
        )
    # Masked in anything returned: the passwords (and the JSON as a whole),
    # not every value of the no_log phones argument (file names stay).
    module.no_log_values = set(secrets)
    if isinstance(params["phones"], str):
        module.no_log_values.add(params["phones"])
    # The arguments as echoed back: the phones summarised, not repeated
    # (see voip_table_sync.run_module: Ansible scrubs every no_log value out
    # of every returned string).
    invocation = {
        "module_args": {
            "dest": params["dest"],
            "phones": f"{len(phones)} phone(s), not echoed",
            "owner": params["owner"],
            "group": params["group"],
            "mode": str(params["mode"]),
            "unassigned": params["unassigned"],
            "http_auth_file": params["http_auth_file"],
        }
    }
    try:
        changed, counts, changes, lines = sync(
            params["dest"],
            phones,
            common=params["common"],
            owner=params["owner"],
            group=params["group"],
            mode=params["mode"],
            unassigned=params["unassigned"],
            check_mode=module.check_mode,
            http_auth_file=params["http_auth_file"],
            http_auth_secret=params["http_auth_secret"],
        )
    except PhoneFilesError as exc:
        module.fail_json(msg=str(exc), invocation=invocation)
    result = {"changed": changed, "counts": counts, "changes": changes, "invocation": invocation}
    if module._diff:
        result["diff"] = diff_text(params["dest"], lines)
    module.exit_json(**result)
