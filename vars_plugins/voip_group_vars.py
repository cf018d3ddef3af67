"""Ansible's host_group_vars, with a fast path for large plain-data files."""

from __future__ import annotations

from ansible.plugins.vars.host_group_vars import VarsModule as HostGroupVars
from ansible.utils.vars import combine_vars

try:
    from voipctl.model import fastyaml
except ImportError:  # pragma: no cover - without the voipctl package every file takes Ansible's path
    fastyaml = None

DOCUMENTATION = """
    name: voip_group_vars
    short_description: group_vars and host_vars, plain-data files read with the inventory's fast YAML parser
    requirements:
        - Enabled in configuration (instead of host_group_vars)
    description:
        - Loads group_vars/ and host_vars/ exactly like C(ansible.builtin.host_group_vars).
        - A file without Jinja expressions or statements that is not vault-encrypted and stays inside the
          plain YAML subset of C(voipctl.model.fastyaml) is parsed by that parser; every other file
          goes through Ansible's loader. The user directory (thousands of users) then loads in a
          fraction of a second instead of many seconds, with the same values.
        - Fast-path values are plain data, not templates (such files hold no Jinja by definition).
    options:
      stage:
        ini:
          - key: stage
            section: vars_voip_group_vars
        env:
          - name: ANSIBLE_VARS_PLUGIN_STAGE
    extends_documentation_fragment:
      - vars_plugin_staging
"""

_FAST = {}


def _fast_load(path):
    """The file's data by the fast parser, or None when it must go through Ansible's loader."""
    if fastyaml is None:
        return None
    if path in _FAST:
        return _FAST[path]
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    if text.startswith("$ANSIBLE_VAULT") or "{{" in text or "{%" in text:
        return None
    try:
        data = fastyaml.parse(text)
    except fastyaml.Unsupported:
        return None
    if data is not None and not isinstance(data, dict):
        return None
    _FAST[path] = data or {}
    return _FAST[path]


class VarsModule(HostGroupVars):
    REQUIRES_ENABLED = True
    is_stateless = True

    def load_found_files(self, loader, data, found_files):
        for found in found_files:
            new_data = _fast_load(found)
            if new_data is None:
                new_data = loader.load_from_file(found, cache="all", unsafe=True, trusted_as_template=True)
            if new_data:
                data = combine_vars(data, new_data)
        return data
