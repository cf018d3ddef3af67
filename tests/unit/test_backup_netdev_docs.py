"""The backup and netdev modules' documentation, as ansible-doc reads it, is true to their argument spec."""

from __future__ import annotations

import importlib

import pytest
import yaml
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring

MODULES = [
    "backup_archive",
    "backup_extract",
    "backup_open",
    "backup_prune",
    "backup_seal",
    "backup_store",
    "netdev_backup",
    "netdev_command",
    "netdev_config",
]
FIELDS = (("type", "str"), ("required", False), ("default", None), ("choices", None), ("elements", None))


class _Spec(Exception):
    """Raised by the stand-in AnsibleModule with the keyword arguments the module passed."""


def module_spec(module) -> dict:
    """The keyword arguments ``module.main()`` gives AnsibleModule (argument_spec, supports_check_mode, ...)."""

    def record(**kwargs):
        raise _Spec(kwargs)

    original = module.AnsibleModule
    module.AnsibleModule = record
    try:
        with pytest.raises(_Spec) as caught:
            module.main()
    finally:
        module.AnsibleModule = original
    return caught.value.args[0]


def compare(spec: dict, options: dict, path: str = "") -> None:
    assert set(spec) == set(options), path or "options"
    for name, arg in spec.items():
        for field, default in FIELDS:
            assert arg.get(field, default) == options[name].get(field, default), f"{path}{name}.{field}"
        if "options" in arg or "suboptions" in options[name]:
            compare(arg.get("options", {}), options[name].get("suboptions", {}), f"{path}{name}.")


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec(name):
    module = importlib.import_module(f"ansible_collections.voip.estate.plugins.modules.{name}")
    # As ansible-doc reads it: the module's YAML with the doc fragments merged in.
    doc = get_docstring(module.__file__, fragment_loader, collection_name="voip.estate", is_module=True)[0]
    assert doc["module"] == name
    assert yaml.safe_load(module.EXAMPLES) and yaml.safe_load(module.RETURN)
    assert doc["author"] == ["voip-estate authors (@voip-estate)"]
    kwargs = module_spec(module)
    compare(kwargs["argument_spec"], doc["options"])
    check = doc["attributes"]["check_mode"]
    assert check["description"] and doc["attributes"]["diff_mode"]["description"]
    assert (check["support"] != "none") == kwargs.get("supports_check_mode", False)
    for task in yaml.safe_load(module.EXAMPLES):
        assert f"voip.estate.{name}" in task, task["name"]
