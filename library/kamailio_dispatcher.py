#!/usr/bin/python
"""Sync Kamailio's dispatcher destinations (trunks, gateways) in one call."""

DOCUMENTATION = r"""
module: kamailio_dispatcher
short_description: Bring Kamailio's dispatcher destinations (trunks and gateways) to the desired rows
description:
  - Reads Kamailio's C(dispatcher) table once, computes the rows to add, change and remove,
    and writes only the difference in one transaction.
  - Set 1 holds the PSTN trunks of the site, set 2 its media gateways.
options:
  destinations:
    description:
      - Every dispatcher destination; the whole table is managed.
      - A list of rows, or that list as one JSON string (what the role passes; why in
        docs/performance.md#rows-travel-as-one-json-string). Validated alike.
    type: raw
    required: true
    suboptions:
      setid:
        description: Dispatcher set.
        type: int
        required: true
      destination:
        description: SIP URI of the destination.
        type: str
        required: true
      flags:
        description: Dispatcher flags.
        type: int
        default: 0
      priority:
        description: Priority inside the set.
        type: int
        default: 0
      attrs:
        description: Attributes.
        type: str
        default: ""
      description:
        description: Human description.
        type: str
        default: ""
extends_documentation_fragment:
  - voip_table_sync
author: voip-estate
"""

EXAMPLES = r"""
- name: Sync dispatcher destinations
  kamailio_dispatcher:
    db: /var/lib/kamailio/kamailio.sqlite
    destinations: "{{ kamailio_data.dispatcher }}"
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
    run_module(**TABLES["dispatcher"])


if __name__ == "__main__":
    main()
