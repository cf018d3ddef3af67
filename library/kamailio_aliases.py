#!/usr/bin/python
"""Sync Kamailio's alias table (DIDs, hunt groups) in one call."""

DOCUMENTATION = r"""
module: kamailio_aliases
short_description: Bring Kamailio's alias table (DIDs and hunt groups) to the desired rows in one call
description:
  - Reads Kamailio's C(dbaliases) table once, computes the rows to add, change and remove,
    and writes only the difference in one transaction.
  - A DID maps to one user; a hunt group number maps to each member (one row per member, parallel ring).
options:
  aliases:
    description:
      - Every alias of the call server; the whole table is managed.
      - A list of rows, or that list as one JSON string (what the role passes; why in
        docs/performance.md#rows-travel-as-one-json-string). Validated alike.
    type: raw
    required: true
    suboptions:
      alias_username:
        description: The dialled number (DID or hunt group number).
        type: str
        required: true
      alias_domain:
        description: Domain of the alias.
        type: str
        required: true
      username:
        description: The user it reaches (extension).
        type: str
        required: true
      domain:
        description: Domain of that user.
        type: str
        required: true
extends_documentation_fragment:
  - voip_table_sync
author: voip-estate
"""

EXAMPLES = r"""
- name: Sync DIDs and hunt groups
  kamailio_aliases:
    db: /var/lib/kamailio/kamailio.sqlite
    aliases: "{{ kamailio_data.aliases }}"
"""

RETURN = r"""
counts:
  description: Rows added, changed, removed, and the total wanted.
  type: dict
  returned: always
  sample: {added: 1, changed: 0, removed: 0, total: 4}
changes:
  description: The rows concerned, by key, with the names of changed fields.
  type: dict
  returned: always
"""

from ansible.module_utils.voip_kamailio_tables import TABLES
from ansible.module_utils.voip_table_sync import run_module


def main():
    run_module(**TABLES["aliases"])


if __name__ == "__main__":
    main()
