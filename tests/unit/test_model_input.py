"""What enters the model is what the operator meant (issue #21): the inventory as a whole.

Each case copies inventory/lab, changes one thing and expects ``validate`` to
refuse it with file, line and key path: YAML 1.1 numbers and words, duplicate
keys, a directory that vanished (empty, misspelt, BOM, vault-encrypted, a
symbolic link loop), unknown top-level variables. Then the two Ansible
plugins: the model's data is never templated, and the preflight stops any
Ansible command while the inventory is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voipctl.model.checks import validate

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab"
USERS = "group_vars/all/users.yml"
SITES = "group_vars/all/sites.yml"
CS1 = "host_vars/cs1/call_server.yml"
SWITCH = "host_vars/sw1/switch.yml"
GATEWAY = "host_vars/gw1/gateway.yml"


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))


def _errors(root: Path) -> list[str]:
    return [p.render() for p in validate(root).errors]


NUMBERS = [
    ("extension", USERS, "extension: 2002", "extension: 02002", f"{USERS}:23: voip_users[1].extension: '02002'"),
    ("sip-port", CS1, "sip_port: 5060", "sip_port: 05060", f"{CS1}:5: voip_call_server.sip_port: '05060'"),
    ("voice-vlan", SWITCH, "voice_vlan: 110", "voice_vlan: 0110", f"{SWITCH}:5: voip_switch.voice_vlan: '0110'"),
    ("channels", GATEWAY, "channels: 30", "channels: 030", f"{GATEWAY}:8: voip_gateway.pri_spans[0].channels: '030'"),
    ("sexagesimal", SWITCH, "voice_vlan: 110", "voice_vlan: 1:50", "voip_switch.voice_vlan: '1:50' is ambiguous"),
    ("underscore", SWITCH, "voice_vlan: 110", "voice_vlan: 1_10", "voip_switch.voice_vlan: '1_10' is ambiguous"),
    ("yes-poe", SWITCH, "poe: true, phone_mac: \"80", "poe: yes, phone_mac: \"80", "voip_switch.ports[0].poe: 'yes'"),
    ("on-poe", SWITCH, "poe: true, phone_mac: \"80", "poe: On, phone_mac: \"80", "voip_switch.ports[0].poe: 'On'"),
    ("exponent", CS1, "sip_port: 5060", "sip_port: 5e3", "voip_call_server.sip_port: '5e3' is ambiguous"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "file", "old", "new", "expected"), NUMBERS, ids=[c[0] for c in NUMBERS])
def test_yaml_1_1_numbers_and_words_are_refused(inv, name, file, old, new, expected):
    _edit(inv, file, old, new)
    errors = _errors(inv)
    assert any(expected in e for e in errors), errors
    assert len(errors) == 1, errors  # the file's own error, not what its absence would cause


DUPLICATES = [
    ("user-key", USERS, "    extension: 2002\n", "    extension: 2002\n    extension: 2003\n", "voip_users[1].extension: duplicate key 'extension'"),
    ("site", SITES, "voip_sites:\n", "voip_sites:\n  ams: {}\n", "duplicate key 'ams'"),
    ("top-level", USERS, "voip_users:\n", "voip_users: []\nvoip_users:\n", "voip_users: duplicate key 'voip_users' (first at line"),
    ("quoted", SWITCH, "  voice_vlan: 110\n", "  voice_vlan: 110\n  'voice_vlan': 111\n", "voip_switch.voice_vlan: duplicate key"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "file", "old", "new", "expected"), DUPLICATES, ids=[c[0] for c in DUPLICATES]
)
def test_duplicate_keys_are_refused(inv, name, file, old, new, expected):
    _edit(inv, file, old, new)
    errors = _errors(inv)
    assert any(expected in e for e in errors), errors


def test_site_names_twice_is_refused(inv):
    text = (inv / SITES).read_text()
    assert "\n  ams:\n" in text or "\n  ams: " in text
    (inv / SITES).write_text(text + "  ams: {}\n" if text.endswith("\n") else text)
    assert any("duplicate key 'ams'" in e for e in _errors(inv))


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("empty-file", lambda p: p.write_text(""), "voip_users is not defined"),
        ("comment-only", lambda p: p.write_text("# nothing\n"), "voip_users is not defined"),
        ("empty-list", lambda p: p.write_text("voip_users: []\n"), "the user directory is empty"),
        ("null", lambda p: p.write_text("voip_users:\n"), "the user directory is empty"),
        (
            "misspelt",
            lambda p: p.write_text(p.read_text().replace("voip_users:", "voip_user:")),
            "unknown variable 'voip_user'",
        ),
        (
            "case",
            lambda p: p.write_text(p.read_text().replace("voip_users:", "Voip_users:")),
            "unknown variable 'Voip_users'",
        ),
        ("bom", lambda p: p.write_text("\ufeff" + p.read_text()), "byte order mark"),
        ("missing", lambda p: p.unlink(), "voip_users is not defined"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_vanished_directory_is_an_error(inv, name, change, expected):
    change(inv / USERS)
    errors = _errors(inv)
    assert any(expected in e for e in errors), errors


def test_misspelt_key_hints_the_right_one(inv):
    _edit(inv, USERS, "voip_users:", "voip_user:")
    assert any(f"{USERS}:4: voip_user: unknown variable 'voip_user'" in e and "did you mean voip_users?" in e
               for e in _errors(inv))  # fmt: skip


def test_vault_encrypted_users_file_is_named(inv):
    exe = Path(sys.executable).with_name("ansible-vault")
    env = dict(os.environ, ANSIBLE_VAULT_PASSWORD_FILE=str(ROOT / "lab" / "vault-password.lab"))
    subprocess.run([str(exe), "encrypt", str(inv / USERS)], env=env, check=True, capture_output=True)
    errors = _errors(inv)
    assert any(
        "voip_users is not defined" in e and USERS in e and "vault-encrypted as a whole" in e for e in errors
    )


def test_symbolic_link_loops_are_errors(inv):
    (inv / "group_vars/all/loop.yml").symlink_to("loop.yml")
    (inv / "group_vars/all/again").symlink_to("../all")
    errors = _errors(inv)
    assert "error: group_vars/all/loop.yml: a symbolic link that loops or leads nowhere" in "\n".join(errors)
    assert "error: group_vars/all/again: a symbolic link loops back" in "\n".join(errors)


@pytest.mark.parametrize("name", ["voip_sip_port", "kamailio_listen_adress", "ntp_server_list", "voipusers"])
def test_unknown_top_level_variables_are_refused(inv, name):
    (inv / "group_vars/all/extra.yml").write_text(f"{name}: 1\n")
    errors = _errors(inv)
    assert any(f"group_vars/all/extra.yml:1: {name}: unknown variable '{name}'" in e for e in errors), errors


def test_known_variables_are_accepted(inv):
    (inv / "group_vars/all/extra.yml").write_text(
        "ansible_user: root\nvault_anything: x\nkamailio_keepalive_version_sources: ['10.0.0.0/8']\n"
        "voip_mgmt_networks: ['10.0.0.0/8']\n"
    )
    assert _errors(inv) == []


# -- the Ansible plugins ------------------------------------------------------------------


def _ansible(inventory: Path, *args: str, vars_plugins: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(ROOT / "lab" / "vault-password.lab")
    if vars_plugins:
        env["ANSIBLE_VARS_ENABLED"] = vars_plugins
    exe = Path(sys.executable).with_name("ansible")
    interpreter = f"ansible_python_interpreter={sys.executable}"
    return subprocess.run([str(exe), "-i", str(inventory), "-e", interpreter, *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, check=False, timeout=120)  # fmt: skip


def test_model_data_is_never_a_template(inv, tmp_path):
    """With the preflight off, the vars plugin alone still keeps the model's Jinja from running.

    Before this change voip_group_vars loaded a file holding "{{" trusted as a
    template (as host_group_vars does): the lookup ran and created the marker.
    """
    marker = tmp_path / "pwned"
    _edit(
        inv, USERS, "name: Jan de Vries", f"name: \"{{{{ lookup('pipe', 'touch {marker}; echo pwned') }}}}\""
    )
    run = _ansible(inv, "cs1", "-c", "local", "-m", "ansible.builtin.debug", "-a", "msg={{ voip_users[0].name }}",
                   vars_plugins="voip.estate.voip_group_vars")  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "lookup(''pipe''" in run.stdout and "msg: pwned" not in run.stdout, run.stdout
    assert not marker.exists()


def test_preflight_stops_any_ansible_command_before_a_host(inv, tmp_path):
    marker = tmp_path / "pwned"
    _edit(inv, USERS, "name: Jan de Vries", f"name: \"{{{{ lookup('pipe', 'touch {marker}') }}}}\"")
    run = _ansible(
        inv, "cs2", "-c", "local", "-m", "ansible.builtin.command", "-a", f"touch {tmp_path / 'ran'}"
    )
    assert run.returncode != 0
    assert "estate model: 1 error(s)" in run.stderr and f"{USERS}:6: voip_users[0].name:" in run.stderr, (
        run.stderr
    )
    assert not marker.exists() and not (tmp_path / "ran").exists()


def test_preflight_lets_a_valid_inventory_through(inv, tmp_path):
    run = _ansible(
        inv, "cs2", "-c", "local", "-m", "ansible.builtin.command", "-a", f"touch {tmp_path / 'ran'}"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "ran").exists()


def test_preflight_result_is_reused_until_a_file_changes(inv):
    from voipctl import preflight

    first = preflight.validated(inv)
    assert preflight.validated(inv) is first
    _edit(inv, USERS, "extension: 2002", "extension: 02002")
    assert preflight.validated(inv) is not first
    assert preflight.validated(inv).errors


def test_extension_less_inventory_files_are_read_as_ansible_reads_them(inv):
    # molecule links the lab's hosts.yml as "hosts", next to its own ansible_inventory.yml.
    (inv / "hosts.yml").rename(inv / "hosts")
    (inv / "extra.yml").write_text("all:\n  vars:\n    molecule_file: x\n    ansible_user: root\n")
    assert _errors(inv) == []
    (inv / "extra.yml").write_text("all:\n  vars:\n    moleculefile: x\n")
    assert any("extra.yml:3: all.vars.moleculefile: unknown variable" in e for e in _errors(inv))


# -- what the attacker review found (each passed validation and reached Ansible before) --------


def test_files_ansible_would_read_and_voipctl_would_not_are_errors(inv):
    (inv / "sub").mkdir()
    (inv / "sub" / "more.yml").write_text("call_servers:\n  hosts:\n    cs1: {voip_site: nowhere}\n")
    (inv / "zz.conf").write_text("[call_servers]\ncs1 voip_site=nosuchsite\n")
    (inv / "NOTES.md").write_text("Ansible ignores notes.\n")
    errors = "\n".join(_errors(inv))
    assert "error: sub: Ansible reads inventory files in subdirectories, voipctl does not" in errors
    assert "error: zz.conf: Ansible would read this file as an inventory (INI)" in errors
    assert "NOTES.md" not in errors


@pytest.mark.parametrize("pattern", ["cs[3:3:1]", "cs[a:c]", "cs[3:]"])
def test_host_ranges_voipctl_cannot_expand_are_errors(inv, pattern):
    _edit(inv, "hosts.yml", "            cs1:\n", f'            "{pattern}": {{}}\n            cs1:\n')
    assert any(f"hosts.yml:12: all.children.linux.children.call_servers.hosts.{pattern}: a host range" in e
               for e in _errors(inv))  # fmt: skip


def test_a_quoted_group_priority_counts_as_ansible_counts_it(inv):
    _edit(inv, "hosts.yml", "        call_servers:\n", "        zpri:\n          hosts: {cs1: {}}\n"
          "          vars: {ansible_group_priority: \"0\"}\n        call_servers:\n")  # fmt: skip
    (inv / "host_vars/cs1/rack.yml").unlink()
    (inv / "group_vars/zpri.yml").write_text("voip_rack: {rack: ams-r1, unit: 20, height: 1}\n")
    (inv / "group_vars/call_servers").mkdir(exist_ok=True)
    (inv / "group_vars/call_servers/zz.yml").write_text("voip_rack: {rack: ams-r1, unit: 99, height: 1}\n")
    # Ansible: int("0") puts zpri before call_servers, so call_servers' unit 99 wins.
    assert any("voip_rack.unit: 99 is outside 1-60" in e for e in _errors(inv)), _errors(inv)


@pytest.mark.parametrize("name", ["voip_backup_policy", "voip_call_server"])
def test_model_variables_in_an_inventory_file_are_errors(inv, name):
    _edit(inv, "hosts.yml", "all:\n", f"all:\n  vars:\n    {name}: {{}}\n")
    assert any(f"hosts.yml:8: all.vars.{name}: {name} is set in an inventory file" in e for e in _errors(inv))


@pytest.mark.parametrize(
    ("setting", "source"),
    [
        ('os_baseline_cti_networks: ["0.0.0.0/0"]', "voip_cti_accounts"),
        ('os_baseline_timezone: "Not/AZone"', "voip_sites"),
        ("rtpengine_port_min: 1", "voip_call_server"),
        ('provisioning_server_allowed_networks: ["0.0.0.0/0"]', "voip_sites"),
    ],
)
def test_role_inputs_derived_from_the_model_cannot_be_set_directly(inv, setting, source):
    (inv / "group_vars/all/zz.yml").write_text(setting + "\n")
    name = setting.split(":")[0]
    assert any(f"zz.yml:1: {name}: {name} is derived from the model ({source})" in e for e in _errors(inv))


def test_a_derived_role_input_may_be_emptied(inv):
    # The lab's bak1 is its own time source: host_vars/bak1/os_baseline.yml empties its NTP servers.
    assert "os_baseline_ntp_servers: []" in (inv / "host_vars/bak1/os_baseline.yml").read_text()
    assert _errors(inv) == []


@pytest.mark.parametrize(
    "name", ["Bob\u2028X", "Bob\u2029X", "Mal\u202eyolap", "a\u2066b\u2069", "x\u202ay"], ids=repr
)
def test_unicode_separators_and_direction_overrides_are_not_text(inv, name):
    _edit(inv, USERS, "name: Jan de Vries", f'name: "{name}"')
    assert any("voip_users[0].name:" in e and "direction override" in e for e in _errors(inv))


def test_persian_names_keep_their_joiners(inv):
    _edit(inv, USERS, "name: Jan de Vries", 'name: "زهرا\u200cکریمی"')
    assert _errors(inv) == []


@pytest.mark.parametrize(
    "email",
    ["{{lookup('pipe','id')}}@example.com", "a\x00b@example.com", "a@exa\x85mple.com", "a\x7f@x.nl"],
    ids=repr,
)
def test_email_addresses_refuse_control_characters_and_template_markers(inv, email):
    _edit(inv, USERS, "email: jdevries@example.com", f"email: {json.dumps(email)}")
    assert any("voip_users[0].email:" in e and "is not an e-mail address" in e for e in _errors(inv)), (
        _errors(inv)
    )
