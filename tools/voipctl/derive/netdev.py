"""Intended configurations of the network devices (media gateways, access switches) from the estate model.

Pure functions, no Ansible: the collection's filters in plugins/filter/voip_netdev.py call
them with hostvars, the netdev_config module compares their text with the
device's running configuration.

Gateway (Cisco IOS voice-gateway style), dial-peer tags by kind so that a tag
stays the same from run to run:

- 100-199 VoIP towards the call servers, the site's own first (preference 0),
  one per number pattern (the site's extensions, the PRIs' DID ranges);
- 200-299 PSTN out over each PRI (E.164 numbers, ``+T``);
- 300-399 PSTN in over each PRI (direct inward dial);
- 400-499 FXS ports, one per port, by its extension;
- 500-599 FXO lines in (the voice-port rings its PLAR target).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voipctl.core.ranges import parse_range

E1_SWITCHTYPES = {"primary-net5", "primary-qsig"}
DEFAULT_CODECS = ("g711alaw", "g711ulaw", "g729r8")
# Top-level lines the gateway's model owns entirely (others on the device are left alone).
GATEWAY_MANAGED = (
    "^dial-peer voice ",
    "^voice-port ",
    "^voice class codec ",
    "^ntp server ",
    "^logging host ",
)
SWITCH_MANAGED = ("^ntp server ", "^logging host ")


class NetdevDataError(ValueError):
    """The model cannot give a device configuration (names the element)."""


def ios_patterns(low: str, high: str) -> list[str]:
    """IOS destination patterns (digits, ``.`` and ``[a-b]``) matching exactly the numbers low..high.

    Both bounds have the same number of digits; a leading ``+`` is kept.
    """
    plus = low.startswith("+")
    lo, hi = low.lstrip("+"), high.lstrip("+")
    if len(lo) != len(hi) or not (lo.isdigit() and hi.isdigit()) or int(lo) > int(hi):
        raise NetdevDataError(f"{low}-{high} is not a range of numbers of the same length")
    prefix = "+" if plus else ""
    return [prefix + p for p in _patterns(lo, hi)]


def _digits(a: int, b: int) -> str:
    if (a, b) == (0, 9):
        return "."
    return str(a) if a == b else f"[{a}-{b}]"


def _patterns(lo: str, hi: str) -> list[str]:
    if lo == hi:
        return [lo]
    i = next(k for k in range(len(lo)) if lo[k] != hi[k])
    head, rest = lo[:i], len(lo) - i - 1
    a, b = int(lo[i]), int(hi[i])
    if lo[i + 1 :] == "0" * rest and hi[i + 1 :] == "9" * rest:
        return [head + _digits(a, b) + "." * rest]
    out, upper = [], []
    if lo[i + 1 :] != "0" * rest:
        out += _patterns(lo, head + str(a) + "9" * rest)
        a += 1
    if hi[i + 1 :] != "9" * rest:
        upper = _patterns(head + str(b) + "0" * rest, hi)
        b -= 1
    if a <= b:
        out.append(head + _digits(a, b) + "." * rest)
    return out + upper


def range_patterns(text: str, *, e164: bool, what: str) -> list[str]:
    """The IOS patterns of a model number range (``2000-2999``, ``+3120..00-+3120..99``).

    The range is read by the model's own parser (voipctl.core.ranges.parse_range).
    """
    try:
        lo, hi = parse_range(text, e164=e164)
    except ValueError as exc:
        raise NetdevDataError(f"{what}: {exc}") from exc
    width = len(text.partition("-")[0].lstrip("+"))
    prefix = "+" if e164 else ""
    return ios_patterns(f"{prefix}{lo:0{width}d}", f"{prefix}{hi:0{width}d}")


def _block(line: str, children: Iterable[str]) -> list[str]:
    return [line, *(f" {c}" for c in children)]


def pri_timeslots(channels: int, *, e1: bool) -> str:
    """The timeslots of a PRI span with ``channels`` B-channels, its D-channel included.

    E1: the D-channel is timeslot 16, B-channels take 1-15 and 17-31 (30 at
    most); T1: the D-channel is 24, B-channels 1-23. ``pri-group timeslots
    1-10,16`` is an E1 span bought with 10 channels.
    """
    d_channel, most = (16, 30) if e1 else (24, 23)
    channels = max(1, min(channels, most))
    if channels == most:
        return f"1-{d_channel + (15 if e1 else 0)}"
    if channels < d_channel - 1:
        return f"1-{channels},{d_channel}" if channels > 1 else f"1,{d_channel}"
    return f"1-{channels + 1}"


def _pri(span: Mapping[str, Any], what: str) -> dict[str, str]:
    switchtype = span["switchtype"]
    e1 = switchtype in E1_SWITCHTYPES
    port = str(span["port"])
    return {
        "port": port,
        "controller": f"controller {'E1' if e1 else 'T1'} {port}",
        "timeslots": pri_timeslots(int(span.get("channels", 30 if e1 else 23)), e1=e1),
        "serial": f"Serial{port}:{15 if e1 else 23}",
        "voice_port": f"{port}:{15 if e1 else 23}",
        "switchtype": switchtype,
    }


def _emergency_dial_peers(
    numbers: Iterable[Any], spans: list[dict[str, str]], servers: list[Any]
) -> list[str]:
    """The site's emergency numbers from any port of the gateway (an FXS door phone, a call server):
    out over each PRI span first, then to the call servers (their trunks), in that order of preference."""
    numbers = [str(n) for n in ([numbers] if isinstance(numbers, str) else numbers)]
    lines: list[str] = []
    for n, number in enumerate(numbers):
        for i, span in enumerate(spans):
            lines += _block(
                f"dial-peer voice {600 + 10 * n + i} pots",
                [f"description emergency {number} via PRI {span['port']}", f"destination-pattern {number}",
                 f"port {span['voice_port']}", "forward-digits all", f"preference {i}"],
            )  # fmt: skip
        for j, server in enumerate(servers[:5]):
            lines += _block(
                f"dial-peer voice {800 + 10 * n + j} voip",
                [f"description emergency {number} to call server {server['name']}", f"destination-pattern {number}",
                 "session protocol sipv2", f"session target ipv4:{server['address']}:{server.get('sip_port') or 5060}",
                 "session transport udp", "voice-class codec 1", "dtmf-relay rtp-nte",
                 f"preference {len(spans) + j}", "no vad"],
            )  # fmt: skip
    return lines


def gateway_config(
    name: str,
    *,
    gateway: Mapping[str, Any],
    site: str,
    sites: Mapping[str, Any],
    call_servers: Iterable[Mapping[str, Any]],
    source_interface: str = "GigabitEthernet0/0/0",
    codecs: Iterable[str] = DEFAULT_CODECS,
    syslog_server: str | None = None,
) -> str:
    """The intended configuration of media gateway ``name`` (IOS text, one space per level).

    ``call_servers`` are dicts with ``name``, ``site``, ``address`` and
    optionally ``sip_port``; the site's own come first.
    """
    if site not in sites:
        raise NetdevDataError(f"gateway {name}: site {site!r} is not in voip_sites")
    site_data = sites[site] or {}
    servers = sorted(call_servers, key=lambda s: (s.get("site") != site, s["name"]))
    if not servers:
        raise NetdevDataError(f"gateway {name}: there is no call server (group call_servers)")
    spans = [
        _pri(span, f"{name}.voip_gateway.pri_spans[{i}]")
        for i, span in enumerate(gateway.get("pri_spans") or [])
    ]
    lines = _gateway_globals(name, site_data, spans, source_interface, codecs, syslog_server)
    lines += _pri_sections(gateway, spans)
    lines += _analog_ports(gateway)
    lines += _voip_dial_peers(name, _voip_patterns(name, gateway, site, site_data), servers)
    lines += _emergency_dial_peers(site_data.get("emergency") or [], spans, servers)
    lines += _pots_dial_peers(gateway, spans)
    return "\n".join(lines) + "\n"


def _gateway_globals(
    name: str,
    site_data: Mapping[str, Any],
    spans: list[dict[str, str]],
    source_interface: str,
    codecs: Iterable[str],
    syslog_server: str | None,
) -> list[str]:
    """Hostname, NTP, syslog, the ISDN switch type, the SIP voice service and the codec class."""
    lines: list[str] = [f"hostname {name}"]
    for server in site_data.get("ntp_servers") or []:
        lines.append(f"ntp server {server}")
    if syslog_server:
        lines.append(f"logging host {syslog_server}")
    if spans:
        lines.append(f"isdn switch-type {spans[0]['switchtype']}")
    lines += _block(
        "voice service voip",
        ["allow-connections sip to sip", "sip", f" bind control source-interface {source_interface}",
         f" bind media source-interface {source_interface}"],
    )  # fmt: skip
    lines += _block("voice class codec 1", [f"codec preference {i} {c}" for i, c in enumerate(codecs, 1)])
    return lines


def _pri_sections(gateway: Mapping[str, Any], spans: list[dict[str, str]]) -> list[str]:
    """Each PRI's controller, D-channel serial interface and voice-port."""
    lines: list[str] = []
    for span in spans:
        lines += _block(
            span["controller"],
            [f"clock source {_clock(gateway, span)}", f"pri-group timeslots {span['timeslots']}"],
        )
        lines += _block(
            f"interface {span['serial']}",
            [
                "no ip address",
                f"isdn switch-type {span['switchtype']}",
                "isdn incoming-voice voice",
                "no cdp enable",
            ],
        )
        lines += _block(f"voice-port {span['voice_port']}", [f"description PRI {span['port']}"])
    return lines


def _analog_ports(gateway: Mapping[str, Any]) -> list[str]:
    """The voice-ports of the FXS ports (station id of their extension) and FXO lines (PLAR)."""
    lines: list[str] = []
    for port in gateway.get("fxs_ports") or []:
        label = port.get("description") or f"extension {port['extension']}"
        lines += _block(
            f"voice-port {port['port']}",
            [f"description {label}", f"station-id name {label}", f"station-id number {port['extension']}", "caller-id enable"],
        )  # fmt: skip
    for port in gateway.get("fxo_ports") or []:
        label = f"FXO {port['number']}" if port.get("number") else f"FXO {port['port']}"
        lines += _block(
            f"voice-port {port['port']}", [f"description {label}", f"connection plar opx {port['route_to']}"]
        )
    return lines


def _voip_patterns(
    name: str, gateway: Mapping[str, Any], site: str, site_data: Mapping[str, Any]
) -> list[str]:
    """The number patterns routed to the call servers: the site's extensions, the PRIs' DID ranges."""
    patterns = range_patterns(
        site_data.get("extensions", ""), e164=False, what=f"voip_sites.{site}.extensions"
    )
    for i, span in enumerate(gateway.get("pri_spans") or []):
        for did_range in span.get("did_ranges") or []:
            patterns += range_patterns(
                did_range, e164=True, what=f"{name}.voip_gateway.pri_spans[{i}].did_ranges"
            )
    return patterns


def _voip_dial_peers(name: str, patterns: list[str], servers: list[Mapping[str, Any]]) -> list[str]:
    """Dial-peers 100-199: every number pattern to every call server, the site's own first."""
    lines: list[str] = []
    tag = 100
    for preference, server in enumerate(servers):
        for pattern in patterns:
            if tag > 199:
                raise NetdevDataError(
                    f"gateway {name}: more than 100 VoIP dial-peers (patterns x call servers)"
                )
            lines += _block(
                f"dial-peer voice {tag} voip",
                [f"description to call server {server['name']}", f"destination-pattern {pattern}",
                 "session protocol sipv2", f"session target ipv4:{server['address']}:{server.get('sip_port') or 5060}",
                 "session transport udp", "voice-class codec 1", "dtmf-relay rtp-nte", f"preference {preference}",
                 "no vad"],
            )  # fmt: skip
            tag += 1
    return lines


def _pots_dial_peers(gateway: Mapping[str, Any], spans: list[dict[str, str]]) -> list[str]:
    """Dial-peers 200-599: PSTN out and in over each PRI, the FXS extensions, the FXO lines in."""
    lines: list[str] = []
    for i, span in enumerate(spans):
        lines += _block(
            f"dial-peer voice {200 + i} pots",
            [f"description PSTN out via PRI {span['port']}", "destination-pattern +T", f"port {span['voice_port']}",
             "forward-digits all"],
        )  # fmt: skip
        lines += _block(
            f"dial-peer voice {300 + i} pots",
            [f"description PSTN in via PRI {span['port']}", "incoming called-number .", "direct-inward-dial",
             f"port {span['voice_port']}"],
        )  # fmt: skip
    for i, port in enumerate(gateway.get("fxs_ports") or []):
        label = port.get("description") or f"extension {port['extension']}"
        lines += _block(
            f"dial-peer voice {400 + i} pots",
            [f"description FXS {port['port']} {label}", f"destination-pattern {port['extension']}", f"port {port['port']}"],
        )  # fmt: skip
    for i, port in enumerate(gateway.get("fxo_ports") or []):
        lines += _block(
            f"dial-peer voice {500 + i} pots",
            [f"description FXO {port['port']} in", "incoming called-number .", f"port {port['port']}"],
        )
    return lines


def _clock(gateway: Mapping[str, Any], span: Mapping[str, str]) -> str:
    for item in gateway.get("pri_spans") or []:
        if str(item["port"]) == span["port"]:
            return item.get("clock_source") or "line"
    return "line"


def switch_config(
    name: str,
    *,
    switch: Mapping[str, Any],
    site: str,
    sites: Mapping[str, Any],
    syslog_server: str | None = None,
) -> str:
    """The intended configuration of access switch ``name``: voice VLAN, phone ports, QoS trust for voice."""
    if site not in sites:
        raise NetdevDataError(f"switch {name}: site {site!r} is not in voip_sites")
    site_data = sites[site] or {}
    voice_vlan = switch.get("voice_vlan") or site_data.get("voice_vlan")
    if not voice_vlan:
        raise NetdevDataError(
            f"switch {name}: no voice VLAN (voip_switch.voice_vlan or voip_sites.{site}.voice_vlan)"
        )
    data_vlan = switch.get("data_vlan")
    lines = [f"hostname {name}"]
    for server in site_data.get("ntp_servers") or []:
        lines.append(f"ntp server {server}")
    if syslog_server:
        lines.append(f"logging host {syslog_server}")
    lines += _block(f"vlan {voice_vlan}", [f"name voice-{site}"])
    if data_vlan:
        lines += _block(f"vlan {data_vlan}", [f"name data-{site}"])
    lines.append("mls qos")
    for port in switch.get("ports") or []:
        children = [f"description {port['description']}"] if port.get("description") else []
        phone = bool(port.get("phone_mac") or port.get("poe"))
        if phone:
            if data_vlan:
                children.append(f"switchport access vlan {data_vlan}")
            children += ["switchport mode access", f"switchport voice vlan {voice_vlan}", "mls qos trust dscp",
                         "spanning-tree portfast"]  # fmt: skip
        if port.get("poe") is False:
            children.append("power inline never")
        lines += _block(f"interface {_interface(port['name'])}", children)
    return "\n".join(lines) + "\n"


_SHORT = {"gi": "GigabitEthernet", "te": "TenGigabitEthernet", "fa": "FastEthernet"}


def _interface(name: str) -> str:
    """``Gi1/0/1`` as the device shows it (``GigabitEthernet1/0/1``)."""
    for short, full in _SHORT.items():
        if name.lower().startswith(short) and not name.lower().startswith(full.lower()):
            return full + name[len(short) :]
    return name
