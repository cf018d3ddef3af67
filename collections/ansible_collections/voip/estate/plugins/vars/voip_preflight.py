"""Validate the estate model while Ansible reads the inventory, before any play starts."""

from __future__ import annotations

DOCUMENTATION = """
    name: voip_preflight
    short_description: refuse an inventory whose estate model has errors, whatever --limit, --tags or --start-at-task say
    requirements:
        - Enabled in configuration (vars_plugins_enabled)
        - The voipctl package (make venv)
    description:
        - Validates the estate model as Ansible loaded it (groups, hosts and their variables from any
          inventory source, group_vars and host_vars from the other vars plugins), once, while the
          inventory is parsed; C(voipctl validate) gives the same findings. With errors, Ansible stops
          with every finding (file, line, key path) before any play starts, so no task runs on any host and nothing in the model is templated.
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

from ansible.errors import AnsibleError
from ansible.plugins.vars import BaseVarsPlugin

_IMPORT_ERROR = None
try:
    from voipctl.preflight import active, preflight, report
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    preflight = None
    _IMPORT_ERROR = exc


class VarsModule(BaseVarsPlugin):
    is_stateless = True

    def get_vars(self, loader, path, entities, cache=True):
        super().get_vars(loader, path, entities)
        if preflight is None:
            raise AnsibleError(f"voip_preflight needs the voipctl package (run `make venv`): {_IMPORT_ERROR}")
        if not active():
            return {}  # voipctl reading a few variables in-process (voipctl.preflight.suspended)
        source, result = preflight(loader, path, entities)
        if result.errors:
            raise AnsibleError(report(source, result))
        return {}
