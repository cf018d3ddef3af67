"""sshd's effective settings against the estate's hardening.

The role installs one drop-in, but sshd takes the FIRST value of most
keywords across its main file and every drop-in (read in lexical order),
``AllowGroups`` lines add up, and a ``Match`` block anywhere re-opens what
the drop-in closes for the connections it matches. So the role asks sshd
itself (``sshd -T -C user=...,addr=...``) what it would apply to root and to
the administrators, from each management network and from outside, and
checks the answer here.
"""

from __future__ import annotations

import ipaddress

# keyword -> the only value sshd -T may report for it.
REQUIRED = {
    "permitrootlogin": "no",
    "passwordauthentication": "no",
    "kbdinteractiveauthentication": "no",
    "permitemptypasswords": "no",
    "permituserenvironment": "no",
    "disableforwarding": "yes",
    "allowtcpforwarding": "no",
    "allowstreamlocalforwarding": "no",
    "allowagentforwarding": "no",
    "x11forwarding": "no",
    "gatewayports": "no",
    "permittunnel": "no",
}
# An address outside every estate network (TEST-NET-3), probed too.
OUTSIDE = "203.0.113.1"


def probe_addresses(networks: list[str]) -> list[str]:
    """One address in each management network, and one outside them all."""
    found = []
    for net in networks or []:
        network = ipaddress.ip_network(str(net), strict=False)
        host = next(network.hosts(), network.network_address)
        found.append(str(host))
    return [*dict.fromkeys(found), OUTSIDE]


def effective(text: str) -> dict[str, list[str]]:
    """``sshd -T`` output as keyword -> every value it reports (lower-case keywords)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            found.setdefault(key.lower(), []).append(value.strip())
    return found


def problems(reports: list[dict], allow_groups: list[str], match_lines: str = "") -> list[str]:
    """What in sshd's effective settings breaks the hardening.

    ``reports``: per probe ``{"spec": "user=root,host=probe,addr=10.0.0.1", "stdout": <sshd -T output>}``;
    ``match_lines``: active ``Match`` lines found outside the estate's drop-in.
    """
    found = []
    want_groups = sorted(str(g) for g in allow_groups)
    for report in reports:
        spec, settings = report["spec"], effective(report.get("stdout", ""))
        for key, value in REQUIRED.items():
            if settings.get(key, [None]) != [value]:
                found.append(f"{spec}: {key} is {settings.get(key, ['(not reported)'])}, must be {value!r}")
        groups = sorted(g for values in settings.get("allowgroups", []) for g in values.split())
        if groups != want_groups:
            found.append(f"{spec}: allowgroups is {groups}, must be {want_groups}")
        if settings.get("allowusers"):
            found.append(f"{spec}: allowusers {settings['allowusers']} is set outside the estate's settings")
    for line in (match_lines or "").splitlines():
        if line.strip():
            found.append(f"a Match block outside the estate's drop-in: {line.strip()}")
    return found
