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
import datetime
import grp
import hashlib
import hmac
import os
import pwd
import re
import stat
import tempfile

from ansible_collections.voip.estate.plugins.module_utils import voip_phone_templates as templates
from ansible_collections.voip.estate.plugins.module_utils.voip_args import mask_only, module_rows, not_echoed

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


def _account_id(name, lookup, what):
    """The numeric id of ``name`` (a number, or a name ``lookup`` knows); -1 (unchanged) for None."""
    if name is None:
        return -1
    if str(name).isdigit():
        return int(name)
    try:
        return lookup(name)
    except KeyError:
        raise PhoneFilesError(f"{what} {name!r} does not exist on this host") from None


def _uid(owner):
    return _account_id(owner, lambda name: pwd.getpwnam(name).pw_uid, "owner")


def _gid(group):
    return _account_id(group, lambda name: grp.getgrnam(name).gr_gid, "group")


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
        _generation(f"phones[{index}] ({mac})", entry.get("login_rotation") or 0)
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


def _generation(mac, rotation):
    """``mac`` for login generation 0 (the derivation before rotation existed), ``mac:N`` after N rotations."""
    if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation < 0:
        raise PhoneFilesError(f"{mac}: login_rotation {rotation!r} is not a whole number, 0 or more")
    return f"{mac}:{rotation}" if rotation else mac


def device_http_password(secret, mac, rotation=0):
    """A phone's HTTP password for its provisioning files (user name: the bare MAC), derived from ``secret``.

    ``rotation`` (the device's ``password_rotation``) changes this one
    password; 0 gives the password phones had before the counter existed.
    """
    label = _generation(mac, rotation)
    digest = hmac.new(secret.encode(), f"phone-http:{label}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:24]


def htpasswd_line(secret, mac, rotation=0):
    """``mac:{SSHA}...`` for nginx's auth_basic_user_file; the salt is derived too, so the line is stable."""
    label = _generation(mac, rotation)
    salt = hmac.new(secret.encode(), f"phone-http-salt:{label}".encode(), hashlib.sha256).digest()[:8]
    password = device_http_password(secret, mac, rotation).encode()
    return f"{mac}:{{SSHA}}{base64.b64encode(hashlib.sha1(password + salt).digest() + salt).decode()}\n"


_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_day(value, what):
    """A ``datetime.date`` from ``YYYY-MM-DD``; PhoneFilesError naming ``what`` otherwise."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _DAY.match(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise PhoneFilesError(f"{what} {value!r} is not a date YYYY-MM-DD")


def retired_day(marked, today):
    """The day an orphan's MAC left the model: its marker's ``retired``, else (unset, unreadable, or
    later than ``today``: never trusted to extend a login) ``today``."""
    try:
        day = parse_day(marked, "retired")
    except PhoneFilesError:
        return today
    return min(day, today)


def login_expired(retired, today, grace_days):
    """Whether a MAC retired on ``retired`` has outlived ``grace_days`` on ``today`` (0: at once)."""
    return (today - retired).days >= grace_days


def _marked_login(fields):
    """The login generation an existing file's marker names (0 when none or unreadable)."""
    text = fields.get("login") or ""
    return int(text) if text.isdigit() and len(text) <= 9 else 0


HTPASSWD_HEAD = (
    "# Per-device HTTP logins of the desk phones (user: the MAC), written by the phone_files module.\n"
)


def sync_http_auth(path, secret, macs, mode, uid, gid, check_mode=False):
    """Bring the htpasswd file ``path`` to one login per MAC in ``macs`` ({mac: login generation});
    return whether it changed."""
    text = HTPASSWD_HEAD + "".join(htpasswd_line(secret, mac, macs[mac]) for mac in sorted(macs))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and _read(path) == text and not _attrs_differ(st, mode, uid, gid):
        return False
    if not check_mode:
        write_atomic(os.path.dirname(path) or ".", os.path.basename(path), text, mode, uid, gid)
    return True


def _wanted_plan(dest, wanted, on_disk, file_mode, uid, gid, out):
    """Plan the assigned and common files: new, changed content, or changed attributes."""
    for name, (text, _entry) in wanted.items():
        st = on_disk.get(name)
        if st is None:
            out["plan"].append((name, text))
            out["written"].append({"file": name, "new": True})
            out["after"].append(f"{name}: new\n")
            continue
        current = _read(os.path.join(dest, name)) if st.st_size == len(text.encode()) else None
        if current == text:
            if _attrs_differ(st, file_mode, uid, gid):
                out["plan"].append((name, text))
                out["written"].append({"file": name, "keys": [], "attributes": True})
                out["before"].append(f"{name}: owner/group/mode\n")
                out["after"].append(f"{name}: owner/group/mode changed\n")
            else:
                out["unchanged"] += 1
            continue
        if current is None:
            current = _read(os.path.join(dest, name))
        keys = templates.changed_keys(current, text)
        out["plan"].append((name, text))
        out["written"].append({"file": name, "keys": keys})
        out["before"].append(f"{name}: {', '.join(keys) or 'content'}\n")
        out["after"].append(f"{name}: {', '.join(keys) or 'content'} changed\n")


def _orphan_plan(dest, orphans, macs, on_disk, opts, out):
    """Plan the orphans: removed, skipped (unknown vendor), or given the unassigned profile.

    An orphan keeps the login generation its file names; with ``today`` its
    marker records the day its MAC left the model, and once
    ``retired_grace_days`` have passed its file (and so its login) goes.
    Returns {mac: login generation} of the orphans still served.
    """
    today, grace = opts["today"], opts["grace"]
    served = {}
    for name in orphans:
        mac = PER_MAC.match(name).group(1)
        if mac in macs or opts["unassigned"] == "remove":
            # A MAC that changed vendor (.cfg <-> .xml): its old file goes; or removal was asked for.
            out["to_remove"].append(name)
            continue
        current = _read(os.path.join(dest, name))
        vendor = templates.sniff_vendor(name, current)
        if vendor is None:
            out["skipped"].append(name)
            continue
        fields = templates.read_marker(current)
        retired = fields.get("retired") if _DAY.match(fields.get("retired") or "") else None
        if today is not None:
            retired = retired_day(retired, today)
            if grace is not None and login_expired(retired, today, grace):
                out["to_remove"].append(name)
                out["expired"].append(name)
                continue
            retired = retired.isoformat()
        settings = templates.unassigned_settings(opts["common"], fields.get("model"), fields.get("site"))
        settings["login"] = _marked_login(fields)
        settings["retired"] = retired
        served[mac] = settings["login"]
        text = templates.render_unassigned(vendor, mac, settings)[name]
        if current == text and not _attrs_differ(on_disk[name], opts["mode"], opts["uid"], opts["gid"]):
            out["unchanged"] += 1
            continue
        out["plan"].append((name, text))
        out["unassigned"].append(name)
        out["before"].append(f"{name}: {fields.get('user') or 'assigned'}\n")
        out["after"].append(f"{name}: unassigned\n")
    return served


def _apply(dest, out, file_mode, uid, gid):
    for name, text in out["plan"]:
        write_atomic(dest, name, text, file_mode, uid, gid)
    for name in out["to_remove"]:
        try:
            os.unlink(os.path.join(dest, name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise PhoneFilesError(f"cannot remove {os.path.join(dest, name)}: {exc}") from exc


def _served_logins(wanted, served_orphans):
    """{mac: login generation} of every MAC served a file: assigned, or given the unassigned profile."""
    served = {
        PER_MAC.match(name).group(1): int(entry.get("login_rotation") or 0)
        for name, (_text, entry) in wanted.items()
        if PER_MAC.match(name) and name not in COMMON_NAMES
    }
    served.update(served_orphans)
    return served


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
    today=None,
    retired_grace_days=None,
):
    """Bring ``dest`` to the files of ``phones``; return (changed, counts, changes, diff lines).

    ``changes`` has the file names written (with the setting names that
    changed), unassigned and removed (``expired``: removed because their
    MAC's retirement outlived ``retired_grace_days``, counted from the day
    ``today`` first found it gone); ``diff`` is a list of (before, after)
    lines naming files and setting names only.
    """
    day = _run_day(unassigned, today, retired_grace_days)
    grace = retired_grace_days
    file_mode = parse_mode(mode)
    uid, gid = _uid(owner), _gid(group)
    wanted, macs = desired_files(phones)
    on_disk = list_directory(dest)
    out = {"plan": [], "written": [], "unassigned": [], "to_remove": [], "skipped": [], "expired": [],
           "before": [], "after": [], "unchanged": 0}  # fmt: skip

    _wanted_plan(dest, wanted, on_disk, file_mode, uid, gid, out)
    orphans = sorted(
        name for name in on_disk if PER_MAC.match(name) and name not in wanted and name not in COMMON_NAMES
    )
    opts = {"today": day, "grace": grace, "unassigned": unassigned, "common": common,
            "mode": file_mode, "uid": uid, "gid": gid}  # fmt: skip
    served_orphans = _orphan_plan(dest, orphans, macs, on_disk, opts, out)
    removed = list(out["to_remove"])
    out["before"].extend(f"{name}\n" for name in removed)
    if not check_mode:
        _apply(dest, out, file_mode, uid, gid)

    http_changed, logins = False, None
    if http_auth_file:
        auth = (http_auth_file, http_auth_secret, file_mode, uid, gid, check_mode)
        http_changed, logins = _sync_logins(auth, wanted, served_orphans, out)
    counts, changes = _summary(out, len(wanted), len(orphans), removed)
    if http_auth_file:
        counts["http_logins"] = logins
        changes["http_logins_changed"] = http_changed
    changed = bool(out["written"] or out["unassigned"] or removed or http_changed)
    return changed, counts, changes, (out["before"], out["after"])


def _run_day(unassigned, today, grace):
    """The run's day (a date or None) after checking ``unassigned``, ``today`` and ``grace``."""
    if unassigned not in ("profile", "remove"):
        raise PhoneFilesError(f"unassigned must be 'profile' or 'remove', not {unassigned!r}")
    day = None if today in (None, "") else parse_day(today, "today")
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int) or grace < 0):
        raise PhoneFilesError(f"retired_grace_days {grace!r} is not a whole number of days, 0 or more")
    if grace is not None and day is None:
        raise PhoneFilesError("retired_grace_days needs today (the run's date, YYYY-MM-DD)")
    return day


def _sync_logins(auth, wanted, served_orphans, out):
    """Sync the htpasswd file to every MAC served a file; return (changed, number of logins).

    ``auth`` is (file, secret, mode, uid, gid, check_mode); a change adds to ``out``'s diff.
    """
    path, secret, file_mode, uid, gid, check_mode = auth
    if not secret:
        raise PhoneFilesError("http_auth_file needs http_auth_secret")
    served = _served_logins(wanted, served_orphans)
    changed = sync_http_auth(path, secret, served, file_mode, uid, gid, check_mode)
    if changed:
        out["before"].append(f"{path}: device logins\n")
        out["after"].append(f"{path}: {len(served)} device login(s)\n")
    return changed, len(served)


def _summary(out, wanted, orphans, removed):
    """(counts, changes) of a sync: numbers, and the names written, unassigned, removed, skipped."""
    written, made_unassigned, skipped = out["written"], out["unassigned"], out["skipped"]
    counts = {
        "written": len(written),
        "unchanged": out["unchanged"],
        "unassigned": len(made_unassigned),
        "removed": len(removed),
        "expired": len(out["expired"]),
        "total": wanted + (orphans - len(removed) - len(skipped)),
    }
    changes = {
        "written": written[:LIST_LIMIT],
        "unassigned": made_unassigned[:LIST_LIMIT],
        "removed": removed[:LIST_LIMIT],
        "expired": out["expired"][:LIST_LIMIT],
        "skipped": skipped[:LIST_LIMIT],
        "truncated": any(len(x) > LIST_LIMIT for x in (written, made_unassigned, removed, skipped)),
    }
    return counts, changes


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
    # The site's call servers, the primary (= registrar) first; none: the registrar alone.
    "servers": {
        "type": "list",
        "elements": "dict",
        "options": {"address": {"type": "str", "required": True}, "port": {"type": "int", "default": 5060}},
    },
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
    "login_rotation": {"type": "int", "default": 0},
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
    "today": {"type": "str"},
    "retired_grace_days": {"type": "int"},
}


PHONES_SPEC = {"phones": {"type": "list", "elements": "dict", "required": True, "options": PHONE_OPTIONS}}


def run_module():
    """The whole flow of the phone_files module: arguments, sync, result (never the phones, never a secret)."""
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    phones, secrets = module_rows(
        module,
        params["phones"],
        "phones",
        PHONES_SPEC,
        {"module_args": {"dest": params["dest"], "phones": "not echoed"}},
    )
    # Masked in anything returned: the passwords (and the JSON as a whole),
    # not every value of the no_log phones argument (file names stay).
    mask_only(module, secrets, params["phones"])
    # The arguments as echoed back: the phones summarised, not repeated
    # (see voip_table_sync.run_module: Ansible scrubs every no_log value out
    # of every returned string).
    invocation = {
        "module_args": {
            "dest": params["dest"],
            "phones": not_echoed(phones, "phone"),
            "owner": params["owner"],
            "group": params["group"],
            "mode": str(params["mode"]),
            "unassigned": params["unassigned"],
            "http_auth_file": params["http_auth_file"],
            "today": params["today"],
            "retired_grace_days": params["retired_grace_days"],
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
            today=params["today"],
            retired_grace_days=params["retired_grace_days"],
        )
    except PhoneFilesError as exc:
        module.fail_json(msg=str(exc), invocation=invocation)
    result = {"changed": changed, "counts": counts, "changes": changes, "invocation": invocation}
    if module._diff:
        result["diff"] = diff_text(params["dest"], lines)
    module.exit_json(**result)
