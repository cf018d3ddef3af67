#!/usr/bin/python
"""Sync Kamailio's trusted peers (permissions address table) in one call."""

DOCUMENTATION = r"""
module: kamailio_trusted
short_description: Bring Kamailio's trusted peers (gateways, trunks, other call servers) to the desired rows
description:
  - Reads Kamailio's C(address) table once, computes the rows to add, change and remove,
    and writes only the difference in one transaction.
  - Trusted peers send calls without digest authentication and are exempt from flood bans.
options:
  peers:
    description:
      - Every trusted peer; the whole table is managed.
      - A list of rows, or that list as one JSON string (what the role passes; why in
        docs/performance.md#rows-travel-as-one-json-string). Validated alike.
    type: raw
    required: true
    suboptions:
      grp:
        description: Address group (1 trusted SIP peers).
        type: int
        required: true
      ip_addr:
        description: Peer address.
        type: str
        required: true
      mask:
        description: Prefix length.
        type: int
        default: 32
      port:
        description: Source port (0 any).
        type: int
        default: 0
      tag:
        description: What the peer is (gateway, trunk, callserver) and its name.
        type: str
        required: true
extends_documentation_fragment:
  - voip_table_sync
author: voip-estate
"""

EXAMPLES = r"""
- name: Sync trusted peers
  kamailio_trusted:
    db: /var/lib/kamailio/kamailio.sqlite
    peers: "{{ kamailio_data.trusted }}"
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
    run_module(**TABLES["trusted"])


if __name__ == "__main__":
    main()
