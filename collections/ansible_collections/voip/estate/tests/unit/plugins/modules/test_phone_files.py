"""collections/ansible_collections/voip/estate/plugins/modules/phone_files end to end: module args in, files on disk and the JSON result out."""

from __future__ import annotations

import copy
import importlib
import json
import os
import stat

import pytest

import ansible_collections.voip.estate.plugins.module_utils.voip_phone_files as phone_files
import ansible_collections.voip.estate.plugins.module_utils.voip_phone_templates as templates

# The modules import ansible_collections.voip.estate.plugins.module_utils as Ansible ships them (tests/unit/conftest.py).
PASSWORDS = ["pw1secretaaaaaaaaaaa", "pw2secretbbbbbbbbbbb", "pw3secretccccccccccc", "pw4secretddddddddddd"]
VENDORS = ["yealink", "polycom", "cisco", "snom"]
COMMON = {
    "timezone": "Europe/Amsterdam", "utc_offset_minutes": 60, "ntp_servers": ["10.0.0.31"], "voice_vlan": 110,
    "syslog_server": "10.0.0.40",
    "sites": {"thr": {"timezone": "Asia/Tehran", "utc_offset_minutes": 210, "ntp_servers": ["10.0.0.32"],
                      "voice_vlan": 120}},
    "firmware": {"snom-x": {"url": "http://p/firmware/snom/snom-x/1"}},
}  # fmt: skip


def phone(i, vendor):
    return {
        "mac": f"805ec000000{i}", "vendor": vendor, "model": f"{vendor}-x", "user": f"u{i}", "site": "thr",
        "display_name": f"User {i}", "extension": f"200{i}",
        "firmware": {"version": "1", "url": f"http://p/firmware/{vendor}/{vendor}-x/1"},
        "account": {"username": f"200{i}", "auth_name": f"200{i}", "password": PASSWORDS[i],
                    "domain": "ams.test", "registrar": "10.0.0.11", "port": 5060},
        "timezone": "Asia/Tehran", "utc_offset_minutes": 210, "ntp_servers": ["10.0.0.32"], "voice_vlan": 120,
        "syslog_server": "10.0.0.40", "line_keys": [{"type": "blf", "extension": "2009", "label": "Nine"}],
    }  # fmt: skip


PHONES = [phone(i, v) for i, v in enumerate(VENDORS)]
NAMES = ["805ec0000000.cfg", "805ec0000001.cfg", "805ec0000002.xml", "805ec0000003.xml"]
COMMON_FILES = [templates.YEALINK_COMMON, templates.POLYCOM_MASTER]


@pytest.fixture
def dest(tmp_path):
    path = tmp_path / "prov"
    path.mkdir()
    return path


@pytest.fixture
def run(module_runner):
    def run(args, check=False, diff=False):
        return module_runner("phone_files", args, check, diff)

    return run


def args(dest, phones=PHONES, **kw):
    return {"dest": str(dest), "phones": copy.deepcopy(phones), "common": COMMON, **kw}


def no_secret(out):
    return not any(p in out for p in PASSWORDS)


def test_check_apply_reapply(dest, run):
    code, result, out = run(args(dest), check=True, diff=True)
    assert code == 0 and result["changed"], result
    assert result["counts"] == {
        "written": 6,
        "unchanged": 0,
        "unassigned": 0,
        "removed": 0,
        "expired": 0,
        "total": 6,
    }
    assert "805ec0000000.cfg: new" in result["diff"]["after"]
    assert list(dest.iterdir()) == []  # check mode wrote nothing
    assert no_secret(out)
    code, result, out = run(args(dest), diff=True)
    assert code == 0 and result["changed"] and result["counts"]["written"] == 6
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES + COMMON_FILES)
    assert PASSWORDS[2] in (dest / "805ec0000002.xml").read_text()
    assert no_secret(out)
    code, result, _unused = run(args(dest), diff=True)
    assert code == 0 and not result["changed"]
    assert result["counts"] == {
        "written": 0,
        "unchanged": 6,
        "unassigned": 0,
        "removed": 0,
        "expired": 0,
        "total": 6,
    }
    assert result["diff"]["before"] == result["diff"]["after"] == ""


def test_phones_as_json_render_alike_and_are_not_logged_on_the_host(dest, run, tmp_path, monkeypatch):
    """AnsibleModule logs its arguments to the host's journal unless the *task* is no_log."""
    from ansible.module_utils.basic import AnsibleModule

    logged = []
    monkeypatch.setattr(AnsibleModule, "log", lambda self, msg, log_args=None: logged.append(msg))
    _unused, from_list, _unused = run(args(dest))
    other = tmp_path / "other"
    other.mkdir()
    _unused, from_json, out = run({**args(other, phones=json.dumps(PHONES)), "_ansible_no_log": False})
    assert from_json["counts"] == from_list["counts"] and from_json["changed"]
    assert {p.name: p.read_text() for p in other.iterdir()} == {p.name: p.read_text() for p in dest.iterdir()}
    # File names are in the result, unmasked; passwords nowhere.
    assert sorted(w["file"] for w in from_json["changes"]["written"]) == sorted(NAMES + COMMON_FILES)
    assert no_secret(out) and len(logged) == 2
    assert all("phones=NOT_LOGGING_PARAMETER" in m and no_secret(m) for m in logged)


def test_phones_are_not_echoed(dest, run):
    _unused, result, out = run(args(dest))
    assert result["invocation"]["module_args"]["phones"] == "4 phone(s), not echoed"
    assert "User 1" not in out


@pytest.mark.parametrize("index", range(4))
def test_one_changed_user_writes_exactly_one_file(dest, run, index):
    run(args(dest))
    phones = copy.deepcopy(PHONES)
    phones[index]["account"]["password"] = "rotatedpasswordzzzzz"
    phones[index]["display_name"] = "Renamed"
    code, result, out = run(args(dest, phones), diff=True)
    assert code == 0 and result["changed"]
    assert result["counts"]["written"] == 1 and result["counts"]["unchanged"] == 5
    [written] = result["changes"]["written"]
    assert written["file"] == NAMES[index] and written["keys"]
    assert NAMES[index] in result["diff"]["after"]
    assert "rotatedpasswordzzzzz" not in out and "Renamed" not in out and no_secret(out)
    assert "rotatedpasswordzzzzz" in (dest / NAMES[index]).read_text()


@pytest.mark.parametrize("index", range(4))
def test_orphan_mac_gets_the_unassigned_profile_of_its_vendor(dest, run, index):
    run(args(dest))
    remaining = [p for i, p in enumerate(PHONES) if i != index]
    code, result, out = run(args(dest, remaining), check=True, diff=True)
    assert result["changed"] and result["counts"]["unassigned"] == 1
    assert PASSWORDS[index] in (dest / NAMES[index]).read_text()  # check mode
    code, result, out = run(args(dest, remaining), diff=True)
    assert code == 0 and result["changed"] and result["changes"]["unassigned"] == [NAMES[index]]
    assert result["counts"] == {
        "written": 0,
        "unchanged": 5,
        "unassigned": 1,
        "removed": 0,
        "expired": 0,
        "total": 6,
    }
    assert f"{NAMES[index]}: unassigned" in result["diff"]["after"]
    text = (dest / NAMES[index]).read_text()
    assert PASSWORDS[index] not in text and "unassigned" in text and "10.0.0.32" in text  # the thr site's NTP
    assert templates.read_marker(text)["vendor"] == VENDORS[index]
    assert no_secret(out)
    _unused, result, _unused = run(args(dest, remaining))
    assert not result["changed"] and result["counts"]["unchanged"] == 6


def test_orphans_removed_on_request_and_foreign_files_left_alone(dest, run):
    run(args(dest))
    (dest / "index.html").write_text("hello")
    (dest / "aabbccddeeff.cfg").write_text("unknown format")
    code, result, _unused = run(args(dest, PHONES[:2], unassigned="remove"))
    assert code == 0 and result["changed"]
    assert result["counts"]["removed"] == 3
    assert sorted(p.name for p in dest.iterdir()) == sorted([*NAMES[:2], *COMMON_FILES, "index.html"])


def test_unknown_orphan_is_skipped_with_the_profile_option(dest, run):
    (dest / "aabbccddeeff.cfg").write_text("unknown format")
    _unused, result, _unused = run(args(dest))
    assert result["changes"]["skipped"] == ["aabbccddeeff.cfg"]
    assert (dest / "aabbccddeeff.cfg").read_text() == "unknown format"


def test_mode_is_set_and_corrected(dest, run):
    run(args(dest))
    assert {stat.S_IMODE(p.stat().st_mode) for p in dest.iterdir()} == {0o640}
    os.chmod(dest / NAMES[0], 0o644)
    _unused, result, _unused = run(args(dest), diff=True)
    assert result["changed"] and result["counts"]["written"] == 1
    assert "owner/group/mode" in result["diff"]["after"]
    assert stat.S_IMODE((dest / NAMES[0]).stat().st_mode) == 0o640
    _unused, result, _unused = run(args(dest, mode="0600"))
    assert result["counts"]["written"] == 6
    assert {stat.S_IMODE(p.stat().st_mode) for p in dest.iterdir()} == {0o600}
    code, result, _unused = run(args(dest, mode="0666"))
    assert code == 1 and "world-writable" in result["msg"]
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_owner_and_group_of_the_running_user(dest, run):
    import grp
    import pwd

    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    code, result, _unused = run(args(dest, owner=user, group=group))
    assert code == 0 and result["counts"]["written"] == 6
    code, result, _unused = run(args(dest, owner="no-such-user-here"))
    assert code == 1 and "owner 'no-such-user-here' does not exist" in result["msg"]


def test_bad_input_fails_with_the_element(dest, run):
    code, result, _unused = run(args(dest / "missing"))
    assert code == 1 and "does not exist" in result["msg"]
    code, result, out = run(args(dest, [PHONES[0], {**PHONES[1], "mac": PHONES[0]["mac"]}]))
    assert code == 1 and "phones[1]: MAC 805ec0000000 repeats phones[0]" in result["msg"] and no_secret(out)
    code, result, _unused = run(args(dest, [{**PHONES[0], "mac": "80:5e:c0:00:00:00"}]))
    assert code == 1 and "phones[0]: mac" in result["msg"]
    code, result, out = run(args(dest, [{**PHONES[0], "vendor": "acme"}]))
    assert code == 1 and "vendor" in result["msg"] and no_secret(out)
    code, result, out = run(args(dest, [{**PHONES[0], "bogus": 1}]))
    assert code == 1 and "bogus" in result["msg"] and no_secret(out)


def test_vendor_change_of_a_mac_removes_its_old_file(dest, run):
    run(args(dest))
    phones = copy.deepcopy(PHONES)
    phones[0]["vendor"], phones[0]["model"] = "snom", "snom-x"
    _unused, result, _unused = run(args(dest, phones))
    assert result["counts"]["removed"] == 1 and result["counts"]["written"] == 1
    assert not (dest / "805ec0000000.cfg").exists() and (dest / "805ec0000000.xml").exists()


def test_documentation_matches_the_argument_spec():
    import yaml

    module = importlib.import_module("ansible_collections.voip.estate.plugins.modules.phone_files")
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert yaml.safe_load(module.EXAMPLES) and yaml.safe_load(module.RETURN)
    assert {a: doc["attributes"][a]["support"] for a in ("check_mode", "diff_mode")} == {
        "check_mode": "full",
        "diff_mode": "full",
    }

    def compare(spec, options, path):
        assert set(spec) == set(options), path
        for name, arg in spec.items():
            for field, default in (("type", None), ("required", False), ("default", None), ("choices", None),
                                   ("elements", None)):  # fmt: skip
                assert arg.get(field, default) == options[name].get(field, default), f"{path}{name}.{field}"
            if "options" in arg:
                compare(arg["options"], options[name]["suboptions"], f"{path}{name}.")

    # phones is raw (a list or its JSON), validated in the module against PHONES_SPEC.
    assert phone_files.ARGUMENT_SPEC["phones"] == {"type": "raw", "required": True, "no_log": True}
    compare({**phone_files.ARGUMENT_SPEC, "phones": {"type": "raw", "required": True,
             "options": phone_files.PHONES_SPEC["phones"]["options"]}}, doc["options"], "")  # fmt: skip
    assert phone_files.ACCOUNT_OPTIONS["password"]["no_log"] is True


def test_device_logins_one_per_mac_served_stable_and_never_shown(dest, run, tmp_path):
    import base64
    import hashlib

    auth = tmp_path / "provisioning.htpasswd"
    secret = "http-secret-for-the-test-xxxxxxxx"
    extra = {"http_auth_file": str(auth), "http_auth_secret": secret}
    code, result, out = run(args(dest, **extra), check=True)
    assert code == 0 and result["changed"] and not auth.exists()
    code, result, out = run(args(dest, **extra), diff=True)
    assert result["counts"]["http_logins"] == 4 and "device login" in result["diff"]["after"]
    lines = [line for line in auth.read_text().splitlines() if not line.startswith("#")]
    macs = sorted(name.split(".", maxsplit=1)[0] for name in NAMES)
    assert [line.split(":")[0] for line in lines] == macs
    # nginx's {SSHA}: sha1(password + salt) + salt, the password derived per MAC.
    for line in lines:
        mac, _unused, value = line.partition(":{SSHA}")
        raw = base64.b64decode(value)
        password = phone_files.device_http_password(secret, mac)
        assert hashlib.sha1(password.encode() + raw[20:]).digest() == raw[:20]
        assert password not in out
    assert oct(auth.stat().st_mode & 0o777) == "0o640"
    assert secret not in out
    code, result, _unused = run(args(dest, **extra))
    assert not result["changed"] and not result["changes"]["http_logins_changed"]
    # A leaver's phone keeps its login: it must still fetch its unassigned profile.
    code, result, _unused = run(args(dest, phones=PHONES[1:], **extra))
    assert result["counts"]["unassigned"] == 1 and result["counts"]["http_logins"] == 4
    # A different secret rotates every login.
    code, result, _unused = run(
        args(dest, phones=PHONES[1:], http_auth_file=str(auth), http_auth_secret="other-secret-yyyyyyyyyyyy")
    )
    assert result["changed"] and result["changes"]["http_logins_changed"]
    code, result, _unused = run(args(dest, http_auth_file=str(auth)))
    assert code == 1 and "http_auth_file needs http_auth_secret" in result["msg"]
