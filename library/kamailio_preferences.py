#!/usr/bin/python
"""Sync Kamailio's per-user preferences (call features) in one call."""

DOCUMENTATION = r"""
module: kamailio_preferences
short_description: Bring Kamailio's per-user feature preferences to the desired rows in one call
description:
  - Reads Kamailio's C(usr_preferences) table once, computes the rows to add, change and remove,
    and writes only the difference in one transaction.
  - One row per user and attribute (class of service, forward targets, DND, voicemail, caller id).
options:
  preferences:
    description:
      - Every preference of every user of the call server; the whole table is managed.
      - A list of rows, or that list as one JSON string (what the role passes; why in
        docs/performance.md#rows-travel-as-one-json-string). Validated alike.
    type: raw
    required: true
    suboptions:
      username:
        description: SIP user name.
        type: str
        required: true
      domain:
        description: SIP domain.
        type: str
        required: true
      attribute:
        description: Preference name, loaded as an AVP of the same name.
        type: str
        required: true
      type:
        description: 0 for a string value, 1 for an integer.
        type: int
        default: 0
      value:
        description: The value.
        type: str
        required: true
extends_documentation_fragment:
  - voip_table_sync
author: voip-estate
"""

EXAMPLES = r"""
- name: Sync call features
  kamailio_preferences:
    db: /var/lib/kamailio/kamailio.sqlite
    preferences: "{{ kamailio_data.preferences }}"
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
    run_module(**TABLES["preferences"])


if __name__ == "__main__":
    main()
