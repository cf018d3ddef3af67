"""The lab's voice access switch: fake-switches' Cisco IOS model, extended.

Runs inside the netdev image (fake-switches 1.5.0 in /opt/netdev) as

    /opt/netdev/bin/python /opt/netdev/voiceswitch.py --hostname sw1 \
        --listen-host 0.0.0.0 --listen-port 22 --username admin --password SECRET \
        [--ports 48] [--state-dir /var/lib/voiceswitch] [--host-key FILE] [--log-level INFO] \
        [--reload-seconds 10]

and answers SSH like a Catalyst access switch, by subclassing fake-switches'
Cisco core and command processors (the package itself is not changed):

- ports GigabitEthernet1/0/1 .. GigabitEthernet1/0/N (``--ports``, default 48),
  matched by abbreviation with the exact port number (``gi1/0/1`` is never
  GigabitEthernet1/0/11);
- the login lands in privileged EXEC (``sw1#``), as a privilege-15 user does on
  IOS; ``enable`` is accepted and does nothing;
- interface commands, each with its ``no`` form and shown in
  ``show running-config`` where IOS puts them: ``switchport voice vlan N``,
  ``mls qos trust cos|dscp|ip-precedence``, ``power inline auto|never`` (auto is
  the default and not shown), ``spanning-tree portfast``; ``switchport access
  vlan N`` and ``switchport voice vlan N`` create a missing VLAN as IOS does;
- global ``mls qos``; ``vlan N`` / ``name X`` / ``no name`` as fake-switches has them;
- ``end`` leaves configuration mode from any sub-mode (netmiko sends it); a
  global command typed in a sub-mode leaves the sub-mode; EXEC commands in
  configuration mode need ``do`` (``do show running-config``);
- ``write [memory]`` and ``copy running-config startup-config`` save the
  running configuration to ``<state-dir>/startup-config``; on start that file
  is replayed through the same command processors, so a restart keeps what was
  saved and loses what was not; ``show startup-config`` prints it;
- an unknown or malformed command answers ``% Invalid input detected at '^'
  marker.`` as IOS does (fake-switches says ``No such command``).

- software (``netflash.py``, #29): a flash file system in ``<state-dir>/flash``
  with the factory image; ``dir flash:``, ``copy http://HOST/FILE flash:[NAME]``
  (asks the destination name), ``verify /md5|/sha512 flash:NAME``, ``delete
  [/force] flash:NAME``; ``boot system flash:NAME`` / ``no boot system`` set the
  boot loader's BOOT variable at once, as a Catalyst does (``show boot``; it is
  not part of the configuration); ``reload`` (``Proceed with reload?
  [confirm]``) takes SSH away for ``--reload-seconds`` and starts the program
  again on the saved state; ``show version`` reports the booted image. A broken
  image (``state=broken``) boots without loading the startup-config.

The password is never logged. ``--host-key`` names the switch's SSH host key
(the lab mounts a stable one that its known_hosts pins); fake-switches' own
key is one RSA key for every switch, built into the package.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import sys
import time
import urllib.parse
from pathlib import Path

import netflash
from fake_switches.cisco.cisco_core import BaseCiscoSwitchCore, CiscoShellSession
from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
from fake_switches.cisco.command_processor.config_interface import ConfigInterfaceCommandProcessor
from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor
from fake_switches.cisco.command_processor.default import DefaultCommandProcessor
from fake_switches.cisco.command_processor.enabled import (
    EnabledCommandProcessor,
    build_running_interface,
    build_running_vlan,
    build_static_routes,
    version_text,
)
from fake_switches.cisco.command_processor.piping import PipingProcessor
from fake_switches.command_processing.shell_session import TerminalExitSignal
from fake_switches.switch_configuration import (
    AggregatedPort,
    Port,
    SwitchConfiguration,
    VlanPort,
    split_port_name,
)
from fake_switches.terminal import LoggingTerminalController, NoopTerminalController
from fake_switches.transports.ssh_service import SSHDemoRealm, SwitchSshService

LOG = logging.getLogger("voiceswitch")

STARTUP_CONFIG = "startup-config"
INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."
QOS_TRUST = ("cos", "dscp", "ip-precedence")
POWER_INLINE = ("auto", "never")
VOICE_VLAN_KEYWORDS = ("dot1p", "none", "untagged")
# Lines of a saved configuration that describe the device, not configuration
# to replay (the hostname comes from --hostname).
NOT_REPLAYED = ("version", "hostname")
# The switch's software (netflash.py): the factory image on flash, what `show version` reports of it.
PLATFORM = "c3750"
FACTORY_VERSION = "12.2(58)SE2"
FACTORY_IMAGE = "c3750-ipservicesk9-mz.122-58.SE2.bin"
FLASH_BYTES = 32514048
# The boot loader's BOOT variable (`boot system`): a file of the state directory, not the configuration.
BOOT_ENV = "boot-env"
# Written by a `reload` for the process that boots next (`show version`'s reason).
RELOAD_REASON = "reload-reason"


def _keyword(token: str, *words: str) -> str | None:
    """The one word of ``words`` that ``token`` abbreviates, as IOS accepts, or None."""
    found = [w for w in words if token and w.startswith(token.lower())]
    return found[0] if len(found) == 1 else None


def _vlan_number(token: str) -> int | None:
    return int(token) if token.isdigit() and 1 <= int(token) <= 4094 else None


# -- configuration model ------------------------------------------------------


class VoiceSwitchConfiguration(SwitchConfiguration):
    """fake-switches' configuration plus global ``mls qos`` and the startup-config file.

    Per-port voice settings live in ``Port.vendor_specific`` (which
    ``Port.reset()``, used by ``default interface``, clears) and in fake-switches'
    own ``Port.spanning_tree_portfast``.
    """

    def __init__(self, *args, state_dir: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.mls_qos = False
        # Global `ntp server` and `logging host` lines, in the order given.
        self.ntp_servers: list[str] = []
        self.logging_hosts: list[str] = []
        self.state_dir = state_dir
        self.flash = netflash.Flash(state_dir / "flash", ("flash:",), FLASH_BYTES)
        if not self.flash.files():
            self.flash.write(FACTORY_IMAGE, netflash.image_bytes(PLATFORM, FACTORY_VERSION))
        self.booted = self.flash.boot([self.boot_entry] if self.boot_entry else [], FACTORY_IMAGE)
        self.boot_time = time.time()
        reason = state_dir / RELOAD_REASON
        self.reload_reason = reason.read_text().strip() if reason.is_file() else "power-on"
        reason.unlink(missing_ok=True)
        # Set by main(): take SSH away, then boot again (a new process on the saved state).
        self.on_reload = None

    @property
    def boot_entry(self) -> str | None:
        """The flash file the BOOT variable names (``boot system``), or None."""
        path = self.state_dir / BOOT_ENV
        return path.read_text().strip() or None if path.is_file() else None

    def set_boot_entry(self, name: str | None) -> None:
        """``boot system flash:NAME`` / ``no boot system``: the boot loader keeps it at once, as on a
        Catalyst (no ``write memory`` needed)."""
        path = self.state_dir / BOOT_ENV
        if name is None:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(name + "\n")
        os.replace(tmp, path)

    @property
    def version(self) -> str:
        return self.booted[1].version if self.booted else FACTORY_VERSION

    @property
    def broken(self) -> bool:
        """A broken image (or none) boots without loading the startup-config."""
        return self.booted is None or self.booted[1].broken

    @property
    def startup_config_path(self) -> Path:
        return self.state_dir / STARTUP_CONFIG

    def get_port_by_partial_name(self, name):
        """Abbreviated type, exact number: ``Gi1/0/1`` is GigabitEthernet1/0/1 and nothing else."""
        try:
            kind, number = split_port_name(name.lower())
        except AttributeError:  # no digit in the name
            return None
        kind, number = kind.strip(), number.strip()
        if not kind:
            return None
        for port in self.ports:
            port_kind, port_number = split_port_name(port.name.lower())
            if port_kind.startswith(kind) and port_number == number:
                return port
        return None

    def save_startup_config(self, lines: list[str]) -> None:
        """Write the startup-config atomically (temporary file, fsync, rename)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_dir / (STARTUP_CONFIG + ".tmp")
        with tmp.open("w") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.startup_config_path)


def is_access_port(port: Port) -> bool:
    return not isinstance(port, (VlanPort, AggregatedPort))


def running_interface(port: Port) -> list[str]:
    """fake-switches' interface block with the voice lines where IOS shows them.

    ``switchport voice vlan`` follows the other switchport lines; ``power inline
    never``, ``mls qos trust`` and ``spanning-tree portfast`` close the block.
    """
    lines = build_running_interface(port)
    settings = port.vendor_specific
    voice_vlan = settings.get("voice_vlan")
    if voice_vlan is not None:
        switchport = [i for i, line in enumerate(lines) if line.startswith(" switchport ")]
        description = [i for i, line in enumerate(lines) if line.startswith(" description ")]
        after = (switchport or description or [0])[-1]
        lines.insert(after + 1, f" switchport voice vlan {voice_vlan}")
    if settings.get("power_inline", "auto") != "auto":
        lines.append(f" power inline {settings['power_inline']}")
    if settings.get("qos_trust"):
        lines.append(f" mls qos trust {settings['qos_trust']}")
    if port.spanning_tree_portfast:
        lines.append(" spanning-tree portfast")
    return lines


def running_config(conf: VoiceSwitchConfiguration) -> list[str]:
    """The running configuration, from ``version`` to ``end`` (no header)."""
    lines = ["version 12.1", "!", f"hostname {conf.name}", "!", "!"]
    if conf.mls_qos:
        lines += ["mls qos", "!"]
    for vlan in sorted(conf.vlans, key=lambda v: v.number):
        lines += [*build_running_vlan(vlan), "!"]
    # Port-channels first, as IOS lists them (fake-switches left them out).
    channels = [p for p in conf.ports if isinstance(p, AggregatedPort)]
    for port in channels + conf.get_physical_ports() + conf.get_vlan_ports():
        lines += [*running_interface(port), "!"]
    if conf.static_routes:
        lines += [build_static_routes(route) for route in conf.static_routes]
        lines.append("!")
    if conf.logging_hosts:
        lines += [*(f"logging host {host}" for host in conf.logging_hosts), "!"]
    if conf.ntp_servers:
        lines += [*(f"ntp server {server}" for server in conf.ntp_servers), "!"]
    lines.append("end")
    return lines


# -- command processors -------------------------------------------------------


class InvalidInputMixin:
    """IOS's answers to a malformed command, the caret under the offending word."""

    line = ""

    def process_command(self, line):
        self.line = line
        return super().process_command(line)

    def write_invalid(self, *, incomplete: bool = False, at: str | None = None) -> None:
        if incomplete:
            self.write_line(INCOMPLETE)
        else:
            words = self.line.split()
            column = self.line.find(at) if at else -1
            if column < 0 and words:
                column = self.line.rfind(words[-1])
            self.write_line(" " * (len(self.get_prompt() or "") + max(column, 0)) + "^")
            self.write_line(INVALID)
        self.write_line("")


class VoiceEnabledCommandProcessor(InvalidInputMixin, EnabledCommandProcessor):
    """Privileged EXEC: running-config with the voice lines, and a real ``write memory``."""

    def parse_and_execute_command(self, line):
        if self.sub_processor is None:
            return super().parse_and_execute_command(line)
        # Configuration mode did not know the line. IOS runs an EXEC command
        # there only after `do`; fake-switches ran any, and printed no prompt.
        words = line.split()
        if len(words) < 2 or words[0] != "do" or "configure".startswith(words[1]):
            return False
        processed = super().parse_and_execute_command(" ".join(words[1:]))
        if processed:
            self.finish_piping()
            self.show_prompt()
        return processed

    def do_show(self, *args):
        if len(args) >= 1 and "startup-config".startswith(args[0]) and args[0].startswith("st"):
            self.show_startup()
        elif len(args) == 1 and args[0].lower() == "boot":
            self.show_boot()
        elif len(args) >= 3 and "running-config".startswith(args[0]) and "interface".startswith(args[1]):
            port = self.switch_configuration.get_port_by_partial_name("".join(args[2:]))
            if port is None:
                self.write_invalid()
                return
            self.write_configuration(["!", *running_interface(port), "end", ""])
        else:
            super().do_show(*args)

    def show_run(self):
        self.write_configuration([*running_config(self.switch_configuration), ""])

    def show_version(self):
        conf = self.switch_configuration
        text = version_text(
            hostname=conf.name,
            vlan_port_count=len(conf.get_vlan_ports()),
            port_count=len(conf.get_physical_ports()),
        )
        minutes = int((time.time() - conf.boot_time) // 60)
        text = re.sub(r"uptime is .*", f"uptime is {minutes} minute{'s' if minutes != 1 else ''}", text)
        text = text.replace(
            "System returned to ROM by power-on", f"System returned to ROM by {conf.reload_reason}"
        )
        image = f"flash:{conf.booted[0]}" if conf.booted else "unknown"
        text = text.replace(f"flash:{FACTORY_IMAGE}", image).replace(FACTORY_VERSION, conf.version)
        for line in text.splitlines():  # one line at a time: `| include` filters lines
            self.write_line(line)

    def show_boot(self):
        entry = self.switch_configuration.boot_entry
        self.write_line(f"BOOT path-list      : {'flash:' + entry if entry else ''}")
        self.write_line("Config file         : flash:/config.text")
        self.write_line("Enable Break        : no")
        self.write_line("Manual Boot         : no")

    def _flash_name(self, text: str) -> str | None:
        try:
            return self.switch_configuration.flash.name(text)
        except netflash.FlashError as exc:
            self.write_line(str(exc))
            return None

    def do_dir(self, *args):
        if args and args[0].lower() not in ("flash:", "flash:/"):
            self.write_invalid(at=args[0])
            return
        flash = self.switch_configuration.flash
        self.write_line("Directory of flash:/")
        self.write_line("")
        for inode, (name, size, mtime) in enumerate(flash.files(), start=2):
            when = time.strftime("%b %d %Y %H:%M:%S", time.gmtime(mtime))
            self.write_line(f"{inode:>5}  -rwx {size:>12}  {when} +00:00  {name}")
        self.write_line("")
        self.write_line(f"{flash.capacity} bytes total ({flash.free()} bytes free)")

    def do_verify(self, *args):
        if len(args) != 2 or args[0].lower() not in ("/md5", "/sha512"):
            self.write_invalid(incomplete=len(args) < 2)
            return
        name = self._flash_name(args[1])
        if name is None:
            return
        try:
            digest = self.switch_configuration.flash.digest(name, args[0][1:].lower())
        except netflash.FlashError as exc:
            self.write_line(str(exc))
            return
        self.write_line("." * 20 + "Done!")
        self.write_line(f"verify {args[0].lower()} (flash:{name}) = {digest}")

    def do_delete(self, *args):
        force = bool(args) and args[0].lower() == "/force"
        names = args[1:] if force else args
        if len(names) != 1:
            self.write_invalid(incomplete=not names)
            return
        name = self._flash_name(names[0])
        if name is None:
            return
        if force:
            self._remove(name)
            return
        self.write(f"Delete flash:/{name}? [confirm]")
        self.continue_to(
            lambda line: self._remove(name) if line.strip().lower() in ("", "y", "yes") else None
        )

    def _remove(self, name: str) -> None:
        try:
            self.switch_configuration.flash.delete(name)
        except netflash.FlashError as exc:
            self.write_line(str(exc))
            return
        self.logger.info("deleted flash:%s", name)

    def _copy_in(self, url: str, dest: str) -> None:
        default = dest.split(":", 1)[1].lstrip("/") or urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]
        self.write(f"Destination filename [{default}]? ")
        self.continue_to(lambda line: self._fetch(url, line.strip() or default))

    def _fetch(self, url: str, given: str) -> None:
        name = self._flash_name(given)
        if name is None:
            return
        self.write_line(f"Accessing {url}...")
        try:
            size, seconds = self.switch_configuration.flash.fetch(url, name)
        except netflash.FlashError as exc:
            self.write_line(str(exc))
            return
        self.logger.info("copied %s to flash:%s (%d bytes)", url, name, size)
        self.write_line(f"Loading {url} {'!' * max(1, min(size // 65536, 40))}")
        self.write_line(f"[OK - {size} bytes]")
        self.write_line("")
        self.write_line(f"{size} bytes copied in {seconds:.3f} secs")

    def do_reload(self, *args):
        if args:
            self.write_invalid(at=args[0])
            return
        self.write("Proceed with reload? [confirm]")
        self.continue_to(self._reload)

    def _reload(self, line: str) -> None:
        if line.strip().lower() not in ("", "y", "yes"):
            return
        conf = self.switch_configuration
        self.logger.info("reload requested")
        if conf.on_reload is not None:
            conf.on_reload()

    def write_configuration(self, lines: list[str]) -> None:
        """Configuration lines under IOS's header, as fake-switches prints them."""
        size = len("\n".join(lines)) + 1
        self.write_line("Building configuration...")
        self.write_line("")
        self.write_line(f"Current configuration : {size} bytes")
        for line in lines:
            self.write_line(line)

    def show_startup(self):
        path = self.switch_configuration.startup_config_path
        if not path.is_file():
            self.write_line("startup-config is not present")
            return
        body = path.read_text()
        self.write_line(f"Using {len(body.encode())} out of 524288 bytes")
        self.write(body)

    def do_write(self, *args):
        if not args or "memory".startswith(args[0]):
            self.write_line("Building configuration...")
            self.write_line("[OK]" if self.save() else "%Error writing startup-config")
        elif "terminal".startswith(args[0]):
            self.show_run()
        else:
            self.write_invalid()

    def do_copy(self, source_url, destination_url=None, *rest):
        if source_url.lower().startswith("http://") and destination_url is not None and not rest:
            if not destination_url.lower().startswith("flash:"):
                self.write_invalid(at=destination_url)
                return
            self._copy_in(source_url, destination_url)
            return
        if (
            destination_url is not None
            and not rest
            and source_url.startswith("run")
            and "running-config".startswith(source_url)
            and destination_url.startswith("st")
            and "startup-config".startswith(destination_url)
        ):
            self.write("Destination filename [startup-config]? ")
            self.continue_to(self.continue_copy_to_startup)
        elif destination_url is None or rest:
            self.write_invalid(incomplete=destination_url is None)
        else:
            super().do_copy(source_url, destination_url)

    def continue_copy_to_startup(self, _line):
        self.write_line("Building configuration...")
        self.write_line("[OK]" if self.save() else "%Error writing startup-config")

    def save(self) -> bool:
        try:
            self.switch_configuration.save_startup_config(running_config(self.switch_configuration))
        except OSError as exc:
            self.logger.error("saving the startup-config failed: %s", exc)
            return False
        self.logger.info("running-config saved to %s", self.switch_configuration.startup_config_path)
        return True


class VoiceConfigCommandProcessor(InvalidInputMixin, ConfigCommandProcessor):
    """Global configuration: ``mls qos``, ``ntp server``, ``logging host`` and ``end``."""

    def parse_and_execute_command(self, line):
        if self.sub_processor is not None and line.strip() and self.get_command_func(line)[0] is not None:
            # A global command typed in a sub-mode leaves the sub-mode, as on
            # IOS (fake-switches kept it and printed no prompt); a malformed
            # one leaves the mode as it was.
            sub_mode, self.sub_processor = self.sub_processor, None
            try:
                return super().parse_and_execute_command(line)
            except Exception:
                self.sub_processor = sub_mode
                raise
        return super().parse_and_execute_command(line)

    def do_end(self, *_):
        self.sub_processor = None
        self.is_done = True

    def do_boot(self, *args):
        if len(args) != 2 or args[0].lower() != "system" or not args[1].lower().startswith("flash:"):
            self.write_invalid(incomplete=len(args) < 2)
            return
        conf = self.switch_configuration
        try:
            name = conf.flash.name(args[1])
        except netflash.FlashError as exc:
            self.write_line(str(exc))
            return
        conf.set_boot_entry(name)
        self.logger.info("BOOT variable set to flash:%s", name)

    def do_no_boot(self, *args):
        if [a.lower() for a in args] != ["system"]:
            self.write_invalid(incomplete=not args)
            return
        self.switch_configuration.set_boot_entry(None)

    def do_mls(self, *args):
        if [a.lower() for a in args] == ["qos"]:
            self.switch_configuration.mls_qos = True
        else:
            self.write_invalid(incomplete=not args)

    def do_no_mls(self, *args):
        if [a.lower() for a in args] == ["qos"]:
            self.switch_configuration.mls_qos = False
        else:
            self.write_invalid(incomplete=not args)

    def _address_list(self, args, keyword: str, entries: list[str], add: bool) -> None:
        """``ntp server IP`` / ``logging host IP`` and their ``no`` forms."""
        if len(args) < 2 or args[0].lower() != keyword:
            self.write_invalid(incomplete=len(args) < 2 and (not args or args[0].lower() == keyword))
            return
        try:
            address = str(ipaddress.ip_address(args[1]))
        except ValueError:
            self.write_invalid(at=args[1])
            return
        if add and address not in entries:
            entries.append(address)
        elif not add and address in entries:
            entries.remove(address)

    def do_ntp(self, *args):
        self._address_list(args, "server", self.switch_configuration.ntp_servers, add=True)

    def do_no_ntp(self, *args):
        self._address_list(args, "server", self.switch_configuration.ntp_servers, add=False)

    def do_logging(self, *args):
        self._address_list(args, "host", self.switch_configuration.logging_hosts, add=True)

    def do_no_logging(self, *args):
        self._address_list(args, "host", self.switch_configuration.logging_hosts, add=False)


class VoiceConfigVlanCommandProcessor(ConfigVlanCommandProcessor):
    def do_no_name(self, *_):
        self.vlan.name = None


class VoiceConfigInterfaceCommandProcessor(InvalidInputMixin, ConfigInterfaceCommandProcessor):
    """Interface configuration with the voice commands of an access port."""

    # Global commands that also start like an interface command: left to the
    # global processor (fake-switches then falls back to it).
    GLOBAL_ONLY = (("mls", "qos"), ("no", "mls", "qos"))

    def parse_and_execute_command(self, line):
        if tuple(t.lower() for t in line.split()) in self.GLOBAL_ONLY:
            return False
        return super().parse_and_execute_command(line)

    def _access_port(self) -> bool:
        if is_access_port(self.port):
            return True
        self.write_invalid(at=self.line.split()[0])
        return False

    def _ensure_vlan(self, number: int, kind: str) -> None:
        conf = self.switch_configuration
        if conf.get_vlan(number) is None:
            self.write_line(f"% {kind} VLAN does not exist. Creating vlan {number}")
            conf.add_vlan(conf.new("Vlan", number))

    # switchport ...
    def do_switchport(self, *args):
        first = _keyword(args[0], "access", "mode", "trunk", "voice") if args else None
        if first == "voice":
            self._voice_vlan(args[1:])
        elif first == "access":
            if len(args) < 3 or _keyword(args[1], "vlan") is None:
                self.write_invalid(incomplete=len(args) < 3)
                return
            number = _vlan_number(args[2])
            if number is None or len(args) > 3:
                self.write_invalid()
                return
            self._ensure_vlan(number, "Access")
            self.port.access_vlan = number
        elif first == "mode":
            mode = _keyword(args[1], "access", "trunk") if len(args) == 2 else None
            if mode is None:
                self.write_invalid(incomplete=len(args) < 2)
                return
            self.port.mode = mode
        elif first == "trunk" or not args:
            super().do_switchport(*args)
        else:
            self.write_invalid()

    def _voice_vlan(self, rest):
        if not self._access_port():
            return
        if len(rest) != 2 or _keyword(rest[0], "vlan") is None:
            self.write_invalid(incomplete=len(rest) < 2)
            return
        keyword = _keyword(rest[1], *VOICE_VLAN_KEYWORDS)
        number = _vlan_number(rest[1])
        if number is not None:
            self._ensure_vlan(number, "Voice")
            self.port.vendor_specific["voice_vlan"] = number
        elif keyword is not None:
            self.port.vendor_specific["voice_vlan"] = keyword
        else:
            self.write_invalid()

    def do_no_switchport(self, *args):
        if args and _keyword(args[0], "voice") == "voice":
            if len(args) >= 2 and _keyword(args[1], "vlan"):
                self.port.vendor_specific.pop("voice_vlan", None)
            else:
                self.write_invalid(incomplete=len(args) < 2)
        else:
            super().do_no_switchport(*args)

    # mls qos trust ...
    def do_mls(self, *args):
        if not self._access_port():
            return
        if len(args) != 3 or _keyword(args[0], "qos") is None or _keyword(args[1], "trust") is None:
            self.write_invalid(incomplete=len(args) < 3)
            return
        trust = _keyword(args[2], *QOS_TRUST)
        if trust is None:
            self.write_invalid()
            return
        self.port.vendor_specific["qos_trust"] = trust

    def do_no_mls(self, *args):
        if len(args) < 2 or _keyword(args[0], "qos") is None or _keyword(args[1], "trust") is None:
            self.write_invalid(incomplete=len(args) < 2)
            return
        self.port.vendor_specific.pop("qos_trust", None)

    # power inline ...
    def do_power(self, *args):
        if not self._access_port():
            return
        if len(args) != 2 or _keyword(args[0], "inline") is None:
            self.write_invalid(incomplete=len(args) < 2)
            return
        mode = _keyword(args[1], *POWER_INLINE)
        if mode is None:
            self.write_invalid()
            return
        self.port.vendor_specific["power_inline"] = mode

    def do_no_power(self, *args):
        if not args or _keyword(args[0], "inline") is None:
            self.write_invalid(incomplete=not args)
            return
        self.port.vendor_specific.pop("power_inline", None)

    # spanning-tree portfast
    def do_spanning_tree(self, *args):
        if not self._access_port():
            return
        if len(args) != 1 or _keyword(args[0], "portfast") is None:
            self.write_invalid(incomplete=not args)
            return
        self.port.spanning_tree_portfast = True

    def do_no_spanning_tree(self, *args):
        if len(args) != 1 or _keyword(args[0], "portfast") is None:
            self.write_invalid(incomplete=not args)
            return
        self.port.spanning_tree_portfast = None


# -- sessions and the switch --------------------------------------------------


class VoiceShellSession(CiscoShellSession):
    """IOS answers to unknown or malformed commands; typed secrets never logged."""

    def innermost(self):
        proc = self.command_processor
        while proc.sub_processor is not None:
            proc = proc.sub_processor
        return proc

    def receive(self, line):
        current = self.innermost()
        self.prompt = current.get_prompt() or ""
        shown = "<hidden>" if current.replace_input is not False else line
        self.command_processor.logger.debug("received: %s", shown)
        try:
            processed = self.command_processor.process_command(line)
        except TerminalExitSignal:
            return False
        except Exception:
            # A known command with arguments fake-switches cannot parse.
            self.command_processor.logger.warning("malformed command: %s", shown)
            self.command_processor.logger.debug("malformed command traceback", exc_info=True)
            self.command_processor.finish_piping()
            processed = False
        if not processed:
            self.command_processor.logger.info("command not supported: %s", shown)
            self.handle_unknown_command(line)
            self.command_processor.show_prompt()
        return not self.command_processor.is_done

    def handle_unknown_command(self, line):
        column = len(getattr(self, "prompt", "")) + len(line) - len(line.lstrip())
        write = self.command_processor.terminal_controller.write
        write(" " * column + "^\n")
        write(INVALID + "\n\n")


class VoiceSwitchCore(BaseCiscoSwitchCore):
    def new_command_processor(self):
        return VoiceEnabledCommandProcessor(
            config=VoiceConfigCommandProcessor(
                config_vlan=VoiceConfigVlanCommandProcessor(),
                config_vrf=ConfigVRFCommandProcessor(),
                config_interface=VoiceConfigInterfaceCommandProcessor(),
            )
        )

    def launch(self, protocol, terminal_controller):
        # BaseCiscoSwitchCore.launch, with this module's shell session.
        self.last_connection_id += 1
        name = self.switch_configuration.name
        self.logger = logging.getLogger(f"fake_switches.cisco.{name}.{self.last_connection_id}.{protocol}")
        processor = self.new_command_processor()
        if not self.switch_configuration.auto_enabled:
            processor = DefaultCommandProcessor(processor)
        processor.init(
            self.switch_configuration,
            LoggingTerminalController(self.logger, terminal_controller),
            self.logger,
            PipingProcessor(self.logger),
        )
        return VoiceShellSession(processor)

    def load_startup_config(self) -> int:
        """Replay the saved configuration through the command processors; return lines replayed."""
        path = self.switch_configuration.startup_config_path
        log = logging.getLogger("voiceswitch.startup")
        booted = self.switch_configuration.booted
        if self.switch_configuration.broken:
            log.warning("image %s fails its self-test: the startup-config is not loaded",
                        booted[0] if booted else "(none)")  # fmt: skip
            return 0
        if not path.is_file():
            return 0
        # The processors' own mode-change chatter is not worth a line per interface.
        quiet = logging.getLogger("voiceswitch.startup.cli")
        quiet.setLevel(max(logging.WARNING, log.getEffectiveLevel()))
        enabled = self.new_command_processor()
        enabled.init(self.switch_configuration, NoopTerminalController(), quiet, PipingProcessor(quiet))
        enabled.process_command("configure terminal")
        config = enabled.sub_processor
        replayed = 0
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = line.split()
            if not words or words[0].startswith("!") or words[0] in NOT_REPLAYED:
                continue
            if words == ["end"]:
                break
            # A top-level line leaves the sub-mode of the previous block first.
            if not line[0].isspace() and config.sub_processor is not None:
                config.process_command("exit")
            try:
                understood = enabled.process_command(line)
            except Exception:
                understood = False
            if understood:
                replayed += 1
            else:
                log.warning("%s line %d not understood, skipped: %s", path, number, line.strip())
        return replayed


class KeyedSshService(SwitchSshService):
    """fake-switches' SSH service with this switch's own host key.

    fake-switches serves one RSA key built into the package (its private half
    is public): a client that pins it authenticates nothing. This one serves
    the key in ``host_key`` (an OpenSSH private key file, ed25519 in the lab).
    """

    def __init__(self, ip, port, switch_core, users, host_key: Path) -> None:
        super().__init__(ip=ip, port=port, switch_core=switch_core, users=users)
        self.host_key = host_key

    def hook_to_reactor(self, reactor):
        from twisted.conch.ssh import factory, keys
        from twisted.cred import checkers, portal

        key = keys.Key.fromFile(str(self.host_key))
        ssh_factory = factory.SSHFactory()
        ssh_factory.portal = portal.Portal(SSHDemoRealm(self.switch_core))
        ssh_factory.portal.registerChecker(checkers.InMemoryUsernamePasswordDatabaseDontUse(**self.users))
        ssh_factory.publicKeys = {key.sshType(): key.public()}
        ssh_factory.privateKeys = {key.sshType(): key}
        return reactor.listenTCP(port=self.port, factory=ssh_factory, interface=self.ip)


def access_ports(count: int) -> list[Port]:
    return [Port(f"GigabitEthernet1/0/{n}") for n in range(1, count + 1)]


def build_switch(hostname: str, ports: int, state_dir: Path) -> VoiceSwitchCore:
    conf = VoiceSwitchConfiguration(
        "127.0.0.1",
        name=hostname,
        auto_enabled=True,
        privileged_passwords=[],
        ports=access_ports(ports),
        state_dir=state_dir,
    )
    return VoiceSwitchCore(conf)


# -- command line -------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Lab voice access switch (fake-switches Cisco IOS, extended) over SSH",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--hostname", default="switch", help="hostname, also the prompt")
    parser.add_argument("--listen-host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--listen-port", type=int, default=22, help="SSH port")
    parser.add_argument("--username", required=True, help="SSH login name (ASCII)")
    parser.add_argument("--password", required=True, help="SSH login password (never logged)")
    parser.add_argument("--ports", type=int, default=48, help="number of GigabitEthernet1/0/N ports")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("/var/lib/voiceswitch"),
        help="where `write memory` keeps the startup-config",
    )
    parser.add_argument(
        "--host-key",
        type=Path,
        default=None,
        help="SSH host key file (OpenSSH private key); without it fake-switches' built-in RSA key, "
        "whose private half is public",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--reload-seconds", type=float, default=10.0, help="how long a reload keeps SSH away")
    args = parser.parse_args(argv)
    if not 1 <= args.ports <= 96:
        parser.error("--ports must be between 1 and 96")
    if not args.username.isascii() or not args.username:
        parser.error("--username must be a non-empty ASCII name")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from twisted.internet import reactor
    from twisted.python import log as twisted_log

    twisted_log.PythonLoggingObserver(loggerName="twisted").start()

    switch = build_switch(args.hostname, args.ports, args.state_dir)
    replayed = switch.load_startup_config()
    LOG.info(
        "%s: %d ports, startup-config %s (%d lines replayed), booted %s",
        args.hostname,
        args.ports,
        switch.switch_configuration.startup_config_path,
        replayed,
        (switch.switch_configuration.booted or ("no image",))[0],
    )
    users = {args.username: args.password.encode()}
    if args.host_key is not None:
        service = KeyedSshService(args.listen_host, args.listen_port, switch, users, args.host_key)
    else:
        service = SwitchSshService(
            ip=args.listen_host, port=args.listen_port, switch_core=switch, users=users
        )
    service.hook_to_reactor(reactor)
    LOG.info(
        "SSH on %s:%d for user %s (password not logged)", args.listen_host, args.listen_port, args.username
    )
    reloading = []

    def reload_soon() -> None:
        reloading.append(True)
        reactor.callLater(0.3, reactor.stop)  # the session's last output leaves first

    switch.switch_configuration.on_reload = reload_soon
    reactor.run()  # stopping closes the listener and every session
    if reloading:
        # A reload: SSH stays away, then this program starts again on the saved state (the BOOT
        # variable's image, the startup-config), as the switch boots.
        LOG.info("%s: reloading (SSH away for %.0f s)", args.hostname, args.reload_seconds)
        (args.state_dir / RELOAD_REASON).write_text("Reload Command\n")
        sys.stdout.flush()
        time.sleep(args.reload_seconds)
        os.execv(sys.executable, [sys.executable, *sys.argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
