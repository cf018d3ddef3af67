"""The filter plugins of voip.estate: every filter is documented, and every filter file loads without voipctl.

One plugin file holds several filters, so each filter has its documentation in
``plugins/filter/<filter name>.yml`` beside it, where ansible-doc looks for it.
Without the voipctl package (``make venv``) the files still load (ansible-doc,
ansible-test's import test) and the filters that need voipctl fail with an
error that names the package and the fix.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / "collections"
FILTER_DIR = COLLECTIONS / "ansible_collections/voip/estate/plugins/filter"
PACKAGE = "ansible_collections.voip.estate.plugins.filter"
FILES = sorted(p.stem for p in FILTER_DIR.glob("*.py"))

# Filters that need nothing of voipctl, with an input and what they give for it (without voipctl too).
WITHOUT_VOIPCTL = {
    "voip_backup_items": (({"all": ["/etc"], "web": ["/etc", "/srv"]}, ["all", "web"]), ["/etc", "/srv"]),
    "voip_apt_pin": (({"key": "kamailio", "value": "5.6.3-2"},), "kamailio=5.6.3-2"),
    "voip_apt_missing": (
        ({"kamailio": "5.6.3-2", "netbase": "6.4"}, {"netbase": [{"version": "6.4"}]}),
        ["kamailio=5.6.3-2"],
    ),
    "voip_apt_restore": (
        ({"kamailio": "5.6.3-2"}, {}, "  kamailio | 5.6.3-2 | http://r ./ Packages\n"),
        {"install": ["kamailio=5.6.3-2"], "substituted": [], "unoffered": []},
    ),
    "voip_backup_batch": (
        (
            ["gw1"],
            {
                "gw1": {
                    "group_names": ["gateways"],
                    "host_backup_point": "20261122T023000Z",
                    "__host_backup_device": {"path": "/s/clear/gw1/running-config"},
                }
            },
            "/s/clear",
        ),
        [
            {
                "host": "gw1",
                "stamp": "20261122T023000Z",
                "kind": "gateway",
                "packages": {},
                "files": [{"src": "/s/clear/gw1/running-config", "name": "running-config"}],
            }
        ],
    ),
    "voip_health_mount": (
        ({"mount": "/var", "size_total": 200, "size_available": 50},),
        {"mount": "/var", "used_pct": 75.0},
    ),
    "voip_health_point": (("/srv/backup/cs1/20250101T0200Z",), {"host": "cs1", "stamp": "20250101T0200Z"}),
    "voip_health_trunk": (
        ({"item": {"name": "t1", "address": "192.0.2.1"}, "ok": True, "status": 200, "latency_ms": 1.5},),
        {"name": "t1", "address": "192.0.2.1", "ok": True, "status": 200, "latency_ms": 1.5, "msg": ""},
    ),
    "voip_pin_versions": ((["kamailio", "rtpengine"], "kamailio", "5.6"), ["kamailio=5.6*", "rtpengine"]),
}


def _filters():
    """{filter name: (plugin file stem, function)} as the FilterModules give them."""
    found = {}
    for stem in FILES:
        module = importlib.import_module(f"{PACKAGE}.{stem}")
        for name, function in module.FilterModule().filters().items():
            assert name not in found, f"{name} in {stem} and {found[name][0]}"
            found[name] = (stem, function)
    return found


FILTERS = _filters()


def _environment():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    return env


@pytest.fixture(scope="module")
def rendered():
    """ansible-doc's JSON for every filter, in one run."""
    names = [f"voip.estate.{name}" for name in sorted(FILTERS)]
    ansible_doc = shutil.which("ansible-doc", path=str(Path(sys.executable).parent)) or "ansible-doc"
    run = subprocess.run(
        [ansible_doc, "-t", "filter", "--json", *names],
        capture_output=True, text=True, env=_environment(), cwd=ROOT, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    return json.loads(run.stdout)


def test_the_filters_are_found():
    assert len(FILES) >= 8 and len(FILTERS) >= 23


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_has_its_own_doc_file(name):
    stem, function = FILTERS[name]
    assert (FILTER_DIR / f"{name}.yml").is_file(), f"{name} (plugins/filter/{stem}.py) has no {name}.yml"
    assert function.__module__ == f"{PACKAGE}.{stem}"


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_ansible_doc_renders_each_filter_with_its_parameters(rendered, name):
    entry = rendered.get(f"voip.estate.{name}")
    assert entry, f"ansible-doc gave nothing for voip.estate.{name}"
    doc = entry["doc"]
    assert doc["name"] == name
    assert doc["filename"].endswith(f"plugins/filter/{name}.yml")
    assert doc["short_description"] and doc["description"]
    assert doc["author"] == ["voip-estate authors (@voip-estate)"]
    assert entry["examples"] and f"voip.estate.{name}" in entry["examples"]
    assert entry["return"]["_value"]["description"]
    parameters = list(inspect.signature(FILTERS[name][1]).parameters.values())
    # The piped value is _input; the others are the function's own parameters.
    expected = ["_input", *(p.name for p in parameters[1:])]
    assert sorted(doc["options"]) == sorted(expected)  # ansible-doc sorts them; positional keeps the order
    assert [p.strip() for p in doc["positional"].split(",")] == expected
    for parameter in parameters[1:]:
        option = doc["options"][parameter.name]
        assert option.get("type"), f"{name}: {parameter.name} has no type"
        if parameter.default is inspect.Parameter.empty:
            assert option.get("required") is True, f"{name}: {parameter.name} is required"
        else:
            assert not option.get("required"), f"{name}: {parameter.name} has a default"
            default = list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default
            assert option.get("default") == default, f"{name}: {parameter.name}'s default"


def test_every_filter_is_classed_with_or_without_voipctl():
    assert set(WITHOUT_VOIPCTL) <= set(FILTERS)


# Run in a fresh interpreter: voipctl cannot be imported there (whatever sys.path holds), the
# collection loads through Ansible's finder, and each filter is called once.
WITHOUT_VOIPCTL_SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, json, sys

    class NoVoipctl(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "voipctl" or name.startswith("voipctl."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoVoipctl())
    from ansible.errors import AnsibleFilterError
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
    calls = json.loads(sys.argv[2])
    outcome = {}
    for stem in sys.argv[3:]:
        module = importlib.import_module(f"ansible_collections.voip.estate.plugins.filter.{stem}")
        for name, function in module.FilterModule().filters().items():
            args = calls.get(name) or [None] * function.__code__.co_argcount
            try:
                outcome[name] = ["ok", function(*args)]
            except AnsibleFilterError as exc:
                outcome[name] = ["AnsibleFilterError", str(exc)]
            except Exception as exc:
                outcome[name] = [type(exc).__name__, str(exc)]
    for plugin in ("action.voip_validate", "vars.voip_preflight", "vars.voip_group_vars"):
        importlib.import_module(f"ansible_collections.voip.estate.plugins.{plugin}")
    assert not any(m == "voipctl" or m.startswith("voipctl.") for m in sys.modules)
    print(json.dumps(outcome))
    """
)


@pytest.fixture(scope="module")
def without_voipctl():
    calls = {name: list(args) for name, (args, _) in WITHOUT_VOIPCTL.items()}
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_VOIPCTL_SCRIPT, str(COLLECTIONS), json.dumps(calls), *FILES],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=""), cwd=ROOT, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_plugin_files_import_without_voipctl(without_voipctl):
    assert set(without_voipctl) == set(FILTERS)


@pytest.mark.parametrize("name", sorted(set(FILTERS) - set(WITHOUT_VOIPCTL)))
def test_a_filter_that_needs_voipctl_says_so_without_it(without_voipctl, name):
    kind, message = without_voipctl[name]
    assert kind == "AnsibleFilterError", message
    assert message.startswith(
        f"{name} needs the voipctl package (run `make venv`): No module named 'voipctl"
    ), message


@pytest.mark.parametrize("name", sorted(WITHOUT_VOIPCTL))
def test_a_filter_that_needs_no_voipctl_works_without_it(without_voipctl, name):
    args, expected = WITHOUT_VOIPCTL[name]
    assert without_voipctl[name] == ["ok", expected]
    assert FILTERS[name][1](*args) == expected
