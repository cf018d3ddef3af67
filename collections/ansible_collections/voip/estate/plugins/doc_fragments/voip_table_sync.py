"""Documentation shared by the Kamailio table modules (kamailio_tables, kamailio_trunks over module_utils/voip_table_sync).

Used with ``extends_documentation_fragment: [voip.estate.voip_table_sync]``.
Ansible merges fragments into DOCUMENTATION only, so each module keeps its
own (short) RETURN. A module adds the ``details`` of an attribute under its
own ``attributes``.
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  db:
    description: Path of Kamailio's sqlite database.
    type: path
    required: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""
