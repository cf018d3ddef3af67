"""Documentation shared by the Kamailio table modules (library/kamailio_tables.py and kamailio_trunks.py over module_utils/voip_table_sync).

Used with ``extends_documentation_fragment: [voip_table_sync]``; ansible.cfg
puts this directory on the doc fragment path. Ansible merges fragments into
DOCUMENTATION only, so each module keeps its own (short) RETURN.
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
    support: full
  diff_mode:
    support: full
"""
