"""The lab's voice access switch: fake-switches' Cisco IOS model, extended.

Runs inside the netdev image (fake-switches 1.5.0 in /opt/netdev) as

    /opt/netdev/bin/python /opt/netdev/voiceswitch.py --hostname sw1 \
        --listen-host 0.0.0.0 --listen-port 22 --username admin --password SECRET \
        [--ports 48] [--state-dir /var/lib/voiceswitch] [--host-key FILE] [--log-level INFO]

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

The password is never logged. ``--host-key`` names the switch's SSH host key
(the lab mounts a stable one that its known_hosts pins); fake-switches' own
key is one RSA key for every switch, built into the package.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from pathlib import Path

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
        if not path.is_file():
            return 0
        log = logging.getLogger("voiceswitch.startup")
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
        "%s: %d ports, startup-config %s (%d lines replayed)",
        args.hostname,
        args.ports,
        switch.switch_configuration.startup_config_path,
        replayed,
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
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
