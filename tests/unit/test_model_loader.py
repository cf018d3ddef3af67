"""The fast inventory loader gives the variables Ansible gives (precedence included)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voipctl.adapters import inventory
from voipctl.model import loader

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["lab", "example"])
def test_same_hosts_groups_and_values_as_ansible(name, monkeypatch):
    monkeypatch.setenv("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    # The lab commits a lab-only vault password (DESIGN.md section 3); vaulted
    # files are opaque to the fast loader, so only its own keys are compared.
    if (ROOT / "lab" / "vault-password.lab").is_file():
        monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))
    source = ROOT / "inventory" / name
    ours = loader.load(source)
    ansible = inventory.load(source, template=False)
    assert set(ours.hosts) == set(ansible.hosts)
    for group, members in ansible.groups.items():
        assert set(ours.hosts_in(group)) == set(members), group
    for host, theirs in ansible.hosts.items():
        mine = {k: v.value for k, v in ours.host_vars(host).items()}
        assert mine, host
        for key, value in mine.items():
            assert key in theirs, (host, key)
            assert value == theirs[key], (host, key)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return root


HOSTS = """---
all:
  vars: {x: inv_all, only_inv: 1}
  children:
    parent:
      vars: {x: inv_parent, y: inv_parent}
      children:
        child:
          vars: {x: inv_child}
          hosts:
            h1: {z: inv_host}
            h2:
"""


def test_precedence_mirrors_ansible(tmp_path, monkeypatch):
    root = write(
        tmp_path,
        {
            "hosts.yml": HOSTS,
            "group_vars/all/a.yml": "---\nx: gv_all\ny: gv_all\nz: gv_all\n",
            "group_vars/parent.yml": "---\nz: gv_parent\n",
            "group_vars/child/b.yml": "---\nz: gv_child\n",
            "host_vars/h1.yml": "---\nw: hv_h1\n",
        },
    )
    inv = loader.load(root)
    h1 = {k: v.value for k, v in inv.host_vars("h1").items()}
    h2 = {k: v.value for k, v in inv.host_vars("h2").items()}
    # group_vars/all beats inventory-file group vars of child groups (Ansible's order).
    assert h1["x"] == "gv_all"
    assert h1["z"] == "inv_host"
    assert h2["z"] == "gv_child"
    assert h1["w"] == "hv_h1"
    assert inv.host_vars("h1")["z"].origin.path == (
        "all",
        "children",
        "parent",
        "children",
        "child",
        "hosts",
        "h1",
        "z",
    )
    monkeypatch.setenv("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    ansible = inventory.load(root, template=False)
    for host, mine in (("h1", h1), ("h2", h2)):
        for key, value in mine.items():
            assert ansible.hosts[host][key] == value, (host, key)


def test_directory_wins_over_file_and_hidden_files_are_skipped(tmp_path):
    root = write(
        tmp_path,
        {
            "hosts.yml": "---\nall:\n  hosts:\n    h1:\n",
            "group_vars/all/a.yml": "---\nv: dir\n",
            "group_vars/all/.hidden.yml": "---\nv: hidden\n",
            "group_vars/all/b.yml~": "---\nv: backup\n",
            "group_vars/all.yml": "---\nv: file\n",
        },
    )
    inv = loader.load(root)
    assert inv.host_vars("h1")["v"].value == "dir"
    assert inv.host_vars("h1")["v"].origin.file == os.path.join("group_vars", "all", "a.yml")


def test_unreadable_files_become_findings_not_exceptions(tmp_path):
    root = write(
        tmp_path, {"hosts.yml": "---\nall:\n  hosts: {h1: }\n", "group_vars/all/x.yml": "---\na: [1\n"}
    )
    inv = loader.load(root)
    assert inv.file_errors and inv.file_errors[0][0] == os.path.join("group_vars", "all", "x.yml")


def test_host_ranges_expand(tmp_path):
    root = write(
        tmp_path, {"hosts.yml": "---\nall:\n  children:\n    g:\n      hosts:\n        web[01:03]:\n"}
    )
    assert loader.load(root).hosts == ["web01", "web02", "web03"]


def test_a_loaded_inventory_is_freed_without_the_cyclic_collector():
    """validate() switches the cyclic collector off: no reference cycle may keep the data alive."""
    import gc
    import weakref

    enabled = gc.isenabled()
    gc.disable()
    try:
        inv = loader.load(ROOT / "inventory" / "example")
        gone = weakref.ref(inv)
        del inv
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
