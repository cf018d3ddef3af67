"""Per-device provisioning logins (issue #23): rotation, retirement grace, and the model fields behind them.

The derivation keeps its known answers (nothing re-keys silently); raising
one device's ``password_rotation`` changes exactly that phone's login and
file; a MAC gone from the model keeps its login for the grace the model
sets, counted from a date the run provides; the model refuses hostile
values of both fields.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
from pathlib import Path

import pytest

import ansible_collections.voip.estate.plugins.module_utils.voip_phone_files as phone_files
import ansible_collections.voip.estate.plugins.module_utils.voip_phone_templates as templates
from voipctl.core import passwords
from voipctl.derive.phones import PhoneDataError, phone_data
from voipctl.model.checks import validate

# The modules import ansible_collections.voip.estate.plugins.module_utils as Ansible ships them (tests/unit/conftest.py).

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
SECRET = "known-answer-secret-0123456789"
MASTER = "known-answer-master-secret-0123"
MAC = "805ec0123456"


# -- known answers: the derivation of main before the counter existed -----------


def test_device_password_and_htpasswd_line_keep_their_known_answers():
    assert phone_files.device_http_password(SECRET, MAC) == "0yhoAKa01lQX41_anHT6xQSS"
    assert phone_files.device_http_password(SECRET, MAC, 0) == "0yhoAKa01lQX41_anHT6xQSS"
    assert (
        phone_files.htpasswd_line(SECRET, MAC)
        == "805ec0123456:{SSHA}nlMpM0SufxrvjmFHazUgZXYthiiLJnhKJmL/og==\n"
    )
    assert phone_files.device_http_password(SECRET, MAC, 1) == "68KdQdgn_gov3UGiwuZIH6qj"


def test_sip_passwords_and_the_purpose_key_keep_their_known_answers():
    assert passwords.sip_password(MASTER, "jdevries") == "bderyb7r3d2c5avqtcza"
    assert passwords.sip_password(MASTER, "jdevries", 2) == "jd3yjwjeiykpce6klquw"
    assert passwords.purpose_key(MASTER, "phone-http") == "4B8-SmZx-uicwFy3tHU2JXMNSXJy25tt9DAzU6fmJk0"


def test_each_generation_is_a_different_password_of_one_mac_only():
    generations = [phone_files.device_http_password(SECRET, MAC, n) for n in range(5)]
    assert len(set(generations)) == 5
    assert phone_files.device_http_password(SECRET, "805ec0123457", 1) not in generations
    for n in range(3):
        line = phone_files.htpasswd_line(SECRET, MAC, n)
        raw = base64.b64decode(line.strip().split(":{SSHA}")[1])
        assert hashlib.sha1(generations[n].encode() + raw[20:]).digest() == raw[:20]


@pytest.mark.parametrize("rotation", [-1, True, "1", 1.0, None])
def test_a_generation_that_is_not_a_whole_number_is_refused(rotation):
    with pytest.raises(phone_files.PhoneFilesError, match="login_rotation"):
        phone_files.device_http_password(SECRET, MAC, rotation)


# -- derive: the counter reaches its phone's entry and nothing else ---------------

SITES = {"ams": {"timezone": "Europe/Amsterdam", "ntp_servers": ["10.0.0.31"], "voice_vlan": 110}}
MODELS = {"yealink-t54w": {"vendor": "yealink", "family": "t5x", "line_keys": 3, "firmware": "96.86.0.100"},
          "snom-d785": {"vendor": "snom", "family": "d7xx", "line_keys": 4, "firmware": "10.1.159.12"}}  # fmt: skip
SERVERS = [{"name": "cs1", "site": "ams", "address": "10.0.0.11", "sip_domain": "ams.test"}]
USERS = [
    {"id": "a", "name": "Ann", "site": "ams", "extension": 2001, "class_of_service": "national",
     "devices": [{"mac": "80:5e:c0:00:00:01", "model": "yealink-t54w"},
                 {"mac": "00:04:13:00:00:01", "model": "snom-d785"}]},
    {"id": "b", "name": "Bob", "site": "ams", "extension": 2002, "class_of_service": "national",
     "password_rotation": 1, "devices": [{"mac": "80:5e:c0:00:00:02", "model": "yealink-t54w"}]},
]  # fmt: skip


def entries(users):
    return phone_data(sites=SITES, users=users, phone_models=MODELS, call_servers=SERVERS, release={},
                      master_secret=MASTER, provisioning_url="https://prov.test", today="2026-12-04")  # fmt: skip


def test_rotating_one_device_changes_its_entry_only_and_no_sip_password():
    before = entries(USERS)
    users = copy.deepcopy(USERS)
    users[0]["devices"][1]["password_rotation"] = 3
    after = entries(users)
    assert [e["login_rotation"] for e in before] == [0, 0, 0]
    differ = [
        (b["mac"], set(k for k in b if b[k] != a[k])) for b, a in zip(before, after, strict=True) if b != a
    ]
    assert differ == [("000413000001", {"login_rotation"})]
    assert [e["account"]["password"] for e in before] == [e["account"]["password"] for e in after]


@pytest.mark.parametrize("rotation", [-1, True, "2", 1.5])
def test_derive_refuses_a_bad_counter_naming_the_device(rotation):
    users = copy.deepcopy(USERS)
    users[1]["devices"][0]["password_rotation"] = rotation
    with pytest.raises(PhoneDataError, match=r"user b devices\[0\]\.password_rotation"):
        entries(users)


# -- the module: one htpasswd entry and one file --------------------------------

PHONE = {
    "vendor": "yealink", "model": "yealink-t54w", "site": "ams", "extension": "2001",
    "account": {"username": "2001", "auth_name": "2001", "password": "sip-password-aaaaaaa", "domain": "ams.test",
                "registrar": "10.0.0.11", "port": 5060},
}  # fmt: skip
PHONES = [{**copy.deepcopy(PHONE), "mac": f"805ec000000{i}", "user": f"u{i}"} for i in range(4)]


@pytest.fixture
def prov(tmp_path):
    dest = tmp_path / "prov"
    dest.mkdir()
    auth = tmp_path / "provisioning.htpasswd"

    def sync(phones, **kw):
        kw.setdefault("today", "2026-12-04")
        return phone_files.sync(str(dest), copy.deepcopy(phones), http_auth_file=str(auth), http_auth_secret=SECRET,
                                **kw)  # fmt: skip

    def state():
        lines = dict(line.split(":", 1) for line in auth.read_text().splitlines() if not line.startswith("#"))
        return lines, {p.name: p.read_text() for p in dest.iterdir()}

    sync.state, sync.dest = state, dest
    return sync


def test_rotation_changes_one_htpasswd_entry_and_one_file(prov):
    prov(PHONES)
    logins, files = prov.state()
    phones = copy.deepcopy(PHONES)
    phones[2]["login_rotation"] = 1
    changed, counts, changes, _ = prov(phones)
    logins_after, files_after = prov.state()
    assert changed and counts["written"] == 1 and changes["written"][0]["keys"] == ["marker"]
    assert {m for m in logins if logins[m] != logins_after[m]} == {"805ec0000002"}
    assert {n for n in files if files[n] != files_after[n]} == {"805ec0000002.cfg"}
    assert "login=1" in files_after["805ec0000002.cfg"]
    assert not prov(phones)[0], "a second run changes nothing"


def test_a_bad_generation_fails_before_anything_is_written(prov):
    phones = copy.deepcopy(PHONES)
    phones[1]["login_rotation"] = -1
    with pytest.raises(phone_files.PhoneFilesError, match=r"phones\[1\].*login_rotation"):
        prov(phones)
    assert not list(prov.dest.iterdir())


def test_a_retired_phone_keeps_its_rotated_login_generation(prov):
    phones = copy.deepcopy(PHONES)
    phones[3]["login_rotation"] = 2
    prov(phones)
    line = prov.state()[0]["805ec0000003"]
    prov(phones[:3], retired_grace_days=30)
    logins, files = prov.state()
    assert logins["805ec0000003"] == line, "a leaked generation-0 login must not come back"
    marker = templates.read_marker(files["805ec0000003.cfg"])
    assert (marker["user"], marker["login"], marker["retired"]) == ("unassigned", "2", "2026-12-04")


# -- the grace: both sides of the boundary ------------------------------------------

DAY = datetime.date(2026, 12, 4)


@pytest.mark.parametrize(
    ("grace", "days_later", "expired"),
    [
        (30, 0, False),
        (30, 29, False),
        (30, 30, True),
        (30, 400, True),
        (0, 0, True),
        (1, 0, False),
        (1, 1, True),
    ],
)
def test_login_expired_on_both_sides_of_the_boundary(grace, days_later, expired):
    assert phone_files.login_expired(DAY, DAY + datetime.timedelta(days=days_later), grace) is expired


@pytest.mark.parametrize(
    ("marked", "expected"),
    [("2026-11-01", datetime.date(2026, 11, 1)), ("2099-01-01", DAY), ("", DAY), (None, DAY), ("2026-13-01", DAY),
     ("1 2026-11-01", DAY)],
)  # fmt: skip
def test_the_retirement_day_is_never_later_than_today(marked, expected):
    assert phone_files.retired_day(marked, DAY) == expected


def test_a_retired_mac_loses_file_and_login_once_its_grace_has_passed(prov):
    prov(PHONES)
    prov(PHONES[1:], today="2026-12-04", retired_grace_days=30)
    assert "805ec0000000" in prov.state()[0]
    changed, counts, _, _ = prov(PHONES[1:], today="2027-01-02", retired_grace_days=30)
    assert not changed and "805ec0000000" in prov.state()[0], "the last day of the grace"
    changed, counts, changes, _ = prov(PHONES[1:], today="2027-01-03", retired_grace_days=30)
    logins, files = prov.state()
    assert changed and counts["expired"] == 1 and changes["expired"] == ["805ec0000000.cfg"]
    assert "805ec0000000" not in logins and "805ec0000000.cfg" not in files
    assert set(logins) == {"805ec0000001", "805ec0000002", "805ec0000003"}


def test_a_retirement_stamped_in_the_future_counts_from_today(prov):
    prov(PHONES)
    prov(PHONES[1:], today="2026-12-04", retired_grace_days=30)
    path = prov.dest / "805ec0000000.cfg"
    path.write_text(path.read_text().replace("retired=2026-12-04", "retired=2999-01-01"))
    prov(PHONES[1:], today="2026-12-10", retired_grace_days=30)
    assert "retired=2026-12-10" in path.read_text()
    prov(PHONES[1:], today="2027-01-09", retired_grace_days=30)
    assert "805ec0000000" not in prov.state()[0]


def test_a_returning_mac_is_assigned_again_with_its_login(prov):
    prov(PHONES)
    prov(PHONES[1:], retired_grace_days=30)
    prov(PHONES, retired_grace_days=30)
    logins, files = prov.state()
    assert "805ec0000000" in logins and "retired" not in templates.read_marker(files["805ec0000000.cfg"])


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"retired_grace_days": -1}, "retired_grace_days -1"), ({"retired_grace_days": True}, "retired_grace_days True"),
     ({"retired_grace_days": 3, "today": None}, "needs today"), ({"today": "2026-12-4"}, "today '2026-12-4'"),
     ({"today": "2026-02-30"}, "today '2026-02-30'")],
)  # fmt: skip
def test_bad_grace_arguments_change_nothing(prov, kw, message):
    with pytest.raises(phone_files.PhoneFilesError, match=message):
        prov(PHONES, **kw)
    assert not list(prov.dest.iterdir())


def test_without_a_grace_a_retired_mac_keeps_its_login(prov):
    prov(PHONES)
    prov(PHONES[1:], today="2026-12-04")
    prov(PHONES[1:], today="2036-12-04")
    assert "805ec0000000" in prov.state()[0]


# -- the model: the two fields, hostile values refused ------------------------------

USERS_FILE = "group_vars/all/users.yml"
DEVICE = '{mac: "80:5e:c0:10:20:01", model: yealink-t54w}'


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert text.count(old) == 1, f"test setup: {old!r} not once in {file}"
    path.write_text(text.replace(old, new))


def _errors(root: Path) -> list[str]:
    return [p.render() for p in validate(root).errors]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-1", "outside 0-1000000"), ("true", "is not a whole number"), ("1e3", "'1e3' is ambiguous"),
     ("010", "'010'"), ('"1"', "is not a whole number"), ("one", "is not a whole number"),
     ("1.0", "is not a whole number"), ("1000001", "outside 0-1000000")],
)  # fmt: skip
def test_a_devices_password_rotation_refuses_hostile_values(inv, value, expected):
    _edit(inv, USERS_FILE, DEVICE, DEVICE.replace("}", f", password_rotation: {value}}}"))
    errors = _errors(inv)
    assert any("devices[0].password_rotation" in e and expected in e for e in errors), errors


def test_a_devices_password_rotation_twice_is_refused(inv):
    _edit(inv, USERS_FILE, DEVICE, DEVICE.replace("}", ", password_rotation: 1, password_rotation: 2}"))
    assert any("duplicate key 'password_rotation'" in e for e in _errors(inv)), _errors(inv)


def test_a_devices_password_rotation_is_accepted(inv):
    _edit(inv, USERS_FILE, DEVICE, DEVICE.replace("}", ", password_rotation: 7}"))
    assert _errors(inv) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-1", "outside 0-3650"), ("yes", "'yes'"), ("030", "'030'"), ("3e1", "'3e1' is ambiguous"),
     ('"30"', "is not a whole number"), ("3651", "outside 0-3650")],
)  # fmt: skip
def test_retired_device_grace_days_refuses_hostile_values(inv, value, expected):
    (inv / "group_vars" / "all" / "directory_policy.yml").write_text(
        f"---\nvoip_directory_policy:\n  retired_device_grace_days: {value}\n"
    )
    errors = _errors(inv)
    assert any("voip_directory_policy.retired_device_grace_days" in e and expected in e for e in errors), (
        errors
    )


def test_retired_device_grace_days_is_accepted(inv):
    (inv / "group_vars" / "all" / "directory_policy.yml").write_text(
        "---\nvoip_directory_policy:\n  retired_device_grace_days: 0\n"
    )
    assert _errors(inv) == []
