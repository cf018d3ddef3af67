"""The filter files' import guard (the collection's plugin_utils.voip_import_guard), and every filter file using it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

ROOT = Path(__file__).resolve().parents[2]


def test_a_failed_import_is_kept_and_each_filter_names_itself_and_the_fix():
    with ImportGuard() as need_voipctl:
        from voipctl.no_such_module import anything  # noqa: F401
    with pytest.raises(
        AnsibleFilterError, match=r"^voip_x needs the voipctl package \(run `make venv`\): No module"
    ):
        need_voipctl("voip_x")


def test_good_imports_pass_the_check():
    with ImportGuard() as need_voipctl:
        from voipctl.derive import release  # noqa: F401
    need_voipctl("voip_x")


def test_other_errors_are_not_hidden():
    with pytest.raises(ZeroDivisionError), ImportGuard():
        _ = 1 / 0


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "collections/ansible_collections/voip/estate/plugins/filter").glob("*.py")),
    ids=lambda p: p.name,
)
def test_filter_files_import_voipctl_only_under_the_guard(path):
    """Every voipctl import is under the guard (the file loads without voipctl), and no file keeps a guard
    of its own (try/except ImportError)."""
    tree = ast.parse(path.read_text())
    guarded = [n for w in tree.body if isinstance(w, ast.With) for n in ast.walk(w)]
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if any(name.split(".")[0] == "voipctl" for name in names):
            assert node in guarded, f"{path.name}: {names}"
        if isinstance(node, ast.ExceptHandler):
            assert "ImportError" not in ast.dump(node.type), path.name
