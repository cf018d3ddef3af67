"""Network devices (gateways, access switches) over SSH with netmiko: the shared part of the netdev modules.

Runs on the controller (the netdev tasks use ``ansible_connection: local``).
Pure functions first (parsing, planning, masking: unit-tested without a
device), then the netmiko session.

A configuration is Cisco IOS text: a top-level line, its children indented
below it. ``plan`` compares the running configuration with the intended one
(rendered from the model) and returns the commands that bring the device
there:

- a missing top-level line or block is pushed whole;
- inside a block the model holds, missing child lines are pushed and child
  lines the model does not have are negated (``no ...``): the block is
  exactly what the model says (a line changed by hand is put back);
- a top-level line or block of the running configuration that matches one
  of the ``managed`` patterns but is not intended is removed (a dial-peer
  removed from the model is removed from the device); anything else on the
  device is left alone;
- with ``replace`` (a restore: the intended configuration is a backup of the
  whole device) every top-level line that is not intended is removed, except
  a line a pushed one overwrites (see ``plan``).

Secrets in lines (``secret``, ``password``, ``key``, ``key-string``, SNMP
communities and v3 auth/priv, ...: ``SECRETS``) are masked in everything
returned. ``show_command_problem`` holds ``netdev_command`` to exactly one
show command per entry.

``connect`` pins the device's SSH host key: strict checking against the
known_hosts file the estate names (``voip_device_known_hosts``) and nothing
else; an unknown or changed key fails before the login with both
fingerprints and what to do.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket

from ansible_collections.voip.estate.plugins.module_utils.voip_backup import write_atomic

# Lines that change without a configuration change; not part of a
# configuration's identity (backups and comparisons drop them).
VOLATILE = [
    re.compile(r"^Building configuration"),
    re.compile(r"^Current configuration\s*:"),
    re.compile(r"^Using \d+ out of \d+ bytes"),
    re.compile(r"^! (Last configuration change|NVRAM config last updated|No configuration change)"),
    re.compile(r"^ntp clock-period "),
    re.compile(r"^\s*$"),
]
# Header and footer lines of ``show running-config`` that are not configuration.
_NOT_CONFIG = re.compile(r"^(!.*|end|version \S+)$")
MASK = "********"
# Secrets in configuration lines and command output. Each rule keeps what
# names the setting (``keep``) and masks the rest of the line: a value may be
# quoted with spaces, and what follows a secret on its line (an address, a
# realm, a priv secret) is not worth the risk. Case-insensitive, any spacing;
# an encryption type (0, 5, 6, 7, 8, 9) stays visible.
_SP = r"[^\S\r\n]+"  # spacing within a line
_TYPE = rf"(?:[0-9]{{1,2}}{_SP}(?=\S))?"
SECRETS = (
    # username X secret|password [T] S, enable secret|password [level N] [T] S,
    # key [T] S (tacacs, radius, crypto isakmp, pre-shared-key, ntp
    # authentication-key, ospf message-digest-key), key-string [T] S (key
    # chains, HSRP md5), snmp-server community S, wpa-psk ascii|hex [T] S,
    # ppp chap password, sip-ua credentials / voice-class authentication ... password S.
    re.compile(
        rf"(?P<keep>\b(?:secret|passwd|password|key-string|community|wpa-psk(?:{_SP}(?:ascii|hex))?"
        rf"|key(?!{_SP}(?:chain|config-key)\b)){_SP}{_TYPE})(?P<value>\S[^\r\n]*)",
        re.IGNORECASE,
    ),
    # snmp-server user U G v3 [encrypted] auth md5|sha... A [priv des|3des|aes N P]
    re.compile(rf"(?P<keep>\bauth{_SP}(?:md5|sha\S*){_SP})(?P<value>\S[^\r\n]*)", re.IGNORECASE),
    re.compile(
        rf"(?P<keep>\bpriv{_SP}(?:des|3des|aes(?:{_SP}[0-9]+)?){_SP})(?P<value>\S[^\r\n]*)", re.IGNORECASE
    ),
    # snmp-server host A [traps|informs] [version 1|2c] COMMUNITY (v3 names a user: kept)
    re.compile(
        rf"(?P<keep>\bsnmp-server{_SP}host{_SP}\S+{_SP}(?:(?:traps|informs){_SP})?(?:version{_SP}(?:1|2c){_SP})?)"
        r"(?!version\b)(?P<value>\S[^\r\n]*)",
        re.IGNORECASE,
    ),
    # standby|vrrp|glbp N authentication [text] S, ip nhrp authentication S
    re.compile(
        rf"(?P<keep>\b(?:(?:standby|vrrp|glbp)(?:{_SP}[0-9]+)?{_SP}authentication(?:{_SP}text)?"
        rf"|nhrp{_SP}authentication){_SP})(?!md5\b)(?P<value>\S[^\r\n]*)",
        re.IGNORECASE,
    ),
)


class NetdevError(Exception):
    """The device cannot be configured as asked (bad input, connection, command refused)."""


def mask(line: str) -> str:
    """``line`` (or lines) with every secret and the rest of its line replaced by ``********``."""
    for rule in SECRETS:
        line = rule.sub(lambda m: m.group("keep") + MASK, line)
    return line


def strip_volatile(text: str) -> str:
    """A configuration's text without the lines that change by themselves (timestamps, sizes)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if not any(p.search(line) for p in VOLATILE)) + "\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse(text: str) -> list[tuple[str, list]]:
    """IOS configuration text as a tree: [(line, children), ...] in order.

    Indentation makes the hierarchy; ``!`` separators, the header, ``end``
    and blank lines are dropped; trailing spaces are ignored.
    """
    root: list[tuple[str, list]] = []
    stack: list[tuple[int, list]] = [(-1, root)]
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip() or any(p.search(line) for p in VOLATILE):
            continue
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if indent == 0 and _NOT_CONFIG.match(stripped):
            continue
        if indent > 0 and stripped == "!":
            continue
        while stack[-1][0] >= indent:
            stack.pop()
        node: tuple[str, list] = (stripped, [])
        stack[-1][1].append(node)
        stack.append((indent, node[1]))
    return root


def _negate(line: str) -> str:
    return line[3:] if line.startswith("no ") else f"no {line}"


def _as_dict(tree):
    return dict(tree)


def plan(running: str, intended: str, managed: list[str] = (), replace: bool = False) -> dict:
    """What to send to bring ``running`` to ``intended``.

    Returns ``commands`` (lines in configuration mode, parents entered
    before their children, in order), ``added`` and ``removed`` (the
    configuration lines, with their parents as ``parent / child``) for the
    diff and counts.

    With ``replace`` every top-level line of ``running`` that is not intended
    is removed, not only the ``managed`` ones, except a single line that a
    pushed line overwrites (``overwritten``): negated after the push, it
    would take the new value away too (``no username admin ...`` removes the
    user). Such a line is listed in ``removed`` without a command; if the
    push did not overwrite it after all, planning again removes it.
    """
    try:
        patterns = [re.compile(p) for p in managed]
    except re.error as exc:
        raise NetdevError(f"managed: not a regular expression: {exc}") from exc
    have = _as_dict(parse(running))
    want = parse(intended)
    commands: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    want_lines = {line for line, _children in want}
    for line, children in want:
        if line not in have:
            commands.append(line)
            added.append(line)
            for child in _flatten(children):
                commands.append(child)
                added.append(f"{line} / {child.strip()}")
            continue
        block = _block_commands(line, have[line], children, added, removed)
        commands.extend(block)
    pushed = [line for line, children in want if line not in have and not children]
    for line, children in parse(running):
        if line in want_lines:
            continue
        if not any(p.search(line) for p in patterns):
            if not replace:
                continue
            if not children and overwritten(line, pushed):
                removed.append(line)
                continue
        commands.append(_negate(line))
        removed.append(line)
    return {"commands": commands, "added": added, "removed": removed}


def overwritten(line: str, pushed: list[str]) -> bool:
    """Whether one of the ``pushed`` lines sets what ``line`` sets: the same words but the last.

    ``hostname gw2`` overwrites ``hostname gw1``, ``username admin privilege
    15 secret 9 $9$new`` the same user's old secret, ``enable secret 9 ...``
    the old one (IOS keeps one value of such settings).
    """
    words = line.split()
    return len(words) > 1 and any(
        other != line and other.split()[:-1] == words[:-1] and len(other.split()) == len(words)
        for other in pushed
    )


def _set_by(line: str, lines: list[str]) -> bool:
    """Whether ``line`` is the ``no X`` form of a setting that one of ``lines`` gives a value (``X ...``)."""
    if not line.startswith("no "):
        return False
    setting = line[3:]
    return any(other == setting or other.startswith(f"{setting} ") for other in lines)


def _flatten(children, depth=1):
    out = []
    for line, sub in children:
        out.append(" " * depth + line)
        out.extend(_flatten(sub, depth + 1))
    return out


def _block_commands(parent, have_children, want_children, added, removed):
    """Commands inside an existing block: extra children negated first, then missing ones pushed."""
    have = _as_dict(have_children)
    want_lines = [line for line, _children in want_children]
    body = []
    for line in have:
        if line not in want_lines:
            # ``no ip address`` goes by pushing ``ip address A M`` (negated it would be incomplete).
            if not _set_by(line, want_lines):
                body.append(f" {_negate(line)}")
            removed.append(f"{parent} / {line}")
    for line, sub in want_children:
        if line not in have:
            body.append(f" {line}")
            body.extend(_flatten(sub, 2))
            added.append(f"{parent} / {line}")
        elif sub:
            inner_added: list[str] = []
            inner_removed: list[str] = []
            inner = _block_commands(line, have[line], sub, inner_added, inner_removed)
            if inner:
                body.append(f" {line}")
                body.extend(f" {c}" for c in inner)
                added.extend(f"{parent} / {a}" for a in inner_added)
                removed.extend(f"{parent} / {r}" for r in inner_removed)
    return [parent, *body] if body else []


def diff_text(host: str, added: list[str], removed: list[str]) -> dict:
    """--diff of configuration lines (secrets masked)."""
    return {
        "before_header": f"{host} running-config",
        "after_header": f"{host} intended",
        "before": "".join(f"{mask(line)}\n" for line in removed),
        "after": "".join(f"{mask(line)}\n" for line in added),
    }


# -- show commands -----------------------------------------------------------------

# The filters a show command may end in (``| include REGEX``), by any
# abbreviation: IOS's other pipes write files or send the output away
# (``| redirect tftp://...``, ``| tee``, ``| append``).
SHOW_FILTERS = ("begin", "count", "exclude", "include", "section")


def show_command_problem(command: str) -> str | None:
    """Why ``command`` is not exactly one read-only show command, or None.

    The device's line editor runs a line at CR or LF, Ctrl-Z ends a
    configuration, Ctrl-U and backspace rewrite the line before it runs, an
    escape starts a key sequence, ``?`` asks for help, and a Unicode line
    separator is a line break to a CLI that splits text by lines: any
    character outside printable ASCII is refused, as are ``;`` (a command
    separator on some platforms), ``<`` and ``>`` (redirection) and pipes
    other than the output filters of ``SHOW_FILTERS``.
    """
    for ch in command:
        if not " " <= ch <= "~":
            return f"it contains {_char_name(ch)}: one command per entry, printable ASCII only"
    for ch in "?;<>":
        if ch in command:
            return f"it contains {ch!r}, which the device would not read as part of a show command"
    command, *filters = command.split("|")
    if not re.match(r"^show\s+\S", command.strip()):
        return "only show commands are run here"
    for part in filters:
        word = part.split()[0].lower() if part.split() else ""
        if not word or not any(name.startswith(word) for name in SHOW_FILTERS):
            return f"the output may only be filtered ({', '.join(f'| {n}' for n in SHOW_FILTERS)}), not '| {part.strip()}'"
    return None


def _char_name(ch: str) -> str:
    names = {
        "\n": "a line feed",
        "\r": "a carriage return",
        "\t": "a tab",
        "\x1a": "Ctrl-Z",
        "\x1b": "an escape",
    }
    return f"{names[ch]} (U+{ord(ch):04X})" if ch in names else f"the character U+{ord(ch):04X}"


def refused_show_commands(commands: list[str]) -> list[str]:
    """One message per entry of ``commands`` that is not exactly one show command, naming the entry."""
    return [
        f"commands[{index}] {command!a}: {problem}"
        for index, command in enumerate(commands)
        if (problem := show_command_problem(command)) is not None
    ]


# -- the device ------------------------------------------------------------------

CONNECTION_SPEC = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 22},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "enable_secret": {"type": "str", "default": "", "no_log": True},
    "known_hosts": {"type": "path", "required": True},
    "device_type": {"type": "str", "default": "cisco_ios"},
    "timeout": {"type": "int", "default": 20},
}


def fingerprint(key) -> str:
    """A paramiko key as OpenSSH shows it: ``ssh-ed25519 SHA256:...``."""
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return f"{key.get_name()} SHA256:{digest}"


def known_hosts_name(host: str, port: int) -> str:
    """The name a device has in a known_hosts file: ``host`` on port 22, ``[host]:port`` otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


def pinned_keys(path: str, host: str, port: int) -> dict:
    """The host keys ``path`` pins for the device (key type -> key); NetdevError if the file is unusable."""
    import paramiko

    if not os.path.isfile(path):
        raise NetdevError(
            f"the known_hosts file {path} does not exist (voip_device_known_hosts): device host keys are "
            "pinned, nothing connects without it"
        )
    keys = paramiko.HostKeys()
    try:
        keys.load(path)
    except (OSError, UnicodeDecodeError, paramiko.SSHException, ValueError) as exc:
        raise NetdevError(f"cannot read the known_hosts file {path}: {exc}") from exc
    return dict(keys.lookup(known_hosts_name(host, port)) or {})


def presented_key(host: str, port: int, timeout: int):
    """The host key the device presents (SSH key exchange only, no login); None if it cannot be read."""
    import paramiko

    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            transport = paramiko.Transport(sock)
            try:
                transport.start_client(timeout=timeout)
                return transport.get_remote_server_key()
            finally:
                transport.close()
    except (OSError, EOFError, paramiko.SSHException):
        return None


# The messages name no secret; they are worded so that mask() (which every
# module applies to its messages) leaves them whole: "key" is never followed
# by a space.
def _unknown_key(where: str, path: str, presented) -> NetdevError:
    shown = fingerprint(presented) if presented is not None else "nothing readable"
    return NetdevError(
        f"{where}: unknown SSH host key: {path} pins none for this device, which presented {shown}. "
        "Nothing was sent to it. Compare that fingerprint with the one on the device's console; if it is "
        f"the device's own, add its public key, one line, to {path} (voip_device_known_hosts)"
    )


def _changed_key(where: str, path: str, expected, presented) -> NetdevError:
    return NetdevError(
        f"{where}: changed SSH host key: {path} pins {fingerprint(expected)}, the device presented "
        f"{fingerprint(presented)}. Nothing was sent to it: the device was replaced or re-keyed, or someone "
        "is in between. Compare the new fingerprint with the one on the device's console; only if it is "
        f"the device's own, replace its line in {path} (voip_device_known_hosts)"
    )


def _host_key_error(exc: BaseException):
    """The paramiko host key refusal behind a netmiko exception, or None."""
    import paramiko

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, paramiko.BadHostKeyException):
            return exc
        if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def connect(params: dict):
    """A netmiko session to the device, in privileged mode; NetdevError with a clear message otherwise.

    The device's host key must be the one ``params['known_hosts']`` pins for
    it: strict checking against that file only (no system or user
    known_hosts, nothing added to any file). An unknown or changed key fails
    before the login with both fingerprints and what to do.
    """
    try:
        import paramiko
        from netmiko import ConnectHandler
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
    except ImportError as exc:  # pragma: no cover - depends on the controller's environment
        raise NetdevError(f"netmiko is not installed on the controller: {exc}") from exc
    where = f"{params['host']}:{params['port']}"
    known_hosts = params["known_hosts"]
    try:
        pinned = pinned_keys(known_hosts, params["host"], params["port"])
    except NetdevError as exc:
        raise NetdevError(f"{where}: {exc}") from exc
    if not pinned:
        raise _unknown_key(
            where, known_hosts, presented_key(params["host"], params["port"], params["timeout"])
        )
    try:
        session = ConnectHandler(
            device_type=params["device_type"],
            host=params["host"],
            port=params["port"],
            username=params["username"],
            password=params["password"],
            secret=params.get("enable_secret") or "",
            timeout=params["timeout"],
            conn_timeout=params["timeout"],
            auth_timeout=params["timeout"],
            banner_timeout=params["timeout"],
            fast_cli=False,
            ssh_strict=True,
            system_host_keys=False,
            alt_host_keys=True,
            alt_key_file=known_hosts,
            use_keys=False,
            allow_agent=False,
        )
    except NetmikoAuthenticationException as exc:
        raise NetdevError(f"{where}: authentication failed for user {params['username']!r}") from exc
    except (NetmikoTimeoutException, paramiko.SSHException, OSError, ValueError, EOFError) as exc:
        refused = _host_key_error(exc)
        if isinstance(refused, paramiko.BadHostKeyException):
            raise _changed_key(where, known_hosts, refused.expected_key, refused.key) from exc
        if refused is not None:
            raise _unknown_key(where, known_hosts, None) from exc
        if isinstance(exc, NetmikoTimeoutException):
            raise NetdevError(
                f"{where}: no SSH answer within {params['timeout']} s (device down or unreachable)"
            ) from exc
        raise NetdevError(f"{where}: cannot connect: {exc}") from exc
    try:
        if not session.check_enable_mode():
            session.enable()
    except (OSError, ValueError) as exc:
        session.disconnect()
        raise NetdevError(f"{where}: cannot enter privileged mode: {exc}") from exc
    return session


INVALID = re.compile(r"^% (Invalid input|Incomplete command|Ambiguous command).*$", re.MULTILINE)


def running_config(session) -> str:
    return session.send_command("show running-config", read_timeout=60)


def startup_config(session) -> str:
    return session.send_command("show startup-config", read_timeout=60)


def push(session, commands: list[str]) -> str:
    """Send ``commands`` in configuration mode; NetdevError (with the refused line) if the device refuses one."""
    output = session.send_config_set(commands, cmd_verify=False, read_timeout=60)
    refused = INVALID.search(output)
    if refused:
        # The line the device refused is the one echoed before the error.
        lines = output.splitlines()
        at = next((i for i, line in enumerate(lines) if INVALID.match(line)), 0)
        echoed = next((mask(line) for line in reversed(lines[:at]) if line.strip() and "^" not in line), "?")
        with _quiet():
            session.exit_config_mode()
        raise NetdevError(f"the device refused a line: {echoed.strip()!r}: {refused.group(0)}")
    return output


def save(session) -> str:
    return session.save_config()


# -- a backup of the running configuration -------------------------------------------

BACKUP_SPEC = {**CONNECTION_SPEC, "dest": {"type": "path", "required": True}}


def backup(params: dict, check_mode: bool = False, diff: bool = False) -> dict:
    """Fetch the device's running configuration and store it at ``params['dest']``: the result of netdev_backup.

    One session to the device (``connect``: the pinned host key); the
    configuration without its volatile lines is written atomically, mode
    0600, only when it differs from what ``dest`` holds and not in check
    mode. The result holds ``changed``, ``sha256``, ``path``, ``size`` and
    ``lines`` (never the text), and with ``diff`` the checksums before and
    after. NetdevError with the message to show (secrets masked) otherwise.
    Shared by the module and the action plugin of the same name (which runs
    it in Ansible's worker process, without a new Python per device).
    """
    dest = params["dest"]
    session = None
    try:
        session = connect(params)
        text = strip_volatile(running_config(session))
    except NetdevError as exc:
        raise NetdevError(mask(str(exc))) from exc
    finally:
        if session is not None:
            session.disconnect()
    if len(text.strip()) == 0:
        raise NetdevError(f"{params['host']}: the device returned an empty configuration; nothing stored")
    digest = sha256(text)
    try:
        with open(dest) as handle:
            before = handle.read()
    except OSError:
        before = None
    changed = before != text
    if changed and not check_mode:
        try:
            write_atomic(dest, text.encode(), 0o600)
        except OSError as exc:
            raise NetdevError(f"cannot write {dest}: {exc}") from exc
    result = {
        "changed": changed,
        "sha256": digest,
        "path": dest,
        "size": len(text.encode()),
        "lines": text.count("\n"),
    }
    if diff:
        result["diff"] = {
            "before": "" if before is None else f"sha256 {sha256(before)}\n",
            "after": f"sha256 {digest}\n",
        }
    return result


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], Exception)
