"""Recap parsing used by the idempotence gate."""

from voipctl.adapters.playbook import parse_output

OUTPUT = """
PLAY [Baseline every Linux host] ***********************************************

TASK [voip.estate.os_baseline : Set the timezone of the host's site] ***********************
ok: [cs1]
changed: [cs2]

RUNNING HANDLER [voip.estate.os_baseline : Reload sshd] ************************************
changed: [cs2]

TASK [voip.estate.os_baseline : Create or remove administrator accounts] *******************
changed: [cs1] => (item=opsadmin (present))
ok: [cs2] => (item=opsadmin (present))

PLAY RECAP *********************************************************************
cs1                        : ok=20   changed=1    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
cs2                        : ok=19   changed=2    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
"""


def test_recap_counts_per_host():
    result = parse_output(OUTPUT.splitlines(True))
    assert result.hosts["cs1"]["ok"] == 20 and result.hosts["cs1"]["skipped"] == 1
    assert result.hosts["cs2"]["changed"] == 2 and result.hosts["cs2"]["failures"] == 1
    assert result.changed == 3


def test_changed_tasks_name_host_and_task():
    result = parse_output(OUTPUT.splitlines(True))
    assert result.changed_tasks == [
        ("cs2", "voip.estate.os_baseline : Set the timezone of the host's site"),
        ("cs2", "voip.estate.os_baseline : Reload sshd"),
        ("cs1", "voip.estate.os_baseline : Create or remove administrator accounts"),
    ]


def test_failure_makes_result_not_ok():
    result = parse_output(OUTPUT.splitlines(True))
    assert not result.ok


def test_colour_codes_are_ignored():
    line = "\x1b[0;33mcs1\x1b[0m : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0\n"
    assert parse_output([line]).hosts == {
        "cs1": {
            k: (1 if k == "ok" else 0)
            for k in ("ok", "changed", "unreachable", "failures", "skipped", "rescued", "ignored")
        }
    }


# The strategy voipctl's playbook runs get (docs/performance.md): mitogen by default, stock on request.


def test_mitogen_is_the_default_when_installed():
    from voipctl.adapters import playbook

    env = playbook.strategy_environment({"PATH": "/usr/bin"})
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert env["ANSIBLE_STRATEGY_PLUGINS"].endswith("ansible_mitogen/plugins/strategy")
    assert env["PATH"] == "/usr/bin"


def test_an_explicit_strategy_is_kept_and_other_plugin_paths_too():
    from voipctl.adapters import playbook

    env = playbook.strategy_environment({"ANSIBLE_STRATEGY": "linear", "ANSIBLE_STRATEGY_PLUGINS": "/x"})
    assert env["ANSIBLE_STRATEGY"] == "linear"
    first, mitogen = env["ANSIBLE_STRATEGY_PLUGINS"].split(":")
    assert first == "/x" and mitogen.endswith("ansible_mitogen/plugins/strategy")


def test_without_mitogen_stock_ansible_runs_and_asking_for_mitogen_is_an_error(monkeypatch):
    import pytest

    from voipctl.adapters import playbook
    from voipctl.errors import VoipctlError

    monkeypatch.setattr(playbook, "mitogen_strategies", lambda: None)
    assert playbook.strategy_environment({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin"}
    with pytest.raises(VoipctlError, match="mitogen is not installed"):
        playbook.strategy_environment({"ANSIBLE_STRATEGY": "mitogen_linear"})
