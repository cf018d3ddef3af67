"""sshd's effective settings (sshd -T) against the hardening: what another file or a Match block re-opens is found."""

from __future__ import annotations

import pytest

from voipctl.derive.sshd import OUTSIDE, REQUIRED, effective, probe_addresses, problems

GOOD = "\n".join([*(f"{k} {v}" for k, v in REQUIRED.items()), "allowgroups sudo", "port 22"])


def report(text: str, spec: str = "user=root,host=probe,addr=10.0.0.1") -> dict:
    return {"spec": spec, "stdout": text}


def test_the_hardened_settings_pass():
    assert problems([report(GOOD)], ["sudo"]) == []


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("permitrootlogin without-password", "permitrootlogin"),  # an earlier drop-in wins
        ("allowtcpforwarding yes", "allowtcpforwarding"),  # a Match block for this address
        ("permittunnel yes", "permittunnel"),
        ("disableforwarding no", "disableforwarding"),
        ("allowgroups users", "allowgroups"),  # AllowGroups lines add up
        ("allowusers deploy", "allowusers"),
    ],
)
def test_what_another_file_re_opens_is_found(line, found):
    key = line.split()[0]
    text = "\n".join(
        x for x in GOOD.splitlines() if key in ("allowgroups", "allowusers") or not x.startswith(key + " ")
    )
    assert any(found in p for p in problems([report(text + "\n" + line)], ["sudo"]))


def test_a_setting_sshd_does_not_report_is_a_problem():
    text = "\n".join(x for x in GOOD.splitlines() if not x.startswith("disableforwarding"))
    assert problems([report(text)], ["sudo"]) == [
        "user=root,host=probe,addr=10.0.0.1: disableforwarding is ['(not reported)'], must be 'yes'"
    ]


def test_match_blocks_elsewhere_are_problems():
    found = problems([report(GOOD)], ["sudo"], "/etc/ssh/sshd_config:Match Address 10.0.0.0/8\n\n")
    assert found == [
        "a Match block outside the estate's drop-in: /etc/ssh/sshd_config:Match Address 10.0.0.0/8"
    ]


def test_probes_come_from_each_management_network_and_from_outside():
    assert probe_addresses(["10.231.0.0/24", "10.231.0.0/24", "192.0.2.8/29"]) == [
        "10.231.0.1",
        "192.0.2.9",
        OUTSIDE,
    ]
    assert probe_addresses([]) == [OUTSIDE]
    with pytest.raises(ValueError):
        probe_addresses(["not-a-network"])


def test_effective_keeps_every_value_of_a_repeated_keyword():
    assert effective("AllowGroups sudo\nallowgroups users\n\n") == {"allowgroups": ["sudo", "users"]}
