"""Network devices (#23): masked secrets, one show command per entry.

The netdev modules mask every secret an IOS configuration or show output can
carry, in any case and spacing, in their commands, diffs and messages.
"""

from __future__ import annotations

import pytest

from module_utils import voip_netdev
from module_utils.voip_netdev import mask, refused_show_commands, show_command_problem

# -- the mask ----------------------------------------------------------------------------

MASKED = [
    # (line, what stays)
    ("username admin privilege 15 secret 9 $9$abc", "username admin privilege 15 secret 9 "),
    ("username admin secret 0 plain", "username admin secret 0 "),
    ("username bob password 7 0822455D0A16", "username bob password 7 "),
    ("USERNAME Bob PASSWORD Plain", "USERNAME Bob PASSWORD "),
    ("username  admin   privilege 15   secret  5   $1$x", "username  admin   privilege 15   secret  5   "),
    ("username admin\tsecret\t9\t$9$tab", "username admin\tsecret\t9\t"),
    ("enable secret s3cret", "enable secret "),
    ("enable secret level 15 5 $1$hash", "enable secret "),
    ("enable password 7 0822455D0A16", "enable password 7 "),
    ("Enable Secret 8 $8$x", "Enable Secret 8 "),
    (" key-string 7 0822455D0A16", " key-string 7 "),
    (" key-string plainkey", " key-string "),
    ("  KEY-STRING   0   plainkey", "  KEY-STRING   0   "),
    ("standby 1 authentication md5 key-string 7 0822455D0A16", "standby 1 authentication md5 key-string 7 "),
    (
        "snmp-server user mon MONGRP v3 auth sha authpass1 priv aes 128 privpass1",
        "snmp-server user mon MONGRP v3 auth sha ",
    ),
    (
        "snmp-server user mon G v3 auth md5 authpass1 priv des privpass1",
        "snmp-server user mon G v3 auth md5 ",
    ),
    (
        "snmp-server user mon G v3 encrypted auth sha 0A1B priv 3des 0C2D",
        "snmp-server user mon G v3 encrypted auth sha ",
    ),
    ("SNMP-SERVER USER mon G V3 AUTH SHA256 authpass1", "SNMP-SERVER USER mon G V3 AUTH SHA256 "),
    ("snmp-server user mon G v3 priv aes 256 privpass1", "snmp-server user mon G v3 priv aes 256 "),
    ("snmp-server community public RO 10", "snmp-server community "),
    ("snmp-server community 7 hidden RW", "snmp-server community 7 "),
    ("snmp-server host 192.0.2.9 version 2c commstring", "snmp-server host 192.0.2.9 version 2c "),
    (
        "snmp-server host 192.0.2.9 informs version 2c commstring udp-port 162",
        "snmp-server host 192.0.2.9 informs version 2c ",
    ),
    ("snmp-server host 192.0.2.9 commstring", "snmp-server host 192.0.2.9 "),
    ("tacacs-server key 7 0822455D0A16", "tacacs-server key 7 "),
    ("tacacs-server host 192.0.2.5 key tacsecret", "tacacs-server host 192.0.2.5 key "),
    (" key 7 0822455D0A16", " key 7 "),
    (
        "radius-server host 192.0.2.6 auth-port 1812 acct-port 1813 key radsecret",
        "radius-server host 192.0.2.6 auth-port 1812 acct-port 1813 key ",
    ),
    ("crypto isakmp key 6 isakmpsecret address 192.0.2.7", "crypto isakmp key 6 "),
    ("crypto isakmp key isakmpsecret address 0.0.0.0 0.0.0.0", "crypto isakmp key "),
    (" pre-shared-key local 0 ikev2secret", " pre-shared-key "),
    (" pre-shared-key address 192.0.2.8 key kringsecret", " pre-shared-key "),
    (" ppp chap password 7 0822455D0A16", " ppp chap password 7 "),
    (" ppp chap password chapsecret", " ppp chap password "),
    (" wpa-psk ascii 0 wifisecret", " wpa-psk ascii 0 "),
    (" wpa-psk hex 7 0822455D0A16", " wpa-psk hex 7 "),
    (
        " credentials username gw1 password 0 sipsecret realm lab.example",
        " credentials username gw1 password 0 ",
    ),
    (
        " credentials number 2900 username gw1 password 7 0822455D0A16 realm r",
        " credentials number 2900 username gw1 password 7 ",
    ),
    (
        " authentication username gw1 password 0 sipsecret realm lab.example",
        " authentication username gw1 password 0 ",
    ),
    (" authentication username gw1 password sipsecret", " authentication username gw1 password "),
    ("ntp authentication-key 1 md5 ntpsecret 7", "ntp authentication-key 1 "),
    (" ip ospf message-digest-key 1 md5 7 0822455D0A16", " ip ospf message-digest-key 1 "),
    (" ip ospf authentication-key ospfsecret", " ip ospf authentication-key "),
    (" standby 1 authentication text hsrpsecret", " standby 1 authentication text "),
    (" standby 10 authentication hsrpsecret", " standby 10 authentication "),
    (" vrrp 1 authentication text vrrpsecret", " vrrp 1 authentication text "),
    (" ip nhrp authentication nhrpsecret", " ip nhrp authentication "),
    (" password 7 0822455D0A16", " password 7 "),
    (" password 7", " password "),
    ('username x secret 0 "with spaces inside"', "username x secret 0 "),
]


@pytest.mark.parametrize(("line", "kept"), MASKED)
def test_every_secret_and_the_rest_of_its_line_is_masked(line, kept):
    masked = mask(line)
    assert masked == kept + voip_netdev.MASK
    for word in line[len(kept) :].split():
        if len(word) > 3:
            assert word not in masked


@pytest.mark.parametrize(
    "line",
    [
        "key chain VOICE-KC",
        " key 1",  # a key chain's key number: masked (harmless) - but never the chain's name
        "service password-encryption",
        "snmp-server host 192.0.2.9 version 3 priv monuser",
        "snmp-server group MONGRP v3 priv",
        "dial-peer voice 400 pots",
        " destination-pattern 2990",
        " ip ospf authentication message-digest",
        "standby 1 authentication md5 key-chain HSRP-KC",
        "username admin privilege 15",
    ],
)
def test_lines_without_a_secret_keep_what_names_them(line):
    masked = mask(line)
    if line == " key 1":
        assert masked == " key " + voip_netdev.MASK
    else:
        assert masked == line


def test_several_lines_are_masked_line_by_line():
    text = "enable secret 9 $9$a\r\nhostname gw1\nsnmp-server community pub RO\n"
    assert mask(text) == "enable secret 9 ********\r\nhostname gw1\nsnmp-server community ********\n"


# -- one show command per entry ------------------------------------------------------------

ATTACKS = {
    "LF": "show version\nconfigure terminal\nhostname pwned\nend",
    "CR": "show version\rconfigure terminal\rhostname pwned\rend",
    "CRLF": "show version\r\nconfigure terminal\r\nhostname pwned\r\nend",
    "Ctrl-Z": "show version\x1aconfigure terminal\x1ahostname pwned\x1a",
    "Ctrl-U": "show version\x15configure terminal",
    "backspace": "show version" + "\x08" * 12 + "configure terminal",
    "DEL": "show version" + "\x7f" * 12 + "configure terminal",
    "NUL": "show version\x00configure terminal",
    "ESC": "show version\x1b[Aconfigure terminal",
    "Ctrl-C": "show version\x03configure terminal",
    "tab": "show ver\tconfigure",
    "NEL U+0085": "show version\x85configure terminal",
    "LINE SEPARATOR U+2028": "show version\u2028configure terminal",
    "PARAGRAPH SEPARATOR U+2029": "show version\u2029configure terminal",
    "vertical tab": "show version\x0bconfigure terminal",
    "form feed": "show version\x0cconfigure terminal",
    "non-ASCII": "show versión",
    "semicolon": "show version ; configure terminal",
    "help": "show ?",
    "redirect": "show running-config | redirect tftp://192.0.2.66/gw1.cfg",
    "tee": "show running-config | tee flash:copy.cfg",
    "append": "show running-config | append flash:copy.cfg",
    "greater-than": "show running-config > flash:copy.cfg",
    "empty pipe": "show running-config |",
    "not show": "configure terminal",
    "abbreviated": "sh run",
    "bare show": "show",
    "leading spaces then not show": "  write memory",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_more_than_one_show_command_in_an_entry_is_refused(name):
    assert show_command_problem(ATTACKS[name]) is not None


@pytest.mark.parametrize(
    "command",
    [
        "show version",
        "show isdn status",
        "show voice port summary",
        "  show dial-peer voice summary  ",
        "show running-config | section dial-peer",
        "show running-config | include hostname",
        "show running-config | i hostname",
        "show running-config | exclude ^!",
        "show running-config | begin voice-port",
        "show running-config | count dial-peer",
    ],
)
def test_one_show_command_with_an_output_filter_is_accepted(command):
    assert show_command_problem(command) is None


def test_the_refusal_names_the_entry_and_shows_its_control_characters():
    refused = refused_show_commands(["show version", ATTACKS["LF"], "show clock"])
    assert len(refused) == 1
    assert refused[0].startswith("commands[1] 'show version\\nconfigure terminal")
    assert "a line feed (U+000A)" in refused[0]
