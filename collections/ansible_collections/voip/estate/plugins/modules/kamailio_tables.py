#!/usr/bin/python
"""Sync several Kamailio tables in one call (the user tables of users.yml)."""

DOCUMENTATION = r"""
module: kamailio_tables
short_description: Bring several Kamailio tables to their desired rows in one call
description:
  - Brings each Kamailio table named in O(tables) to its rows, in one module run; one task and one
    round trip instead of one per table (why in docs/performance.md#one-module-call-for-the-whole-set).
    M(voip.estate.kamailio_trunks) does the same for the C(trunks) table alone, in a task of its own.
  - Each table is read once and only its difference written, in its own transaction; a table that
    fails leaves the tables before it synced and the ones after it untouched, and fails the task.
  - C(changed_tables) names the tables that changed, so that a play can reload what needs it.
options:
  tables:
    description:
      - Table name to its rows (a list of dicts, or that list as one JSON string), the whole table
        managed. Never logged; secret columns never returned. Each table's columns follow
        (C(module_utils/voip_kamailio_tables.py)); a column with a default, in brackets, may be left out.
      - C(subscribers) (table C(subscriber)) C(username), C(domain), C(ha1) and C(ha1b) (secrets).
      - C(aliases) (C(dbaliases)) C(alias_username), C(alias_domain), C(username), C(domain).
      - C(preferences) (C(usr_preferences)) C(username), C(domain), C(attribute), C(type) (0),
        C(value).
      - C(trusted) (C(address)) C(grp), C(ip_addr), C(mask) (32), C(port) (0), C(tag).
      - C(dispatcher) C(setid), C(destination), C(flags) (0), C(priority) (0), C(attrs) (''),
        C(description) ('').
      - C(htable) C(key_name), C(key_type) (0), C(value_type) (0), C(key_value) (secret),
        C(expires) (0).
      - C(trunks) (C(uacreg)) the rows of M(voip.estate.kamailio_trunks).
    type: dict
    required: true
attributes:
  diff_mode:
    details: The diff names rows by their keys and changed fields, never secret values.
extends_documentation_fragment:
  - voip.estate.voip_table_sync
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Sync the user tables of the call server
  voip.estate.kamailio_tables:
    db: /var/lib/kamailio/kamailio.sqlite
    tables:
      subscribers: "{{ tables_json.subscribers }}"
      aliases: "{{ tables_json.aliases }}"
      preferences: "{{ tables_json.preferences }}"
"""

RETURN = r"""
tables:
  description: Per table its C(changed), C(counts) (added, changed, removed, total) and C(changes).
  type: dict
  returned: always
changed_tables:
  description: The names of the tables that changed (or would, in check mode).
  type: list
  elements: str
  returned: always
"""

from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_tables import TABLES
from ansible_collections.voip.estate.plugins.module_utils.voip_table_sync import run_tables_module


def main():
    run_tables_module(TABLES)


if __name__ == "__main__":
    main()
