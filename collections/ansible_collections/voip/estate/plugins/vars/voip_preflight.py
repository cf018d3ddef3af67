"""Validate the estate model while Ansible reads the inventory, before any play starts."""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.plugins.vars import BaseVarsPlugin

try:
    from voipctl.preflight import active, report, validated
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    validated = None
    _IMPORT_ERROR = exc

DOCUMENTATION = """
    name: voip_preflight
    short_description: refuse an inventory whose estate model has errors, whatever --limit, --tags or --start-at-task say
    requirements:
        - Enabled in configuration (vars_plugins_enabled)
        - The voipctl package (make venv)
    description:
        - Runs C(voipctl validate) on every inventory directory or file Ansible reads, once, while the
          inventory is parsed. With errors, Ansible stops with every finding (file, line, key path)
          before any play starts, so no task runs on any host and nothing in the model is templated.
        - The preflight play (C(playbooks/preflight.yml)) runs the same validation and shows the warnings;
          it cannot be skipped by host or tag selection, this plugin cannot be skipped at all.
        - Adds no variables.
    options:
      stage:
        description: When to run; the inventory stage is the point of this plugin.
        default: inventory
        choices: [inventory, all]
        ini:
          - key: stage
            section: vars_voip_preflight
"""


class VarsModule(BaseVarsPlugin):
    is_stateless = True

    def get_vars(self, loader, path, entities, cache=True):
        super().get_vars(loader, path, entities)
        if validated is None:
            raise AnsibleError(f"voip_preflight needs the voipctl package (run `make venv`): {_IMPORT_ERROR}")
        if not active():
            return {}  # voipctl reading a few variables in-process (voipctl.preflight.suspended)
        source = os.path.abspath(path)
        result = validated(source)
        if result.errors:
            raise AnsibleError(report(source, result))
        return {}
