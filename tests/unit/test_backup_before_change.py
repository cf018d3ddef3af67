"""voip_backup_policy.before_change: where site.yml and users.yml take their point (the lab test proves it runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"


@pytest.mark.parametrize("playbook", ["site.yml", "users.yml"])
def test_the_point_comes_after_the_preflight_and_before_any_change(playbook):
    entries = yaml.safe_load((PLAYBOOKS / playbook).read_text())
    imports = [e.get("ansible.builtin.import_playbook") for e in entries]
    assert imports[:2] == ["preflight.yml", "backup_before_change.yml"], imports


def test_users_yml_backs_up_only_the_hosts_it_changes():
    entries = yaml.safe_load((PLAYBOOKS / "users.yml").read_text())
    plays = [group for e in entries if "hosts" in e for group in e["hosts"].split(":")]
    hosts = entries[1]["vars"]["backup_before_change_hosts"].split(":")
    assert sorted(hosts) == sorted(plays)


def test_nothing_is_backed_up_without_the_setting_or_in_check_mode():
    (play,) = yaml.safe_load((PLAYBOOKS / "backup_before_change.yml").read_text())
    guard = play["vars"]["__backup_before_change"]
    assert "voip_backup_policy.before_change | default(false)" in guard and "not ansible_check_mode" in guard
    assert all(task["when"] == "__backup_before_change" for task in play["tasks"])
