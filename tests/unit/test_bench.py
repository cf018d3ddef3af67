"""bench/: the inventories the benchmarks converge the lab with, and the report.

The benchmarks themselves run in `make bench`; these tests keep what they
apply to the lab valid, so a bench run never stops at the preflight.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from voipctl.model.checks import validate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
lab_estate = importlib.import_module("lab_estate")
gateways = importlib.import_module("gateways")
bench_run = importlib.import_module("run")


@pytest.mark.parametrize("users", [100, 1_000])
def test_lab_estate_validates_with_generated_users(tmp_path, users):
    path = lab_estate.lab_estate(users, tmp_path)
    result = validate(path)
    assert not result.errors, [str(p) for p in result.errors]
    directory = yaml.safe_load((path / "group_vars/all/users.yml").read_text())["voip_users"]
    assert len(directory) == users
    # Every host of the lab stays; only the directory and what refers to it moved.
    assert (path / "hosts.yml").read_text() == (ROOT / "inventory/lab/hosts.yml").read_text()
    assert (path / "group_vars/all/vault.yml").read_bytes() == (
        ROOT / "inventory/lab/group_vars/all/vault.yml"
    ).read_bytes()
    macs = {d["mac"] for u in directory for d in u.get("devices") or []}
    switch = yaml.safe_load((path / "host_vars/sw1/switch.yml").read_text())["voip_switch"]
    patched = [p["phone_mac"] for p in switch["ports"] if "phone_mac" in p]
    assert patched and set(patched) <= macs


def test_lab_estate_test_call_users_are_active_at_their_site(tmp_path):
    path = lab_estate.lab_estate(100, tmp_path)
    directory = {
        u["id"]: u for u in yaml.safe_load((path / "group_vars/all/users.yml").read_text())["voip_users"]
    }
    call = yaml.safe_load((path / "host_vars/cs1/call_server.yml").read_text())["voip_call_server"][
        "test_call"
    ]
    for role in ("caller", "callee"):
        user = directory[call[role]]
        assert user["status"] == "active" and user["site"] == "ams"


def test_gateway_inventory_adds_the_simulators_as_gateways(tmp_path):
    sims = [gateways.Simulator(f"bgw{n:03d}", f"127.77.0.{n + 1}", None) for n in (1, 2, 3)]
    path = gateways.inventory(sims, tmp_path)
    assert not validate(path).errors
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(path), "--graph", "gateways"],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "PATH": str(Path(sys.executable).parent)},
    ).stdout  # fmt: skip
    for sim in sims:
        assert sim.name in listed
    assert "gw1" in listed


def test_report_rows_are_the_table_rows(tmp_path, capsys):
    figures = [
        bench_run.Figure("a", "first figure", "s", values=[3.0, 1.0, 2.0]).settle(),
        bench_run.Figure("b", "second figure", "files", values=[0, 0], goal="0").settle(),
    ]
    assert figures[0].value == 2.0
    bench_run.show(figures, 3)
    table = capsys.readouterr().out
    for figure in figures:
        assert figure.label in table
    assert "2.00 s" in table and "0 files" in table
    # The JSON the bench writes is the same rows.
    rows = json.loads(json.dumps([bench_run.asdict(f) for f in figures]))
    assert [r["label"] for r in rows] == [f.label for f in figures]


def test_a_ratio_below_one_is_shown_with_three_decimals(capsys):
    """The validate / PyYAML ratio has the goal 0.1: 0.104 must not show as a met-looking 0.10."""
    ratio = bench_run.Figure("r", "a ratio", "x", value=0.104, goal="<= 0.1", met=False)
    big = bench_run.Figure("n", "a big ratio", "x", value=62.04)
    bench_run.show([ratio, big], 3)
    table = capsys.readouterr().out
    assert "0.104 x" in table and "62.04 x" in table


def test_the_pyyaml_reference_load_reads_the_file(tmp_path):
    validate_bench = bench_run.validate_bench
    users = tmp_path / "users.yml"
    users.write_text("voip_users:\n  - id: a\n")
    assert validate_bench.pyyaml_load_seconds(users) > 0
    users.write_text("voip_users: []\n")
    with pytest.raises(subprocess.CalledProcessError):
        validate_bench.pyyaml_load_seconds(users)  # nothing read: no figure


def test_the_naive_playbook_reads_only_variables_that_exist():
    """bench/naive_users.yml reads the kamailio role's defaults and vars, Ansible's own names and its own facts.

    A variable the role no longer has (as kamailio_data once was) stops the
    bench at the naive step; this finds it without a lab.
    """
    from jinja2 import Environment, meta

    playbook = ROOT / "bench" / "naive_users.yml"
    play = yaml.safe_load(playbook.read_text())[0]
    known = set()
    for name in play["vars_files"]:
        known |= set(yaml.safe_load((playbook.parent / name).read_text()) or {})
    known |= {"inventory_hostname", "hostvars", "groups", "item"}
    known |= {task["register"] for task in play["tasks"] if "register" in task}
    known |= {name for task in play["tasks"] for name in task.get("ansible.builtin.set_fact", {})}

    class AnyFilter(dict):
        """Every filter name is known: only variables are checked here."""

        def __contains__(self, name):
            return True

        def get(self, name, default=None):
            return super().get(name) or (lambda *args, **kwargs: None)

    env = Environment()
    env.filters = AnyFilter(env.filters)
    env.tests = AnyFilter(env.tests)
    used = set()

    def walk(value):
        if isinstance(value, str) and "{{" in value:
            used.update(meta.find_undeclared_variables(env.parse(value)))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for task in play["tasks"]:
        walk(task)
        for key in ("changed_when", "when"):
            if isinstance(task.get(key), str):
                used.update(meta.find_undeclared_variables(env.parse("{{ " + task[key] + " }}")))
    assert used, "no variable found: the walk is broken"
    assert used <= known, f"undefined in {playbook.name}: {sorted(used - known)}"


def test_pair_figures_come_from_the_lab_tests_bench_lines(monkeypatch):
    """The pair's figures are read from the `bench:` lines the lab tests print; the goals judge them."""
    outputs = iter(
        [
            "....\nbench: failover_local_call=1.030 failover_other_site_call=2.610\n"
            "bench: failover_recovered=0.000\nbench: failover_recovered=0.010\n2 passed",
            "bench: failover_local_call=1.200 failover_other_site_call=2.700\n"
            "bench: failover_recovered=6.500\nbench: failover_recovered=0.000\n2 passed",
            "bench: release_capacity=0.9125\n1 passed",
        ]
    )
    commands = []
    monkeypatch.setattr(bench_run, "run", lambda cmd, **kw: (commands.append(cmd) or 0.0, next(outputs)))
    monkeypatch.setattr(bench_run, "step", lambda text: None)
    figures = {f.key: f for f in bench_run.bench_pair(2)}
    assert figures["failover_local_call"].values == [1.03, 1.2]
    assert figures["failover_recovered"].values == [0.01, 6.5], "the worse load of each run"
    assert figures["failover_recovered"].value == 6.5 and figures["failover_recovered"].met is False, (
        "every run must recover within 5 s: the worst run is the figure"
    )
    assert figures["failover_other_site_call"].met is True
    assert figures["release_capacity"].value == pytest.approx(91.25) and figures["release_capacity"].met
    assert any("test_pair_failover.py" in " ".join(c) for c in commands)


def test_a_lab_test_without_its_bench_line_stops_the_pair_bench(monkeypatch):
    monkeypatch.setattr(bench_run, "run", lambda cmd, **kw: (0.0, "1 passed"))
    monkeypatch.setattr(bench_run, "step", lambda text: None)
    with pytest.raises(bench_run.BenchError, match="printed no failover_local_call"):
        bench_run.bench_pair(1)
