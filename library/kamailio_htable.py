#!/usr/bin/python
"""Sync the rows of one Kamailio htable kept in the database, in one call."""

DOCUMENTATION = r"""
module: kamailio_htable
short_description: Bring the database rows of a Kamailio htable to the desired set in one call
description:
  - Reads Kamailio's C(htable) database table once, computes the rows to add, change and remove,
    and writes only the difference in one transaction.
  - Kamailio loads the table at start; reload it with C(kamcmd htable.reload NAME) after a change.
  - Values are treated as secrets (for example credential digests of CTI accounts); they never
    appear in the returned changes or the diff.
options:
  db:
    description: Path of Kamailio's sqlite database.
    type: path
    required: true
  table:
    description: Database table the htable is loaded from (the htable's C(dbtable)).
    type: str
    default: htable
  entries:
    description: Every entry of the htable; the whole table is managed.
    type: list
    elements: dict
    required: true
    suboptions:
      key_name:
        description: The entry's key.
        type: str
        required: true
      key_type:
        description: 0 for a plain key, 1 for an array key.
        type: int
        default: 0
      value_type:
        description: 0 for a string value, 1 for an integer.
        type: int
        default: 0
      key_value:
        description: The value (never shown).
        type: str
        required: true
      expires:
        description: Expiry as a UNIX time, 0 for never.
        type: int
        default: 0
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: voip-estate
"""

EXAMPLES = r"""
- name: Sync the CTI accounts' credential digests
  kamailio_htable:
    db: /var/lib/kamailio/kamailio.sqlite
    entries: "{{ kamailio_data.cti_credentials }}"
  notify: Reload kamailio CTI credentials
"""

RETURN = r"""
counts:
  description: Rows added, changed, removed, and the total wanted.
  type: dict
  returned: always
  sample: {added: 1, changed: 0, removed: 0, total: 2}
changes:
  description: The rows concerned, by key, with the names of changed fields (values masked).
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voip_table_sync import run_module

ROW = {
    "key_name": {"type": "str", "required": True},
    "key_type": {"type": "int", "default": 0},
    "value_type": {"type": "int", "default": 0},
    "key_value": {"type": "str", "required": True, "no_log": True},
    "expires": {"type": "int", "default": 0},
}


def main():
    module = AnsibleModule(
        argument_spec={
            "db": {"type": "path", "required": True},
            "table": {"type": "str", "default": "htable"},
            "entries": {"type": "list", "elements": "dict", "required": True, "options": ROW},
        },
        supports_check_mode=True,
    )
    run_module(
        module,
        module.params["table"],
        ["key_name"],
        ["key_type", "value_type", "key_value", "expires"],
        "entries",
        secret_columns=["key_value"],
    )


if __name__ == "__main__":
    main()
