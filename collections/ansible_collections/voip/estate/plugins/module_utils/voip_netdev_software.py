"""Software of a network device (gateway, access switch): an image on flash, booted and checked.

The shared part of ``netdev_software``. Pure functions first (parsing the
device's answers, checking what the model gives before it reaches the
device's command line, planning), then the netmiko steps.

A device software release: the image is copied to flash from the estate's
HTTP server (the provisioning server) unless flash already holds it with the
right SHA-512, its digest is checked on the device, the device's boot entry
names it (a gateway: ``boot system`` in the configuration, saved; a switch:
the boot loader's BOOT variable, which needs no save), the device reloads,
SSH goes away and comes back, and ``show version`` must report the version
and image wanted. The running configuration (without its boot entry) must
be the same after the reload as before: an image that does not load the
configuration is caught here, and nothing is saved over the startup-config
after the reload.

Everything the model gives reaches the device's command line, so it is held
to strict shapes before the device is contacted: a flash name is a plain
file name, the URL is ``http(s)://host[:port]/path`` of URL-safe characters,
the SHA-512 is 128 hex digits. A space, control character or quote would
otherwise turn a ``copy`` into another command.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time

from ansible_collections.voip.estate.plugins.module_utils.voip_netdev import (
    INVALID,
    NetdevError,
    connect,
    mask,
    push,
    running_config,
    save,
    startup_config,
    strip_volatile,
)

IMAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._~/%+-]*")
SHA512 = re.compile(r"[0-9a-f]{128}")
VERSION = re.compile(r"[A-Za-z0-9.()_-]{1,64}")
KINDS = ("gateway", "switch")
# The file system each kind names in its commands.
FLASH = {"gateway": "bootflash:", "switch": "flash:"}
_BOOT_LINE = re.compile(r"boot system ")


# -- pure ---------------------------------------------------------------------------


def request_problems(params: dict) -> list[str]:
    """What is wrong with the request, before the device is contacted (each names the option)."""
    problems = []
    if params.get("kind") not in KINDS:
        problems.append(f"kind: {params.get('kind')!r} is not one of {', '.join(KINDS)}")
    image = params.get("image") or ""
    if not IMAGE_NAME.fullmatch(image):
        problems.append(
            f"image: {image[:60]!r} is not a plain flash file name (letters, digits, '.', '_', '-'; "
            "no path, space or control character; at most 128)"
        )
    url = params.get("url")
    if url is not None and not URL.fullmatch(url):
        problems.append(
            f"url: {url[:80]!r} is not http(s)://host[:port]/path of URL-safe characters "
            "(no space, quote or control character)"
        )
    digest = params.get("sha512")
    if digest is not None and not SHA512.fullmatch(digest):
        problems.append("sha512: not 128 lowercase hexadecimal digits")
    version = params.get("version")
    if version is not None and not VERSION.fullmatch(version):
        problems.append(f"version: {version[:60]!r} is not a version as show version reports it")
    if url is not None and digest is None:
        problems.append("sha512: required with url (a copied image is always checked)")
    return problems


def parse_version(text: str) -> dict:
    """``show version``: the running ``version`` and the booted ``image`` (a flash file name, or None)."""
    # IOS XE prints its own version first ("Cisco IOS XE Software, Version 17.06.05"); the IOS line
    # ("Cisco IOS Software [...], ..., Version 17.6.5") is the one a release names, as on a switch.
    version = re.search(r"^Cisco IOS Software.*?, Version ([^,\s]+)", text, re.MULTILINE) or re.search(
        r"^Cisco IOS.*?, Version ([^,\s]+)", text, re.MULTILINE
    )
    image = re.search(r'^System image file is "(?:[A-Za-z]+:)?/?([^"]*)"', text, re.MULTILINE)
    return {
        "version": version.group(1) if version else None,
        "image": image.group(1) if image and IMAGE_NAME.fullmatch(image.group(1)) else None,
    }


def parse_boot_entry(kind: str, text: str) -> str | None:
    """The image the saved boot entry names (None: no entry): a gateway's first ``boot system`` line of
    its startup-config; a switch's BOOT path-list (``show boot``), its first file."""
    if kind == "gateway":
        found = re.search(r"^boot system (?:[A-Za-z]+:)?/?(\S+)\s*$", text, re.MULTILINE)
    else:
        found = re.search(r"^BOOT path-list\s*:\s*(?:[A-Za-z]+:)?/?([^;\s]+)", text, re.MULTILINE)
    return found.group(1) if found else None


def parse_dir(text: str) -> dict:
    """``dir`` of flash: ``{name: size}``."""
    found = {}
    for match in re.finditer(r"^\s*\d+\s+[-drwx]{4,}\s+(\d+)\s+.*\s(\S+)\s*$", text, re.MULTILINE):
        if IMAGE_NAME.fullmatch(match.group(2)):
            found[match.group(2)] = int(match.group(1))
    return found


def parse_verify(text: str) -> str | None:
    """``verify /sha512 FILE``: the digest, or None."""
    found = re.search(r"^verify /sha512 \([^)]*\) = ([0-9a-fA-F]{128})\s*$", text, re.MULTILINE)
    return found.group(1).lower() if found else None


def config_identity(running: str) -> str:
    """The running configuration without volatile lines, ``!`` separators and the boot entry (which a
    release changes on purpose): what must be the same before and after a reload."""
    lines = strip_volatile(running).splitlines()
    return "\n".join(
        line for line in lines if not _BOOT_LINE.match(line) and not line.startswith("!")
    ).strip()


def config_change(before: str, after: str) -> list[str]:
    """Lines of ``before``'s identity missing after, then lines new after (``-``/``+``, secrets masked),
    at most 20."""
    old, new = config_identity(before).splitlines(), config_identity(after).splitlines()
    gone = [f"- {mask(line)}" for line in old if line not in new]
    added = [f"+ {mask(line)}" for line in new if line not in old]
    return (gone + added)[:20]


# What the voice gate reads: the ISDN, dial-peers and voice ports of a gateway, the VLANs of a switch.
VOICE_COMMANDS = {
    "gateway": ("show isdn status", "show dial-peer voice summary", "show voice port summary"),
    "switch": ("show vlan brief",),
}
_PRI_BLOCK = re.compile(r"^(?=ISDN \S+ interface)", re.MULTILINE)


def _pri_spans(text: str) -> dict:
    """``{"PRI <interface>": up}`` of ``show isdn status``, one block per interface: up is layer 1
    ACTIVE and layer 2 MULTIPLE_FRAME_ESTABLISHED (a block without a layer 2 state is down)."""
    spans = {}
    for block in _PRI_BLOCK.split(text):
        head = re.match(r"ISDN (\S+) interface", block)
        if head:
            layer1 = re.search(r"Layer 1 Status:\s*(\S+)", block)
            layer2 = re.search(r"State = (\S+)", block)
            spans[f"PRI {head.group(1)}"] = bool(
                layer1
                and layer1.group(1) == "ACTIVE"
                and layer2
                and layer2.group(1) == "MULTIPLE_FRAME_ESTABLISHED"
            )
    return spans


def voice_state(kind: str, outputs: dict) -> dict:
    """``{element: up}`` of what carries voice, from the outputs of ``VOICE_COMMANDS[kind]``: each PRI
    (layer 1 ACTIVE, layer 2 MULTIPLE_FRAME_ESTABLISHED), each administratively up dial-peer (oper up)
    and voice port (oper not down); a switch's active VLANs."""
    state = {}
    if kind == "switch":
        for line in outputs.get("show vlan brief", "").splitlines():
            cols = line.split()
            if len(cols) >= 3 and cols[0].isdigit():
                state[f"vlan {cols[0]}"] = cols[2] == "active"
        return state
    state.update(_pri_spans(outputs.get("show isdn status", "")))
    for line in outputs.get("show dial-peer voice summary", "").splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[0].isdigit() and cols[1] in ("pots", "voip") and cols[2] == "up":
            state[f"dial-peer {cols[0]}"] = cols[3] == "up"
    for line in outputs.get("show voice port summary", "").splitlines():
        cols = line.split()
        if len(cols) >= 5 and re.match(r"^\d+/\d+/\d+", cols[0]) and cols[3] == "up":
            state[f"voice-port {cols[0]}"] = state.get(f"voice-port {cols[0]}", True) and cols[4] != "down"
    return state


def voice_lost(before: dict, after: dict) -> list[str]:
    """What carried voice before and does not after (down, or gone), in ``before``'s order."""
    return [name for name, up in before.items() if up and not after.get(name)]


def boot_commands(kind: str, image: str) -> list[str]:
    """Configuration lines that make ``image`` the one booted."""
    if kind == "gateway":
        return ["no boot system", f"boot system {FLASH[kind]}{image}"]
    return [f"boot system {FLASH[kind]}{image}"]


def plan(current: dict, on_flash: dict, params: dict, entry: str | None = None) -> dict:
    """What a run does: ``copy`` (the image is not on flash), ``boot`` (it is not the booted one: a
    reload), ``entry`` (the saved boot entry names another image, as after a reload that failed: the
    next power cycle would boot that one; no entry at all boots what runs)."""
    booted = current.get("image") == params["image"] and (
        params.get("version") is None or current.get("version") == params["version"]
    )
    return {
        "copy": params["image"] not in on_flash,
        "boot": not booted,
        "entry": entry is not None and entry != params["image"],
    }


# -- on the device ------------------------------------------------------------------


def _checked(output: str, what: str) -> str:
    refused = INVALID.search(output) or re.search(r"^%Error.*$", output, re.MULTILINE)
    if refused:
        raise NetdevError(f"{what}: {refused.group(0).strip()}")
    return output


def read_state(session, kind: str) -> tuple[dict, dict, str | None]:
    """(``show version`` parsed, flash listing, the image the saved boot entry names) of the device."""
    current = parse_version(session.send_command("show version", read_timeout=60))
    listing = parse_dir(_checked(session.send_command(f"dir {FLASH[kind]}", read_timeout=60), "dir"))
    saved = (
        startup_config(session) if kind == "gateway" else session.send_command("show boot", read_timeout=60)
    )
    return current, listing, parse_boot_entry(kind, saved)


def set_boot_entry(session, kind: str, image: str, host: str) -> None:
    """Make ``image`` the saved boot entry. A gateway saves its running configuration for it, so its
    running configuration must be the saved one (boot entry aside): a failed image that came up
    without part of it is never saved over the saved configuration; that fails here instead."""
    if kind == "gateway":
        lost = config_change(startup_config(session), running_config(session))
        if lost:
            raise NetdevError(
                f"{host}: the running configuration is not the saved one ({'; '.join(lost)}): saving the "
                f"boot entry for {image} would write over the saved configuration, so nothing was saved; "
                f"boot {image} by hand"
            )
    push(session, boot_commands(kind, image))
    if kind == "gateway":
        save(session)


def checked_image(session, params: dict, copied: bool) -> bool:
    """The image on flash has the SHA-512 the release names; one that does not and was not just copied
    (a stale file of the same name) is deleted and copied again. Returns whether a copy was made."""
    kind, image, host = params["kind"], params["image"], params["host"]
    if not params.get("sha512") or digest(session, kind, image) == params["sha512"]:
        return copied
    if not copied and params.get("url"):
        _checked(
            session.send_command(f"delete /force {FLASH[kind]}{image}", read_timeout=60), f"delete {image}"
        )
        copy_image(session, kind, params["url"], image, params["copy_timeout"])
        if digest(session, kind, image) == params["sha512"]:
            return True
    raise NetdevError(
        f"{host}: {image} on flash does not have the SHA-512 the release names; nothing was booted"
    )


def wait_for_voice(session, params: dict, wanted: list, sleep=time.sleep, clock=time.monotonic) -> dict:
    """Read the voice state until every element of ``wanted`` is up, or ``voice_timeout`` seconds have
    passed (PRIs and layer 2 take a while after a boot); the last reading."""
    deadline = clock() + params.get("voice_timeout", 0)
    while True:
        state = read_voice(session, params["kind"])
        if all(state.get(name) for name in wanted) or clock() >= deadline:
            return state
        sleep(5)


def read_voice(session, kind: str) -> dict:
    """The device's voice state (``voice_state``), read now."""
    outputs = {command: session.send_command(command, read_timeout=60) for command in VOICE_COMMANDS[kind]}
    return voice_state(kind, outputs)


def digest(session, kind: str, image: str) -> str:
    output = _checked(
        session.send_command(f"verify /sha512 {FLASH[kind]}{image}", read_timeout=600), f"verify {image}"
    )
    found = parse_verify(output)
    if found is None:
        raise NetdevError(f"verify {image}: no digest in the device's answer")
    return found


def copy_image(session, kind: str, url: str, image: str, timeout: int) -> str:
    """``copy URL flash:IMAGE``, answering the destination question; the device's output."""
    asked = session.send_command(
        f"copy {url} {FLASH[kind]}{image}", expect_string=r"\]\?\s*$", read_timeout=60, cmd_verify=False
    )
    _checked(asked, f"copy {url}")
    output = session.send_command("", expect_string=r"#\s*$", read_timeout=timeout, cmd_verify=False)
    return _checked(output, f"copy {url}")


def reload(session) -> None:
    """``reload``, confirmed; the session is gone afterwards."""
    output = session.send_command(
        "reload", expect_string=r"(\[confirm\]|\[yes/no\]:?)\s*$", read_timeout=60, cmd_verify=False
    )
    _checked(output, "reload")
    if "[yes/no]" in output:
        # Unsaved changes: never saved here (the caller saved what it meant to).
        session.send_command("no", expect_string=r"\[confirm\]\s*$", read_timeout=60, cmd_verify=False)
    session.write_channel("\n")
    time.sleep(1)
    with contextlib.suppress(OSError, EOFError):  # the device went away first
        session.disconnect()


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.settimeout(3)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def wait_away_and_back(params: dict, timeout: int, sleep=time.sleep, clock=time.monotonic) -> float:
    """Wait until the device stops answering SSH, then until it answers again; the seconds it was away.
    NetdevError when it never went away (no reload) or did not come back within ``timeout``."""
    host, port = params["host"], params["port"]
    start = clock()
    while _answers(host, port):
        if clock() - start > 60:
            raise NetdevError(f"{host}: still answering SSH 60 s after the reload was confirmed")
        sleep(0.5)
    away = clock()
    while not _answers(host, port):
        if clock() - away > timeout:
            raise NetdevError(f"{host}: no SSH answer {timeout} s after the reload")
        sleep(1)
    return round(clock() - away, 1)


def apply(params: dict, check_mode: bool = False) -> dict:
    """The module's work: see the module documentation. NetdevError with the message otherwise (also
    for a device that stops answering mid-way: netmiko's read timeouts and socket errors)."""
    try:
        from netmiko.exceptions import ReadException, ReadTimeout
    except ImportError:  # pragma: no cover - connect() names the missing netmiko
        ReadException = ReadTimeout = OSError
    try:
        return _apply(params, check_mode)
    except (ReadTimeout, ReadException, OSError, EOFError) as exc:
        raise NetdevError(f"{params['host']}: the device stopped answering as expected: {exc}") from exc


def _apply(params: dict, check_mode: bool = False) -> dict:
    kind, image, host = params["kind"], params["image"], params["host"]
    session = connect(params)
    try:
        before, on_flash, entry = read_state(session, kind)
        steps = plan(before, on_flash, params, entry)
        voice = read_voice(session, kind)
        result = {"changed": any(steps.values()), "before": before, "copied": False, "reloaded": False,
                  "after": before, "away_seconds": None, "voice_before": voice, "voice_after": voice}  # fmt: skip
        _refuse_before_change(session, params, steps, before)
        if check_mode or not result["changed"]:
            return result
        if steps["copy"]:
            copy_image(session, kind, params["url"], image, params["copy_timeout"])
        result["copied"] = checked_image(session, params, steps["copy"])
        if steps["boot"] or steps["entry"]:
            set_boot_entry(session, kind, image, host)
        if not steps["boot"]:
            return result
        # What the device boots with: its saved configuration (never saved over on a failed image).
        reference = startup_config(session)
        reload(session)
        session = None
    finally:
        if session is not None:
            session.disconnect()
    return _after_reload(params, result, reference)


def _refuse_before_change(session, params: dict, steps: dict, before: dict) -> None:
    """NetdevError, before anything changes, for a run that could not be completed or undone."""
    host, image = params["host"], params["image"]
    if steps["copy"] and not params.get("url"):
        raise NetdevError(f"{host}: {image} is not on flash and no url names where to copy it from")
    if params["rollback"] or not (steps["boot"] or steps["entry"]):
        return
    if steps["boot"] and (before.get("image") is None or before.get("version") is None):
        raise NetdevError(
            f"{host}: show version names no image file on flash or no version ({before}), so the device "
            "could not be booted back on its image; nothing was changed"
        )
    unsaved = config_change(startup_config(session), running_config(session))
    if unsaved:
        raise NetdevError(
            f"{host}: the running configuration is not the saved one, and a reload would lose the "
            f"difference; converge (which saves) first. Nothing was changed: {'; '.join(unsaved)}"
        )


def _after_reload(params: dict, result: dict, reference: str) -> dict:
    """Wait for the device, then check its version, image, configuration (against ``reference``) and
    voice: what carried voice before (or ``voice_expected``) must carry it again."""
    kind, image, host = params["kind"], params["image"], params["host"]
    result["reloaded"] = True
    result["away_seconds"] = wait_away_and_back(params, params["reload_timeout"])
    wanted = params.get("voice_expected")
    if wanted is None:
        wanted = [name for name, up in result["voice_before"].items() if up]
    session = _connect_again(params)
    try:
        after = parse_version(session.send_command("show version", read_timeout=60))
        result["after"] = after
        changed_lines = config_change(reference, running_config(session))
        result["voice_after"] = wait_for_voice(session, params, [] if changed_lines else wanted)
    finally:
        session.disconnect()
    if after["image"] != image or (params.get("version") and after["version"] != params["version"]):
        raise NetdevError(
            f"{host}: booted {after['image']} ({after['version']}), not {image}"
            + (f" ({params['version']})" if params.get("version") else "")
        )
    if changed_lines:
        raise NetdevError(
            f"{host}: {image} came up without its saved configuration ({kind}): " + "; ".join(changed_lines)
        )
    lost = voice_lost(dict.fromkeys(wanted, True), result["voice_after"])
    if lost and not params["rollback"]:
        raise NetdevError(
            f"{host}: {image} came up, but these carried voice before and do not now: {', '.join(lost)}"
        )
    return result


def _connect_again(params: dict, attempts: int = 10):
    """SSH answers before the login works on some devices: a few tries."""
    for attempt in range(attempts):
        try:
            return connect(params)
        except NetdevError:
            if attempt == attempts - 1:
                raise
            time.sleep(2)
    raise NetdevError(f"{params['host']}: cannot log in after the reload")  # pragma: no cover
