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
  - Manages Kamailio's C(htable) table, which the call server's C(cti) htable loads (C(dbtable=htable)).
options:
  entries:
    description:
      - Every entry of the htable; the whole table is managed.
      - A list of rows, or that list as one JSON string (what the role passes; why in
        docs/performance.md#rows-travel-as-one-json-string). Validated alike.
    type: raw
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
extends_documentation_fragment:
  - voip_table_sync
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

from ansible.module_utils.voip_kamailio_tables import TABLES
from ansible.module_utils.voip_table_sync import run_module


def main():
    run_module(**TABLES["htable"])


if __name__ == "__main__":
    main()
