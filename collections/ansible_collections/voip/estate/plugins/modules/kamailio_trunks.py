#!/usr/bin/python
"""Sync the trunks' accounts (credentials, registrations) in Kamailio's uacreg table, in one call."""

DOCUMENTATION = r"""
module: kamailio_trunks
short_description: Bring the trunks' accounts in Kamailio's uacreg table to the desired rows in one call
description:
  - Reads the uac module's C(uacreg) table once, computes the rows to add, change and remove,
    and writes only the difference in one transaction.
  - One row per trunk the call server sends calls to. kamailio.cfg answers a carrier's digest
    challenge with the row of the trunk the call went to (C(uac_reg_request_to), C(uac_auth));
    a row with C(expires) above 0 is a registration the uac module keeps up.
  - Passwords (C(auth_password)) never appear in the returned changes or the diff. Reload the
    registrations with C(kamcmd uac.reg_reload) after a change.
options:
  trunks:
    description:
      - Every trunk account; the whole table is managed.
      - A list of rows, or that list as one JSON string (what the role passes). Validated alike.
    type: raw
    required: true
    suboptions:
      l_uuid:
        description: The trunk's name (the key; the user part of the registered Contact).
        type: str
        required: true
      l_username:
        description: Local user of the registration (the trunk's SIP user name).
        type: str
        required: true
      l_domain:
        description: Local domain (the call server's SIP domain).
        type: str
        required: true
      r_username:
        description: User at the carrier (To and From of the REGISTER).
        type: str
        required: true
      r_domain:
        description: The carrier's domain (Request-URI of the REGISTER).
        type: str
        required: true
      realm:
        description: The only realm the credentials are given to; empty for any realm the carrier names.
        type: str
        default: ""
      auth_username:
        description: User name of the digest answer.
        type: str
        required: true
      auth_password:
        description: The password (never shown).
        type: str
        required: true
      auth_proxy:
        description: SIP URI requests to the carrier are sent to (the trunk's address, port, transport).
        type: str
        required: true
      expires:
        description: Registration interval in seconds; 0 for a trunk that does not register.
        type: int
        default: 0
      flags:
        description: uac registration flags (1 disables the registration).
        type: int
        default: 0
      reg_delay:
        description: Seconds to wait before the first REGISTER after the row is loaded.
        type: int
        default: 0
      contact_addr:
        description: Host, port and parameters of the registered Contact (this call server).
        type: str
        default: ""
extends_documentation_fragment:
  - voip.estate.voip_table_sync
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Sync the trunks' accounts
  voip.estate.kamailio_trunks:
    db: /var/lib/kamailio/kamailio.sqlite
    trunks: "{{ kamailio_data.trunk_accounts }}"
  no_log: true
"""

RETURN = r"""
counts:
  description: Rows added, changed, removed, and the total wanted.
  type: dict
  returned: always
  sample: {added: 1, changed: 0, removed: 0, total: 1}
changes:
  description: The rows concerned, by key, with the names of changed fields (passwords masked).
  type: dict
  returned: always
"""

from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_tables import TABLES
from ansible_collections.voip.estate.plugins.module_utils.voip_table_sync import run_module


def main():
    run_module(**TABLES["trunks"])


if __name__ == "__main__":
    main()
