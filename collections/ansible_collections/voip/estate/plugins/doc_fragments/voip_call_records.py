"""Documentation of the option shared by call_records and call_stats: where the call records are.

Used with ``extends_documentation_fragment: [voip.estate.voip_call_records]``.
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  db:
    description:
      - Path of the call records database the kamailio role keeps (Kamailio acc rows, opened
        read-only).
    type: path
    default: /var/lib/kamailio/calls.sqlite
"""
