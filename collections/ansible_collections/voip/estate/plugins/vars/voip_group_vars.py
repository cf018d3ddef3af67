"""Ansible's host_group_vars, with a fast path for large plain-data files."""

from __future__ import annotations

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
        - The estate model's variables (C(voip_users), C(voip_sites), C(voip_gateway), ... as listed in
          C(voipctl.model.schema)) are data in every file, never templates. Other variables of a file
          that holds Jinja (connection settings, paths) are templated as usual.
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

from ansible.plugins.vars.host_group_vars import VarsModule as HostGroupVars
from ansible.utils.vars import combine_vars

try:
    from voipctl.adapters.varsfiles import fast_load as _fast_load
    from voipctl.model.schema import ESTATE_VARS, HOST_VARS
except ImportError:  # pragma: no cover - without the voipctl package every file takes Ansible's path
    ESTATE_VARS = HOST_VARS = {}

    def _fast_load(path):
        return None


# The estate model's variables: data, never templates (a user name holding
# "{{ lookup('pipe', ...) }}" must stay that text, not run on the controller).
MODEL_VARS = frozenset(ESTATE_VARS) | frozenset(HOST_VARS)


def _load_with_ansible(loader, path):
    """Ansible's loader, with templates trusted except in the estate model's variables."""
    data = loader.load_from_file(path, cache="all", unsafe=True, trusted_as_template=True)
    if not isinstance(data, dict) or MODEL_VARS.isdisjoint(data):
        return data
    untrusted = loader.load_from_file(path, cache="none", unsafe=True, trusted_as_template=False)
    return {name: untrusted[name] if name in MODEL_VARS else value for name, value in data.items()}


class _NotInCollections:
    """An attribute the class must not seem to have: ``hasattr`` is False on it."""

    def __get__(self, instance, owner=None):
        raise AttributeError("REQUIRES_ENABLED")


class VarsModule(HostGroupVars):
    is_stateless = True
    # host_group_vars' REQUIRES_ENABLED means nothing for a collection's vars plugin (they are
    # always enabled by name, ansible.cfg vars_plugins_enabled); Ansible warns on every run while
    # the class has it, so the inherited attribute is hidden.
    REQUIRES_ENABLED = _NotInCollections()

    def load_found_files(self, loader, data, found_files):
        for found in found_files:
            new_data = _fast_load(found)
            if new_data is None:
                new_data = _load_with_ansible(loader, found)
            if new_data:
                data = combine_vars(data, new_data)
        return data
