#!/usr/bin/python
"""Sync Kamailio's subscriber table (HA1 only) in one call."""

DOCUMENTATION = r"""
module: kamailio_subscribers
short_description: Bring Kamailio's subscriber table to the desired accounts in one call
description:
  - Reads the subscriber table of Kamailio's sqlite database once, computes the accounts to
    add, change (HA1 rotated) and remove, and writes only the difference in one transaction.
  - Only HA1 hashes are stored; the plain password column stays empty.
  - The whole table is managed; accounts not in O(subscribers) are removed (leavers, hand edits).
options:
  subscribers:
    description:
      - Every account the call server must know.
      - A list of rows, or that list as one JSON string (what the role passes; why in
        docs/performance.md#rows-travel-as-one-json-string). Validated alike.
    type: raw
    required: true
    suboptions:
      username:
        description: SIP user name (the extension).
        type: str
        required: true
      domain:
        description: SIP domain (the call server's realm).
        type: str
        required: true
      ha1:
        description: MD5 of C(username:realm:password).
        type: str
        required: true
      ha1b:
        description: MD5 of C(username@domain:realm:password).
        type: str
        required: true
attributes:
  diff_mode:
    details: The diff names accounts and changed fields, never hashes.
extends_documentation_fragment:
  - voip_table_sync
author: voip-estate
"""

EXAMPLES = r"""
- name: Sync the SIP accounts of the site
  kamailio_subscribers:
    db: /var/lib/kamailio/kamailio.sqlite
    subscribers: "{{ kamailio_data.subscribers }}"
"""

RETURN = r"""
counts:
  description: Accounts added, changed, removed, and the total wanted.
  type: dict
  returned: always
  sample: {added: 1, changed: 0, removed: 2, total: 120}
changes:
  description: The accounts concerned (user names and changed field names; hashes masked).
  type: dict
  returned: always
"""

from ansible.module_utils.voip_kamailio_tables import TABLES
from ansible.module_utils.voip_table_sync import run_module


def main():
    run_module(**TABLES["subscribers"])


if __name__ == "__main__":
    main()
