"""Known answers of every secret derivation: a silent change of a recipe fails here, not in the field.

Each recipe re-keys something when it changes: sip_password every phone and
call-server account, purpose_key every phone's provisioning login, the
device HTTP password and its salt every htpasswd entry, HA1 every
subscriber row. The expected values are literals computed once from the
recipes as they were when this file was written (commit 13f8f9d); never
recompute them to make a test pass: a different answer means a re-key.
"""

from __future__ import annotations

import base64

import pytest

import ansible_collections.voip.estate.plugins.module_utils.voip_phone_files as phone_files
from ansible_collections.voip.estate.plugins.filter.voip_release import voip_sip_account
from voipctl.core.passwords import SecretError, purpose_key, sip_password, user_sip_password
from voipctl.derive import secrets
from voipctl.derive.kamailio import call_server_data
from voipctl.derive.phones import phone_data

MASTER = "vector-master-secret-0123456789"
PHONE_KEY = "iFGVViGlQtCtRgWMOrJFZY6j3ZmJFQ00U7tjRUg-xNU"  # purpose_key(MASTER, "phone-http")
ZOE = "zoë.müller"  # a unicode user id (the recipe takes its UTF-8 bytes)


@pytest.mark.parametrize(
    ("master", "user_id", "rotation", "password"),
    [
        (MASTER, "jdevries", 0, "hdwskolnevtozsmkwva3"),
        (MASTER, "jdevries", 1, "qqjc3azbjx3s7746mxl5"),
        (MASTER, "jdevries", 7, "4fkkxa2iesne5iyfd7aa"),
        (MASTER, ZOE, 0, "xmdrbzmgtorb6bgkyzhv"),
        (MASTER, ZOE, 3, "6hhmduxym2khske2qhno"),
        (MASTER, "李.伟", 2, "b252iybpofduucnxyye6"),
        ("0123456789abcdef", "a", 0, "i3b6u4fkfmlj4wxti2uc"),  # the shortest master secret allowed
    ],
)
def test_sip_password(master, user_id, rotation, password):
    assert sip_password(master, user_id, rotation) == password


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ({"id": "jdevries"}, "hdwskolnevtozsmkwva3"),  # no password_rotation: generation 0
        ({"id": "jdevries", "password_rotation": 0}, "hdwskolnevtozsmkwva3"),
        ({"id": "jdevries", "password_rotation": 7}, "4fkkxa2iesne5iyfd7aa"),
        ({"id": ZOE, "password_rotation": 3}, "6hhmduxym2khske2qhno"),
    ],
)
def test_user_sip_password(user, password):
    assert user_sip_password(MASTER, user) == password


@pytest.mark.parametrize(
    ("purpose", "key"),
    [
        ("phone-http", PHONE_KEY),
        ("other", "iVCsPP3DMpgWEL6JGspKRJuYtUZV5PBp7pQ4ropB9VE"),
        ("pürpose", "WN9hBQfAyxeiagC9_ce9RZ0z5a83uiOHmhhkGAp3O_E"),
    ],
)
def test_purpose_key(purpose, key):
    assert purpose_key(MASTER, purpose) == key


@pytest.mark.parametrize(
    ("mac", "rotation", "password", "ssha", "salt"),
    [
        ("805ec0123456", 0, "k_oG1HVxmdlXP54QjFHJy7CA", "r862KLx148D66OQy7gg8z6MdRehPL3Zf0Ce+YQ==", "4f2f765fd027be61"),
        ("805ec0123456", 1, "cbdM79kt9OE9YyiCs3BXjRvD", "vdQhdiesty+Va8SIvQNp10Kb+q1VVeZRYFwwSQ==", "5555e651605c3049"),
        ("805ec0123456", 12, "M5p-fUVPLG9pKHVqNzArksHo", "XRvNV92idMvgI4GeOyayP0HU+QCEGZe+xIBA6g==", "841997bec48040ea"),
        ("001565abcdef", 0, "1cEP78zkn8kMu4CCPmTOoBgn", "WJJgKuqPNnWE2lb2GKrlOyEObfqUQj3D5AHkkA==", "94423dc3e401e490"),
    ],
)  # fmt: skip
def test_device_http_password_and_salt(mac, rotation, password, ssha, salt):
    """collections/ansible_collections/voip/estate/plugins/module_utils/voip_phone_files.py: hmac 'phone-http:' (password) and 'phone-http-salt:' (salt)."""
    assert phone_files.device_http_password(PHONE_KEY, mac, rotation) == password
    line = phone_files.htpasswd_line(PHONE_KEY, mac, rotation)
    assert line == f"{mac}:{{SSHA}}{ssha}\n"
    assert base64.b64decode(ssha)[-8:].hex() == salt


@pytest.mark.parametrize(
    ("args", "digest"),
    [
        (("2001", "ams.test", "pw"), "745d4a87d32732b0850511bed5904b8d"),
        (("2001", "sip.ams.example", "6hhmduxym2khske2qhno"), "da88ed3035a4310420327785330cb270"),
    ],
)
def test_ha1(args, digest):
    assert secrets.ha1(*args) == digest


@pytest.mark.parametrize(
    ("args", "digest"),
    [
        (("2001", "ams.test", "ams.test", "pw"), "a827fbf667d18cdf337ad92df3df5ea7"),
        (("2001", "sip.ams.example", "sip.ams.example", "6hhmduxym2khske2qhno"), "0c33abbdceec5be7a159fb4afbabb57a"),
    ],
)  # fmt: skip
def test_ha1b(args, digest):
    assert secrets.ha1b(*args) == digest


def test_basic_digest():
    assert (
        secrets.basic_digest("rec", "s3cret")
        == "226ce1987c613eba4dde2fbba423e1d29abbbc380ab21390c6cbebee5b5ac095"
    )


# -- the derivations as the hosts get them: subscriber rows and phone accounts ----

SITES = {
    "ams": {"extensions": "2000-2999", "dids": "+31201234000-+31201234999", "emergency": ["112"],
            "timezone": "Europe/Amsterdam"},
}  # fmt: skip
USERS = [
    {"id": ZOE, "name": "Zoë", "site": "ams", "extension": 2001, "class_of_service": "internal",
     "password_rotation": 3, "devices": [{"mac": "80:5e:c0:12:34:56", "model": "yealink-t54w", "password_rotation": 1}]},
    {"id": "jdevries", "name": "Jan", "site": "ams", "extension": 2002, "class_of_service": "internal"},
]  # fmt: skip


def test_call_server_subscribers_keep_their_ha1():
    data = call_server_data(
        "cs1", site="ams", address="10.0.0.11", call_server={"sip_domain": "sip.ams.example"}, sites=SITES,
        users=USERS, hunt_groups=[], trunks=[], peers=[], master_secret=MASTER, today="2026-11-22",
        trunk_secrets={},
    )  # fmt: skip
    assert data["subscribers"] == [
        {"username": "2001", "domain": "sip.ams.example",
         "ha1": "da88ed3035a4310420327785330cb270", "ha1b": "0c33abbdceec5be7a159fb4afbabb57a"},
        {"username": "2002", "domain": "sip.ams.example",
         "ha1": "219b560092bffddf44630f47ebc91724", "ha1b": "ac88dda6e62a01d72caa42c570f03c9c"},
    ]  # fmt: skip


def test_a_phone_keeps_its_sip_password_and_login_generation():
    entries = phone_data(
        sites=SITES, users=USERS, call_servers=[{"name": "cs1", "site": "ams", "address": "10.0.0.11",
                                                 "sip_domain": "sip.ams.example"}],
        phone_models={"yealink-t54w": {"vendor": "yealink", "family": "t5x", "line_keys": 3, "firmware": "1"}},
        release={"components": {}}, master_secret=MASTER, provisioning_url="http://prov.test/",
        syslog_server=None, today="2026-11-22",
    )  # fmt: skip
    assert [(e["user"], e["account"]["password"], e["login_rotation"]) for e in entries] == [
        (ZOE, "6hhmduxym2khske2qhno", 1)
    ]


def test_the_test_call_filter_gives_the_same_sip_password():
    assert voip_sip_account(ZOE, USERS, MASTER) == {"user": "2001", "password": "6hhmduxym2khske2qhno"}


@pytest.mark.parametrize("rotation", [None, -1, True, 1.0, "2"])
def test_user_sip_password_refuses_a_rotation_that_is_no_whole_number(rotation):
    with pytest.raises(
        SecretError, match=r"user 'jdevries': password_rotation .* is not a whole number, 0 or more"
    ):
        user_sip_password(MASTER, {"id": "jdevries", "password_rotation": rotation})


@pytest.mark.parametrize("master", ["", "fifteen-chars!!", None])
def test_a_short_or_missing_master_secret_is_refused_without_echoing_it(master):
    for derive in (lambda: sip_password(master, "a"), lambda: purpose_key(master, "phone-http"),
                   lambda: user_sip_password(master, {"id": "a"})):  # fmt: skip
        with pytest.raises(SecretError) as exc:
            derive()
        assert "missing or shorter than 16 characters" in str(exc.value)
        assert not master or master not in str(exc.value)
