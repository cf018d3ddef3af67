"""The import arrows of the tools package point one way (DESIGN.md section 2).

An import graph read with ``ast`` over tools/ (nothing is imported):
ops (the top-level voipctl modules) -> derive -> model -> core, with
voipctl.adapters beside them; core, model and derive import neither Ansible
nor voipctl.adapters nor the lab; the product (voipctl) never imports the
lab (voiplab), which may import the product.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
# Layers of the product that may import, each, only these (besides the standard library and third parties).
ALLOWED = {
    "core": {"core"},
    "model": {"core", "model"},
    "derive": {"core", "model", "derive"},
}
# Never imported by core, model or derive: Ansible and its adapters, the lab, the operator's commands.
FORBIDDEN_BELOW = {"Ansible", "adapters", "voiplab", "ops"}


@functools.cache
def tree(path: Path) -> ast.Module:
    """The parsed source of ``path`` (read once for all the tests)."""
    return ast.parse(path.read_text(), str(path))


def module_of(path: Path, root: Path = TOOLS) -> str:
    """``tools/voipctl/model/types.py`` -> ``voipctl.model.types`` (a package: its ``__init__``'s name)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, root: Path = TOOLS) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, nested and lazy ones included; relative ones resolved.

    ``from a.b import c`` counts as ``a.b.c`` (c may be a module or a name of a.b: both sit in a.b's layer).
    """
    here = module_of(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return sorted(found)


def layer(module: str) -> str:
    """The layer a dotted module name belongs to (``third-party`` for anything outside ours)."""
    parts = module.split(".")
    if parts[0] in ("ansible", "ansible_runner"):
        return "Ansible"
    if parts[0] == "voiplab":
        return "voiplab"
    if parts[0] != "voipctl":
        return "third-party"
    if len(parts) > 1 and parts[1] in ("core", "model", "derive", "adapters"):
        return parts[1]
    return "ops"


def sources(package: str, root: Path = TOOLS) -> list[Path]:
    return sorted((root / package.replace(".", "/")).rglob("*.py"))


def violations(package: str, allowed: set[str] | None, forbidden: set[str], root: Path = TOOLS) -> list[str]:
    """``file:line imports module (layer)`` for each import of ``package``'s files breaking the rule."""
    bad = []
    for path in sources(package, root):
        for line, module in imported(path, root):
            kind = layer(module)
            ours = kind not in ("third-party", "Ansible")
            if kind in forbidden or (allowed is not None and ours and kind not in allowed):
                bad.append(f"{path.relative_to(root)}:{line} imports {module} ({kind})")
    return bad


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_each_lower_layer_imports_only_itself_and_the_layers_below(name):
    assert violations(f"voipctl.{name}", ALLOWED[name], FORBIDDEN_BELOW) == []


def test_the_product_never_imports_the_lab():
    assert violations("voipctl", None, {"voiplab"}) == []


def test_the_product_names_lab_modules_only_as_commands_of_the_cli():
    """cli.COMMANDS loads the lab's ``voipctl lab``/``drill`` commands by name: the one plug point."""
    named = [
        f"{path.relative_to(TOOLS)}:{node.lineno} {node.value}"
        for path in sources("voipctl")
        for node in ast.walk(tree(path))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and node.value.split(".")[0] == "voiplab" and node.value.replace(".", "").isidentifier()
    ]  # fmt: skip
    assert named and all(item.startswith("voipctl/cli.py:") for item in named), named


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("voipctl.core.dates", "core"),
        ("voipctl.model.types.shown", "model"),
        ("voipctl.derive", "derive"),
        ("voipctl.derive.users", "derive"),
        ("voipctl.adapters.vars.plain", "adapters"),
        ("voipctl.errors.VoipctlError", "ops"),
        ("voipctl.__version__", "ops"),
        ("voiplab.lab", "voiplab"),
        ("ansible.errors", "Ansible"),
        ("ansible_runner", "Ansible"),
        ("pydantic", "third-party"),
    ],
)
def test_layer_of_a_module(module, expected):
    assert layer(module) == expected


def test_the_graph_sees_lazy_relative_and_from_imports(tmp_path):
    package = tmp_path / "voipctl" / "derive"
    package.mkdir(parents=True)
    (package / "x.py").write_text(
        "import json\nfrom . import users\nfrom ..model.types import shown\n"
        "def f():\n    from voipctl.adapters import vars\n"
    )
    assert imported(package / "x.py", tmp_path) == [
        (1, "json"),
        (2, "voipctl.derive.users"),
        (3, "voipctl.model.types.shown"),
        (5, "voipctl.adapters.vars"),
    ]
    assert violations("voipctl.derive", ALLOWED["derive"], FORBIDDEN_BELOW, tmp_path) == [
        "voipctl/derive/x.py:5 imports voipctl.adapters.vars (adapters)"
    ]
