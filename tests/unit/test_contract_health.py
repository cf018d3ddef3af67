"""Contract: what playbooks/health.yml measures and what `voipctl health` (tools/voipctl/health.py) reads.

The playbook writes one JSON document per Linux host, per gateway, and one
for the estate (``_estate.json``); health.py judges them. Both sides are
parsed, not restated:

- the names a document carries: the keys of the ``__health`` the writing
  task builds, the keys of its literal dicts, the quoted words of its
  expressions (``dict(['registered', ...] | zip(...))``), the keys the
  filters it maps produce (their dict literals, and those of the derive
  functions they call), and for a registered result the module's RETURN
  keys and the task's list arguments (the commands whose outputs are keyed
  by them);
- the keys health.py reads of a document: every constant key of a
  ``.get("key")`` or ``["key"]`` on the document's parameter, or on a name
  assigned or looped from such a read, in the functions that take it.

Every key health.py reads must be a name the document carries, and every
top-level key of a document must be read, but for the few the operator
reads in the files (``UNREAD``, pinned).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "health.yml"
HEALTH = ROOT / "tools" / "voipctl" / "health.py"

# Which functions of health.py read which document, through which parameter.
READERS = {
    "linux": [("check_linux", "m"), ("_check_call_server", "m"), ("evaluate", "m")],
    "gateways": [("check_gateway", "m"), ("evaluate", "m")],
    "estate": [
        ("check_backups", "estate"),
        ("check_trunks", "estate"),
        ("evaluate", "estate"),
        ("check_linux", "estate"),
    ],
}
# Keys passing the model's own variables through (their contents are the schema's, validated there).
PASSTHROUGH = {"health_policy", "backup_policy", "release", "os_updates_policy"}
# Top-level keys written for the operator reading the files, not judged by health.py.
UNREAD = {
    "linux": set(),
    "gateways": {"site"},
    "estate": {"backup_policy", "release"},
}


# --- what the playbook writes -------------------------------------------------------------------


def _filter_names(name):
    """The dict keys filter ``name`` produces: its dict literals and those of the module functions it calls."""
    for path in sorted((ROOT / "collections/ansible_collections/voip/estate/plugins/filter").glob("*.py")):
        module = importlib.import_module(f"ansible_collections.voip.estate.plugins.filter.{path.stem}")
        function = getattr(module, name, None)
        if function is None:
            continue
        names = _dict_keys(function)
        for node in ast.walk(ast.parse(inspect.getsource(function))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = getattr(module, getattr(node.func.value, "id", ""), None)
                called = getattr(owner, node.func.attr, None)
                if inspect.isfunction(called):
                    names |= _dict_keys(called)
        return names
    raise AssertionError(f"playbooks/health.yml maps {name}, which no filter plugin defines")


def _dict_keys(function):
    """The constant keys of the dict literals in ``function`` (a module-level function)."""
    tree = ast.parse(inspect.getsource(function))
    return {
        k.value for node in ast.walk(tree) for k in getattr(node, "keys", []) if isinstance(k, ast.Constant)
    }


def _registered_names(tasks, variable):
    """The names in the result of the task that registers ``variable``: its module's RETURN, its list arguments."""
    for task in tasks:
        if task.get("register") != variable:
            continue
        module = next(key for key in task if key not in ("name", "register", "loop", "loop_control", "vars",
                                                           "when", "delegate_to", "become", "check_mode",
                                                           "changed_when", "failed_when"))  # fmt: skip
        arguments = task[module] if isinstance(task[module], dict) else {}
        names = {str(v) for value in arguments.values() if isinstance(value, list) for v in value}
        source = (
            ROOT
            / "collections/ansible_collections/voip/estate/plugins/modules"
            / f"{module.rsplit('.', 1)[-1]}.py"
        )
        if source.exists():
            text = source.read_text()
            names |= set(yaml.safe_load(re.search(r'RETURN = r"""(.*?)"""', text, re.S).group(1)))
        return names
    raise AssertionError(f"playbooks/health.yml uses {variable}, which no task registers")


def _names(value, tasks):
    """Every name a value of ``__health`` carries (see the module docstring)."""
    if isinstance(value, dict):
        return set(value) | {n for v in value.values() for n in _names(v, tasks)}
    text = str(value)
    names = set(re.findall(r"'([^']+)'", text))
    for variable in set(re.findall(r"\b(__health_\w+)", text)):
        names |= _registered_names(tasks, variable)
    for name in set(re.findall(r"\b(voip_\w+)\b", text)):
        if re.search(rf"map\('voip\.estate\.{name}'\)|\|\s*voip\.estate\.{name}\b", text):
            names |= _filter_names(name)
    return names


def written():
    """{document: (its top-level keys, every name it carries)} as playbooks/health.yml writes them."""
    documents = {}
    for play in yaml.safe_load(PLAYBOOK.read_text()):
        tasks = play.get("tasks") or []
        for task in tasks:
            health = (task.get("vars") or {}).get("__health")
            if not health:
                continue
            dest = task["ansible.builtin.copy"]["dest"]
            kind = "estate" if dest.endswith("/_estate.json") else play["hosts"]
            documents[kind] = (set(health), _names(health, tasks))
    return documents


# --- what health.py reads -----------------------------------------------------------------------


def _key(node):
    """The constant key ``node`` reads (``x.get("k")``, ``x["k"]``) and the expression read, else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
    ):
        key, owner = node.args[0], node.func.value
    elif isinstance(node, ast.Subscript):
        key, owner = node.slice, node.value
    else:
        return None
    return (key.value, owner) if isinstance(key, ast.Constant) and isinstance(key.value, str) else None


def _reads_of(value, tracked):
    """The keys ``value`` reads of a tracked name (a name holding the document or a part of it)."""
    found = []
    for node in ast.walk(value):
        read = _key(node)
        if read and {n.id for n in ast.walk(read[1]) if isinstance(n, ast.Name)} & tracked:
            found.append(read[0])
    return found


def read(function, parameter):
    """The keys ``function`` of health.py reads of the document it takes as ``parameter``."""
    tree = ast.parse(HEALTH.read_text())
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    tracked, keys = {parameter}, set()
    for _ in range(3):  # names assigned from reads, then reads of those
        for node in ast.walk(body):
            targets, value = [], None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, (ast.For, ast.comprehension)):
                targets, value = [node.target], node.iter
            reads = _reads_of(value, tracked) if value is not None else []
            if reads and not set(reads) & PASSTHROUGH:
                tracked |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        keys = set(_reads_of(body, tracked))
    return keys


# --- the contract -------------------------------------------------------------------------------


def test_the_playbook_writes_the_three_documents_health_reads():
    assert set(written()) == set(READERS)


def test_every_key_health_reads_is_written():
    documents = written()
    missing = {
        kind: sorted(key for function, parameter in readers for key in read(function, parameter)
                     if key not in documents[kind][1])
        for kind, readers in READERS.items()
    }  # fmt: skip
    assert missing == {kind: [] for kind in READERS}


def test_every_key_written_is_read_or_known_to_be_for_the_operator():
    documents = written()
    unread = {
        kind: documents[kind][0]
        - {key for function, parameter in readers for key in read(function, parameter)}
        for kind, readers in READERS.items()
    }
    assert unread == UNREAD
