#!/usr/bin/env python3
"""iosgw: a simulated Cisco IOS XE voice gateway (ISR 4000 style) over SSH.

TEST INFRASTRUCTURE ONLY. This is not IOS and not an emulator of it: it is a
small, table-driven imitation of the CLI surface that the estate's automation
uses (netmiko ``device_type="cisco_ios"``), good enough to converge playbooks
against in the lab and in unit tests. It places no calls and keeps no ISDN or
SIP state; the ``show`` commands report what the configuration implies.

Run (one file, standard library plus ``asyncssh``)::

    python iosgw.py --hostname gw1 --listen-host 0.0.0.0 --listen-port 22 \\
        --username admin --password SECRET [--enable-secret S] \\
        [--state-dir /var/lib/iosgw] [--reload-seconds 10]

SSH: password authentication for the one user given on the command line
(the ``username`` lines of the configuration are data, they do not change the
login). An interactive shell with a PTY (netmiko uses ``invoke_shell``): input
is echoed, output uses CRLF line endings, backspace, Ctrl-U, Ctrl-C and
Ctrl-Z work. ``ssh gw1 show version`` (an exec request) runs one user EXEC command.
Every session shares one device; every configuration command is logged to
stdout (secrets masked) for ``podman logs``. The host key is generated once
and kept in the state directory (a new temporary directory when
``--state-dir`` is not given), unless ``--host-key FILE`` names one (the lab
mounts a stable key that its known_hosts pins).

Software (``netflash.py``, #29): flash (``bootflash:``, also ``flash:``) is
``<state-dir>/flash`` and starts with the factory image. ``dir``, ``copy
http://HOST/FILE bootflash:[NAME]`` (asks the destination name; http only; the
event loop waits for the download), ``verify /md5|/sha512 bootflash:NAME``,
``delete [/force] bootflash:NAME``; ``boot system bootflash:NAME`` is
configuration (one entry; a new one replaces it), read at boot from the
startup-config. ``reload`` asks to save unsaved changes, then ``Proceed with
reload? [confirm]``; SSH goes away for ``--reload-seconds`` and the device
boots again from its startup-config and the image it names; ``show version``
reports that image. A broken image (``state=broken``) boots with every
voice port, dial-peer and ISDN D-channel down.

Configuration life cycle, as on a router: ``write memory`` (or ``copy
running-config startup-config``) saves ``<state-dir>/startup-config``; on
start the startup-config is replayed through the same parser, so a restart
keeps what was saved and loses what was not. Without a saved configuration
the device starts from ``hostname <--hostname>``, ``username <--username>
privilege 15 secret 9 ...``, ``enable secret 9 ...`` (with
``--enable-secret``) and ``interface GigabitEthernet0/0/0`` / ``no ip
address``. The command-line values only seed that factory configuration.

Exec commands (user EXEC ``gw1>``, privileged ``gw1#``)::

    enable | disable | exit | logout
    terminal length N | terminal width N | terminal [no] monitor
    show running-config | show startup-config        (privileged)
    show version | show clock | show isdn status
    show voice port summary | show dial-peer voice summary
    write [memory] | copy running-config startup-config
    dir | copy http://... bootflash: | verify | delete | reload   (privileged)
    configure terminal
    ... | section|include|exclude|begin|count REGEX (on any show command)

Abbreviations: only those listed in ``EXEC_ABBREVIATIONS`` (``conf t``,
``sh run``, ``wr``, ``wr mem``, netmiko's ``write mem`` ...). Errors are
IOS-like: ``% Invalid input detected at '^' marker.`` with the caret line, or
``% Incomplete command.``.

Configuration grammar: ``MODES`` maps each configuration mode (named like
its prompt, e.g. ``config-dial-peer``) to an ordered list of ``Cmd``. A
``Cmd`` has a syntax string in a small pattern language::

    word            a keyword (case-insensitive, shown as written)
    (a|b|c)         one of; alternatives may be sequences or arguments
    [x]  [a|b]      optional
    <lo-hi>         an integer in a range
    LINE            the rest of the line, as typed (descriptions)
    UPPERCASE       an argument type from ARG_TYPES (IP, WORD, IFNAME, ...)

and says which leading tokens form its *key* (``key=``; by default the
leading keywords): a command replaces the line with the same key under the
same parent (``description``, ``session target``, ``codec preference 1``),
and ``no <key> [...]`` removes it (``no dial-peer voice 100`` removes the
whole block). ``child=`` makes a command enter a sub-mode. ``negated=True``
is for commands whose non-default form is ``no X`` (``no vad``, ``no cdp
enable``): ``no X`` is stored and ``X`` removes it. ``no_shown=True`` keeps
``no X`` as a line (``no ip address``). ``only=`` restricts a command to
blocks whose header matches a regex (``port`` on pots dial-peers),
``defaults=`` are lines a new block starts with, ``transform=`` rewrites the
tokens (secrets become type 9 hashes), ``hook=`` runs side effects (a
``pri-group`` creates ``interface SerialS/S/S:15`` and ``voice-port
S/S/S:15``; T1: ``:23``). Like IOS, a command not valid in the current
sub-mode but valid in a parent mode leaves the sub-mode and runs there;
``exit`` goes to the parent mode, ``end``/Ctrl-Z to privileged exec, ``do
CMD`` runs an exec command, lines starting with ``!`` are comments.

``show running-config`` renders the tree in a canonical order: the order of
the commands in ``MODES`` (which for global configuration is IOS's section
order), then a natural sort of the keys; top-level blocks are separated by
``!``, children indented one space per level.

To extend: add a ``Cmd`` to the mode's list at the position where its line
should be shown (and a new mode to ``MODES`` with a ``child=`` entry leading
to it); add an argument type to ``ARG_TYPES``; add an exec command to
``EXEC_COMMANDS`` with a handler taking ``(cli, tokens)``.

The SSH-free core is ``Device`` (shared state) and ``Cli`` (one session:
``cli.execute(line) -> output``, ``cli.prompt``); ``Gateway`` puts asyncssh
on top and ``ServerThread`` runs one in a background thread for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import secrets
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import netflash

log = logging.getLogger("iosgw")

VERSION = "17.6.5"
CONFIG_VERSION = "17.6"
NVRAM_BYTES = 33554432
PLATFORM = "isr4300"
FACTORY_IMAGE = "isr4300-universalk9.17.06.05.SPA.bin"
FLASH_BYTES = 3223551 * 1024
FLASH_PREFIXES = ("bootflash:", "flash:")


class CmdError(Exception):
    """A command was understood but refused; the message is shown as is."""


# --------------------------------------------------------------------------
# Secrets: IOS type 9 (scrypt) and type 5 (MD5-crypt)
# --------------------------------------------------------------------------

_CISCO_B64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_STD_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_CISCO_B64 = str.maketrans(_STD_B64, _CISCO_B64)
TYPE9_RE = re.compile(r"\$9\$([./0-9A-Za-z]{14})\$([./0-9A-Za-z]{43})")
TYPE5_RE = re.compile(r"\$1\$([./0-9A-Za-z]{1,8})\$([./0-9A-Za-z]{22})")


def type9_hash(secret: str, salt: str | None = None) -> str:
    """IOS type 9: scrypt (N=16384, r=1, p=1) over a 14-character salt, Cisco's base64 alphabet."""
    if salt is None:
        salt = "".join(secrets.choice(_CISCO_B64) for _ in range(14))
    key = hashlib.scrypt(secret.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    return f"$9${salt}${base64.b64encode(key).decode().rstrip('=').translate(_TO_CISCO_B64)}"


def md5_crypt(secret: str, salt: str) -> str:
    """MD5-crypt (``$1$``), what IOS shows as type 5."""
    pw, sl, magic = secret.encode(), salt.encode()[:8], b"$1$"
    alt = hashlib.md5(pw + sl + pw).digest()
    ctx = pw + magic + sl
    for n in range(len(pw), 0, -16):
        ctx += alt[: min(16, n)]
    i = len(pw)
    while i:
        ctx += b"\0" if i & 1 else pw[:1]
        i >>= 1
    final = hashlib.md5(ctx).digest()
    for r in range(1000):
        c = pw if r & 1 else final
        if r % 3:
            c += sl
        if r % 7:
            c += pw
        c += final if r & 1 else pw
        final = hashlib.md5(c).digest()

    def b64(a: int, b: int, c: int, n: int) -> str:
        v = (final[a] << 16) | (final[b] << 8) | final[c]
        return "".join(_CISCO_B64[(v >> (6 * k)) & 0x3F] for k in range(n))

    enc = b64(0, 6, 12, 4) + b64(1, 7, 13, 4) + b64(2, 8, 14, 4) + b64(3, 9, 15, 4) + b64(4, 10, 5, 4)
    enc += "".join(_CISCO_B64[(final[11] >> (6 * k)) & 0x3F] for k in range(2))
    return f"$1${sl.decode()}${enc}"


def verify_secret(secret: str, stored_type: str, stored: str) -> bool:
    """Check a cleartext against a stored ``secret`` value of type 0, 5 or 9."""
    if stored_type == "9" and (m := TYPE9_RE.fullmatch(stored)):
        candidate = type9_hash(secret, m.group(1))
    elif stored_type == "5" and (m := TYPE5_RE.fullmatch(stored)):
        candidate = md5_crypt(secret, m.group(1))
    else:
        candidate = secret
    return hmac.compare_digest(candidate.encode(), stored.encode())


_SECRET_IN_LINE = re.compile(r"\b(secret|password)((?:\s+[0-9])?)\s+\S+", re.I)


def mask_secrets(line: str) -> str:
    """The line with every secret/password value replaced, for logs."""
    return _SECRET_IN_LINE.sub(r"\1\2 <removed>", line)


# --------------------------------------------------------------------------
# The pattern language
# --------------------------------------------------------------------------


def _ipv4(text: str) -> str | None:
    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        return ".".join(str(int(p)) for p in parts)
    return None


def _regex(pattern: str, canon: Callable[[str], str] | None = None) -> Callable[[str], str | None]:
    compiled = re.compile(pattern)

    def accept(text: str) -> str | None:
        if not compiled.fullmatch(text):
            return None
        return canon(text) if canon else text

    return accept


_IF_SHAPES = {
    "GigabitEthernet": re.compile(r"\d+/\d+/\d+(\.\d+)?"),
    "Serial": re.compile(r"\d+/\d+/\d+(:\d+)?"),
    "Loopback": re.compile(r"\d+"),
}


def _ifname(text: str) -> str | None:
    """Interface names, case-insensitive, types abbreviated to two letters or more (Gi0/0/0)."""
    m = re.fullmatch(r"([A-Za-z]+)(\d.*)", text)
    if not m or len(m.group(1)) < 2:
        return None
    for full, shape in _IF_SHAPES.items():
        if full.lower().startswith(m.group(1).lower()) and shape.fullmatch(m.group(2)):
            return full + m.group(2)
    return None


def _flash_file(text: str) -> str:
    return "bootflash:" + text.split(":", 1)[1].removeprefix("/")


def _target(text: str) -> str | None:
    low = text.lower()
    if low.startswith("ipv4:"):
        host, _, port = text[5:].partition(":")
        if _ipv4(host) and (not port or (port.isdigit() and 0 < int(port) < 65536)):
            return "ipv4:" + _ipv4(host) + (f":{int(port)}" if port else "")
    elif low.startswith("dns:") and re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", text[4:]):
        return "dns:" + text[4:]
    elif low in ("sip-server", "registrar"):
        return low
    return None


# Argument types: NAME -> function(text) -> canonical text, or None when invalid.
ARG_TYPES: dict[str, Callable[[str], str | None]] = {
    "WORD": _regex(r"\S+"),
    "HOSTNAME": _regex(r"[A-Za-z][A-Za-z0-9_-]{0,62}"),
    "IP": _ipv4,
    "IFNAME": _ifname,
    "SLOT": _regex(r"\d+/\d+/\d+"),
    "VOICEPORT": _regex(r"\d+/\d+/\d+(:\d+)?"),
    "DIGITS": _regex(r"[0-9]+"),
    "DIALSTRING": _regex(r"[0-9*#,]+"),
    "PATTERN": _regex(r"[0-9A-Da-dTt*#.+?%$^\[\]()\-,]+"),
    "TIMESLOTS": _regex(r"\d+(-\d+)?(,\d+(-\d+)?)*"),
    "COUNTRY": _regex(r"[A-Za-z]{2}", str.upper),
    "TARGET": _target,
    # bootflash:NAME or flash:NAME (shown as bootflash:NAME); FLASHDEV: the file system alone.
    "FLASHFILE": _regex(r"(?i)(boot)?flash:/?[A-Za-z0-9][A-Za-z0-9._-]{0,127}", _flash_file),
    "FLASHDEV": _regex(r"(?i)(boot)?flash:/?", lambda _: "bootflash:"),
    "URL": _regex(r"(?i)http://[^\s]+"),
}


@dataclass(frozen=True)
class _El:
    """One element of a syntax: word, arg, range, line, or group (alternatives, maybe optional)."""

    kind: str
    text: str = ""
    lo: int = 0
    hi: int = 0
    alts: tuple[tuple[_El, ...], ...] = ()
    optional: bool = False


def parse_syntax(syntax: str) -> tuple[_El, ...]:
    """Compile a syntax string of the pattern language (see the module docstring)."""
    toks = re.findall(r"[\[\]()|]|[^\s\[\]()|]+", syntax)
    pos = 0

    def seq() -> tuple[_El, ...]:
        nonlocal pos
        out: list[_El] = []
        while pos < len(toks) and toks[pos] not in ("|", ")", "]"):
            tok = toks[pos]
            pos += 1
            if tok in ("(", "["):
                alts = [seq()]
                while pos < len(toks) and toks[pos] == "|":
                    pos += 1
                    alts.append(seq())
                close = ")" if tok == "(" else "]"
                if pos >= len(toks) or toks[pos] != close:
                    raise ValueError(f"unbalanced {tok!r} in syntax {syntax!r}")
                pos += 1
                out.append(_El("group", alts=tuple(alts), optional=tok == "["))
            elif m := re.fullmatch(r"<(\d+)-(\d+)>", tok):
                out.append(_El("range", lo=int(m.group(1)), hi=int(m.group(2))))
            elif tok == "LINE":
                out.append(_El("line"))
            elif tok in ARG_TYPES:
                out.append(_El("arg", text=tok))
            elif re.fullmatch(r"[A-Z]{2,}", tok):
                raise ValueError(f"unknown argument type {tok!r} in syntax {syntax!r}")
            else:
                out.append(_El("word", text=tok))
        return tuple(out)

    result = seq()
    if pos != len(toks):
        raise ValueError(f"unbalanced {toks[pos]!r} in syntax {syntax!r}")
    return result


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # column in the raw line
    rest: str  # the raw line from this token on (for LINE)


def tokenize(line: str, offset: int = 0) -> list[Token]:
    return [
        Token(m.group(), offset + m.start(), line[m.start() :].rstrip()) for m in re.finditer(r"\S+", line)
    ]


class _Fail:
    """The furthest token index any alternative reached before failing."""

    def __init__(self) -> None:
        self.pos = -1

    def at(self, pos: int) -> None:
        self.pos = max(self.pos, pos)


def _accept(el: _El, tok: Token, abbrev: dict[str, str] | None) -> str | None:
    if el.kind == "word":
        low, word = tok.text.lower(), el.text.lower()
        if low == word:
            return el.text
        minimum = (abbrev or {}).get(el.text)
        if minimum and len(low) >= len(minimum) and word.startswith(low):
            return el.text
        return None
    if el.kind == "range":
        ok = tok.text.isdigit() and el.lo <= int(tok.text) <= el.hi
        return str(int(tok.text)) if ok else None
    return ARG_TYPES[el.text](tok.text)


def _walk(
    elems: tuple[_El, ...],
    toks: list[Token],
    i: int,
    out: tuple[str, ...],
    fail: _Fail,
    base: int,
    abbrev: dict[str, str] | None,
    stop: int,
) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Yield (tokens consumed, rendered tokens) for every way ``elems`` matches ``toks[i:]``.

    With ``stop``, also yield as soon as ``stop`` tokens are rendered (key prefixes for ``no``).
    """
    if stop and len(out) == stop:
        yield i, out
    if not elems:
        if not (stop and len(out) == stop):  # not yielded just above
            yield i, out
        return
    el, more = elems[0], elems[1:]
    if el.kind == "group":
        for alt in el.alts:
            for j, o in _walk(alt, toks, i, out, fail, base, abbrev, 0):
                yield from _walk(more, toks, j, o, fail, base, abbrev, stop)
        if el.optional:
            yield from _walk(more, toks, i, out, fail, base, abbrev, stop)
        return
    if i >= len(toks):
        fail.at(base + i)
        return
    if el.kind == "line":
        yield from _walk(more, toks, len(toks), (*out, toks[i].rest), fail, base, abbrev, stop)
        return
    value = _accept(el, toks[i], abbrev)
    if value is None:
        fail.at(base + i)
        return
    yield from _walk(more, toks, i + 1, (*out, value), fail, base, abbrev, stop)


def match(
    elems: tuple[_El, ...],
    toks: list[Token],
    fail: _Fail | None = None,
    *,
    base: int = 0,
    abbrev: dict[str, str] | None = None,
    prefix: int = 0,
) -> list[str] | None:
    """Rendered tokens when ``elems`` matches all of ``toks`` (or, with ``prefix``, its first tokens)."""
    fail = fail or _Fail()
    for used, out in _walk(elems, toks, 0, (), fail, base, abbrev, prefix):
        if used == len(toks):
            return list(out)
        fail.at(base + used)
    return None


# --------------------------------------------------------------------------
# The configuration grammar
# --------------------------------------------------------------------------

WHOLE = 10_000  # key=WHOLE: the whole line is the key (multi-valued commands)


@dataclass
class Cmd:
    """One configuration command of a mode (see the module docstring)."""

    syntax: str
    child: str | None = None
    key: int | None = None
    negated: bool = False
    no_shown: bool = False
    only: str | None = None
    defaults: tuple[str, ...] = ()
    transform: Callable[[list[str]], list[str]] | None = None
    hook: Callable[[Device, Node, bool], None] | None = None
    sort: Callable[[str], tuple] | None = None
    store: bool = True
    elems: tuple[_El, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.elems = parse_syntax(self.syntax)
        if self.key is None:
            self.key = 0
            for el in self.elems:
                if el.kind != "word":
                    break
                self.key += 1

    def key_of(self, tokens: list[str]) -> str:
        return " ".join(tokens[: self.key])


def _secret_transform(tokens: list[str]) -> list[str]:
    """``... secret [0|5|9] VALUE``: cleartext becomes type 9; hashes are kept as given (replayable)."""
    i = tokens.index("secret")
    head, rest = tokens[: i + 1], tokens[i + 1 :]
    kind, value = rest if len(rest) == 2 else ("0", rest[0])
    if kind == "0":
        return [*head, "9", type9_hash(value)]
    if (kind == "9" and not TYPE9_RE.fullmatch(value)) or (kind == "5" and not TYPE5_RE.fullmatch(value)):
        raise CmdError(
            f"ERROR: The secret you entered is not a valid encrypted secret.\n"
            f"To enter an UNENCRYPTED secret, do not specify type {kind} encryption.\n"
            "When you properly enter an UNENCRYPTED secret, it will be encrypted."
        )
    return [*head, kind, value]


def _natural(text: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in re.split(r"(\d+)", text) if p)


def _interface_order(key: str) -> tuple:
    name = key.split()[-1]
    rank = next((i for i, t in enumerate(("Loopback", "GigabitEthernet", "Serial")) if name.startswith(t)), 9)
    return (rank, _natural(name))


def _pri_group_hook(device: Device, controller: Node, added: bool) -> None:
    """Like IOS: a PRI group creates its D-channel interface and its voice-port; removing it removes them."""
    m = re.fullmatch(r"controller (E1|T1) (\S+)", controller.line)
    if not m:
        return
    slot = f"{m.group(2)}:{15 if m.group(1) == 'E1' else 23}"
    root = device.root
    if not added:
        root.children.pop(f"interface Serial{slot}", None)
        root.children.pop(f"voice-port {slot}", None)
        return
    lines: list[str] = []
    if f"interface Serial{slot}" not in root.children:
        lines.append(f"interface Serial{slot}")
        if switch := root.children.get("isdn switch-type"):
            lines.append(switch.line)
        lines += ["isdn incoming-voice voice", "no cdp enable", "exit"]
    if f"voice-port {slot}" not in root.children:
        lines += [f"voice-port {slot}", "exit"]
    device.run_system(lines)


_CODECS = "(g711alaw|g711ulaw|g729r8|g722-64)"
_POTS = r" pots$"
_VOIP = r" voip$"

# mode -> commands, in the order their lines are shown (canonical order).
MODES: dict[str, list[Cmd]] = {
    "config": [
        Cmd("version WORD", store=False),
        Cmd("hostname HOSTNAME"),
        # One boot entry (a new one replaces it; IOS keeps a list, the estate sets one).
        Cmd("boot system FLASHFILE"),
        Cmd("enable secret [0|5|9] WORD", transform=_secret_transform),
        Cmd("username WORD [privilege <0-15>] secret [0|5|9] WORD", key=2, transform=_secret_transform),
        Cmd("isdn switch-type (primary-net5|primary-qsig|primary-ni|primary-5ess|primary-4ess|basic-net3)"),
        Cmd("voice service voip", child="config-voi-serv"),
        Cmd("voice class codec <1-10000>", child="config-class", key=WHOLE),
        Cmd("controller (E1|T1) SLOT", child="config-controller", key=WHOLE),
        Cmd(
            "interface IFNAME",
            child="config-if",
            key=WHOLE,
            defaults=("no ip address",),
            sort=_interface_order,
        ),
        Cmd("logging host IP", key=WHOLE),
        Cmd("voice-port VOICEPORT", child="config-voiceport", key=WHOLE),
        Cmd("sip-ua", child="config-sip-ua"),
        Cmd("dial-peer voice <1-2147483647> (pots|voip)", child="config-dial-peer", key=3),
        Cmd("ntp server IP [prefer]", key=3),
    ],
    "config-voi-serv": [
        Cmd("allow-connections sip to sip"),
        Cmd("fax protocol (t38|pass-through|none) [LINE]", key=2),
        Cmd("sip", child="conf-serv-sip"),
    ],
    "conf-serv-sip": [
        Cmd("bind control source-interface IFNAME"),
        Cmd("bind media source-interface IFNAME"),
        Cmd("session transport (udp|tcp)"),
        Cmd("early-offer forced", key=1),
    ],
    "config-class": [
        Cmd(f"codec preference <1-14> {_CODECS}", key=3),
    ],
    "config-controller": [
        Cmd("description LINE"),
        Cmd("framing (crc4|no-crc4|esf|sf)"),
        Cmd("linecode (hdb3|ami|b8zs)"),
        Cmd("clock source (line|internal) [primary]"),
        Cmd("pri-group timeslots TIMESLOTS", key=1, hook=_pri_group_hook),
    ],
    "config-if": [
        Cmd("description LINE"),
        Cmd("ip address IP IP", no_shown=True),
        Cmd("shutdown"),
        Cmd("isdn switch-type (primary-net5|primary-qsig|primary-ni|primary-5ess|primary-4ess|basic-net3)"),
        Cmd("isdn incoming-voice (voice|modem|data)"),
        Cmd("cdp enable", negated=True),
    ],
    "config-voiceport": [
        Cmd("description LINE"),
        Cmd("station-id name LINE"),
        Cmd("station-id number DIGITS"),
        Cmd("caller-id enable"),
        Cmd("connection plar [opx] DIGITS", key=1),
        Cmd("signal (loopstart|groundstart)"),
        Cmd("cptone COUNTRY"),
        Cmd("echo-cancel enable"),
        Cmd("shutdown"),
    ],
    "config-dial-peer": [
        Cmd("description LINE"),
        Cmd("destination-pattern PATTERN"),
        Cmd("incoming called-number PATTERN"),
        Cmd("port VOICEPORT", only=_POTS),
        Cmd("forward-digits (all|<0-32>)", only=_POTS),
        Cmd("prefix DIALSTRING", only=_POTS),
        Cmd("direct-inward-dial", only=_POTS),
        Cmd("session protocol sipv2", key=2, only=_VOIP),
        Cmd("session target TARGET", only=_VOIP),
        Cmd("session transport (udp|tcp)", only=_VOIP),
        Cmd("voice-class codec <1-10000>", only=_VOIP),
        Cmd("dtmf-relay rtp-nte [sip-notify]", key=1, only=_VOIP),
        Cmd("vad", negated=True, only=_VOIP),
        Cmd("preference <0-10>"),
        Cmd("huntstop"),
    ],
    "config-sip-ua": [
        Cmd("retry invite <1-10>"),
        Cmd("timers trying <100-1000>"),
    ],
}


# --------------------------------------------------------------------------
# Device state and rendering
# --------------------------------------------------------------------------


class Node:
    """A configuration line; its children are keyed by their command key."""

    __slots__ = ("children", "cmd", "line")

    def __init__(self, line: str, cmd: Cmd | None) -> None:
        self.line = line
        self.cmd = cmd
        self.children: dict[str, Node] = {}

    @property
    def mode(self) -> str:
        return self.cmd.child if self.cmd and self.cmd.child else "config"


def _ordered(node: Node) -> list[Node]:
    order = {id(c): i for i, c in enumerate(MODES[node.mode])}

    def sort_key(item: tuple[str, Node]) -> tuple:
        key, child = item
        cmd = child.cmd
        assert cmd is not None
        return (order.get(id(cmd), 999), cmd.sort(key) if cmd.sort else _natural(key))

    return [child for _, child in sorted(node.children.items(), key=sort_key)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ios_time(when: dt.datetime, msec: bool = False) -> str:
    """``10:20:30 UTC Sun Nov 22 2026`` (``10:20:30.123`` with msec)."""
    hms = when.strftime("%H:%M:%S") + (f".{when.microsecond // 1000:03d}" if msec else "")
    return f"{hms} UTC {when.strftime('%a %b')} {when.day} {when.year}"


def ios_uptime(seconds: float) -> str:
    minutes = int(seconds) // 60
    parts = []
    for name, size in (("year", 525600), ("week", 10080), ("day", 1440), ("hour", 60), ("minute", 1)):
        n, minutes = divmod(minutes, size)
        if n:
            parts.append(f"{n} {name}{'s' if n != 1 else ''}")
    return ", ".join(parts) or "0 minutes"


# Lines of `show running-config` / `show startup-config` output that are not configuration.
_SHOW_HEADER = re.compile(
    r"Building configuration\.\.\.|Current configuration : \d+ bytes|Using \d+ out of \d+ bytes"
)


class Device:
    """The shared state of one simulated gateway: configuration tree, startup-config, clocks."""

    def __init__(
        self,
        hostname: str = "Router",
        username: str = "admin",
        password: str = "admin",
        enable_secret: str | None = None,
        state_dir: str | os.PathLike | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.state_dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="iosgw-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.factory = (hostname, username, password, enable_secret)
        self.flash = netflash.Flash(self.state_dir / "flash", FLASH_PREFIXES, FLASH_BYTES)
        if not self.flash.files():
            self.flash.write(FACTORY_IMAGE, netflash.image_bytes(PLATFORM, VERSION))
        self._vty = 0
        self._console: Cli | None = None
        self.on_reload: Callable[[], None] | None = None  # the SSH server's reload (Gateway)
        self.reload_reason = "PowerOn"
        self.boot()

    def boot(self) -> None:
        """Start from the startup-config (or the factory one) and the boot image it names."""
        with self.lock:
            self.boot_time = _now()
            self.root = Node("", None)
            self.last_change: tuple[dt.datetime, str | None] = (self.boot_time, None)
            self.last_save: tuple[dt.datetime, str | None] | None = None
            startup = self.startup_path.read_text() if self.startup_path.exists() else None
            if startup is not None:
                errors = self.load_config(startup)
                log.info("%s: loaded %s (%d line(s) refused)", self.hostname, self.startup_path, len(errors))
                for error in errors:
                    log.warning("startup-config: %s", error)
            else:
                hostname, username, password, enable_secret = self.factory
                lines = [
                    f"hostname {hostname}",
                    f"username {username} privilege 15 secret 9 {type9_hash(password)}",
                    "interface GigabitEthernet0/0/0",
                ]
                if enable_secret is not None:
                    lines.insert(1, f"enable secret 9 {type9_hash(enable_secret)}")
                errors = self.load_config("\n".join(lines))
                if errors:
                    raise ValueError(f"initial configuration refused: {errors}")
            self.last_change = (self.boot_time, None)
            entry = _child_line(self.root, "boot system")
            self.booted = self.flash.boot([entry.split(":", 1)[1]] if entry else [], FACTORY_IMAGE)
            if self.booted is None:
                log.warning("%s: no image on flash boots; services stay down", self.hostname)
            elif self.booted[1].broken:
                log.warning("%s: image %s fails its self-test; voice services stay down", self.hostname,
                            self.booted[0])  # fmt: skip
            else:
                log.info("%s: booted %s (%s)", self.hostname, self.booted[0], self.booted[1].version)

    def request_reload(self) -> None:
        """``reload`` confirmed: the SSH server goes away and the device boots again (Gateway)."""
        log.info("%s: reload requested", self.hostname)
        self.reload_reason = "Reload Command"
        if self.on_reload is not None:
            self.on_reload()
        else:
            self.boot()

    @property
    def version(self) -> str:
        return self.booted[1].version if self.booted else VERSION

    @property
    def services_down(self) -> bool:
        """A broken image (or none) boots, but no voice service comes up."""
        return self.booted is None or self.booted[1].broken

    # --- facts -----------------------------------------------------------

    @property
    def startup_path(self) -> Path:
        return self.state_dir / "startup-config"

    @property
    def hostname(self) -> str:
        node = self.root.children.get("hostname")
        return node.line.split()[1] if node else "Router"

    def blocks(self, prefix: str) -> list[Node]:
        """Top-level blocks whose key starts with ``prefix``, in canonical order."""
        return [n for n in _ordered(self.root) if n.line.startswith(prefix)]

    def check_enable(self, secret: str) -> bool:
        node = self.root.children.get("enable secret")
        if node is None:
            return True  # no enable secret configured: any input works (a lab simplification)
        _, _, kind, value = node.line.split(" ", 3)
        return verify_secret(secret, kind, value)

    # --- rendering -------------------------------------------------------

    def config_lines(self) -> list[str]:
        """The configuration body, ``version`` to ``end``."""
        out = [f"version {CONFIG_VERSION}"]

        def walk(node: Node, depth: int) -> None:
            for child in _ordered(node):
                out.append(" " * depth + child.line)
                walk(child, depth + 1)

        prev: Node | None = None
        for child in _ordered(self.root):
            if prev is None or child.cmd is not prev.cmd or child.children or prev.children:
                out.append("!")
            out.append(child.line)
            walk(child, 1)
            prev = child
        out += ["!", "end"]
        return out

    def running_config(self) -> str:
        when, user = self.last_change
        body = ["!", f"! Last configuration change at {ios_time(when)}" + (f" by {user}" if user else "")]
        body += ["!", *self.config_lines()]
        text = "\n".join(body) + "\n"
        return f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n{text}"

    def startup_config(self) -> str | None:
        return self.startup_path.read_text() if self.startup_path.exists() else None

    # --- changes ---------------------------------------------------------

    def touch(self, user: str | None) -> None:
        self.last_change = (_now(), user)

    def save(self, user: str | None) -> None:
        with self.lock:
            self.last_save = (_now(), user)
            by = f" by {user}" if user else ""
            when, changer = self.last_change
            head = [
                "!",
                f"! Last configuration change at {ios_time(when)}" + (f" by {changer}" if changer else ""),
            ]
            head += [f"! NVRAM config last updated at {ios_time(self.last_save[0])}{by}", "!"]
            tmp = self.startup_path.with_suffix(".tmp")
            tmp.write_text("\n".join(head + self.config_lines()) + "\n")
            os.replace(tmp, self.startup_path)
        log.info("%s: %s saved the running-config to %s", self.hostname, user, self.startup_path)

    def load_config(self, text: str) -> list[str]:
        """Replay a configuration (startup-config style; indentation is honoured). Returns refused lines."""
        with self.lock:
            cli = Cli(self, user=None, privileged=True, log_commands=False)
            cli.modes = [("config", ())]
            errors = []
            depths: list[int] = []  # indentation of each open block
            for raw in text.splitlines():
                line = raw.rstrip()
                stripped = line.lstrip()
                if not stripped or stripped.startswith("!") or _SHOW_HEADER.fullmatch(stripped):
                    continue
                if stripped == "end" and raw == stripped:
                    break
                indent = len(line) - len(stripped)
                while depths and indent <= depths[-1]:
                    depths.pop()
                    if len(cli.modes) > 1:
                        cli.modes.pop()
                before = len(cli.modes)
                out = cli.execute(stripped)
                if "%" in out or "ERROR" in out:
                    errors.append(f"{stripped!r}: {out.strip().splitlines()[-1]}")
                if len(cli.modes) > before:
                    depths.append(indent)
            return errors

    def run_system(self, lines: list[str]) -> None:
        """Apply configuration lines from the device itself (side effects of other commands)."""
        cli = Cli(self, user=None, privileged=True, log_commands=False)
        cli.modes = [("config", ())]
        for line in lines:
            cli.execute(line)

    # --- sessions --------------------------------------------------------

    def session(self, user: str | None = None, peer: str = "console", privileged: bool = False) -> Cli:
        with self.lock:
            line = "console" if peer == "console" else f"vty{self._vty}"
            if peer != "console":
                self._vty += 1
        return Cli(self, user=user, peer=peer, line=line, privileged=privileged)

    def execute(self, line: str) -> str:
        """Run one line on the console (which starts in privileged exec); returns its output."""
        if self._console is None or self._console.closed:
            self._console = self.session(user="console", privileged=True)
        return self._console.execute(line)


# --------------------------------------------------------------------------
# Exec commands
# --------------------------------------------------------------------------


@dataclass
class ExecCmd:
    syntax: str
    handler: Callable[[Cli, list[str]], str]
    level: int = 1  # 1: user EXEC, 15: privileged
    in_do: bool = True  # usable as ``do CMD`` in configuration modes
    pipe: bool = False  # accepts ``| section|include|exclude|begin|count REGEX``
    elems: tuple[_El, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.elems = parse_syntax(self.syntax)


# keyword -> the shortest abbreviation accepted (exec commands only).
EXEC_ABBREVIATIONS = {
    "show": "sh",
    "running-config": "run",
    "startup-config": "star",
    "configure": "conf",
    "terminal": "t",
    "write": "wr",
    "memory": "mem",
    "version": "ver",
}
_FILTERS = ("section", "include", "exclude", "begin", "count")


def _enable(cli: Cli, _: list[str]) -> str:
    if cli.level == 15:
        return ""
    tries = [0]

    def answer(secret: str) -> str:
        if cli.device.check_enable(secret):
            cli.level = 15
            return ""
        tries[0] += 1
        if tries[0] >= 3:
            return "% Bad secrets\n\n"
        cli.ask("Password: ", answer, echo=False)
        return "Password: "

    cli.ask("Password: ", answer, echo=False)
    return "Password: "


def _disable(cli: Cli, _: list[str]) -> str:
    cli.level = 1
    return ""


def _logout(cli: Cli, _: list[str]) -> str:
    cli.closed = True
    return ""


def _nothing(cli: Cli, _: list[str]) -> str:
    return ""


def _configure(cli: Cli, _: list[str]) -> str:
    cli.modes = [("config", ())]
    return "Enter configuration commands, one per line.  End with CNTL/Z.\n"


def _show_run(cli: Cli, _: list[str]) -> str:
    return cli.device.running_config()


def _show_start(cli: Cli, _: list[str]) -> str:
    text = cli.device.startup_config()
    if text is None:
        return "startup-config is not present\n"
    return f"Using {len(text)} out of {NVRAM_BYTES} bytes\n{text}"


def _write(cli: Cli, _: list[str]) -> str:
    cli.device.save(cli.user)
    return "Building configuration...\n[OK]\n"


def _copy_run_start(cli: Cli, _: list[str]) -> str:
    def answer(name: str) -> str:
        if name.strip() not in ("", "startup-config", "nvram:startup-config"):
            return f"%Error opening {name.strip()} (Permission denied)\n"
        return _write(cli, [])

    cli.ask("Destination filename [startup-config]? ", answer, echo=True)
    return "Destination filename [startup-config]? "


def _show_version(cli: Cli, _: list[str]) -> str:
    dev = cli.device
    uptime = ios_uptime((_now() - dev.boot_time).total_seconds())
    e1 = len(dev.blocks("controller E1"))
    t1 = len(dev.blocks("controller T1"))
    return (
        f"Cisco IOS XE Software, Version {dev.version}\n"
        "Cisco IOS Software [Bengaluru], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
        f"Version {dev.version}, RELEASE SOFTWARE (fc2)\n"
        "Technical Support: http://www.cisco.com/techsupport\n"
        "Copyright (c) 1986-2023 by Cisco Systems, Inc.\n"
        "Compiled Thu 02-Mar-23 10:27 by mcpre\n"
        "\n"
        "ROM: 16.12(2r)\n"
        "\n"
        f"{dev.hostname} uptime is {uptime}\n"
        f"Uptime for this control processor is {uptime}\n"
        f"System returned to ROM by {dev.reload_reason}\n"
        f"System restarted at {ios_time(dev.boot_time)}\n"
        f'System image file is "{("bootflash:" + dev.booted[0]) if dev.booted else "unknown"}"\n'
        f"Last reload reason: {dev.reload_reason}\n"
        "\n"
        "cisco ISR4331/K9 (1RU) processor with 1795979K/6147K bytes of memory.\n"
        "Processor board ID FLM2600W0SM\n"
        "Router operating mode: Autonomous\n"
        "3 Gigabit Ethernet interfaces\n"
        + (f"{e1} Channelized E1/PRI port{'s' if e1 != 1 else ''}\n" if e1 else "")
        + (f"{t1} Channelized T1/PRI port{'s' if t1 != 1 else ''}\n" if t1 else "")
        + "32768K bytes of non-volatile configuration memory.\n"
        "4194304K bytes of physical memory.\n"
        "3223551K bytes of flash memory at bootflash:.\n"
        "\n"
        "Configuration register is 0x2102\n"
        "\n"
    )


def _show_clock(cli: Cli, _: list[str]) -> str:
    return f"*{ios_time(_now(), msec=True)}\n"


def _child_line(node: Node, key: str) -> str | None:
    child = node.children.get(key)
    return child.line if child else None


def _pris(dev: Device) -> list[tuple[Node, str]]:
    """(controller, D-channel interface name) for every controller with a pri-group."""
    out = []
    for ctrl in dev.blocks("controller "):
        if "pri-group" in ctrl.children:
            kind, slot = ctrl.line.split()[1:]
            out.append((ctrl, f"Serial{slot}:{15 if kind == 'E1' else 23}"))
    return out


def _show_isdn(cli: Cli, _: list[str]) -> str:
    dev = cli.device
    switch = _child_line(dev.root, "isdn switch-type")
    global_type = switch.split()[-1] if switch else "none"
    out = [f"Global ISDN Switchtype = {global_type}"]
    pris = _pris(dev)
    if not pris:
        out.append("No ISDN interfaces are configured.")
    for dsl, (ctrl, ifname) in enumerate(pris):
        iface = dev.root.children.get(f"interface {ifname}")
        local = _child_line(iface, "isdn switch-type") if iface else None
        down = (
            iface is None or "shutdown" in iface.children or "shutdown" in ctrl.children or dev.services_down
        )
        out += [
            f"ISDN {ifname} interface",
            f"\tdsl {dsl}, interface ISDN Switchtype = {local.split()[-1] if local else global_type}",
            "    Layer 1 Status:",
            f"\t{'DEACTIVATED' if down else 'ACTIVE'}",
            "    Layer 2 Status:",
            f"\tTEI = 0, Ces = 1, SAPI = 0, State = {'TEI_ASSIGNED' if down else 'MULTIPLE_FRAME_ESTABLISHED'}",
            "    Layer 3 Status:",
            "\t0 Active Layer 3 Call(s)",
            f"    Active dsl {dsl} CCBs = 0",
            "    The Free Channel Mask:  0xFFFF7FFF",
            "    Number of L2 Discards = 0, L2 Session ID = 0",
        ]
    out.append("    Total Allocated ISDN CCBs = 0")
    return "\n".join(out) + "\n"


def _show_voice_ports(cli: Cli, _: list[str]) -> str:
    fmt = "{:<15} {:>2} {:<12} {:<5} {:<4} {:<8} {:<8} {:<2}"
    out = [
        fmt.format("", "", "", "", "", "IN", "OUT", ""),
        fmt.format("PORT", "CH", "SIG-TYPE", "ADMIN", "OPER", "STATUS", "STATUS", "EC"),
        fmt.format("=" * 15, "==", "=" * 12, "=" * 5, "=" * 4, "=" * 8, "=" * 8, "=="),
    ]
    for port in cli.device.blocks("voice-port "):
        name = port.line.split()[1]
        down = "shutdown" in port.children or cli.device.services_down
        if ":" in name:
            sig, ch, status = "isdn-voice", "--", "none"
        else:
            gs = (_child_line(port, "signal") or "").endswith("groundstart")
            sig, ch, status = ("fxs-gs" if gs else "fxs-ls"), "--", "on-hook"
        ec = "y" if "echo-cancel enable" in port.children else "n"
        out.append(
            fmt.format(
                name, ch, sig, "down" if down else "up", "down" if down else "dorm", status, "idle", ec
            )
        )
    return "\n".join(line.rstrip() for line in out) + "\n"


# `show dial-peer voice summary` columns: (upper header, header, width)
_PEER_COLUMNS = (
    ("", "TAG", 10),
    ("", "TYPE", 5),
    ("AD", "MIN", 4),
    ("", "OPER", 4),
    ("", "PREFIX", 10),
    ("", "DEST-PATTERN", 20),
    ("PRE", "FER", 3),
    ("PASS", "THRU", 4),
    ("", "SESS-TARGET", 28),
    ("", "STAT", 4),
    ("OUT", "PORT", 12),
)


def _show_dial_peers(cli: Cli, _: list[str]) -> str:
    rows = [tuple(c[0] for c in _PEER_COLUMNS), tuple(c[1] for c in _PEER_COLUMNS)]
    for peer in cli.device.blocks("dial-peer voice "):
        _, _, tag, kind = peer.line.split()
        values = {key: child.line.split()[-1] for key, child in peer.children.items()}
        pattern, target, port = (values.get(k, "") for k in ("destination-pattern", "session target", "port"))
        oper = (bool(port) if kind == "pots" else bool(pattern and target)) and not cli.device.services_down
        rows.append(
            (tag, kind, "up", "up" if oper else "down", values.get("prefix", ""), pattern,
             values.get("preference", "0"), "syst" if kind == "voip" else "", target,
             "up" if kind == "pots" and port else "", port)
        )  # fmt: skip
    widths = [c[2] for c in _PEER_COLUMNS]
    lines = [" ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "dial-peer hunt 0\n" + "".join(line.rstrip() + "\n" for line in lines)


def _dir(cli: Cli, _: list[str]) -> str:
    flash = cli.device.flash
    out = ["Directory of bootflash:/", ""]
    for inode, (name, size, mtime) in enumerate(flash.files(), start=11):
        when = dt.datetime.fromtimestamp(mtime, dt.UTC).strftime("%b %d %Y %H:%M:%S +00:00")
        out.append(f"{inode:>7}  -rw- {size:>14}  {when}  {name}")
    out += ["", f"{flash.capacity} bytes total ({flash.free()} bytes free)"]
    return "\n".join(out) + "\n"


def _copy_in(cli: Cli, tokens: list[str]) -> str:
    url, dest = tokens[1], tokens[2]
    default = dest.split(":", 1)[1] or url.rstrip("/").rsplit("/", 1)[-1]

    def answer(given: str) -> str:
        try:
            name = cli.device.flash.name(given.strip() or default)
            size, seconds = cli.device.flash.fetch(url, name)
        except netflash.FlashError as exc:
            return f"{exc}\n"
        log.info(
            "%s: %s copied %s to bootflash:%s (%d bytes)", cli.device.hostname, cli.user, url, name, size
        )
        rate = int(size / seconds) if seconds > 0 else size
        return (
            f"Accessing {url}...\nLoading {url} {'!' * max(1, min(size // 65536, 40))}\n[OK - {size} bytes]\n\n"
            f"{size} bytes copied in {seconds:.3f} secs ({rate} bytes/sec)\n"
        )

    cli.ask(f"Destination filename [{default}]? ", answer, echo=True)
    return f"Destination filename [{default}]? "


def _verify(cli: Cli, tokens: list[str]) -> str:
    algorithm, path = tokens[1].lstrip("/"), tokens[2]
    try:
        digest = cli.device.flash.digest(path.split(":", 1)[1], algorithm)
    except netflash.FlashError as exc:
        return f"{exc}\n"
    return f"{'.' * 20}Done!\nverify /{algorithm} ({path}) = {digest}\n\n"


def _delete(cli: Cli, tokens: list[str]) -> str:
    path = tokens[-1]
    name = path.split(":", 1)[1]

    def remove(_: str = "") -> str:
        try:
            cli.device.flash.delete(name)
        except netflash.FlashError as exc:
            return f"{exc}\n"
        log.info("%s: %s deleted %s", cli.device.hostname, cli.user, path)
        return ""

    if tokens[1] == "/force":
        return remove()

    def confirm(given: str) -> str:
        return remove() if given.strip().lower() in ("", "y", "yes") else ""

    def filename(given: str) -> str:
        if given.strip() not in ("", name):
            return "%Error: only the file named on the command line is deleted here\n"
        cli.ask(f"Delete {path}? [confirm]", confirm, echo=True)
        return f"Delete {path}? [confirm]"

    cli.ask(f"Delete filename [{name}]? ", filename, echo=True)
    return f"Delete filename [{name}]? "


def _reload(cli: Cli, _: list[str]) -> str:
    dev = cli.device

    def proceed(given: str) -> str:
        if given.strip().lower() not in ("", "y", "yes"):
            return ""
        cli.closed = True
        dev.request_reload()
        return "\n"

    def save(given: str) -> str:
        word = given.strip().lower()
        if word not in ("yes", "y", "no", "n"):
            cli.ask("% Please answer 'yes' or 'no'.\nSystem configuration has been modified. Save? [yes/no]: ",
                    save, echo=True)  # fmt: skip
            return "% Please answer 'yes' or 'no'.\nSystem configuration has been modified. Save? [yes/no]: "
        out = _write(cli, []) if word.startswith("y") else ""
        cli.ask("Proceed with reload? [confirm]", proceed, echo=True)
        return out + "Proceed with reload? [confirm]"

    when, changer = dev.last_change
    if changer is not None and (dev.last_save is None or when > dev.last_save[0]):
        cli.ask("System configuration has been modified. Save? [yes/no]: ", save, echo=True)
        return "System configuration has been modified. Save? [yes/no]: "
    cli.ask("Proceed with reload? [confirm]", proceed, echo=True)
    return "Proceed with reload? [confirm]"


EXEC_COMMANDS: list[ExecCmd] = [
    ExecCmd("enable", _enable, level=0, in_do=False),
    ExecCmd("disable", _disable, level=15, in_do=False),
    ExecCmd("(exit|logout)", _logout, level=0, in_do=False),
    ExecCmd("terminal (length|width) <0-512>", _nothing, level=0),
    ExecCmd("terminal [no] monitor", _nothing, level=0),
    ExecCmd("configure terminal", _configure, level=15, in_do=False),
    ExecCmd("show running-config", _show_run, level=15, pipe=True),
    ExecCmd("show startup-config", _show_start, level=15, pipe=True),
    ExecCmd("show version", _show_version, pipe=True),
    ExecCmd("show clock", _show_clock, pipe=True),
    ExecCmd("show isdn status", _show_isdn, pipe=True),
    ExecCmd("show voice port summary", _show_voice_ports, pipe=True),
    ExecCmd("show dial-peer voice summary", _show_dial_peers, pipe=True),
    ExecCmd("write [memory]", _write, level=15),
    ExecCmd("copy running-config startup-config", _copy_run_start, level=15),
    ExecCmd("dir [FLASHDEV]", _dir, level=15, pipe=True),
    ExecCmd("copy URL (FLASHFILE|FLASHDEV)", _copy_in, level=15, in_do=False),
    ExecCmd("verify (/md5|/sha512) FLASHFILE", _verify, level=15),
    ExecCmd("delete [/force] FLASHFILE", _delete, level=15, in_do=False),
    ExecCmd("reload", _reload, level=15, in_do=False),
]


def apply_filter(text: str, kind: str, regex: re.Pattern[str]) -> str:
    """IOS output modifiers on ``text`` (lines ending in newlines)."""
    lines = text.splitlines()
    if kind == "include":
        out = [line for line in lines if regex.search(line)]
    elif kind == "exclude":
        out = [line for line in lines if not regex.search(line)]
    elif kind == "begin":
        start = next((i for i, line in enumerate(lines) if regex.search(line)), len(lines))
        out = lines[start:]
    elif kind == "count":
        return f"Number of lines which match regexp = {sum(1 for line in lines if regex.search(line))}\n"
    else:  # section: a matching line and the lines indented under it
        out, i = [], 0
        while i < len(lines):
            line = lines[i]
            if line.strip() and regex.search(line):
                indent = len(line) - len(line.lstrip())
                out.append(line)
                i += 1
                while i < len(lines) and len(lines[i]) - len(lines[i].lstrip()) > indent and lines[i].strip():
                    out.append(lines[i])
                    i += 1
            else:
                i += 1
    return "".join(line + "\n" for line in out)


# --------------------------------------------------------------------------
# One CLI session
# --------------------------------------------------------------------------


def _error(prompt: str, toks: list[Token], fail: _Fail) -> str:
    if fail.pos >= len(toks):
        return "% Incomplete command.\n\n"
    column = toks[max(fail.pos, 0)].start if toks else 0
    return " " * (len(prompt) + column) + "^\n% Invalid input detected at '^' marker.\n\n"


class Cli:
    """One terminal session on a Device: modes, privilege, pending questions (``Password:``)."""

    def __init__(
        self,
        device: Device,
        user: str | None,
        peer: str = "console",
        line: str = "console",
        privileged: bool = False,
        log_commands: bool = True,
    ) -> None:
        self.device = device
        self.user = user
        self.peer = peer
        self.line = line
        self.level = 15 if privileged else 1
        self.modes: list[tuple[str, tuple[str, ...]]] = []  # config modes: (mode, path of keys)
        self.log_commands = log_commands
        self.closed = False
        self.echo = True
        self._pending: Callable[[str], str] | None = None

    # --- state -----------------------------------------------------------

    @property
    def pending(self) -> bool:
        return self._pending is not None

    @property
    def prompt(self) -> str:
        host = self.device.hostname
        if self.modes:
            return f"{host}({self.modes[-1][0]})#"
        return f"{host}{'#' if self.level == 15 else '>'}"

    def ask(self, question: str, answer: Callable[[str], str], echo: bool) -> None:
        """The next line answers ``question`` (the caller prints it) instead of being a command."""
        self._pending = answer
        self.echo = echo

    def _resolve(self, path: tuple[str, ...]) -> Node | None:
        node: Node | None = self.device.root
        for key in path:
            node = node.children.get(key) if node else None
        return node

    # --- input -----------------------------------------------------------

    def execute(self, line: str) -> str:
        """Run one input line; returns the output (``\\n`` line ends), the prompt not included."""
        with self.device.lock:
            if self._pending is not None:
                answer, self._pending, self.echo = self._pending, None, True
                return answer(line)
            if self.modes:
                return self._config(line)
            return self._exec(line, tokenize(line), self.prompt)

    def ctrl_z(self) -> str:
        """Ctrl-Z (and ``end``): leave configuration mode."""
        with self.device.lock:
            self._pending, self.echo = None, True
            self.modes = []
        return ""

    def _exec(self, line: str, toks: list[Token], prompt: str, via_do: bool = False) -> str:
        if not toks:
            return ""
        pipe = re.search(r"\s\|", line)
        filt = None
        if pipe:
            ftoks = tokenize(line[pipe.end() :], pipe.end())
            toks = [t for t in toks if t.start < pipe.start()]
            kinds = [k for k in _FILTERS if ftoks and k.startswith(ftoks[0].text.lower())]
            if not ftoks or len(kinds) != 1:
                fail = _Fail()
                fail.at(len(toks) if not ftoks else 0)
                return _error(prompt, ftoks or toks, fail)
            if len(ftoks) < 2:
                return "% Incomplete command.\n\n"
            try:
                filt = (kinds[0], re.compile(ftoks[1].rest))
            except re.error:
                return f"% Invalid regular expression: {ftoks[1].rest}\n\n"
        fail = _Fail()
        for cmd in EXEC_COMMANDS:
            if cmd.level > self.level or (via_do and not cmd.in_do) or (filt and not cmd.pipe):
                continue
            out = match(cmd.elems, toks, fail, abbrev=EXEC_ABBREVIATIONS)
            if out is not None:
                text = cmd.handler(self, out)
                return apply_filter(text, *filt) if filt else text
        return _error(prompt, toks, fail)

    def _config(self, line: str) -> str:
        prompt = self.prompt
        toks = tokenize(line)
        if not toks or toks[0].text.startswith("!"):
            return ""
        words = [t.text.lower() for t in toks]
        if words in (["end"], ["exit"]) or words[0] == "do":
            self._log(line, "ok")
        if words == ["end"]:
            return self.ctrl_z()
        if words == ["exit"]:
            self.modes.pop()
            return ""
        if words[0] == "do":
            if len(toks) == 1:
                return "% Incomplete command.\n\n"
            return self._exec(line, toks[1:], prompt, via_do=True)
        fail = _Fail()
        for depth in range(len(self.modes) - 1, -1, -1):
            mode, path = self.modes[depth]
            node = self._resolve(path)
            if node is None:  # removed by another session meanwhile
                continue
            found = self._match_mode(mode, node, toks, fail)
            if found:
                del self.modes[depth + 1 :]
                cmd, tokens, negative = found
                try:
                    self._apply(cmd, node, path, tokens, negative)
                except CmdError as exc:
                    self._log(line, "refused")
                    return f"{exc}\n"
                self._log(line, "ok")
                return ""
        self._log(line, "invalid")
        return _error(prompt, toks, fail)

    def _match_mode(
        self, mode: str, node: Node, toks: list[Token], fail: _Fail
    ) -> tuple[Cmd, list[str], bool] | None:
        negative = toks[0].text.lower() == "no"
        body = toks[1:] if negative else toks
        if not body:
            fail.at(len(toks))
            return None
        for cmd in MODES[mode]:
            if cmd.only and not re.search(cmd.only, node.line):
                continue
            assert cmd.key is not None
            prefix = cmd.key if negative and cmd.key != WHOLE else 0
            tokens = match(cmd.elems, body, fail, base=len(toks) - len(body), prefix=prefix)
            if tokens is not None:
                return cmd, tokens, negative
        return None

    def _apply(self, cmd: Cmd, node: Node, path: tuple[str, ...], tokens: list[str], negative: bool) -> None:
        if not cmd.store:
            return
        if cmd.transform and not negative:
            tokens = cmd.transform(tokens)
        key = cmd.key_of(tokens)
        line = " ".join(tokens)
        dev = self.device
        if negative and cmd.no_shown:
            old = node.children.get(key)
            if old is None or old.line != f"no {key}":
                node.children[key] = Node(f"no {key}", cmd)
                dev.touch(self.user)
            return
        if negative != cmd.negated:  # a removal: `no X`, or `X` for a negated command
            if node.children.pop(key, None) is not None:
                dev.touch(self.user)
                if cmd.hook:
                    cmd.hook(dev, node, False)
            return
        if cmd.negated:
            line = f"no {line}"
        old = node.children.get(key)
        if cmd.child:
            if old is not None and old.line != line:  # e.g. dial-peer voice 100 voip over a pots one
                raise CmdError(f"% {old.line} already exists; remove it first to change its type")
            if old is None:
                node.children[key] = Node(line, cmd)
                dev.touch(self.user)
            self.modes.append((cmd.child, (*path, key)))
            if old is None and cmd.defaults:
                dev.run_system([line, *cmd.defaults])
            return
        if old is None or old.line != line:
            node.children[key] = Node(line, cmd)
            dev.touch(self.user)
            if cmd.hook and old is None:
                cmd.hook(dev, node, True)

    def _log(self, line: str, result: str) -> None:
        if self.log_commands:
            who = f"{self.user}@{self.peer} {self.line}"
            log.info("%s %s config(%s): %s", self.device.hostname, who, result, mask_secrets(line.strip()))


# --------------------------------------------------------------------------
# SSH
# --------------------------------------------------------------------------


class _Session(asyncssh.SSHServerSession):
    """A raw PTY session: echo, line assembly and control keys; lines go to a Cli."""

    def __init__(self, gateway: Gateway, user: str, peer: str) -> None:
        self.gateway = gateway
        self.cli = gateway.device.session(user=user, peer=peer)
        self.chan: asyncssh.SSHServerChannel | None = None
        self.buffer = ""
        self.last_cr = False
        self.escape = ""
        self.command: str | None = None  # an exec request (`ssh gw1 show version`)
        self.pending_output: list[str] = []
        self.lost = False

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple, term_modes: dict) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def session_started(self) -> None:
        command = self.command
        if command is not None:
            self._write(self.cli.execute(command))
            self._flush()
            self.chan.exit(0)
            return
        self._write("\n" + self.cli.prompt)
        self._flush()

    def _write(self, text: str) -> None:
        self.pending_output.append(text)

    def _flush(self) -> None:
        text, self.pending_output = "".join(self.pending_output), []
        if self.chan is not None and text and not self.lost:
            self.chan.write(text.replace("\r\n", "\n").replace("\n", "\r\n"))

    def data_received(self, data: str, datatype: int | None) -> None:
        # One write per chunk received (echo and output together), not one per character.
        for ch in data:
            if self.cli.closed:
                break
            self._feed(ch)
        self._flush()
        if self.cli.closed and self.chan is not None and not self.lost:
            self.chan.exit(0)

    def _feed(self, ch: str) -> None:
        if self.escape:  # swallow ANSI escape sequences (arrow keys)
            self.escape += ch
            if len(self.escape) > 1 and (ch.isalpha() or ch == "~"):
                self.escape = ""
            return
        was_cr, self.last_cr = self.last_cr, ch == "\r"
        if ch == "\n" and was_cr:
            return
        if ch in "\r\n":
            line, self.buffer = self.buffer, ""
            self._run(line)
        elif ch == "\x1a":  # Ctrl-Z
            line, self.buffer = self.buffer, ""
            out = self.cli.execute(line) if line.strip() else ""
            if self.cli.modes or self.cli.pending:
                out += self.cli.ctrl_z()
            self._write("^Z\n" + out + self.cli.prompt)
        elif ch == "\x03":  # Ctrl-C
            self.buffer = ""
            if self.cli.pending:
                self.cli.ctrl_z()
            self._write("^C\n" + self.cli.prompt)
        elif ch in "\x08\x7f":
            if self.buffer:
                self.buffer = self.buffer[:-1]
                if self.cli.echo:
                    self._write("\b \b")
        elif ch == "\x15":  # Ctrl-U
            if self.cli.echo:
                self._write("\b \b" * len(self.buffer))
            self.buffer = ""
        elif ch == "\x1b":
            self.escape = ch
        elif ch >= " " or ch == "\t":
            self.buffer += ch
            if self.cli.echo:
                self._write(ch)

    def _run(self, line: str) -> None:
        out = self.cli.execute(line)
        if self.cli.closed:
            self._write("\n" + out)
            return
        self._write("\n" + out + ("" if self.cli.pending else self.cli.prompt))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.cli.closed = True


class _Server(asyncssh.SSHServer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.peer = "?"
        self.user = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.peer = peer[0] if peer else "?"
        self.conn = conn
        self.gateway.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gateway.connections.discard(getattr(self, "conn", None))

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        gw = self.gateway
        user_ok = hmac.compare_digest(username.encode(), gw.username.encode())
        password_ok = hmac.compare_digest(password.encode(), gw.password.encode())
        if user_ok and password_ok:
            self.user = username
            log.info("%s: login %s from %s", gw.device.hostname, username, self.peer)
            return True
        log.info("%s: login FAILED for %r from %s", gw.device.hostname, username, self.peer)
        return False

    def session_requested(self) -> _Session:
        return _Session(self.gateway, self.user, self.peer)


class Gateway:
    """A Device served over SSH by asyncssh."""

    HOST_KEY = "ssh_host_ed25519_key"

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        enable_secret: str | None = None,
        state_dir: str | os.PathLike | None = None,
        host_key: str | os.PathLike | None = None,
        reload_seconds: float = 10.0,
    ) -> None:
        self.host_key_file = Path(host_key) if host_key else None
        self.username = username
        self.password = password
        self.device = Device(hostname, username, password, enable_secret, state_dir)
        self.state_dir = self.device.state_dir
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.reload_seconds = reload_seconds
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.listening: tuple[str, int] | None = None
        self.reloads: list[asyncio.Task] = []
        self.device.on_reload = self._reload_soon

    def _reload_soon(self) -> None:
        self.reloads.append(asyncio.get_running_loop().create_task(self.reload()))

    async def reload(self) -> None:
        """``reload``: every SSH session and the listener go away, the device boots again after
        ``reload_seconds`` (startup-config and the boot image it names), then SSH listens again."""
        await asyncio.sleep(0.2)  # the reloading session's last output leaves first
        log.info("%s: reloading (SSH away for %.0f s)", self.device.hostname, self.reload_seconds)
        await self.stop()
        for conn in list(self.connections):
            conn.close()
        self.connections.clear()
        await asyncio.sleep(self.reload_seconds)
        self.device.boot()
        host, port = self.listening
        await self.start(host, port)

    def host_key(self) -> asyncssh.SSHKey:
        """The host key: the file given (``--host-key``), else generated once into the state directory."""
        if self.host_key_file is not None:
            return asyncssh.read_private_key(self.host_key_file)
        path = self.state_dir / self.HOST_KEY
        if not path.exists():
            key = asyncssh.generate_private_key("ssh-ed25519")
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(key.export_private_key())
            tmp.chmod(0o600)
            os.replace(tmp, path)
        return asyncssh.read_private_key(path)

    async def start(self, host: str = "0.0.0.0", port: int = 22) -> int:
        """Listen; returns the port (useful with port 0)."""
        self._acceptor = await asyncssh.create_server(
            lambda: _Server(self),
            host,
            port,
            server_host_keys=[self.host_key()],
            line_editor=False,
            encoding="utf-8",
            errors="replace",
            keepalive_interval=30,
        )
        port = self._acceptor.get_port()
        self.listening = (host, port)
        log.info("%s: listening on %s:%d (state in %s)", self.device.hostname, host, port, self.state_dir)
        return port

    async def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None


class ServerThread:
    """Run a Gateway in a background thread with its own event loop (tests)."""

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0) -> None:
        self.gateway = gateway
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, args=(host, port), daemon=True, name="iosgw")
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise self._error

    def _run(self, host: str, port: int) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.port = self.loop.run_until_complete(self.gateway.start(host, port))
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.gateway.stop())
        self.loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


async def _serve(gateway: Gateway, host: str, port: int) -> None:
    await gateway.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # PID 1 in a container ignores SIGTERM without a handler
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("%s: stopping", gateway.device.hostname)
    await gateway.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Simulated Cisco IOS XE voice gateway over SSH (lab only).")
    parser.add_argument("--hostname", default="Router")
    parser.add_argument("--listen-host", default="0.0.0.0")
    parser.add_argument("--listen-port", type=int, default=22)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--enable-secret", default=None)
    parser.add_argument("--state-dir", default=None, help="host key and startup-config (default: a temp dir)")
    parser.add_argument(
        "--host-key",
        default=None,
        help="SSH host key file (OpenSSH format); default: one kept in --state-dir",
    )
    parser.add_argument("--reload-seconds", type=float, default=10.0, help="how long a reload keeps SSH away")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # our own login lines say enough
    gateway = Gateway(
        args.hostname, args.username, args.password, args.enable_secret, args.state_dir, args.host_key,
        args.reload_seconds,
    )  # fmt: skip
    asyncio.run(_serve(gateway, args.listen_host, args.listen_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
