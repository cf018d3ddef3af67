"""collections/ansible_collections/voip/estate/plugins/vars/voip_group_vars: the same variables as host_group_vars, plain-data files fast."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "collections/ansible_collections/voip/estate/plugins/vars" / "voip_group_vars.py"


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("voip_group_vars", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fast_path_only_for_plain_data(plugin, tmp_path):
    lab = ROOT / "inventory" / "lab"
    users = plugin._fast_load(str(lab / "group_vars" / "all" / "users.yml"))
    assert users["voip_users"][0]["id"] == "jdevries"
    # Vaulted files and files with Jinja take Ansible's loader.
    assert plugin._fast_load(str(lab / "group_vars" / "all" / "vault.yml")) is None
    assert plugin._fast_load(str(lab / "group_vars" / "all" / "lab.yml")) is None
    odd = tmp_path / "anchors.yml"
    odd.write_text("a: &x 1\nb: *x\n")
    assert plugin._fast_load(str(odd)) is None


def ansible_inventory(inventory: Path, host: str, vars_plugin: str) -> str:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_VARS_ENABLED=vars_plugin)
    env.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    exe = Path(sys.executable).with_name("ansible-inventory")
    done = subprocess.run([str(exe), "-i", str(inventory), "--host", host], env=env, capture_output=True,
                          text=True, check=True)  # fmt: skip
    return done.stdout


@pytest.mark.parametrize(("inventory", "host"), [("lab", "cs1"), ("lab", "sw1"), ("example", "cs1")])
def test_same_variables_as_host_group_vars(inventory, host):
    path = ROOT / "inventory" / inventory
    assert ansible_inventory(path, host, "voip.estate.voip_group_vars") == ansible_inventory(
        path, host, "host_group_vars"
    )
